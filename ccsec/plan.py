"""`ccsec plan`: the program's resource inventory, offline, with secrets redacted.

The JSON shape is a stable contract for pipelines (documented in README "ccsec plan output"):
{"stack", "resources": [{"urn", "type", "name", "parent", "inputs"}], "violations": [], "outputs"}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccsec.mockrun import MockRun, run_program
from ccsec.resources import RegisteredResource
from infra.config import decode_raw, parse_config
from infra.stackfile import ROOT, STACKS_DIR, read_stack

SECRET = "[secret]"
DEFAULT_PROGRAM = ROOT / "infra"
SUMMARY_KEYS = (
    "direction",
    "protocol",
    "portRangeMin",
    "portRangeMax",
    "remoteIpPrefix",
    "flavorName",
    "configDrive",
    "size",
    "volumeType",
    "protocolPort",
    "tlsVersions",
    "versioning",
    "expiresAt",
    "unrestricted",
    "policies",
    "cidr",
    "deleteDefaultRules",
    "algorithm",
)


@dataclass
class PlanReport:
    stack: str
    run: MockRun
    violations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resources(self) -> list[RegisteredResource]:
        """Registrations in tree order (parent before children, siblings by name): stable across runs."""
        return tree_order(self.run.resources)


def tree_order(resources: list[RegisteredResource]) -> list[RegisteredResource]:
    urns = {r.urn for r in resources}
    children: dict[str | None, list[RegisteredResource]] = {}
    for resource in resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)
    ordered: list[RegisteredResource] = []

    def visit(parent: str | None) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: (r.custom, r.name, r.type)):
            ordered.append(child)
            visit(child.urn)

    visit(None)
    return ordered


def redact(resource: RegisteredResource) -> dict[str, Any]:
    """Inputs with every secret value replaced by "[secret]"."""
    return {k: (SECRET if k in resource.secret_inputs else v) for k, v in sorted(resource.inputs.items())}


def _number(value: Any) -> Any:
    """The engine carries numbers as floats; print 443, not 443.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return _number(value)


def validate_stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> None:
    """Raise infra.config.ConfigError listing every problem in the stack's config."""
    raw = read_stack(stack, stacks_dir)
    parse_config(decode_raw(raw.config), raw.secret_keys, stack)


def plan(stack: str, program: Path | None = None, stacks_dir: Path = STACKS_DIR) -> PlanReport:
    """Validate (for our own program) and run the program under the mock engine."""
    raw = read_stack(stack, stacks_dir)
    if program is None:
        parse_config(decode_raw(raw.config), raw.secret_keys, stack)
    run = run_program(program or DEFAULT_PROGRAM, stack, raw.config, raw.secret_keys)
    return PlanReport(stack, run)


def to_json(report: PlanReport) -> dict[str, Any]:
    outputs = {
        k: (SECRET if k in report.run.secret_outputs else _normalise(v)) for k, v in sorted(report.run.outputs.items())
    }
    return {
        "stack": report.stack,
        "resources": [
            {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": _normalise(redact(r))}
            for r in report.resources
        ],
        "violations": report.violations,
        "outputs": outputs,
    }


def _summary(resource: RegisteredResource) -> str:
    inputs = redact(resource)
    parts = []
    for key in SUMMARY_KEYS:
        if key in inputs and inputs[key] not in (None, "", []):
            value = _normalise(inputs[key])
            parts.append(f"{key}={json.dumps(value) if not isinstance(value, str) else value}")
    if "userData" in inputs:
        parts.append("userData=[secret]" if "userData" in resource.secret_inputs else "userData=(plain)")
    return " ".join(parts)


def to_text(report: PlanReport) -> str:
    by_urn = {r.urn: r.name for r in report.resources}
    custom = [r for r in report.resources if r.custom]
    lines = [f"stack {report.stack}: {len(custom)} resources in {len(report.resources) - len(custom)} components"]
    for resource in report.resources:
        parent = by_urn.get(resource.parent or "", "-")
        short_type = resource.type.split(":")[-1] if resource.custom else f"[{resource.type}]"
        lines.append(f"  {short_type:<22} {resource.name:<44} parent={parent:<28} {_summary(resource)}".rstrip())
    if report.run.outputs:
        lines.append("outputs:")
        for key in sorted(report.run.outputs):
            shown = SECRET if key in report.run.secret_outputs else json.dumps(_normalise(report.run.outputs[key]))
            lines.append(f"  {key}: {shown}")
    lines.append(_violations_text(report.violations))
    return "\n".join(lines)


def _violations_text(violations: list[dict[str, Any]]) -> str:
    if not violations:
        return "policy: no violations"
    lines = [f"policy: {len(violations)} violation(s)"]
    for v in violations:
        lines.append(f"  [{v['enforcement']}/{v['severity']}] {v['policy']}: {v['message']} ({v['urn']})")
    return "\n".join(lines)
