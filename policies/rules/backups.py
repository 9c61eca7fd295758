"""Every stateful role is backed up: differential <= 5 min, full <= 30 days (BKP-01).

The schedule travels as instance metadata (backup_diff_minutes, backup_full_days), which the on-host
backup agent reads; the policy checks the declared schedule and that a backup container exists.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from ._meta import stack_policy
from ._props import INSTANCE, SWIFT_CONTAINER, as_int, get, str_list
from .object_storage import is_backup_container

DEFAULT_STATEFUL = ["db", "recordings"]


def _schedule_problems(meta: Mapping[str, object], max_diff: int, max_full: int) -> list[str]:
    diff, full = as_int(meta.get("backup_diff_minutes")), as_int(meta.get("backup_full_days"))
    problems = []
    if diff is None or not 0 < diff <= max_diff:
        problems.append(f"metadata.backup_diff_minutes is not in 1..{max_diff}")
    if full is None or not 0 < full <= max_full:
        problems.append(f"metadata.backup_full_days is not in 1..{max_full}")
    return problems


def _metadata(res: PolicyResource) -> Mapping[str, object]:
    meta = get(res.props, "metadata", {})
    return meta if isinstance(meta, Mapping) else {}


def _backup_schedule(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = args.get_config()
    stateful = str_list(cfg.get("statefulRoles")) or DEFAULT_STATEFUL
    max_diff = as_int(cfg.get("maxDiffMinutes")) or 5
    max_full = as_int(cfg.get("maxFullDays")) or 30
    resources = list(args.resources)
    stateful_hosts = [r for r in resources if r.resource_type == INSTANCE and _metadata(r).get("role") in stateful]
    for host in stateful_hosts:
        problems = _schedule_problems(_metadata(host), max_diff, max_full)
        if problems:
            report(f"{host.name}: " + "; ".join(problems) + ".", host.urn)
    has_store = any(r.resource_type == SWIFT_CONTAINER and is_backup_container(r.name, r.props) for r in resources)
    if stateful_hosts and not has_store:
        report("Stateful hosts exist but the stack declares no backup container.")


POLICIES = [
    stack_policy(
        "backup-schedule",
        control="BKP-01",
        severity=Severity.HIGH,
        description="Every stateful host (roles db, recordings) declares backups with differential "
        "<= 5 minutes and full <= 30 days, and the stack has a backup container.",
        remediation="Set instance metadata backup_diff_minutes='5' and backup_full_days='30' on db and "
        "recordings hosts and declare a versioned '<stack>-backup' Swift container.",
        validate=_backup_schedule,
        reads=(INSTANCE, SWIFT_CONTAINER),
        config={
            "statefulRoles": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_STATEFUL},
            "maxDiffMinutes": {"type": "integer", "default": 5},
            "maxFullDays": {"type": "integer", "default": 30},
        },
    ),
]
