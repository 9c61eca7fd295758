"""The firewall matrix as data: who may talk to whom, on which port, and why.

Kept apart from the Pulumi resources so the matrix can be read, reviewed and unit-tested on its
own. Everything not listed here is denied: every security group is created with its default
rules deleted (no implicit allow-all egress).
"""

from __future__ import annotations

from dataclasses import dataclass

from ccsec.infra.config import StackConfig

HTTPS_PORT = 443
SSH_PORT = 22
DB_PORT = 5432
RECORDINGS_PORT = 443
PAYMENT_PORT = 8443
ANYWHERE_V4 = "0.0.0.0/0"
HOST_ROLES = ("bastion", "app", "db", "recordings", "payment")
SG_ROLES = ("lb", *HOST_ROLES)


@dataclass(frozen=True)
class Rule:
    """One allowed flow. Exactly one of remote_cidr / remote_role is set."""

    role: str  # the security group the rule belongs to
    direction: str  # "ingress" | "egress"
    protocol: str  # "tcp" | "udp"
    port: int
    purpose: str
    remote_cidr: str | None = None
    remote_role: str | None = None

    @property
    def slug(self) -> str:
        remote = self.remote_role or (self.remote_cidr or "").replace("/", "-").replace(".", "-").replace(":", "-")
        return f"{self.role}-{self.direction}-{self.protocol}{self.port}-{remote}"


def firewall_rules(cfg: StackConfig) -> list[Rule]:
    """Every allowed flow for the stack, derived only from config."""
    active = {r.role for r in cfg.roles()} | {"lb"}
    rules: list[Rule] = [
        Rule("lb", "ingress", "tcp", HTTPS_PORT, "public HTTPS to the load balancer", remote_cidr=ANYWHERE_V4),
        Rule("lb", "egress", "tcp", HTTPS_PORT, "load balancer to app backends", remote_role="app"),
        Rule("app", "ingress", "tcp", HTTPS_PORT, "HTTPS from the load balancer", remote_role="lb"),
        Rule("app", "egress", "tcp", DB_PORT, "app to PostgreSQL", remote_role="db"),
        Rule("db", "ingress", "tcp", DB_PORT, "PostgreSQL from app", remote_role="app"),
        Rule("db", "ingress", "tcp", DB_PORT, "PostgreSQL replication", remote_role="db"),
        Rule("db", "egress", "tcp", DB_PORT, "PostgreSQL replication", remote_role="db"),
        Rule("app", "egress", "tcp", RECORDINGS_PORT, "app uploads call recordings", remote_role="recordings"),
        Rule("recordings", "ingress", "tcp", RECORDINGS_PORT, "recording uploads from app", remote_role="app"),
        Rule("app", "egress", "tcp", PAYMENT_PORT, "app to the PCI payment/IVR API", remote_role="payment"),
        Rule("payment", "ingress", "tcp", PAYMENT_PORT, "payment API from app only", remote_role="app"),
    ]
    if cfg.tls.http_redirect:
        rules.append(Rule("lb", "ingress", "tcp", 80, "HTTP, redirected to HTTPS only", remote_cidr=ANYWHERE_V4))
    for cidr in cfg.network.admin_cidrs:
        rules.append(Rule("bastion", "ingress", "tcp", SSH_PORT, "administrators to the bastion", remote_cidr=cidr))
    for role in HOST_ROLES:
        if role == "bastion":
            continue
        rules.append(Rule(role, "ingress", "tcp", SSH_PORT, "SSH from the bastion only", remote_role="bastion"))
        rules.append(Rule("bastion", "egress", "tcp", SSH_PORT, f"bastion to {role} hosts", remote_role=role))
    services = cfg.network.services_cidr
    for role in HOST_ROLES:
        rules += [
            Rule(role, "egress", "udp", 53, "DNS to internal resolvers", remote_cidr=services),
            Rule(role, "egress", "tcp", 53, "DNS over TCP to internal resolvers", remote_cidr=services),
            Rule(role, "egress", "udp", 123, "NTP to internal time servers", remote_cidr=services),
            Rule(role, "egress", "tcp", HTTPS_PORT, "package mirror, Keystone and Swift", remote_cidr=services),
            Rule(role, "egress", "tcp", cfg.logging.port, "logs over TLS to the log host", remote_cidr=services),
        ]
    # Drop rules for roles without hosts in this stack (e.g. no payment hosts in a small stack).
    return [r for r in rules if r.role in active and (r.remote_role is None or r.remote_role in active)]
