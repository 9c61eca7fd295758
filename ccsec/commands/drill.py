"""``ccsec drill``: restore the backups into fresh scratch targets, verify them, report RPO and RTO.

``python -m ccsec.drill ARGS`` is an alias of ``ccsec drill ARGS``.
Exit codes: 0 verified and RPO within the limit; 1 a verification failed or RPO too old;
2 the drill could not run (bad config, no backup, Swift unreachable, wrong key) — one line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from ccsec.commands import Parents
from ccsec.errors import CcsecError

DEFAULT_CONFIG = Path("/etc/ccsec/backup/agent.toml")


def parse_time_arg(value: str) -> datetime:
    """An ISO 8601 time (``2026-01-02T03:04:05Z``, ``2026-01-02 03:04``, offsets allowed; naive = UTC)."""
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from exc
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``drill``."""
    from ccsec.backup.drill import DEFAULT_SCRATCH, MAX_RPO_SECONDS

    p = subparsers.add_parser(
        "drill",
        parents=[
            parents.format("markdown", "json", what=" (the report)"),
            parents.out("also write drill-<time>.json and .md into DIR"),
        ],
        help="restore the latest (or --at) backups into scratch targets, verify them, report RPO/RTO",
        description=(
            "Restore the files (restic) and PostgreSQL (pgBackRest) backups into fresh scratch targets, verify "
            "every file's sha256 and every table's row count/checksum against the references stored in the "
            "repositories, and report RPO achieved and RTO."
        ),
        epilog="Exit codes: 0 verified and RPO <= limit, 1 a check failed or RPO too old, 2 could not run.",
    )
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"agent config TOML (default {DEFAULT_CONFIG})")
    p.add_argument(
        "--lab",
        action="store_true",
        help="drill the running local lab: its recordings (restic) and db (pgBackRest) repositories in the lab's "
        "Swift, restored into scratch targets on this machine (uses the config `ccsec lab up` wrote; not --config)",
    )
    p.add_argument("--at", type=parse_time_arg, metavar="TIME", help="restore the newest point at/before TIME (UTC)")
    p.add_argument("--engine", choices=("files", "postgres"), action="append", help="only this engine (repeatable)")
    p.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, metavar="DIR", help="parent of the scratch dir")
    p.add_argument("--max-rpo", type=int, default=MAX_RPO_SECONDS, metavar="SECONDS", help="RPO limit (default 300)")
    p.add_argument("--now", type=parse_time_arg, help=argparse.SUPPRESS)  # clock injection for tests
    p.set_defaults(handler=run)


def _lab_config() -> Path:
    """The drill config of the running lab, or say how to get one."""
    from ccsec.lab import api as lab_api
    from ccsec.lab.backup_target import drill_config_path

    lab = lab_api.status()
    path = drill_config_path()
    if lab is None or not any(h.running for h in lab.hosts) or not path.is_file():
        raise CcsecError("no lab with backups is running: start one with `ccsec lab up --roles db,recordings`")
    return path


def run(args: argparse.Namespace) -> int:
    """Run the drill for parsed ``args``; print the report; return its verdict.

    The agent's ``ConfigError`` and ``BackupError`` reach ``ccsec.cli.main``, which reports them (exit 2).
    """
    from ccsec.backup import config as config_mod
    from ccsec.backup.scratch import exit_on_signals, scratch_dir

    exit_on_signals()  # SIGTERM/SIGHUP unwind like an error: the scratch cluster and dirs are removed
    cfg = config_mod.load(_lab_config() if args.lab else args.config)
    if not args.lab:
        return _drill(args, cfg)
    # the engines' working state (pgBackRest's config, read by the PostgreSQL user) goes to a fresh,
    # traversable dir instead of the lab's root-only work dir; removed after the drill
    with scratch_dir(args.scratch, "ccsec-drill-state-") as state_dir:
        cfg = dataclasses.replace(cfg, agent=dataclasses.replace(cfg.agent, state_dir=state_dir))
        return _drill(args, cfg)


def _drill(args: argparse.Namespace, cfg) -> int:
    import sys

    from ccsec.backup.drill import drill, write_report

    report = drill(
        cfg,
        args.at,
        args.scratch,
        engines=tuple(args.engine) if args.engine else None,
        now=args.now,
        max_rpo_seconds=args.max_rpo,
    )
    if args.out:
        json_path, md_path = write_report(report, args.out)
        print(f"ccsec: drill report written to {json_path} and {md_path}", file=sys.stderr)
    json_out = args.format == "json"
    print(report.to_json() if json_out else report.to_markdown(), end="\n" if json_out else "")
    return report.exit_code
