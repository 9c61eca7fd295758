"""No route out of the data and PCI subnets (NET-11).

A router with an external gateway gives every subnet it has an interface on a default route (and
SNAT) to the outside; a route whose destination is internet-wide does the same through any next hop.
So a data or PCI subnet may only hang off routers that have no external gateway and no such route.

A subnet is "data"/"pci" when it or its network is tagged ``ccaas-zone=data|pci`` (or named
``<stack>-data``/``<stack>-pci``), or when a port of a data/PCI role (by tag or security group) sits
on it. Joins follow property dependencies (routerId, subnetId, portId, networkId, fixedIps), so they
hold at preview when every id is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from . import _cidr
from ._meta import stack_policy
from ._props import DATA_ROLES, PCI_ROLES, PORT, SEC_GROUP, is_unknown, plain, present, raw_get, seq, tag_map
from ._topology import refs, resource_role

ROUTER = "openstack:networking/router:Router"
ROUTER_INTERFACE = "openstack:networking/routerInterface:RouterInterface"
ROUTER_ROUTE = "openstack:networking/routerRoute:RouterRoute"
ROUTER_ROUTES = "openstack:networking/routerRoutesV2:RouterRoutesV2"
SUBNET = "openstack:networking/subnet:Subnet"
SUBNET_ROUTE = "openstack:networking/subnetRoute:SubnetRoute"
NETWORK = "openstack:networking/network:Network"
ZONE_TAG = "ccaas-zone"
CLOSED_ZONES = ("data", "pci")
CLOSED_ROLES = DATA_ROLES + PCI_ROLES


def _zone_of(res: PolicyResource) -> str | None:
    props = plain(res.props)
    zone = tag_map(raw_get(props, "tags")).get(ZONE_TAG)
    if zone:
        return zone
    name = raw_get(props, "name")
    for candidate in CLOSED_ZONES:
        if isinstance(name, str) and (name == candidate or name.endswith("-" + candidate)):
            return candidate
    return None


def _closed_subnets(resources: list[PolicyResource]) -> dict[str, str]:
    """URN -> why, for every subnet (and network) that belongs to the data or PCI zone."""
    closed: dict[str, str] = {}
    for res in resources:
        if res.resource_type in (SUBNET, NETWORK) and _zone_of(res) in CLOSED_ZONES:
            closed[res.urn] = f"the '{_zone_of(res)}' zone"
    for res in resources:  # a subnet is closed if its network is
        if res.resource_type == SUBNET and res.urn not in closed:
            for net in refs(res, "networkId", NETWORK):
                if net.urn in closed:
                    closed[res.urn] = closed[net.urn]
    for port in resources:  # ... or if a data/PCI host sits on it
        if port.resource_type != PORT:
            continue
        roles = {resource_role(port)} | {resource_role(g) for g in refs(port, "securityGroupIds", SEC_GROUP)}
        hit = sorted(r for r in roles if r in CLOSED_ROLES)
        if not hit:
            continue
        for target in refs(port, "fixedIps", SUBNET) + refs(port, "networkId", NETWORK):
            closed.setdefault(target.urn, f"the subnet of '{hit[0]}' hosts")
    return closed


def _has_gateway(router: PolicyResource) -> bool:
    props = plain(router.props)
    specs = raw_get(props, "valueSpecs")
    return (
        present(props, "externalNetworkId")
        or present(props, "externalFixedIps")
        or present(props, "externalSubnetIds")
        or (isinstance(specs, Mapping) and "external_gateway_info" in specs)
    )


def _wide(destination: object) -> tuple[bool, str | None]:
    """(route is internet-wide, problem)."""
    if is_unknown(destination):
        return False, "is unknown at preview and cannot be proven narrow"
    net = _cidr.try_parse(destination)
    if net is None:
        return False, "is not a CIDR ipaddress accepts (failing closed)"
    return _cidr.Span.of([net]).internet_wide(), None


def _interface_targets(iface: PolicyResource) -> list[PolicyResource]:
    targets = refs(iface, "subnetId", SUBNET)
    for port in refs(iface, "portId", PORT):
        targets += refs(port, "fixedIps", SUBNET) + refs(port, "networkId", NETWORK)
    return targets


def _route_out(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    closed = _closed_subnets(resources)
    wide_routers: dict[str, str] = {}  # router URN -> which input gives it a route out
    for res in resources:
        props = plain(res.props)
        if res.resource_type == ROUTER and _has_gateway(res):
            wide_routers[res.urn] = "externalNetworkId (an external gateway)"
        elif res.resource_type in (ROUTER_ROUTE, ROUTER_ROUTES):
            entries = [props] if res.resource_type == ROUTER_ROUTE else seq(raw_get(props, "routes"))
            for index, entry in enumerate(entries):
                dest = entry.get("destinationCidr") if isinstance(entry, Mapping) else None
                wide, problem = _wide(dest)
                path = "destinationCidr" if res.resource_type == ROUTER_ROUTE else f"routes[{index}].destinationCidr"
                if wide or problem:
                    for router in refs(res, "routerId", ROUTER):
                        wide_routers.setdefault(router.urn, f"{res.name}.{path} (a route out)")
        elif res.resource_type == SUBNET_ROUTE:
            wide, problem = _wide(raw_get(props, "destinationCidr"))
            hit = [s for s in refs(res, "subnetId", SUBNET) if s.urn in closed]
            if hit and (wide or problem):
                why = problem or "is internet-wide"
                report(f"{res.name}: destinationCidr {why} on {closed[hit[0].urn]}.", res.urn)
    for iface in resources:
        if iface.resource_type != ROUTER_INTERFACE:
            continue
        hit = [t for t in _interface_targets(iface) if t.urn in closed]
        if not hit:
            continue
        routers = refs(iface, "routerId", ROUTER)
        if not routers:
            report(
                f"{iface.name}: routerId is not a router of this stack, so it cannot be proven to have no "
                f"external gateway; it serves {closed[hit[0].urn]}.",
                iface.urn,
            )
            continue
        for router in routers:
            if router.urn in wide_routers:
                report(
                    f"{iface.name}: subnetId/portId puts {closed[hit[0].urn]} on router {router.name}, whose "
                    f"{wide_routers[router.urn]} gives it a route out.",
                    iface.urn,
                )


POLICIES = [
    stack_policy(
        "router-no-route-out-data-pci",
        control="NET-11",
        severity=Severity.CRITICAL,
        description="Data and PCI subnets sit only on routers without an external gateway and without an "
        "internet-wide route (router routes or subnet host routes).",
        remediation="Attach the data/pci subnets to an internal router (no external_network_id) and give it "
        "routes only to the named destinations it needs (e.g. the services CIDR).",
        validate=_route_out,
        reads=(ROUTER, ROUTER_INTERFACE, ROUTER_ROUTE, ROUTER_ROUTES, SUBNET, SUBNET_ROUTE, NETWORK, PORT, SEC_GROUP),
    ),
]
