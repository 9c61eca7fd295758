"""``python -m backup``: the agent's command line (what the systemd units call).

Exit codes: 0 success, 1 the run failed (reason on stderr, one line), 2 bad configuration,
75 another run of the same engine is in progress (EX_TEMPFAIL; systemd does not retry).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import config as config_mod
from . import manifest as manifests
from .agent import ENGINES, engine_for, run_backup, run_maintenance
from .errors import BackupError, RunInProgressError
from .schedule import REQUESTABLE

DEFAULT_CONFIG = Path("/etc/ccsec/backup/agent.toml")
EX_TEMPFAIL = 75


def build_parser() -> argparse.ArgumentParser:
    """Argument parser for the agent CLI."""
    p = argparse.ArgumentParser(prog="python -m backup", description="ccsec backup agent (restic + pgBackRest)")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one backup")
    r.add_argument("--engine", choices=ENGINES, required=True)
    r.add_argument("--type", choices=REQUESTABLE, default="auto")
    c = sub.add_parser("check", help="verify a repository (restic check --read-data-subset / pgbackrest check)")
    c.add_argument("--engine", choices=ENGINES, required=True)
    sub.add_parser("offsite", help="copy new restic snapshots to the off-site repository")
    s = sub.add_parser("status", help="print the latest manifest of an engine as JSON")
    s.add_argument("--engine", choices=ENGINES, required=True)
    rs = sub.add_parser("restore", help="restore files (restic) into a target directory")
    rs.add_argument("--snapshot", default="latest")
    rs.add_argument("--target", type=Path, required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "run":
            m = run_backup(cfg, args.engine, args.type)
            print(f"backup: {m.engine} {m.type} ok: {m.snapshot_id} (+{m.bytes_added} bytes, {m.duration_seconds}s)")
        elif args.command in ("check", "offsite"):
            engine = "files" if args.command == "offsite" else args.engine
            run_maintenance(cfg, engine, args.command)
            print(f"backup: {engine} {args.command} ok")
        elif args.command == "status":
            m = manifests.latest(cfg.agent.state_dir, args.engine)
            print(m.to_json() if m else json.dumps(None))
        elif args.command == "restore":
            engine = engine_for(cfg, "files")
            engine.restore(args.snapshot, args.target)  # type: ignore[union-attr]  # files = restic
            print(f"backup: restored {args.snapshot} into {args.target}")
    except RunInProgressError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    return 0
