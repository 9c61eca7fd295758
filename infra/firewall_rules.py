"""Security-group rules, derived from the role model (`infra/roles.py`) for one stack.

Kept apart from the Pulumi resources so the rules can be read, reviewed and unit-tested on their
own. Everything not listed is denied: every security group is created with its default rules
deleted (no implicit allow-all egress). A role-to-role flow yields two rules: ingress on the
receiving group and the mirrored egress on the sending group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ccsec.infra import roles as model
from ccsec.infra.config import StackConfig

ANYWHERE_V4 = "0.0.0.0/0"
HOST_ROLES = model.HOST_ROLES
SG_ROLES = model.ALL_ROLES


@dataclass(frozen=True)
class Rule:
    """One allowed flow. Exactly one of remote_cidr / remote_role is set."""

    role: str  # the security group the rule belongs to
    direction: str  # "ingress" | "egress"
    protocol: str  # "tcp" | "udp"
    port: int
    purpose: str
    remote_cidr: str | None = None
    remote_role: str | None = None

    @property
    def slug(self) -> str:
        remote = self.remote_role or (self.remote_cidr or "").replace("/", "-").replace(".", "-").replace(":", "-")
        return f"{self.role}-{self.direction}-{self.protocol}{self.port}-{remote}"


def flow_port(flow: model.Flow, cfg: StackConfig) -> int:
    """The flow's port number in this stack (a port such as the log host's comes from config)."""
    if flow.port == model.LOG_PORT:
        return cfg.logging.port
    if flow.port == model.KEYSTONE_PORT:
        return url_port(cfg.backup.swift_auth_url)
    assert isinstance(flow.port, int)
    return flow.port


def url_port(url: str) -> int:
    """The TCP port an https URL connects to (443 when it names none)."""
    return urlsplit(url).port or 443


def flow_applies(flow: model.Flow, cfg: StackConfig) -> bool:
    """False for a flow behind a stack switch that is off (e.g. HTTP only with the redirect on)."""
    return flow.when != model.HTTP_REDIRECT or cfg.tls.http_redirect


def peer_cidrs(peer: str, cfg: StackConfig) -> list[str]:
    """CIDRs of a non-role peer in this stack."""
    if peer == model.ADMINS:
        return list(cfg.network.admin_cidrs)
    if peer == model.SERVICES:
        return [cfg.network.services_cidr]
    if peer == model.ANYWHERE:
        return [ANYWHERE_V4]
    raise KeyError(f"{peer!r} is a role, not a CIDR peer")


def _rules_for(link: model.Link, cfg: StackConfig, role_names: set[str]) -> list[Rule]:
    flow, port = link.flow, flow_port(link.flow, cfg)
    if link.inbound:
        if link.source in role_names:
            return [
                Rule(link.target, "ingress", flow.protocol, port, flow.purpose, remote_role=link.source),
                Rule(link.source, "egress", flow.protocol, port, flow.peer_purpose, remote_role=link.target),
            ]
        cidrs = peer_cidrs(link.source, cfg)
        return [Rule(link.target, "ingress", flow.protocol, port, flow.purpose, remote_cidr=c) for c in cidrs]
    cidrs = peer_cidrs(link.target, cfg)
    return [Rule(link.source, "egress", flow.protocol, port, flow.purpose, remote_cidr=c) for c in cidrs]


def firewall_rules(cfg: StackConfig, roles: Iterable[model.Role] | None = None) -> list[Rule]:
    """Every allowed flow for the stack: the role model resolved against the stack's config.

    Rules of roles without hosts in this stack are dropped (e.g. no payment hosts in a small stack).
    """
    catalogue = list(model.MODEL if roles is None else roles)
    names = {r.name for r in catalogue}
    active = {r.role for r in cfg.roles()} | {r.name for r in catalogue if not r.hosts}
    rules = [
        rule for link in model.links(catalogue) if flow_applies(link.flow, cfg) for rule in _rules_for(link, cfg, names)
    ]
    kept = [r for r in rules if r.role in active and (r.remote_role is None or r.remote_role in active)]
    return _distinct(kept)


def _distinct(rules: list[Rule]) -> list[Rule]:
    """One rule per (group, direction, protocol, port, remote): Neutron refuses a duplicate rule (409), and
    a port from config can land on a fixed one (Keystone on 443 beside Swift's 443)."""
    seen: set[tuple] = set()
    out = []
    for r in rules:
        key = (r.role, r.direction, r.protocol, r.port, r.remote_cidr, r.remote_role)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def allowed_flows(cfg: StackConfig, roles: Iterable[model.Role] | None = None) -> list[dict[str, Any]]:
    """The stack's security-group rules as the policy pack's `allowedFlows` config (JSON-able)."""
    out = []
    for r in firewall_rules(cfg, roles):
        entry: dict[str, Any] = {"role": r.role, "direction": r.direction, "protocol": r.protocol, "port": r.port}
        entry.update({"remoteRole": r.remote_role} if r.remote_role else {"remoteCidr": r.remote_cidr})
        out.append(entry)
    return out
