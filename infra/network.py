"""Network zones: one private network + subnet per zone, joined by one router.

Zones (edge, app, data, pci, mgmt) are separate subnets so firewall rules can be written per tier
and the PCI scope is a subnet an assessor can point at.
"""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from ccsec.infra.config import ZONES, StackConfig


class NetworkZones(pulumi.ComponentResource):
    """Networks, subnets and the router; exposes `subnets[zone]` and `networks[zone]`."""

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
            subnet = openstack.networking.Subnet(
                f"{name}-{zone}-subnet",
                name=f"{cfg.stack}-{zone}",
                network_id=network.id,
                cidr=str(cidr),
                ip_version=4,
                enable_dhcp=True,
                dns_nameservers=list(cfg.network.dns_nameservers),
                region=cfg.region,
                tags=[f"ccaas-zone={zone}", f"ccaas-stack={cfg.stack}"],
                opts=child,
            )
            openstack.networking.RouterInterface(
                f"{name}-{zone}-if", router_id=self.router.id, subnet_id=subnet.id, region=cfg.region, opts=child
            )
            self.networks[zone] = network
            self.subnets[zone] = subnet
        self.register_outputs({"router_id": self.router.id})
