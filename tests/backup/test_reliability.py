"""Reliability of the agent against the real Swift: kill -9, wrong key, Swift down, overlap, corruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccsec.backup import metrics
from ccsec.backup.agent import engine_for, run_backup
from ccsec.backup.errors import BackupError, RepositoryPasswordError, RunInProgressError, StorageUnavailableError
from ccsec.backup.lock import run_lock
from ccsec.backup.manifest import latest, sha256_file
from ccsec.backup.restic import ResticEngine
from ccsec.backup.secrets import SecretFileError
from ccsec_testbeds.faults import kill_tree, processes_matching
from ccsec_testbeds.swift_aio import SwiftAIO

pytestmark = pytest.mark.swift
REPO_ROOT = Path(__file__).resolve().parents[2]
LABELS = 'engine="files",host="rec-01"'


def restic_of(setup) -> ResticEngine:
    engine = engine_for(setup.cfg, "files")
    assert isinstance(engine, ResticEngine)
    return engine


def agent_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "backup", "--config", str(config), *args]


def test_kill_9_mid_backup_then_rerun_is_clean(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=10, size=4096)
    first = run_backup(s.cfg, "files", "full")
    engine = restic_of(s)
    # a much bigger second data set so the next full is still uploading when we kill it
    big = s.data / "big"
    big.mkdir()
    for i in range(24):  # ~12 restic packs: the kill below lands after the first, long before the snapshot
        (big / f"blob{i}.bin").write_bytes(os.urandom(8 << 20))
    proc = subprocess.Popen(
        agent_cmd(s.config_path, "run", "--engine", "files", "--type", "full"),
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # wait until restic is running and has uploaded one new data pack (not its lock object), then kill the
    # whole group. Waiting for two objects of any kind let the last packs and the snapshot finish first once
    # (CI run 33, 2026-12-04: the killed run had made its snapshot).
    before = set(swift.objects(s.container))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any("/data/" in name for name in set(swift.objects(s.container)) - before):
            break
        assert proc.poll() is None, "the backup finished before it could be killed; enlarge the data"
        time.sleep(0.05)
    else:
        pytest.fail("no upload observed within 60s")
    victims = kill_tree(proc.pid)  # what systemd's cgroup kill does: restic runs in its own process group
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(victims) >= 2, "restic was not running under the agent"
    assert not processes_matching(s.container), "a restic process outlived the kill"
    assert [x.id for x in engine.snapshots()] == [first.snapshot_id]  # the killed run made no snapshot

    # rerun: stale restic lock and the agent's flock do not block it
    rerun = run_backup(s.cfg, "files", "diff")
    assert rerun.result == "success" and rerun.type == "diff"
    engine.check("100%")  # raises if the repository is damaged
    ids = [x.id for x in engine.snapshots()]
    assert ids == [first.snapshot_id, rerun.snapshot_id]
    target = s.workdir / "restore-first"
    engine.restore(first.snapshot_id, target)
    for path, entry in first.files.items():
        assert sha256_file(Path(str(target) + path)) == entry["sha256"]


def test_wrong_password_gives_one_clear_error(files_setup) -> None:
    s = files_setup(files=3)
    run_backup(s.cfg, "files", "full")
    assert s.cfg.files is not None
    s.cfg.files.password_file.write_text("not-the-password\n")
    with pytest.raises(RepositoryPasswordError) as info:
        run_backup(s.cfg, "files", "diff")
    assert "wrong password" in str(info.value)
    assert "not-the-password" not in str(info.value)
    res = subprocess.run(
        agent_cmd(s.config_path, "run", "--engine", "files"), cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert res.returncode == 1
    err_lines = res.stderr.strip().splitlines()
    assert len(err_lines) == 1 and "wrong password" in err_lines[0]
    assert "Traceback" not in res.stderr and "not-the-password" not in res.stderr + res.stdout
    failed = latest(s.cfg.agent.state_dir, "files")
    assert failed is not None and failed.result == "failure" and "wrong password" in (failed.error or "")


def test_swift_down_fails_clearly_metric_shows_it_next_run_recovers(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=5)
    ok = run_backup(s.cfg, "files", "full")
    prom_path = s.cfg.agent.metrics_dir / "ccsec_backup_files.prom"
    success_key = f'ccsec_backup_last_success_timestamp_seconds{{{LABELS},type="full"}}'
    success_ts = metrics.parse_textfile(prom_path)[success_key]
    swift.stop(("proxy",))
    try:
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailableError) as info:
            run_backup(s.cfg, "files", "diff")
        assert time.monotonic() - t0 < 120
        assert "unavailable" in str(info.value)
        prom = metrics.parse_textfile(prom_path)
        assert prom[f"ccsec_backup_last_result{{{LABELS}}}"] == 0
        assert prom[f'ccsec_backup_runs_total{{{LABELS},result="failure"}}'] == 1
        # the last success time is kept, so alerting on its age works
        assert prom[f'ccsec_backup_last_success_timestamp_seconds{{{LABELS},type="full"}}'] == success_ts
    finally:
        swift.start(("proxy",))
    (s.data / "after.txt").write_text("after outage")
    recovered = run_backup(s.cfg, "files", "diff")
    assert recovered.result == "success" and recovered.parent_id == ok.snapshot_id
    prom = metrics.parse_textfile(prom_path)
    assert prom[f"ccsec_backup_last_result{{{LABELS}}}"] == 1
    assert prom[f'ccsec_backup_last_success_timestamp_seconds{{{LABELS},type="diff"}}'] > success_ts


def test_runs_never_overlap(files_setup) -> None:
    s = files_setup(files=3)
    lock = s.cfg.agent.state_dir / "locks" / "files.lock"
    with run_lock(lock):
        with pytest.raises(RunInProgressError):
            run_backup(s.cfg, "files", "full")
        res = subprocess.run(
            agent_cmd(s.config_path, "run", "--engine", "files"),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 75 and "another backup run" in res.stderr
    # nothing ran while the lock was held: no repository, no manifest, no metrics
    assert latest(s.cfg.agent.state_dir, "files") is None
    assert not (s.cfg.agent.metrics_dir / "ccsec_backup_files.prom").exists()
    assert run_backup(s.cfg, "files", "full").result == "success"


def test_corrupted_object_is_detected_by_check(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=6, size=50000)
    run_backup(s.cfg, "files", "full")
    engine = restic_of(s)
    engine.check("100%")
    packs = swift.object_files(s.container, "rec-01/data/")
    assert packs, "no data packs found on the Swift device"
    victim = next(iter(packs.values()))
    with open(victim, "r+b") as fh:  # flip bytes in the middle, same length (bit rot)
        fh.seek(os.path.getsize(victim) // 2)
        chunk = fh.read(16)
        fh.seek(-len(chunk), os.SEEK_CUR)
        fh.write(bytes(b ^ 0xFF for b in chunk))
    with pytest.raises(BackupError) as info:
        engine.check("100%")
    assert "check found problems" in str(info.value)


def test_secret_file_with_loose_permissions_is_rejected(files_setup) -> None:
    s = files_setup(files=2)
    assert s.cfg.files is not None
    s.cfg.files.password_file.chmod(0o644)
    with pytest.raises(SecretFileError) as info:
        run_backup(s.cfg, "files", "full")
    assert str(s.cfg.files.password_file) in str(info.value) and "0644" in str(info.value)


def test_secrets_never_on_argv(files_setup, monkeypatch: pytest.MonkeyPatch) -> None:
    import ccsec.backup.restic as restic_mod

    s = files_setup(files=2)
    seen: list[tuple[list[str], dict[str, str]]] = []
    real_run = restic_mod.run

    def spy(argv, env, timeout, secrets=(), **kw):
        seen.append((list(argv), dict(env)))
        return real_run(argv, env, timeout, secrets, **kw)

    monkeypatch.setattr(restic_mod, "run", spy)
    run_backup(s.cfg, "files", "full")
    assert s.cfg.swift is not None and s.cfg.files is not None
    password = s.cfg.files.password_file.read_text().strip()
    key = next(
        line.split("=", 1)[1]
        for line in s.cfg.swift.credentials_file.read_text().splitlines()
        if line.startswith("ST_KEY=")
    )
    assert seen
    for argv, env in seen:
        joined = " ".join(argv)
        assert password not in joined and key not in joined
        assert "RESTIC_PASSWORD" not in env and env["RESTIC_PASSWORD_FILE"] == str(s.cfg.files.password_file)
