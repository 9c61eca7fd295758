"""Keystone application credentials: restricted, expiring, least privilege (IAM-01..03).

The backup agents authenticate with application credentials stored on hosts; if one leaks it must be
limited in reach (access rules), in time (expires_at) and in power (no admin).
"""

from __future__ import annotations

from datetime import datetime

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import APP_CREDENTIAL, get, str_list


@only_types(APP_CREDENTIAL)
def _restricted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "unrestricted") is True:
        report("unrestricted=True lets the credential create further credentials and trusts.")
    if not get(args.props, "accessRules"):
        report("No access_rules: the credential can call every API its roles allow.")


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@only_types(APP_CREDENTIAL)
def _expires(args: ResourceValidationArgs, report: ReportViolation) -> None:
    expires = get(args.props, "expiresAt")
    if not expires:
        report("expires_at is not set: the credential never expires.")
    elif not isinstance(expires, str) or _parse_time(expires) is None:
        report(f"expires_at {expires!r} is not an RFC 3339 timestamp.")


@only_types(APP_CREDENTIAL)
def _no_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    roles = str_list(get(args.props, "roles"))
    forbidden = [f.lower() for f in str_list(args.get_config().get("forbiddenRoleWords"))] or ["admin"]
    if not roles:
        report("roles is not set: the credential inherits every role of its creator.")
    bad = [r for r in roles if any(f in r.lower() for f in forbidden)]
    if bad:
        report(f"Credential holds privileged roles {bad}.")


POLICIES = [
    resource_policy(
        "appcred-restricted",
        control="IAM-01",
        severity=Severity.HIGH,
        description="Application credentials are not unrestricted and carry access rules.",
        remediation="Set unrestricted=False and access_rules limited to the service and paths used "
        "(e.g. object-store GET/PUT on /v1/AUTH_*/<backup container>/**).",
        validate=_restricted,
    ),
    resource_policy(
        "appcred-expires",
        control="IAM-02",
        severity=Severity.HIGH,
        description="Application credentials have an expiry (expires_at).",
        remediation="Set expires_at (RFC 3339) and rotate the credential before it expires.",
        validate=_expires,
    ),
    resource_policy(
        "appcred-no-admin",
        control="IAM-03",
        severity=Severity.CRITICAL,
        description="Application credentials name their roles explicitly and hold no admin role.",
        remediation="Set roles to the least-privileged role needed (e.g. 'member' or an object-store "
        "role); never 'admin'.",
        validate=_no_admin,
        config={
            "forbiddenRoleWords": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["admin"],
                "description": "A role whose name contains any of these words is refused.",
            }
        },
    ),
]
