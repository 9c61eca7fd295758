"""ssh_config and known_hosts for drift: pinned keys on both hops, ProxyJump, nothing injectable.

The generated config is read back with OpenSSH itself (``ssh -G``), so the test checks what the client
will actually do, not what our renderer intended.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ccsec.lab.keys import generate_ed25519
from ccsec.lab.state import HostState, LabState
from ccsec.sshtargets import (
    LAB_GATEWAY,
    SshTarget,
    TargetError,
    parse_known_hosts,
    render_known_hosts,
    render_ssh_config,
    targets_from_lab,
    targets_from_outputs,
)
from tests.unit.conftest import planned

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL89qaWNynrh/h+XgSqtXJjdRXpgg8chrdEEAqgsaXj+"  # fixed: stable ids (xdist)


def resolved(config: Path, host: str) -> dict[str, str]:
    """What OpenSSH makes of the config for one host (lower-case option -> value)."""
    out = subprocess.run(["ssh", "-G", "-F", str(config), host], capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def lab_host(name: str, role: str, port: int, tmp_path: Path) -> HostState:
    return HostState(
        name=name,
        role=role,
        ssh_host="127.0.0.1",
        ssh_port=port,
        user="ccadmin",
        identity_file=str(tmp_path / name / "id_ed25519"),
        known_hosts_file=str(tmp_path / name / "known_hosts"),
        https_port=None,
        pid=1,
        vm_dir=str(tmp_path / name),
        console_log="",
        memory_mb=1024,
        host_key_public=generate_ed25519().public_openssh,
    )


def write(targets: list[SshTarget], tmp_path: Path, control: bool = True) -> Path:
    known = tmp_path / "known_hosts"
    known.write_text(render_known_hosts(targets))
    config = tmp_path / "ssh_config"
    config.write_text(render_ssh_config(targets, known, tmp_path / "cm" if control else None))
    return config


def test_lab_hosts_go_through_the_bastion_with_both_keys_pinned(tmp_path: Path) -> None:
    bastion = lab_host("lab-bastion-1", "bastion", 40001, tmp_path)
    app = lab_host("lab-app-1", "app", 40002, tmp_path)
    lab = LabState(stack="lab", accel="tcg", base_image="", userdata_source="", hosts=[bastion, app])
    config = write(targets_from_lab(lab), tmp_path)
    via = resolved(config, "lab-app-1")
    assert (via["hostname"], via["port"], via["proxyjump"]) == (LAB_GATEWAY, "40002", "lab-bastion-1")
    assert via["hostkeyalias"] == "lab-app-1"
    direct = resolved(config, "lab-bastion-1")
    assert (direct["hostname"], direct["port"], direct["hostkeyalias"]) == ("127.0.0.1", "40001", "lab-bastion-1")
    assert "proxyjump" not in direct
    for options in (via, direct):
        assert options["stricthostkeychecking"] == "true"
        assert options["userknownhostsfile"] == str(tmp_path / "known_hosts")
        assert options["globalknownhostsfile"] == "/dev/null"
        assert options["batchmode"] == "yes"
    pinned = (tmp_path / "known_hosts").read_text().splitlines()
    assert pinned == [f"lab-bastion-1 {bastion.host_key_public}", f"lab-app-1 {app.host_key_public}"]


def test_stack_outputs_of_the_real_program_become_targets_behind_the_bastion(tmp_path: Path) -> None:
    outputs = planned("dev").run.outputs
    targets = targets_from_outputs(outputs, outputs["known_hosts"], "auditor", "/etc/ccsec/auditor_ed25519")
    by_name = {t.name: t for t in targets}
    bastion = next(h for h in outputs["hosts"] if h["role"] == "bastion")
    assert by_name[bastion["name"]].address == outputs["bastion_addresses"][0]
    assert by_name[bastion["name"]].jump is None
    for host in outputs["hosts"]:
        if host["role"] != "bastion":
            assert (by_name[host["name"]].address, by_name[host["name"]].jump) == (host["ip"], bastion["name"])
    config = write(targets, tmp_path, control=False)
    app = resolved(config, "dev-app-1")
    assert (app["user"], app["port"], app["proxyjump"]) == ("auditor", "22", bastion["name"])
    assert parse_known_hosts(outputs["known_hosts"])["dev-app-1"] in (tmp_path / "known_hosts").read_text()


def test_a_host_without_a_pinned_key_is_refused_not_trusted_on_first_use() -> None:
    outputs = planned("dev").run.outputs
    partial = "\n".join(line for line in outputs["known_hosts"].splitlines() if not line.startswith("dev-db-1,"))
    with pytest.raises(TargetError, match="dev-db-1: no pinned host key"):
        targets_from_outputs(outputs, partial, "auditor", "/etc/ccsec/key")


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("name", "app-1\n  ProxyCommand nc evil 22", "host name"),
        ("address", "10.0.0.1\n  ProxyCommand touch /tmp/x", "address"),
        ("address", "evil host", "address"),
        ("port", 0, "port"),
        ("port", 70000, "port"),
        ("user", "root; rm", "user"),
        ("identity_file", "/keys/id %d", "identity file"),
        ("identity_file", "keys/relative", "identity file"),
        ("identity_file", "/keys/a\nProxyCommand x", "identity file"),
        ("host_key", "ssh-ed25519 not-base64!", "base64"),
        ("host_key", "ssh-rsa " + KEY.split()[1], "does not hold the declared key type"),
        ("host_key", "ssh-dss AAAAB3NzaC1kc3M=", "host key"),
        ("jump", "app-1", "jump host"),
    ],
)
def test_values_that_could_inject_a_directive_are_refused(field: str, value: object, complaint: str) -> None:
    good = {
        "name": "app-1",
        "address": "10.0.0.5",
        "port": 22,
        "user": "auditor",
        "identity_file": "/keys/id",
        "host_key": KEY,
        "jump": None,
    }
    target = SshTarget(**{**good, field: value})
    with pytest.raises(TargetError, match=complaint):
        render_ssh_config([target], Path("/tmp/known_hosts"))


def test_a_jump_host_must_be_a_direct_target_and_names_unique() -> None:
    behind = SshTarget("app-1", "10.0.0.5", 22, "auditor", "/keys/id", KEY, jump="bastion-1")
    with pytest.raises(TargetError, match="not a directly reachable target"):
        render_ssh_config([behind], Path("/tmp/known_hosts"))
    twice = SshTarget("app-1", "10.0.0.6", 22, "auditor", "/keys/id", KEY)
    with pytest.raises(TargetError, match="unique"):
        render_ssh_config([twice, twice], Path("/tmp/known_hosts"))


def test_paths_written_into_the_config_are_checked_too() -> None:
    target = SshTarget("app-1", "10.0.0.5", 22, "auditor", "/keys/id", KEY)
    with pytest.raises(TargetError, match="known_hosts file"):
        render_ssh_config([target], Path("/tmp/known hosts"))
    with pytest.raises(TargetError, match="control dir"):
        render_ssh_config([target], Path("/tmp/kh"), Path("/tmp/%h"))
