"""Shared vocabulary of the pack: type tokens, roles, and safe readers for engine property bags.

Property bags reach policies wrapped by pulumi_policy's unknown-checking proxy; ``key in props`` would
read the value (and raise during a real preview if it is unknown), so presence is tested on the keys.
Numbers arrive as floats (protobuf Struct), hence ``as_int``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

SEC_GROUP = "openstack:networking/secGroup:SecGroup"
SEC_GROUP_RULE = "openstack:networking/secGroupRule:SecGroupRule"
PORT = "openstack:networking/port:Port"
FLOATING_IP = "openstack:networking/floatingIp:FloatingIp"
FLOATING_IP_ASSOCIATE = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
INSTANCE = "openstack:compute/instance:Instance"
SERVER_GROUP = "openstack:compute/serverGroup:ServerGroup"
VOLUME = "openstack:blockstorage/volume:Volume"
LISTENER = "openstack:loadbalancer/listener:Listener"
LOAD_BALANCER = "openstack:loadbalancer/loadBalancer:LoadBalancer"
L7_POLICY = "openstack:loadbalancer/l7PolicyV2:L7PolicyV2"
SECRET = "openstack:keymanager/secretV1:SecretV1"
KM_CONTAINER = "openstack:keymanager/containerV1:ContainerV1"
SWIFT_CONTAINER = "openstack:objectstorage/container:Container"
SWIFT_ACCOUNT = "openstack:objectstorage/accountV1:AccountV1"
TEMP_URL = "openstack:objectstorage/tempUrl:TempUrl"
APP_CREDENTIAL = "openstack:identity/applicationCredential:ApplicationCredential"
ROLE = "openstack:identity/role:Role"
ROLE_ASSIGNMENT = "openstack:identity/roleAssignment:RoleAssignment"
INHERIT_ROLE_ASSIGNMENT = "openstack:identity/inheritRoleAssignment:InheritRoleAssignment"
IDENTITY_USER = "openstack:identity/user:User"
EC2_CREDENTIAL = "openstack:identity/ec2CredentialV3:Ec2CredentialV3"
KEYPAIR = "openstack:compute/keypair:Keypair"
OPENSTACK_PROVIDER = "pulumi:providers:openstack"
POOL = "openstack:loadbalancer/pool:Pool"
MONITOR = "openstack:loadbalancer/monitor:Monitor"
IKE_POLICY = "openstack:vpnaas/ikePolicy:IkePolicy"
IPSEC_POLICY = "openstack:vpnaas/ipSecPolicy:IpSecPolicy"
IMAGE = "openstack:images/image:Image"
SHARE_ACCESS = "openstack:sharedfilesystem/shareAccess:ShareAccess"

ROLE_TAG = "ccaas-role"
ROLES = ("lb", "bastion", "app", "db", "recordings", "payment")
PUBLIC_ROLES = ("lb", "bastion")
DATA_ROLES = ("db", "recordings")
PCI_ROLES = ("payment",)
INTERNAL_ROLES = ("app", "db", "recordings", "payment")

ANYWHERE = ("0.0.0.0/0", "::/0")
TCP = ("tcp", "6")
ALL_PORTS = (1, 65535)


def has(props: Mapping[str, Any], key: str) -> bool:
    """Presence without reading the value (safe on unknown values during preview)."""
    return key in set(iter(props))


def get(props: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """The value, or default when absent or null."""
    if not has(props, key):
        return default
    value = props[key]
    return default if value is None else value


def as_int(value: Any) -> int | None:
    """Struct numbers are floats; strings like "5" appear in metadata maps."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def seq(value: Any) -> list[Any]:
    """Items of a list value (proxied lists included), [] for anything else."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def str_list(value: Any) -> list[str]:
    """A list of strings from a list value (non-strings dropped), [] otherwise."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [v for v in value if isinstance(v, str)]
    return []


def tag_map(tags: Any) -> dict[str, str]:
    """OpenStack tags are plain strings; ours are "key=value". Mappings are accepted as-is."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for tag in str_list(tags):
        key, sep, value = tag.partition("=")
        out[key.strip()] = value.strip() if sep else ""
    return out


def role_from_name(name: Any) -> str | None:
    """Our names end in "-<role>" (e.g. "prod-db"); anything else yields None."""
    if not isinstance(name, str):
        return None
    for role in ROLES:
        if name == role or name.endswith("-" + role):
            return role
    return None


def role_from_description(description: Any) -> str | None:
    """Our rule descriptions start with "<role>:"."""
    if not isinstance(description, str):
        return None
    head = description.split(":", 1)[0].strip()
    return head if ":" in description and head in ROLES else None


def tagged_role(props: Mapping[str, Any]) -> str | None:
    """Role from the ccaas-role tag (tags) or metadata key (instances)."""
    for key in ("tags", "metadata"):
        value = get(props, key)
        mapping = tag_map(value) if key == "tags" else (value if isinstance(value, Mapping) else {})
        role = mapping.get(ROLE_TAG) or (mapping.get("role") if key == "metadata" else None)
        if isinstance(role, str) and role in ROLES:
            return role
    return None


PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def is_private_prefix(prefix: str) -> bool:
    """Inside RFC 1918 (IPv4) or RFC 4193 unique-local (IPv6) space."""
    return prefix_within(prefix, PRIVATE_RANGES)


def prefix_within(prefix: str, allowed: Sequence[str]) -> bool:
    """True when prefix lies inside one of the allowed CIDRs."""
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False
    for cidr in allowed:
        try:
            outer = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if net.version == outer.version and net.subnet_of(outer):  # type: ignore[arg-type]
            return True
    return False
