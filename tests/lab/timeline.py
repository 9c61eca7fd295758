"""Progress lines that reach the CI log while pytest captures output.

pytest's default capture redirects file descriptors 1 and 2, so even ``sys.__stderr__`` lands in the
capture and a 40-minute lab run looks silent until it ends. The capture manager's
``global_and_fixture_disabled()`` is pytest's own way to write past it; each line carries the
wall-clock time and the seconds since the session started, so the log shows where the time goes.
"""

from __future__ import annotations

import sys
import time

import pytest

_STARTED = time.monotonic()
_config: pytest.Config | None = None


def attach(config: pytest.Config) -> None:
    """Called from pytest_configure: remember the session's config (for its capture manager)."""
    global _config
    _config = config


def say(prefix: str, msg: str) -> None:
    line = f"{prefix}: [{time.strftime('%H:%M:%S')} +{time.monotonic() - _STARTED:6.0f}s] {msg}"
    capman = _config.pluginmanager.getplugin("capturemanager") if _config is not None else None
    if capman is None:
        print(line, file=sys.stderr, flush=True)
        return
    with capman.global_and_fixture_disabled():
        print(line, file=sys.stderr, flush=True)
