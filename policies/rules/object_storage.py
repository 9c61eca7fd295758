"""Swift containers: private, no listings, no signing keys in code, versioned backups (STO-02..04, BKP-02/03).

ACLs are parsed with _swift_acl.parse_acl, which follows Swift's own normalisation (see there for the
facts): ``.ref:*``, ``.referrer : *``, ``*.example.com`` and spaces mean what Swift makes of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._meta import only_types, resource_policy, stack_policy
from ._props import SWIFT_ACCOUNT, SWIFT_CONTAINER, TEMP_URL, get, str_list
from ._swift_acl import grant_scope, parse_acl

_TEMP_URL_KEY = re.compile(r"^(x-(account|container)-meta-)?temp[-_]?url[-_]?key([-_]?2)?$", re.IGNORECASE)


def acl_entries(acl: object) -> list[str]:
    """Swift ACL string ".r:*,.rlistings" -> [".r:*", ".rlistings"] (kept for callers; see parse_acl)."""
    return [e.strip() for e in acl.split(",") if e.strip()] if isinstance(acl, str) else []


WORLD_GRANTS = ("*", "*:*")


@only_types(SWIFT_CONTAINER)
def _no_public_read(args: ResourceValidationArgs, report: ReportViolation) -> None:
    read = parse_acl(get(args.props, "containerRead"), "X-Container-Read")
    if read.public:
        report("container_read grants referrer access, which any anonymous client gets by sending a Referer.")
    if any(g in WORLD_GRANTS or g.startswith("*:") for g in read.groups):
        report("container_read grants every authenticated user of every project ('*', '*:*' or '*:<user>').")
    write = parse_acl(get(args.props, "containerWrite"), "X-Container-Write")
    if write.referrers or any(g in WORLD_GRANTS or g.startswith("*:") for g in write.groups):
        report("container_write grants write access to everyone.")
    for key, acl in (("containerRead", read), ("containerWrite", write)):
        for error in acl.errors:
            report(f"{key}: {error} (Swift refuses the header; fix it rather than rely on the refusal).")


@only_types(SWIFT_CONTAINER)
def _no_listings(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if parse_acl(get(args.props, "containerRead")).listings:
        report("container_read contains .rlistings (anonymous listing of object names).")


def _foreign(group: str, allowed: list[str]) -> bool:
    scope = grant_scope(group)
    if scope is None:  # a bare name: a tempauth account or group, i.e. another account
        return not group.startswith(".") and group not in allowed
    project, _user = scope
    return project == "*" or project not in allowed


@only_types(SWIFT_CONTAINER)
def _no_cross_project(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = str_list(args.get_config().get("allowedAclProjects"))
    groups = parse_acl(get(args.props, "containerRead")).groups
    for i, group in enumerate(g for g in groups if g != ".rlistings"):
        if _foreign(group, allowed):
            report(f"container_read grant {i} names a project outside allowedAclProjects.")


@only_types(SWIFT_CONTAINER)
def _no_write_acl(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = str_list(args.get_config().get("allowedWriteGrantees"))
    acl = parse_acl(get(args.props, "containerWrite"), "X-Container-Write")
    extra = [g for g in acl.groups if g not in allowed] + acl.referrers
    if extra:
        report(f"container_write grants write access to {len(extra)} grantee(s) outside allowedWriteGrantees.")


@only_types(SWIFT_CONTAINER)
def _no_foreign_sync(args: ResourceValidationArgs, report: ReportViolation) -> None:
    target = get(args.props, "containerSyncTo")
    if not target:
        return
    allowed = str_list(args.get_config().get("allowedSyncTargets"))
    text = str(target).strip()
    if text.lower().startswith("http://"):
        report("container_sync_to uses http://: objects would cross the network in clear.")
    if not any(text == a or text.startswith(a.rstrip("/") + "/") for a in allowed):
        report("container_sync_to replicates the container to a cluster outside allowedSyncTargets.")


def _temp_url_keys(metadata: object) -> list[str]:
    return [k for k in metadata if _TEMP_URL_KEY.match(str(k))] if isinstance(metadata, Mapping) else []


@only_types(TEMP_URL, SWIFT_CONTAINER, SWIFT_ACCOUNT)
def _no_temp_url_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == TEMP_URL:
        if get(args.props, "key"):
            report("TempUrl is signed with a key written in the program (stored in state).")
        return
    keys = _temp_url_keys(get(args.props, "metadata"))
    if keys:
        report(f"metadata.{keys[0]} sets a temp-URL signing key from code.")


def is_backup_container(res_name: str, props: Mapping[str, object]) -> bool:
    """Backup containers are recognised by name, or by metadata role/purpose = backup."""
    name = str(get(props, "name") or res_name).lower()
    meta = get(props, "metadata")
    meta_values = (
        [str(meta.get(k, "")).lower() for k in ("role", "purpose", "ccaas-role")] if isinstance(meta, Mapping) else []
    )
    return any("backup" in text for text in [name, *meta_values])


@only_types(SWIFT_CONTAINER)
def _backup_versioning(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_backup_container(args.name, args.props):
        args.not_applicable("not a backup container")
    if get(args.props, "versioning") is not True and not get(args.props, "versioningLegacy"):
        report("Backup container has no object versioning; a deleted or overwritten backup is lost.")


def _backup_containers(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == SWIFT_CONTAINER and is_backup_container(r.name, r.props)]


def _offsite_copy(args: StackValidationArgs, report: ReportViolation) -> None:
    backups = _backup_containers(list(args.resources))
    if not backups:
        return
    synced = any(get(r.props, "containerSyncTo") for r in backups)
    regions = {get(r.props, "region") for r in backups if get(r.props, "region")}
    offsite_named = len(backups) > 1 and any("offsite" in str(get(r.props, "name") or r.name).lower() for r in backups)
    if not (synced or len(regions) > 1 or offsite_named):
        report(f"Backup containers ({len(backups)}) have no off-site copy.", backups[0].urn)


POLICIES = [
    resource_policy(
        "swift-no-public-read",
        control="STO-02",
        severity=Severity.CRITICAL,
        description="Swift containers grant no public read (any positive referrer in any spelling Swift "
        "accepts: .r/.ref/.referer/.referrer, spaces, *.domain), no read to '*'/'*:*'/'*:<user>', no world "
        "write, and carry no ACL Swift would refuse.",
        remediation="Remove referrer items and wildcard grants from container_read and container_write; share "
        "objects through authenticated access or short-lived temp URLs generated at run time.",
        validate=_no_public_read,
    ),
    resource_policy(
        "swift-no-listings",
        control="STO-02",
        severity=Severity.HIGH,
        description="Swift containers do not allow anonymous listings (.rlistings).",
        remediation="Remove .rlistings from container_read.",
        validate=_no_listings,
    ),
    resource_policy(
        "swift-acl-no-cross-project",
        control="STO-02",
        severity=Severity.HIGH,
        description="container_read grants only projects listed in allowedAclProjects (keystoneauth "
        "'<project>:<user>'); '*:<user>' and bare account names are foreign.",
        remediation="Remove the grant, or list the project in allowedAclProjects after review.",
        validate=_no_cross_project,
        config={
            "allowedAclProjects": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Project ids/names container_read may name.",
            }
        },
    ),
    resource_policy(
        "swift-no-write-acl",
        control="STO-02",
        severity=Severity.HIGH,
        description="container_write is empty (only the project's own credentials write), unless the grantee "
        "is listed in allowedWriteGrantees.",
        remediation="Remove container_write; writers use the project's own restricted application credentials.",
        validate=_no_write_acl,
        config={
            "allowedWriteGrantees": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Exact '<project>:<user>' grants container_write may carry.",
            }
        },
    ),
    resource_policy(
        "swift-no-foreign-sync",
        control="STO-04",
        severity=Severity.HIGH,
        description="container_sync_to (X-Container-Sync-To) replicates only to an approved target "
        "(allowedSyncTargets, e.g. '//realm/cluster'), never over http://.",
        remediation="Remove container_sync_to, or add the target cluster to allowedSyncTargets after review; "
        "set the sync key out of band, not in code.",
        validate=_no_foreign_sync,
        config={
            "allowedSyncTargets": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Approved sync destinations: '//realm/cluster' prefixes or full URLs.",
            }
        },
    ),
    resource_policy(
        "swift-no-temp-url-key",
        control="STO-03",
        severity=Severity.CRITICAL,
        description="No temp-URL signing key is written in the program (TempUrl.key, Temp-URL-Key metadata).",
        remediation="Set temp-URL keys out of band (e.g. by the backup agent from a secret store) and "
        "generate temp URLs at run time, not in infrastructure code.",
        validate=_no_temp_url_key,
    ),
    resource_policy(
        "swift-backup-versioning",
        control="BKP-02",
        severity=Severity.HIGH,
        description="Backup containers (name contains 'backup' or metadata role/purpose=backup) keep object versions.",
        remediation="Set versioning=True on the backup container.",
        validate=_backup_versioning,
    ),
    stack_policy(
        "backup-offsite-copy",
        control="BKP-03",
        severity=Severity.MEDIUM,
        description="Backups have an off-site copy: container_sync_to, a second region, or a second "
        "container named '*offsite*'.",
        remediation="Add a second backup container in another region (or named '<stack>-backup-offsite') "
        "and copy to it, or set container_sync_to.",
        validate=_offsite_copy,
        reads=(SWIFT_CONTAINER,),
    ),
]
