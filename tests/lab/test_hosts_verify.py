"""`ccsec verify --lab` on real lab VMs: the status lists pinned access, and a host whose key no longer matches
the pinned one is refused (reported, never passed). The pass / tampered-fail runs share the drift module's
tamper (test_drift_lab.py): one full suite run costs minutes under TCG.

Runs before test_lab_e2e.py (module order), whose last test takes the lab down.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccsec.lab.keys import generate_ed25519, known_hosts_line
from ccsec.lab.ssh import connect, run
from ccsec.lab.state import HostState, LabState

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def ccsec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccsec.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )


def sudo(host: HostState, command: str) -> None:
    client = connect(host.ssh_host, host.ssh_port, host.user, host.identity_file, host.known_hosts_file)
    try:
        code, out, err = run(client, f"sudo -n sh -c '{command}'")
        assert code == 0, out + err
    finally:
        client.close()


def test_status_json_lists_every_host_with_its_pinned_access(lab_state: LabState) -> None:
    result = ccsec("lab", "status", "--json")
    assert result.returncode == 0, result.stderr
    hosts = json.loads(result.stdout)["hosts"]
    assert {h["name"] for h in hosts} == {h.name for h in lab_state.hosts}
    for host in hosts:
        assert set(host) >= {"name", "role", "ssh_host", "ssh_port", "user", "identity_file", "known_hosts_file"}
        assert host["ssh_host"] == "127.0.0.1" and host["running"] is True
        assert Path(host["known_hosts_file"]).read_text().startswith(f"[127.0.0.1]:{host['ssh_port']} ssh-ed25519 ")


def test_a_changed_host_key_is_refused_not_passed(lab_state: LabState, tmp_path: Path) -> None:
    from ccsec import verify

    host = lab_state.hosts[0]
    impostor = tmp_path / "known_hosts"
    impostor.write_text(known_hosts_line(host.ssh_host, host.ssh_port, generate_ed25519().public_openssh))
    config = Path(lab_state.ssh_config_file).read_text().replace(host.known_hosts_file, str(impostor))
    # A fresh connection, not the multiplexed one verified earlier (ControlMaster reuses its socket).
    config = "\n".join(line for line in config.splitlines() if not line.strip().startswith("Control"))
    config = config.replace("  BatchMode yes", "  BatchMode yes\n  ControlMaster no")
    (tmp_path / "ssh_config").write_text(config)
    result = verify.run_suite([host.name], tmp_path / "ssh_config", tmp_path / "mitm")
    assert result.passed == 0 and result.exit_code == 2
    assert result.errors + result.failed > 0
    assert "Host key verification failed" in (tmp_path / "mitm" / "pytest.log").read_text()
    shutil.rmtree(tmp_path / "mitm")
