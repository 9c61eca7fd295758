"""Shared vocabulary of the pack: type tokens, roles, and safe readers for engine property bags.

Property bags reach policies wrapped by pulumi_policy's unknown-checking proxy; ``key in props`` would
read the value (and raise during a real preview if it is unknown), so presence is tested on the keys.
Numbers arrive as floats (protobuf Struct), hence ``as_int``.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
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
FW_RULE = "openstack:firewall/ruleV2:RuleV2"

ROLE_TAG = "ccaas-role"
ROLES = ("lb", "bastion", "app", "db", "recordings", "payment", "loghost")
PUBLIC_ROLES = ("lb", "bastion")
DATA_ROLES = ("db", "recordings")
PCI_ROLES = ("payment",)
LOG_ROLES = ("loghost",)  # the audit trail's store: never reachable from outside, no egress to the internet
INTERNAL_ROLES = ("app", "db", "recordings", "payment", "loghost")

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


GZIP_MAGIC = b"\x1f\x8b"
USER_DATA_LIMIT = 1 << 20  # decompressed bytes; more is not a cloud-config this pack wrote


def user_data_text(value: object) -> str | None:
    """The cloud-config inside Nova ``user_data``: plain text, or base64 of gzip (as the program sends it).

    cloud-init decompresses gzip user-data itself, so a policy that read only plain text could be passed
    by compressing; reading both makes the two spellings one. None when it is neither (or too large).
    """
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return value
    if not raw.startswith(GZIP_MAGIC):
        return value
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(USER_DATA_LIMIT + 1)
    except (OSError, EOFError):
        return None
    if len(data) > USER_DATA_LIMIT:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- Reading values that may be unknown (a preview) without raising --------------------------------
# pulumi_policy's proxy raises UnknownValueError on reading an unknown value, and a stack policy that
# raises becomes a "could not run" advisory for the whole stack. Network policies read the raw bag
# instead and decide themselves what an unknown value means (usually: resolve through the property's
# dependencies; where that is impossible, name the input and fail closed).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (and the engine's generic unknown)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


def _target(value: Any) -> Any:
    """The container behind one proxy level, or None when value is not a proxy."""
    if isinstance(value, (dict, list, str, bytes)) or not isinstance(value, (Mapping, Sequence)):
        return None
    try:
        return value["__target"]  # type: ignore[index]
    except (KeyError, TypeError, IndexError):
        return None


def plain(value: Any) -> Any:
    """A deep, raw copy of what pulumi_policy's proxy wraps (it wraps eagerly); unknown sentinels kept."""
    inner = _target(value)
    if inner is None:
        return value
    if isinstance(inner, dict):
        return {k: plain(v) for k, v in inner.items()}
    return [plain(v) for v in inner]


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def raw_get(props: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """Like get() but never raises on an unknown value: the sentinel is returned."""
    inner = _target(props)
    bag = inner if inner is not None else props
    value = plain(bag.get(key)) if isinstance(bag, Mapping) else None
    return default if value is None else value


def present(props: Mapping[str, Any], key: str) -> bool:
    """The input is set to something (a value or an unknown), not absent/null/empty."""
    value = raw_get(props, key)
    return value not in (None, "", [], {})
