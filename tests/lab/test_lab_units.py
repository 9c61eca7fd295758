"""Fast checks of the lab's pieces (no VM is booted here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import paramiko
import pytest

from ccsec.lab import api, vm
from ccsec.lab.image import package_list
from ccsec.lab.keys import generate_ed25519, known_hosts_line
from ccsec.lab.mirror import host_mirrors
from ccsec.lab.state import HostState, LabState, ssh_config_text


def test_keys_are_ed25519_openssh() -> None:
    pair = generate_ed25519("x@y")
    assert pair.private_openssh.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert pair.public_openssh.startswith("ssh-ed25519 AAAA") and pair.public_openssh.endswith(" x@y")
    assert "PRIVATE" not in repr(pair)


def test_private_key_loads_in_paramiko(tmp_path: Path) -> None:
    pair = generate_ed25519()
    path = tmp_path / "id"
    path.write_text(pair.private_openssh)
    key = paramiko.Ed25519Key.from_private_key_file(str(path))
    assert f"{key.get_name()} {key.get_base64()}" == pair.public_openssh


def test_known_hosts_line_pins_port() -> None:
    pub = generate_ed25519("comment").public_openssh
    line = known_hosts_line("127.0.0.1", 2222, pub)
    assert line.startswith("[127.0.0.1]:2222 ssh-ed25519 AAAA") and "comment" not in line


def test_package_list_has_essentials() -> None:
    pkgs = package_list()
    for p in ("linux-image-amd64", "cloud-init", "openssh-server", "sudo", "nftables", "postgresql-15"):
        assert p in pkgs
    assert len(pkgs) == len(set(pkgs))


def test_mirror_parsing_deb822_and_list(tmp_path: Path) -> None:
    d = tmp_path / "etc/apt/sources.list.d"
    d.mkdir(parents=True)
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/security\nSuites: bookworm-security\nComponents: main\n"
    )
    m = host_mirrors(tmp_path)
    assert (m.main, m.security) == ("http://mirror.example/debian", "http://mirror.example/security")
    (d / "debian.sources").unlink()
    (tmp_path / "etc/apt/sources.list").write_text("deb [arch=amd64] http://m2.example/debian bookworm main\n")
    assert host_mirrors(tmp_path).main == "http://m2.example/debian"


def test_qemu_argv_is_local_only(tmp_path: Path) -> None:
    spec = vm.VmSpec(
        name="lab-app-1",
        vm_dir=tmp_path,
        base_disk=tmp_path / "b",
        kernel=tmp_path / "k",
        initrd=tmp_path / "i",
        seed=tmp_path / "s",
        memory_mb=1024,
        ssh_port=2222,
        https_port=8443,
        accel="tcg",
        edge_net="10.40.0.0/24",
        data_disk=tmp_path / "data.qcow2",
    )
    argv = vm.qemu_argv(spec)
    netdevs = [argv[i + 1] for i, a in enumerate(argv) if a == "-netdev"]
    assert netdevs[0] == "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22"
    # HTTPS reaches the app from the edge zone on its own NIC, like traffic from the load balancer
    assert netdevs[1] == "user,id=net1,net=10.40.0.0/24,host=10.40.0.2,hostfwd=tcp:127.0.0.1:8443-:443"
    assert f"virtio-blk-pci,drive=data0,serial={vm.DATA_SERIAL},addr=0x1e" in argv
    assert "tcg" in argv[argv.index("-accel") + 1]
    # TCG emulates AVX slowly: the guest gets a baseline x86-64 model, never "max" or the host's (KVM only)
    assert argv[argv.index("-cpu") + 1] not in ("max", "host")
    assert vm.qemu_argv(dataclasses.replace(spec, accel="kvm"))[argv.index("-cpu") + 1] == "host"
    assert "root=/dev/vda" in argv[argv.index("-append") + 1]


@pytest.mark.parametrize(
    ("roles", "stack", "user"),
    [
        ([], "lab", "ccadmin"),
        (["App"], "lab", "ccadmin"),
        (["app;rm"], "lab", "ccadmin"),
        (["app"], "lab\n", "ccadmin"),
        (["app"], "lab", "root"),
        (["app"], "lab", "bad user"),
    ],
)
def test_up_rejects_bad_input(roles: list[str], stack: str, user: str) -> None:
    with pytest.raises(api.LabError):
        api._validate(roles, stack, user)


def test_hostnames_are_unique_per_role() -> None:
    assert api._validate(["app", "db", "app"], "lab", "ccadmin") == [
        ("app", "lab-app-1"),
        ("db", "lab-db-1"),
        ("app", "lab-app-2"),
    ]


def test_state_roundtrip_and_ssh_config() -> None:
    h = HostState(
        name="lab-app-1",
        role="app",
        ssh_host="127.0.0.1",
        ssh_port=2222,
        user="ccadmin",
        identity_file="/x/id",
        known_hosts_file="/x/kh",
        https_port=None,
        pid=1,
        vm_dir="/x",
        console_log="/x/c",
        memory_mb=1024,
        host_key_public="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL89qaWNynrh/h+XgSqtXJjdRXpgg8chrdEEAqgsaXj+",
    )
    s = LabState(stack="lab", accel="tcg", base_image="/b", userdata_source="t", hosts=[h])
    assert LabState.from_json(s.to_json()) == s
    cfg = ssh_config_text(s)
    assert "StrictHostKeyChecking yes" in cfg and "UserKnownHostsFile /x/kh" in cfg
    assert "StrictHostKeyChecking no" not in cfg


def test_control_sockets_move_to_a_short_private_dir_when_the_work_dir_is_deep(tmp_path: Path) -> None:
    import socket
    import stat as stat_module

    from ccsec.lab.state import _short_enough

    deep = tmp_path / ("d" * 60)
    chosen = _short_enough(deep)
    try:
        assert chosen != deep and stat_module.S_IMODE(chosen.stat().st_mode) == 0o700
        # the longest socket name OpenSSH makes there binds (it did not in the deep dir)
        path = chosen / ("cm-" + "f" * 40 + "." + "x" * 16)
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))
        path.unlink()
    finally:
        if chosen != deep:
            chosen.rmdir()
    assert _short_enough(Path("/tmp/lab")) == Path("/tmp/lab")


def test_the_two_ci_labs_together_boot_every_role_that_has_hosts() -> None:
    """#14.7: every role's host suite runs in CI — the session lab (drift's full-suite run) plus the backup lab."""
    from ccsec.infra.roles import MODEL
    from tests.lab import conftest, test_backup_lab

    booted = set(conftest.ROLES) | set(test_backup_lab.ROLES)
    assert booted == {r.name for r in MODEL if r.hosts}
