"""`ccsec drift --lab` and `ccsec verify --lab` on real lab VMs, through the bastion: a tampered host is drift
and a verify failure naming its controls, the restored lab is clean, and a changed host key is refused as a
possible man-in-the-middle.

Cost (TCG, 2 cores): a full host-suite run over bastion, app and payment takes 3-7 minutes (the first one also waits for
AIDE's first scan), so the lab runs it once: the tampered drift, where every control but the two tampered ones
must pass on every host (that is the full-suite pass on the hardened lab). verify and the re-check after the
restore run only the tampered controls (`--controls`, about half a minute each).

Runs before test_lab_e2e.py (module order), whose last test takes the lab down.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from ccsec import drift, reach
from ccsec.lab.keys import generate_ed25519
from ccsec.lab.state import LabState
from ccsec.sshtargets import targets_from_lab
from tests.lab.test_hosts_verify import ccsec, sudo

pytestmark = pytest.mark.lab
DROP_IN = "/etc/ssh/sshd_config.d/10-ccaas-baseline.conf"
SSHD_ROOT = "sed -i s/^PermitRootLogin\\ {}/PermitRootLogin\\ {}/ " + DROP_IN + " && systemctl reload ssh"
TAMPER = SSHD_ROOT.format("no", "yes") + " && sysctl -qw kernel.sysrq=1"  # HOST-02 and HOST-05
RESTORE = SSHD_ROOT.format("yes", "no") + " && sysctl -qw kernel.sysrq=0"


def only_report(out: Path) -> dict:
    (kept,) = out.iterdir()
    assert kept.name.startswith("drift-")
    return json.loads((kept / "drift.json").read_text())


def verify_controls(out: Path, controls: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    result = ccsec("verify", "--lab", "--controls", controls, "--out", str(out))
    summary = out / "summary.json"
    return result, json.loads(summary.read_text()) if summary.is_file() else {}


def test_tampered_host_is_drift_and_a_verify_failure_naming_the_controls_then_clean_once_restored(
    lab_state: LabState, tmp_path: Path
) -> None:
    target = next(h for h in lab_state.hosts if h.role != "bastion")  # reached through the bastion
    sudo(target, TAMPER)
    try:
        tampered = ccsec("drift", "--lab", "--out", str(tmp_path / "tampered"))
        assert tampered.returncode == 1, tampered.stdout + tampered.stderr
        assert "DRIFT FOUND" in tampered.stdout.splitlines()[0]
        assert f"FAILED [HOST-02] {target.name}" in tampered.stdout
        assert f"FAILED [HOST-05] {target.name}" in tampered.stdout
        report = only_report(tmp_path / "tampered")
        # everything else passed on every host: the hardened lab passes the whole suite
        assert report["hosts"]["failed_controls"] == ["HOST-02", "HOST-05"] and report["hosts"]["errors"] == 0
        assert {f["host"] for f in report["hosts"]["findings"]} == {target.name}
        full_run_passed = report["hosts"]["passed"]
        assert full_run_passed >= 25 * len(lab_state.hosts) // 2
        assert report["hosts"]["controls"] == "all" and set(report["hosts"]["targets"]) == {
            h.name for h in lab_state.hosts
        }
        assert any("kernel.sysrq" in f["message"] for f in report["hosts"]["findings"])
        # verify, the same suite run once by hand: exit 1, the failing host and control named
        failed, summary = verify_controls(tmp_path / "verify-tampered", "HOST-02,HOST-05")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert f"FAILED [HOST-02] {target.name}" in failed.stdout
        assert summary["failed_controls"] == ["HOST-02", "HOST-05"]
        failing = [f for f in summary["findings"] if f["outcome"] == "failed"]
        assert {f["host"] for f in failing} == {target.name}
        assert any("permitrootlogin" in f["message"] for f in failing)
        assert (tmp_path / "verify-tampered" / "junit.xml").is_file()
    finally:
        sudo(target, RESTORE)
    # the re-check after the fix: clean, and honest that it checked only those controls
    clean = ccsec(
        "drift", "--lab", "--controls", "HOST-05,HOST-02", "--out", str(tmp_path / "clean"), "--format", "json"
    )
    report = json.loads(clean.stdout) if clean.stdout.startswith("{") else {}
    assert clean.returncode == 0, clean.stdout[-4000:] + clean.stderr
    assert report["verdict"] == "clean" and report["infra"]["status"] == "skipped"
    assert report["not_checked"] == ["infra", "host controls other than HOST-02,HOST-05"]
    assert report["hosts"]["failed"] == report["hosts"]["errors"] == 0
    assert 2 * len(lab_state.hosts) <= report["hosts"]["passed"] < full_run_passed // 2
    (kept,) = (tmp_path / "clean").iterdir()
    junit = ET.parse(kept / "hosts" / "junit.xml")  # noqa: S314 - our own report
    ran = {p.get("value") for p in junit.iter("property") if p.get("name") == "control"}
    assert ran == {"HOST-02", "HOST-05"}


def test_a_changed_host_key_is_refused_as_a_possible_man_in_the_middle(lab_state: LabState, tmp_path: Path) -> None:
    targets = targets_from_lab(lab_state)
    bastion = next(t for t in targets if t.jump is None)
    behind = next(t for t in targets if t.jump is not None)
    impostor = generate_ed25519().public_openssh
    # The host behind the bastion presents a key other than the pinned one: refused on the second hop.
    ssh_config = drift.write_ssh_files([bastion, replace(behind, host_key=impostor)], tmp_path / "behind", None)
    (refused,) = reach.probe([behind.name], ssh_config)
    assert not refused.ok and "man-in-the-middle" in refused.reason
    # The bastion itself: refused, and nothing behind it is checked (reported as errors, never passed).
    part = drift.check_hosts([replace(bastion, host_key=impostor), behind], tmp_path / "bastion")
    assert [p.host for p in part.unreachable] == [bastion.name, behind.name]
    assert "man-in-the-middle" in part.unreachable[0].reason
    assert part.unreachable[1].reason.startswith(f"unreachable: jump host {bastion.name}: host key does not match")
    assert part.result is None and part.incomplete
