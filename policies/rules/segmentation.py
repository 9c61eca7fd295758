"""Stack-level segmentation: who may reach which tier (NET-01, NET-02, NET-03, NET-05, NET-07).

These need the rule's owning group and peer group, so they run once over the whole stack. The
roles each check names are policy config whose defaults are the baseline's roles, so the pack works
standalone; `ccsec plan` passes the values derived from the program's role model, including the
declared flows (`allowedFlows`), which only that config supplies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from . import _sgrule as rule
from ._meta import stack_policy
from ._props import DATA_ROLES, LOG_ROLES, PCI_ROLES, SEC_GROUP, SEC_GROUP_RULE, as_int, prefix_within, seq, str_list
from ._topology import ADDRESS_GROUP, RuleView, rule_views
from .secgroups import PUBLIC_PORTS_SCHEMA, public_ports

PUBLIC_ROLES = ["lb"]
SSH_SOURCE_ROLES = ["bastion"]
RESTRICTED_EGRESS_ROLES = [*DATA_ROLES, *PCI_ROLES, *LOG_ROLES]
PCI_PEER_ROLES = ["app"]


def _roles_schema(description: str, default: list[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": default, "description": description}


PUBLIC_ROLES_SCHEMA = {
    "publicRoles": _roles_schema("Roles whose groups may accept publicPorts from anywhere.", PUBLIC_ROLES)
}
SSH_SOURCES_SCHEMA = {
    "sshSourceRoles": _roles_schema("Roles whose groups may be the source of SSH into other groups.", SSH_SOURCE_ROLES)
}
FLOW_SCHEMA = {
    "type": "object",
    "required": ["role", "direction", "protocol", "port"],
    "properties": {
        "role": {"type": "string"},
        "direction": {"enum": ["ingress", "egress"]},
        "protocol": {"type": "string"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "remoteRole": {"type": "string"},
        "remoteCidr": {"type": "string"},
    },
}


def _roles(config: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
    """A role list from config; absent means the default (an explicit [] means none)."""
    return str_list(config.get(key)) if config.get(key) is not None else default


def _source(v: RuleView) -> str:
    """The peer by meaning (never the prefix value: messages name inputs, not values)."""
    if v.span is not None:
        return f"{v.span.label()} (remoteIpPrefix/remoteAddressGroupId)"
    return f"the '{v.peer_role}' group" if v.peer_role else "an unresolved peer"


def _public_web_lb_only(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    ports, public = public_ports(config), _roles(config, "publicRoles", PUBLIC_ROLES)
    for v in rule_views(args.resources):
        props = v.rule.props
        exposed = [p for p in ports if rule.covers_tcp_port(props, p)]
        if (
            rule.is_ingress(props)
            and v.span is not None
            and v.span.internet_wide()
            and exposed
            and v.role not in public
        ):
            who = f"the '{v.role}' group" if v.role else "a group whose role is unknown"
            report(f"{v.rule.name}: tcp {exposed} from the internet on {who}; only {public} groups may.", v.rule.urn)


def _ssh_from_bastion(args: StackValidationArgs, report: ReportViolation) -> None:
    sources = _roles(args.get_config(), "sshSourceRoles", SSH_SOURCE_ROLES)
    for v in rule_views(args.resources):
        props = v.rule.props
        if not (rule.is_ingress(props) and rule.covers_tcp_port(props, 22)) or v.role is None or v.role in sources:
            continue
        if v.peer_role not in sources:
            report(
                f"{v.rule.name}: SSH to the '{v.role}' group from {_source(v)}; only {sources} groups may.", v.rule.urn
            )


def _data_pci_egress(args: StackValidationArgs, report: ReportViolation) -> None:
    restricted = _roles(args.get_config(), "restrictedEgressRoles", RESTRICTED_EGRESS_ROLES)
    for v in rule_views(args.resources):
        props = v.rule.props
        if v.role not in restricted or not rule.is_egress(props):
            continue
        if v.problem:  # the destination cannot be proven private: fail closed
            report(f"{v.rule.name}: the '{v.role}' tier's egress cannot be judged: {v.problem}.", v.rule.urn)
        elif v.span is not None and v.span.public:  # any public destination, not only 0.0.0.0/0
            report(f"{v.rule.name}: the '{v.role}' tier may send {rule.describe(props)}.", v.rule.urn)


def _pci_zone_app_only(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    allow_bastion_ssh = config.get("allowBastionSsh", True) is not False
    pci, peers = _roles(config, "pciRoles", list(PCI_ROLES)), _roles(config, "pciPeerRoles", PCI_PEER_ROLES)
    ssh_sources = _roles(config, "sshSourceRoles", SSH_SOURCE_ROLES)
    for v in rule_views(args.resources):
        props = v.rule.props
        if v.role not in pci or not rule.is_ingress(props):
            continue
        if v.peer_role in peers:
            continue
        if allow_bastion_ssh and v.peer_role in ssh_sources and rule.is_exactly_tcp_port(props, 22):
            continue
        report(f"{v.rule.name}: the PCI zone admits {rule.describe(props)} ({_source(v)}).", v.rule.urn)


def _declared(v: RuleView, flow: Any) -> bool:
    """The rule is exactly this declared flow (one port; the same peer role, or inside the CIDR)."""
    props = v.rule.props
    if not isinstance(flow, Mapping) or flow.get("role") != v.role:
        return False
    direction = "ingress" if rule.is_ingress(props) else "egress" if rule.is_egress(props) else None
    port = as_int(flow.get("port"))
    if direction != flow.get("direction") or rule.protocol(props) != flow.get("protocol") or port is None:
        return False
    if rule.port_span(props) != (port, port):
        return False
    if flow.get("remoteRole") is not None:
        return rule.has_remote_group(props) and v.peer_role == flow.get("remoteRole")
    prefix, cidr = rule.remote_prefix(props), flow.get("remoteCidr")
    return prefix is not None and isinstance(cidr, str) and prefix_within(prefix, [cidr])


def _flows_declared(args: StackValidationArgs, report: ReportViolation) -> None:
    flows = seq(args.get_config().get("allowedFlows"))
    if not flows:  # no declared matrix (the pack on its own): the structural checks above still apply
        return
    for v in rule_views(args.resources):
        if not any(_declared(v, flow) for flow in flows):
            who = f"the '{v.role}' group" if v.role else "a group whose role is unknown"
            report(f"{v.rule.name}: {rule.describe(v.rule.props)} on {who} is not a declared flow.", v.rule.urn)


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
        config={**PUBLIC_PORTS_SCHEMA, **PUBLIC_ROLES_SCHEMA},
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
        config=SSH_SOURCES_SCHEMA,
    ),
    stack_policy(
        "secgroup-data-pci-egress",
        control="NET-05",
        severity=Severity.HIGH,
        description="Data (db, recordings), PCI (payment) and log (loghost) tiers have no egress to 0.0.0.0/0 or ::/0.",
        remediation="Give egress rules on these groups a specific remote_ip_prefix (e.g. the object-store "
        "endpoint) or a remote_group_id.",
        validate=_data_pci_egress,
        reads=(SEC_GROUP, SEC_GROUP_RULE, ADDRESS_GROUP),
        config={
            "restrictedEgressRoles": _roles_schema(
                "Roles (data, PCI and log tiers) whose groups may not send to anywhere.", RESTRICTED_EGRESS_ROLES
            )
        },
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
                "description": "Allow tcp 22 from the bastion group (sshSourceRoles) into the PCI zone.",
            },
            "pciRoles": _roles_schema("Roles whose groups form the PCI zone.", list(PCI_ROLES)),
            "pciPeerRoles": _roles_schema("Roles whose groups may reach the PCI zone.", PCI_PEER_ROLES),
            **SSH_SOURCES_SCHEMA,
        },
    ),
    stack_policy(
        "secgroup-flows-declared",
        control="NET-03",
        severity=Severity.HIGH,
        description="Every security-group rule is one of the stack's declared flows (policy config "
        "allowedFlows, which ccsec plan derives from the role model); without that config the policy passes.",
        remediation="Add the flow to the role model (infra/roles.py) with its purpose and control, or remove "
        "the rule; pass the declared flows as allowedFlows (ccsec policy-config).",
        validate=_flows_declared,
        reads=(SEC_GROUP, SEC_GROUP_RULE),
        config={
            "allowedFlows": {
                "type": "array",
                "items": FLOW_SCHEMA,
                "default": [],
                "description": "The declared flows: {role, direction, protocol, port, remoteRole | remoteCidr}.",
            }
        },
    ),
]
