"""The project's one error base and its exit codes.

Every ``ccsec`` command ends with one of three codes: 0 ok / compliant, 1 a finding (a policy violation,
drift, a failed verification or drill, a stale generated doc), 2 the command could not run (bad input, bad
config, a missing lab, an unreachable service). Code raises :class:`CcsecError` (or a subclass) for "could not
run"; :func:`ccsec.cli.main` catches it once and prints ``ccsec <command>: error: <message>`` plus one
``  - <problem>`` line per problem to stderr. Messages name keys, paths and flags, never secret values.

The policy pack (``policies/``) and the on-host backup agent (``backup/``) must stay importable without
``ccsec``, so their own bases (``PolicyConfigError``, ``CatalogueError``, ``BackupError``, the agent's
``ConfigError``) are not subclasses of this one; ``ccsec.cli`` maps them in one adapter table.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK, EXIT_FINDING, EXIT_ERROR = 0, 1, 2


class CcsecError(Exception):
    """The command could not do its job; ``message`` says what, ``problems`` lists each cause (may be empty)."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str, problems: Iterable[str] = (), *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {problem}" for problem in self.problems)])


class UsageError(CcsecError):
    """The command line itself is incomplete or contradictory (argparse could not tell)."""
