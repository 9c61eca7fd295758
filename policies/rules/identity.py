"""Keystone: restricted, expiring, least-privilege credentials; no admin grants (IAM-01..05).

The backup agents authenticate with application credentials stored on hosts; if one leaks it must be
limited in reach (access rules), in time (expires_at) and in power (no admin).

Access rules are matched the way Keystone matches them (keystone/common/...: a rule's ``path`` is a
template where ``*`` matches one path segment and ``**`` any number of segments; ``method`` is one HTTP
method; ``service`` one catalog service type). A rule is too wide when its method or service is
missing or a wildcard, or when its path pins fewer than two literal segments (``/**``, ``/v1/**`` and
``/v1/*/**`` reach every container of every account the roles allow).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._meta import only_types, resource_policy, stack_policy
from ._props import (
    APP_CREDENTIAL,
    EC2_CREDENTIAL,
    IDENTITY_USER,
    INHERIT_ROLE_ASSIGNMENT,
    ROLE,
    ROLE_ASSIGNMENT,
    as_int,
    get,
    has,
    is_unknown,
    present,
    raw_get,
    seq,
    str_list,
)

MAX_LIFETIME_DAYS = 400  # the project's own rule (stack config validation refuses longer)
HTTP_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")
MIN_LITERAL_SEGMENTS = 2


@only_types(APP_CREDENTIAL)
def _restricted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "unrestricted") is True:
        report("unrestricted=True lets the credential create further credentials and trusts.")
    if not get(args.props, "accessRules"):
        report("No access_rules: the credential can call every API its roles allow.")


def rule_problems(rule: Mapping[str, object]) -> list[str]:
    """What makes one access rule a wildcard (named by field, never echoing the rule)."""
    problems = []
    method = get(rule, "method")
    if not isinstance(method, str) or method.strip().upper() not in HTTP_METHODS:
        problems.append("method is not one HTTP method")
    service = get(rule, "service")
    if not isinstance(service, str) or not service.strip() or "*" in service:
        problems.append("service is not one named service")
    path = get(rule, "path")
    literal = [s for s in str(path or "").split("/") if s and "*" not in s] if isinstance(path, str) else []
    if len(literal) < MIN_LITERAL_SEGMENTS:
        problems.append(f"path pins fewer than {MIN_LITERAL_SEGMENTS} literal segments")
    return problems


@only_types(APP_CREDENTIAL)
def _narrow_rules(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for i, rule in enumerate(seq(get(args.props, "accessRules"))):
        problems = rule_problems(rule) if isinstance(rule, Mapping) else ["is not a rule"]
        if problems:
            report(f"access_rules[{i}]: " + "; ".join(problems) + ".")


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@only_types(APP_CREDENTIAL)
def _expires(args: ResourceValidationArgs, report: ReportViolation) -> None:
    expires = get(args.props, "expiresAt")
    limit = as_int(args.get_config().get("maxLifetimeDays")) or MAX_LIFETIME_DAYS
    when = _parse_time(expires) if isinstance(expires, str) else None
    if not expires:
        report("expires_at is not set: the credential never expires.")
    elif when is None:
        report("expires_at is not an RFC 3339 timestamp.")
    else:
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        if when - datetime.now(UTC) > timedelta(days=limit):
            report(f"expires_at is more than {limit} days away; rotate at least every {limit} days.")


@only_types(APP_CREDENTIAL)
def _no_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    roles = str_list(get(args.props, "roles"))
    forbidden = [f.lower() for f in str_list(args.get_config().get("forbiddenRoleWords"))] or ["admin"]
    if not roles:
        report("roles is not set: the credential inherits every role of its creator.")
    bad = [r for r in roles if any(f in r.lower() for f in forbidden)]
    if bad:
        report(f"roles[{roles.index(bad[0])}] is a privileged role.")


def _forbidden_words(args: StackValidationArgs) -> list[str]:
    return [f.lower() for f in str_list(args.get_config().get("forbiddenRoleWords"))] or ["admin"]


def _role_name(res: PolicyResource) -> str:
    return str(get(res.props, "name") or res.name).lower()


def _admin_assignments(args: StackValidationArgs, report: ReportViolation) -> None:
    """roleId resolves through dependencies (known at preview) or, for a literal id/name, by its text."""
    forbidden = _forbidden_words(args)
    admin_ids = {i.lower() for i in str_list(args.get_config().get("adminRoleIds"))}
    for res in args.resources:
        if res.resource_type not in (ROLE_ASSIGNMENT, INHERIT_ROLE_ASSIGNMENT):
            continue
        roles = [d for d in res.dependencies if d.resource_type == ROLE]
        named = [r for r in roles if any(f in _role_name(r) for f in forbidden)]
        role_id = get(res.props, "roleId") if has(res.props, "roleId") and not roles else None
        literal = isinstance(role_id, str) and (
            role_id.lower() in admin_ids or any(f in role_id.lower() for f in forbidden)
        )
        if named or literal:
            report(f"{res.name}: role_id grants a privileged (admin) role.", res.urn)


def _is_backup_user(res: PolicyResource, allowed: list[str]) -> bool:
    name = str(get(res.props, "name") or res.name)
    return name in allowed or (not allowed and "backup" in name.lower())


def _ec2_backup_only(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed = str_list(args.get_config().get("ec2AllowedUsers"))
    for res in args.resources:
        if res.resource_type != EC2_CREDENTIAL:
            continue
        users = [d for d in res.dependencies if d.resource_type == IDENTITY_USER]
        user_id = raw_get(res.props, "userId")  # unknown at preview when it comes from a user being created
        if not users and not (isinstance(user_id, str) and not is_unknown(user_id) and user_id in allowed):
            report(
                f"{res.name}: user_id is not the dedicated backup user (the program's own user would lend "
                "all its roles to the S3 API).",
                res.urn,
            )
        elif users and not all(_is_backup_user(u, allowed) for u in users):
            report(f"{res.name}: user_id is a user other than the dedicated backup user.", res.urn)
        if not present(res.props, "projectId"):
            report(f"{res.name}: project_id is not set; scope the credential to the backup project.", res.urn)


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
        "appcred-access-rules-narrow",
        control="IAM-01",
        severity=Severity.HIGH,
        description="Every application-credential access rule names one HTTP method, one service and a path "
        "with at least two literal segments (no '*' method, no '/**' path, no any-service rule).",
        remediation="Write one rule per method and container, e.g. {service: 'object-store', method: 'PUT', "
        "path: '/v1/*/<container>/**'}.",
        validate=_narrow_rules,
    ),
    resource_policy(
        "appcred-expires",
        control="IAM-02",
        severity=Severity.HIGH,
        description=f"Application credentials have an expiry (expires_at) at most {MAX_LIFETIME_DAYS} days away.",
        remediation="Set expires_at (RFC 3339) within the rotation period and rotate the credential before it expires.",
        validate=_expires,
        config={
            "maxLifetimeDays": {
                "type": "integer",
                "default": MAX_LIFETIME_DAYS,
                "description": "Longest allowed time from now to expires_at.",
            }
        },
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
    stack_policy(
        "identity-no-admin-role-assignment",
        control="IAM-04",
        severity=Severity.CRITICAL,
        description="No role assignment (plain or inherited) grants an admin role; the role is resolved through "
        "the assignment's dependency on an identity.Role (known at preview) or from a literal role_id.",
        remediation="Assign the least-privileged role (member, reader or a service-specific role); admin is "
        "granted by the cloud operator outside tenant code.",
        validate=_admin_assignments,
        reads=(ROLE_ASSIGNMENT, INHERIT_ROLE_ASSIGNMENT, ROLE),
        config={
            "forbiddenRoleWords": {"type": "array", "items": {"type": "string"}, "default": ["admin"]},
            "adminRoleIds": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Role ids of the cloud's admin roles, for assignments that pass a literal id.",
            },
        },
    ),
    stack_policy(
        "ec2-credential-backup-only",
        control="IAM-05",
        severity=Severity.HIGH,
        description="EC2 (S3 API) credentials exist only for the dedicated backup user and are scoped to a "
        "project: pgBackRest needs Swift's S3 API, but an EC2 credential takes no access rules and never "
        "expires, so it may only lend the roles of a user that holds nothing but the backup containers.",
        remediation="Create an identity.User for the backup (name containing 'backup', or listed in "
        "ec2AllowedUsers) with only the object-store role on the backup project, and pass user_id=user.id "
        "and project_id; never create EC2 credentials for the deploying user.",
        validate=_ec2_backup_only,
        reads=(EC2_CREDENTIAL, IDENTITY_USER),
        config={
            "ec2AllowedUsers": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "User names/ids allowed to hold EC2 credentials (default: users named '*backup*').",
            }
        },
    ),
]
