"""TLS-06: the backend CA behind the load balancer, and the app hosts' certificates it issues.

The pool re-encrypts to the app hosts and verifies their certificate against this CA (Octavia's
ca_tls_container_ref), so a host on the app network cannot pose as a member. Keys come from
pulumi-tls and stay Pulumi secrets; the host receives its key in its (secret) user-data.
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
class BackendCa:
    key: tls.PrivateKey
    cert: tls.SelfSignedCert


def backend_ca(cfg: StackConfig) -> BackendCa:
    key = tls.PrivateKey(f"{cfg.stack}-backend-ca-key", algorithm="ECDSA", ecdsa_curve="P256")
    cert = tls.SelfSignedCert(
        f"{cfg.stack}-backend-ca",
        private_key_pem=key.private_key_pem,
        subject=tls.SelfSignedCertSubjectArgs(common_name=f"{cfg.stack} backend CA", organization=cfg.owner),
        is_ca_certificate=True,
        validity_period_hours=CA_VALIDITY_HOURS,
        early_renewal_hours=RENEW_HOURS,
        allowed_uses=["cert_signing", "crl_signing"],
    )
    return BackendCa(key, cert)


def backend_certificate(
    hostname: str, cfg: StackConfig, ca: BackendCa, parent: pulumi.Resource
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(certificate PEM, private key PEM as a secret) for one app host, signed by the backend CA."""
    child = pulumi.ResourceOptions(parent=parent)
    key = tls.PrivateKey(f"{hostname}-tls-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    request = tls.CertRequest(
        f"{hostname}-tls-csr",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=cfg.tls.hostname, organization=cfg.owner),
        dns_names=[cfg.tls.hostname, hostname],
        opts=child,
    )
    cert = tls.LocallySignedCert(
        f"{hostname}-tls-cert",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=ca.key.private_key_pem,
        ca_cert_pem=ca.cert.cert_pem,
        validity_period_hours=CERT_VALIDITY_HOURS,
        early_renewal_hours=RENEW_HOURS,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
        opts=child,
    )
    return cert.cert_pem, pulumi.Output.secret(key.private_key_pem)
