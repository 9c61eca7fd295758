"""Typed stack configuration: parse and validate every key before a single resource is declared.

The stack file (stacks/Pulumi.<stack>.yaml) is the only input of the program. Parsing collects
*all* problems at once, each with its key path and how to fix it, so an engineer fixes a config
in one round instead of one `pulumi up` per typo. Secret values are never read here: only
whether a secret key is present and stored as a secret.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ccsec.errors import CcsecError
from ccsec.infra import roles as role_model
from ccsec.infra import validate

NAMESPACE = "ccaas-baseline"
ROLES = role_model.HOST_ROLES  # the cluster.<role> keys, in a stable order (facts: infra/roles.py)
ZONES = role_model.ZONES
ENVIRONMENTS = ("dev", "staging", "prod", "lab")
CLASSIFICATIONS = ("internal", "confidential", "restricted")
TLS_MODES = ("self-signed", "provided")
SECRET_KEYS = ("tlsPrivateKey",)
# Keys of earlier releases that the program now creates itself: refused with the fix, never silently ignored.
RETIRED_KEYS = {
    "backupS3AccessKey": "the program creates the db backup user's EC2 credential itself",
    "backupS3SecretKey": "the program creates the db backup user's EC2 credential itself",
}
DEFAULT_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
)
WEAK_CIPHER_MARKERS = ("RC4", "DES", "MD5", "NULL", "EXPORT", "anon", "CBC", "SHA:", "PSK", "SRP")
DEFAULT_ZONES = {
    "edge": "10.20.0.0/24",
    "app": "10.20.10.0/24",
    "data": "10.20.20.0/24",
    "pci": "10.20.30.0/24",
    "mgmt": "10.20.40.0/24",
}
DEFAULT_CLUSTER = {
    "bastion": {"count": 1, "flavor": "m1.small", "bootVolumeGb": 20, "dataVolumeGb": 0},
    "app": {"count": 2, "flavor": "m1.large", "bootVolumeGb": 40, "dataVolumeGb": 0},
    "db": {"count": 1, "flavor": "m1.xlarge", "bootVolumeGb": 40, "dataVolumeGb": 200},
    "recordings": {"count": 1, "flavor": "m1.large", "bootVolumeGb": 40, "dataVolumeGb": 500},
    "payment": {"count": 0, "flavor": "m1.medium", "bootVolumeGb": 40, "dataVolumeGb": 0},
    "loghost": {"count": 1, "flavor": "m1.medium", "bootVolumeGb": 20, "dataVolumeGb": 100},
}


class ConfigError(CcsecError):
    """All problems found in a stack's config (``problems``: one per key path); exit 2."""

    def __init__(self, problems: list[str]):
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        super().__init__(f"stack config is invalid ({count}):", problems)


@dataclass(frozen=True)
class Admin:
    name: str
    ssh_public_key: str
    totp: bool = True  # people need a second factor on the bastion; the lab's automation account does not


@dataclass(frozen=True)
class RoleSpec:
    role: str
    count: int
    flavor: str
    boot_volume_gb: int
    data_volume_gb: int

    @property
    def zone(self) -> str:
        return role_model.role(self.role).zone


@dataclass(frozen=True)
class NetworkSpec:
    external_network_id: str
    floating_ip_pool: str
    zones: Mapping[str, ipaddress.IPv4Network]
    admin_cidrs: tuple[str, ...]
    services_cidr: str
    dns_nameservers: tuple[str, ...]
    ntp_servers: tuple[str, ...]


@dataclass(frozen=True)
class StorageSpec:
    encrypted_volume_types: tuple[str, ...]
    volume_type: str
    backup_container: str
    offsite_container: str
    offsite_region: str


@dataclass(frozen=True)
class TlsSpec:
    mode: str
    hostname: str
    http_redirect: bool
    ciphers: str
    hsts_max_age: int


@dataclass(frozen=True)
class BackupSpec:
    diff_minutes: int
    full_days: int
    credential_expires_at: str
    swift_auth_url: str
    s3_endpoint: str = "swift.internal"  # Swift's S3 API (pgBackRest), HTTPS on port 443
    s3_role: str = "swiftoperator"  # the role the db backup user holds on the project (Swift's operator role)


