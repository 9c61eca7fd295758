"""Failures a backup host meets in production, against the real Swift and a real PostgreSQL 15.

- pgBackRest killed with SIGKILL mid-backup (the whole unit's process tree, as systemd does):
  the repository verifies clean, the next backup works and the data restores byte for byte.
- Swift that hangs (accepts connections, never answers), before or during a run: the run ends
  with one bounded, clear error, leaves no engine process behind and is recorded as failed.
- The host's disk full during a backup: one clear error naming the path, the previous
  manifest kept, the failure visible in the metrics, the next run after freeing space works.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from ccsec.backup import metrics
from ccsec.backup.agent import run_backup
from ccsec.backup.errors import StorageUnavailableError
from ccsec.backup.manifest import latest, sha256_file
from ccsec.backup.probe import PROBE_TIMEOUT_SECONDS
from ccsec.backup.restic import ResticEngine
from ccsec_testbeds.faults import HangingProxy, alive, fill, kill_tree, processes_matching, small_filesystem
from ccsec_testbeds.swift_aio import SwiftAIO

from .conftest import PgSetup, restore_and_query, write_private, write_tree

pytestmark = pytest.mark.swift
REPO_ROOT = Path(__file__).resolve().parents[2]
BIG_CHECKSUM = "select count(*) || ':' || md5(string_agg(v, ',' order by id)) from big"
RUN_TIMEOUT = 10  # agent.timeout_seconds for the hang-mid-run tests (the config's minimum)


def agent(config: Path, *args: str) -> subprocess.Popen[str]:
    """The agent CLI as the systemd unit runs it, in its own session (so the test can kill its tree)."""
    return subprocess.Popen(
        [sys.executable, "-m", "backup", "--config", str(config), *args],
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_new_objects(swift: SwiftAIO, container: str, before: set[str], proc: subprocess.Popen[str]) -> None:
    """Return once the running backup has uploaded two new objects; fail if it ends first."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if len(set(swift.objects(container)) - before) >= 2:
            return
        assert proc.poll() is None, f"the backup ended before the fault could hit it: {proc.stderr.read()}"  # type: ignore[union-attr]
        time.sleep(0.05)
    pytest.fail("no upload observed within 90s")


