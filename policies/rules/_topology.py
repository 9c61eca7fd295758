"""Joins between resources for stack policies: which group a rule belongs to, which group it admits,
and which role a resource plays.

IDs are unknown at preview time and are opaque mock values offline, so joins use what the engine
records instead: the Pulumi parent and the dependency URNs (a rule depends on the group whose id it
was given). Roles come from the ccaas-role tag, then the "<stack>-<role>" name, then the "<role>:"
description prefix; a resource with no role is treated as unknown, never as trusted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pulumi_policy import PolicyResource

from . import _sgrule as rule
from ._props import SEC_GROUP, SEC_GROUP_RULE, get, role_from_description, role_from_name, tagged_role


def resource_role(res: PolicyResource | None) -> str | None:
    """The role a resource (group, port, instance, floating IP...) declares, if any."""
    if res is None:
        return None
    props = res.props
    return (
        tagged_role(props)
        or role_from_name(get(props, "name"))
        or role_from_name(get(props, "description"))
        or role_from_name(res.name)
    )


def deps_of_type(res: PolicyResource, token: str) -> list[PolicyResource]:
    return [d for d in res.dependencies if d.resource_type == token]


@dataclass(frozen=True)
class RuleView:
    """A security-group rule with its owning group and (for remote-group rules) its peer group."""

    rule: PolicyResource
    group: PolicyResource | None
    peer: PolicyResource | None
    role: str | None

    @property
    def peer_role(self) -> str | None:
        return resource_role(self.peer)


def _owning_group(res: PolicyResource) -> PolicyResource | None:
    if res.parent is not None and res.parent.resource_type == SEC_GROUP:
        return res.parent
    groups = deps_of_type(res, SEC_GROUP)
    if len(groups) == 1 and not rule.has_remote_group(res.props):
        return groups[0]
    return None


def _peer_group(res: PolicyResource, group: PolicyResource | None) -> PolicyResource | None:
    if not rule.has_remote_group(res.props):
        return None
    others = [g for g in deps_of_type(res, SEC_GROUP) if g is not group]
    if group is None:
        return None
    if not others:  # a group referring to itself
        return group if len(deps_of_type(res, SEC_GROUP)) == 1 else None
    return others[0] if len(others) == 1 else None


def rule_views(resources: Iterable[PolicyResource]) -> list[RuleView]:
    """Every SecGroupRule of the stack, joined to its groups."""
    views = []
    for res in resources:
        if res.resource_type != SEC_GROUP_RULE:
            continue
        group = _owning_group(res)
        role = resource_role(group) or role_from_description(get(res.props, "description"))
        views.append(RuleView(res, group, _peer_group(res, group), role))
    return views
