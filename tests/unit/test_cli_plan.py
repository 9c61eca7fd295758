"""`ccsec plan` as a user runs it: the installed console script, exit codes, stable JSON, no leaks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

STACKS_DIR = Path(__file__).resolve().parents[2] / "stacks"  # the repo's own stacks


PROGRAMS = Path(__file__).resolve().parent.parent / "fixtures" / "programs"
CCSEC = [sys.executable, "-m", "ccsec.cli"]


def ccsec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CCSEC, *args], capture_output=True, text=True, timeout=120, check=False)


def test_plan_prod_json_is_the_documented_inventory() -> None:
    result = ccsec("plan", "--stack", "prod", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"stack", "resources", "violations", "waived", "outputs"}
    assert document["stack"] == "prod"
    assert document["violations"] == []
    types = {r["type"] for r in document["resources"]}
    assert "openstack:compute/instance:Instance" in types
    for resource in document["resources"]:
        assert set(resource) == {"urn", "type", "name", "parent", "inputs"}
    instances = [r for r in document["resources"] if r["type"].endswith(":Instance")]
    assert len(instances) == 13  # bastion 2, app 3, db 2, recordings 2, payment 2, loghost 2
    assert all(i["inputs"]["userData"] == "[secret]" for i in instances)
    assert document["outputs"]["known_hosts"] == "[secret]"


def test_plan_output_never_contains_secret_material() -> None:
    for fmt in ("json", "text"):
        result = ccsec("plan", "--stack", "dev", "--format", fmt)
        assert result.returncode == 0, result.stderr
        for marker in ("PRIVATE KEY", "RESTIC_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET", "ed25519_private"):
            assert marker not in result.stdout, f"{marker} leaked into {fmt} output"


def test_plan_json_is_stable_between_runs() -> None:
    first = json.loads(ccsec("plan", "--stack", "lab", "--format", "json").stdout)
    second = json.loads(ccsec("plan", "--stack", "lab", "--format", "json").stdout)
    assert first["resources"] == second["resources"]


def test_plan_text_lists_resources_and_summary() -> None:
    result = ccsec("plan", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stack dev: ")
    listeners = [line for line in result.stdout.splitlines() if line.strip().startswith("Listener ")]
    assert len(listeners) == 1 and "protocol=TERMINATED_HTTPS" in listeners[0]
    assert "outputs:" in result.stdout and "known_hosts: [secret]" in result.stdout


def test_invalid_config_exits_2_listing_every_problem(tmp_path: Path) -> None:
    document = yaml.safe_load((STACKS_DIR / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["ccaas-baseline:owner"] = "ops\nPermitRootLogin yes"
    config["ccaas-baseline:network"]["adminCidrs"] = ["0.0.0.0/0"]
    config["ccaas-baseline:cluster"]["app"]["count"] = "three"
    (tmp_path / "Pulumi.broken.yaml").write_text(yaml.safe_dump(document))
    result = ccsec("plan", "--stack", "broken", "--stacks-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "config is invalid (3 problems)" in result.stderr
    for path in ("owner:", "network.adminCidrs[0]:", "cluster.app.count:"):
        assert f"  - {path}" in result.stderr


def test_unknown_stack_exits_2_and_names_the_available_ones() -> None:
    result = ccsec("plan", "--stack", "staging")
    assert result.returncode == 2
    assert "stacks available: dev, lab, prod" in result.stderr


def test_any_program_can_be_planned_with_a_stack_config(tmp_path: Path) -> None:
    shutil.copy(PROGRAMS / "ssh_open.py", tmp_path / "program.py")
    result = ccsec("plan", "--stack", "dev", "--program", str(tmp_path / "program.py"), "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    (rule,) = [r for r in document["resources"] if r["type"].endswith(":SecGroupRule")]
    assert rule["inputs"]["remoteIpPrefix"] == "0.0.0.0/0" and rule["inputs"]["portRangeMin"] == 22
    assert rule["parent"].endswith("::ccaas-baseline-dev")


def test_a_misspelled_resource_argument_fails_under_the_mock_engine() -> None:
    result = ccsec("plan", "--stack", "dev", "--program", str(PROGRAMS / "misspelled.py"))
    assert result.returncode == 2
    assert "delete_defaults_rules" in result.stderr


def test_help_explains_the_commands() -> None:
    result = ccsec("plan", "--help")
    assert result.returncode == 0
    assert "--program PATH" in result.stdout and "mock engine" in result.stdout


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_committed_stacks_have_no_policy_violations(stack: str) -> None:
    result = ccsec("plan", "--stack", stack, "--format", "json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert json.loads(result.stdout)["violations"] == []


def test_ssh_from_anywhere_makes_plan_exit_1_naming_the_policy() -> None:
    result = ccsec("plan", "--stack", "dev", "--program", str(PROGRAMS / "ssh_open.py"), "--format", "json")
    assert result.returncode == 1
    violations = json.loads(result.stdout)["violations"]
    names = {v["policy"] for v in violations}
    assert {"secgroup-ingress-from-anywhere", "secgroup-ssh-admin-cidrs"} <= names
    for violation in violations:
        assert set(violation) == {"policy", "urn", "severity", "enforcement", "message", "frameworks", "control"}
        assert violation["urn"].endswith("::ssh-from-anywhere")
        assert violation["enforcement"] == "mandatory"
        assert any(f.get("name") == "PCI DSS" for f in violation["frameworks"])


def test_policy_config_file_can_make_everything_advisory(tmp_path: Path) -> None:
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"all": "advisory"}))
    args = ["plan", "--stack", "dev", "--program", str(PROGRAMS / "ssh_open.py"), "--format", "json"]
    result = ccsec(*args, "--policy-config", str(config))
    assert result.returncode == 0, result.stderr
    violations = json.loads(result.stdout)["violations"]
    assert violations and {v["enforcement"] for v in violations} == {"advisory"}


def test_a_broken_policy_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "policy.json"
    config.write_text('{"all": "sometimes"}')
    result = ccsec("plan", "--stack", "dev", "--policy-config", str(config))
    assert result.returncode == 2 and "sometimes" in result.stderr
    config.write_text("{not json")
    result = ccsec("plan", "--stack", "dev", "--policy-config", str(config))
    assert result.returncode == 2 and "--policy-config" in result.stderr


def test_sarif_output_validates_against_the_sarif_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "sarif-schema-2.1.0.json").read_text())
    result = ccsec("plan", "--stack", "dev", "--program", str(PROGRAMS / "ssh_open.py"), "--format", "sarif")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema)
    rules = {r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert len(rules) >= 25
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"secgroup-ssh-admin-cidrs"}
    assert all(r["level"] == "error" for r in results)


def test_policy_config_command_prints_the_stacks_allow_lists() -> None:
    result = ccsec("policy-config", "--stack", "prod")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    volume = [v for v in config.values() if "allowedVolumeTypes" in v]
    assert volume and volume[0]["allowedVolumeTypes"] == ["encrypted-luks2", "encrypted-luks2-ssd"]
    assert any(v.get("adminCidrs") == ["198.51.100.0/28", "203.0.113.16/29"] for v in config.values())


SCHEMA_DIR = Path(__file__).resolve().parent.parent / "policies" / "data"
