"""Barbican certificate containers are complete (TLS-04).

Octavia reads the certificate, private key and optional intermediates from a container of type
'certificate'; a container missing the key or certificate fails at listener creation, late and noisily.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import KM_CONTAINER, get, seq

REQUIRED_REFS = ("certificate", "private_key")


@only_types(KM_CONTAINER)
def _certificate_container(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "type") != "certificate":
        args.not_applicable("not a certificate container")
    names = {get(r, "name") for r in seq(get(args.props, "secretRefs")) if isinstance(r, Mapping)}
    missing = [n for n in REQUIRED_REFS if n not in names]
    if missing:
        report(f"Certificate container lacks secret refs {missing}.")


POLICIES = [
    resource_policy(
        "keymanager-certificate-container",
        control="TLS-04",
        severity=Severity.MEDIUM,
        description="Barbican containers of type 'certificate' reference both a 'certificate' and a "
        "'private_key' secret.",
        remediation="Add secret_refs [{name: 'certificate', secret_ref: cert.secret_ref}, "
        "{name: 'private_key', secret_ref: key.secret_ref}] (and 'intermediates' if any).",
        validate=_certificate_container,
    ),
]
