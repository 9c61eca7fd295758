"""FWaaS v2 rules (NET-13): an allow rule names an internal source and destination.

Neutron's FWaaS v2 applies rules on router ports, in front of the security groups. A rule's action
defaults to deny and ``enabled`` to true; an address left out matches every address. So an enabled
allow rule must set both ``source_ip_address`` and ``destination_ip_address`` (an address or a CIDR),
and neither may reach public space, in any spelling ``ipaddress`` accepts (``::0/0``, host bits set,
IPv4-mapped IPv6). An address unknown at preview cannot be proven internal: the policy fails closed,
naming the input, never printing a value.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from . import _cidr
from ._meta import only_types, resource_policy
from ._props import FW_RULE, is_unknown, raw_get

SIDES = (("sourceIpAddress", "source_ip_address"), ("destinationIpAddress", "destination_ip_address"))


def _allows(props: object) -> bool:
    """Enabled allow rule (unknown action or enabled count as allow / enabled: fail closed)."""
    action = raw_get(props, "action")
    enabled = raw_get(props, "enabled")
    if enabled is False or (isinstance(enabled, str) and enabled.strip().lower() == "false"):
        return False
    return is_unknown(action) or (isinstance(action, str) and action.strip().lower() == "allow")


def side_problem(value: object, field: str) -> str | None:
    """Why one side of an allow rule is too open, naming the input only."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{field} is not set, so the rule matches every address"
    if is_unknown(value):
        return f"{field} is unknown at preview and cannot be proven internal (use a literal CIDR)"
    kind = _cidr.classify(value)
    if kind == "unparseable":
        return f"{field} is not an address or CIDR ipaddress accepts"
    if kind != "private":
        return f"{field} reaches {kind} space"
    return None


@only_types(FW_RULE)
def _fw_rule_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _allows(args.props):
        args.not_applicable("not an enabled allow rule")
    for key, field in SIDES:
        problem = side_problem(raw_get(args.props, key), field)
        if problem:
            report(problem + ".")


POLICIES = [
    resource_policy(
        "fw-rule-allow-scoped",
        control="NET-13",
        severity=Severity.HIGH,
        description="Enabled FWaaS allow rules set source_ip_address and destination_ip_address to internal "
        "(RFC 1918 / ULA) addresses; a missing address matches everything.",
        remediation="Set source_ip_address and destination_ip_address on openstack.firewall.RuleV2 to the "
        "tier subnets (e.g. '10.20.10.0/24'); put internet-facing traffic behind the load balancer instead.",
        validate=_fw_rule_scoped,
        aliases=("CKV_OPENSTACK_5", "AVD-OPNSTK-0002"),
    ),
]
