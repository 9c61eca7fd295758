"""Files engine (restic → real Swift): full, differential, restore, retention, check, off-site copy."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ccsec.backup import manifest as manifests
from ccsec.backup import metrics
from ccsec.backup.agent import engine_for, run_backup, run_maintenance
from ccsec.backup.manifest import sha256_file, utcnow
from ccsec.backup.restic import ResticEngine
from ccsec_testbeds.swift_aio import SwiftAIO

pytestmark = pytest.mark.swift


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 per file below ``root``, keyed by absolute original path."""
    return {str(p): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def restic_of(setup) -> ResticEngine:
    engine = engine_for(setup.cfg, "files")
    assert isinstance(engine, ResticEngine)
    return engine


def test_first_run_is_full_then_diff_has_full_as_parent(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=30)
    first = run_backup(s.cfg, "files", "diff")  # a diff is upgraded: no full exists yet
    assert first.type == "full" and first.reason == "no full backup exists yet"
    assert first.result == "success" and first.snapshot_id

    (s.data / "d0" / "f00000.bin").write_bytes(b"changed content")
    (s.data / "new.txt").write_text("new file")
    second = run_backup(s.cfg, "files", "diff")
    assert second.type == "diff"
    assert second.parent_id == first.snapshot_id

    snaps = {snap.id: snap for snap in restic_of(s).snapshots()}
    assert snaps[first.snapshot_id].tags == ("full",)
    assert snaps[second.snapshot_id].tags == ("diff",)
    assert snaps[second.snapshot_id].parent == first.snapshot_id  # restic recorded the full as parent
    assert second.extra["files_changed"] == 1 and second.extra["files_new"] == 1
    assert second.extra["files_unmodified"] == 29
    # the objects really are in the Swift container
    assert any(name.startswith("rec-01/snapshots/") for name in swift.objects(s.container))


def test_manifest_sha256_and_restore_reproduce_data(files_setup) -> None:
    s = files_setup(files=25, size=20000)
    full = run_backup(s.cfg, "files", "full")
    before = tree_hashes(s.data)
    assert {p: e["sha256"] for p, e in full.files.items()} == before

    (s.data / "d1" / "f00001.bin").write_bytes(b"v2")
    diff = run_backup(s.cfg, "files", "diff")
    after = tree_hashes(s.data)
    assert {p: e["sha256"] for p, e in diff.files.items()} == after
    assert before != after

    engine = restic_of(s)
    for m, expected in ((full, before), (diff, after)):
        target = s.workdir / f"restore-{m.type}"
        engine.restore(m.snapshot_id, target)
        restored = {p[len(str(target)) :]: h for p, h in tree_hashes(target).items()}
        assert restored == expected
        assert restored == {p: e["sha256"] for p, e in m.files.items()}

    written = manifests.latest(s.cfg.agent.state_dir, "files")
    assert written is not None and written.snapshot_id == diff.snapshot_id
    on_disk = list((s.cfg.agent.state_dir / "manifests").glob("files-*.json"))
    assert len(on_disk) == 2
    doc = json.loads(on_disk[0].read_text())
    for key in ("engine", "type", "started_at", "snapshot_id", "bytes_added", "duration_seconds", "result"):
        assert key in doc


def test_full_forced_when_last_full_older_than_interval(files_setup) -> None:
    s = files_setup(files=5)
    run_backup(s.cfg, "files", "full")
    in_cycle = run_backup(s.cfg, "files", "diff", now=utcnow() + timedelta(days=29))
    assert in_cycle.type == "diff"
    late = run_backup(s.cfg, "files", "diff", now=utcnow() + timedelta(days=31))
    assert late.type == "full" and "days old" in late.reason
    snaps = restic_of(s).snapshots()
    assert [x.kind for x in snaps] == ["full", "diff", "full"]


def test_full_rereads_everything_diff_does_not(files_setup) -> None:
    s = files_setup(files=15)
    run_backup(s.cfg, "files", "full")
    full2 = run_backup(s.cfg, "files", "full")
    diff = run_backup(s.cfg, "files", "diff")
    # --force: no file is taken unread from a parent; the diff skips unchanged files
    assert full2.extra["files_unmodified"] == 0
    assert diff.extra["files_unmodified"] == 15


def test_metrics_textfile_after_success(files_setup) -> None:
    s = files_setup(files=5)
    m = run_backup(s.cfg, "files", "full")
    prom = metrics.parse_textfile(s.cfg.agent.metrics_dir / "ccsec_backup_files.prom")
    labels = 'engine="files",host="rec-01"'
    assert prom[f"ccsec_backup_last_result{{{labels}}}"] == 1
    assert prom[f'ccsec_backup_last_success_timestamp_seconds{{{labels},type="full"}}'] > 0
    assert prom[f"ccsec_backup_last_size_bytes{{{labels}}}"] == m.bytes_added > 0
    assert prom[f"ccsec_backup_last_duration_seconds{{{labels}}}"] > 0


def test_retention_keeps_current_and_previous_cycle(files_setup) -> None:
    s = files_setup(files=5)
    engine = restic_of(s)
    ids: list[tuple[str, str]] = []
    for cycle in range(3):
        for kind in ("full", "diff"):
            (s.data / f"cycle{cycle}-{kind}.txt").write_text(f"{cycle}{kind}")
            m = run_backup(s.cfg, "files", kind)
            ids.append((m.type, m.snapshot_id))
    remaining = [x.id for x in engine.snapshots()]
    # the third full applied retention: cycle 0 (full + diff) is gone, cycles 1 and 2 remain
    assert remaining == [i for _, i in ids[2:]]
    engine.check("100%")


def test_offsite_copy_to_second_container(files_setup, swift: SwiftAIO) -> None:
    s = files_setup(files=8, offsite=True)
    full = run_backup(s.cfg, "files", "full")
    (s.data / "x.txt").write_text("x")
    run_backup(s.cfg, "files", "diff")
    m = run_maintenance(s.cfg, "files", "offsite")
    assert m.result == "success" and len(m.extra["offsite_snapshots"]) == 2
    assert any(n.startswith("rec-01/snapshots/") for n in swift.objects(f"{s.container}-offsite"))
    # restore the full from the off-site copy and compare with the manifest
    engine = restic_of(s)
    off = engine.snapshots(s.cfg.files.offsite_repository, s.cfg.files.offsite_password_file)
    first = next(x for x in off if x.kind == "full")
    target = s.workdir / "offsite-restore"
    engine.restore(first.id, target, s.cfg.files.offsite_repository, s.cfg.files.offsite_password_file)
    restored = {p[len(str(target)) :]: h for p, h in tree_hashes(target).items()}
    assert restored == {p: e["sha256"] for p, e in full.files.items()}
    # copying again adds nothing
    again = run_maintenance(s.cfg, "files", "offsite")
    assert len(again.extra["offsite_snapshots"]) == 2
