"""``ccsec`` subcommands, one module each, all registered the same way.

Each module exposes ``register(subparsers, parents) -> None``: it adds its parser (taking the shared options
from :class:`Parents`, defined once here) and sets ``handler``, a function ``(args) -> int`` that returns
0 (ok) or 1 (a finding) and raises :class:`ccsec.errors.CcsecError` when it cannot run (exit 2).
:data:`COMMANDS` is the one table ``ccsec.cli`` reads; a module is imported only when listed, and each
imports its heavy dependencies (Pulumi, QEMU helpers, the backup engines) inside its handler.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

# (subcommand, module under ccsec.commands) in the order `ccsec --help` lists them
COMMANDS: tuple[tuple[str, str], ...] = (
    ("plan", "plan"),
    ("policy-config", "policy_config"),
    ("policy-docs", "policy_docs"),
    ("lab", "lab"),
    ("verify", "verify"),
    ("drift", "drift"),
    ("drill", "drill"),
    ("judge", "judge"),
)


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


@dataclass(frozen=True)
class Parents:
    """The shared options, each defined once; a command lists the ones it takes as ``parents=[...]``."""

    stacks: str  # the stack names found, for the --stack help

    def stack(self, *, required: bool = True, default: str | None = None, note: str = "") -> argparse.ArgumentParser:
        """``--stack NAME``: stacks/Pulumi.<NAME>.yaml."""
        p = _parent()
        default_note = f"; default: {default}" if default else ""
        p.add_argument(
            "--stack",
            required=required,
            default=default,
            metavar="NAME",
            help=f"stack name: stacks/Pulumi.<NAME>.yaml (available: {self.stacks}{default_note}){note}",
        )
        return p

    def stacks_dir(self) -> argparse.ArgumentParser:
        """``--stacks-dir DIR``: where the stack files live."""
        p = _parent()
        p.add_argument(
            "--stacks-dir",
            type=Path,
            default=None,
            metavar="DIR",
            help="where Pulumi.<stack>.yaml files live (default: the project's stacks/)",
        )
        return p

    def format(self, *choices: str, what: str = "") -> argparse.ArgumentParser:
        """``--format {choices}`` (the first is the default) and ``--json`` as shorthand for ``--format json``."""
        p = _parent()
        p.add_argument(
            "--format",
            choices=choices,
            default=choices[0],
            help=f"what to print{what} (default: {choices[0]})",
        )
        if "json" in choices:
            p.add_argument(
                "--json", dest="format", action="store_const", const="json", help="the same as --format json"
            )
        return p

    def out(self, what: str) -> argparse.ArgumentParser:
        """``--out DIR``: where reports go."""
        p = _parent()
        p.add_argument("--out", type=Path, metavar="DIR", help=what)
        return p
