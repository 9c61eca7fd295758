"""``ccsec policy-config``: a stack's allow-lists as CrossGuard policy config JSON."""

from __future__ import annotations

import argparse
import json

from ccsec.commands import Parents
from ccsec.errors import EXIT_OK


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``policy-config``."""
    p = subparsers.add_parser(
        "policy-config",
        parents=[parents.stack(), parents.stacks_dir()],
        help="print the policy config JSON for a stack (for `pulumi preview --policy-pack-config`)",
        description=(
            "Print the stack's allow-lists (encrypted volume types, admin CIDRs) as CrossGuard policy config, "
            "so `pulumi preview --policy-pack policies --policy-pack-config FILE` judges the stack exactly as "
            "`ccsec plan` does. Exit 0, or 2 when the stack file or its config is invalid."
        ),
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the JSON."""
    from ccsec import plan as plan_module
    from ccsec.infra.stackfile import load_stack_config

    cfg = load_stack_config(args.stack, args.stacks_dir)
    print(json.dumps(plan_module.stack_policy_config(cfg), indent=2, sort_keys=True))
    return EXIT_OK
