"""HOST-04 egress in the lab: a lab VM's output chain is the lab stack's, plus exactly the one path the lab's
topology needs (the bastion to the other VMs' SSH forwards); the backup hosts reach the lab Swift through the
stack's own Keystone flow, with the lab Swift's auth URL as backup.swiftAuthUrl."""

from __future__ import annotations

import pytest
import yaml
from hostkeys import identity
from logpath import log_path

from ccsec.infra.host_firewall import ExtraEgress
from ccsec.infra.userdata import TemplateValueError, render_lab_user_data

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm1gVAkhwXay8i7AN2HRlO+9SWgMtHgzZSybQH7hVb3 ccadmin@lab"


def _output_chain(role: str, **lab: object) -> list[str]:
    ident = identity()
    text = render_lab_user_data(
        "lab", role, f"lab-{role}-1", ident.private_openssh, ident.public_openssh, "ccadmin", KEY,
        log=log_path("lab", role, f"lab-{role}-1"), **lab,
    )  # fmt: skip
    files = {f["path"]: f["content"] for f in yaml.safe_load(text)["write_files"]}
    chain = files["/etc/nftables.conf"].split("chain output {")[1].split("\n  }")[0]
    return [line.strip() for line in chain.strip().splitlines()]


def test_the_lab_bastion_gets_exactly_the_other_vms_ssh_forwards() -> None:
    plain = _output_chain("bastion")
    jump = _output_chain("bastion", jump_ports=(40022, 40023, 40031))
    added = [line for line in jump if line not in plain]
    assert added == [
        'ip daddr 10.0.2.2 tcp dport { 40022, 40023, 40031 } accept comment "lab: SSH to the other VMs\' forwards"'
    ]
    assert [line for line in plain if line not in jump] == []
    tail = ['limit rate 5/second burst 10 packets log prefix "ccaas-egress-drop: " level info', "counter drop"]
    assert jump[-2:] == plain[-2:] == tail


def test_a_lab_vm_without_jump_ports_renders_the_stack_chain() -> None:
    assert not any("lab:" in line for line in _output_chain("app"))


def test_the_lab_backup_host_reaches_the_lab_swift_through_the_keystone_flow() -> None:
    env = {"ST_AUTH": "https://10.0.2.2:38443/auth/v1.0", "ST_USER": "u", "ST_KEY": "k", "RESTIC_PASSWORD": "p"}
    chain = _output_chain("recordings", backup_env=env)
    assert 'ip daddr 10.0.2.0/24 tcp dport 38443 accept comment "Keystone, for the backup agents\' tokens"' in chain
    stack = _output_chain("recordings")  # the lab stack's own Keystone URL (port 5000)
    assert 'ip daddr 10.0.2.0/24 tcp dport 5000 accept comment "Keystone, for the backup agents\' tokens"' in stack
    assert not any("38443" in line for line in stack)


def test_the_lab_swift_url_changes_nothing_but_the_backup_flow() -> None:
    env = {"ST_AUTH": "https://10.0.2.2:38443/auth/v1.0"}
    with_env = _output_chain("recordings", backup_env=env)
    stack = _output_chain("recordings")
    assert [a for a in with_env if a not in stack] == [
        'ip daddr 10.0.2.0/24 tcp dport 38443 accept comment "Keystone, for the backup agents\' tokens"'
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"address": "10.0.2.0/24"},
        {"address": "10.0.2.2\naccept"},
        {"address": "::1"},
        {"address": "lab-host"},
        {"protocol": "icmp"},
        {"protocol": "tcp accept"},
        {"ports": ()},
        {"ports": (0,)},
        {"ports": (65536,)},
        {"ports": (True,)},
        {"ports": ("22",)},
        {"ports": (22.0,)},
        {"comment": 'x" accept comment "y'},
        {"comment": "x\n    accept"},
        {"comment": "x\\"},
        {"comment": "x\u2028y"},
    ],
)
def test_an_extra_egress_that_could_widen_or_inject_is_refused(change: dict) -> None:
    values = {"address": "10.0.2.2", "protocol": "tcp", "ports": (40022,), "comment": "lab: ok"} | change
    with pytest.raises(ValueError):
        ExtraEgress(**values)


@pytest.mark.parametrize("url", ["http://10.0.2.2:38443/auth/v1.0", "https://10.0.2.2:38443\n/auth", "10.0.2.2:38443"])
def test_a_lab_swift_url_that_is_not_a_plain_https_url_is_refused(url: str) -> None:
    with pytest.raises(TemplateValueError, match=r"backup_env\.ST_AUTH"):
        _output_chain("recordings", backup_env={"ST_AUTH": url})
