"""Networks stay inside the project (NET-09).

Neutron RBAC: an ``access_as_shared`` grant lets the target project plug ports into the object;
``access_as_external`` makes a network usable as a router gateway. A target of ``*`` grants it to
every project of the cloud. A network created with ``shared=true`` is the same as a ``*`` share, and
``external=true`` is the same as a ``*`` external grant.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import is_unknown, raw_get

RBAC_POLICY = "openstack:networking/rbacPolicyV2:RbacPolicyV2"
NETWORK = "openstack:networking/network:Network"
WIDE_ACTIONS = ("access_as_shared", "access_as_external")


@only_types(RBAC_POLICY)
def _rbac(args: ResourceValidationArgs, report: ReportViolation) -> None:
    action = raw_get(args.props, "action")
    target = raw_get(args.props, "targetTenant")
    action_text = "unknown" if is_unknown(action) else str(action or "").strip().lower()
    if action_text not in (*WIDE_ACTIONS, "unknown"):
        return
    if isinstance(target, str) and not is_unknown(target) and target.strip() in ("*", ""):
        what = "every project" if target.strip() == "*" else "no named project"
        report(f"targetTenant grants action {action_text} to {what}.")


@only_types(NETWORK)
def _network_not_shared(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for key, meaning in (
        ("shared", "every project may plug ports into it"),
        ("external", "every project may route through it"),
    ):
        value = raw_get(args.props, key)
        if value is True or (isinstance(value, str) and value.strip().lower() == "true"):
            report(f"{key} is true on this network: {meaning}.")
        elif is_unknown(value):
            report(f"{key} is unknown at preview on this network; it must be false or unset.")


POLICIES = [
    resource_policy(
        "rbac-no-wildcard-grant",
        control="NET-09",
        severity=Severity.CRITICAL,
        description="No Neutron RBAC policy grants access_as_shared or access_as_external to every project ('*').",
        remediation="Grant to the one consuming project's id, or remove the RBAC policy.",
        validate=_rbac,
    ),
    resource_policy(
        "network-not-shared",
        control="NET-09",
        severity=Severity.CRITICAL,
        description="Networks are created neither shared nor external (both open them to every project).",
        remediation="Remove shared=True / external=True; share a network with one project through an "
        "RBAC policy naming that project if it must be shared.",
        validate=_network_not_shared,
    ),
]
