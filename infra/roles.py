"""The role model: every fact about a role, written once, as data.

Per role: its network zone, the flows it accepts (ingress) and the non-role destinations it may
reach (egress), whether it keeps state, which backup engines and services it runs, which packages
its hosts need, whether it has a data volume. Both firewalls (security groups in
`firewall_rules`, nftables in `host_firewall`), the policy pack's allowed-flow config, the README's
flow table (`flow_table`) and user-data's role switches are derived from this module, so one edit
here reaches every wall and document at once.

A role-to-role connection is one fact: it is declared as an ingress flow of the receiving role
and the sender's egress is derived from it. `Role.egress` therefore lists only destinations that
are not roles (the services CIDR). This module imports nothing from the stack config: the facts
do not depend on a stack; resolving peers to CIDRs happens where a stack is at hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Peers that are not roles (the source of an ingress flow, or the destination of an egress flow).
ADMINS = "admins"  # network.adminCidrs
ANYWHERE = "anywhere"  # 0.0.0.0/0
SERVICES = "services"  # network.servicesCidr: DNS, NTP, mirror, Keystone, Swift
NON_ROLE_PEERS = (ADMINS, ANYWHERE, SERVICES)
LOG_PORT = "logging.port"  # a port taken from the stack (the log hosts' TLS syslog port)
KEYSTONE_PORT = "backup.swiftAuthUrl"  # a port taken from the stack: Keystone's, in the backup agents' auth URL
CONFIG_PORTS = (LOG_PORT, KEYSTONE_PORT)
LOG_HOST_ROLE = "loghost"  # receives every other host's syslog stream (HOST-15)
HTTP_REDIRECT = "tls.httpRedirect"  # a flow that exists only when the stack turns the redirect on
ZONES = ("edge", "app", "data", "pci", "mgmt")
HTTPS_PORT = 443  # also the load balancer's listener and its app members (infra/tls.py)


@dataclass(frozen=True)
class Flow:
    """One allowed flow as seen from the role that declares it.

    ``purpose`` describes it on the declaring role's side (its security-group rule, and by default
    its nftables comment); ``peer_purpose`` describes the mirrored egress rule on a role peer;
    ``host_purpose`` overrides the nftables comment. ``when`` names the stack switch a flow
    depends on ("" = always).
    """

    peer: str
    protocol: str
    port: int | str
    purpose: str
    control: str
    peer_purpose: str = ""
    host_purpose: str = ""
    when: str = ""

    @property
    def comment(self) -> str:
        return self.host_purpose or self.purpose


@dataclass(frozen=True)
class DataVolume:
    """What a host keeps on its encrypted data volume, and how the volume is opened and mounted.

    The host formats the volume LUKS2 (inside the Cinder encrypted type: two keys, two owners), opens
    it as ``/dev/mapper/<mapper>`` and mounts it at ``mount`` nodev,nosuid,noexec. ``units`` run from
    the volume: they are stopped while the first boot moves their data onto it, and they get
    ``RequiresMountsFor=`` so they never start on the boot volume's empty directory instead.
    """

    mapper: str
    mount: str
    holds: str
    owner: str = "root:root"
    mode: str = "0750"
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    """Everything the program, the host and the docs need to know about one role."""

    name: str
    zone: str
    summary: str
    ingress: tuple[Flow, ...] = ()
    egress: tuple[Flow, ...] = ()
    hosts: bool = True  # False: no instances of its own (the Octavia load balancer)
    required: bool = False  # part of every contact center: >= 1 host, >= 2 in prod (anti-affinity)
    stateful: bool = False
    data_volume: DataVolume | None = None  # an encrypted Cinder data volume (a second disk in the lab)
    pci_scope: bool = False
    backup_engines: tuple[str, ...] = ()  # engines of the on-host backup agent
    services: tuple[str, ...] = ()  # units only this role runs; every other role masks them (HOST-20)
    packages: tuple[str, ...] = ()  # packages beyond the baseline that the image must hold for it
    features: tuple[str, ...] = ()  # role-specific host files and runcmd steps (see userdata.HOST_FILES)


@dataclass(frozen=True)
class Link:
    """One allowed connection with both ends named: what walls and docs are built from."""

    source: str  # a role, ADMINS or ANYWHERE
    target: str  # a role or SERVICES
    flow: Flow
    declared_by: str  # the role whose model entry holds the flow

    @property
    def inbound(self) -> bool:
        """Declared as the target's ingress (so the source, if a role, gets the mirrored egress)."""
        return self.declared_by == self.target


