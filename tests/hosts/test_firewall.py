"""HOST-04: nftables default-deny inbound with only the role's flows, logged drops."""

from __future__ import annotations

import json

import pytest

ROLE_PORTS = {
    "bastion": {22},
    "app": {443, 22},
    "db": {5432, 22},
    "recordings": {443, 22},
    "payment": {8443, 22},
}


def ruleset(host) -> list[dict]:
    with host.sudo():
        return json.loads(host.check_output("nft -j list ruleset"))["nftables"]


def input_chain(items: list[dict]) -> dict:
    chains = [i["chain"] for i in items if "chain" in i and i["chain"].get("hook") == "input"]
    assert len(chains) == 1, f"expected one input hook chain, found {len(chains)}"
    return chains[0]


def accepted_ports(items: list[dict]) -> set[int]:
    ports = set()
    for item in items:
        rule = item.get("rule")
        if not rule or rule.get("chain") != "input":
            continue
        exprs = rule["expr"]
        if not any("accept" in e for e in exprs):
            continue
        for e in exprs:
            match = e.get("match", {})
            if match.get("left", {}).get("payload", {}).get("field") == "dport":
                right = match["right"]
                ports.update(right["set"] if isinstance(right, dict) and "set" in right else [right])
    return {p for p in ports if isinstance(p, int)}


@pytest.mark.control("HOST-04")
def test_input_policy_is_drop(host) -> None:
    assert input_chain(ruleset(host))["policy"] == "drop"


@pytest.mark.control("HOST-04")
def test_only_the_role_ports_are_accepted(host, role: str) -> None:
    tcp_ports = accepted_ports(ruleset(host)) - {68}
    assert tcp_ports == ROLE_PORTS[role]


@pytest.mark.control("HOST-04")
def test_drops_are_logged(host) -> None:
    with host.sudo():
        text = host.check_output("nft list chain inet ccaas_filter input")
    assert 'log prefix "ccaas-drop: "' in text


@pytest.mark.control("HOST-04")
def test_firewall_survives_reboot(host) -> None:
    assert host.service("nftables").is_enabled
