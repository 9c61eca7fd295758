"""Run engine commands: argument lists only, explicit environment, timeouts, redacted output."""

from __future__ import annotations

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


def run(
    argv: list[str],
    env: dict[str, str],
    timeout: float,
    secrets: Iterable[str] = (),
    input_text: str | None = None,
    cwd: str | None = None,
) -> Result:
    """Run ``argv`` (never through a shell) and return its redacted :class:`Result`.

    A timeout raises :class:`BackupError`; a non-zero exit does not (callers map it).
    """
    secrets = tuple(secrets)
    try:
        done = subprocess.run(
            argv,
            env=env,
            timeout=timeout,
            capture_output=True,
            text=True,
            errors="replace",
            input=input_text,
            cwd=cwd,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} timed out after {timeout:.0f}s") from exc
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]} not found: run scripts/backup-deps.sh") from exc
    return Result(
        tuple(redact(a, secrets) for a in argv),
        done.returncode,
        redact(done.stdout, secrets),
        redact(done.stderr, secrets),
    )


def last_error_line(stderr: str) -> str:
    """The most informative line of an engine's stderr (the last 'Fatal'/'ERROR' line, else the last line)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith(("Fatal:", "ERROR:", "error:")) or " ERROR: " in line:
            return line
    return lines[-1] if lines else "(no output)"
