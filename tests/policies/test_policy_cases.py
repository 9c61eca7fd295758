"""Every policy: at least one violating and one compliant case, through pulumi_policy's servicer."""

from __future__ import annotations

import pytest
from policy_cases import COMPLIANT, VIOLATING

from ccsec.policies.metadata import pack_metadata
from ccsec_testbeds.synthetic import compliant_stack

META = {m.name: m for m in pack_metadata()}


def test_every_policy_has_cases() -> None:
    violating = {c[0] for c in VIOLATING}
    compliant = {c[0] for c in COMPLIANT} | set(META)  # the baseline stack complies with every policy
    assert set(META) - violating == set(), "policies without a violating case"
    assert set(META) <= compliant
    assert len(META) >= 25


def test_baseline_is_compliant(baseline, run) -> None:
    assert run(baseline) == []


@pytest.mark.parametrize(("policy", "case", "build", "config"), VIOLATING, ids=[f"{c[0]}:{c[1]}" for c in VIOLATING])
def test_violating(policy, case, build, config, run) -> None:
    found = [v for v in run(build(compliant_stack()), config) if v.policy == policy]
    assert found, f"{policy} did not fire for {case}"
    meta = META[policy]
    for v in found:
        assert v.severity == meta.severity
        assert v.enforcement == ("mandatory" if meta.severity in ("critical", "high") else "advisory")
        assert v.control == meta.control and v.frameworks and v.urn.startswith("urn:pulumi:")


@pytest.mark.parametrize(("policy", "case", "build", "config"), COMPLIANT, ids=[f"{c[0]}:{c[1]}" for c in COMPLIANT])
def test_compliant(policy, case, build, config, run) -> None:
    assert [v for v in run(build(compliant_stack()), config) if v.policy == policy] == []


@pytest.mark.parametrize(("policy", "case", "build", "config"), VIOLATING, ids=[f"{c[0]}:{c[1]}" for c in VIOLATING])
def test_fast_path_matches_single_servicer(policy, case, build, config, run) -> None:
    """Per-type servicers give exactly what one servicer holding the whole pack gives."""
    stack = build(compliant_stack())
    assert run(stack, config) == run(stack, config, exact=True)
