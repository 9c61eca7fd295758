"""Infrastructure drift: does the cloud still match the stack? Asked through the Pulumi Automation API.

``pulumi preview --refresh --expect-no-changes`` reads every resource's live state and diffs it with
the program: any step other than ``same`` means something moved. The engine's events (the SDK's
``EngineEvent``, the JSON the event log carries) are mapped to drifted resources and property paths —
never property values, which may be secrets.

There is a seam: :func:`check` takes a ``preview`` callable (default: the Automation API). Without a
Pulumi CLI the check is ``skipped`` with the reason; it is never reported as passed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pulumi.automation.events import EngineEvent, OpType, StepEventMetadata

from ccsec.infra.stackfile import project_dir

QUIET_OPS = {OpType.SAME.value, OpType.READ.value}  # steps that change nothing
Preview = Callable[[str, Callable[[EngineEvent], None]], None]


@dataclass
class PropertyChange:
    path: str
    kind: str  # add, delete, update, *-replace (the engine's diffKind)


@dataclass
class DriftedResource:
    urn: str
    type: str
    name: str
    op: str
    properties: list[PropertyChange] = field(default_factory=list)


@dataclass
class InfraResult:
    """status: clean | drift | skipped | error. ``reason`` says why for skipped/error."""

    status: str
    reason: str = ""
    resources: list[DriftedResource] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if "::" in urn else urn


def _properties(meta: StepEventMetadata) -> list[PropertyChange]:
    """Changed property paths: the detailed diff when the provider gave one, else the plain diff keys."""
    if meta.detailed_diff:
        return [PropertyChange(path, diff.diff_kind.value) for path, diff in sorted(meta.detailed_diff.items())]
    return [PropertyChange(path, "update") for path in sorted(meta.diffs or [])]


def _is_drift(meta: StepEventMetadata) -> bool:
    if meta.op.value in QUIET_OPS:
        return False
    if meta.op.value == OpType.REFRESH.value:  # a refresh step only drifts when state actually changed
        return bool(meta.detailed_diff or meta.diffs)
    return True


def from_events(events: Iterable[EngineEvent]) -> InfraResult:
    """Map a preview's engine events to a verdict: drifted resources, their properties, errors."""
    drifted: dict[str, DriftedResource] = {}
    changes: dict[str, int] = {}
    errors: list[str] = []
    saw_summary = False
    for event in events:
        for holder in (event.resource_pre_event, event.res_outputs_event):
            meta = holder.metadata if holder is not None else None
            if meta is None or not _is_drift(meta):
                continue
            entry = drifted.setdefault(meta.urn, DriftedResource(meta.urn, meta.type, _name(meta.urn), meta.op.value))
            known = {p.path for p in entry.properties}
            entry.properties += [p for p in _properties(meta) if p.path not in known]
        if event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            errors.append(" ".join(event.diagnostic_event.message.split())[:500])
        if event.res_op_failed_event is not None:
            errors.append(f"{event.res_op_failed_event.metadata.urn}: operation failed")
        if event.summary_event is not None:
            saw_summary = True
            changes = {op: n for op, n in event.summary_event.resource_changes.items() if n}
    moved = {op: n for op, n in changes.items() if op not in QUIET_OPS}
    resources = sorted(drifted.values(), key=lambda r: r.urn)
    if resources or moved:
        return InfraResult("drift", resources=resources, changes=changes, errors=errors)
    if errors or not saw_summary:
        reason = "the preview reported errors" if errors else "the preview ended without a summary"
        return InfraResult("error", reason=reason, changes=changes, errors=errors)
    return InfraResult("clean", changes=changes)


def load_event_log(path: Path) -> list[EngineEvent]:
    """Events from a Pulumi event log (``--event-log``: one JSON EngineEvent per line)."""
    events = []
    for line in path.read_text().splitlines():
        if line.strip():
            events.append(EngineEvent.from_json(json.loads(line)))
    return events


def automation_preview(stack: str, on_event: Callable[[EngineEvent], None]) -> None:
    """preview --refresh --expect-no-changes on the selected stack of this project (needs the CLI)."""
    from pulumi import automation as auto

    selected = auto.select_stack(stack_name=stack, work_dir=str(project_dir()))
    selected.preview(refresh=True, expect_no_changes=True, diff=True, on_event=on_event)


def check(stack: str, preview: Preview = automation_preview, which: Callable[[str], str | None] = shutil.which):
    """Infrastructure drift of ``stack``: clean, drift, skipped (no CLI) or error (preview failed)."""
    if which("pulumi") is None:
        return InfraResult("skipped", reason="no Pulumi CLI on PATH: infrastructure drift was NOT checked")
    events: list[EngineEvent] = []
    try:
        preview(stack, events.append)
    except Exception as error:  # CommandError for drift (expect-no-changes) or a failed preview alike
        result = from_events(events)
        if result.status == "drift":
            return result
        message = " ".join(str(error).split())[-500:]
        return InfraResult("error", reason=f"pulumi preview failed: {message}", errors=result.errors)
    return from_events(events)
