"""End-to-end: a real VM booted from the stack's user-data, reached only with its pinned host key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import paramiko
import pytest

from ccsec.lab import api, vm
from ccsec.lab.image import cached_image
from ccsec.lab.keys import generate_ed25519, known_hosts_line
from ccsec.lab.ssh import connect, run
from ccsec.lab.state import HostState, LabState

pytestmark = pytest.mark.lab


def _ssh_argv(h: HostState, known_hosts: str, command: str) -> list[str]:
    return [
        "ssh",
        "-i",
        h.identity_file,
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=30",
        "-p",
        str(h.ssh_port),
        f"{h.user}@{h.ssh_host}",
        command,
    ]


def _wrong_known_hosts(h: HostState, tmp_path: Path) -> Path:
    other = generate_ed25519()
    path = tmp_path / "wrong_known_hosts"
    path.write_text(known_hosts_line(h.ssh_host, h.ssh_port, other.public_openssh))
    return path


def test_status_lists_the_host(lab_state: LabState) -> None:
    current = api.status()
    assert current is not None
    names = {h.name: h for h in current.hosts}
    host = lab_state.hosts[0]
    assert host.name in names
    assert names[host.name].running and names[host.name].ready
    assert names[host.name].ssh_port == host.ssh_port


def test_state_files_are_private(lab_state: LabState, lab_work_dir: Path) -> None:
    h = lab_state.hosts[0]
    assert (lab_work_dir / "state.json").stat().st_mode & 0o077 == 0
    assert Path(h.identity_file).stat().st_mode & 0o077 == 0
    line = Path(h.known_hosts_file).read_text()
    assert line == known_hosts_line("127.0.0.1", h.ssh_port, h.host_key_public)


def test_openssh_with_pinned_key_and_sudo(lab_state: LabState) -> None:
    h = lab_state.hosts[0]
    res = subprocess.run(
        _ssh_argv(h, h.known_hosts_file, "sudo -n true && hostname"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == h.name


def test_openssh_config_file_works(lab_state: LabState) -> None:
    h = lab_state.hosts[0]
    res = subprocess.run(
        ["ssh", "-F", lab_state.ssh_config_file, h.name, "id -un"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == h.user


def _run_over_paramiko(lab_state: LabState, command: str) -> tuple[int, str]:
    """One command on the first lab host over paramiko with its pinned key."""
    h = lab_state.hosts[0]
    client = connect(h.ssh_host, h.ssh_port, h.user, h.identity_file, h.known_hosts_file)
    try:
        rc, out, _ = run(client, command, timeout=60)
    finally:
        client.close()
    return rc, out


def test_paramiko_with_pinned_key(lab_state: LabState) -> None:
    rc, out = _run_over_paramiko(lab_state, "cloud-init status")
    assert rc == 0 and "done" in out


def test_a_tcg_guest_is_not_offered_simd_that_tcg_emulates_slowly(lab_state: LabState) -> None:
    """Under TCG, AVX/AVX2/AVX-512 make the guest's crypto several times slower (bench/tcg_cpu.py): a guest that
    sees them would run the lab's SSH, AIDE and backups at that cost. Under KVM the host's CPU is passed through."""
    rc, out = _run_over_paramiko(lab_state, "grep -m1 '^flags' /proc/cpuinfo")
    flags = set(out.split(":", 1)[1].split())
    assert rc == 0 and {"sse2", "lm"} <= flags, out
    if lab_state.accel == "tcg":
        assert not {f for f in flags if f.startswith("avx")}, sorted(flags)


def test_testinfra_host_is_pinned(lab_state: LabState) -> None:
    from ccsec.lab.testinfra_host import testinfra_host

    host = testinfra_host(lab_state.hosts[0])
    assert isinstance(host.backend.client.get_transport().get_remote_server_key(), paramiko.PKey)
    assert host.file("/var/lib/cloud/instance/boot-finished").exists
    assert host.package("openssh-server").is_installed


def test_paramiko_refuses_wrong_pinned_key(lab_state: LabState, tmp_path: Path) -> None:
    h = lab_state.hosts[0]
    wrong = _wrong_known_hosts(h, tmp_path)
    with pytest.raises(paramiko.BadHostKeyException):
        connect(h.ssh_host, h.ssh_port, h.user, h.identity_file, wrong)


def test_paramiko_refuses_unknown_host(lab_state: LabState, tmp_path: Path) -> None:
    h = lab_state.hosts[0]
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        connect(h.ssh_host, h.ssh_port, h.user, h.identity_file, empty)


def test_openssh_refuses_wrong_pinned_key(lab_state: LabState, tmp_path: Path) -> None:
    h = lab_state.hosts[0]
    wrong = _wrong_known_hosts(h, tmp_path)
    res = subprocess.run(_ssh_argv(h, str(wrong), "true"), capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 255
    assert "Host key verification failed" in res.stderr


def test_down_removes_vms_and_state(lab_state: LabState, lab_work_dir: Path) -> None:
    """Runs last in this module: the fixture's own teardown then finds nothing to do."""
    h = lab_state.hosts[0]
    assert vm.is_ours(h.pid, Path(h.vm_dir))
    api.down()
    assert not vm.is_ours(h.pid, Path(h.vm_dir))
    assert not Path(f"/proc/{h.pid}").exists() or b"qemu" not in Path(f"/proc/{h.pid}/cmdline").read_bytes()
    assert api.status() is None
    assert not (lab_work_dir / "state.json").exists()
    assert not (lab_work_dir / "vms").exists()
    assert not (lab_work_dir / "ssh_config").exists()
    assert not (lab_work_dir / api.TOTP_PERSON_KEY).exists() and not (lab_work_dir / api.TOTP_PERSON_SEED).exists()
    base = cached_image()
    assert base is not None and base.disk.is_file(), "the cached base image must survive down()"