def with_text(path: Path, old: str, new: str) -> Path:
    """A copy of the config file ``path`` with ``old`` replaced by ``new`` (which must occur)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    out = path.with_name(f"{path.stem}-{abs(hash(new)) % 10**8}{path.suffix}")
    out.write_text(text.replace(old, new))
    return out


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def big(pg: PgSetup) -> Iterator[PgSetup]:
    """~50 MB of incompressible rows, so a full backup runs long enough to be hit mid-way."""
    pg.psql("create table big (id int primary key, v text)")
    row = "||".join(["md5(random()::text)"] * 10)  # 320 hex characters that lz4 cannot shrink
    pg.psql(f"insert into big select g, {row} from generate_series(1, 150000) g")  # noqa: S608 - constant SQL
    pg.psql("checkpoint")
    run_backup(pg.cfg, "postgres", "full")  # the backup the killed run must not damage
    yield pg


def pgbackrest_processes(pg: PgSetup) -> list[int]:
    return processes_matching(f"--config={pg.engine.config_path}")


def test_pgbackrest_killed_mid_backup_then_verify_backup_and_restore(big: PgSetup, swift: SwiftAIO) -> None:
    pg = big
    assert pg.cfg.postgres is not None
    bucket = pg.cfg.postgres.bucket
    labels_before = [b["label"] for b in pg.engine.backups()]
    manifest_before = latest(pg.cfg.agent.state_dir, "postgres")
    before = set(swift.objects(bucket))
    proc = agent(pg.root / "agent.toml", "run", "--engine", "postgres", "--type", "full")
    wait_for_new_objects(swift, bucket, before, proc)
    assert pgbackrest_processes(pg), "pgBackRest was not running when the kill came"
    victims = kill_tree(proc.pid)
    proc.wait(timeout=30)
    time.sleep(0.5)
    assert not alive(victims) and not pgbackrest_processes(pg), "a pgBackRest process outlived the kill"

    # the killed run recorded nothing and listed no backup; the repository verifies clean
    assert [b["label"] for b in pg.engine.backups()] == labels_before
    after_kill = latest(pg.cfg.agent.state_dir, "postgres")
    assert after_kill is not None and manifest_before is not None
    assert after_kill.started_at == manifest_before.started_at
    pg.engine.pgbackrest(["verify"])  # raises (exit != 0) when a file or WAL segment is damaged

    # the next run (same stanza lock, same partial backup directory) works, and restores exactly
    pg.psql("update big set v = md5(v) where id <= 1000")
    live = pg.psql(BIG_CHECKSUM)
    rerun = run_backup(pg.cfg, "postgres", "full")
    assert rerun.result == "success" and rerun.snapshot_id not in labels_before
    pg.engine.pgbackrest(["verify"])
    assert restore_and_query(pg, "restore-after-kill", BIG_CHECKSUM) == live


def test_postgres_backup_against_hung_swift_fails_fast(big: PgSetup) -> None:
    pg = big
    assert pg.cfg.postgres is not None
    with HangingProxy(("127.0.0.1", pg.cfg.postgres.s3_port)) as proxy:
        proxy.hang()
        cfg = replace(pg.cfg, postgres=replace(pg.cfg.postgres, s3_port=proxy.port))
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailableError) as info:
            run_backup(cfg, "postgres", "diff")
        took = time.monotonic() - t0
    pg.engine.write_config()  # back to the real endpoint (archive_command reads the same config)
    assert took < PROBE_TIMEOUT_SECONDS + 10, f"took {took:.0f}s"
    assert "sent no answer" in str(info.value) and f"127.0.0.1:{proxy.port}" in str(info.value)
    failed = latest(pg.cfg.agent.state_dir, "postgres")
    assert failed is not None and failed.result == "failure" and "sent no answer" in (failed.error or "")
    assert not pgbackrest_processes(pg)
    assert run_backup(pg.cfg, "postgres", "diff").result == "success"  # the real Swift: fine again


def test_swift_hanging_mid_postgres_backup_is_bounded_and_leaves_nothing_running(big: PgSetup, swift: SwiftAIO) -> None:
    pg = big
    assert pg.cfg.postgres is not None
    labels_before = [b["label"] for b in pg.engine.backups()]
    with HangingProxy(("127.0.0.1", pg.cfg.postgres.s3_port)) as proxy:
        port = pg.cfg.postgres.s3_port
        config = with_text(pg.root / "agent.toml", f"s3_port = {port}\n", f"s3_port = {proxy.port}\n")
        config = with_text(config, "timeout_seconds = 600\n", f"timeout_seconds = {RUN_TIMEOUT}\n")
        before = set(swift.objects(pg.cfg.postgres.bucket))
        proc = agent(config, "run", "--engine", "postgres", "--type", "full")
        wait_for_new_objects(swift, pg.cfg.postgres.bucket, before, proc)
        proxy.hang()
        hung_at = time.monotonic()
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT + 60)
        took = time.monotonic() - hung_at
    pg.engine.write_config()  # the run wrote the proxy's port into pgbackrest.conf, which archiving shares
    assert proc.returncode == 1, stderr
    assert took <= RUN_TIMEOUT + 30, f"the hung run took {took:.0f}s to end"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "pgbackrest backup timed out" in lines[0] and "Traceback" not in stderr, stderr
    assert not pgbackrest_processes(pg), "pgBackRest (under runuser) outlived the agent's timeout"
    failed = latest(pg.cfg.agent.state_dir, "postgres")
    assert failed is not None and failed.result == "failure"
    # the real endpoint again: the stanza lock is free and the next full works
    assert [b["label"] for b in pg.engine.backups()] == labels_before
    assert run_backup(pg.cfg, "postgres", "diff").result == "success"
    pg.engine.pgbackrest(["verify"])


def test_postgres_state_disk_full_is_one_clear_error_then_recovers(big: PgSetup) -> None:
    pg = big
    state = pg.cfg.agent.state_dir  # pgBackRest's config, logs, locks and spool; the manifests
    labels_before = [b["label"] for b in pg.engine.backups()]
    manifest_before = latest(state, "postgres")
    with full_copy_of(state):
        proc = agent(pg.root / "agent.toml", "run", "--engine", "postgres")
        _, stderr = proc.communicate(timeout=120)
        kept = latest(state, "postgres")
    assert proc.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "no space left on device" in lines[0] and str(state) in lines[0], stderr
    assert kept is not None and manifest_before is not None and kept.started_at == manifest_before.started_at
    assert not pgbackrest_processes(pg)
    assert [b["label"] for b in pg.engine.backups()] == labels_before
    assert run_backup(pg.cfg, "postgres", "diff").result == "success"


# ---------------------------------------------------------------------------- files (restic)


def files_via(s, proxy: HangingProxy, swift: SwiftAIO, timeout: int | None = None) -> Path:
    """The files setup's config, with Swift reached through ``proxy`` (own credentials file)."""
    creds = swift.credentials()
    env = write_private(
        s.workdir / "secrets" / "swift-proxy.env",
        f"ST_AUTH=https://127.0.0.1:{proxy.port}/auth/v1.0\nST_USER={creds.user}\nST_KEY={creds.key}\n",
    )
    old = f'credentials_file = "{s.workdir / "secrets" / "swift.env"}"'
    config = with_text(s.config_path, old, f'credentials_file = "{env}"')
    if timeout is not None:
        config = with_text(config, "timeout_seconds = 600\n", f"timeout_seconds = {timeout}\n")
    return config


