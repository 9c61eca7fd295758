"""DR drill against the REAL Swift (restic + pgBackRest over s3api) and a REAL PostgreSQL 15 cluster."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ccsec import drill as drill_cli
from ccsec.backup import config as config_mod
from ccsec.backup.agent import run_backup
from ccsec.backup.config import BackupConfig
from ccsec.backup.drill import drill
from ccsec.backup.drill_files import verify_tree
from ccsec.backup.manifest import Manifest, iso, sha256_file, utcnow
from ccsec_testbeds.swift_aio import SwiftAIO

from .conftest import PgSetup, write_private, write_tree

pytestmark = pytest.mark.swift


@dataclass
class Drilled:
    """One host with both engines: a full and a differential of each, and a time between them."""

    cfg: BackupConfig
    config_path: Path
    data: Path
    container: str
    pg: PgSetup
    files_full: Manifest
    files_diff: Manifest
    pg_full: Manifest
    pg_diff: Manifest
    between: datetime
    workdir: Path


@pytest.fixture(scope="module")
def drilled(swift: SwiftAIO, pg: PgSetup, tmp_path_factory: pytest.TempPathFactory) -> Drilled:
    """Agent config with [files] and [postgres]; full then diff of both engines."""
    work = tmp_path_factory.mktemp("drill")
    container = f"drill-{uuid.uuid4().hex[:10]}"
    creds = swift.credentials()
    swift_env = write_private(
        work / "secrets" / "swift.env", f"ST_AUTH={creds.auth_url}\nST_USER={creds.user}\nST_KEY={creds.key}\n"
    )
    password = write_private(work / "secrets" / "restic.pass", secrets.token_urlsafe(24) + "\n")
    data = work / "data"
    write_tree(data, 12, 3000)
    pg_section = (pg.root / "agent.toml").read_text().split("[postgres]", 1)[1]
    text = (
        f'[agent]\nhost = "db-01"\nstate_dir = "{pg.root / "state"}"\nmetrics_dir = "{work / "metrics"}"\n'
        "timeout_seconds = 600\n\n"
        f'[swift]\ncredentials_file = "{swift_env}"\nca_file = "{swift.ca_file}"\n\n'
        f'[files]\nrepository = "swift:{container}:/db-01"\npassword_file = "{password}"\npaths = ["{data}"]\n\n'
        f"[postgres]{pg_section}"
    )
    config_path = work / "agent.toml"
    config_path.write_text(text)
    cfg = config_mod.load(config_path)

    pg.psql("create table calls (id int primary key, agent text, note text)")
    pg.psql("insert into calls select g, 'agent' || (g % 7), md5(g::text) from generate_series(1, 800) g")
    pg.psql('create table "Queue Stats" (q text, n int)')
    pg.psql("insert into \"Queue Stats\" values ('sales', 1), ('support', 2)")
    files_full = run_backup(cfg, "files", "full")
    pg_full = run_backup(cfg, "postgres", "full")
    between = utcnow()
    (data / "d0" / "f00000.bin").write_bytes(b"changed after the full")
    (data / "new-recording.wav").write_bytes(os.urandom(5000))
    pg.psql("insert into calls select g, 'late', 'x' from generate_series(801, 1000) g")
    pg.psql('update "Queue Stats" set n = n + 10')
    files_diff = run_backup(cfg, "files", "diff")
    pg_diff = run_backup(cfg, "postgres", "diff")
    assert (files_full.type, files_diff.type, pg_full.type, pg_diff.type) == ("full", "diff", "full", "diff")
    assert "verify_reference" in pg_diff.extra, pg_diff.extra.get("verify_reference_error")
    return Drilled(cfg, config_path, data, container, pg, files_full, files_diff, pg_full, pg_diff, between, work)


def test_drill_after_full_and_diff_verifies_files_and_db(drilled: Drilled, capsys: pytest.CaptureFixture) -> None:
    pg = drilled.pg
    pg.psql("insert into calls values (5000, 'after', 'every backup')")  # not in any backup
    out = drilled.workdir / "reports"
    code = drill_cli.main(["--config", str(drilled.config_path), "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    doc = json.loads(captured.out)
    assert doc["verified"] and doc["rpo_ok"] and doc["exit_code"] == 0
    by_engine = {e["engine"]: e for e in doc["engines"]}
    assert by_engine["files"]["point_id"] == drilled.files_diff.snapshot_id
    assert by_engine["files"]["checked"] == len(drilled.files_diff.files) == 13
    assert by_engine["postgres"]["point_id"] == drilled.pg_diff.snapshot_id
    assert by_engine["postgres"]["checked"] == 2
    assert by_engine["postgres"]["details"]["rows_total"] == 1002
    assert by_engine["postgres"]["details"]["amcheck"]["ok"] is True
    assert 0 <= doc["rpo_seconds"] < 300 and doc["rto_seconds"] > 0
    assert all(0 <= e["rpo_seconds"] <= doc["rpo_seconds"] for e in doc["engines"])
    md = next(out.glob("drill-*.md")).read_text()
    assert "PASS" in md and "RPO achieved" in md and "RTO" in md
    assert "postgres consistency (pg_amcheck: heap and every btree index): ok" in md
    assert json.loads(next(out.glob("drill-*.json")).read_text())["exit_code"] == 0
    # the scratch cluster is gone and nothing was left under the scratch parent
    assert not list(Path("/var/tmp").glob("ccsec-drill-*/postgres/data"))
    assert drilled.cfg.files is not None
    assert drilled.cfg.files.password_file.read_text().strip() not in captured.out + md


def test_drill_at_a_time_before_the_diff_restores_the_earlier_state(drilled: Drilled) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="ccsec-test-drill-", dir="/var/tmp"))  # postgres must traverse it
    scratch.chmod(0o711)
    try:
        report = drill(drilled.cfg, at=drilled.between, target_dir=scratch)
        assert list(scratch.iterdir()) == []  # scratch removed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert report.exit_code == 0, report.to_markdown()
    by_engine = {e.engine: e for e in report.engines}
    assert by_engine["files"].point_id == drilled.files_full.snapshot_id
    assert by_engine["files"].checked == 12  # the new recording came later
    assert by_engine["postgres"].point_id == drilled.pg_full.snapshot_id
    assert by_engine["postgres"].details["rows_total"] == 802  # 800 calls + 2 queue rows, before the diff
    assert report.at == iso(drilled.between)


def test_scratch_the_postgres_user_cannot_reach_is_a_clear_error(drilled: Drilled, tmp_path: Path, capsys) -> None:
    code = drill_cli.main(["--config", str(drilled.config_path), "--engine", "postgres", "--scratch", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "not traversable by user postgres" in err and err.count("\n") == 1


def test_old_newest_backup_reports_rpo_over_five_minutes(drilled: Drilled, capsys: pytest.CaptureFixture) -> None:
    later = iso(utcnow() + timedelta(minutes=10))
    code = drill_cli.main(["--config", str(drilled.config_path), "--engine", "files", "--json", "--now", later])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["verified"] is True and doc["rpo_ok"] is False and doc["rpo_seconds"] > 300


def test_corrupted_pack_makes_the_drill_fail_naming_files(files_setup, swift: SwiftAIO, capsys) -> None:
    s = files_setup(files=6, size=50000)
    run_backup(s.cfg, "files", "full")
    packs = swift.object_files(s.container, "rec-01/data/")
    victim = max(packs.values(), key=lambda p: p.stat().st_size)  # the file data, not the tiny manifest/tree packs
    with open(victim, "r+b") as fh:
        fh.seek(os.path.getsize(victim) // 2)
        chunk = fh.read(16)
        fh.seek(-len(chunk), os.SEEK_CUR)
        fh.write(bytes(b ^ 0xFF for b in chunk))
    code = drill_cli.main(["--config", str(s.config_path), "--engine", "files", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verified"] is False
    problems = doc["engines"][0]["problems"]
    assert any(p.startswith(str(s.data)) for p in problems), problems


def test_no_backup_or_bad_config_cannot_run(files_setup, tmp_path: Path, capsys) -> None:
    s = files_setup(files=2)
    code = drill_cli.main(["--config", str(s.config_path), "--engine", "files"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "drill could not run" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent]\nhost = 'x y'\n")
    assert drill_cli.main(["--config", str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_verify_tree_names_missing_extra_and_different_files(tmp_path: Path) -> None:
    root = tmp_path / "restored"
    (root / "srv").mkdir(parents=True)
    for name, content in (("same", b"a"), ("changed", b"b"), ("extra", b"c"), ("racy", b"dd")):
        (root / "srv" / name).write_bytes(content)
    same = sha256_file(root / "srv" / "same")
    expected = {
        "/srv/same": {"size": 1, "sha256": same},
        "/srv/changed": {"size": 1, "sha256": same},
        "/srv/gone": {"size": 1, "sha256": same},
        "/srv/racy": {"size": 2, "sha256": None, "changed_during_backup": True},
    }
    checked, problems, notes = verify_tree(root, expected)
    assert checked == 5
    assert problems == [
        "/srv/changed: sha256 differs from the manifest",
        "/srv/extra: extra file, not in the manifest",
        "/srv/gone: missing from the restore",
    ]
    assert notes == ["/srv/racy: changed during the backup, no reference sha256 (size matches)"]


def test_swift_unreachable_cannot_run(drilled: Drilled, swift: SwiftAIO, capsys) -> None:
    swift.stop(("proxy",))
    try:
        code = drill_cli.main(["--config", str(drilled.config_path)])
    finally:
        deadline = time.monotonic() + 30  # the proxy's forked worker may hold the port a moment longer
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", swift.ports.proxy)) != 0:
                    break
            time.sleep(0.2)
        swift.start(("proxy",))
    err = capsys.readouterr().err
    assert code == 2 and "unavailable" in err and err.count("\n") == 1, err


# ---- an empty or missing reference is a failure, never "verified" ---------------------------------------------


def test_a_snapshot_of_zero_files_fails_the_drill(files_setup, capsys) -> None:
    s = files_setup(files=0)
    run_backup(s.cfg, "files", "full")
    code = drill_cli.main(["--config", str(s.config_path), "--engine", "files", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verified"] is False and doc["exit_code"] == 1
    engine = doc["engines"][0]
    assert engine["checked"] == 0 and engine["verified"] is False
    assert any("zero files" in p for p in engine["problems"]), engine["problems"]


@pytest.mark.parametrize(
    ("manifest", "complaint"),
    [
        (lambda doc: {k: v for k, v in doc.items() if k != "files"}, "missing reference"),
        (lambda doc: {**doc, "files": None}, "missing reference"),
        (lambda doc: {**doc, "files": ["not", "a", "map"]}, "missing reference"),
        (lambda doc: {**doc, "files": {}}, "extra file, not in the manifest"),
    ],
    ids=["no-files-key", "files-null", "files-list", "files-empty"],
)
def test_a_manifest_without_its_file_list_fails_the_drill(
    files_setup, capsys, monkeypatch: pytest.MonkeyPatch, manifest, complaint: str
) -> None:
    from ccsec.backup.restic import ResticEngine

    s = files_setup(files=3)
    run_backup(s.cfg, "files", "full")
    real = ResticEngine.load_manifest
    monkeypatch.setattr(ResticEngine, "load_manifest", lambda self, snap: manifest(real(self, snap)))
    code = drill_cli.main(["--config", str(s.config_path), "--engine", "files", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verified"] is False
    assert any(complaint in p for p in doc["engines"][0]["problems"]), doc["engines"][0]["problems"]


def test_a_snapshot_without_a_stored_manifest_cannot_be_verified(files_setup, capsys) -> None:
    s = files_setup(files=2)
    run_backup(s.cfg, "files", "full")
    engine = __import__("ccsec.backup.agent", fromlist=["engine_for"]).engine_for(s.cfg, "files")
    for snap in engine.snapshots(manifests=True):
        if snap.kind == "manifest":
            engine.restic(["forget", snap.id])
    code = drill_cli.main(["--config", str(s.config_path), "--engine", "files", "--json"])
    captured = capsys.readouterr()
    assert code == 2 and "stored manifest" in captured.err and '"verified": true' not in captured.out


@pytest.mark.parametrize(
    ("reference", "complaint"),
    [
        (lambda r: {k: v for k, v in r.items() if k != "tables"}, "no table list"),
        (lambda r: {**r, "tables": {}}, "zero tables"),
        (lambda r: {**r, "tables": None}, "no table list"),
        (lambda r: {**r, "tables": {"calls": {"md5": "x"}}}, "without row counts"),
        (lambda r: {k: v for k, v in r.items() if k != "database"}, "names no database"),
    ],
    ids=["no-tables", "zero-tables", "tables-null", "no-rows", "no-database"],
)
def test_a_postgres_reference_that_verifies_nothing_fails_the_drill(
    drilled: Drilled, capsys, monkeypatch: pytest.MonkeyPatch, reference, complaint: str
) -> None:
    from ccsec.backup.pgbackrest import PgBackRestEngine

    real = PgBackRestEngine.references
    monkeypatch.setattr(PgBackRestEngine, "references", lambda self: [(b, reference(r)) for b, r in real(self)])
    code = drill_cli.main(["--config", str(drilled.config_path), "--engine", "postgres", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verified"] is False
    engine = doc["engines"][0]
    assert engine["verified"] is False and any(complaint in p for p in engine["problems"]), engine["problems"]


def test_zero_rows_verified_fails_the_drill(drilled: Drilled, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table empty in the reference and in the restore: they match, and still nothing was proven."""
    from ccsec.backup import drill_pg
    from ccsec.backup.pgbackrest import PgBackRestEngine

    empty = {"rows": 0, "md5": "d41d8cd98f00b204e9800998ecf8427e"}
    real = PgBackRestEngine.references
    monkeypatch.setattr(
        PgBackRestEngine,
        "references",
        lambda self: [(b, {**r, "tables": {t: dict(empty) for t in r["tables"]}}) for b, r in real(self)],
    )
    real_checksums = drill_pg.pgverify.table_checksums
    monkeypatch.setattr(
        drill_pg.pgverify,
        "table_checksums",
        lambda psql, db, tables=None: {t: dict(empty) for t in real_checksums(psql, db, tables)},
    )
    code = drill_cli.main(["--config", str(drilled.config_path), "--engine", "postgres", "--json"])
    doc = json.loads(capsys.readouterr().out)
    engine = doc["engines"][0]
    assert code == 1 and doc["verified"] is False and engine["checked"] >= 2
    assert any("zero rows verified" in p for p in engine["problems"]), engine["problems"]


