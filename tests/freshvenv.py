"""Fresh virtualenvs for the distribution proofs, made once per test session.

A venv is slow to fill, so each one is built once per session and shared: by every test of the session,
and by every xdist worker of it (workers of one run share the parent of their base temp dir; a file lock
makes the first worker build and the others wait). pip keeps its usual wheel cache, so a second session
on the same machine installs from it. The child processes get an environment without PYTHONPATH,
PYTHONHOME or VIRTUAL_ENV, so nothing of this checkout or of the test venv leaks into them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    env.update(extra)
    return env


def run(argv: list[str | Path], cwd: Path | None = None, timeout: float = 600, **extra: str):
    """Run a child with a clean environment; return the CompletedProcess (text, never raises on exit)."""
    return subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def must(argv: list[str | Path], cwd: Path | None = None, timeout: float = 600):
    done = run(argv, cwd=cwd, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory shared by every xdist worker of this session (and private to the session)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(tmp_path_factory: pytest.TempPathFactory, name: str, build) -> Path:
    """``build(directory)`` once per session under a lock; every caller gets the finished directory."""
    root = session_dir(tmp_path_factory)
    target = root / name
    done = root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            if target.exists():  # a builder that died half-way: start over
                shutil.rmtree(target)
            started = time.monotonic()
            build(target)
            done.write_text(f"{time.monotonic() - started:.1f}\n")
    return target


def build_seconds(tmp_path_factory: pytest.TempPathFactory, name: str) -> float:
    return float((session_dir(tmp_path_factory) / f"{name}.done").read_text())


def make_venv(directory: Path, *pip_args: str | Path) -> Path:
    """A venv without pip or system site-packages, filled by this session's pip (``--python``); its python.

    Skipping ensurepip saves seconds and keeps the venv to exactly what ``pip_args`` bring;
    ``--no-compile`` skips byte-compiling thousands of files that a test imports a few of.
    """
    must([sys.executable, "-m", "venv", "--without-pip", directory])
    python = directory / "bin" / "python"
    if pip_args:
        must(
            [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile", *pip_args],
            timeout=900,
        )
    return python