def test_files_backup_against_hung_swift_fails_fast(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=3)
    with HangingProxy(("127.0.0.1", swift.ports.proxy)) as proxy:
        proxy.hang()
        config = files_via(s, proxy, swift)
        t0 = time.monotonic()
        proc = agent(config, "run", "--engine", "files")
        _, stderr = proc.communicate(timeout=PROBE_TIMEOUT_SECONDS + 60)
        took = time.monotonic() - t0
    assert proc.returncode == 1 and took < PROBE_TIMEOUT_SECONDS + 10, (took, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Swift auth endpoint" in lines[0] and "sent no answer" in lines[0], stderr
    assert not processes_matching(s.container)
    prom = metrics.parse_textfile(s.cfg.agent.metrics_dir / "ccsec_backup_files.prom")
    assert prom['ccsec_backup_last_result{engine="files",host="rec-01"}'] == 0


def test_swift_hanging_mid_files_backup_is_bounded_then_recovers(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=2)
    engine = ResticEngine(s.cfg.agent, s.cfg.files, s.cfg.swift)  # type: ignore[arg-type]
    first = run_backup(s.cfg, "files", "full")
    big_dir = s.data / "big"
    big_dir.mkdir()
    for i in range(10):
        (big_dir / f"blob{i}.bin").write_bytes(__import__("os").urandom(8 << 20))
    with HangingProxy(("127.0.0.1", swift.ports.proxy)) as proxy:
        config = files_via(s, proxy, swift, timeout=RUN_TIMEOUT)
        before = set(swift.objects(s.container))
        proc = agent(config, "run", "--engine", "files", "--type", "full")
        wait_for_new_objects(swift, s.container, before, proc)
        proxy.hang()
        hung_at = time.monotonic()
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT + 60)
        took = time.monotonic() - hung_at
    assert proc.returncode == 1 and took <= RUN_TIMEOUT + 30, (took, stderr)
    assert "restic backup timed out" in stderr and "Traceback" not in stderr, stderr
    assert not processes_matching(s.container), "restic outlived the agent's timeout"
    assert [x.id for x in engine.snapshots()] == [first.snapshot_id]
    rerun = run_backup(s.cfg, "files", "full")
    assert rerun.result == "success"
    engine.check("100%")
    target = s.workdir / "restore"
    engine.restore(rerun.snapshot_id, target)
    for path, entry in rerun.files.items():
        assert sha256_file(Path(str(target) + path)) == entry["sha256"]


def test_files_state_disk_full_before_the_run_is_one_clear_error_keeps_last_manifest(files_setup) -> None:
    s = files_setup(files=40, size=20000)
    ok = run_backup(s.cfg, "files", "full")
    state = s.cfg.agent.state_dir
    with full_copy_of(state):
        proc = agent(s.config_path, "run", "--engine", "files", "--type", "diff")
        _, stderr = proc.communicate(timeout=120)
        kept = latest(state, "files")
    assert proc.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "no space left on device" in lines[0] and str(state) in lines[0], stderr
    assert kept is not None and kept.started_at == ok.started_at  # nothing half-written
    assert not processes_matching(s.container)  # no engine was started
    prom = metrics.parse_textfile(s.cfg.agent.metrics_dir / "ccsec_backup_files.prom")
    assert prom['ccsec_backup_last_result{engine="files",host="rec-01"}'] == 0
    assert run_backup(s.cfg, "files", "diff").result == "success"  # the real state directory again


def test_files_state_disk_filling_during_the_run_is_bounded_and_named(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=300, size=3000)
    run_backup(s.cfg, "files", "full")
    write_tree(s.data, 300, 3000, seed="new")
    state = s.cfg.agent.state_dir
    config = with_text(s.config_path, "timeout_seconds = 600\n", f"timeout_seconds = {RUN_TIMEOUT}\nmin_free_mib = 1\n")
    with full_copy_of(state, fill_now=False):
        proc = agent(config, "run", "--engine", "files", "--type", "diff")
        deadline = time.monotonic() + 60
        while not any("backup" in cmd for cmd in restic_commands(s.container)):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.02)
        fill(state)  # the disk fills while restic is backing up
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT + 60)
    assert proc.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "no space left on device" in lines[0].lower() and str(state) in lines[0], stderr
    assert not processes_matching(s.container), "restic outlived the run"
    recovered = run_backup(s.cfg, "files", "diff")
    assert recovered.result == "success"
    ResticEngine(s.cfg.agent, s.cfg.files, s.cfg.swift).check("100%")  # type: ignore[arg-type]


@contextmanager
def full_copy_of(state: Path, fill_now: bool = True) -> Iterator[None]:
    """Put ``state``'s contents on a 4 MiB tmpfs mounted over it, filled up unless ``fill_now`` is false.

    On exit the tmpfs goes away and the untouched original directory is back under the same path.
    """
    saved = state.with_name(state.name + "-saved")
    subprocess.run(["cp", "-a", str(state), str(saved)], check=True)
    try:
        with small_filesystem(state, 4096):
            subprocess.run(["cp", "-a", f"{saved}/.", str(state)], check=True)
            if fill_now:
                fill(state)
            yield
    finally:
        shutil.rmtree(saved, ignore_errors=True)


def restic_commands(container: str) -> list[str]:
    """Command lines of the restic processes working on ``container``."""
    out = []
    for pid in processes_matching(container):
        try:
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return out
