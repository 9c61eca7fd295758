"""`ccsec`: one entry point that wires the baseline's parts; no logic of its own beyond I/O.

Exit codes are the same for every subcommand: 0 success / compliant, 1 a finding (policy
violation, drift, failed verification), 2 the check itself could not run (bad input, bad config).

Every subcommand is a module in :mod:`ccsec.commands` registered the same way (its ``register``), and
errors are reported in one place, :func:`main`: a :class:`~ccsec.errors.CcsecError` (or one of the
parts' own errors, mapped by :data:`FOREIGN_ERRORS`) becomes ``ccsec <command>: error: ...`` on stderr
and its exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from ccsec.commands import COMMANDS, Parents
from ccsec.errors import EXIT_ERROR, EXIT_FINDING, EXIT_OK, CcsecError

__all__ = ["EXIT_ERROR", "EXIT_FINDING", "EXIT_OK", "FOREIGN_ERRORS", "build_parser", "main"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _backup_config_error(error: Exception, command: str) -> CcsecError:
    # the agent's ConfigError lists its problems in `errors`; the drill reports them on one line
    problems = list(getattr(error, "errors", [])) or [str(error)]
    return CcsecError("invalid backup configuration: " + "; ".join(_one_line(p) for p in problems))


def _backup_error(error: Exception, command: str) -> CcsecError:
    return CcsecError(f"{command} could not run: {_one_line(str(error))}")


def _os_error(error: Exception, command: str) -> CcsecError:
    assert isinstance(error, OSError)
    where = f"{error.filename}: " if error.filename else ""
    return CcsecError(f"{where}{error.strerror or error}")


def _plain(error: Exception, command: str) -> CcsecError:
    return CcsecError(str(error))


def _foreign_errors() -> tuple[tuple[type[BaseException], Callable[[Exception, str], CcsecError]], ...]:
    """The parts that cannot import ccsec keep their own error bases; this is the one table mapping them.

    ``policies/`` is a self-contained CrossGuard pack (Pulumi loads it with only its requirements.txt) and
    ``backup/`` runs on the hosts as a standalone zipapp: neither may import ``ccsec``, so their bases are
    not :class:`CcsecError`. Each row: the foreign base (most specific first) and how it becomes one;
    all of them mean "could not run" (exit 2). ``OSError`` is last: a file the command needed was refused.
    """
    from ccsec.backup.config import ConfigError as BackupConfigError
    from ccsec.backup.errors import BackupError
    from ccsec.policies.controls import CatalogueError
    from ccsec.policies.pack_config import PolicyConfigError
    from ccsec.policies.waivers import WaiverFileError

    return (
        (PolicyConfigError, _plain),
        (WaiverFileError, _plain),
        (CatalogueError, _plain),
        (BackupConfigError, _backup_config_error),
        (BackupError, _backup_error),
        (OSError, _os_error),
    )


FOREIGN_ERRORS = _foreign_errors()


def as_ccsec_error(error: BaseException, command: str) -> CcsecError | None:
    """``error`` as the project's error (None: not one the CLI reports; let it propagate)."""
    if isinstance(error, CcsecError):
        return error
    for base, adapt in FOREIGN_ERRORS:
        if isinstance(error, base):
            return adapt(error, command)  # type: ignore[arg-type]
    return None


def report(error: CcsecError, command: str) -> int:
    """Print ``ccsec <command>: error: <message>`` and one ``  - problem`` line per problem; return the code."""
    print(f"ccsec {command}: error: {error.message}".rstrip(), file=sys.stderr)
    for problem in error.problems:
        print(f"  - {problem}", file=sys.stderr)
    return error.exit_code


def build_parser() -> argparse.ArgumentParser:
    """The ``ccsec`` parser: one subparser per entry of :data:`ccsec.commands.COMMANDS`."""
    from ccsec.infra.stackfile import available_stacks

    parser = argparse.ArgumentParser(
        prog="ccsec",
        description="ccaas-baseline: provision, verify and drill a contact center's security baseline on OpenStack.",
        epilog="Exit codes: 0 ok, 1 finding (violation/drift/failed check), 2 could not run (bad input/config).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = Parents(stacks=", ".join(available_stacks()) or "none yet")
    for _name, module in COMMANDS:
        importlib.import_module(f"ccsec.commands.{module}").register(sub, parents)
    return parser


def _command_name(args: argparse.Namespace | None, argv: Sequence[str]) -> str:
    if args is None:
        return next((a for a in argv if not a.startswith("-")), "") or "ccsec"
    action = getattr(args, f"{args.command.replace('-', '_')}_command", None)
    return f"{args.command} {action}" if action else args.command


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the subcommand's handler, and turn a could-not-run error into its message and exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return EXIT_OK
    except Exception as raised:
        command = _command_name(args, argv)
        error = as_ccsec_error(raised, command)
        if error is None:
            raise
        return report(error, command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
