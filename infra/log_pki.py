"""HOST-15: the stack's log CA and each host's log certificate (infra/backend_pki.py's private-CA shape).

Both ends of the RELP/TLS path authenticate with this CA alone: a sender checks the log host's name, the
receiver admits only certificates naming ``*.<stack>.logs.ccaas.internal``. The CA issues nothing else,
so a certificate from any other CA (the system bundle, the backend CA) is refused.
"""

from __future__ import annotations

import pulumi

from ccsec.infra.backend_pki import PrivateCa, issue_certificate, private_ca
from ccsec.infra.config import StackConfig
from ccsec.infra.userdata import log_tls_name

SENDER_USES = ["digital_signature", "key_encipherment", "client_auth"]
LOG_HOST_USES = [*SENDER_USES, "server_auth"]  # a log host also sends its own stream to itself

LogCa = PrivateCa


def log_ca(cfg: StackConfig) -> PrivateCa:
    return private_ca(f"{cfg.stack}-log-ca", f"{cfg.stack} log CA", cfg)


def log_certificate(
    hostname: str, cfg: StackConfig, ca: PrivateCa, parent: pulumi.Resource, *, log_host: bool
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(certificate PEM, private key PEM as a secret) naming the host for the log path."""
    name = log_tls_name(hostname, cfg.stack)
    uses = LOG_HOST_USES if log_host else SENDER_USES
    return issue_certificate(f"{hostname}-log", ca, name, [name], uses, cfg, parent)
