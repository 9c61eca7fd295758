"""Infrastructure drift from engine events, without a Pulumi CLI.

The events below are written in the engine's documented JSON (sdk/go/common/apitype/events.go: EngineEvent
with sequence/timestamp and one of resourcePreEvent/resOutputsEvent/diagnosticEvent/summaryEvent;
StepEventMetadata with op, urn, type, provider, old/new state, diffs and detailedDiff of
{diffKind, inputDiff}) and parsed by the SDK's own ``EngineEvent.from_json``, as the Automation API does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import CommandError

from ccsec import infra_drift

STACK_URN = "urn:pulumi:prod::ccaas-baseline::pulumi:pulumi:Stack::ccaas-baseline-prod"
SG_TYPE = "openstack:networking/secGroup:SecGroup"
SG_URN = "urn:pulumi:prod::ccaas-baseline::ccaas:Firewall$openstack:networking/secGroup:SecGroup::prod-app-sg"
RULE_TYPE = "openstack:networking/secGroupRule:SecGroupRule"
RULE_URN = f"urn:pulumi:prod::ccaas-baseline::ccaas:Firewall${RULE_TYPE}::prod-bastion-ssh"
VOL_URN = "urn:pulumi:prod::ccaas-baseline::openstack:blockstorage/volume:Volume::prod-db-1-data"
PROVIDER = "urn:pulumi:prod::ccaas-baseline::pulumi:providers:openstack::default_5_0_0::04da6b54-80e4-46f7-96ec"


def state(urn: str, type_: str, inputs: dict, outputs: dict) -> dict:
    return {
        "type": type_,
        "urn": urn,
        "custom": True,
        "id": "7c3f1e0a-4a3b-4f0e-9c1d-2d0b1f6e9a11",
        "parent": STACK_URN,
        "provider": PROVIDER,
        "inputs": inputs,
        "outputs": outputs,
    }


def step(kind: str, seq: int, op: str, urn: str, type_: str, **extra) -> dict:
    return {
        "sequence": seq,
        "timestamp": 1718000000 + seq,
        kind: {"metadata": {"op": op, "urn": urn, "type": type_, "provider": PROVIDER, **extra}},
    }


def summary(seq: int, **changes: int) -> dict:
    return {
        "sequence": seq,
        "timestamp": 1718000100,
        "summaryEvent": {"maybeCorrupt": False, "durationSeconds": 41, "resourceChanges": changes, "PolicyPacks": {}},
    }


def diagnostic(seq: int, severity: str, message: str, urn: str = "") -> dict:
    event = {"message": message, "color": "never", "severity": severity}
    if urn:
        event["urn"] = urn
    return {"sequence": seq, "timestamp": 1718000050, "diagnosticEvent": event}


def parse(*raw: dict) -> infra_drift.InfraResult:
    """Through the SDK's parser, exactly as the Automation API hands events to on_event."""
    return infra_drift.from_events(infra_drift.EngineEvent.from_json(e) for e in raw)


# A refresh found an SSH rule widened by hand (remoteIpPrefix) and a description edited on the security group:
# the preview wants to update both back. Secret inputs arrive already masked by the engine.
TAMPERED = [
    {"sequence": 0, "timestamp": 1718000000, "preludeEvent": {"config": {"ccaas-baseline:environment": "prod"}}},
    step("resourcePreEvent", 1, "same", STACK_URN, "pulumi:pulumi:Stack"),
    step(
        "resourcePreEvent",
        2,
        "update",
        SG_URN,
        SG_TYPE,
        old=state(SG_URN, SG_TYPE, {"description": "app hosts"}, {"description": "edited in Horizon"}),
        new=state(SG_URN, SG_TYPE, {"description": "app hosts"}, {}),
        diffs=["description"],
        detailedDiff={"description": {"diffKind": "update", "inputDiff": False}},
    ),
    step(
        "resourcePreEvent",
        3,
        "replace",
        RULE_URN,
        RULE_TYPE,
        old=state(RULE_URN, RULE_TYPE, {"remoteIpPrefix": "198.51.100.0/24"}, {"remoteIpPrefix": "0.0.0.0/0"}),
        new=state(RULE_URN, RULE_TYPE, {"remoteIpPrefix": "198.51.100.0/24", "adminPass": "[secret]"}, {}),
        keys=["remoteIpPrefix"],
        diffs=["remoteIpPrefix"],
        detailedDiff={"remoteIpPrefix": {"diffKind": "update-replace", "inputDiff": False}},
    ),
    step("resOutputsEvent", 4, "update", SG_URN, SG_TYPE, diffs=["description"]),
    summary(5, same=120, update=1, replace=1),
]


