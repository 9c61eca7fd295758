"""DR drill, files engine: restore a restic snapshot into a fresh directory and verify every file.

The reference is the manifest the backup run stored IN the repository (a ``ccsec-manifest``
snapshot, see :meth:`backup.restic.ResticEngine.store_manifest`), so the drill needs nothing
from the backed-up host: only the agent config, the repository password and Swift credentials.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import BackupError
from .manifest import iso, sha256_file
from .restic import ResticEngine, Snapshot


class NoRestorablePointError(BackupError):
    """The repository holds no backup (at/before the requested time) that the drill can verify."""


@dataclass
class EngineResult:
    """What the drill found for one engine."""

    engine: str
    point_id: str = ""  # restic snapshot id / pgBackRest backup label
    point_time: str = ""  # the restored point (ISO 8601 UTC)
    point_type: str = ""
    newest_backup_time: str = ""  # newest backup in the repository, verifiable or not
    verified: bool = False
    checked: int = 0  # files / tables compared
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    restore_seconds: float = 0.0
    verify_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


def choose(engine: ResticEngine, at: datetime | None) -> tuple[Snapshot, Snapshot, list[Snapshot], list[str]]:
    """The newest data snapshot (at/before ``at``) that has a stored manifest, its manifest, all data snapshots."""
    snaps = engine.snapshots(manifests=True)
    data = [s for s in snaps if s.kind in ("full", "diff")]
    manifests = {s.manifest_for: s for s in snaps if s.kind == "manifest"}
    if not data:
        raise NoRestorablePointError(f"no restic snapshot of host {engine.agent.host} in {engine.cfg.repository}")
    candidates = [s for s in data if at is None or s.time <= at]
    notes = []
    for snap in reversed(candidates):
        if snap.id in manifests:
            return snap, manifests[snap.id], data, notes
        notes.append(f"snapshot {snap.short_id} ({iso(snap.time)}) has no stored manifest; skipped")
    when = f" at or before {iso(at)}" if at else ""
    raise NoRestorablePointError(f"no restic snapshot{when} with a stored manifest in {engine.cfg.repository}")


def verify_tree(root: Path, expected: dict[str, dict[str, Any]]) -> tuple[int, list[str], list[str]]:
    """Compare the tree restored below ``root`` with ``{original path: {size, sha256}}``.

    Returns ``(files checked, problems, notes)``; a missing, extra or different file is a
    problem naming the file. Files the manifest marks ``changed_during_backup`` have no
    reference hash: only their size is checked, and they are listed in the notes.
    """
    problems: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            original = "/" + str(path.relative_to(root))
            seen.add(original)
            entry = expected.get(original)
            if entry is None:
                problems.append(f"{original}: extra file, not in the manifest")
                continue
            size = path.stat().st_size
            if size != entry.get("size"):
                problems.append(f"{original}: size {size} differs from the manifest's {entry.get('size')}")
            elif entry.get("sha256") is None:
                notes.append(f"{original}: changed during the backup, no reference sha256 (size matches)")
            elif sha256_file(path) != entry["sha256"]:
                problems.append(f"{original}: sha256 differs from the manifest")
    problems += [f"{p}: missing from the restore" for p in sorted(set(expected) - seen)]
    return len(seen | set(expected)), sorted(problems), notes


def drill_files(engine: ResticEngine, at: datetime | None, scratch: Path) -> EngineResult:
    """Restore the chosen snapshot into the fresh, empty ``scratch`` and verify it; never raises for bad data."""
    result = EngineResult(engine="files")
    snap, manifest_snap, data, result.notes = choose(engine, at)
    result.point_id, result.point_time, result.point_type = snap.id, iso(snap.time), snap.kind
    result.newest_backup_time = iso(data[-1].time)
    doc = engine.load_manifest(manifest_snap)
    if doc.get("snapshot_id") != snap.id:
        raise BackupError(
            f"manifest snapshot {manifest_snap.short_id} describes {doc.get('snapshot_id')}, not {snap.id}"
        )
    scratch.mkdir(mode=0o700, parents=True, exist_ok=False)
    t0 = time.monotonic()
    res = engine.restic(["restore", snap.id, "--target", str(scratch)], check=False)
    result.restore_seconds = round(time.monotonic() - t0, 3)
    if res.returncode != 0:
        errors = [ln.strip() for ln in res.stderr.splitlines() if ln.strip()]
        if any("wrong password" in ln for ln in errors):
            raise engine._error("restore", engine.cfg.repository, engine.cfg.password_file, res)
        result.problems += [f"restic restore: {ln}" for ln in errors[-10:]] or ["restic restore failed"]
    t1 = time.monotonic()
    reference = doc.get("files")
    if not isinstance(reference, dict):
        result.problems.append(
            f"manifest snapshot {manifest_snap.short_id} holds no file list (missing reference): "
            "nothing to verify against"
        )
        reference = {}
    result.checked, problems, notes = verify_tree(scratch, reference)
    result.verify_seconds = round(time.monotonic() - t1, 3)
    result.problems += problems
    result.notes += notes
    if result.checked == 0:
        result.problems.append(
            f"snapshot {snap.short_id} and its manifest hold zero files: nothing was verified (an empty backup "
            "is not a restorable one; check the agent's [files] paths)"
        )
    result.verified = not result.problems and result.checked > 0
    result.details = {"repository": engine.cfg.repository, "manifest_snapshot": manifest_snap.id}
    return result
