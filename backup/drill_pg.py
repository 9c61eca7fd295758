"""DR drill, PostgreSQL engine: point-in-time restore into a scratch cluster and verify every table.

1. pick the newest backup whose ``ccsec-reference`` annotation (see :mod:`backup.pgverify`) has a
   reference time at/before ``--at`` (or the newest overall);
2. ``pgbackrest restore --set=<that backup> --type=time --target=<reference time>`` into a fresh,
   empty data directory (archiving off);
3. start it as the PostgreSQL user on a free port with its own socket dir, wait for recovery to
   reach the target and promote;
4. compare per-table row counts and md5 checksums with the reference, then run PostgreSQL's own
   consistency checks (``pg_amcheck``: heap pages and every btree index, see :mod:`backup.pgamcheck`);
5. stop the scratch cluster and delete it (always, also on failure).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from . import pgamcheck, pgverify
from .drill_files import EngineResult, NoRestorablePointError
from .errors import BackupError, RepositoryPasswordError, StorageUnavailableError
from .manifest import iso
from .pgbackrest import PgBackRestEngine
from .private_files import private_dir, write_private
from .proc import as_user, run
from .restic import parse_time
from .secrets import base_env

_MINIMAL_CONF = "# written by the ccsec drill: the backup held no postgresql.conf\n"
# Recovery refuses to run with lower values than the primary had ("insufficient parameter settings"):
# the minimal config takes them from the restored pg_control (pg_controldata name -> setting).
_CONTROL_SETTINGS = {
    "max_connections": "max_connections",
    "max_worker_processes": "max_worker_processes",
    "max_wal_senders": "max_wal_senders",
    "max_prepared_xacts": "max_prepared_transactions",
    "max_locks_per_xact": "max_locks_per_transaction",
}
_MINIMAL_HBA = "local all all peer\n"


def free_port() -> int:
    """A TCP port nobody listens on right now (the scratch cluster also gets a private socket dir)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_target_time(reference_time: str) -> str:
    """``2026-01-02T03:04:05.123456Z`` -> ``2026-01-02 03:04:05.123456+00`` (recovery_target_time)."""
    return reference_time.replace("T", " ").replace("Z", "+00")


