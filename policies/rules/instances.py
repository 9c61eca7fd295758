"""Nova instances: inventory metadata, anti-affinity, config drive, and the host baseline (CMP-01..03, HOST-01)."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import INSTANCE, SERVER_GROUP, get, seq, str_list, user_data_text

REQUIRED_METADATA = ("owner", "environment", "role", "data_classification", "pci_scope")
BASELINE_MARKER = "# ccaas-baseline host baseline v1"
MARKER_WITHIN_LINES = 5


@only_types(INSTANCE)
def _inventory_metadata(args: ResourceValidationArgs, report: ReportViolation) -> None:
    meta = get(args.props, "metadata", {})
    meta = meta if isinstance(meta, Mapping) else {}
    missing = [k for k in REQUIRED_METADATA if not str(meta.get(k) or "").strip()]
    if missing:
        report(f"metadata lacks {missing}.")
    if "pci_scope" not in missing and meta.get("pci_scope") not in ("true", "false"):
        report(f"metadata pci_scope is {meta.get('pci_scope')!r}; use 'true' or 'false'.")


@only_types(INSTANCE)
def _anti_affinity_hint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    hints = get(args.props, "schedulerHints", [])
    groups = [get(h, "group") for h in seq(hints) if isinstance(h, Mapping)]
    if not any(groups):
        report("Instance is in no server group (scheduler_hints group), so replicas may share a hypervisor.")


@only_types(SERVER_GROUP)
def _server_group_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    raw = get(args.props, "policies")
    policies = [raw] if isinstance(raw, str) else str_list(raw)  # a string in pulumi-openstack 5.x
    if policies != ["anti-affinity"]:
        report(f"Server group policies are {policies}; use ['anti-affinity'].")


@only_types(INSTANCE)
def _config_drive(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "configDrive") is not True:
        report("config_drive is not true; the instance depends on the network metadata service.")


def has_baseline(user_data: object) -> bool:
    """A #cloud-config document whose first lines carry the baseline marker."""
    text = user_data_text(user_data)
    if text is None:
        return False
    head = text.lstrip().splitlines()[:MARKER_WITHIN_LINES]
    return bool(head) and head[0].strip() == "#cloud-config" and any(x.strip() == BASELINE_MARKER for x in head)


@only_types(INSTANCE)
def _host_baseline(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not has_baseline(get(args.props, "userData")):
        report(
            f"user_data is not a #cloud-config carrying '{BASELINE_MARKER}' in its first {MARKER_WITHIN_LINES} lines."
        )


POLICIES = [
    resource_policy(
        "instance-inventory-metadata",
        control="CMP-01",
        severity=Severity.MEDIUM,
        description="Instances carry metadata owner, environment, role, data_classification and "
        "pci_scope ('true'/'false').",
        remediation="Pass metadata={owner, environment, role, data_classification, pci_scope} to "
        "openstack.compute.Instance.",
        validate=_inventory_metadata,
    ),
    resource_policy(
        "instance-anti-affinity",
        control="CMP-02",
        severity=Severity.MEDIUM,
        description="Instances are placed through a server group (scheduler_hints group).",
        remediation="Create one openstack.compute.ServerGroup(policies=['anti-affinity']) per role and pass "
        "scheduler_hints=[{group: sg.id}].",
        validate=_anti_affinity_hint,
    ),
    resource_policy(
        "server-group-anti-affinity",
        control="CMP-02",
        severity=Severity.MEDIUM,
        description="Server groups use the 'anti-affinity' policy.",
        remediation="Set policies='anti-affinity' on openstack.compute.ServerGroup.",
        validate=_server_group_policy,
    ),
    resource_policy(
        "instance-config-drive",
        control="CMP-03",
        severity=Severity.MEDIUM,
        description="Instances receive their configuration by config drive.",
        remediation="Set config_drive=True on openstack.compute.Instance.",
        validate=_config_drive,
    ),
    resource_policy(
        "instance-host-baseline",
        control="HOST-01",
        severity=Severity.HIGH,
        description=f"Instance user_data is the rendered host baseline (#cloud-config with '{BASELINE_MARKER}').",
        remediation="Render user_data from infra/templates/ (the ccaas-baseline cloud-init) instead of a "
        "hand-written script.",
        validate=_host_baseline,
    ),
]
