"""Stack-level segmentation: who may reach which tier (NET-01, NET-02, NET-05, NET-07).

These need the rule's owning group and peer group, so they run once over the whole stack.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from . import _sgrule as rule
from ._meta import stack_policy
from ._props import DATA_ROLES, PCI_ROLES, SEC_GROUP, SEC_GROUP_RULE
from ._topology import ADDRESS_GROUP, RuleView, rule_views
from .secgroups import PUBLIC_PORTS_SCHEMA, public_ports


def _source(v: RuleView) -> str:
    """The peer by meaning (never the prefix value: messages name inputs, not values)."""
    if v.span is not None:
        return f"{v.span.label()} (remoteIpPrefix/remoteAddressGroupId)"
    return f"the '{v.peer_role}' group" if v.peer_role else "an unresolved peer"


def _public_web_lb_only(args: StackValidationArgs, report: ReportViolation) -> None:
    ports = public_ports(args.get_config())
    for v in rule_views(args.resources):
        props = v.rule.props
        exposed = [p for p in ports if rule.covers_tcp_port(props, p)]
        if rule.is_ingress(props) and v.span is not None and v.span.internet_wide() and exposed and v.role != "lb":
            who = f"the '{v.role}' group" if v.role else "a group whose role is unknown"
            report(f"{v.rule.name}: tcp {exposed} from the internet on {who}; only the lb group may.", v.rule.urn)


def _ssh_from_bastion(args: StackValidationArgs, report: ReportViolation) -> None:
    for v in rule_views(args.resources):
        props = v.rule.props
        if not (rule.is_ingress(props) and rule.covers_tcp_port(props, 22)) or v.role in (None, "bastion"):
            continue
        if v.peer_role != "bastion":
            report(
                f"{v.rule.name}: SSH to the '{v.role}' group from {_source(v)}; only the bastion group may.", v.rule.urn
            )


def _data_pci_egress(args: StackValidationArgs, report: ReportViolation) -> None:
    for v in rule_views(args.resources):
        props = v.rule.props
        if v.role not in DATA_ROLES + PCI_ROLES or not rule.is_egress(props):
            continue
        if v.problem:  # the destination cannot be proven private: fail closed
            report(f"{v.rule.name}: the '{v.role}' tier's egress cannot be judged: {v.problem}.", v.rule.urn)
        elif v.span is not None and v.span.public:  # any public destination, not only 0.0.0.0/0
            report(f"{v.rule.name}: the '{v.role}' tier may send {rule.describe(props)}.", v.rule.urn)


def _pci_zone_app_only(args: StackValidationArgs, report: ReportViolation) -> None:
    allow_bastion_ssh = args.get_config().get("allowBastionSsh", True) is not False
    for v in rule_views(args.resources):
        props = v.rule.props
        if v.role not in PCI_ROLES or not rule.is_ingress(props):
            continue
        if v.peer_role == "app":
            continue
        if allow_bastion_ssh and v.peer_role == "bastion" and rule.is_exactly_tcp_port(props, 22):
            continue
        report(f"{v.rule.name}: the PCI zone admits {rule.describe(props)} ({_source(v)}).", v.rule.urn)


POLICIES = [
    stack_policy(
        "secgroup-public-web-lb-only",
        control="NET-01",
        severity=Severity.HIGH,
        description="Only the load-balancer security group (ccaas-role=lb) accepts tcp 443 (and 80 for the "
        "redirect) from the internet.",
        remediation="Move the internet-facing rule to the lb group; other tiers accept traffic only from "
        "the group in front of them (remote_group_id).",
        validate=_public_web_lb_only,
        reads=(SEC_GROUP, SEC_GROUP_RULE, ADDRESS_GROUP),
        config=PUBLIC_PORTS_SCHEMA,
    ),
    stack_policy(
        "secgroup-ssh-from-bastion",
        control="NET-02",
        severity=Severity.HIGH,
        description="Hosts other than the bastion accept SSH only from the bastion security group.",
        remediation="Replace CIDR-based SSH rules on app/db/recordings/payment/lb groups with "
        "remote_group_id=<bastion group id>.",
        validate=_ssh_from_bastion,
        reads=(SEC_GROUP, SEC_GROUP_RULE, ADDRESS_GROUP),
    ),
    stack_policy(
        "secgroup-data-pci-egress",
        control="NET-05",
        severity=Severity.HIGH,
        description="Data (db, recordings) and PCI (payment) tiers have no egress to 0.0.0.0/0 or ::/0.",
        remediation="Give egress rules on these groups a specific remote_ip_prefix (e.g. the object-store "
        "endpoint) or a remote_group_id.",
        validate=_data_pci_egress,
        reads=(SEC_GROUP, SEC_GROUP_RULE, ADDRESS_GROUP),
    ),
    stack_policy(
        "pci-zone-app-only",
        control="NET-07",
        severity=Severity.CRITICAL,
        description="The PCI zone (ccaas-role=payment) accepts traffic only from the app tier's group "
        "(plus SSH from the bastion group).",
        remediation="Make every ingress rule of the payment group use remote_group_id=<app group id> "
        "(tcp 22 from the bastion group is the one exception); remove CIDR rules.",
        validate=_pci_zone_app_only,
        reads=(SEC_GROUP, SEC_GROUP_RULE, ADDRESS_GROUP),
        config={
            "allowBastionSsh": {
                "type": "boolean",
                "default": True,
                "description": "Allow tcp 22 from the bastion group into the PCI zone.",
            }
        },
    ),
]
