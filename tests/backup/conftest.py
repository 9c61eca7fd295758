"""Fixtures for the backup tests: a REAL all-in-one Swift and a REAL PostgreSQL 15 cluster.

Both are started by the fixtures themselves and stopped afterwards. If either cannot start,
the fixture raises (the tests error out loudly); nothing here ever skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ccsec.backup import config as config_mod
from ccsec.backup.config import BackupConfig
from ccsec.backup.pgbackrest import PgBackRestEngine
from ccsec_testbeds import swift_aio
from ccsec_testbeds.swift_aio import SwiftAIO, free_ports

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _scratch(prefix: str) -> Path:
    """A fresh directory under /var/tmp that users swift/postgres can traverse."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def swift() -> Iterator[SwiftAIO]:
    """The all-in-one Swift (own base dir and free ports), started for the session."""
    if os.geteuid() != 0:
        pytest.fail("backup tests need root: the all-in-one Swift drops privileges to user 'swift'")
    with swift_aio.temporary() as aio:  # raises SwiftAIOError with the server log tail if it cannot start
        yield aio


def write_private(path: Path, text: str) -> Path:
    """Write a 0600 file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


def write_tree(root: Path, files: int, size: int, seed: str = "") -> None:
    """``files`` random files of ``size`` bytes in a few subdirectories."""
    for i in range(files):
        path = root / f"d{i % 7}" / f"{seed}f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


@dataclass
class FilesSetup:
    """Everything a files-engine test needs."""

    cfg: BackupConfig
    config_path: Path
    data: Path
    container: str
    workdir: Path


@pytest.fixture
def files_setup(swift: SwiftAIO, tmp_path: Path) -> Callable[..., FilesSetup]:
    """Factory: a fresh restic repository (own container) + agent config + a small data set."""

    def make(files: int = 20, size: int = 4096, offsite: bool = False, host: str = "rec-01") -> FilesSetup:
        container = f"files-{uuid.uuid4().hex[:10]}"
        creds = swift.credentials()
        secrets_dir = tmp_path / "secrets"
        swift_env = write_private(
            secrets_dir / "swift.env", f"ST_AUTH={creds.auth_url}\nST_USER={creds.user}\nST_KEY={creds.key}\n"
        )
        password = write_private(secrets_dir / "restic.pass", secrets.token_urlsafe(24) + "\n")
        off_password = write_private(secrets_dir / "restic-offsite.pass", secrets.token_urlsafe(24) + "\n")
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        write_tree(data, files, size)
        offsite_lines = (
            f'offsite_repository = "swift:{container}-offsite:/{host}"\noffsite_password_file = "{off_password}"\n'
            if offsite
            else ""
        )
        text = (
            "[agent]\n"
            f'host = "{host}"\nstate_dir = "{tmp_path / "state"}"\nmetrics_dir = "{tmp_path / "metrics"}"\n'
            'check_subset = "100%"\ntimeout_seconds = 600\n\n'
            f'[swift]\ncredentials_file = "{swift_env}"\nca_file = "{swift.ca_file}"\n\n'
            f'[files]\nrepository = "swift:{container}:/{host}"\npassword_file = "{password}"\n'
            f'paths = ["{data}"]\n' + offsite_lines
        )
        config_path = tmp_path / "agent.toml"
        config_path.write_text(text)
        return FilesSetup(config_mod.load(config_path), config_path, data, container, tmp_path)

    return make


@dataclass
class PgSetup:
    """A running throwaway PostgreSQL 15 cluster archiving WAL with pgBackRest to Swift."""

    cfg: BackupConfig
    engine: PgBackRestEngine
    root: Path
    port: int
    logs: Path
    socket_dir: Path

    def psql(self, sql: str, port: int | None = None) -> str:
        """Run SQL as user postgres over the cluster's unix socket; return tuples-only output."""
        res = subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(port or self.port),
                "-d",
                "postgres",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
        )
        if res.returncode != 0:
            raise AssertionError(f"psql failed: {res.stderr}")
        return res.stdout.strip()