@dataclass(frozen=True)
class LoggingSpec:
    port: int  # the log hosts' TLS syslog port (the hosts themselves are the stack's loghost role)


@dataclass(frozen=True)
class StackConfig:
    """The validated, typed view of one stack. Built only by `parse_config`."""

    stack: str
    environment: str
    owner: str
    data_classification: str
    region: str
    image: str
    admins: tuple[Admin, ...]
    cluster: Mapping[str, RoleSpec]
    network: NetworkSpec
    storage: StorageSpec
    tls: TlsSpec
    backup: BackupSpec
    logging: LoggingSpec
    secret_keys_present: frozenset[str]

    def roles(self) -> list[RoleSpec]:
        """Roles with at least one host, in a stable order."""
        return [self.cluster[r] for r in ROLES if self.cluster[r].count > 0]


_MISSING = object()
REQUIRED = _MISSING  # a default of REQUIRED makes a key mandatory


class _Reader:
    """Walks raw config, records every problem with its dotted key path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, value: Any, path: str, known: Iterable[str]) -> dict[str, Any]:
        if value is _MISSING:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping of keys, got {type(value).__name__}")
            return {}
        known = list(known)
        for key in value:
            if key not in known:
                hint = difflib.get_close_matches(str(key), known, n=1)
                fix = f" (did you mean '{hint[0]}'?)" if hint else f" (known keys: {', '.join(known)})"
                self.fail(f"{path}.{key}", f"unknown key{fix}")
        return value

    def get(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        kind: type | tuple[type, ...],
        default: Any = _MISSING,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        full = f"{path}.{key}" if path else key
        value = obj.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.fail(full, "is required")
                return None
            return default
        wanted = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in wanted:
            self.fail(full, f"must be {_kind_name(kind)}, got a boolean")
            return default if default is not _MISSING else None
        if not isinstance(value, wanted):
            self.fail(full, f"must be {_kind_name(kind)}, got {type(value).__name__}")
            return default if default is not _MISSING else None
        if check is not None:
            message = check(value)
            if message:
                self.fail(full, message)
        return value

    def choice(self, obj: Mapping[str, Any], key: str, path: str, choices: tuple[str, ...], default: Any) -> Any:
        def check(value: object) -> str | None:
            return None if value in choices else f"must be one of {', '.join(choices)}"

        return self.get(obj, key, path, str, default, check)

    def int_range(self, obj: Mapping[str, Any], key: str, path: str, low: int, high: int, default: Any) -> int:
        def check(value: int) -> str | None:
            return None if low <= value <= high else f"must be between {low} and {high}, got {value}"

        return self.get(obj, key, path, int, default, check)

    def str_list(self, obj: Mapping[str, Any], key: str, path: str, check: Callable, default: Any) -> tuple:
        full = f"{path}.{key}" if path else key
        values = self.get(obj, key, path, list, default)
        if values is None:
            return ()
        for index, item in enumerate(values):
            message = check(item)
            if message:
                self.fail(f"{full}[{index}]", message)
        return tuple(values)


def _typed(kind: type, value: Any) -> Any:
    """``kind(value)`` (a validated type of :mod:`validate`) when the value passed its check, else the value.

    ``parse_config`` raises ConfigError whenever a check failed, so every StackConfig it returns holds the
    validated types; the fallback only keeps the partial specs built while collecting problems.
    """
    return kind(value) if value is not None and kind.check(value) is None else value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a mapping"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def decode_raw(raw: Mapping[str, str]) -> dict[str, Any]:
    """Turn Pulumi's config map ('ns:key' -> string, objects as JSON) into plain values for our namespace."""
    decoded: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for full_key, text in raw.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if isinstance(text, str) and text[:1] in "[{":
            try:
                decoded[key] = json.loads(text)
                continue
            except json.JSONDecodeError:
                pass
        decoded[key] = text
    return decoded


