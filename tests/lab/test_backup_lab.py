"""The backup job on the lab: db and recordings VMs, booted from the stack's cloud-init, back up to a
real Swift all-in-one on this machine; the host suite verifies their agent; a drill restores both.

Own module-scoped lab (own work dir, own Swift), torn down at the end of this module, so it never
meets the session lab of the other modules. It errors (never skips) if the lab or Swift cannot start.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ccsec import cli, verify
from ccsec.lab import api
from ccsec.lab.backups import SAMPLE_ROWS, backup_lab
from ccsec.lab.paths import work_dir_override
from ccsec.lab.state import LabState
from ccsec_testbeds import swift_aio
from tests.lab import timeline

pytestmark = pytest.mark.lab
ROLES = ["db", "recordings"]


def progress(msg: str) -> None:
    """Print past pytest's capture: CI logs show the boot and backup timeline."""
    timeline.say("backup-lab", msg)


@pytest.fixture(scope="module")
def backup_lab_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    """db + recordings up, backing up to this module's own Swift; everything removed afterwards."""
    with (
        work_dir_override(tmp_path_factory.mktemp("backup-lab-work")),
        swift_aio.temporary("ccsec-lab-test-swift-") as aio,
    ):
        try:
            yield api.up(ROLES, stack="lab", progress=progress, swift=aio)
        finally:
            api.down(progress=progress)


# This module's expectation of what the host suite runs on each role for the controls it selects:
# 3 BKP-01 + 1 HOST-21 on both; HOST-17 (PostgreSQL) on db; HOST-18 (data and WAL, or recordings, on LUKS2).
DATA_HOST_CONTROLS = "BKP-01,HOST-17,HOST-18,HOST-21"
EXPECTED_PASSES = {"db": 3 + 1 + 1 + 1, "recordings": 3 + 1 + 1}


def test_the_host_suite_verifies_the_data_hosts(backup_lab_state: LabState, tmp_path: Path) -> None:
    hosts = [h.name for h in backup_lab_state.hosts]
    result = verify.run_suite(
        hosts, Path(backup_lab_state.ssh_config_file), tmp_path, extra_args=[f"--controls={DATA_HOST_CONTROLS}"]
    )
    log = (tmp_path / "pytest.log").read_text()[-3000:]
    assert (result.failed, result.errors) == (0, 0), log
    assert result.passed == sum(EXPECTED_PASSES[h.role] for h in backup_lab_state.hosts), log


def test_a_drill_restores_and_verifies_files_and_postgres(backup_lab_state: LabState, tmp_path: Path) -> None:
    manifests = backup_lab(backup_lab_state, True, progress)  # sample data, then a differential each
    assert {m["engine"] for m in manifests.values()} == {"files", "postgres"}
    out = tmp_path / "drill"
    code = cli.main(["drill", "--lab", "--json", "--out", str(out)])
    (report_file,) = out.glob("drill-*.json")
    report = json.loads(report_file.read_text())
    assert code == 0, report
    assert report["verified"] and report["rpo_ok"] and report["rpo_seconds"] <= 300
    engines = {e["engine"]: e for e in report["engines"]}
    assert set(engines) == {"files", "postgres"}
    assert all(e["verified"] and not e["problems"] for e in engines.values()), engines
    # the restored point is the backup just taken, or a later one: the host's own five-minute timer may run a
    # differential between our backup and the drill, and the drill must then restore that newer one
    files_manifest = next(m for m in manifests.values() if m["engine"] == "files")
    if engines["files"]["point_id"] != files_manifest["snapshot_id"]:
        restored_at = datetime.fromisoformat(engines["files"]["point_time"].replace("Z", "+00:00"))
        taken_at = datetime.fromisoformat(files_manifest["started_at"].replace("Z", "+00:00"))
        assert restored_at > taken_at, (engines["files"], files_manifest["snapshot_id"], files_manifest["started_at"])
    assert engines["files"]["checked"] >= len([p for p in files_manifest["files"] if p.startswith("/srv/recordings/")])
    reference = next(m for m in manifests.values() if m["engine"] == "postgres")["extra"]["verify_reference"]
    calls = [v for name, v in reference["tables"].items() if name.endswith("calls")]
    assert calls and calls[0]["rows"] >= SAMPLE_ROWS, reference
    assert engines["postgres"]["checked"] == len(reference["tables"])
    progress(f"drill: RPO {report['rpo_seconds']:.0f} s, RTO {report['rto_seconds']:.1f} s, {SAMPLE_ROWS} rows seeded")
