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
    PORT,
    PUBLIC_ROLES,
    ROLE_TAG,
    SEC_GROUP,
    get,
    tag_map,
)
from ._topology import deps_of_type, resource_role


@only_types(FLOATING_IP)
def _role_tagged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    role = tag_map(get(args.props, "tags")).get(ROLE_TAG)
    if role not in PUBLIC_ROLES:
        shown = f"'{role}'" if role else "missing"
        report(f"Floating IP tag {ROLE_TAG} is {shown}; it must be 'lb' or 'bastion'.")


def _port_roles(port: PolicyResource, everything: list[PolicyResource]) -> set[str]:
    roles = {resource_role(port)} | {resource_role(g) for g in deps_of_type(port, SEC_GROUP)}
    roles |= {resource_role(i) for i in everything if i.resource_type == INSTANCE and port in i.dependencies}
    return {r for r in roles if r}


def _target_roles(fip: PolicyResource, everything: list[PolicyResource]) -> set[str]:
    roles: set[str] = set()
    for dep in fip.dependencies:
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
        description="No floating IP is associated with a port or instance of the app, db, recordings or payment tiers.",
        remediation="Remove the floating IP; reach internal hosts through the load balancer or the bastion.",
        validate=_internal_hosts,
        reads=(FLOATING_IP, FLOATING_IP_ASSOCIATE, PORT, INSTANCE, SEC_GROUP),
    ),
]