def test_an_index_that_disagrees_with_its_table_fails_the_drill_though_every_row_matches(
    drilled: Drilled, capsys
) -> None:
    """Row checksums scan tables and never read an index; PostgreSQL's own checks must catch the rest."""
    pg = drilled.pg
    # A function declared IMMUTABLE that is not: the index keeps the values computed at insert time, and
    # once the knob turns no index entry matches its row (a query through the index returns the wrong row).
    pg.psql("create table knob (k int); insert into knob values (1)")
    pg.psql(
        "create function lying(i int) returns int language sql immutable as 'select i * (select k from public.knob)'"
    )
    pg.psql("create index calls_lying on calls (lying(id))")
    pg.psql("update knob set k = 2")
    # the same question, two answers: through the index (stale keys) and by a table scan (the truth)
    assert pg.psql("set enable_seqscan = off; select id from calls where lying(id) = 2") == "2"
    assert (
        pg.psql("set enable_indexscan = off; set enable_bitmapscan = off; select id from calls where lying(id) = 2")
        == "1"
    )
    try:
        run_backup(drilled.cfg, "postgres", "diff")
        code = drill_cli.main(["--config", str(drilled.config_path), "--engine", "postgres", "--json"])
        doc = json.loads(capsys.readouterr().out)
        (engine,) = doc["engines"]
        assert code == 1 and doc["verified"] is False and engine["verified"] is False
        assert engine["details"]["amcheck"]["ok"] is False
        problems = engine["problems"]
        assert problems and all(p.startswith("pg_amcheck: ") for p in problems), problems  # every row matched
        assert any("calls_lying" in p and "lacks matching index tuple" in p for p in problems), problems
    finally:
        pg.psql("drop index calls_lying; drop function lying(int); drop table knob")
        run_backup(drilled.cfg, "postgres", "diff")  # later tests drill the newest backup: a sound one