def _ssh_from_bastion(role: str) -> Flow:
    return Flow(
        "bastion",
        "tcp",
        22,
        "SSH from the bastion only",
        "NET-02",
        peer_purpose=f"bastion to {role} hosts",
        host_purpose="SSH from the bastion",
    )


# Every host's egress: only to the internal services CIDR.
SERVICES_EGRESS = (
    Flow(SERVICES, "udp", 53, "DNS to internal resolvers", "NET-05"),
    Flow(SERVICES, "tcp", 53, "DNS over TCP to internal resolvers", "NET-05"),
    Flow(SERVICES, "udp", 123, "NTP to internal time servers", "HOST-14"),
    Flow(SERVICES, "tcp", 443, "package mirror and Swift (object store, S3 API)", "NET-05"),
)
# The backup agents' token comes from Keystone, which listens on its own port (5000 by default): without
# this flow a stack whose Keystone is not on 443 would drop every backup at both walls.
BACKUP_EGRESS = (
    *SERVICES_EGRESS,
    Flow(SERVICES, "tcp", KEYSTONE_PORT, "Keystone, for the backup agents' tokens", "BKP-01"),
)
# Roles whose hosts forward their syslog stream to the log hosts (the log host keeps its own locally).
LOG_SENDERS = ("bastion", "app", "db", "recordings", "payment")


def _logs_from(role: str) -> Flow:
    return Flow(
        role,
        "tcp",
        LOG_PORT,
        f"logs over RELP/TLS from {role} (client certificate)",
        "HOST-15",
        peer_purpose=f"{role} logs to the log host",
        host_purpose=f"logs over RELP/TLS from {role}",
    )


MODEL: tuple[Role, ...] = (
    Role(
        "lb",
        "edge",
        "Octavia load balancer terminating TLS",
        ingress=(
            Flow(ANYWHERE, "tcp", HTTPS_PORT, "public HTTPS to the load balancer", "NET-01"),
            Flow(ANYWHERE, "tcp", 80, "HTTP, redirected to HTTPS only", "TLS-01", when=HTTP_REDIRECT),
        ),
        hosts=False,
    ),
    Role(
        "bastion",
        "mgmt",
        "administrators' SSH entry point (TOTP second factor)",
        ingress=(Flow(ADMINS, "tcp", 22, "administrators to the bastion", "NET-02", host_purpose="administrators"),),
        egress=SERVICES_EGRESS,
        features=("totp",),
    ),
    Role(
        "app",
        "app",
        "contact-center application behind the load balancer",
        ingress=(
            Flow(
                "lb",
                "tcp",
                HTTPS_PORT,
                "HTTPS from the load balancer",
                "NET-01",
                peer_purpose="load balancer to app backends",
                host_purpose="HTTPS from the load balancer subnet",
            ),
            _ssh_from_bastion("app"),
        ),
        egress=SERVICES_EGRESS,
        required=True,
        pci_scope=True,
        services=("nginx.service",),
        packages=("nginx",),
        features=("nginx",),
    ),
    Role(
        "db",
        "data",
        "PostgreSQL 15 (each host an independent primary; no replication yet)",
        ingress=(
            Flow("app", "tcp", 5432, "PostgreSQL from app", "NET-05", peer_purpose="app to PostgreSQL"),
            # No db -> db flow: replication is not configured, and an open port no service uses is a lateral
            # path between the databases. It comes back with replication (TLS, scram-sha-256).
            _ssh_from_bastion("db"),
        ),
        egress=BACKUP_EGRESS,
        required=True,
        stateful=True,
        data_volume=DataVolume(
            "pgdata",
            "/var/lib/postgresql",
            "the PostgreSQL cluster: data directory and WAL",
            owner="postgres:postgres",
            units=("postgresql@15-main.service",),
        ),
        backup_engines=("postgres",),
        services=("postgresql.service", "postgresql@15-main.service"),
        packages=("postgresql-15",),
        features=("postgres",),
    ),
    Role(
        "recordings",
        "data",
        "call recordings on a LUKS2 data volume",
        ingress=(
            Flow(
                "app",
                "tcp",
                443,
                "recording uploads from app",
                "NET-05",
                peer_purpose="app uploads call recordings",
            ),
            _ssh_from_bastion("recordings"),
        ),
        egress=BACKUP_EGRESS,
        required=True,
        stateful=True,
        data_volume=DataVolume("recordings", "/srv/recordings", "call recordings"),
        backup_engines=("files",),
        packages=("cryptsetup",),
    ),
    Role(
        "payment",
        "pci",
        "PCI payment/IVR API (the cardholder-data environment)",
        ingress=(
            Flow(
                "app",
                "tcp",
                8443,
                "payment API from app only",
                "NET-07",
                peer_purpose="app to the PCI payment/IVR API",
                host_purpose="payment API from app",
            ),
            _ssh_from_bastion("payment"),
        ),
        egress=SERVICES_EGRESS,
        pci_scope=True,
    ),
    Role(
        LOG_HOST_ROLE,
        "mgmt",
        "central log host: syslog over TLS with client certificates, stored append-only",
        ingress=(*(_logs_from(r) for r in LOG_SENDERS), _ssh_from_bastion(LOG_HOST_ROLE)),
        egress=SERVICES_EGRESS,
        required=True,
        data_volume=DataVolume(
            "logs",
            "/srv/logs",
            "every host's syslog stream, one append-only file per host and day",
            owner="ccaas-logs:ccaas-logs",
            units=("ccaas-log-receiver.service",),
        ),
        services=("ccaas-log-receiver.service", "ccaas-log-seal.timer"),
        features=("log-receiver",),
    ),
)