TOP_KEYS = (
    "environment",
    "owner",
    "dataClassification",
    "region",
    "image",
    "admins",
    "cluster",
    "network",
    "storage",
    "tls",
    "backup",
    "logging",
    "tlsCertificate",
    *SECRET_KEYS,
    *RETIRED_KEYS,
)


def parse_config(
    values: Mapping[str, Any],
    secret_keys: Iterable[str],
    stack: str,
    now: datetime | None = None,
) -> StackConfig:
    """Validate a stack's config (our namespace, keys without prefix) into a StackConfig or raise ConfigError."""
    reader = _Reader()
    secrets = {k.removeprefix(f"{NAMESPACE}:") for k in secret_keys}
    top = reader.mapping(dict(values), "config", TOP_KEYS)
    # Unknown top-level keys are reported with their bare name, like every other path.
    reader.problems = [p.removeprefix("config.") for p in reader.problems]
    for key, why in RETIRED_KEYS.items():
        if key in top:
            reader.fail(key, f"is no longer used: {why}; remove it: pulumi config rm {key}")

    environment = reader.choice(top, "environment", "", ENVIRONMENTS, REQUIRED)
    owner = reader.get(top, "owner", "", str, REQUIRED, validate.free_text)
    classification = reader.choice(top, "dataClassification", "", CLASSIFICATIONS, "confidential")
    region = reader.get(top, "region", "", str, "RegionOne", validate.openstack_ref)
    image = reader.get(top, "image", "", str, "debian-12", validate.openstack_ref)
    admins = _parse_admins(reader, top)
    cluster = _parse_cluster(reader, top, environment)
    network = _parse_network(reader, top)
    storage = _parse_storage(reader, top)
    tls = _parse_tls(reader, top, environment, secrets)
    backup = _parse_backup(reader, top, now or datetime.now(UTC))
    logging = _parse_logging(reader, top)
    _check_services_reach(reader, network, backup)

    if reader.problems:
        raise ConfigError(reader.problems)
    return StackConfig(
        stack=stack,
        environment=environment,
        owner=_typed(validate.FreeText, owner),
        data_classification=classification,
        region=region,
        image=image,
        admins=admins,
        cluster=cluster,
        network=network,
        storage=storage,
        tls=tls,
        backup=backup,
        logging=logging,
        secret_keys_present=frozenset(secrets & set(top)),
    )


def _parse_admins(reader: _Reader, top: Mapping[str, Any]) -> tuple[Admin, ...]:
    raw = reader.get(top, "admins", "", list, REQUIRED)
    if raw is None:
        return ()
    if not raw:
        reader.fail("admins", "must list at least one administrator ({name, sshPublicKey})")
    admins = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        path = f"admins[{index}]"
        entry = reader.mapping(item, path, ("name", "sshPublicKey"))
        if not isinstance(item, dict):
            continue
        name = reader.get(entry, "name", path, str, REQUIRED, validate.unix_user)
        key = reader.get(entry, "sshPublicKey", path, str, REQUIRED, validate.ssh_public_key)
        if name in seen:
            reader.fail(f"{path}.name", f"duplicate administrator '{name}'")
        seen.add(name)
        if name and key and not validate.unix_user(name) and not validate.ssh_public_key(key):
            admins.append(Admin(validate.PosixUser(name), validate.SshPublicKey(key)))
    return tuple(admins)