def test_pg_amcheck_that_cannot_reach_the_cluster_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    from ccsec.backup.errors import BackupError
    from ccsec.backup.pgamcheck import check_cluster

    with pytest.raises(BackupError, match=r"^pg_amcheck could not check the restored cluster: .+"):
        check_cluster(Path("/usr/lib/postgresql/15/bin"), tmp_path, 1, "postgres", timeout=60)


def test_an_engine_result_that_checked_nothing_is_never_verified() -> None:
    from ccsec.backup.drill import DrillReport
    from ccsec.backup.drill_files import EngineResult

    report = DrillReport(host="h", started_at="2026-01-01T00:00:00Z", rpo_seconds=1.0)
    report.engines = [EngineResult(engine="files", verified=True, checked=0, point_time="2026-01-01T00:00:00Z")]
    assert report.verified is False and report.exit_code == 1
    report.engines[0].checked = 3
    assert report.verified is True and report.exit_code == 0
    assert DrillReport(host="h", started_at="x", rpo_seconds=1.0).verified is False  # no engine at all


def _cmdlines() -> list[tuple[int, list[str]]]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if argv and argv[0]:
                out.append((int(entry.name), argv))
    return out


def _using(parent: Path) -> list[int]:
    """Live processes naming something under ``parent`` (restores, the scratch postmaster, reapers)."""
    from ccsec_testbeds.faults import processes_matching

    return processes_matching(str(parent))


