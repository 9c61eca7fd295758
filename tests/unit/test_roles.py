"""The role model is the one place a flow is written: both walls, the pack and the README follow it."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hostkeys import identity
from logpath import log_for

from ccsec.infra import flow_table
from ccsec.infra import roles as role_model
from ccsec.infra.firewall_rules import Rule, firewall_rules
from ccsec.infra.policy_facts import pack_config_values
from ccsec.infra.stackfile import load_stack_config
from ccsec.infra.userdata import HostSecrets, render_user_data
from ccsec.policies.metadata import pack_metadata

DEV = load_stack_config("dev")  # has payment hosts
README = Path(__file__).resolve().parents[2] / "README.md"
NEW_FLOW = role_model.Flow("app", "tcp", 9999, "test flow from app", "NET-07", peer_purpose="app to the test flow")


def _with_payment_flow(flow: role_model.Flow) -> tuple[role_model.Role, ...]:
    return tuple(
        dataclasses.replace(r, ingress=(*r.ingress, flow)) if r.name == "payment" else r for r in role_model.MODEL
    )


def _nft(role: str) -> str:
    data = role in ("db", "recordings", "loghost")
    secrets = HostSecrets(luks_key="k" * 64) if data else None
    document = yaml.safe_load(
        render_user_data(
            DEV, role, f"dev-{role}-1", identity(), secrets, "/dev/vdb" * data, log=log_for(DEV, role, f"dev-{role}-1")
        )
    )
    return next(f for f in document["write_files"] if f["path"] == "/etc/nftables.conf")["content"]


def _accepts(nft: str) -> set[str]:
    return {line.strip() for line in nft.splitlines() if re.search(r"dport \d+ (ct state new )?accept", line)}


def _nft_check(text: str, tmp_path: Path, name: str) -> None:
    """`nft -c -f` when this machine can (the nftables package, root for the netlink socket)."""
    if shutil.which("nft") is None or os.geteuid() != 0:
        return
    path = tmp_path / f"{name}.nft"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_one_model_edit_changes_security_groups_and_nftables(monkeypatch, tmp_path) -> None:
    before_rules = set(firewall_rules(DEV))
    before_nft = {role: _accepts(_nft(role)) for role in ("app", "payment", "db")}

    monkeypatch.setattr(role_model, "MODEL", _with_payment_flow(NEW_FLOW))

    added = set(firewall_rules(DEV)) - before_rules
    assert added == {
        Rule("payment", "ingress", "tcp", 9999, "test flow from app", remote_role="app"),
        Rule("app", "egress", "tcp", 9999, "app to the test flow", remote_role="payment"),
    }
    assert before_rules <= set(firewall_rules(DEV))
    after = {role: _nft(role) for role in ("app", "payment", "db")}
    pci, app = DEV.network.zones["pci"], DEV.network.zones["app"]
    assert _accepts(after["payment"]) - before_nft["payment"] == {
        'ip saddr @app tcp dport 9999 ct state new accept comment "test flow from app"'
    }
    assert f"set app {{\n    type ipv4_addr\n    flags interval\n    elements = {{ {app} }}" in after["payment"]
    assert _accepts(after["app"]) - before_nft["app"] == {
        f'ip daddr {pci} tcp dport 9999 accept comment "app to the test flow"'
    }
    assert _accepts(after["db"]) == before_nft["db"]
    for role, text in after.items():
        _nft_check(text, tmp_path, role)


# The host firewall's egress accepts, written out by hand (an oracle, not read from the model).
SERVICES_EGRESS = {("services", "udp", 53), ("services", "tcp", 53), ("services", "udp", 123)}
SERVICES_EGRESS |= {("services", "tcp", 443)}
TO_LOG_HOST = {("mgmt", "tcp", 6514)}  # HOST-15: the log hosts live in the management zone
TO_KEYSTONE = {("services", "tcp", 5000)}  # backup.swiftAuthUrl of the dev stack: https://keystone...:5000/v3
EGRESS = {
    "bastion": SERVICES_EGRESS | TO_LOG_HOST | {("app", "tcp", 22), ("data", "tcp", 22), ("pci", "tcp", 22)},
    "app": SERVICES_EGRESS | TO_LOG_HOST | {("data", "tcp", 5432), ("data", "tcp", 443), ("pci", "tcp", 8443)},
    "db": SERVICES_EGRESS | TO_LOG_HOST | TO_KEYSTONE,
    "recordings": SERVICES_EGRESS | TO_LOG_HOST | TO_KEYSTONE,
    "payment": SERVICES_EGRESS | TO_LOG_HOST,
    "loghost": SERVICES_EGRESS,  # its own stream goes to its receiver over loopback
}
EGRESS["bastion"] |= {("mgmt", "tcp", 22)}  # SSH to the log host
METADATA_FETCH = {("metadata", "tcp", 80)}


@pytest.mark.parametrize("role", sorted(EGRESS))
def test_output_chain_accepts_the_role_egress_and_drops_the_rest(role: str, tmp_path) -> None:
    nft = _nft(role)
    output = nft.split("chain output {")[1]
    assert "type filter hook output priority filter; policy drop;" in output
    cidr_name = {str(net): zone for zone, net in DEV.network.zones.items()} | {DEV.network.services_cidr: "services"}
    cidr_name["169.254.169.254"] = "metadata"  # root only (cloud-init): the non-root drop sits ahead of it
    found = re.findall(r"ip daddr ([0-9./]+) (tcp|udp) dport (\d+) accept", output)
    assert {(cidr_name[cidr], proto, int(port)) for cidr, proto, port in found} == EGRESS[role] | METADATA_FETCH
    lines = [line.strip() for line in output.splitlines()]
    chain = lines[: lines.index("}")]  # the output chain, up to its closing brace
    assert chain[-2] == 'limit rate 5/second burst 10 packets log prefix "ccaas-egress-drop: " level info'
    assert chain[-1] == "counter drop"
    _nft_check(nft, tmp_path, role)


def test_readme_flow_table_is_generated_from_the_model() -> None:
    current = flow_table.between_markers(README.read_text(encoding="utf-8"))
    assert current == flow_table.render(), "run: python -m ccsec.infra.flow_table README.md"


def test_flow_table_follows_a_model_edit() -> None:
    rows = flow_table.rows(_with_payment_flow(NEW_FLOW))
    assert ("`app`", "`payment`", "tcp 9999", "test flow from app", "NET-07") in rows
    assert len(rows) == len(flow_table.rows()) + 1


def test_every_flow_names_a_catalogued_control() -> None:
    from ccsec.policies.controls import load_catalogue

    catalogue = load_catalogue()
    for link in role_model.links():
        assert catalogue.control(link.flow.control).id == link.flow.control


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: dataclasses.replace(r, egress=(role_model.Flow("db", "tcp", 5432, "x", "NET-05"),)), "is a role"),
        (lambda r: dataclasses.replace(r, ingress=(role_model.Flow("nobody", "tcp", 1, "x", "NET-05"),)), "unknown"),
        (lambda r: dataclasses.replace(r, zone="dmz"), "zone"),
        (lambda r: dataclasses.replace(r, ingress=(role_model.Flow("app", "icmp", 0, "x", "NET-05"),)), "tcp/udp"),
    ],
)
def test_a_contradictory_model_is_refused(edit, message: str) -> None:
    model = tuple(edit(r) if r.name == "app" else r for r in role_model.MODEL)
    with pytest.raises(role_model.RoleModelError, match=message):
        role_model.check_model(model)


def test_pack_defaults_match_the_model() -> None:
    """The pack ships standalone defaults; they must be what the model says for the baseline today."""
    defaults = {k: v.get("default") for m in pack_metadata() for k, v in m.config.items()}
    values = pack_config_values(DEV)
    for key in ("statefulRoles", "restrictedEgressRoles", "pciRoles"):
        assert defaults[key] == values[key], key
    assert defaults["allowedFlows"] == []  # flows come only from a model: no matrix inside the pack


def test_allowed_flows_are_the_security_group_rules() -> None:
    flows = pack_config_values(DEV)["allowedFlows"]
    rules = firewall_rules(DEV)
    assert len(flows) == len(rules)
    assert {"role": "payment", "direction": "ingress", "protocol": "tcp", "port": 8443, "remoteRole": "app"} in flows
    admin = {"role": "bastion", "direction": "ingress", "protocol": "tcp", "port": 22}
    assert [{**admin, "remoteCidr": c} for c in DEV.network.admin_cidrs] == [
        f for f in flows if f["role"] == "bastion" and f["direction"] == "ingress"
    ]


def test_plan_judges_the_program_by_the_model_flows() -> None:
    from ccsec.plan import plan, stack_policy_config

    config = stack_policy_config(DEV)
    assert config["secgroup-flows-declared"]["allowedFlows"] == pack_config_values(DEV)["allowedFlows"]
    flows = config["secgroup-flows-declared"]["allowedFlows"]
    payment = [f for f in flows if f["role"] == "payment" and f["port"] == 8443]
    report = plan(
        "dev", policy_config={"secgroup-flows-declared": {"allowedFlows": [f for f in flows if f not in payment]}}
    )
    assert [v.policy for v in report.findings] == ["secgroup-flows-declared"]
    assert "payment" in report.findings[0].message


def test_a_role_whose_hosts_cannot_reach_the_log_host_is_refused() -> None:
    """HOST-15: a new role (or one dropped from the log host's ingress) would keep its audit trail local only."""
    extra = role_model.Role("voice", "app", "a new role", egress=role_model.SERVICES_EGRESS)
    with pytest.raises(role_model.RoleModelError, match="voice: its hosts cannot reach the log host"):
        role_model.check_model((*role_model.MODEL, extra))
    without_app = tuple(
        dataclasses.replace(r, ingress=tuple(f for f in r.ingress if f.peer != "app"))
        if r.name == role_model.LOG_HOST_ROLE
        else r
        for r in role_model.MODEL
    )
    with pytest.raises(role_model.RoleModelError, match="app: its hosts cannot reach the log host"):
        role_model.check_model(without_app)


def test_a_role_that_backs_up_without_a_path_to_keystone_is_refused() -> None:
    """BKP-01: an agent that cannot fetch its token loses every backup, silently, at both walls."""
    without = tuple(
        dataclasses.replace(r, egress=role_model.SERVICES_EGRESS) if r.name == "recordings" else r
        for r in role_model.MODEL
    )
    with pytest.raises(role_model.RoleModelError, match="recordings: its backup agent cannot reach Keystone"):
        role_model.check_model(without)


def _services_egress(cfg, role: str) -> set[tuple[str, int]]:
    services = cfg.network.services_cidr
    return {
        (r.protocol, r.port)
        for r in firewall_rules(cfg)
        if r.role == role and r.direction == "egress" and r.remote_cidr == services
    }


@pytest.mark.parametrize(
    ("url", "port"),
    [("https://keystone.internal:5000/v3", 5000), ("https://keystone.internal:35357/v3", 35357),
     ("https://keystone.internal/v3", 443), ("https://keystone.internal:443/identity/v3", 443)],
)  # fmt: skip
def test_the_backup_hosts_reach_keystone_on_the_port_of_its_url(url: str, port: int) -> None:
    cfg = dataclasses.replace(DEV, backup=dataclasses.replace(DEV.backup, swift_auth_url=url))
    every_host = {("udp", 53), ("tcp", 53), ("udp", 123), ("tcp", 443)}
    for role in ("db", "recordings"):
        assert _services_egress(cfg, role) == every_host | {("tcp", port)}
    for role in ("app", "bastion", "payment", "loghost"):
        assert _services_egress(cfg, role) == every_host
    rules = [(r.role, r.direction, r.protocol, r.port, r.remote_cidr, r.remote_role) for r in firewall_rules(cfg)]
    assert len(rules) == len(set(rules)), "a duplicate security-group rule (Neutron refuses it with 409)"
    slugs = [r.slug for r in firewall_rules(cfg)]
    assert len(slugs) == len(set(slugs)), "two rules with one Pulumi resource name"
