"""``ccsec policy-docs``: (re)generate docs/policies.md from the policy pack's metadata, or check it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ccsec.commands import Parents
from ccsec.errors import EXIT_FINDING, EXIT_OK, CcsecError


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``policy-docs``."""

    p = subparsers.add_parser(
        "policy-docs",
        help="write docs/policies.md from the policy pack's metadata (--check: exit 1 if it is stale)",
        description=(
            "Render the table of every policy (control id, severity, enforcement, frameworks, fix, config) "
            "from the pack's own metadata."
        ),
        epilog="Exit codes: 0 written or up to date, 1 --check found the file stale, 2 could not read/write it.",
    )
    p.add_argument("--check", action="store_true", help="do not write; exit 1 when the file differs")
    p.add_argument(
        "--file", type=Path, default=None, metavar="FILE", help="the doc (default: the project's docs/policies.md)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write or check the doc."""
    import sys

    from ccsec.policy_docs import default_doc_path, render

    args.file = args.file or default_doc_path()
    text = render()
    if args.check:
        current = args.file.read_text(encoding="utf-8") if args.file.exists() else ""
        if current != text:
            print(f"{args.file} is stale: run ccsec policy-docs", file=sys.stderr)
            return EXIT_FINDING
        return EXIT_OK
    try:
        args.file.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CcsecError(f"--file {args.file}: {error.strerror}") from None
    return EXIT_OK
