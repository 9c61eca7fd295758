"""Public addresses only where the design puts them: the LB VIP and the bastion (NET-06)."""

from __future__ import annotations

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ._meta import only_types, resource_policy, stack_policy
from ._props import (
    FLOATING_IP,
    FLOATING_IP_ASSOCIATE,
    INSTANCE,
    INTERNAL_ROLES,
    LOAD_BALANCER,
    PORT,
    PUBLIC_ROLES,
    ROLE_TAG,
    SEC_GROUP,
    plain,
    raw_get,
    tag_map,
)
from ._topology import has_property_dependencies, refs, resource_role

PORT_FORWARDING = "openstack:networking/portForwardingV2:PortForwardingV2"


@only_types(FLOATING_IP)
def _role_tagged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    role = tag_map(raw_get(args.props, "tags")).get(ROLE_TAG)
    if role not in PUBLIC_ROLES:
        shown = f"'{role}'" if role else "missing"
        report(f"Floating IP tag {ROLE_TAG} is {shown}; it must be 'lb' or 'bastion'.")


def _port_roles(port: PolicyResource, everything: list[PolicyResource]) -> set[str]:
    roles = {resource_role(port)} | {resource_role(g) for g in refs(port, "securityGroupIds", SEC_GROUP)}
    roles |= {resource_role(i) for i in everything if i.resource_type == INSTANCE and port in i.dependencies}
    return {r for r in roles if r}


def _targets(fip: PolicyResource) -> list[PolicyResource]:
    """What the floating IP points at: through portId's property dependencies, else all dependencies."""
    return refs(fip, "portId") if has_property_dependencies(fip) else list(fip.dependencies)


def _target_roles(fip: PolicyResource, everything: list[PolicyResource]) -> set[str]:
    roles: set[str] = set()
    for dep in _targets(fip):
        if dep.resource_type == PORT:
            roles |= _port_roles(dep, everything)
        elif dep.resource_type in (INSTANCE, FLOATING_IP):
            roles.add(resource_role(dep) or "")
    if fip.resource_type == FLOATING_IP:
        roles.add(resource_role(fip) or "")
    return {r for r in roles if r}


def _internal_hosts(args: StackValidationArgs, report: ReportViolation) -> None:
    everything = list(args.resources)
    for res in everything:
        if res.resource_type not in (FLOATING_IP, FLOATING_IP_ASSOCIATE):
            continue
        internal = sorted(_target_roles(res, everything) & set(INTERNAL_ROLES))
        if internal:
            report(f"{res.name}: a public IP reaches the {'/'.join(internal)} tier.", res.urn)


def _verified_target(fip: PolicyResource) -> str | None:
    """None when the floating IP provably targets the LB VIP or a bastion port; else what is wrong."""
    targets = _targets(fip)
    lbs = [t for t in targets if t.resource_type == LOAD_BALANCER]
    ports = [t for t in targets if t.resource_type == PORT]
    if lbs and not ports:
        bad = [lb.name for lb in lbs if resource_role(lb) != "lb"]
        return f"portId is the VIP of load balancer {bad[0]}, which is not tagged ccaas-role=lb" if bad else None
    if not ports:
        return (
            "portId resolves to no port or load balancer of this stack, so it cannot be proven to be the LB VIP "
            "or the bastion"
        )
    for port in ports:
        groups = refs(port, "securityGroupIds", SEC_GROUP)
        roles = {resource_role(g) for g in groups}
        if not groups or roles != {"bastion"}:
            return f"portId is port {port.name}, whose security groups are not (only) the bastion group"
        if resource_role(port) not in (None, "bastion"):
            return f"portId is port {port.name}, which declares the role '{resource_role(port)}'"
    return None


def _target_verified(args: StackValidationArgs, report: ReportViolation) -> None:
    for res in args.resources:
        if res.resource_type not in (FLOATING_IP, FLOATING_IP_ASSOCIATE):
            continue
        if res.resource_type == FLOATING_IP and raw_get(plain(res.props), "portId") in (None, ""):
            continue  # allocated, not associated here: a FloatingIpAssociate (judged too) binds it
        problem = _verified_target(res)
        if problem:
            report(f"{res.name}: {problem}.", res.urn)


@only_types(PORT_FORWARDING)
def _no_port_forwarding(args: ResourceValidationArgs, report: ReportViolation) -> None:
    report(
        "Port forwarding publishes internalPortId's internalPort through floatingipId: an internal host "
        "becomes reachable from the internet past the LB and the bastion."
    )


POLICIES = [
    resource_policy(
        "floating-ip-role-tagged",
        control="NET-06",
        severity=Severity.HIGH,
        description="Every floating IP is tagged ccaas-role=lb or ccaas-role=bastion.",
        remediation="Allocate floating IPs only for the load-balancer VIP and the bastion, and tag them "
        "ccaas-role=lb / ccaas-role=bastion.",
        validate=_role_tagged,
    ),
    stack_policy(
        "floating-ip-internal-hosts",
        control="NET-06",
        severity=Severity.CRITICAL,
        description="No floating IP is associated with a port or instance of the app, db, recordings, payment "
        "or log tiers.",
        remediation="Remove the floating IP; reach internal hosts through the load balancer or the bastion.",
        validate=_internal_hosts,
        reads=(FLOATING_IP, FLOATING_IP_ASSOCIATE, PORT, INSTANCE, SEC_GROUP),
    ),
    stack_policy(
        "floating-ip-target-verified",
        control="NET-06",
        severity=Severity.CRITICAL,
        description="Every floating IP provably lands on the LB VIP (a ccaas-role=lb load balancer's "
        "vip_port_id) or on a port whose security groups are exactly the bastion group; a bastion tag on "
        "some other port is not enough.",
        remediation="Associate floating IPs only with load_balancer.vip_port_id or the bastion host's "
        "port (security_group_ids=[bastion group]).",
        validate=_target_verified,
        reads=(FLOATING_IP, FLOATING_IP_ASSOCIATE, PORT, SEC_GROUP, LOAD_BALANCER),
    ),
    resource_policy(
        "floating-ip-no-port-forwarding",
        control="NET-06",
        severity=Severity.CRITICAL,
        description="No floating-IP port forwarding (it exposes an internal port past the LB and the bastion).",
        remediation="Remove the PortForwardingV2; publish services through the load balancer and reach hosts "
        "through the bastion.",
        validate=_no_port_forwarding,
    ),
]
