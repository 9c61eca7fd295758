"""``ccsec drift``: arguments and wiring (where the hosts come from, where the reports go)."""

from __future__ import annotations

import argparse
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ccsec import drift, drift_report, infra_drift
from ccsec.commands import Parents
from ccsec.errors import UsageError
from ccsec.infra.stackfile import project_dir
from ccsec.sshtargets import SshTarget, TargetError, load_outputs, targets_from_lab, targets_from_outputs

LAB_INFRA_REASON = "--lab: the lab VMs are booted by QEMU, not deployed by Pulumi; there is no cloud state to compare"


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``drift``."""
    p = subparsers.add_parser(
        "drift",
        parents=[
            parents.stack(required=False, note="; required unless --lab, where it defaults to 'lab'"),
            parents.format("text", "json", "junit"),
            parents.out(
                "keep the reports in DIR/drift-<UTC time>/ (drift.json, junit.xml, summary.txt, hosts/); "
                "default: reports/"
            ),
        ],
        help="scheduled drift check: infrastructure (pulumi preview --refresh) and hosts (testinfra), one verdict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Has anything in the cloud or on a host moved away from the baseline?\n\n"
            "infra: `pulumi preview --refresh --expect-no-changes` through the Automation API; lists each\n"
            "  drifted resource and property path. Without a Pulumi CLI (or with --lab) it is SKIPPED and\n"
            "  says so — never reported as passed.\n"
            "hosts: the hardened-host suite (tests/hosts) on every host, in parallel, over OpenSSH through the\n"
            "  bastion (ProxyJump) with host keys pinned (StrictHostKeyChecking yes). A host that cannot be\n"
            "  reached, or whose key changed (possible man-in-the-middle), is an error, never a pass.\n\n"
            "Hosts come from the running lab (--lab), or from the stack's outputs: --outputs FILE (saved\n"
            "`pulumi stack output --json`; read through the Automation API when omitted and a CLI exists)\n"
            "plus --known-hosts, --user and --identity."
        ),
        epilog=(
            "Exit codes: 0 no drift in what was checked (a skipped part is printed and listed in JSON\n"
            "`not_checked`); 1 drift found; 2 could not check (a host unreachable or refused, the preview\n"
            "failed, no host targets; with --require-infra also a skipped infrastructure check)."
        ),
    )
    p.add_argument("--lab", action="store_true", help="check the running local lab (ccsec lab up)")
    p.add_argument("--outputs", metavar="FILE", help="`pulumi stack output --json` saved (hosts, bastion_addresses)")
    p.add_argument(
        "--known-hosts",
        metavar="FILE",
        help="pinned host keys: `pulumi stack output known_hosts --show-secrets > FILE` (stack mode)",
    )
    p.add_argument("--user", help="SSH user on bastion and hosts (stack mode), e.g. a read-only auditor account")
    p.add_argument("--identity", metavar="FILE", help="private key of --user (stack mode)")
    p.add_argument(
        "--require-infra",
        action="store_true",
        help="treat a skipped infrastructure check (no Pulumi CLI) as 'could not check' (exit 2)",
    )
    p.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (default: 2 per host, ≤ 4 per CPU)")
    p.add_argument(
        "--controls",
        metavar="IDS",
        help="re-check only these host controls (comma-separated, e.g. HOST-02,HOST-05); a clean result then "
        "lists the other controls under NOT CHECKED",
    )
    p.set_defaults(handler=run)


def _stack_outputs(args: argparse.Namespace) -> dict:
    if args.outputs:
        return load_outputs(Path(args.outputs))
    if shutil.which("pulumi") is None:
        raise TargetError(
            "host targets: no --outputs FILE and no Pulumi CLI to read the stack's outputs "
            "(save them with `pulumi stack output --json > outputs.json`)"
        )
    from pulumi import automation as auto

    stack = auto.select_stack(stack_name=args.stack, work_dir=str(project_dir()))
    return {key: out.value for key, out in stack.outputs().items() if not out.secret}


def _targets(args: argparse.Namespace) -> list[SshTarget]:
    if args.lab:
        from ccsec.lab import api as lab_api

        lab = lab_api.status()
        if lab is None or not lab.hosts:
            raise TargetError("no lab is running: start one with `ccsec lab up --roles bastion,app`")
        return targets_from_lab(lab)
    try:
        known_hosts = Path(args.known_hosts).read_text()
    except OSError as error:
        raise TargetError(f"--known-hosts {args.known_hosts}: {error.strerror}") from None
    identity = str(Path(args.identity).resolve())
    return targets_from_outputs(_stack_outputs(args), known_hosts, args.user, identity)


def _controls(value: str | None) -> list[str]:
    """--controls ids, each known to controls.yaml; refused before anything runs.

    A known id that no host test proves (e.g. NET-01) runs nothing, and a run that passed nothing is
    "incomplete" (exit 2), never clean.
    """
    if value is None:
        return []
    from ccsec.policies.controls import load_catalogue

    wanted = sorted({c.strip() for c in value.split(",") if c.strip()})
    if not wanted:
        raise UsageError("--controls: no control ids given (e.g. --controls HOST-02,HOST-05)")
    catalogue = load_catalogue().controls
    unknown = [c for c in wanted if c not in catalogue]
    if unknown:
        raise UsageError(f"--controls: unknown control ids {unknown} (the ids are in policies/controls.yaml)")
    return wanted


def run(args: argparse.Namespace) -> int:
    """Check infrastructure and hosts, write the reports, print the chosen format, return the verdict."""
    if not args.lab:
        if not args.stack:
            raise UsageError("--stack NAME is required (or --lab for the local lab)")
        missing = [f"--{k.replace('_', '-')}" for k in ("known_hosts", "user", "identity") if not getattr(args, k)]
        if missing:
            raise UsageError(f"checking a stack's hosts needs {', '.join(missing)} (see `ccsec drift --help`)")
    if args.workers < 0:
        raise UsageError("--workers must be >= 0")
    controls = _controls(args.controls)
    stack = args.stack or "lab"
    out_dir = (Path(args.out or project_dir() / "reports") / f"drift-{drift.stamp()}").resolve()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    infra = infra_drift.InfraResult("skipped", reason=LAB_INFRA_REASON) if args.lab else infra_drift.check(stack)
    try:
        targets = _targets(args)
    except TargetError as error:
        hosts = drift.HostDrift(targets=[], error=str(error))
    else:
        hosts = drift.check_hosts(targets, out_dir, args.workers, controls)
    report = drift.DriftReport(
        stack=stack,
        mode="lab" if args.lab else "stack",
        started=started,
        infra=infra,
        hosts=hosts,
        require_infra=args.require_infra,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    drift_report.write(report, out_dir)
    if args.format == "json":
        print((out_dir / "drift.json").read_text(), end="")
    elif args.format == "junit":
        print((out_dir / "junit.xml").read_text(), end="")
    else:
        print(drift_report.render_text(report, out_dir))
    return report.exit_code
