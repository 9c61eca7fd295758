"""`ccsec plan`: the program's resource inventory, offline, with secrets redacted.

The JSON shape is a stable contract for pipelines (documented in README "ccsec plan output"):
{"stack", "resources": [{"urn", "type", "name", "parent", "inputs"}], "violations": [], "waived": [],
"outputs"}. ``waived`` lists violations covered by a valid waiver (``--waivers``, docs/waivers.md),
each with its ``waiver`` (entry, policy, resource, reason, ticket, expires, approver).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ccsec.infra as infra_package
from ccsec.infra.config import ConfigError, StackConfig, decode_raw, parse_config
from ccsec.infra.policy_facts import pack_config_values
from ccsec.infra.stackfile import RawStack, read_stack
from ccsec.mockrun import MockRun, run_program
from ccsec.policies.metadata import config_for, merge_config, pack_metadata
from ccsec.policies.offline import Evaluator, StreamingEvaluation, Violation, root_stack_urn
from ccsec.policies.resources import RegisteredResource
from ccsec.policies.waivers import apply_waivers, read_waiver_file

SECRET = "[secret]"
DEFAULT_PROGRAM = Path(infra_package.__file__).resolve().parent  # the installed program, as Pulumi.yaml's main: infra/
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
    findings: list[Violation] = field(default_factory=list)
    waived: list[dict[str, Any]] = field(default_factory=list)

    @property
    def violations(self) -> list[dict[str, Any]]:
        return [v.as_dict() for v in self.findings]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.findings if v.mandatory]

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


def _typed(raw: RawStack) -> StackConfig:
    return parse_config(decode_raw(raw.config), raw.secret_keys, raw.name)


def stack_policy_config(cfg: StackConfig) -> dict[str, Any]:
    """The stack's own allow-lists as policy config, so the pack judges the stack by its declared intent.

    Same JSON a user passes to `pulumi preview --policy-pack-config` (see `ccsec policy-config`); the
    declared flows and role classes come from the role model (infra/roles.py).
    """
    return config_for(
        allowedVolumeTypes=list(cfg.storage.encrypted_volume_types),
        adminCidrs=list(cfg.network.admin_cidrs),
        **pack_config_values(cfg),
    )


def plan(
    stack: str,
    program: Path | None = None,
    stacks_dir: Path | None = None,
    policy_config: dict[str, Any] | None = None,
    preview: bool = False,
    waivers: Path | None = None,
    today: date | None = None,
) -> PlanReport:
    """Validate (our own program's config), run the program under the mock engine, evaluate the pack.

    ``preview=True`` runs the program as a first `pulumi preview` of a fresh stack (every id unknown).
    With ``waivers`` (a reviewed waiver file), covered violations move to ``waived`` and the file's
    own problems become violations; the file is read before the program runs (WaiverFileError).
    """
    waiver_document = read_waiver_file(waivers) if waivers is not None else None
    raw = read_stack(stack, stacks_dir)
    if program is None:
        base = stack_policy_config(_typed(raw))  # raises ConfigError listing every problem
    else:
        try:  # a foreign program may use other config: our allow-lists apply only if the stack is ours
            base = stack_policy_config(_typed(raw))
        except ConfigError:
            base = {}
    # the pack judges each resource as it is registered (as the engine does), the stack once it completes
    stream = StreamingEvaluation(Evaluator(merge_config(base, policy_config or {})))
    run = run_program(
        program or DEFAULT_PROGRAM, stack, raw.config, raw.secret_keys, preview=preview, on_resource=stream.add
    )
    findings = stream.finish(run.resources)
    if waivers is None:
        return PlanReport(stack, run, findings)
    result = apply_waivers(
        findings,
        waiver_document,
        [m.name for m in pack_metadata()],
        today or datetime.now(UTC).date(),
        root_stack_urn(run.resources),
    )
    return PlanReport(stack, run, result.violations, result.waived)


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
        "waived": report.waived,
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
    if report.waived:
        lines.append(f"waived: {len(report.waived)} violation(s) (reviewed exceptions, not counted)")
        for v in report.waived:
            w = v["waiver"]
            lines.append(
                f"  [waived/{v['severity']}] {v['policy']} ({v['urn']}): ticket {w['ticket']}, approved by "
                f"{w['approver']}, expires {w['expires']}: {w['reason']}"
            )
    return "\n".join(lines)


def _violations_text(violations: list[dict[str, Any]]) -> str:
    if not violations:
        return "policy: no violations"
    lines = [f"policy: {len(violations)} violation(s)"]
    for v in violations:
        lines.append(f"  [{v['enforcement']}/{v['severity']}] {v['policy']}: {v['message']} ({v['urn']})")
    return "\n".join(lines)


def program_output_text(report: PlanReport) -> str:
    """What the program printed, each line marked as the program's, for stderr (never mixed into our stdout)."""
    lines = report.run.program_output.splitlines()
    if not lines:
        return ""
    return "\n".join([f"program output ({len(lines)} lines, not ccsec's):", *(f"  | {line}" for line in lines)]) + "\n"
