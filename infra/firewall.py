"""Security groups per role, default rules deleted, only the flows from firewall_rules."""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from ccsec.infra.config import StackConfig
from ccsec.infra.firewall_rules import SG_ROLES, firewall_rules


class Firewall(pulumi.ComponentResource):
    """One security group per role (lb, bastion, app, db, recordings, payment); `groups[role]`."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ccaas:network:Firewall", name, None, opts)
        self.groups: dict[str, openstack.networking.SecGroup] = {}
        for role in SG_ROLES:
            self.groups[role] = openstack.networking.SecGroup(
                f"{name}-{role}",
                name=f"{cfg.stack}-{role}",
                description=f"{cfg.stack}-{role}: ccaas-baseline {role} tier",
                delete_default_rules=True,
                region=cfg.region,
                tags=[f"ccaas-role={role}", f"ccaas-stack={cfg.stack}"],
                opts=pulumi.ResourceOptions(parent=self),
            )
        for rule in firewall_rules(cfg):
            group = self.groups[rule.role]
            openstack.networking.SecGroupRule(
                f"{name}-{rule.slug}",
                security_group_id=group.id,
                description=f"{rule.role}: {rule.purpose}",
                direction=rule.direction,
                ethertype="IPv4",
                protocol=rule.protocol,
                port_range_min=rule.port,
                port_range_max=rule.port,
                remote_ip_prefix=rule.remote_cidr,
                remote_group_id=self.groups[rule.remote_role].id if rule.remote_role else None,
                region=cfg.region,
                opts=pulumi.ResourceOptions(parent=group),
            )
        self.register_outputs({})