def _parse_cluster(reader: _Reader, top: Mapping[str, Any], environment: str | None) -> dict[str, RoleSpec]:
    raw = reader.mapping(top.get("cluster", _MISSING), "cluster", ROLES)
    specs: dict[str, RoleSpec] = {}
    for role in ROLES:
        path = f"cluster.{role}"
        defaults = DEFAULT_CLUSTER[role]
        entry = reader.mapping(raw.get(role, {}), path, defaults)
        count = reader.int_range(entry, "count", path, 0, 1000, defaults["count"])
        flavor = reader.get(entry, "flavor", path, str, defaults["flavor"], validate.flavor)
        boot_gb = reader.int_range(entry, "bootVolumeGb", path, 10, 2000, defaults["bootVolumeGb"])
        data_gb = reader.int_range(entry, "dataVolumeGb", path, 0, 65536, defaults["dataVolumeGb"])
        if count is not None:
            if role == "bastion" and count < 1:
                reader.fail(f"{path}.count", "must be ≥ 1: administrators reach hosts only through the bastion")
            required = role in role_model.REQUIRED_ROLES
            if required and count < 1:
                reader.fail(f"{path}.count", f"must be ≥ 1: the {role} role is part of every contact center")
            if environment == "prod" and required and 0 < count < 2:
                reader.fail(
                    f"{path}.count", "must be ≥ 2 for anti-affinity in prod (one host is a single point of failure)"
                )
            if role in role_model.DATA_VOLUME_ROLES and data_gb == 0:
                reader.fail(f"{path}.dataVolumeGb", f"must be > 0: {role} keeps its data on an encrypted data volume")
        specs[role] = RoleSpec(role, count or 0, flavor or "", boot_gb or 0, data_gb or 0)
    return specs


def _parse_network(reader: _Reader, top: Mapping[str, Any]) -> NetworkSpec:
    known = (
        "externalNetworkId",
        "floatingIpPool",
        "zones",
        "adminCidrs",
        "servicesCidr",
        "dnsNameservers",
        "ntpServers",
    )
    raw = reader.mapping(top.get("network", _MISSING), "network", known)
    external = reader.get(raw, "externalNetworkId", "network", str, REQUIRED, validate.openstack_ref)
    pool = reader.get(raw, "floatingIpPool", "network", str, "public", validate.openstack_ref)
    zones_raw = reader.mapping(raw.get("zones", {}), "network.zones", ZONES)
    zones: dict[str, ipaddress.IPv4Network] = {}
    for zone in ZONES:
        cidr = reader.get(zones_raw, zone, "network.zones", str, DEFAULT_ZONES[zone], validate.private_network)
        try:
            zones[zone] = ipaddress.IPv4Network(cidr)
        except (ValueError, TypeError):
            continue
    for (name_a, net_a), (name_b, net_b) in _pairs(zones.items()):
        if net_a.overlaps(net_b):
            reader.fail(f"network.zones.{name_b}", f"overlaps network.zones.{name_a} ({net_a}); zones must be disjoint")
    admin_cidrs = reader.str_list(raw, "adminCidrs", "network", validate.admin_cidr, REQUIRED)
    if "adminCidrs" in raw and isinstance(raw.get("adminCidrs"), list) and not raw["adminCidrs"]:
        reader.fail("network.adminCidrs", "must list at least one CIDR administrators connect from")
    services = reader.get(raw, "servicesCidr", "network", str, "10.20.250.0/24", validate.private_network)
    dns = reader.str_list(raw, "dnsNameservers", "network", validate.ip_address, ("10.20.250.53",))
    ntp = reader.str_list(raw, "ntpServers", "network", validate.host_or_ip, ("10.20.250.123",))
    return NetworkSpec(
        external or "",
        pool or "",
        zones,
        tuple(_typed(validate.Cidr, c) for c in admin_cidrs),
        _typed(validate.Cidr, services or ""),
        tuple(_typed(validate.IPAddress, d) for d in dns),
        tuple(_typed(validate.Host, n) for n in ntp),
    )


def _check_services_reach(reader: _Reader, network: NetworkSpec, backup: BackupSpec) -> None:
    """Every service a host must reach by address lies inside network.servicesCidr.

    Both walls (security groups and the hosts' output chain) allow DNS, NTP, Keystone and Swift only
    there, so a resolver or time server outside it would be dropped on every host, silently. A name
    (an NTP server, Keystone's host) is resolved on the host and cannot be checked here.
    """

    def reported(path: str) -> bool:  # a value its own validator refused: one error per value is enough
        return any(p.startswith(path) for p in reader.problems)

    if reported("network.servicesCidr"):
        return
    services = ipaddress.ip_network(network.services_cidr)
    fix = f"must lie inside network.servicesCidr ({services}), the only place hosts may reach services"
    listed = [(f"network.dnsNameservers[{i}]", a) for i, a in enumerate(network.dns_nameservers)]
    listed += [(f"network.ntpServers[{i}]", a) for i, a in enumerate(network.ntp_servers)]
    if not reported("backup.swiftAuthUrl"):  # urlsplit raises on what its validator refused ("https://[")
        listed += [("backup.swiftAuthUrl", urlsplit(backup.swift_auth_url).hostname or "")]
    listed += [("backup.s3Endpoint", backup.s3_endpoint)]
    for path, value in listed:
        if reported(path):
            continue
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            continue  # a host name
        if address not in services:
            reader.fail(path, f"{value} {fix}: move the service there or set servicesCidr to cover it")


