"""Joins between resources for stack policies: which group a rule belongs to, which group it admits,
which addresses an address group holds, and which role a resource plays.

IDs are unknown at preview time and are opaque mock values offline, so joins never compare id values:
they follow what the engine records. ``refs(res, prop)`` is the resources the property's value was
computed from (the analyzer's ``propertyDependencies``); when a registration carries no property
dependencies at all (hand-built stacks, older engines) it falls back to the resource's dependencies.
Roles come from the ccaas-role tag, then the "<stack>-<role>" name, then the "<role>:" description
prefix; a resource with no role is treated as unknown, never as trusted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pulumi_policy import PolicyResource

from . import _cidr
from . import _sgrule as rule
from ._props import (
    SEC_GROUP,
    SEC_GROUP_RULE,
    is_unknown,
    plain,
    raw_get,
    role_from_description,
    role_from_name,
    seq,
    tagged_role,
)

ADDRESS_GROUP = "openstack:networking/addressGroupV2:AddressGroupV2"


def resource_role(res: PolicyResource | None) -> str | None:
    """The role a resource (group, port, instance, floating IP...) declares, if any (never raises on unknowns)."""
    if res is None:
        return None
    props = plain(res.props)
    return (
        tagged_role(props)
        or role_from_name(raw_get(props, "name"))
        or role_from_name(raw_get(props, "description"))
        or role_from_name(res.name)
    )


def deps_of_type(res: PolicyResource, token: str) -> list[PolicyResource]:
    return [d for d in res.dependencies if d.resource_type == token]


def has_property_dependencies(res: PolicyResource) -> bool:
    return bool(getattr(res, "property_dependencies", None))


def refs(res: PolicyResource, prop: str, token: str | None = None) -> list[PolicyResource]:
    """Resources the value of ``prop`` was computed from (optionally of one type).

    With property dependencies this is exact; without any (hand-built stacks) it is every dependency
    of the type, which callers disambiguate.
    """
    found = list(res.property_dependencies.get(prop, [])) if has_property_dependencies(res) else list(res.dependencies)
    return [d for d in found if token is None or d.resource_type == token]


@dataclass(frozen=True)
class RuleView:
    """A security-group rule with its owning group, its peer group and its resolved peer addresses."""

    rule: PolicyResource
    group: PolicyResource | None
    peer: PolicyResource | None
    role: str | None
    span: _cidr.Span | None  # addresses the rule admits (prefix / address group / anywhere); None for a group peer
    problem: str | None  # why the addresses cannot be judged (names the input, never the value)

    @property
    def peer_role(self) -> str | None:
        return resource_role(self.peer)

    @property
    def props(self):
        return self.rule.props


def _owning_group(res: PolicyResource) -> PolicyResource | None:
    if res.parent is not None and res.parent.resource_type == SEC_GROUP:
        return res.parent
    if has_property_dependencies(res):
        groups = refs(res, "securityGroupId", SEC_GROUP)
        return groups[0] if len(groups) == 1 else None
    groups = deps_of_type(res, SEC_GROUP)
    if len(groups) == 1 and not rule.has_remote_security_group(res.props):
        return groups[0]
    return None


def _peer_group(res: PolicyResource, group: PolicyResource | None) -> PolicyResource | None:
    if not rule.has_remote_security_group(res.props):
        return None
    if has_property_dependencies(res):
        peers = refs(res, "remoteGroupId", SEC_GROUP)
        return peers[0] if len(peers) == 1 else None
    if group is None:
        return None
    others = [g for g in deps_of_type(res, SEC_GROUP) if g is not group]
    if not others:  # a group referring to itself
        return group if len(deps_of_type(res, SEC_GROUP)) == 1 else None
    return others[0] if len(others) == 1 else None


def address_group_span(group: PolicyResource) -> tuple[_cidr.Span | None, str | None]:
    """The union of an address group's addresses, or why it cannot be judged."""
    addresses = raw_get(group.props, "addresses")
    if is_unknown(addresses):
        return None, f"{group.name}: addresses is unknown at preview and cannot be proven narrow"
    nets = []
    for index, entry in enumerate(seq(addresses)):
        net = _cidr.try_parse(entry)
        if net is None:
            what = "unknown at preview" if is_unknown(entry) else "not a CIDR ipaddress accepts"
            return None, f"{group.name}: addresses[{index}] is {what} (failing closed)"
        nets.append(net)
    return _cidr.Span.of(nets), None


def _peer_addresses(res: PolicyResource) -> tuple[_cidr.Span | None, str | None]:
    props = res.props
    problem = rule.prefix_problem(props)
    if problem:
        return None, problem
    own = rule.own_peer_span(props)
    if own is not None:
        return own, None
    if rule.has_remote_address_group(props):
        groups = refs(res, "remoteAddressGroupId", ADDRESS_GROUP)
        if len(groups) != 1:
            value = raw_get(props, "remoteAddressGroupId")
            why = "unknown at preview" if is_unknown(value) else "not an address group of this stack"
            return None, f"remoteAddressGroupId is {why}; its addresses cannot be judged (failing closed)"
        return address_group_span(groups[0])
    return None, None  # a remote security group: judged by role, not by address


def rule_views(resources: Iterable[PolicyResource]) -> list[RuleView]:
    """Every SecGroupRule of the stack, joined to its groups and peer addresses."""
    views = []
    for res in resources:
        if res.resource_type != SEC_GROUP_RULE:
            continue
        group = _owning_group(res)
        role = resource_role(group) or role_from_description(raw_get(res.props, "description"))
        span, problem = _peer_addresses(res)
        views.append(RuleView(res, group, _peer_group(res, group), role, span, problem))
    return views
