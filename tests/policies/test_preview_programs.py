"""A first `pulumi preview` (every id and computed output unknown) gets the verdicts a mock run with ids gets.

Two programs: the shipped stacks, and a small edge program with one edit at a time. Under preview no
policy may degrade to pulumi_policy's "can't run ... during preview" advisory. The one value a preview
truly cannot read is user-data built from generated host keys: there the verdict is split in two and
the test pins down both halves (what the preview proves, what it defers to update).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ccsec.mockrun import run_program
from ccsec.plan import plan
from ccsec.policies.offline import Evaluator, Violation
from ccsec.policies.rules._props import UNKNOWN_SENTINELS

PROGRAM = Path(__file__).resolve().parent.parent / "fixtures" / "programs" / "preview" / "mini_edge.py"
CANT_RUN = "during preview"


@contextmanager
def mutation(name: str) -> Iterator[None]:
    saved = os.environ.get("CCSEC_PREVIEW_MUTATION")
    os.environ["CCSEC_PREVIEW_MUTATION"] = name
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CCSEC_PREVIEW_MUTATION", None)
        else:
            os.environ["CCSEC_PREVIEW_MUTATION"] = saved


def _run(name: str, preview: bool) -> list[Violation]:
    with mutation(name):
        run = run_program(PROGRAM, "dev", {}, [], preview=preview)
    instance = next(r for r in run.resources if r.name == "host-app")
    assert (instance.inputs["userData"] in UNKNOWN_SENTINELS) is preview, "the preview must really be blind"
    return Evaluator({}).evaluate(run.resources)


def _mandatory(violations: list[Violation]) -> set[tuple[str, str]]:
    return {(v.policy, v.control) for v in violations if v.enforcement == "mandatory"}


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_shipped_stacks_preview_without_degraded_policies(stack: str) -> None:
    known = plan(stack, preview=False)
    blind = plan(stack, preview=True)
    assert not [v for v in blind.violations if CANT_RUN in v["message"]]
    assert [v for v in known.violations if v["enforcement"] == "mandatory"] == []
    assert [v for v in blind.violations if v["enforcement"] == "mandatory"] == []
    deferred = {v["urn"] for v in blind.violations if v["policy"] == "instance-host-baseline-deferred"}
    instances = {r.urn for r in blind.run.resources if r.type == "openstack:compute/instance:Instance"}
    assert deferred == instances and instances, "each blind instance is named once, none is silently passed"


FOCUS = {"instance-anti-affinity", "listener-barbican-certificate", "lb-pool-verifies-backend", "lb-pool-reencrypts"}
FOCUS |= {"instance-host-baseline", "instance-host-baseline-sources"}


def _verdicts(violations: list[Violation]) -> set[tuple[str, str, str]]:
    """Every verdict but the deferral notice, which only a preview gives."""
    return {(v.policy, v.enforcement, v.urn) for v in violations if v.policy != "instance-host-baseline-deferred"}


def test_compliant_edge_passes_both_ways_and_every_other_verdict_is_the_same() -> None:
    known, blind = _run("", False), _run("", True)
    assert not {v.policy for v in known + blind} & FOCUS
    assert not [v for v in blind if CANT_RUN in v.message]
    assert _verdicts(known) == _verdicts(blind)


@pytest.mark.parametrize(
    ("name", "policy", "enforcement"),
    [
        ("no-server-group", "instance-anti-affinity", "advisory"),  # medium severity
        ("listener-no-certificate", "listener-barbican-certificate", "mandatory"),
        ("pool-no-ca", "lb-pool-verifies-backend", "mandatory"),
    ],
)
def test_reference_classes_same_verdict_with_unknown_ids(name: str, policy: str, enforcement: str) -> None:
    known, blind = _run(name, False), _run(name, True)
    assert (policy, enforcement) in {(v.policy, v.enforcement) for v in known}
    assert _verdicts(known) == _verdicts(blind)
    assert not [v for v in blind if CANT_RUN in v.message]


def test_user_data_from_another_resource_is_blocked_at_preview_too() -> None:
    assert ("instance-host-baseline", "HOST-01") in _mandatory(_run("user-data-from-other-instance", False))
    blind = _run("user-data-from-other-instance", True)
    found = [v for v in blind if v.policy == "instance-host-baseline-sources"]
    assert found and all(v.enforcement == "mandatory" for v in found)
    assert "openstack:compute/instance:Instance 'other'" in found[0].message


def test_hostile_text_from_key_material_is_deferred_by_name_not_passed_silently() -> None:
    """The documented limit: the preview cannot read the text; it says so, and the mock (= update) blocks it."""
    assert ("instance-host-baseline", "HOST-01") in _mandatory(_run("user-data-hostile", False))
    blind = _run("user-data-hostile", True)
    assert [v.enforcement for v in blind if v.policy == "instance-host-baseline-deferred"] == ["advisory"]
    assert "userData is unknown at preview" in next(v.message for v in blind if v.policy.endswith("-deferred"))