def _pairs(items: Iterable[tuple[str, ipaddress.IPv4Network]]):
    listed = list(items)
    for i, first in enumerate(listed):
        for second in listed[i + 1 :]:
            yield first, second


def _parse_storage(reader: _Reader, top: Mapping[str, Any]) -> StorageSpec:
    known = ("encryptedVolumeTypes", "volumeType", "backupContainer", "offsiteContainer", "offsiteRegion")
    raw = reader.mapping(top.get("storage", _MISSING), "storage", known)
    allowed = reader.str_list(raw, "encryptedVolumeTypes", "storage", validate.openstack_ref, ("encrypted-luks2",))
    if not allowed:
        reader.fail("storage.encryptedVolumeTypes", "must name at least one encrypted Cinder volume type")
    volume_type = reader.get(raw, "volumeType", "storage", str, allowed[0] if allowed else "", validate.openstack_ref)
    if volume_type and allowed and volume_type not in allowed:
        reader.fail(
            "storage.volumeType", f"'{volume_type}' is not in storage.encryptedVolumeTypes; pick an encrypted type"
        )
    backup = reader.get(raw, "backupContainer", "storage", str, "ccaas-backups", validate.name)
    offsite = reader.get(raw, "offsiteContainer", "storage", str, "ccaas-backups-offsite", validate.name)
    if backup and backup == offsite:
        reader.fail("storage.offsiteContainer", "must differ from storage.backupContainer (the off-site copy)")
    offsite_region = reader.get(raw, "offsiteRegion", "storage", str, "RegionTwo", validate.openstack_ref)
    return StorageSpec(allowed, volume_type or "", backup or "", offsite or "", offsite_region or "")


def _parse_tls(reader: _Reader, top: Mapping[str, Any], environment: str | None, secrets: set[str]) -> TlsSpec:
    known = ("mode", "hostname", "httpRedirect", "ciphers", "hstsMaxAge")
    raw = reader.mapping(top.get("tls", _MISSING), "tls", known)
    mode = reader.choice(raw, "mode", "tls", TLS_MODES, "self-signed")
    host = reader.get(raw, "hostname", "tls", str, REQUIRED, validate.hostname)
    redirect = reader.get(raw, "httpRedirect", "tls", bool, False)
    ciphers = reader.get(raw, "ciphers", "tls", str, DEFAULT_CIPHERS, _cipher_list)
    hsts = reader.int_range(raw, "hstsMaxAge", "tls", 15_552_000, 63_072_000, 31_536_000)
    if mode == "self-signed" and environment == "prod":
        reader.fail(
            "tls.mode", "self-signed certificates are refused in prod; use 'provided' with tlsCertificate/tlsPrivateKey"
        )
    if mode == "provided":
        if "tlsCertificate" not in top:
            reader.fail("tlsCertificate", "is required when tls.mode is 'provided' (PEM chain, leaf first)")
        if "tlsPrivateKey" not in top:
            reader.fail(
                "tlsPrivateKey",
                "is required when tls.mode is 'provided': pulumi config set --secret tlsPrivateKey < key.pem",
            )
    for key in SECRET_KEYS:
        if key in top and key not in secrets:
            reader.fail(key, f"must be stored as a secret: pulumi config set --secret {key} ... (plain text refused)")
    return TlsSpec(
        mode or "",
        _typed(validate.HostName, host or ""),
        bool(redirect),
        ciphers or DEFAULT_CIPHERS,
        hsts or 31_536_000,
    )


