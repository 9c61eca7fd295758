"""`ccsec judge --lab` on the lab's hosts, with the one judge cheap enough for every CI run (ssh-audit: seconds a
host; lynis takes tens of minutes under TCG, testssl two, nmap two a host — their figures are in the README).

Runs before test_lab_e2e.py (module order), whose last test takes the lab down.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccsec.lab.state import LabState
from tests.lab.test_hosts_verify import ccsec

pytestmark = pytest.mark.lab
# sshd keeps curve25519 next to sntrup761 for paramiko-based tooling (README, "Judges"): the only warnings
EXPECTED_WARNINGS = {
    "(kex) curve25519-sha256: does not provide protection against post-quantum attacks",
    "(kex) curve25519-sha256@libssh.org: does not provide protection against post-quantum attacks",
}


def test_ssh_audit_finds_no_failure_on_any_host_and_keeps_its_raw_report(lab_state: LabState, tmp_path: Path) -> None:
    result = ccsec("judge", "--lab", "--judges", "ssh-audit", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report == json.loads((tmp_path / "judge.json").read_text())
    assert report["verdict"] == "met"
    assert {h["name"] for h in report["hosts"]} == {h.name for h in lab_state.hosts}
    for host in report["hosts"]:
        audit = host["judges"]["ssh-audit"]
        assert audit["status"] == "met" and audit["fail"] == 0, audit
        assert set(audit["warns"]) == EXPECTED_WARNINGS, audit["warns"]
        raw = json.loads((tmp_path / host["name"] / "ssh-audit.json").read_text())
        assert raw["banner"]["raw"] == "SSH-2.0-OpenSSH_9.2p1", "no Debian patch level (DebianBanner no)"
