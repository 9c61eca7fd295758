"""Progress reporting helpers: every line carries the elapsed seconds of the current operation."""

from __future__ import annotations

import time
from collections.abc import Callable

Progress = Callable[[str], None]


def _print(msg: str) -> None:
    print(msg, flush=True)


class Stopwatch:
    """Prefix progress lines with the seconds elapsed since creation."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress or _print
        self._t0 = time.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds since the stopwatch started."""
        return time.monotonic() - self._t0

    def __call__(self, msg: str) -> None:
        self._progress(f"[{self.elapsed:7.1f}s] {msg}")
