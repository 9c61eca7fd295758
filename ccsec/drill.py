"""``ccsec drill``: restore the backups into fresh scratch targets, verify them, report RPO and RTO.

Wiring (ccsec/cli.py)::

    from ccsec import drill as drill_cmd
    drill_cmd.register(sub)          # adds the `drill` subcommand with handler=drill_cmd.run

Standalone: ``python -m ccsec.drill [--config FILE] [--at TIME] [--json] [--out DIR]``.
Exit codes: 0 verified and RPO within the limit; 1 a verification failed or RPO too old;
2 the drill could not run (bad config, no backup, Swift unreachable, wrong key) — one line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ccsec.backup import config as config_mod
from ccsec.backup.drill import DEFAULT_SCRATCH, MAX_RPO_SECONDS, drill, write_report
from ccsec.backup.errors import BackupError

DEFAULT_CONFIG = Path("/etc/ccsec/backup/agent.toml")
EXIT_ERROR = 2


def parse_time_arg(value: str) -> datetime:
    """An ISO 8601 time (``2026-01-02T03:04:05Z``, ``2026-01-02 03:04``, offsets allowed; naive = UTC)."""
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from exc
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The drill's options (shared by ``ccsec drill`` and ``python -m ccsec.drill``)."""
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"agent config TOML (default {DEFAULT_CONFIG})")
    p.add_argument(
        "--lab",
        action="store_true",
        help="drill the running local lab: its recordings (restic) and db (pgBackRest) repositories in the lab's "
        "Swift, restored into scratch targets on this machine (uses the config `ccsec lab up` wrote; not --config)",
    )
    p.add_argument("--at", type=parse_time_arg, metavar="TIME", help="restore the newest point at/before TIME (UTC)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of Markdown")
    p.add_argument("--out", type=Path, metavar="DIR", help="also write drill-<time>.json and .md into DIR")
    p.add_argument("--engine", choices=("files", "postgres"), action="append", help="only this engine (repeatable)")
    p.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, metavar="DIR", help="parent of the scratch dir")
    p.add_argument("--max-rpo", type=int, default=MAX_RPO_SECONDS, metavar="SECONDS", help="RPO limit (default 300)")
    p.add_argument("--now", type=parse_time_arg, help=argparse.SUPPRESS)  # clock injection for tests


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``drill`` to ccsec's subparsers; the parser's ``handler`` is :func:`run`."""
    p = subparsers.add_parser(
        "drill",
        help="restore the latest (or --at) backups into scratch targets, verify them, report RPO/RTO",
        description=(
            "Restore the files (restic) and PostgreSQL (pgBackRest) backups into fresh scratch targets, verify "
            "every file's sha256 and every table's row count/checksum against the references stored in the "
            "repositories, and report RPO achieved and RTO. Exit 0 verified and RPO <= limit, 1 otherwise, "
            "2 could not run."
        ),
    )
    add_arguments(p)
    p.set_defaults(handler=run)
    return p


def _lab_config() -> Path:
    """The drill config of the running lab, or raise ConfigError saying how to get one."""
    from ccsec.lab import api as lab_api
    from ccsec.lab.backup_target import drill_config_path

    lab = lab_api.status()
    path = drill_config_path()
    if lab is None or not any(h.running for h in lab.hosts) or not path.is_file():
        raise config_mod.ConfigError(
            ["no lab with backups is running: start one with `ccsec lab up --roles db,recordings`"]
        )
    return path


def run(args: argparse.Namespace) -> int:
    """Run the drill for parsed ``args``; print the report; return the exit code."""
    state_dir: Path | None = None
    try:
        cfg = config_mod.load(_lab_config() if args.lab else args.config)
        if args.lab:
            # the engines' working state (pgBackRest's config, read by the PostgreSQL user) goes to a fresh,
            # traversable dir instead of the lab's root-only work dir; removed after the drill
            args.scratch.mkdir(parents=True, exist_ok=True)
            state_dir = Path(tempfile.mkdtemp(prefix="ccsec-drill-state-", dir=args.scratch))
            cfg = dataclasses.replace(cfg, agent=dataclasses.replace(cfg.agent, state_dir=state_dir))
    except config_mod.ConfigError as exc:
        print(f"ccsec: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_ERROR
    try:
        return _drill(args, cfg)
    finally:
        if state_dir is not None:
            shutil.rmtree(state_dir, ignore_errors=True)


def _drill(args: argparse.Namespace, cfg: config_mod.BackupConfig) -> int:
    try:
        report = drill(
            cfg,
            args.at,
            args.scratch,
            engines=tuple(args.engine) if args.engine else None,
            now=args.now,
            max_rpo_seconds=args.max_rpo,
        )
    except BackupError as exc:
        print(f"ccsec: error: drill could not run: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.out:
        json_path, md_path = write_report(report, args.out)
        print(f"ccsec: drill report written to {json_path} and {md_path}", file=sys.stderr)
    print(report.to_json() if args.json else report.to_markdown(), end="" if not args.json else "\n")
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ccsec.drill``."""
    p = argparse.ArgumentParser(prog="ccsec drill", description="DR drill: restore, verify, report RPO/RTO")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
