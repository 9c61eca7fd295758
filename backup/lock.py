"""Non-overlapping runs: an exclusive, non-blocking ``flock`` per engine.

The kernel drops the lock when the holder dies (even by SIGKILL), so a killed run never
blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import RunInProgressError


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` for the block; raise :class:`RunInProgressError` if taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunInProgressError(f"another backup run holds {path}; not starting a second one") from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock
