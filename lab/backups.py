"""Back up the running lab now: optionally write sample data, then run a differential on every
db/recordings VM and wait until its agent reports success (``ccsec lab backup``).

The timers run a differential every 5 minutes anyway; this is for demos and tests that want a
backup of data they just wrote without waiting for the next tick. Commands go over SSH with the
pinned host key, as ``sudo -n`` (the lab admin is an operator).
"""

from __future__ import annotations

import json
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import paramiko

from ccsec.errors import CcsecError
from ccsec.infra import roles as role_model
from ccsec.infra.backup_agent import RECORDINGS_DIR, STATE_DIR
from ccsec.lab.progress import Progress
from ccsec.lab.ssh import connect, run
from ccsec.lab.state import HostState, LabState

SAMPLE_ROWS = 500  # as in SEED_SQL
# A sample application table: rows appended per call, so every seeded backup differs from the last.
SEED_SQL = (
    "create table if not exists calls (id bigint primary key, agent text not null, "
    "started_at timestamptz not null default now()); "
    "insert into calls (id, agent) select g, 'agent-' || (g % 17) from generate_series("
    "(select coalesce(max(id), 0) + 1 from calls), (select coalesce(max(id), 0) + 500 from calls)) g;"
)
SEED_FILE_BYTES = 2 * 1024 * 1024


class LabBackupError(CcsecError, RuntimeError):
    """A lab host's backup did not succeed (the agent's own one-line error is included)."""


def _sudo(client: paramiko.SSHClient, argv: list[str], timeout: float = 900.0) -> str:
    rc, out, err = run(client, "sudo -n " + shlex.join(argv), timeout=timeout)
    if rc != 0:
        raise LabBackupError(f"`{shlex.join(argv[:3])} ...` failed (exit {rc}): {err.strip()[-400:]}")
    return out


def seed(client: paramiko.SSHClient, role: str) -> str:
    """Write sample data the drill will find: rows in a PostgreSQL table, or a recording file."""
    if role == "db":
        _sudo(client, ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", SEED_SQL])
        return f"{SAMPLE_ROWS} rows appended to table calls"
    name = f"{RECORDINGS_DIR}/call-{int(time.time())}.wav"
    _sudo(client, ["dd", "if=/dev/urandom", f"of={name}", "bs=64k", f"count={SEED_FILE_BYTES // 65536}", "status=none"])
    return f"recording {name} ({SEED_FILE_BYTES} bytes)"


def _latest(client: paramiko.SSHClient, engine: str) -> dict:
    text = _sudo(client, ["cat", f"{STATE_DIR}/manifests/latest-{engine}.json"])
    return json.loads(text)


def backup_now(host: HostState, with_seed: bool, say: Progress, attempts: int = 6) -> dict:
    """Run a differential on ``host`` (after seeding) and return the agent's manifest of it."""
    (engine,) = role_model.role(host.role).backup_engines
    client = connect(host.ssh_host, host.ssh_port, host.user, host.identity_file, host.known_hosts_file, timeout=30)
    try:
        if with_seed:
            say(f"{host.name}: {seed(client, host.role)}")
        since = datetime.fromisoformat(_sudo(client, ["date", "-u", "+%Y-%m-%dT%H:%M:%S+00:00"]).strip())
        for _ in range(attempts):
            # exit 75 (counted as success by the unit) when a timer run holds the lock: then run again
            _sudo(client, ["systemctl", "start", f"ccsec-backup-diff@{engine}.service"])
            manifest = _latest(client, engine)
            started = datetime.fromisoformat(manifest["started_at"].replace("Z", "+00:00"))
            if started >= since:
                if manifest["result"] != "success":
                    raise LabBackupError(f"{host.name}: {engine} backup failed: {manifest.get('error')}")
                say(f"{host.name}: {engine} {manifest['type']} {manifest['snapshot_id']} ok")
                return manifest
            time.sleep(5)
        raise LabBackupError(f"{host.name}: no {engine} backup started after {since.isoformat()}")
    finally:
        client.close()


def backup_lab(lab: LabState, with_seed: bool, say: Progress) -> dict[str, dict]:
    """:func:`backup_now` on every db/recordings host; ``{host name: manifest}``."""
    hosts = [h for h in lab.hosts if h.role in role_model.BACKUP_ROLES]
    if not hosts:
        raise LabBackupError("the lab has no db or recordings host (ccsec lab up --roles db,recordings)")
    # in parallel: the drill's RPO is the oldest engine's, so the hosts' backups should be close in time
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        futures = {h.name: pool.submit(backup_now, h, with_seed, say) for h in hosts}
        return {name: future.result() for name, future in futures.items()}
