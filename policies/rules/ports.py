"""Ports that would slip past their security groups, and hosts plugged into the external network (NET-08, NET-06).

Neutron enforces security groups (and anti-spoofing) on a port only when port security is on and the
port is a normal (OVS/OVN) vNIC. Facts relied on:
- ``port_security_enabled=false`` on a port or its network turns off both filtering and anti-spoofing;
- ``allowed_address_pairs`` widens anti-spoofing to the pair's prefix: ``0.0.0.0/0`` lets the port send
  as any address (and so be answered as any peer the rules admit);
- vnic types other than ``normal`` (``direct``, ``macvtap``, ``direct-physical``, ``virtio-forwarder``,
  ``baremetal``, ``smart-nic``, ``vdpa``, ``remote-managed``, ``accelerator-*``) bypass OVS and with it
  the security groups on most deployments;
- a port with no security group gets the project's ``default`` group, which admits all traffic from
  its members and all egress; so does a Nova server booted on a network rather than on a port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from . import _cidr
from ._meta import only_types, resource_policy, stack_policy
from ._props import (
    FLOATING_IP,
    INSTANCE,
    PORT,
    SEC_GROUP,
    is_unknown,
    plain,
    raw_get,
    seq,
)
from ._topology import has_property_dependencies, refs

NETWORK = "openstack:networking/network:Network"
ROUTER = "openstack:networking/router:Router"
ROUTER_INTERFACE = "openstack:networking/routerInterface:RouterInterface"
INTERFACE_ATTACH = "openstack:compute/interfaceAttach:InterfaceAttach"
NORMAL_VNIC = ("normal", "")
FALSE_TEXT = ("false", "0", "no", "off")
MAX_PAIR_PREFIX = {4: 24, 6: 64}


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in FALSE_TEXT)


def _value_specs(props: Mapping[str, Any]) -> Mapping[str, Any]:
    specs = raw_get(props, "valueSpecs")
    return specs if isinstance(specs, Mapping) else {}


@only_types(PORT, NETWORK)
def _port_security(args: ResourceValidationArgs, report: ReportViolation) -> None:
    value = raw_get(args.props, "portSecurityEnabled")
    spec = _value_specs(args.props).get("port_security_enabled")
    kind = "network" if args.resource_type == NETWORK else "port"
    if is_unknown(value):
        report(f"portSecurityEnabled on this {kind} is unknown at preview; it must be true or unset.")
    elif _is_false(value):
        report(f"portSecurityEnabled is false on this {kind}: security groups and anti-spoofing are off.")
    elif spec is not None and (_is_false(spec) or is_unknown(spec)):
        report(f"valueSpecs.port_security_enabled turns port security off on this {kind}.")


@only_types(PORT)
def _address_pairs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pairs = raw_get(args.props, "allowedAddressPairs")
    if is_unknown(pairs):
        report("allowedAddressPairs is unknown at preview and cannot be proven narrow (failing closed).")
        return
    for index, pair in enumerate(seq(pairs)):
        path = f"allowedAddressPairs[{index}].ipAddress"
        address = pair.get("ipAddress") if isinstance(pair, Mapping) else None
        if is_unknown(address):
            report(f"{path} is unknown at preview and cannot be proven narrow (failing closed).")
            continue
        net = _cidr.try_parse(address)
        if net is None:
            report(f"{path} is not a CIDR ipaddress accepts (failing closed).")
            continue
        meaning = _cidr.classify(address)
        if meaning != "private":
            report(f"{path} admits {meaning} addresses: the port may send as any of them.")
        elif net.prefixlen < MAX_PAIR_PREFIX[net.version]:
            report(
                f"{path} is wider than a /{MAX_PAIR_PREFIX[net.version]}: the port may impersonate other tiers' hosts."
            )


@only_types(PORT)
def _vnic(args: ResourceValidationArgs, report: ReportViolation) -> None:
    binding = raw_get(args.props, "binding")
    vnic = binding.get("vnicType") if isinstance(binding, Mapping) else None
    spec = _value_specs(args.props).get("binding:vnic_type")
    for path, value in (("binding.vnicType", vnic), ("valueSpecs.binding:vnic_type", spec)):
        if value is None:
            continue
        if is_unknown(value):
            report(f"{path} is unknown at preview; it must be 'normal' or unset.")
        elif str(value).strip().lower() not in NORMAL_VNIC:
            report(f"{path} is not 'normal': an SR-IOV/direct vNIC bypasses the port's security groups.")


def _explicit_groups_port(port: PolicyResource, report: ReportViolation) -> None:
    props = plain(port.props)
    if _is_false(raw_get(props, "portSecurityEnabled")):
        return  # reported by port-security-enabled: Neutron then allows no groups at all
    if raw_get(props, "noSecurityGroups") is True:
        report(f"{port.name}: noSecurityGroups is true: the port has no security group.", port.urn)
        return
    ids = raw_get(props, "securityGroupIds")
    if is_unknown(ids):
        if not refs(port, "securityGroupIds", SEC_GROUP):
            report(f"{port.name}: securityGroupIds is unknown and resolves to no group of this stack.", port.urn)
        return
    entries = seq(ids)
    if not entries:
        report(f"{port.name}: securityGroupIds is empty: Neutron applies the project's 'default' group.", port.urn)
        return
    if any(isinstance(e, str) and e.strip().lower() == "default" for e in entries):
        report(f"{port.name}: securityGroupIds names the project's 'default' group.", port.urn)
        return
    ours = refs(port, "securityGroupIds", SEC_GROUP)
    if has_property_dependencies(port) or ours:
        foreign = len(entries) - len({g.urn for g in ours})
        if foreign > 0:
            report(
                f"{port.name}: securityGroupIds holds {foreign} group(s) not declared in this stack "
                "(e.g. the project's 'default'); use the tier's own group.",
                port.urn,
            )


def _explicit_groups_instance(inst: PolicyResource, report: ReportViolation) -> None:
    props = plain(inst.props)
    groups = raw_get(props, "securityGroups")
    if any(isinstance(g, str) and g.strip().lower() == "default" for g in seq(groups)):
        report(f"{inst.name}: securityGroups names the project's 'default' group.", inst.urn)
    networks = raw_get(props, "networks")
    if is_unknown(networks):
        return
    items = seq(networks)
    if not items:
        report(f"{inst.name}: no networks: Nova auto-allocates a port in the project's 'default' group.", inst.urn)
    for index, net in enumerate(items):
        if isinstance(net, Mapping) and net.get("port") in (None, "") and not seq(groups):
            report(
                f"{inst.name}: networks[{index}] has no port: Nova creates one in the project's 'default' group.",
                inst.urn,
            )


def _router_legs(resources: list[PolicyResource]) -> set[str]:
    """Ports a RouterInterface of the stack takes over (Neutron applies no security group to router ports)."""
    return {p.urn for r in resources if r.resource_type == ROUTER_INTERFACE for p in refs(r, "portId", PORT)}


def _explicit_groups(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    legs = _router_legs(resources)
    for res in resources:
        if res.resource_type == PORT and res.urn not in legs:
            _explicit_groups_port(res, report)
        elif res.resource_type == INSTANCE:
            _explicit_groups_instance(res, report)
        elif res.resource_type == INTERFACE_ATTACH:
            props = plain(res.props)
            if raw_get(props, "portId") in (None, "") and raw_get(props, "networkId") not in (None, ""):
                report(
                    f"{res.name}: networkId without portId: Nova creates a port in the project's 'default' group.",
                    res.urn,
                )


def _external_refs(resources: list[PolicyResource]) -> tuple[set[str], set[str]]:
    """Literal names/ids the stack itself uses for the external network, and external Network URNs."""
    literals: set[str] = set()
    urns: set[str] = set()
    for res in resources:
        props = plain(res.props)
        if res.resource_type == ROUTER:
            value = raw_get(props, "externalNetworkId")
            if isinstance(value, str) and value and not is_unknown(value):
                literals.add(value)
        elif res.resource_type == FLOATING_IP:
            pool = raw_get(props, "pool")
            if isinstance(pool, str) and pool and not is_unknown(pool):
                literals.add(pool)
        elif res.resource_type == NETWORK and raw_get(props, "external") is True:
            urns.add(res.urn)
    return literals, urns


def _on_external(res: PolicyResource, prop: str, value: Any, literals: set[str], urns: set[str]) -> bool:
    if isinstance(value, str) and not is_unknown(value) and value in literals:
        return True
    return any(d.urn in urns for d in refs(res, prop, NETWORK))


def _external_attachment(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    literals, urns = _external_refs(resources)
    for res in resources:
        props = plain(res.props)
        if res.resource_type in (PORT, INTERFACE_ATTACH):
            value = raw_get(props, "networkId")
            if _on_external(res, "networkId", value, literals, urns):
                report(f"{res.name}: networkId is the external network: the host gets a public address.", res.urn)
        elif res.resource_type == INSTANCE:
            for index, net in enumerate(seq(raw_get(props, "networks"))):
                if not isinstance(net, Mapping):
                    continue
                for key in ("uuid", "name"):
                    if _on_external(res, "networks", net.get(key), literals, urns if key == "uuid" else set()):
                        report(
                            f"{res.name}: networks[{index}].{key} is the external network: the host gets a "
                            "public address.",
                            res.urn,
                        )


POLICIES = [
    resource_policy(
        "port-security-enabled",
        control="NET-08",
        severity=Severity.CRITICAL,
        description="Port security stays on for every port and network (security groups and anti-spoofing apply).",
        remediation="Remove port_security_enabled=False (and valueSpecs port_security_enabled) from the "
        "port/network; use the tier's security group for the traffic it needs.",
        validate=_port_security,
    ),
    resource_policy(
        "port-address-pairs-narrow",
        control="NET-08",
        severity=Severity.CRITICAL,
        description="allowed_address_pairs name private prefixes no wider than /24 (IPv6 /64), e.g. a "
        "keepalived VIP, never 0.0.0.0/0 or public space.",
        remediation="List only the VIP address(es) the port must answer for (a /32) in allowed_address_pairs.",
        validate=_address_pairs,
    ),
    resource_policy(
        "port-vnic-normal",
        control="NET-08",
        severity=Severity.CRITICAL,
        description="Ports use the normal vNIC type; SR-IOV/direct types (direct, macvtap, direct-physical, "
        "virtio-forwarder...) bypass security groups.",
        remediation="Drop binding.vnic_type (or set 'normal'); if a workload needs SR-IOV, put it outside "
        "the CDE and filter on the physical network.",
        validate=_vnic,
    ),
    stack_policy(
        "port-explicit-security-groups",
        control="NET-08",
        severity=Severity.HIGH,
        description="Every port carries security groups declared in this stack; no port or server falls "
        "back to the project's 'default' group (no_security_groups, empty list, 'default', or a server "
        "booted on a network instead of a port).",
        remediation="Create the port with security_group_ids=[<tier group>.id] and boot servers on that "
        "port (networks=[{port: port.id}]).",
        validate=_explicit_groups,
        reads=(PORT, SEC_GROUP, INSTANCE, INTERFACE_ATTACH, ROUTER_INTERFACE),
    ),
    stack_policy(
        "no-external-network-attachment",
        control="NET-06",
        severity=Severity.CRITICAL,
        description="No port, server or interface is plugged into the external network (the one routers "
        "use as gateway, floating IPs come from, or a network declared external).",
        remediation="Attach hosts to their zone's private network; publish the LB VIP or bastion through "
        "a floating IP instead.",
        validate=_external_attachment,
        reads=(PORT, INSTANCE, INTERFACE_ATTACH, NETWORK, ROUTER, FLOATING_IP),
    ),
]
