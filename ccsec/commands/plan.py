"""``ccsec plan``: the Pulumi program offline (mock engine), its inventory and the policy verdicts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ccsec.commands import Parents
from ccsec.errors import EXIT_FINDING, EXIT_OK, CcsecError


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``plan``."""
    p = subparsers.add_parser(
        "plan",
        parents=[parents.stack(), parents.stacks_dir(), parents.format("text", "json", "sarif")],
        help="run the Pulumi program offline (mock engine) and list every resource it would create",
        description=(
            "Run the Pulumi program under the SDK's mock engine with a stack's config (no cloud, no "
            "credentials, no Pulumi CLI), print the resource inventory with secrets shown as [secret], and "
            "evaluate the policy pack. --format: text for people, json for pipelines, sarif (2.1.0) for "
            "code-scanning UIs. Invalid config exits 2 with every problem listed."
        ),
        epilog="Exit codes: 0 no mandatory violation, 1 a mandatory policy violated, 2 could not run.",
    )
    p.add_argument(
        "--program",
        metavar="PATH",
        help="any Pulumi Python program (file or directory with __main__.py); default: this project's infra/",
    )
    p.add_argument(
        "--policy-config",
        metavar="FILE",
        help="policy config JSON, the same file `pulumi preview --policy-pack-config` takes "
        '(e.g. {"all": "advisory"}); merged over the stack\'s own allow-lists',
    )
    p.add_argument(
        "--waivers",
        metavar="FILE",
        type=Path,
        help="reviewed waiver file (YAML/JSON; docs/waivers.md): matching violations are reported as waived; "
        "an expired, malformed or unjustified waiver is itself a mandatory violation",
    )
    p.add_argument(
        "--preview",
        action="store_true",
        help="judge the program as a first `pulumi preview` of a fresh stack would: every id and computed "
        "output unknown (verdicts must not depend on them)",
    )
    p.set_defaults(handler=run)


def _policy_config(path: str | None) -> dict:
    from ccsec.policies.pack_config import load_policy_config

    if not path:
        return {}
    try:
        config = load_policy_config(Path(path))
    except OSError as error:
        raise CcsecError(f"--policy-config {path}: {error.strerror}") from None
    except ValueError as error:  # JSON syntax or PolicyConfigError: the message lists the problems
        raise CcsecError(f"--policy-config {path}: {error}") from None
    if not isinstance(config, dict):
        raise CcsecError(f"--policy-config {path}: must be a JSON object keyed by policy name or 'all'")
    return config


def run(args: argparse.Namespace) -> int:
    """Plan, print in the chosen format, exit 1 on a mandatory violation."""
    from ccsec import plan as plan_module
    from ccsec.policies.sarif import to_sarif

    program = Path(args.program) if args.program else None
    report = plan_module.plan(
        args.stack,
        program,
        args.stacks_dir,
        _policy_config(args.policy_config),
        preview=args.preview,
        waivers=args.waivers,
    )
    sys.stderr.write(plan_module.program_output_text(report))  # the program's prints, apart from our stdout
    if args.format == "json":
        print(json.dumps(plan_module.to_json(report), indent=2))
    elif args.format == "sarif":
        artifact = str(program) if program else "infra/__main__.py"
        print(json.dumps(to_sarif(report.findings, artifact, report.waived), indent=2))
    else:
        print(plan_module.to_text(report))
    return EXIT_FINDING if report.mandatory else EXIT_OK
