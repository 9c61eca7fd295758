"""Network zones: one private network + subnet per zone, and two routers.

Zones (edge, app, data, pci, mgmt) are separate subnets so firewall rules can be written per tier
and the PCI scope is a subnet an assessor can point at.

Routing (control NET-11: no route out of the data and PCI subnets):
- the *edge* router has the external gateway and interfaces on edge (LB VIP), app and mgmt (bastion);
- the *core* router has no gateway; it holds the data and pci subnets' gateways and one port on the
  app subnet (the transit leg). Its only routes lead, through the edge router's app-subnet address,
  to the services CIDR (DNS, NTP, mirror, Keystone, Swift for backups, logs) and to mgmt (the bastion);
  the edge router routes data/pci back through the transit leg. No default route reaches data or pci.
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_openstack as openstack

from ccsec.infra.config import ZONES, StackConfig

CLOSED_ZONES = ("data", "pci")  # behind the core router: no external gateway, no default route
TRANSIT_ZONE = "app"  # the subnet both routers have a leg on


def transit_addresses(cidr: ipaddress.IPv4Network) -> tuple[str, str]:
    """(edge router's address = the subnet gateway, core router's transit address = the last host)."""
    hosts = list(cidr.hosts())
    return str(hosts[0]), str(hosts[-1])


class NetworkZones(pulumi.ComponentResource):
    """Networks, subnets and the routers; exposes `subnets[zone]` and `networks[zone]`."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ccaas:network:Zones", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.router = openstack.networking.Router(
            f"{name}-router",
            name=f"{cfg.stack}-router",
            admin_state_up=True,
            external_network_id=cfg.network.external_network_id,
            region=cfg.region,
            tags=[f"ccaas-stack={cfg.stack}"],
            opts=child,
        )
        self.core_router = openstack.networking.Router(
            f"{name}-core-router",
            name=f"{cfg.stack}-core-router",
            admin_state_up=True,
            region=cfg.region,
            tags=[f"ccaas-stack={cfg.stack}"],
            opts=child,
        )
        transit_cidr = cfg.network.zones[TRANSIT_ZONE]
        edge_gw, core_leg = transit_addresses(transit_cidr)
        self.networks: dict[str, openstack.networking.Network] = {}
        self.subnets: dict[str, openstack.networking.Subnet] = {}
        for zone in ZONES:
            cidr = cfg.network.zones[zone]
            network = openstack.networking.Network(
                f"{name}-{zone}",
                name=f"{cfg.stack}-{zone}",
                admin_state_up=True,
                port_security_enabled=True,
                region=cfg.region,
                tags=[f"ccaas-zone={zone}", f"ccaas-stack={cfg.stack}"],
                opts=child,
            )
            hosts = list(cidr.hosts())
            subnet = openstack.networking.Subnet(
                f"{name}-{zone}-subnet",
                name=f"{cfg.stack}-{zone}",
                network_id=network.id,
                cidr=str(cidr),
                ip_version=4,
                enable_dhcp=True,
                gateway_ip=str(hosts[0]),
                # the last host stays out of the DHCP pool: on the transit subnet it is the core router's leg
                allocation_pools=[
                    openstack.networking.SubnetAllocationPoolArgs(start=str(hosts[1]), end=str(hosts[-2]))
                ],
                dns_nameservers=list(cfg.network.dns_nameservers),
                region=cfg.region,
                tags=[f"ccaas-zone={zone}", f"ccaas-stack={cfg.stack}"],
                opts=child,
            )
            router = self.core_router if zone in CLOSED_ZONES else self.router
            openstack.networking.RouterInterface(
                f"{name}-{zone}-if", router_id=router.id, subnet_id=subnet.id, region=cfg.region, opts=child
            )
            self.networks[zone] = network
            self.subnets[zone] = subnet
        leg = openstack.networking.Port(
            f"{name}-core-transit-port",
            name=f"{cfg.stack}-core-transit",
            network_id=self.networks[TRANSIT_ZONE].id,
            fixed_ips=[
                openstack.networking.PortFixedIpArgs(subnet_id=self.subnets[TRANSIT_ZONE].id, ip_address=core_leg)
            ],
            admin_state_up=True,
            region=cfg.region,
            tags=[f"ccaas-stack={cfg.stack}"],
            opts=child,
        )
        openstack.networking.RouterInterface(
            f"{name}-core-transit-if", router_id=self.core_router.id, port_id=leg.id, region=cfg.region, opts=child
        )
        core_routes = {"services": cfg.network.services_cidr, "mgmt": str(cfg.network.zones["mgmt"])}
        for label, destination in core_routes.items():
            openstack.networking.RouterRoute(
                f"{name}-core-to-{label}",
                router_id=self.core_router.id,
                destination_cidr=destination,
                next_hop=edge_gw,
                region=cfg.region,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[leg]),
            )
        for zone in CLOSED_ZONES:
            openstack.networking.RouterRoute(
                f"{name}-edge-to-{zone}",
                router_id=self.router.id,
                destination_cidr=str(cfg.network.zones[zone]),
                next_hop=core_leg,
                region=cfg.region,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[leg]),
            )
        self.register_outputs({"router_id": self.router.id, "core_router_id": self.core_router.id})
