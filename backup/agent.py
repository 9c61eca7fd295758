"""One agent run: lock, decide the type, run the engine, record a manifest and metrics.

Every run that got the lock leaves a manifest and updated metrics, success or failure, so
monitoring sees failures as soon as they happen and the next successful run recovers them.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from . import manifest as manifests
from . import metrics
from .config import BackupConfig
from .diskspace import DiskFullError, note_if_full, require_free
from .errors import BackupError
from .lock import run_lock
from .manifest import Manifest, iso, utcnow
from .schedule import decide

if TYPE_CHECKING:  # engines are imported when used: a host's agent bundle carries only its own engine
    from .pgbackrest import PgBackRestEngine
    from .restic import ResticEngine

ENGINES = ("files", "postgres")


class Engine(Protocol):
    """What the agent needs from an engine."""

    name: str

    def prepare(self) -> None:
        """Make the repository usable (init/stanza-create, stale locks)."""

    def last_full_time(self) -> datetime | None:
        """Time of the newest full backup."""

    def backup(self, kind: str, manifest: Manifest) -> None:
        """Back up and fill the manifest."""

    def apply_retention(self, keep_full_cycles: int | None = None) -> list[str]:
        """Drop cycles older than the kept ones."""

    def check(self, subset: str | None = None) -> str:
        """Verify the repository."""


def engine_for(cfg: BackupConfig, name: str) -> ResticEngine | PgBackRestEngine:
    """Build the named engine from the configuration."""
    if name == "files":
        if cfg.files is None:
            raise BackupError("engine 'files' is not configured ([files] section missing)")
        from .restic import ResticEngine

        return ResticEngine(cfg.agent, cfg.files, cfg.swift)
    if name == "postgres":
        if cfg.postgres is None:
            raise BackupError("engine 'postgres' is not configured ([postgres] section missing)")
        from .pgbackrest import PgBackRestEngine

        return PgBackRestEngine(cfg.agent, cfg.postgres)
    raise BackupError(f"unknown engine {name!r}; expected one of {ENGINES}")


def run_backup(cfg: BackupConfig, engine_name: str, requested: str = "auto", now: datetime | None = None) -> Manifest:
    """Run one backup of ``engine_name``; return its manifest or raise :class:`BackupError`.

    A concurrent run of the same engine raises :class:`~backup.errors.RunInProgressError`
    without touching the repository, the manifests or the metrics.
    """
    engine = engine_for(cfg, engine_name)
    with run_lock(cfg.agent.state_dir / "locks" / f"{engine_name}.lock"):
        return _record(cfg, engine, requested, now, lambda m: _backup(cfg, engine, requested, now, m))


def run_maintenance(cfg: BackupConfig, engine_name: str, action: str) -> Manifest:
    """Run ``check`` or ``offsite`` (files only) under the engine's lock, recorded like a backup."""
    engine = engine_for(cfg, engine_name)

    def body(m: Manifest) -> None:
        engine.prepare()
        if action == "check":
            engine.check()
        elif action == "offsite":
            if engine.name != "files":
                raise BackupError("off-site copy is done by restic (files engine); pgBackRest uses repo2 instead")
            m.extra["offsite_snapshots"] = engine.copy_offsite()
        else:
            raise BackupError(f"unknown action {action!r}")

    with run_lock(cfg.agent.state_dir / "locks" / f"{engine_name}.lock"):
        return _record(cfg, engine, action, None, body)


def _backup(
    cfg: BackupConfig, engine: ResticEngine | PgBackRestEngine, requested: str, now: datetime | None, m: Manifest
) -> None:
    engine.prepare()
    kind, reason = decide(requested, engine.last_full_time(), now or utcnow(), cfg.agent.full_interval_days)
    m.type, m.reason = kind, reason
    engine.backup(kind, m)
    if kind == "full":
        m.extra["retention_forgotten"] = engine.apply_retention()


def _record(
    cfg: BackupConfig, engine: ResticEngine | PgBackRestEngine, kind: str, now: datetime | None, body: object
) -> Manifest:
    started = utcnow()
    t0 = time.monotonic()
    m = Manifest(
        engine=engine.name, type="diff" if kind == "auto" else kind, host=cfg.agent.host, started_at=iso(started)
    )
    if now is not None:
        m.extra["clock_override"] = iso(now)
    error: BackupError | None = None
    try:
        require_free(cfg.agent.state_dir, cfg.agent.min_free_mib)
        body(m)  # type: ignore[operator]
        m.result = "success"
    except DiskFullError as exc:
        m.result, m.error, error = "failure", str(exc), exc
    except BackupError as exc:  # a full state disk makes engines fail (or hang until the timeout): say so
        error = _with_note(exc, note_if_full(cfg.agent.state_dir, cfg.agent.min_free_mib))
        m.result, m.error = "failure", str(error)
    except OSError as exc:  # the agent's own files (hash cache, engine config): a full disk, mostly
        where = f"{exc.filename}: " if exc.filename else ""
        m.result, m.error = "failure", f"{m.type} run failed on a local file: {where}{exc.strerror or exc}"
        error = BackupError(m.error)
    finally:
        m.duration_seconds = round(time.monotonic() - t0, 3)
        finished = utcnow()
        m.finished_at = iso(finished)
        unrecorded = _write_record(cfg, m, finished.timestamp())
    if unrecorded is not None:
        raise unrecorded from error
    if error is not None:
        raise error
    return m


def _with_note(exc: BackupError, note: str) -> BackupError:
    """``exc`` with ``note`` appended, of the same class when it takes a message (callers match on it)."""
    if not note:
        return exc
    try:
        return type(exc)(f"{exc}{note}")
    except TypeError:
        return BackupError(f"{exc}{note}")


def _write_record(cfg: BackupConfig, m: Manifest, finished: float) -> BackupError | None:
    """Write the manifest, then the metrics; a full or broken disk turns the run into a failure.

    The metrics are written even when the manifest could not be (they usually live on another
    filesystem), so monitoring still sees the failed run. Both writes are atomic (temp + rename):
    a failed write leaves the previous manifest and metrics as they were.
    """
    problem: BackupError | None = None
    try:
        manifests.write(m, cfg.agent.state_dir)
    except OSError as exc:
        problem = _unrecorded(m, exc)
    try:
        metrics.record(m, finished, cfg.agent.state_dir, cfg.agent.metrics_dir)
    except OSError as exc:
        problem = problem or _unrecorded(m, exc)
    return problem


def _unrecorded(m: Manifest, exc: OSError) -> BackupError:
    where = exc.filename or "the agent's state directory"
    before = f"{m.error}; " if m.error else f"the {m.type} backup ran, but "
    m.result = "failure"
    m.error = f"{before}the run could not be recorded: {where}: {exc.strerror or exc} (free space there)"
    return BackupError(m.error)