class ScratchCluster:
    """A restored data directory run as a throwaway server; :meth:`remove` stops it and deletes everything."""

    def __init__(self, engine: PgBackRestEngine, root: Path) -> None:
        self.engine, self.root = engine, root
        self.data, self.sock, self.log = root / "data", root / "sock", root / "postgres.log"
        self.port = 0

    def _pg_ctl(self, *args: str, timeout: float = 300) -> tuple[int, str]:
        cfg = self.engine.cfg
        argv = as_user([str(cfg.pg_bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), *args], cfg.pg_user)
        res = run(argv, base_env(), timeout, cwd="/")
        return res.returncode, res.stdout + res.stderr

    def prepare(self) -> None:
        """Create the root (0700, owned by the PostgreSQL user) and its socket dir."""
        uid, gid = self.engine._owner()
        for parent in self.root.parents:
            st = parent.stat()
            if not (st.st_mode & 0o001 or st.st_uid == uid):
                raise BackupError(
                    f"scratch parent {parent} is not traversable by user {self.engine.cfg.pg_user} "
                    "(mode o+x needed); choose another scratch directory"
                )
        for path in (self.root, self.sock):
            path.mkdir(mode=0o700)
            private_dir(path, 0o700, (uid, gid))

    def minimal_conf(self) -> str:
        """A postgresql.conf with the primary's recovery-relevant limits (from the restored pg_control)."""
        cfg = self.engine.cfg
        argv = as_user([str(cfg.pg_bin / "pg_controldata"), "-D", str(self.data)], cfg.pg_user)
        res = run(argv, base_env(), 60, cwd="/")
        lines = [_MINIMAL_CONF.rstrip("\n")]
        for line in res.stdout.splitlines():
            name, _, value = line.partition(" setting:")
            if name.strip() in _CONTROL_SETTINGS and value.strip().isdigit():
                lines.append(f"{_CONTROL_SETTINGS[name.strip()]} = {value.strip()}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 600) -> None:
        """Start the restored cluster and wait until recovery reached its target and promoted."""
        uid, gid = self.engine._owner()
        conf = self.minimal_conf() if not (self.data / "postgresql.conf").exists() else ""
        for name, text in (("postgresql.conf", conf), ("pg_hba.conf", _MINIMAL_HBA), ("pg_ident.conf", "")):
            path = self.data / name
            if not os.path.lexists(path):  # the restored data dir is the PostgreSQL user's: no symlink followed
                write_private(path, text, 0o600, (uid, gid))
        self.port = free_port()
        opts = (
            f"-p {self.port} -c listen_addresses='' -c unix_socket_directories='{self.sock}' "
            "-c archive_mode=off -c hot_standby=on"
        )
        code, out = self._pg_ctl("-w", "-t", str(int(timeout)), "-o", opts, "start", timeout=timeout + 30)
        if code != 0:
            raise BackupError(f"restored cluster did not start: {self.log_tail() or out.strip()}")
        deadline = time.monotonic() + timeout
        while self.psql()("select pg_is_in_recovery();") != ["f"]:
            if time.monotonic() > deadline:
                raise BackupError(f"restored cluster still in recovery after {timeout:.0f}s: {self.log_tail()}")
            if not (self.data / "postmaster.pid").exists():
                raise BackupError(f"restored cluster stopped during recovery: {self.log_tail()}")
            time.sleep(0.2)

    def psql(self) -> pgverify.Psql:
        """psql against the scratch cluster."""
        cfg = self.engine.cfg
        return pgverify.Psql(cfg.pg_bin, self.sock, self.port, cfg.pg_user)

    def log_tail(self, lines: int = 3) -> str:
        """The last FATAL/ERROR lines of the scratch server log (for one-line failure reasons)."""
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        bad = [ln for ln in text if "FATAL" in ln or "ERROR" in ln or "PANIC" in ln]
        return " | ".join((bad or text)[-lines:])

    def remove(self) -> None:
        """Stop the server (fast, then immediate) and delete the scratch directory."""
        if (self.data / "postmaster.pid").exists():
            code, _ = self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop", timeout=90)
            if code != 0:
                self._pg_ctl("-m", "immediate", "-w", "-t", "30", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def drill_postgres(engine: PgBackRestEngine, at: datetime | None, scratch: Path) -> EngineResult:
    """Restore the chosen point into a scratch cluster under ``scratch``, verify, then remove it."""
    result = EngineResult(engine="postgres")
    cfg = engine.cfg
    engine.write_config()
    engine.reachable()
    backups = engine.backups()
    if not backups:
        raise NoRestorablePointError(f"pgBackRest stanza {engine.cfg.stanza} holds no backup")
    refs = [(b, r) for b, r in engine.references() if _has_time(r) and (at is None or parse_time(r["time"]) <= at)]
    if not refs:
        when = f" at or before {iso(at)}" if at else ""
        raise NoRestorablePointError(f"no pgBackRest backup{when} carries a ccsec verification reference")
    backup, ref = refs[-1]
    newer = [b["label"] for b in backups if b["timestamp"]["stop"] > backup["timestamp"]["stop"]]
    if newer and at is None:
        result.notes.append(f"newer backups without a reference were not drilled: {', '.join(newer)}")
    result.point_id, result.point_type = backup["label"], backup.get("type", "")
    result.point_time = ref["time"]
    result.newest_backup_time = iso(datetime.fromtimestamp(backups[-1]["timestamp"]["stop"], UTC))
    result.details = {
        "database": ref.get("database"),
        "target_time": pg_target_time(ref["time"]),
        "lsn": ref.get("lsn"),
    }
    missing = reference_problems(ref)
    if missing:  # a reference without tables verifies nothing: a failure, never "verified"
        result.problems += missing
        return result
    cluster = ScratchCluster(engine, scratch)
    cluster.prepare()  # a scratch the PostgreSQL user cannot reach means the drill cannot run (exit 2)
    try:
        t0 = time.monotonic()
        engine.restore(cluster.data, set_label=backup["label"], target_time=pg_target_time(ref["time"]))
        result.details["pgbackrest_restore_seconds"] = round(time.monotonic() - t0, 3)
        cluster.start()
        result.restore_seconds = round(time.monotonic() - t0, 3)
        t1 = time.monotonic()
        actual = pgverify.table_checksums(cluster.psql(), ref["database"])
        result.problems = pgverify.compare(ref["tables"], actual)
        result.checked = len(set(ref["tables"]) | set(actual))
        result.details["rows_total"] = sum(t["rows"] for t in actual.values())
        # checksums scan tables, never indexes: PostgreSQL's own checks cover heap pages and every btree
        consistency = pgamcheck.check_cluster(cfg.pg_bin, cluster.sock, cluster.port, cfg.pg_user)
        result.verify_seconds = round(time.monotonic() - t1, 3)
        result.details["amcheck"] = {"ok": consistency.ok, "seconds": consistency.seconds}
        result.problems += consistency.problems
        if not result.problems and result.details["rows_total"] == 0:
            result.problems.append(
                f"database {ref['database']}: zero rows verified (every table empty): nothing was proven restorable"
            )
    except (RepositoryPasswordError, StorageUnavailableError):
        raise  # the drill could not run: not a verdict on the backup
    except BackupError as exc:
        result.problems.append(str(exc))
    finally:
        cluster.remove()
    result.verified = not result.problems and result.checked > 0
    return result


def _has_time(ref: dict) -> bool:
    try:
        parse_time(ref["time"])
    except (KeyError, TypeError, ValueError):
        return False
    return True


def reference_problems(ref: dict) -> list[str]:
    """Why a ``ccsec-reference`` annotation cannot verify a restore (no database, no tables): [] if it can."""
    problems = []
    if not isinstance(ref.get("database"), str) or not ref.get("database"):
        problems.append("the backup's verification reference names no database (missing reference)")
    tables = ref.get("tables")
    if not isinstance(tables, dict):
        problems.append("the backup's verification reference holds no table list (missing reference)")
    elif not tables:
        problems.append("the backup's verification reference lists zero tables: nothing would be verified")
    elif not all(isinstance(t, dict) and isinstance(t.get("rows"), int) and "md5" in t for t in tables.values()):
        problems.append("the backup's verification reference has tables without row counts or checksums")
    return problems
