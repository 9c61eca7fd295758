"""Hardened clusters: per role a server group (anti-affinity) and its hosts.

Each host boots from an encrypted volume, gets its own ED25519 host key from pulumi-tls (pinned by
clients, so no trust-on-first-use), config drive on, classification tags, and user-data rendered
from infra/templates. Only the bastion gets a floating IP.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack
import pulumi_random as random
import pulumi_tls as tls

from ccsec.infra import roles as role_model
from ccsec.infra.backend_pki import BackendCa, backend_certificate
from ccsec.infra.config import RoleSpec, StackConfig
from ccsec.infra.firewall import Firewall
from ccsec.infra.log_pki import LogCa, log_certificate
from ccsec.infra.network import NetworkZones
from ccsec.infra.storage import encrypted_volume
from ccsec.infra.userdata import (
    HostIdentity,
    HostSecrets,
    LogPath,
    LogTarget,
    log_tls_name,
    nova_user_data,
    render_user_data,
)


@dataclass
class Host:
    """What other components and stack outputs need to know about one host."""

    name: str
    role: str
    instance: openstack.compute.Instance
    port: openstack.networking.Port
    ip: pulumi.Output[str]
    host_public_key: pulumi.Output[str]


def host_metadata(cfg: StackConfig, role: str) -> dict[str, str]:
    """Tags every instance carries; policies and auditors read them."""
    spec = role_model.role(role)
    metadata = {
        "owner": cfg.owner,
        "environment": cfg.environment,
        "role": role,
        "data_classification": cfg.data_classification,
        "pci_scope": "true" if spec.pci_scope else "false",
        "stack": cfg.stack,
    }
    if spec.stateful:
        metadata["backup_diff_minutes"] = str(cfg.backup.diff_minutes)
        metadata["backup_full_days"] = str(cfg.backup.full_days)
    return metadata


class Cluster(pulumi.ComponentResource):
    """All hosts of one role; `hosts` lists them in index order."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        spec: RoleSpec,
        zones: NetworkZones,
        firewall: Firewall,
        backup_env: pulumi.Output[dict[str, str]] | None = None,
        totp: pulumi.Output[dict[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        backend_ca: BackendCa | None = None,
        log_ca: LogCa | None = None,
        log_targets: pulumi.Output[list[LogTarget]] | None = None,
    ):
        super().__init__("ccaas:compute:Cluster", name, None, opts)
        self.backend_ca = backend_ca
        if log_ca is None:
            raise ValueError("Cluster: every host needs the stack's log CA (HOST-15)")
        self.log_ca = log_ca
        # The log hosts as senders reach them (a log host itself uses its own receiver on 127.0.0.1).
        self.log_targets = log_targets if log_targets is not None else pulumi.Output.from_input([])
        child = pulumi.ResourceOptions(parent=self)
        self.server_group = openstack.compute.ServerGroup(
            f"{name}-group", name=f"{cfg.stack}-{spec.role}", policies="anti-affinity", region=cfg.region, opts=child
        )
        self.hosts = [
            self._host(cfg, spec, index, zones, firewall, backup_env, totp) for index in range(1, spec.count + 1)
        ]
        if spec.role == "bastion":
            self.floating_ips = [
                openstack.networking.FloatingIp(
                    f"{host.name}-fip",
                    pool=cfg.network.floating_ip_pool,
                    port_id=host.port.id,
                    description=f"bastion: {host.name} administrator entry point",
                    tags=["ccaas-role=bastion", f"ccaas-stack={cfg.stack}"],
                    region=cfg.region,
                    opts=child,
                )
                for host in self.hosts
            ]
        self.register_outputs({"hosts": [h.name for h in self.hosts]})

    def _host(
        self,
        cfg: StackConfig,
        spec: RoleSpec,
        index: int,
        zones: NetworkZones,
        firewall: Firewall,
        backup_env: pulumi.Output[dict[str, str]] | None,
        totp: pulumi.Output[dict[str, str]] | None,
    ) -> Host:
        hostname = f"{cfg.stack}-{spec.role}-{index}"
        child = pulumi.ResourceOptions(parent=self)
        host_key = tls.PrivateKey(f"{hostname}-hostkey", algorithm="ED25519", opts=child)
        port = openstack.networking.Port(
            f"{hostname}-port",
            name=hostname,
            network_id=zones.networks[spec.zone].id,
            fixed_ips=[openstack.networking.PortFixedIpArgs(subnet_id=zones.subnets[spec.zone].id)],
            security_group_ids=[firewall.groups[spec.role].id],
            admin_state_up=True,
            region=cfg.region,
            tags=[f"ccaas-role={spec.role}", f"ccaas-stack={cfg.stack}"],
            opts=child,
        )
        boot = encrypted_volume(f"{hostname}-boot", cfg, spec.boot_volume_gb, "boot", self, image_id=cfg.image)
        data = None
        data_device: pulumi.Output[str] = pulumi.Output.from_input("")
        if spec.data_volume_gb > 0:
            data = encrypted_volume(f"{hostname}-data", cfg, spec.data_volume_gb, f"{spec.role} data", self)
            # Nova exposes a virtio volume as /dev/disk/by-id/virtio-<first 20 chars of its id>.
            data_device = data.id.apply(lambda volume_id: f"/dev/disk/by-id/virtio-{volume_id[:20]}")
        app_tls: tuple[pulumi.Output[str], pulumi.Output[str]] | tuple[str, str] = ("", "")
        if spec.role == "app" and self.backend_ca is not None:  # TLS-06: the certificate the pool verifies
            app_tls = backend_certificate(hostname, cfg, self.backend_ca, self)
        log_cert, log_key = log_certificate(
            hostname, cfg, self.log_ca, self, log_host=spec.role == role_model.LOG_HOST_ROLE
        )
        luks_key: pulumi.Output[str] = pulumi.Output.from_input("")
        if role_model.role(spec.role).data_volume is not None:  # the in-guest LUKS2 layer's key
            luks_key = random.RandomPassword(f"{hostname}-luks-key", length=64, special=False, opts=child).result
        # Always a secret: it carries the host's private key (and, per role, LUKS, TOTP and backup keys).
        user_data = pulumi.Output.secret(
            pulumi.Output.all(
                host_key.private_key_openssh,
                host_key.public_key_openssh,
                luks_key,
                backup_env if backup_env is not None else {},
                totp if totp is not None else {},
                data_device,
                *app_tls,
                self.log_ca.cert.cert_pem,
                log_cert,
                log_key,
                self.log_targets,
            ).apply(
                lambda values: nova_user_data(  # gzip + base64: cloud-init decompresses it (Nova caps 64 KiB)
                    render_user_data(
                        cfg,
                        spec.role,
                        hostname,
                        HostIdentity(values[0], values[1]),
                        HostSecrets(
                            luks_key=values[2],
                            backup_env=dict(values[3]),
                            totp=dict(values[4]),
                            app_tls_cert=values[6],
                            app_tls_key=values[7],
                        ),
                        values[5],
                        log=LogPath(values[8], values[9], values[10], tuple(values[11])),
                    )
                )
            )
        )
        instance = openstack.compute.Instance(
            hostname,
            name=hostname,
            flavor_name=spec.flavor,
            block_devices=[
                openstack.compute.InstanceBlockDeviceArgs(
                    source_type="volume",
                    destination_type="volume",
                    uuid=boot.id,
                    boot_index=0,
                    delete_on_termination=False,
                )
            ],
            networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
            config_drive=True,
            scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(group=self.server_group.id)],
            metadata=host_metadata(cfg, spec.role),
            tags=[f"ccaas-role={spec.role}", f"ccaas-stack={cfg.stack}", f"environment={cfg.environment}"],
            user_data=user_data,
            region=cfg.region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[boot]),
        )
        if data is not None:
            openstack.compute.VolumeAttach(
                f"{hostname}-data-attach", instance_id=instance.id, volume_id=data.id, region=cfg.region, opts=child
            )
        ip = port.all_fixed_ips.apply(lambda ips: ips[0] if ips else "")
        return Host(hostname, spec.role, instance, port, ip, host_key.public_key_openssh)


def log_targets(cfg: StackConfig, log_hosts: list[Host]) -> pulumi.Output[list[LogTarget]]:
    """Every log host's address and certificate name: what each sender's user-data forwards to."""
    return pulumi.Output.all(*[h.ip for h in log_hosts]).apply(
        lambda ips: [LogTarget(ip, log_tls_name(h.name, cfg.stack)) for ip, h in zip(ips, log_hosts, strict=True)]
    )
