"""Private CAs of a stack and the host certificates they issue (pulumi-tls; keys stay Pulumi secrets).

TLS-06: the backend CA behind the load balancer and the app hosts' certificates: the pool re-encrypts to
the app hosts and verifies their certificate against this CA (Octavia's ca_tls_container_ref), so a host
on the app network cannot pose as a member. HOST-15 uses the same shape for the log CA (infra/log_pki.py).
The host receives its key in its (secret) user-data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from ccsec.infra.config import StackConfig

CA_VALIDITY_HOURS = 24 * 397
CERT_VALIDITY_HOURS = 24 * 90
RENEW_HOURS = 24 * 30


@dataclass
class PrivateCa:
    key: tls.PrivateKey
    cert: tls.SelfSignedCert


BackendCa = PrivateCa


def private_ca(name: str, common_name: str, cfg: StackConfig) -> PrivateCa:
    """An ECDSA P-256 CA that signs certificates only (resources ``<name>-key`` and ``<name>``)."""
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256")
    cert = tls.SelfSignedCert(
        name,
        private_key_pem=key.private_key_pem,
        subject=tls.SelfSignedCertSubjectArgs(common_name=common_name, organization=cfg.owner),
        is_ca_certificate=True,
        validity_period_hours=CA_VALIDITY_HOURS,
        early_renewal_hours=RENEW_HOURS,
        allowed_uses=["cert_signing", "crl_signing"],
    )
    return PrivateCa(key, cert)


def issue_certificate(
    prefix: str,
    ca: PrivateCa,
    common_name: str,
    dns_names: list[str],
    uses: list[str],
    cfg: StackConfig,
    parent: pulumi.Resource,
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(certificate PEM, private key PEM as a secret): resources ``<prefix>-key``, ``-csr`` and ``-cert``."""
    child = pulumi.ResourceOptions(parent=parent)
    key = tls.PrivateKey(f"{prefix}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    request = tls.CertRequest(
        f"{prefix}-csr",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=common_name, organization=cfg.owner),
        dns_names=dns_names,
        opts=child,
    )
    cert = tls.LocallySignedCert(
        f"{prefix}-cert",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=ca.key.private_key_pem,
        ca_cert_pem=ca.cert.cert_pem,
        validity_period_hours=CERT_VALIDITY_HOURS,
        early_renewal_hours=RENEW_HOURS,
        allowed_uses=uses,
        opts=child,
    )
    return cert.cert_pem, pulumi.Output.secret(key.private_key_pem)


def backend_ca(cfg: StackConfig) -> PrivateCa:
    return private_ca(f"{cfg.stack}-backend-ca", f"{cfg.stack} backend CA", cfg)


def backend_certificate(
    hostname: str, cfg: StackConfig, ca: PrivateCa, parent: pulumi.Resource
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(certificate PEM, private key PEM as a secret) for one app host, signed by the backend CA."""
    names = [cfg.tls.hostname, hostname]
    uses = ["digital_signature", "key_encipherment", "server_auth"]
    return issue_certificate(f"{hostname}-tls", ca, cfg.tls.hostname, names, uses, cfg, parent)
