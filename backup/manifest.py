"""Per-run manifests: what ran, when, which snapshot/backup, how big, how long, and the result.

Manifests are JSON files under ``<state_dir>/manifests/``; ``latest-<engine>.json`` always
points at the newest (written atomically). For the files engine the manifest lists every
file in the snapshot with its size and sha256, which the drill compares after a restore.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = "ccsec-backup-manifest/1"


@dataclass
class Manifest:
    """One run of one engine. ``result`` is ``"success"`` or ``"failure"``."""

    engine: str  # "files" | "postgres"
    type: str  # "full" | "diff"
    host: str
    started_at: str  # ISO 8601 UTC
    finished_at: str = ""
    duration_seconds: float = 0.0
    result: str = "failure"
    error: str | None = None
    reason: str = ""  # why this type (e.g. "no full backup yet")
    snapshot_id: str | None = None  # restic snapshot id / pgBackRest backup label
    parent_id: str | None = None  # the full a differential is based on
    bytes_added: int = 0  # new data stored in the repository by this run
    bytes_total: int = 0  # size of the data set this run covers
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> {size, sha256}
    extra: dict[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA

    def to_json(self) -> str:
        """Stable, pretty JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """ISO 8601 with a Z suffix."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def replace_file(path: Path, text: str, mode: int | None = None) -> Path:
    """Write ``text`` to a temp file beside ``path`` and rename it over ``path``.

    A failed write (a full disk) removes the temp file and leaves ``path`` as it was: readers
    see the old file or the new one, never half of one, and no debris stays behind.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # node_exporter ignores non-.prom names
    try:
        tmp.write_text(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write(manifest: Manifest, state_dir: Path) -> Path:
    """Write ``manifest`` atomically and update ``latest-<engine>.json``; return its path."""
    directory = state_dir / "manifests"
    directory.mkdir(parents=True, exist_ok=True)
    stamp = manifest.started_at.replace(":", "").replace("-", "")
    path = directory / f"{manifest.engine}-{stamp}-{manifest.type}.json"
    text = manifest.to_json()
    for target in (path, directory / f"latest-{manifest.engine}.json"):
        replace_file(target, text)
    return path


def latest(state_dir: Path, engine: str) -> Manifest | None:
    """The newest manifest of ``engine``, or None."""
    path = state_dir / "manifests" / f"latest-{engine}.json"
    return Manifest.from_json(path.read_text()) if path.exists() else None


def sha256_file(path: Path, bufsize: int = 1 << 20) -> str:
    """Hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(bufsize):
            digest.update(chunk)
    return digest.hexdigest()


class HashCache:
    """sha256 per path, reused while (size, mtime_ns, inode, ctime_ns) are unchanged.

    Keeps the every-five-minutes manifest cheap on large, mostly unchanged data sets.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._data: dict[str, list[Any]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self._data = {}
        self._seen: dict[str, list[Any]] = {}

    def sha256(self, file: Path, st: os.stat_result) -> str:
        """Hash of ``file`` given its current ``st`` (cached when unchanged)."""
        key = str(file)
        sig = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        hit = self._data.get(key)
        digest = hit[4] if hit and hit[:4] == sig else sha256_file(file)
        self._seen[key] = [*sig, digest]
        return digest

    def save(self) -> None:
        """Persist entries seen in this run (dropping files that disappeared)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(self.path, json.dumps(self._seen))
