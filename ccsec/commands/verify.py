"""``ccsec verify --lab``: the testinfra host suite against the running lab."""

from __future__ import annotations

import argparse
import json

from ccsec.commands import Parents
from ccsec.errors import CcsecError


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``verify``."""
    p = subparsers.add_parser(
        "verify",
        parents=[parents.format("text", "json"), parents.out("report directory (default: reports/verify-<UTC time>)")],
        help="run the testinfra host suite against the lab hosts (JUnit XML + JSON summary)",
        description=(
            "Run the host suite (tests/hosts, shipped as ccsec.hostsuite) over SSH with host keys pinned "
            "(OpenSSH, StrictHostKeyChecking yes). Writes junit.xml, summary.json and pytest.log to --out."
        ),
        epilog="Exit codes: 0 all controls hold, 1 a control failed, 2 a host could not be checked.",
    )
    p.add_argument("--lab", action="store_true", required=True, help="verify the running local lab")
    p.add_argument("--roles", help="only hosts of these roles (comma-separated)")
    p.add_argument("--workers", type=int, default=0, help="parallel pytest-xdist workers (default: serial)")
    p.add_argument(
        "--controls", metavar="IDS", help="only tests proving these control ids (comma-separated, e.g. BKP-01,BKP-04)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite; the verdict is the result's exit code."""
    from pathlib import Path

    from ccsec import verify
    from ccsec.lab import api as lab_api

    if args.workers < 0:
        raise CcsecError("--workers must be >= 0")
    lab = lab_api.status()
    if lab is None or not lab.hosts:
        raise CcsecError("no lab is running: start one with `ccsec lab up --roles bastion,app`")
    down = [h.name for h in lab.hosts if not h.running]
    if down:
        raise CcsecError(f"lab hosts not running: {', '.join(down)} (ccsec lab down; ccsec lab up ...)")
    hosts = [h.name for h in lab.hosts if not args.roles or h.role in args.roles.split(",")]
    out_dir = args.out or verify.default_out_dir("verify")
    extra = [f"--controls={args.controls}"] if args.controls else None
    result = verify.run_suite(hosts, Path(lab.ssh_config_file), out_dir, workers=args.workers, extra_args=extra)
    print(json.dumps(result.as_dict(), indent=2) if args.format == "json" else verify.render_text(result))
    return result.exit_code
