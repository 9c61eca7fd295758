"""A compliant synthetic stack as RegisteredResource lists, following the program's conventions.

Used by the policy tests (as the compliant baseline each violating case mutates) and by
bench/policy.py (1,000 servers). It mirrors what infra/ registers: groups with rules parented to
them, hosts with port, encrypted boot volume, server group, metadata and baseline user-data.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import yaml

from ccsec.policies.resources import RegisteredResource
from ccsec.policies.rules import _props as t
from ccsec.policies.rules.host_baseline import BASELINE_MARKER, DIGEST_PREFIX, baseline_digest

STACK, PROJECT = "synthetic", "ccaas-baseline"
BASELINE_BODY = (
    "hostname: {host}\ndisable_root: true\nssh_pwauth: false\n"
    "write_files:\n  - path: /etc/nftables.conf\n    permissions: '0600'\n    content: |\n"
    "      table inet filter {{\n        chain input {{\n"
    "          type filter hook input priority filter; policy drop;\n"
    "        }}\n      }}\n"
    "runcmd:\n  - [nft, --check, --file, /etc/nftables.conf]\n  - [systemctl, enable, --now, nftables.service]\n"
)


def baseline_user_data(host: str, body: str = BASELINE_BODY) -> str:
    """A small cloud-config shaped like the rendered baseline: marker, digest over the parsed body, body."""
    text = body.format(host=host)
    return f"#cloud-config\n{BASELINE_MARKER}\n{DIGEST_PREFIX}{baseline_digest(yaml.safe_load(text))}\n{text}"


PRIVATE_ACL = {"read": {"projectAccess": False}}  # Barbican: not readable by every project member
STRONG_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_token}::{name}"


def res(
    type_token: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    parent: RegisteredResource | None = None,
    deps: tuple[RegisteredResource, ...] = (),
    secret: tuple[str, ...] = (),
    custom: bool = True,
) -> RegisteredResource:
    """One registration; dependencies and parent given as resources for readability."""
    return RegisteredResource(
        urn=urn(type_token, name),
        type=type_token,
        name=name,
        parent=parent.urn if parent else None,
        inputs=dict(inputs or {}),
        secret_inputs=frozenset(secret),
        custom=custom,
        dependencies=tuple(d.urn for d in deps),
    )


def with_inputs(r: RegisteredResource, **changes: Any) -> RegisteredResource:
    """A copy with some inputs replaced (None removes the input)."""
    inputs = {**r.inputs, **changes}
    return replace(r, inputs={k: v for k, v in inputs.items() if v is not None})


def sec_group(role: str) -> RegisteredResource:
    return res(
        t.SEC_GROUP,
        f"fw-{role}",
        {
            "name": f"{STACK}-{role}",
            "description": f"{STACK}-{role}: tier",
            "deleteDefaultRules": True,
            "tags": [f"ccaas-role={role}", f"ccaas-stack={STACK}"],
        },
    )


def sg_rule(
    group: RegisteredResource,
    role: str,
    direction: str,
    port: int,
    *,
    cidr: str | None = None,
    peer: RegisteredResource | None = None,
    protocol: str = "tcp",
    name: str | None = None,
) -> RegisteredResource:
    inputs: dict[str, Any] = {
        "direction": direction,
        "ethertype": "IPv4",
        "protocol": protocol,
        "portRangeMin": port,
        "portRangeMax": port,
        "securityGroupId": f"{group.name}-id",
        "description": f"{role}: rule",
    }
    if cidr:
        inputs["remoteIpPrefix"] = cidr
    if peer is not None:
        inputs["remoteGroupId"] = f"{peer.name}-id"
    slug = name or f"{role}-{direction}-{protocol}{port}-{(peer.name if peer else cidr or 'any')}".replace("/", "_")
    deps = (group,) if peer is None else (group, peer)
    return res(t.SEC_GROUP_RULE, slug, inputs, parent=group, deps=deps)


def firewall() -> tuple[dict[str, RegisteredResource], list[RegisteredResource]]:
    """Groups per role plus the allowed flows of the design."""
    g = {role: sec_group(role) for role in t.ROLES}
    services = "10.20.0.0/24"
    rules = [
        sg_rule(g["lb"], "lb", "ingress", 443, cidr="0.0.0.0/0"),
        sg_rule(g["lb"], "lb", "ingress", 80, cidr="0.0.0.0/0"),
        sg_rule(g["lb"], "lb", "egress", 443, peer=g["app"]),
        sg_rule(g["app"], "app", "ingress", 443, peer=g["lb"]),
        sg_rule(g["app"], "app", "egress", 5432, peer=g["db"]),
        sg_rule(g["db"], "db", "ingress", 5432, peer=g["app"]),
        sg_rule(g["recordings"], "recordings", "ingress", 443, peer=g["app"]),
        sg_rule(g["payment"], "payment", "ingress", 8443, peer=g["app"]),
        sg_rule(g["bastion"], "bastion", "ingress", 22, cidr="10.99.0.0/24"),
    ]
    for role in ("app", "db", "recordings", "payment", "lb"):
        rules.append(sg_rule(g[role], role, "ingress", 22, peer=g["bastion"]))
    for role in ("bastion", "app", "db", "recordings", "payment"):
        rules.append(sg_rule(g[role], role, "egress", 443, cidr=services))
    return g, rules


def host(
    role: str, index: int, group: RegisteredResource, server_group: RegisteredResource
) -> list[RegisteredResource]:
    """Port, encrypted boot volume and instance of one host."""
    name = f"{STACK}-{role}-{index}"
    port = res(
        t.PORT,
        f"{name}-port",
        {"name": name, "networkId": "net", "securityGroupIds": [f"{group.name}-id"], "tags": [f"ccaas-role={role}"]},
        deps=(group,),
    )
    boot = res(
        t.VOLUME,
        f"{name}-boot",
        {"name": f"{name}-boot", "size": 20, "volumeType": "encrypted-luks2", "imageId": "debian-12"},
    )
    metadata = {
        "owner": "platform",
        "environment": "prod",
        "role": role,
        "data_classification": "confidential",
        "pci_scope": "true" if role in ("app", "payment") else "false",
    }
    if role in t.DATA_ROLES:
        metadata |= {"backup_diff_minutes": "5", "backup_full_days": "30"}
    instance = res(
        t.INSTANCE,
        name,
        {
            "name": name,
            "flavorName": "m1.medium",
            "configDrive": True,
            "metadata": metadata,
            "blockDevices": [
                {
                    "sourceType": "volume",
                    "destinationType": "volume",
                    "uuid": f"{boot.name}-id",
                    "bootIndex": 0,
                    "deleteOnTermination": False,
                }
            ],
            "networks": [{"port": f"{port.name}-id"}],
            "schedulerHints": [{"group": f"{server_group.name}-id"}],
            "userData": baseline_user_data(name),
        },
        deps=(boot, port, server_group),
        secret=("userData",),
    )
    extra = []
    if role in t.DATA_ROLES:
        data = res(t.VOLUME, f"{name}-data", {"name": f"{name}-data", "size": 100, "volumeType": "encrypted-luks2"})
        extra = [
            data,
            res(
                "openstack:compute/volumeAttach:VolumeAttach",
                f"{name}-data-attach",
                {"instanceId": f"{name}-id", "volumeId": f"{data.name}-id"},
                deps=(instance, data),
            ),
        ]
    key = res("tls:index/privateKey:PrivateKey", f"{name}-hostkey", {"algorithm": "ED25519"})
    return [key, port, boot, instance, *extra]


def edge(groups: dict[str, RegisteredResource]) -> list[RegisteredResource]:
    """Barbican certificate, load balancer, VIP floating IP, HTTPS listener and the HTTP redirect."""
    cert = res(
        t.SECRET,
        "tls-cert",
        {"name": "cert", "secretType": "certificate", "payload": "PEM", "acl": PRIVATE_ACL},
        secret=("payload",),
    )
    key = res(
        t.SECRET,
        "tls-key",
        {"name": "key", "secretType": "private", "payload": "KEY", "acl": PRIVATE_ACL},
        secret=("payload",),
    )
    container = res(
        t.KM_CONTAINER,
        "tls",
        {
            "name": "tls",
            "type": "certificate",
            "acl": PRIVATE_ACL,
            "secretRefs": [
                {"name": "certificate", "secretRef": "cert-ref"},
                {"name": "private_key", "secretRef": "key-ref"},
            ],
        },
        deps=(cert, key),
    )
    lb = res(
        t.LOAD_BALANCER,
        "lb",
        {
            "name": "lb",
            "vipSubnetId": "edge",
            "tags": ["ccaas-role=lb"],
            "securityGroupIds": [f"{groups['lb'].name}-id"],
        },
        deps=(groups["lb"],),
    )
    fip = res(
        t.FLOATING_IP, "lb-vip-fip", {"pool": "public", "portId": "vip-port", "tags": ["ccaas-role=lb"]}, deps=(lb,)
    )
    https = res(
        t.LISTENER,
        "https",
        {
            "loadbalancerId": "lb-id",
            "protocol": "TERMINATED_HTTPS",
            "protocolPort": 443,
            "defaultTlsContainerRef": "https://barbican/v1/containers/x",
            "tlsVersions": ["TLSv1.2", "TLSv1.3"],
            "tlsCiphers": STRONG_CIPHERS,
            "hstsMaxAge": 31536000,
            "hstsIncludeSubdomains": True,
        },
        deps=(lb, container),
    )
    http = res(
        t.LISTENER, "http-redirect", {"loadbalancerId": "lb-id", "protocol": "HTTP", "protocolPort": 80}, deps=(lb,)
    )
    redirect = res(
        t.L7_POLICY,
        "http-redirect-policy",
        {"listenerId": "http-id", "action": "REDIRECT_PREFIX", "redirectPrefix": "https://cc.example"},
        deps=(http,),
    )
    return [cert, key, container, lb, fip, https, http, redirect]


def storage_and_identity() -> list[RegisteredResource]:
    primary = res(
        t.SWIFT_CONTAINER,
        "backup-primary",
        {"name": f"{STACK}-backups", "versioning": True, "region": "RegionOne", "metadata": {"purpose": "backups"}},
    )
    offsite = res(
        t.SWIFT_CONTAINER,
        "backup-offsite",
        {
            "name": f"{STACK}-backups-offsite",
            "versioning": True,
            "region": "RegionTwo",
            "metadata": {"purpose": "backups"},
        },
    )
    cred = res(
        t.APP_CREDENTIAL,
        "backup-cred",
        {
            "name": "backup",
            "roles": ["member"],
            "unrestricted": False,
            "expiresAt": "2026-12-31T00:00:00Z",
            "accessRules": [{"service": "object-store", "method": "PUT", "path": "/v1/AUTH_x/synthetic-backups/**"}],
        },
    )
    return [primary, offsite, cred]


def compliant_stack(servers_per_role: int = 1) -> list[RegisteredResource]:
    """A stack that passes every policy; roles bastion, app, db, recordings, payment get N hosts each."""
    groups, rules = firewall()
    out: list[RegisteredResource] = [*groups.values(), *rules]
    bastion_port = None
    for role in ("bastion", "app", "db", "recordings", "payment"):
        server_group = res(t.SERVER_GROUP, f"{role}-group", {"name": f"{STACK}-{role}", "policies": "anti-affinity"})
        out.append(server_group)
        for i in range(1, servers_per_role + 1):
            hosts = host(role, i, groups[role], server_group)
            out += hosts
            if role == "bastion" and bastion_port is None:
                bastion_port = hosts[1]
    assert bastion_port is not None
    out.append(
        res(
            t.FLOATING_IP,
            "bastion-fip",
            {"pool": "public", "portId": "p", "tags": ["ccaas-role=bastion"]},
            deps=(bastion_port,),
        )
    )
    return out + edge(groups) + storage_and_identity()


def synthetic_servers(total_servers: int) -> list[RegisteredResource]:
    """About six registrations per server, spread over the five host roles (bench input)."""
    return compliant_stack(servers_per_role=max(1, total_servers // 5))