def _moment_reached(parent: Path, moment: str) -> bool:
    for _, argv in _cmdlines():
        line = " ".join(argv)
        if str(parent) not in line:
            continue
        if moment == "restore" and "pgbackrest" in line and " restore " in f" {line} ":
            return True
        if moment == "cluster" and argv[0].endswith("postgres") and "-D" in argv:
            return True
    return False


@pytest.mark.parametrize(
    ("how", "moment"),
    [("sigterm", "restore"), ("sigkill", "restore"), ("sigkill", "cluster"), ("whole-unit", "cluster")],
)
def test_a_drill_killed_mid_way_leaves_no_scratch_data_and_no_process(drilled: Drilled, how: str, moment: str) -> None:
    """However the drill dies, no restored copy of production data and no scratch PostgreSQL stays behind.

    sigterm: `systemctl stop`; sigkill: `kill -9` / the OOM killer on the drill alone (its reaper cleans up);
    whole-unit: every process of the drill at once, reaper included (systemd's cgroup kill), then the unit's
    ExecStopPost sweep."""
    import subprocess
    import sys

    from ccsec_testbeds.faults import kill_tree

    parent = Path(tempfile.mkdtemp(prefix="drill-kill-", dir="/var/tmp"))
    parent.chmod(0o755)
    try:
        argv = [sys.executable, "-m", "ccsec.drill", "--config", str(drilled.config_path), "--engine", "postgres"]
        proc = subprocess.Popen(
            [*argv, "--scratch", str(parent)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not _moment_reached(parent, moment):
            assert proc.poll() is None, f"the drill ended before the {moment}: {proc.stderr.read()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"no {moment} within 120 s"
            time.sleep(0.01)
        assert list(parent.glob("ccsec-drill-*/postgres")), "the scratch restore target is not there"
        if how == "sigterm":
            os.kill(proc.pid, 15)
        elif how == "sigkill":
            os.kill(proc.pid, 9)
        else:
            kill_tree(proc.pid)
        proc.wait(timeout=120)
        if how == "whole-unit":  # the reaper died with it: the scratch is still there until the sweep
            assert list(parent.glob("ccsec-drill-*")), "nothing to sweep: the test did not kill mid-way"
            sweep = subprocess.run(
                [sys.executable, "-m", "ccsec.backup.scratch", "--sweep", str(parent)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert sweep.returncode == 0 and "removed the scratch directory" in sweep.stderr, sweep.stderr
        deadline = time.monotonic() + 60
        while (list(parent.iterdir()) or _using(parent)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(parent.iterdir()) == [], "restored data left on disk"
        assert _using(parent) == [], "a restore, the scratch PostgreSQL or a reaper is still running"
        if how == "sigterm":
            assert proc.returncode == 128 + 15
    finally:
        for pid in _using(parent):
            os.kill(pid, 9)
        shutil.rmtree(parent, ignore_errors=True)


def test_sweep_keeps_the_scratch_of_a_running_drill(tmp_path: Path) -> None:
    from ccsec.backup.scratch import OWNER_FILE, owner_token, sweep

    live = tmp_path / "ccsec-drill-live"
    live.mkdir()
    (live / OWNER_FILE).write_text(owner_token() + "\n")  # this test process: alive
    dead = tmp_path / "ccsec-drill-dead"
    dead.mkdir()
    (dead / OWNER_FILE).write_text("999999999 12345\n")  # no such pid
    reused = tmp_path / "ccsec-drill-reused"
    reused.mkdir()
    (reused / OWNER_FILE).write_text(f"{os.getpid()} 1\n")  # our pid, another start time: a reused pid
    fresh = tmp_path / "ccsec-drill-fresh"  # a drill between mkdtemp and writing its owner file
    fresh.mkdir()
    other = tmp_path / "not-ours"
    other.mkdir()
    assert sorted(p.name for p in sweep(tmp_path)) == ["ccsec-drill-dead", "ccsec-drill-reused"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ccsec-drill-fresh", "ccsec-drill-live", "not-ours"]
