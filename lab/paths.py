"""Where the lab keeps its files.

* ``work_dir()`` — per-project runtime files (state.json, per-VM overlays, keys, seeds, logs);
  default ``<project>/lab/.work`` (gitignored), where the project is found as the Pulumi CLI finds it (the
  nearest directory holding Pulumi.yaml, else the cwd) — never inside the installed package;
  override with ``CCSEC_LAB_WORK``.
* ``cache_dir()`` — cached base images, shared between runs; default ``~/.cache/ccsec/lab``,
  override with ``CCSEC_LAB_CACHE``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_LAB_DIR = Path(__file__).resolve().parent


def lab_dir() -> Path:
    """Directory of the ``ccsec.lab`` package (holds packages.txt): read-only package data."""
    return _LAB_DIR


def work_dir() -> Path:
    """Runtime directory of the lab (created on demand by callers); in a checkout, its ``lab/.work``."""
    from ccsec.infra.stackfile import project_dir

    env = os.environ.get("CCSEC_LAB_WORK")
    return Path(env).resolve() if env else project_dir() / "lab" / ".work"


@contextmanager
def work_dir_override(path: Path) -> Iterator[Path]:
    """Point the lab at another work dir for a while (test labs never touch a developer's own lab)."""
    old = os.environ.get("CCSEC_LAB_WORK")
    os.environ["CCSEC_LAB_WORK"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("CCSEC_LAB_WORK", None)
        else:
            os.environ["CCSEC_LAB_WORK"] = old


def cache_dir() -> Path:
    """Base image cache directory."""
    env = os.environ.get("CCSEC_LAB_CACHE")
    if env:
        return Path(env).resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "ccsec" / "lab"


def state_file() -> Path:
    """The lab state file (JSON, mode 0600)."""
    return work_dir() / "state.json"