class RoleModelError(ValueError):
    """The model contradicts itself (an unknown peer or zone, a role-to-role egress)."""


def check_model(model: Iterable[Role]) -> None:
    """Refuse a model that would derive walls that disagree or rules that cannot be built."""
    roles = list(model)
    names = [r.name for r in roles]
    problems = [f"{n}: declared twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for r in roles:
        if r.zone not in ZONES:
            problems.append(f"{r.name}.zone: {r.zone!r} is not one of {', '.join(ZONES)}")
        for f in r.ingress:
            if f.peer not in names and f.peer not in (ADMINS, ANYWHERE):
                problems.append(f"{r.name}.ingress: unknown source {f.peer!r}")
        for f in r.egress:
            if f.peer in names:
                problems.append(f"{r.name}.egress: {f.peer!r} is a role; declare it as {f.peer}'s ingress")
            elif f.peer != SERVICES:
                problems.append(f"{r.name}.egress: unknown destination {f.peer!r}")
        for f in (*r.ingress, *r.egress):
            if f.protocol not in ("tcp", "udp") or not (f.port in CONFIG_PORTS or isinstance(f.port, int)):
                problems.append(f"{r.name}: {f.protocol}/{f.port} is not a tcp/udp port")
        if not r.hosts and r.egress:
            problems.append(f"{r.name}: a role without hosts has no egress of its own")
        if r.backup_engines and not any(f.port == KEYSTONE_PORT and f.peer == SERVICES for f in r.egress):
            problems.append(f"{r.name}: its backup agent cannot reach Keystone (add the backup.swiftAuthUrl egress)")
    # HOST-15: a role whose hosts do not reach the log host would leave no audit trail off the host.
    log_hosts = [r for r in roles if r.name == LOG_HOST_ROLE]
    senders = {f.peer for r in log_hosts for f in r.ingress if f.port == LOG_PORT}
    for r in roles:
        if r.hosts and r.name != LOG_HOST_ROLE and r.name not in senders:
            problems.append(f"{r.name}: its hosts cannot reach the log host (add it to LOG_SENDERS)")
    if problems:
        raise RoleModelError("role model: " + "; ".join(problems))


check_model(MODEL)


def role(name: str, model: Iterable[Role] | None = None) -> Role:
    """The role named ``name`` (KeyError names it when unknown)."""
    for r in MODEL if model is None else model:
        if r.name == name:
            return r
    raise KeyError(f"role {name!r} is not in the role model")


def links(model: Iterable[Role] | None = None) -> list[Link]:
    """Every allowed connection, in model order: ingress flows first per role, then its egress."""
    out: list[Link] = []
    for r in MODEL if model is None else model:
        out += [Link(f.peer, r.name, f, r.name) for f in r.ingress]
        out += [Link(r.name, f.peer, f, r.name) for f in r.egress]
    return out


ALL_ROLES = tuple(r.name for r in MODEL)  # one security group each
HOST_ROLES = tuple(r.name for r in MODEL if r.hosts)  # cluster.<role> keys; roles with instances
STATEFUL_ROLES = tuple(r.name for r in MODEL if r.stateful)
DATA_VOLUME_ROLES = tuple(r.name for r in MODEL if r.data_volume is not None)
BACKUP_ROLES = tuple(r.name for r in MODEL if r.backup_engines)
REQUIRED_ROLES = tuple(r.name for r in MODEL if r.required)