def test_drifted_resources_are_listed_with_each_property_and_kind() -> None:
    result = parse(*TAMPERED)
    assert result.status == "drift"
    by_name = {r.name: r for r in result.resources}
    assert set(by_name) == {"prod-app-sg", "prod-bastion-ssh"}
    rule = by_name["prod-bastion-ssh"]
    assert (rule.type, rule.op) == (RULE_TYPE, "replace")
    assert [(p.path, p.kind) for p in rule.properties] == [("remoteIpPrefix", "update-replace")]
    group = by_name["prod-app-sg"]
    assert [(p.path, p.kind) for p in group.properties] == [("description", "update")]  # not doubled by resOutputs
    assert result.changes == {"same": 120, "update": 1, "replace": 1}


def test_no_property_value_reaches_the_result() -> None:
    text = json.dumps(parse(*TAMPERED).as_dict())
    for value in ("0.0.0.0/0", "198.51.100.0/24", "edited in Horizon", "[secret]"):
        assert value not in text


def test_a_resource_deleted_out_of_band_is_drift_even_without_a_detailed_diff() -> None:
    result = parse(step("resourcePreEvent", 1, "create", VOL_URN, "openstack:blockstorage/volume:Volume"), summary(2))
    assert result.status == "drift"
    assert [(r.name, r.op, r.properties) for r in result.resources] == [("prod-db-1-data", "create", [])]


def test_plain_diff_keys_are_used_when_the_provider_gives_no_detailed_diff() -> None:
    result = parse(step("resourcePreEvent", 1, "update", SG_URN, SG_TYPE, diffs=["tags", "description"]), summary(2))
    assert [(p.path, p.kind) for p in result.resources[0].properties] == [("description", "update"), ("tags", "update")]


def test_a_preview_with_only_same_steps_is_clean() -> None:
    result = parse(
        step("resourcePreEvent", 1, "same", STACK_URN, "pulumi:pulumi:Stack"),
        step("resourcePreEvent", 2, "same", SG_URN, SG_TYPE),
        step("resourcePreEvent", 3, "refresh", RULE_URN, RULE_TYPE),  # refreshed, state unchanged
        summary(4, same=122),
    )
    assert (result.status, result.resources, result.changes) == ("clean", [], {"same": 122})


def test_a_refresh_step_that_changed_state_is_drift() -> None:
    refreshed = step(
        "resOutputsEvent",
        1,
        "refresh",
        RULE_URN,
        RULE_TYPE,
        detailedDiff={"portRangeMax": {"diffKind": "update", "inputDiff": False}},
    )
    result = parse(refreshed, summary(2, same=5))
    assert result.status == "drift"
    assert [(p.path, p.kind) for p in result.resources[0].properties] == [("portRangeMax", "update")]


def test_changes_counted_only_in_the_summary_are_still_drift() -> None:
    assert parse(summary(1, same=10, delete=1)).status == "drift"


def test_engine_errors_without_a_summary_are_could_not_check() -> None:
    result = parse(
        diagnostic(1, "warning", "provider is deprecated"),
        diagnostic(2, "error", "error: 401 Unauthorized:\n  the request you have made requires authentication"),
    )
    assert result.status == "error"
    assert result.errors == ["error: 401 Unauthorized: the request you have made requires authentication"]


def test_the_event_log_format_is_read_line_by_line(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(json.dumps(e) for e in TAMPERED) + "\n")
    assert infra_drift.from_events(infra_drift.load_event_log(log)).as_dict() == parse(*TAMPERED).as_dict()


def fake_preview(events: list[dict], error: Exception | None = None):
    def preview(stack: str, on_event) -> None:
        assert stack == "prod"
        for raw in events:
            on_event(infra_drift.EngineEvent.from_json(raw))
        if error:
            raise error

    return preview


def has_cli(_name: str) -> str:
    return "/usr/local/bin/pulumi"


def test_without_a_pulumi_cli_the_check_is_skipped_and_says_so() -> None:
    def must_not_run(stack: str, on_event) -> None:
        raise AssertionError("no preview without a CLI")

    result = infra_drift.check("prod", preview=must_not_run, which=lambda _name: None)
    assert result.status == "skipped"
    assert "no Pulumi CLI" in result.reason and "NOT checked" in result.reason


def test_expect_no_changes_failing_on_drift_reports_the_drift() -> None:
    error = CommandError(
        CommandResult(stdout="", stderr="error: no changes were expected but changes were proposed", code=255)
    )
    result = infra_drift.check("prod", preview=fake_preview(TAMPERED, error), which=has_cli)
    assert result.status == "drift" and len(result.resources) == 2


def test_a_preview_that_fails_without_changes_is_an_error_not_clean() -> None:
    result = infra_drift.check(
        "prod", preview=fake_preview([], RuntimeError("no stack named 'prod' found")), which=has_cli
    )
    assert result.status == "error"
    assert "no stack named 'prod' found" in result.reason


@pytest.mark.parametrize("changes", [{"same": 3}, {"same": 3, "read": 1}])
def test_a_clean_preview_through_the_seam_is_clean(changes: dict[str, int]) -> None:
    events = [step("resourcePreEvent", 1, "same", SG_URN, SG_TYPE), summary(2, **changes)]
    assert infra_drift.check("prod", preview=fake_preview(events), which=has_cli).status == "clean"
