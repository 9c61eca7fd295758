"""Barbican: complete certificate containers (TLS-04); private, expiring secrets (KMS-01).

Octavia reads the certificate, private key and optional intermediates from a container of type
'certificate'; a container missing the key or certificate fails at listener creation, late and noisily.

Barbican's default ACL (no ``acl`` input) has ``project-access: true``: every member of the project
with a role can read the secret. The creator always keeps access, and Octavia adds its own service
user to the ACL of the secrets a listener uses, so ``acl.read.project_access = false`` costs nothing.
A secret whose lifetime is not bounded by its content (symmetric keys, passphrases, opaque blobs)
needs an ``expiration``; certificate material is bounded by the certificate's own notAfter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import KM_CONTAINER, SECRET, as_int, get, seq

TLS_MATERIAL = ("certificate", "private", "public")
MAX_SECRET_DAYS = 400

REQUIRED_REFS = ("certificate", "private_key")


@only_types(KM_CONTAINER)
def _certificate_container(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "type") != "certificate":
        args.not_applicable("not a certificate container")
    names = {get(r, "name") for r in seq(get(args.props, "secretRefs")) if isinstance(r, Mapping)}
    missing = [n for n in REQUIRED_REFS if n not in names]
    if missing:
        report(f"secret_refs lacks the {' and '.join(missing)} entr{'ies' if len(missing) > 1 else 'y'}.")


@only_types(SECRET, KM_CONTAINER)
def _acl_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    acl = get(args.props, "acl")
    read = get(acl, "read") if isinstance(acl, Mapping) else None
    if not isinstance(read, Mapping) or get(read, "projectAccess") is not False:
        report("acl.read.project_access is not false: every member of the project can read it (Barbican default).")


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@only_types(SECRET)
def _expires(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "secretType") in TLS_MATERIAL:
        args.not_applicable("certificate material expires with its certificate")
    expiration = get(args.props, "expiration")
    limit = as_int(args.get_config().get("maxLifetimeDays")) or MAX_SECRET_DAYS
    when = _parse_time(expiration) if isinstance(expiration, str) else None
    if not expiration:
        report("expiration is not set: the secret never expires.")
    elif when is None:
        report("expiration is not an RFC 3339 timestamp.")
    elif when - datetime.now(UTC) > timedelta(days=limit):
        report(f"expiration is more than {limit} days away.")


POLICIES = [
    resource_policy(
        "keymanager-acl-private",
        control="KMS-01",
        severity=Severity.HIGH,
        description="Barbican secrets and containers set acl.read.project_access=false, so only the creator "
        "and named users (and services Octavia adds) read them, not every project member.",
        remediation="Pass acl={read: {project_access: False, users: [<ids that need it>]}} to "
        "keymanager.SecretV1 / ContainerV1.",
        validate=_acl_private,
    ),
    resource_policy(
        "keymanager-secret-expires",
        control="KMS-01",
        severity=Severity.HIGH,
        description="Barbican secrets that are not certificate material (symmetric, passphrase, opaque) carry an "
        f"expiration at most {MAX_SECRET_DAYS} days away.",
        remediation="Set expiration (RFC 3339) and rotate the secret before it; certificate, private and public "
        "key material expires with its certificate.",
        validate=_expires,
        config={"maxLifetimeDays": {"type": "integer", "default": MAX_SECRET_DAYS}},
    ),
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
