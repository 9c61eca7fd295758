"""Run engine commands: argument lists only, explicit environment, timeouts, redacted output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import BackupError


@dataclass(frozen=True)
class Result:
    """Outcome of one command (stdout/stderr already redacted)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value (longer than 3 chars) in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) > 3:
            text = text.replace(secret, "***")
    return text


def as_user(argv: list[str], user: str) -> list[str]:
    """``argv`` run as ``user`` (through ``runuser``) when we are root; unchanged otherwise.

    PostgreSQL's tools refuse to run as root, and peer authentication maps the OS user to the role.
    """
    if os.geteuid() == 0 and user != "root":
        return ["runuser", "-u", user, "--", *argv]
    return argv


def run(
    argv: list[str],
    env: dict[str, str],
    timeout: float,
    secrets: Iterable[str] = (),
    input_text: str | None = None,
    cwd: str | None = None,
) -> Result:
    """Run ``argv`` (never through a shell) and return its redacted :class:`Result`.

    The command runs in its own process group, and a timeout (or the agent being interrupted)
    kills that whole group: ``runuser -u postgres -- pgbackrest`` would otherwise leave
    pgBackRest and its workers running after its ``runuser`` parent is killed. A timeout raises
    :class:`BackupError`; a non-zero exit does not (callers map it).
    """
    secrets = tuple(secrets)
    try:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]} not found: run scripts/backup-deps.sh") from exc
    try:
        stdout, stderr = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc)
        command = redact(describe(argv), secrets)
        raise BackupError(f"{command} timed out after {timeout:.0f}s and was stopped (process group killed)") from exc
    except BaseException:
        _kill_group(proc)
        raise
    return Result(
        tuple(redact(a, secrets) for a in argv),
        proc.returncode,
        redact(stdout, secrets),
        redact(stderr, secrets),
    )


# engine subcommands, so a message names "pgbackrest backup", not "runuser -u" or "restic --repo"
SUBCOMMANDS = frozenset(
    {
        *("annotate", "archive-push", "archive-get", "backup", "check", "expire", "info", "restore"),
        *("stanza-create", "verify"),  # pgBackRest
        *("cat", "copy", "forget", "init", "ls", "prune", "snapshots", "stats", "unlock"),  # restic
    }
)


def describe(argv: list[str]) -> str:
    """``"<program> <subcommand>"`` of an engine command line, through a ``runuser ... --`` prefix."""
    words = list(argv)
    if words and words[0].rsplit("/", 1)[-1] == "runuser" and "--" in words:
        words = words[words.index("--") + 1 :]
    if not words:
        return "(empty command)"
    program = words[0].rsplit("/", 1)[-1]
    sub = next((w for w in words[1:] if w in SUBCOMMANDS), "")
    return f"{program} {sub}".strip()


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the command's process group, then reap it (its pipes close once every member is gone)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=30)


def last_error_line(stderr: str) -> str:
    """The most informative line of an engine's stderr (the last 'Fatal'/'ERROR' line, else the last line)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith(("Fatal:", "ERROR:", "error:")) or " ERROR: " in line:
            return line
    return lines[-1] if lines else "(no output)"
