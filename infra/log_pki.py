"""HOST-15: the stack's log CA and each host's log certificate (pulumi-tls; keys stay Pulumi secrets).

Both ends of the TLS syslog path authenticate with this CA alone: a sender checks the log host's name,
the receiver admits only certificates naming ``*.<stack>.logs.ccaas.internal``. The CA issues nothing
else, so a certificate from any other CA (the system bundle, the backend CA) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from ccsec.infra.backend_pki import CA_VALIDITY_HOURS, CERT_VALIDITY_HOURS, RENEW_HOURS
from ccsec.infra.config import StackConfig
from ccsec.infra.userdata import log_tls_name

SENDER_USES = ["digital_signature", "key_encipherment", "client_auth"]
LOG_HOST_USES = [*SENDER_USES, "server_auth"]  # a log host also sends its own stream to itself


@dataclass
class LogCa:
    key: tls.PrivateKey
    cert: tls.SelfSignedCert


def log_ca(cfg: StackConfig) -> LogCa:
    key = tls.PrivateKey(f"{cfg.stack}-log-ca-key", algorithm="ECDSA", ecdsa_curve="P256")
    cert = tls.SelfSignedCert(
        f"{cfg.stack}-log-ca",
        private_key_pem=key.private_key_pem,
        subject=tls.SelfSignedCertSubjectArgs(common_name=f"{cfg.stack} log CA", organization=cfg.owner),
        is_ca_certificate=True,
        validity_period_hours=CA_VALIDITY_HOURS,
        early_renewal_hours=RENEW_HOURS,
        allowed_uses=["cert_signing", "crl_signing"],
    )
    return LogCa(key, cert)


def log_certificate(
    hostname: str, cfg: StackConfig, ca: LogCa, parent: pulumi.Resource, *, log_host: bool
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(certificate PEM, private key PEM as a secret) naming the host for the log path."""
    child = pulumi.ResourceOptions(parent=parent)
    name = log_tls_name(hostname, cfg.stack)
    key = tls.PrivateKey(f"{hostname}-log-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    request = tls.CertRequest(
        f"{hostname}-log-csr",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=name, organization=cfg.owner),
        dns_names=[name],
        opts=child,
    )
    cert = tls.LocallySignedCert(
        f"{hostname}-log-cert",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=ca.key.private_key_pem,
        ca_cert_pem=ca.cert.cert_pem,
        validity_period_hours=CERT_VALIDITY_HOURS,
        early_renewal_hours=RENEW_HOURS,
        allowed_uses=LOG_HOST_USES if log_host else SENDER_USES,
        opts=child,
    )
    return cert.cert_pem, pulumi.Output.secret(key.private_key_pem)