# TLS 1.2 suites the baseline allows (ECDHE key exchange, AEAD): an allow-list, so a typo, a keyword such as
# `ALL`, or a value with a trailing newline can never reach nginx's or Octavia's cipher string.
AEAD_ECDHE_CIPHERS = frozenset(
    {
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-CCM",
        "ECDHE-ECDSA-AES128-CCM",
    }
)


def _cipher_list(value: str) -> str | None:
    parts = value.split(":")
    if not all(p in AEAD_ECDHE_CIPHERS for p in parts) or len(set(parts)) != len(parts):
        weak_named = [p for p in parts if any(marker in f"{p}:" for marker in WEAK_CIPHER_MARKERS)]
        if weak_named:
            return f"contains weak ciphers ({', '.join(weak_named)}); use AEAD ECDHE suites only"
        return (
            "must be a ':'-separated list of distinct AEAD ECDHE suites, e.g. 'ECDHE-ECDSA-AES256-GCM-SHA384:"
            "ECDHE-RSA-AES256-GCM-SHA384' (allowed: " + ", ".join(sorted(AEAD_ECDHE_CIPHERS)) + ")"
        )
    weak = [p for p in parts if any(marker in f"{p}:" for marker in WEAK_CIPHER_MARKERS)]
    if weak:
        return f"contains weak ciphers ({', '.join(weak)}); use AEAD ECDHE suites only"
    return None


def _parse_backup(reader: _Reader, top: Mapping[str, Any], now: datetime) -> BackupSpec:
    known = ("diffMinutes", "fullDays", "credentialExpiresAt", "swiftAuthUrl", "s3Endpoint", "s3Role")
    raw = reader.mapping(top.get("backup", _MISSING), "backup", known)
    diff = reader.int_range(raw, "diffMinutes", "backup", 1, 5, 5)
    full = reader.int_range(raw, "fullDays", "backup", 1, 30, 30)
    expires = reader.get(raw, "credentialExpiresAt", "backup", str, REQUIRED)
    if isinstance(expires, str):
        try:
            when = datetime.fromisoformat(expires.replace("Z", "+00:00"))
            if when.tzinfo is None:
                reader.fail("backup.credentialExpiresAt", "must carry a time zone, e.g. '2027-06-30T00:00:00Z'")
            elif when <= now:
                reader.fail(
                    "backup.credentialExpiresAt", "is in the past: backup agents would lose access; move it forward"
                )
            elif (when - now).days > 400:
                reader.fail(
                    "backup.credentialExpiresAt", "is more than 400 days away; rotate credentials at least yearly"
                )
        except ValueError:
            reader.fail("backup.credentialExpiresAt", "must be an RFC 3339 time such as '2027-06-30T00:00:00Z'")
    auth_url = reader.get(raw, "swiftAuthUrl", "backup", str, "https://keystone.internal:5000/v3", validate.https_url)
    s3_endpoint = reader.get(raw, "s3Endpoint", "backup", str, "swift.internal", validate.host_or_ip)
    s3_role = reader.get(raw, "s3Role", "backup", str, "swiftoperator", validate.keystone_role)
    return BackupSpec(
        diff or 5,
        full or 30,
        expires or "",
        _typed(validate.HttpsUrl, auth_url or ""),
        _typed(validate.Host, s3_endpoint or ""),
        s3_role or "swiftoperator",
    )


def _parse_logging(reader: _Reader, top: Mapping[str, Any]) -> LoggingSpec:
    given = top.get("logging", _MISSING)
    if isinstance(given, Mapping) and "host" in given:  # an earlier release's external collector
        reader.fail(
            "logging.host",
            "is no longer used: the stack's own log hosts (cluster.loghost) receive every host's logs; "
            "remove it from the stack file's logging block",
        )
        given = {k: v for k, v in given.items() if k != "host"}
    raw = reader.mapping(given, "logging", ("port",))
    log_port = reader.get(raw, "port", "logging", int, 6514, validate.port)
    return LoggingSpec(_typed(validate.Port, log_port or 6514))
