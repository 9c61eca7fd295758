"""Per-rule and per-group security-group checks that need no other resource (NET-01..04).

These catch an insecure rule in any program, including a five-line one that follows none of our
naming conventions; stack-level segmentation checks live in segmentation.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from . import _cidr
from . import _sgrule as rule
from ._meta import only_types, resource_policy
from ._props import SEC_GROUP, SEC_GROUP_RULE, as_int, is_unknown, raw_get, seq, str_list

ADMIN_CIDRS_SCHEMA = {
    "adminCidrs": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "CIDRs allowed to reach SSH; empty = any private (RFC1918/ULA) prefix.",
    }
}


PUBLIC_PORTS = [443, 80]
PUBLIC_PORTS_SCHEMA = {
    "publicPorts": {
        "type": "array",
        "items": {"type": "integer"},
        "default": PUBLIC_PORTS,
        "description": "TCP ports that may be open to the internet (on the lb group only): HTTPS, and "
        "80 for the redirect-only listener.",
    }
}


def public_ports(config: object) -> list[int]:
    raw = config.get("publicPorts") if isinstance(config, Mapping) else None
    if raw is None:
        return PUBLIC_PORTS
    return [p for p in (as_int(x) for x in seq(raw)) if p is not None]


@only_types(SEC_GROUP_RULE)
def _ingress_from_anywhere(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not rule.is_ingress(props):
        return
    problem = rule.prefix_problem(props)
    if problem:
        report(f"{problem}.")
        return
    if not rule.from_anywhere(props):
        return
    allowed = public_ports(args.get_config())
    if not any(rule.is_exactly_tcp_port(props, port) for port in allowed):
        report(
            f"Rule admits {rule.describe(props)} (remoteIpPrefix); only tcp {allowed} (one port per rule) may be "
            "open to the internet."
        )


@only_types(SEC_GROUP_RULE)
def _ssh_admin_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not (rule.is_ingress(props) and rule.covers_tcp_port(props, 22)):
        return
    prefix = rule.remote_prefix(props)
    if prefix is None:
        if not rule.has_remote_group(props):
            report("SSH (22) is open to anywhere (no remoteIpPrefix, remoteGroupId or remoteAddressGroupId).")
        return
    problem = rule.prefix_problem(props)
    if problem:
        report(f"SSH (22): {problem}.")
        return
    admin = str_list(args.get_config().get("adminCidrs"))
    meaning = _cidr.classify(prefix)
    if meaning in ("anywhere", "internet"):
        report(
            f"SSH (22) is open to {'anywhere' if meaning == 'anywhere' else 'internet-wide public space'} "
            "(remoteIpPrefix)."
        )
    elif admin and not _cidr.within(prefix, admin):
        report("SSH (22) from a remoteIpPrefix outside the configured adminCidrs.")
    elif not admin and meaning != "private":
        report("SSH (22) from a public remoteIpPrefix; set adminCidrs or use a private prefix.")


@only_types(SEC_GROUP_RULE)
def _bounded(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if rule.protocol(props) is None:
        report(f"Rule admits every protocol ({rule.describe(props)}).")
        return
    span = rule.port_span(props)
    if span is not None and span[0] <= 1 and span[1] >= 65535:
        report(f"Rule opens the whole port range ({rule.describe(props)}).")


@only_types(SEC_GROUP)
def _default_rules_deleted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    value = raw_get(args.props, "deleteDefaultRules")
    if is_unknown(value):
        report("deleteDefaultRules is unknown at preview; it must be a literal true.")
    elif value is not True:
        report("deleteDefaultRules is not true: Neutron's default allow-all egress rules remain.")


@only_types(SEC_GROUP, SEC_GROUP_RULE)
def _described(args: ResourceValidationArgs, report: ReportViolation) -> None:
    value = raw_get(args.props, "description")
    if is_unknown(value):
        return  # computed from another output: present, just not known yet
    if not isinstance(value, str) or not value.strip():
        kind = "security group" if args.resource_type == SEC_GROUP else "security-group rule"
        report(f"The {kind} has no description (description): reviewers cannot tell why it exists.")


POLICIES = [
    resource_policy(
        "secgroup-ingress-from-anywhere",
        control="NET-01",
        severity=Severity.CRITICAL,
        description="Security-group ingress from 0.0.0.0/0 or ::/0 (or with no remote) is allowed only for "
        "tcp 443, and tcp 80 for the HTTPS redirect (policy config publicPorts).",
        remediation="Restrict remote_ip_prefix to known CIDRs or a remote_group_id; expose only tcp 443 "
        "(and 80 for the redirect) on the load-balancer security group to the internet.",
        validate=_ingress_from_anywhere,
        config=PUBLIC_PORTS_SCHEMA,
        aliases=("CKV_OPENSTACK_2", "CKV_OPENSTACK_3", "AVD-OPNSTK-0003"),
    ),
    resource_policy(
        "secgroup-ssh-admin-cidrs",
        control="NET-02",
        severity=Severity.CRITICAL,
        description="SSH (tcp 22) is reachable only from admin CIDRs or a security group (the bastion).",
        remediation="Set remote_ip_prefix to an admin CIDR (policy config adminCidrs) on the bastion "
        "group, and remote_group_id=<bastion group> on every other group.",
        validate=_ssh_admin_only,
        config=ADMIN_CIDRS_SCHEMA,
        aliases=("CKV_OPENSTACK_2",),
    ),
    resource_policy(
        "secgroup-rule-bounded",
        control="NET-03",
        severity=Severity.HIGH,
        description="Security-group rules name a protocol and do not open the whole port range.",
        remediation="Set protocol (tcp/udp/icmp) and port_range_min/port_range_max to the ports the service needs.",
        validate=_bounded,
    ),
    resource_policy(
        "secgroup-default-rules-deleted",
        control="NET-04",
        severity=Severity.HIGH,
        description="Security groups are created with delete_default_rules=True (deny by default).",
        remediation="Pass delete_default_rules=True to openstack.networking.SecGroup and add explicit egress rules.",
        validate=_default_rules_deleted,
    ),
    resource_policy(
        "secgroup-described",
        control="NET-12",
        severity=Severity.LOW,
        description="Security groups and security-group rules carry a description (the flow's purpose).",
        remediation="Set description on every SecGroup and SecGroupRule, e.g. '<role>: <purpose>'.",
        validate=_described,
        aliases=("AVD-OPNSTK-0005",),
    ),
]
