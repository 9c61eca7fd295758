"""Pack metadata is complete and consistent with the catalogue; docs/policies.md is generated from it."""

from __future__ import annotations

from pathlib import Path

from ccsec.policies.metadata import pack_metadata
from ccsec.policies.rules import ALL_POLICIES
from ccsec.policies.rules._meta import RESOURCE_TYPES, STACK_READS
from ccsec.policy_docs import COMMAND, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "policies.md"


def test_committed_doc_is_generated() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), f"run: {COMMAND}"


def test_every_policy_has_full_metadata() -> None:
    metas = pack_metadata()
    assert len(metas) >= 25 and len({m.name for m in metas}) == len(metas)
    for m in metas:
        assert m.description and m.remediation and m.control and m.severity
        assert m.enforcement == ("mandatory" if m.severity in ("critical", "high") else "advisory"), m.name
        names = [f["name"] for f in m.frameworks]
        assert names == ["PCI DSS", "ISO/IEC 27001", "ccaas-baseline essentials"]
        assert all(f["reference"] for f in m.frameworks)


def test_sdk_framework_entry_and_tags_come_from_the_catalogue() -> None:
    for p in ALL_POLICIES:
        assert p.framework is not None and p.framework.name == "PCI DSS" and p.framework.version == "4.0.1"
        assert any(tag.startswith("iso27001:A.") for tag in p.tags or [])
        assert any(tag.startswith("essential:") for tag in p.tags or [])


def test_every_policy_declares_what_it_reads() -> None:
    kinds = {m.name: m.kind for m in pack_metadata()}
    assert {n for n, k in kinds.items() if k == "resource"} == set(RESOURCE_TYPES)
    assert {n for n, k in kinds.items() if k == "stack"} == set(STACK_READS)
    assert all(RESOURCE_TYPES[n] for n in RESOURCE_TYPES), "resource policies must be type-filtered"
