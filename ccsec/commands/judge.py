"""``ccsec judge --lab``: the independent judges auditors run, against the lab's hosts, with their targets."""

from __future__ import annotations

import argparse
import json

from ccsec.commands import Parents
from ccsec.errors import CcsecError, UsageError
from ccsec.judges import JUDGES, TARGETS


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``judge``."""
    targets = "; ".join(f"{name}: {target}" for name, target in TARGETS.items())
    p = subparsers.add_parser(
        "judge",
        parents=[
            parents.format("text", "json"),
            parents.out("where the raw reports and judge.json go (default: reports/judge-<UTC time>)"),
        ],
        help="run ssh-audit, testssl.sh, lynis and nmap against the lab hosts, each against its target",
        description=(
            "Run the field's own judges against the running lab: ssh-audit on each host's sshd, testssl.sh on the "
            "app host's HTTPS, lynis inside each host (copied in for the run, removed after), nmap on every TCP "
            f"port from an untrusted network namespace (root). Targets: {targets}. Under TCG lynis takes tens of "
            "minutes a host. Every raw report is kept under --out/<host>/. OpenSCAP is not a judge yet."
        ),
        epilog="Exit codes: 0 every target met, 1 a target missed, 2 a judge could not run (tool missing, no lab).",
    )
    p.add_argument("--lab", action="store_true", required=True, help="judge the running local lab")
    p.add_argument("--hosts", metavar="NAMES", help="only these lab hosts (comma-separated; default: all)")
    p.add_argument(
        "--judges",
        metavar="NAMES",
        default=",".join(JUDGES),
        help=f"which judges (comma-separated; default: all of {','.join(JUDGES)})",
    )
    p.set_defaults(handler=run)


def _names(value: str, known: list[str], what: str, flag: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        given = ", ".join(unknown) or "(none given)"
        raise UsageError(f"{flag}: unknown {what} {given}; choose from {', '.join(known)}")
    return list(dict.fromkeys(names))


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from ccsec import verify
    from ccsec.backup.private_files import private_dir
    from ccsec.infra.stackfile import load_stack_config
    from ccsec.judges import model, runner
    from ccsec.lab import api as lab_api

    judges = _names(args.judges, list(JUDGES), "judge", "--judges")
    lab = lab_api.status()
    if lab is None or not lab.hosts:
        raise CcsecError("no lab is running: start one with `ccsec lab up --roles bastion,app`")
    names = [h.name for h in lab.hosts]
    wanted = _names(args.hosts, names, "host", "--hosts") if args.hosts else names
    down = [h.name for h in lab.hosts if h.name in wanted and not h.running]
    if down:
        raise CcsecError(f"lab hosts not running: {', '.join(down)} (ccsec lab down; ccsec lab up ...)")
    out_dir = args.out or verify.default_out_dir("judge")
    private_dir(out_dir)
    hostname = load_stack_config(lab.stack).tls.hostname
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results = []
    for host in (h for h in lab.hosts if h.name in wanted):
        print(f"judge: {host.name}: {', '.join(judges)} ...", flush=True)
        results.append(runner.judge_host(lab, host, judges, out_dir / host.name, hostname))
    report = model.report(results, started, datetime.now(UTC).isoformat(timespec="seconds"))
    (out_dir / "judge.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        for host in results:
            for j in host.judgements:
                scalars = {k: v for k, v in j.figures.items() if not isinstance(v, list | dict)}
                detail = j.error or ", ".join(f"{k}={v}" for k, v in scalars.items())
                print(f"  {j.status.upper():<7} {host.name} {j.judge} (target: {j.target}): {detail}")
        print(f"judge: {report['verdict']}; reports: {out_dir}")
    return model.exit_code(results)
