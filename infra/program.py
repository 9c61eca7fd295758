"""The whole baseline: wires the components together and exports what operators need."""

from __future__ import annotations

import base64

import pulumi

from ccsec.infra.backend_pki import backend_ca
from ccsec.infra.backup_store import BackupStore
from ccsec.infra.compute import Cluster, Host, log_targets
from ccsec.infra.config import StackConfig
from ccsec.infra.firewall import Firewall
from ccsec.infra.identity import Access
from ccsec.infra.log_pki import log_ca
from ccsec.infra.network import NetworkZones
from ccsec.infra.roles import BACKUP_ROLES, LOG_HOST_ROLE
from ccsec.infra.tls import TlsTermination


def known_hosts_line(name: str, ip: str, public_key: str) -> str:
    """One OpenSSH known_hosts line pinning a host by name and address."""
    key_type, key_body = public_key.split()[:2]
    return f"{name},{ip} {key_type} {key_body}"


def build(cfg: StackConfig) -> dict[str, object]:
    """Declare every resource of the stack; returns the components for tests and exports outputs."""
    zones = NetworkZones(f"{cfg.stack}-net", cfg)
    firewall = Firewall(f"{cfg.stack}-fw", cfg)
    store = BackupStore(f"{cfg.stack}-backups", cfg)
    access = Access(f"{cfg.stack}-iam", cfg)
    ca = backend_ca(cfg)
    logs_ca = log_ca(cfg)
    clusters: dict[str, Cluster] = {}
    # The log hosts first: every other host's user-data names their addresses (HOST-15).
    for spec in sorted(cfg.roles(), key=lambda s: s.role != LOG_HOST_ROLE):
        env = access.backup_env(cfg, spec.role) if spec.role in BACKUP_ROLES else None
        totp = access.totp() if spec.role == "bastion" else None
        targets = log_targets(cfg, clusters[LOG_HOST_ROLE].hosts) if spec.role != LOG_HOST_ROLE else None
        clusters[spec.role] = Cluster(
            f"{cfg.stack}-{spec.role}",
            cfg,
            spec,
            zones,
            firewall,
            backup_env=env,
            totp=totp,
            backend_ca=ca,
            log_ca=logs_ca,
            log_targets=targets,
        )
    termination = TlsTermination(f"{cfg.stack}-tls", cfg, zones, firewall, clusters["app"].hosts, ca.cert.cert_pem)

    hosts: list[Host] = [host for cluster in clusters.values() for host in cluster.hosts]
    known_hosts = pulumi.Output.all(*[pulumi.Output.all(h.name, h.ip, h.host_public_key) for h in hosts]).apply(
        lambda rows: "".join(known_hosts_line(*row) + "\n" for row in rows)
    )
    pulumi.export("known_hosts", pulumi.Output.secret(known_hosts))
    pulumi.export(
        "hosts",
        pulumi.Output.all(*[pulumi.Output.all(h.name, h.role, h.ip) for h in hosts]).apply(
            lambda rows: [{"name": n, "role": r, "ip": ip} for n, r, ip in rows]
        ),
    )
    pulumi.export("bastion_addresses", [fip.address for fip in clusters["bastion"].floating_ips])
    pulumi.export("https_vip", termination.floating_ip.address)
    totp = access.totp().apply(
        lambda seeds: {
            name: f"otpauth://totp/{cfg.stack}-bastion:{name}?secret={base64.b32encode(bytes.fromhex(seed)).decode()}"
            f"&issuer=ccaas-{cfg.stack}&digits=6&period=30"
            for name, seed in seeds.items()
        }
    )
    pulumi.export("totp_enrollment", pulumi.Output.secret(totp))
    pulumi.export("backup_containers", {"primary": store.primary.name, "offsite": store.offsite.name})
    return {"zones": zones, "firewall": firewall, "clusters": clusters, "tls": termination, "store": store}
