"""Free space on the filesystem of the agent's state: checked before a run, reported after a failure.

restic 0.14 does not fail when its cache cannot be written: measured here, ``restic ls`` blocks
for good once the filesystem under ``RESTIC_CACHE_DIR`` is full. pgBackRest's logs, locks and
spool, the manifests and the hash cache live there too. So a run refuses to start below
``agent.min_free_mib``, and an engine failure or timeout says when that filesystem is (nearly) full.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BackupError

MIB = 1 << 20


class DiskFullError(BackupError):
    """The agent's state filesystem has less free space than ``agent.min_free_mib``."""


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on ``path``'s filesystem (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    st = os.statvfs(probe)
    return st.f_bavail * st.f_frsize


def _describe(path: Path, free: int, min_free_mib: int) -> str:
    return (
        f"{path}: no space left on device for the backup's local state ({free // 1024} KiB free, "
        f"agent.min_free_mib is {min_free_mib} MiB): free space on that filesystem"
    )


def require_free(path: Path, min_free_mib: int) -> None:
    """Raise :class:`DiskFullError` when ``path``'s filesystem has less than ``min_free_mib`` MiB free."""
    free = free_bytes(path)
    if free < min_free_mib * MIB or free == 0:
        raise DiskFullError(_describe(path, free, min_free_mib))


def note_if_full(path: Path, min_free_mib: int) -> str:
    """``"; <reason>"`` when ``path``'s filesystem is below the threshold now, else ``""``."""
    try:
        require_free(path, min_free_mib)
    except DiskFullError as exc:
        return f"; {exc}"
    except OSError:
        return ""
    return ""
