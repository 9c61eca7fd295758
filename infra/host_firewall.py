"""nftables values for one host role, derived from the role model (`infra/roles.py`).

The host firewall mirrors the security groups on the host itself, so a mis-set group is not the
only wall. Security groups can name a peer group; nftables cannot, so a role peer becomes its
zone's CIDR (the whole zone: e.g. both data-zone roles may reach db's 5432).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ccsec.infra import roles as model
from ccsec.infra.config import StackConfig
from ccsec.infra.firewall_rules import flow_applies, flow_port, peer_cidrs


def _zone_cidrs(cfg: StackConfig) -> dict[str, list[str]]:
    return {name: [str(net)] for name, net in cfg.network.zones.items()}


def _endpoint(peer: str, cfg: StackConfig, catalogue: list[model.Role]) -> tuple[str, list[str]]:
    """(set name, CIDRs) for a peer: a role's zone, or a non-role peer's CIDRs."""
    if peer in {r.name for r in catalogue}:
        zone = model.role(peer, catalogue).zone
        return zone, _zone_cidrs(cfg)[zone]
    return peer, peer_cidrs(peer, cfg)


@dataclass(frozen=True)
class ExtraEgress:
    """An output accept outside the role model: only the lab adds one (its bastion's path to the other VMs'
    SSH forwards, which stands in for tcp 22 to their zones). Checked here: it lands in nftables.conf."""

    address: str
    protocol: str
    ports: tuple[int, ...]
    comment: str

    def __post_init__(self) -> None:
        ipaddress.IPv4Address(self.address)  # ValueError on anything but a plain IPv4 address
        if self.protocol not in ("tcp", "udp"):
            raise ValueError(f"extra egress: protocol {self.protocol!r} is not tcp or udp")
        if not self.ports or any(type(p) is not int or not 0 < p < 65536 for p in self.ports):
            raise ValueError(f"extra egress: ports {self.ports!r} must be 1-65535")
        if not self.comment.isprintable() or '"' in self.comment or "\\" in self.comment:
            raise ValueError(f"extra egress: comment {self.comment!r} must be printable, without quotes")


def firewall_context(
    cfg: StackConfig,
    role: str,
    roles: Iterable[model.Role] | None = None,
    extra_egress: Iterable[ExtraEgress] = (),
) -> dict[str, Any]:
    """Template values: input sets and accept rules, and the output chain's egress accepts."""
    catalogue = list(model.MODEL if roles is None else roles)
    applicable = [link for link in model.links(catalogue) if flow_applies(link.flow, cfg)]
    sets: dict[str, list[str]] = {}
    inbound: dict[tuple[str, str, int], list[str]] = {}
    for link in applicable:
        if link.target == role and link.inbound:
            name, cidrs = _endpoint(link.source, cfg, catalogue)
            sets[name] = cidrs
            comments = inbound.setdefault((name, link.flow.protocol, flow_port(link.flow, cfg)), [])
            comments.append(link.flow.comment)  # two roles of one zone (db, recordings to the log host): one rule
    outbound: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, ...], str, int]] = set()
    for link in applicable:
        if link.source != role:
            continue
        _, cidrs = _endpoint(link.target, cfg, catalogue)
        port = flow_port(link.flow, cfg)
        key = (tuple(cidrs), link.flow.protocol, port)
        if key in seen:  # e.g. bastion to db and to recordings: one data-zone rule
            continue
        seen.add(key)
        comment = link.flow.peer_purpose if link.inbound else link.flow.comment
        daddr = cidrs[0] if len(cidrs) == 1 else "{ " + ", ".join(cidrs) + " }"
        outbound.append({"daddr": daddr, "protocol": link.flow.protocol, "port": port, "comment": comment})
    for extra in extra_egress:
        ports = str(extra.ports[0]) if len(extra.ports) == 1 else "{ " + ", ".join(map(str, extra.ports)) + " }"
        outbound.append({"daddr": extra.address, "protocol": extra.protocol, "port": ports, "comment": extra.comment})
    rules = [
        {"set": name, "protocol": protocol, "port": port, "comment": _merged(comments)}
        for (name, protocol, port), comments in inbound.items()
    ]
    return {"nft_sets": sets, "nft_rules": rules, "nft_egress": outbound}


def _merged(comments: list[str]) -> str:
    """One comment for flows that share a rule: "logs ... from db" + "logs ... from recordings"."""
    if len(comments) == 1:
        return comments[0]
    head = comments[0].rsplit(" ", 1)[0]
    if all(c.rsplit(" ", 1)[0] == head for c in comments):
        return f"{head} " + ", ".join(c.rsplit(" ", 1)[1] for c in comments)
    return "; ".join(comments)
