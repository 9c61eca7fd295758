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
from infra.stackfile import STACKS_DIR, StackFileError, available_stacks

EXIT_OK, EXIT_FINDING, EXIT_ERROR = 0, 1, 2


def _fail(message: str) -> int:
    print(f"ccsec: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def cmd_plan(args: argparse.Namespace) -> int:
    program = Path(args.program) if args.program else None
    try:
        report = plan_module.plan(args.stack, program, Path(args.stacks_dir))
    except StackFileError as error:
        return _fail(str(error))
    except ConfigError as error:
        print(f"ccsec: stack '{args.stack}' config is invalid ({len(error.problems)} problems):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_ERROR
    except ProgramError as error:
        return _fail(f"the program failed under the mock engine:\n{error}")
    if args.format == "json":
        print(json.dumps(plan_module.to_json(report), indent=2, sort_keys=False))
    else:
        print(plan_module.to_text(report))
    mandatory = [v for v in report.violations if v.get("enforcement") == "mandatory"]
    return EXIT_FINDING if mandatory else EXIT_OK


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
    plan.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    plan.add_argument(
        "--stacks-dir",
        default=str(STACKS_DIR),
        metavar="DIR",
        help="where Pulumi.<stack>.yaml files live (default: stacks/)",
    )
    plan.set_defaults(handler=cmd_plan)
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
