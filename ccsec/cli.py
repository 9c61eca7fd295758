"""`ccsec`: one entry point that wires the baseline's parts; no logic of its own beyond I/O.

Exit codes are the same for every subcommand: 0 success / compliant, 1 a finding (policy
violation, drift, failed verification), 2 the check itself could not run (bad input, bad config).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ccsec import plan as plan_module
from ccsec.infra.config import ConfigError
from ccsec.infra.stackfile import StackFileError, available_stacks, load_stack_config
from ccsec.mockrun import ProgramError
from ccsec.policies.pack_config import PolicyConfigError, load_policy_config
from ccsec.policies.sarif import to_sarif
from ccsec.policies.waivers import WaiverFileError

EXIT_OK, EXIT_FINDING, EXIT_ERROR = 0, 1, 2


def _fail(message: str) -> int:
    print(f"ccsec: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _policy_config(path: str | None) -> dict:
    if not path:
        return {}
    try:
        config = load_policy_config(Path(path))
    except (OSError, ValueError) as error:
        raise PolicyConfigError(f"--policy-config {path}: {error}") from None
    if not isinstance(config, dict):
        raise PolicyConfigError(f"--policy-config {path}: must be a JSON object keyed by policy name or 'all'")
    return config


def cmd_plan(args: argparse.Namespace) -> int:
    program = Path(args.program) if args.program else None
    try:
        report = plan_module.plan(
            args.stack,
            program,
            (Path(args.stacks_dir) if args.stacks_dir else None),
            _policy_config(args.policy_config),
            waivers=Path(args.waivers) if args.waivers else None,
        )
    except (StackFileError, WaiverFileError) as error:
        return _fail(str(error))
    except ConfigError as error:
        print(f"ccsec: stack '{args.stack}' config is invalid ({len(error.problems)} problems):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_ERROR
    except ProgramError as error:
        return _fail(f"the program failed under the mock engine:\n{error}")
    except PolicyConfigError as error:
        return _fail(str(error))
    sys.stderr.write(plan_module.program_output_text(report))
    if args.format == "json":
        print(json.dumps(plan_module.to_json(report), indent=2))
    elif args.format == "sarif":
        artifact = str(program) if program else "infra/__main__.py"
        print(json.dumps(to_sarif(report.findings, artifact, report.waived), indent=2))
    else:
        print(plan_module.to_text(report))
    return EXIT_FINDING if report.mandatory else EXIT_OK


def cmd_policy_config(args: argparse.Namespace) -> int:
    try:
        cfg = load_stack_config(args.stack, (Path(args.stacks_dir) if args.stacks_dir else None))
    except StackFileError as error:
        return _fail(str(error))
    except ConfigError as error:
        return _fail(f"stack '{args.stack}' config is invalid:\n  - " + "\n  - ".join(error.problems))
    print(json.dumps(plan_module.stack_policy_config(cfg), indent=2, sort_keys=True))
    return EXIT_OK


def _lab_hosts_json(lab) -> dict:
    keys = ("name", "role", "ssh_host", "ssh_port", "user", "identity_file", "known_hosts_file", "https_port")
    return {
        "stack": lab.stack,
        "accel": lab.accel,
        "ssh_config": lab.ssh_config_file,
        "hosts": [{**{k: getattr(h, k) for k in keys}, "running": h.running} for h in lab.hosts],
    }


def cmd_lab(args: argparse.Namespace) -> int:
    from ccsec.lab import api as lab_api  # the lab pulls in QEMU helpers; plan/verify users need not load it

    if args.lab_command == "up":
        roles = [r for r in args.roles.split(",") if r]
        try:
            lab = lab_api.up(roles, stack=args.stack, progress=lambda m: print(m, file=sys.stderr, flush=True))
        except lab_api.LabError as error:
            return _fail(f"lab up failed (nothing left running):\n{error}")
        print(json.dumps(_lab_hosts_json(lab), indent=2) if args.json else f"lab up: {len(lab.hosts)} host(s) ready")
        return EXIT_OK
    if args.lab_command == "backup":
        from ccsec.lab.backups import LabBackupError, backup_lab

        lab = lab_api.status()
        if lab is None or not all(h.running for h in lab.hosts):
            return _fail("no lab is running: start one with `ccsec lab up --roles db,recordings`")
        try:
            backup_lab(lab, args.seed, lambda m: print(m, file=sys.stderr, flush=True))
        except (LabBackupError, OSError) as error:
            return _fail(f"lab backup failed: {error}")
        print(f"lab backup: {sum(h.role in ('db', 'recordings') for h in lab.hosts)} host(s) backed up")
        return EXIT_OK
    if args.lab_command == "down":
        lab_api.down(progress=lambda m: print(m, file=sys.stderr, flush=True))
        return EXIT_OK
    lab = lab_api.status()
    if lab is None:
        if args.json:
            print(json.dumps({"hosts": []}))
        else:
            print("no lab is running (ccsec lab up --roles bastion,app)")
        return EXIT_OK
    if args.json:
        print(json.dumps(_lab_hosts_json(lab), indent=2))
    else:
        for h in lab.hosts:
            state = "running" if h.running else "STOPPED"
            https = f" https=127.0.0.1:{h.https_port}" if h.https_port else ""
            print(f"{h.name:<20} {h.role:<11} {state:<8} ssh {h.user}@{h.ssh_host}:{h.ssh_port}{https}")
        print(f"ssh -F {lab.ssh_config_file} <name>   # host keys pinned, StrictHostKeyChecking yes")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from ccsec import verify
    from ccsec.lab import api as lab_api

    lab = lab_api.status()
    if lab is None or not lab.hosts:
        return _fail("no lab is running: start one with `ccsec lab up --roles bastion,app`")
    down = [h.name for h in lab.hosts if not h.running]
    if down:
        return _fail(f"lab hosts not running: {', '.join(down)} (ccsec lab down; ccsec lab up ...)")
    hosts = [h.name for h in lab.hosts if not args.roles or h.role in args.roles.split(",")]
    out_dir = Path(args.out) if args.out else verify.default_out_dir("verify")
    try:
        extra = [f"--controls={args.controls}"] if args.controls else None
        result = verify.run_suite(hosts, Path(lab.ssh_config_file), out_dir, workers=args.workers, extra_args=extra)
    except verify.VerifyError as error:
        return _fail(str(error))
    print(json.dumps(result.as_dict(), indent=2) if args.format == "json" else verify.render_text(result))
    return result.exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccsec",
        description="ccaas-baseline: provision, verify and drill a contact center's security baseline on OpenStack.",
        epilog="Exit codes: 0 ok, 1 finding (violation/drift/failed check), 2 could not run (bad input/config).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stacks = ", ".join(available_stacks()) or "none yet"

    plan = sub.add_parser(
        "plan",
        help="run the Pulumi program offline (mock engine) and list every resource it would create",
        description=(
            "Run the Pulumi program under the SDK's mock engine with a stack's config (no cloud, no "
            "credentials, no Pulumi CLI), print the resource inventory with secrets shown as [secret], and "
            "evaluate the policy pack. Invalid config exits 2 with every problem listed."
        ),
    )
    plan.add_argument("--stack", required=True, help=f"stack name: stacks/Pulumi.<stack>.yaml (available: {stacks})")
    plan.add_argument(
        "--program",
        metavar="PATH",
        help="any Pulumi Python program (file or directory with __main__.py); default: this project's infra/",
    )
    plan.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="text for people, json for pipelines, sarif (2.1.0) for code-scanning UIs (default: text)",
    )
    plan.add_argument(
        "--policy-config",
        metavar="FILE",
        help="policy config JSON, the same file `pulumi preview --policy-pack-config` takes "
        '(e.g. {"all": "advisory"}); merged over the stack\'s own allow-lists',
    )
    plan.add_argument(
        "--waivers",
        metavar="FILE",
        help="reviewed waiver file (YAML/JSON; docs/waivers.md): matching violations are reported as waived; "
        "an expired, malformed or unjustified waiver is itself a mandatory violation",
    )
    plan.add_argument(
        "--stacks-dir",
        default=None,
        metavar="DIR",
        help="where Pulumi.<stack>.yaml files live (default: stacks/)",
    )
    plan.set_defaults(handler=cmd_plan)

    policy_config = sub.add_parser(
        "policy-config",
        help="print the policy config JSON for a stack (for `pulumi preview --policy-pack-config`)",
        description=(
            "Print the stack's allow-lists (encrypted volume types, admin CIDRs) as CrossGuard policy config, "
            "so `pulumi preview --policy-pack policies --policy-pack-config FILE` judges the stack exactly as "
            "`ccsec plan` does."
        ),
    )
    policy_config.add_argument("--stack", required=True, help=f"stack name (available: {stacks})")
    policy_config.add_argument("--stacks-dir", default=None, metavar="DIR", help="default: stacks/")
    policy_config.set_defaults(handler=cmd_policy_config)

    lab = sub.add_parser(
        "lab",
        help="boot, list or remove the local QEMU lab (Debian 12 hosts from the stack's own cloud-init)",
        description=(
            "The local lab boots one Debian 12 VM per role in QEMU (KVM when usable, else TCG), hands it the "
            "exact user-data the Pulumi program renders for that role (NoCloud seed), forwards SSH (and 443 "
            "for app) to 127.0.0.1 and pins each host key it generated. Needs ~1-1.5 GiB RAM per host."
        ),
    )
    lab_sub = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    lab_up = lab_sub.add_parser("up", help="build/cache the image and boot one VM per role; waits for cloud-init")
    lab_up.add_argument("--roles", default="bastion,app", help="comma-separated roles (default: bastion,app)")
    lab_up.add_argument("--stack", default="lab", help="stack whose cloud-init the VMs boot (default: lab)")
    lab_up.add_argument("--json", action="store_true", help="print the lab status JSON when ready")
    lab_backup = lab_sub.add_parser(
        "backup",
        help="run a differential backup on every db/recordings VM now and wait for its success",
        description="The timers back up every 5 minutes; this runs one now (to the lab's local Swift), e.g. "
        "before `ccsec drill --lab`. --seed first writes sample data: 500 rows into table calls on db, a 2 MiB "
        "recording on recordings.",
    )
    lab_backup.add_argument("--seed", action="store_true", help="write sample data first")
    lab_down = lab_sub.add_parser("down", help="stop the VMs and remove everything but the cached image")
    lab_status = lab_sub.add_parser("status", help="list lab hosts and how to reach them (keys pinned)")
    lab_status.add_argument("--json", action="store_true", help="machine-readable output")
    for action in (lab_up, lab_backup, lab_down, lab_status):
        action.set_defaults(handler=cmd_lab)

    verify = sub.add_parser(
        "verify",
        help="run the testinfra host suite against the lab hosts (JUnit XML + JSON summary)",
        description=(
            "Run tests/hosts over SSH with host keys pinned (OpenSSH, StrictHostKeyChecking yes). Writes "
            "junit.xml, summary.json and pytest.log to --out. Exit 0 all controls hold, 1 a control failed, "
            "2 a host could not be checked."
        ),
    )
    verify.add_argument("--lab", action="store_true", required=True, help="verify the running local lab")
    verify.add_argument("--roles", help="only hosts of these roles (comma-separated)")
    verify.add_argument("--out", metavar="DIR", help="report directory (default: reports/verify-<UTC time>)")
    verify.add_argument("--workers", type=int, default=0, help="parallel pytest-xdist workers (default: serial)")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument(
        "--controls", metavar="IDS", help="only tests proving these control ids (comma-separated, e.g. BKP-01,BKP-04)"
    )
    verify.set_defaults(handler=cmd_verify)

    from ccsec import drill as drill_command  # DR drill: restore + verify backups, RPO/RTO report

    drill_command.register(sub)

    from ccsec import drift_cli  # scheduled drift checks: infrastructure + hosts, one verdict

    drift_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
