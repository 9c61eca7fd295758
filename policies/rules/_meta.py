"""Builds pulumi_policy Policy objects whose compliance metadata comes from controls.yaml.

Framework names are never typed in rule modules: a rule names its control id and severity, and this
module derives the framework entry, tags and enforcement level (mandatory for critical/high).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ..controls import load_catalogue

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]

CONTROL_TAG = "control:"
ALIAS_TAG = "alias:"
# Ids of public anchor checks a policy supersedes (e.g. CKV_OPENSTACK_4, AVD-OPNSTK-0001), by policy
# name; also carried as "alias:<id>" tags so the Pulumi CLI and SARIF consumers see them.
ALIASES: dict[str, tuple[str, ...]] = {}
# Resource types each resource policy inspects (None = any type); lets the offline evaluator skip
# sending resources no policy looks at. Filled by only_types() + resource_policy().
RESOURCE_TYPES: dict[str, frozenset[str] | None] = {}
# Resource types each stack policy reads (None = all); declared with stack_policy(reads=...).
STACK_READS: dict[str, frozenset[str] | None] = {}
# Inputs whose sources (the resources their value was computed from) a stack policy also reads, whatever
# their type; declared with stack_policy(follows=...).
STACK_FOLLOWS: dict[str, tuple[str, ...]] = {}
# For stack policies that read every type: a cheap test, (type token, plain inputs, the policy's config) ->
# "this resource could be reported", true for every resource the check could report (a superset). The
# offline evaluator sends the policy only those; the engine sends everything, with the same verdicts.
Selector = Callable[[str, Mapping[str, Any], Mapping[str, Any]], bool]
STACK_SELECT: dict[str, Selector] = {}
MANDATORY_SEVERITIES = (Severity.CRITICAL, Severity.HIGH)


def enforcement_for(severity: Severity) -> EnforcementLevel:
    """Critical and high block a deployment; medium and low only warn."""
    return EnforcementLevel.MANDATORY if severity in MANDATORY_SEVERITIES else EnforcementLevel.ADVISORY


def framework_for(control_id: str) -> PolicyComplianceFramework:
    """The SDK takes one framework per policy: PCI DSS (primary); ISO and the essential go to tags."""
    catalogue = load_catalogue()
    pci = catalogue.framework_refs(control_id)[0]
    c = catalogue.control(control_id)
    return PolicyComplianceFramework(
        name=pci.name, version=pci.version, reference=pci.reference, specification=f"{c.id}: {c.title}"
    )


def tags_for(control_id: str, aliases: tuple[str, ...] = ()) -> list[str]:
    """Machine-readable tags: control id, every framework reference, the essential, anchor aliases."""
    catalogue = load_catalogue()
    c = catalogue.control(control_id)
    tags = [CONTROL_TAG + c.id, "essential:" + c.essential]
    tags += [f"pci-dss:{p}" for p in c.pci] + [f"iso27001:{i}" for i in c.iso]
    return tags + [ALIAS_TAG + a for a in aliases]


def _schema(config: dict[str, dict[str, Any]] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties=config) if config else None


def resource_policy(
    name: str,
    *,
    control: str,
    severity: Severity,
    description: str,
    remediation: str,
    validate: ResourceCheck,
    config: dict[str, dict[str, Any]] | None = None,
    aliases: tuple[str, ...] = (),
) -> ResourceValidationPolicy:
    """A per-resource policy with catalogue-derived compliance metadata."""
    RESOURCE_TYPES[name] = getattr(validate, "resource_types", None)
    ALIASES[name] = tuple(aliases)
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        **_compliance(control, severity, remediation, config, aliases),
    )


def _compliance(
    control: str,
    severity: Severity,
    remediation: str,
    config: dict[str, dict[str, Any]] | None,
    aliases: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The metadata every policy takes from the catalogue and its severity, resource or stack alike."""
    return {
        "enforcement_level": enforcement_for(severity),
        "config_schema": _schema(config),
        "severity": severity,
        "framework": framework_for(control),
        "tags": tags_for(control, tuple(aliases)),
        "remediation_steps": remediation,
    }


def stack_policy(
    name: str,
    *,
    control: str,
    severity: Severity,
    description: str,
    remediation: str,
    validate: StackCheck,
    reads: tuple[str, ...] | None,
    follows: tuple[str, ...] = (),
    select: Selector | None = None,
    config: dict[str, dict[str, Any]] | None = None,
    aliases: tuple[str, ...] = (),
) -> StackValidationPolicy:
    """A whole-stack policy with catalogue-derived compliance metadata.

    ``reads`` lists every resource type the check looks at, including those reached through parent
    or dependencies (None = all types); the offline evaluator sends the policy only those. ``follows``
    names inputs of those resources whose sources the check reads whatever their type (property
    dependencies); the evaluator sends those sources too.
    """
    STACK_READS[name] = frozenset(reads) if reads is not None else None
    STACK_FOLLOWS[name] = tuple(follows)
    if select is not None:
        STACK_SELECT[name] = select
    ALIASES[name] = tuple(aliases)
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        **_compliance(control, severity, remediation, config, aliases),
    )


def only_types(*tokens: str) -> Callable[[ResourceCheck], ResourceCheck]:
    """Run a resource check only for the given type tokens (others are silently compliant)."""

    def wrap(check: ResourceCheck) -> ResourceCheck:
        def run(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type in tokens:
                check(args, report)

        run.__doc__ = check.__doc__
        run.resource_types = frozenset(tokens)  # type: ignore[attr-defined]
        return run

    return wrap
