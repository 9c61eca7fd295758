"""Swift containers: private, no listings, no signing keys in code, versioned backups (STO-02/03, BKP-02/03)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._meta import only_types, resource_policy, stack_policy
from ._props import SWIFT_ACCOUNT, SWIFT_CONTAINER, TEMP_URL, get

_TEMP_URL_KEY = re.compile(r"^(x-(account|container)-meta-)?temp[-_]?url[-_]?key([-_]?2)?$", re.IGNORECASE)


def acl_entries(acl: object) -> list[str]:
    """Swift ACL string ".r:*,.rlistings" -> [".r:*", ".rlistings"]."""
    return [e.strip() for e in acl.split(",") if e.strip()] if isinstance(acl, str) else []


@only_types(SWIFT_CONTAINER)
def _no_public_read(args: ResourceValidationArgs, report: ReportViolation) -> None:
    public = [e for e in acl_entries(get(args.props, "containerRead")) if e.startswith(".r:")]
    if public:
        report(f"container_read grants referrer (public) access: {public}.")
    if any(e in ("*", "*:*") for e in acl_entries(get(args.props, "containerWrite"))):
        report("container_write grants write access to everyone.")


@only_types(SWIFT_CONTAINER)
def _no_listings(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if ".rlistings" in acl_entries(get(args.props, "containerRead")):
        report("container_read contains .rlistings (anonymous listing of object names).")


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
        report(f"metadata sets temp-URL signing keys {keys} from code.")


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
        report(f"Backup containers {[r.name for r in backups]} have no off-site copy.", backups[0].urn)


POLICIES = [
    resource_policy(
        "swift-no-public-read",
        control="STO-02",
        severity=Severity.CRITICAL,
        description="Swift containers grant no public read (.r:*, any referrer ACL) and no world write.",
        remediation="Remove .r:* / .r:<referrer> from container_read and '*' from container_write; share "
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