def restore_and_query(pg: PgSetup, name: str, query: str, set_label: str | None = None) -> str:
    """Restore ``set_label`` (default: the latest backup) into a fresh data dir under ``pg.root``, start it
    on a new port with its own log, return ``query``'s result there, stop it."""
    target = pg.root / name
    pg.engine.restore(target, set_label=set_label)
    port = free_ports(1)[0]
    log = pg.logs / f"{name}.log"
    pg_ctl(target, "start", log, f"-p {port} -c unix_socket_directories='{pg.socket_dir}' -c listen_addresses=''")
    try:
        return pg.psql(query, port=port)
    finally:
        pg_ctl(target, "stop", log)


def pg_ctl(datadir: Path, action: str, logfile: Path, options: str = "") -> None:
    """Run pg_ctl as postgres; fail loudly with the server log on error."""
    argv = [
        "runuser",
        "-u",
        "postgres",
        "--",
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(datadir),
        "-l",
        str(logfile),
        "-w",
        "-t",
        "60",
    ]
    if options:
        argv += ["-o", options]
    argv += [action] if action != "stop" else ["-m", "fast", "stop"]
    res = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
    if res.returncode != 0:
        log = logfile.read_text() if logfile.exists() else ""
        raise RuntimeError(f"pg_ctl {action} failed: {res.stdout}{res.stderr}\n{log[-2000:]}")


@pytest.fixture(scope="module")
def pg(swift: SwiftAIO) -> Iterator[PgSetup]:
    """A fresh PostgreSQL 15 cluster (initdb in /var/tmp, own port) with WAL archiving to Swift."""
    root = _scratch("ccsec-pg-")
    port = free_ports(1)[0]
    bucket = f"pg-{uuid.uuid4().hex[:10]}"
    swift.ensure_container(bucket)
    creds = swift.credentials()
    secrets_dir = root / "secrets"
    secrets_dir.mkdir(mode=0o700)
    s3_env = write_private(
        secrets_dir / "s3.env", f"AWS_ACCESS_KEY_ID={creds.user}\nAWS_SECRET_ACCESS_KEY={creds.key}\n"
    )
    cipher = write_private(secrets_dir / "pgbackrest.pass", secrets.token_urlsafe(32) + "\n")
    datadir, sock, logs = root / "data", root / "sock", root / "logs"
    for d in (datadir, sock, logs):
        d.mkdir()
        shutil.chown(d, "postgres", "postgres")
    datadir.chmod(0o700)
    text = (
        "[agent]\n"
        f'host = "db-01"\nstate_dir = "{root / "state"}"\nmetrics_dir = "{root / "metrics"}"\n'
        "timeout_seconds = 600\n\n"
        "[postgres]\n"
        f'stanza = "main"\npg_path = "{datadir}"\npg_port = {port}\npg_socket_path = "{sock}"\n'
        f's3_endpoint = "127.0.0.1"\ns3_port = {swift.ports.proxy}\nbucket = "{bucket}"\nrepo_path = "/db-01"\n'
        f's3_credentials_file = "{s3_env}"\ncipher_pass_file = "{cipher}"\nca_file = "{swift.ca_file}"\n'
    )
    (root / "agent.toml").write_text(text)
    cfg = config_mod.load(root / "agent.toml")
    assert cfg.postgres is not None
    engine = PgBackRestEngine(cfg.agent, cfg.postgres)
    engine.write_config()
    res = subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(datadir), "-A", "peer", "--no-sync"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    if res.returncode != 0:
        raise RuntimeError(f"initdb failed: {res.stderr}")
    with open(datadir / "postgresql.conf", "a") as conf:
        conf.write(
            f"port = {port}\nunix_socket_directories = '{sock}'\nlisten_addresses = ''\n"
            f"wal_level = replica\narchive_mode = on\narchive_command = '{engine.archive_command()}'\n"
            "max_wal_senders = 3\nfsync = off\n"
        )
    logfile = logs / "postgres.log"
    try:
        pg_ctl(datadir, "start", logfile)
        yield PgSetup(cfg, engine, root, port, logs, sock)
    finally:
        try:
            if (datadir / "postmaster.pid").exists():
                pg_ctl(datadir, "stop", logfile)
        finally:
            shutil.rmtree(root, ignore_errors=True)
