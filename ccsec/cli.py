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
from ccsec.mockrun import ProgramError
from infra.config import ConfigError
from infra.stackfile import STACKS_DIR, StackFileError, available_stacks, load_stack_config
from policies.pack_config import PolicyConfigError, load_policy_config
from policies.sarif import to_sarif

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
        report = plan_module.plan(args.stack, program, Path(args.stacks_dir), _policy_config(args.policy_config))
    except StackFileError as error:
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
    if args.format == "json":
        print(json.dumps(plan_module.to_json(report), indent=2))
    elif args.format == "sarif":
        artifact = str(program) if program else "infra/__main__.py"
        print(json.dumps(to_sarif(report.findings, artifact), indent=2))
    else:
        print(plan_module.to_text(report))
    return EXIT_FINDING if report.mandatory else EXIT_OK


def cmd_policy_config(args: argparse.Namespace) -> int:
    try:
        cfg = load_stack_config(args.stack, Path(args.stacks_dir))
    except StackFileError as error:
        return _fail(str(error))
    except ConfigError as error:
        return _fail(f"stack '{args.stack}' config is invalid:\n  - " + "\n  - ".join(error.problems))
    print(json.dumps(plan_module.stack_policy_config(cfg), indent=2, sort_keys=True))
    return EXIT_OK


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
        "--stacks-dir",
        default=str(STACKS_DIR),
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
    policy_config.add_argument("--stacks-dir", default=str(STACKS_DIR), metavar="DIR", help="default: stacks/")
    policy_config.set_defaults(handler=cmd_policy_config)
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
