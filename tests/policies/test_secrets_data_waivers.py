"""Swift ACL spellings, marker-fooling user-data on the real renderer, secretness offline, and waivers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_cases import HOST

from ccsec.policies.offline import Evaluator
from ccsec.policies.rules._swift_acl import parse_acl
from ccsec.policies.rules.host_baseline import problems
from ccsec.policies.sarif import to_sarif
from ccsec.policies.waivers import apply_waivers
from ccsec_testbeds.synthetic import compliant_stack, with_inputs
from tests.unit.logpath import log_path

# --- Swift ACLs: spellings Swift normalises to public read --------------------------------------------
DESIGNATORS = st.sampled_from([".r", ".ref", ".referer", ".referrer"])
SPACE = st.sampled_from(["", " ", "  ", "\t"])
PUBLIC_VALUES = st.sampled_from(["*", "*.example.com", ".example.com", "www.example.com", "-x.example,.r:*"])


@settings(max_examples=200, deadline=None)
@given(DESIGNATORS, SPACE, SPACE, SPACE, PUBLIC_VALUES, st.sampled_from(["", "proj:u,", ",,", " , "]))
def test_every_referrer_spelling_is_public(designator, s1, s2, s3, value, prefix) -> None:
    acl = parse_acl(f"{prefix}{s1}{designator}{s2}:{s3}{value}{s1}")
    assert acl.public and not acl.errors


@pytest.mark.parametrize("value", [".r:-evil.example.com", "proj:user", ".rlistings", "", " , ,"])
def test_non_public_spellings(value) -> None:
    assert not parse_acl(value).public


@pytest.mark.parametrize("value", [".R:*", ".r:", ".r:-", ".r:.", ".x:y"])
def test_spellings_swift_refuses_are_reported(value) -> None:
    assert parse_acl(value).errors


def test_referrer_in_write_acl_is_an_error() -> None:
    assert parse_acl(".r:*", "X-Container-Write").errors


# --- host baseline: the program's real rendering, then one hostile edit --------------------------------
@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> str:
    from ccsec.infra.userdata import render_lab_user_data

    key = tmp_path_factory.mktemp("k") / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    private, public = key.read_text(), Path(f"{key}.pub").read_text()
    return render_lab_user_data(
        "dev",
        "bastion",
        "dev-bastion-1",
        private,
        public,
        "admin",
        public,
        log=log_path("dev", "bastion", "dev-bastion-1"),
    )


def test_the_rendered_baseline_passes(rendered) -> None:
    assert list(problems(rendered)) == []


@pytest.mark.parametrize(
    "edit",
    [
        "  - [nft, flush, ruleset]\n",
        "  - nft delete table inet filter\n",
        "  - [systemctl, disable, --now, nftables.service]\n",
        "  - service ssh stop\n",
        "  - [sh, -c, 'echo PermitRootLogin yes >> /etc/ssh/sshd_config']\n",
        "  - auditctl -e 0\n",
    ],
)
def test_markers_kept_and_runcmd_appended_is_refused(rendered, edit) -> None:
    found = list(problems(rendered + edit))
    assert any("digest does not match" in p for p in found)
    assert any("runcmd[" in p for p in found), found  # refused on its own too, digest aside


def test_a_recomputed_digest_does_not_save_a_root_login(rendered) -> None:
    import yaml

    from ccsec.policies.rules.host_baseline import DIGEST_PREFIX, baseline_digest

    doc = yaml.safe_load(rendered)
    doc["write_files"].append({"path": "/etc/ssh/sshd_config.d/00-evil.conf", "content": "PermitRootLogin yes\n"})
    body = yaml.safe_dump(doc)
    digest = baseline_digest(yaml.safe_load(body))
    forged = f"#cloud-config\n# ccaas-baseline host baseline v1\n{DIGEST_PREFIX}{digest}\n{body}"
    found = list(problems(forged))
    assert not any("digest" in p for p in found)
    assert any("enables root login" in p for p in found)


def test_the_message_never_echoes_user_data(rendered) -> None:
    stack = [
        with_inputs(r, userData=rendered + "  - [nft, flush, ruleset]\n") if r.name == HOST else r
        for r in compliant_stack()
    ]
    found = [v for v in Evaluator().evaluate(stack) if v.policy == "instance-host-baseline"]
    assert found and "ruleset" not in found[0].message and "PRIVATE KEY" not in found[0].message


# --- secretness: ccsec plan tells the pack what pulumi_policy hides ------------------------------------
def test_secret_value_is_never_in_a_message() -> None:
    stack = [with_inputs(r, adminPass="Sup3r-S3cret-value") if r.name == HOST else r for r in compliant_stack()]
    messages = " ".join(v.message for v in Evaluator().evaluate(stack))
    assert "admin_pass" in messages and "Sup3r-S3cret-value" not in messages


# --- waivers --------------------------------------------------------------------------------------------
TODAY = date(2026, 12, 1)
ROOT = "urn:pulumi:synthetic::ccaas-baseline::pulumi:pulumi:Stack::ccaas-baseline-synthetic"
REASON = "Backend CA rollout pending; nftables admits only the LB subnet (compensating control)."


def _violations():
    stack = [with_inputs(r, configDrive=False, adminPass="x") if r.name == HOST else r for r in compliant_stack()]
    found = Evaluator().evaluate(stack)
    assert {"instance-no-admin-pass", "instance-config-drive"} <= {v.policy for v in found}
    return found


def _waiver(**change):
    entry = {
        "policy": "instance-no-admin-pass",
        "resource": "synthetic-db-*",
        "reason": REASON,
        "ticket": "SEC-1",
        "expires": "2027-01-31",
        "approver": "ciso@example.com",
    }
    return {k: v for k, v in {**entry, **change}.items() if v is not None}


def _apply(*entries, document=None):
    from ccsec.policies.metadata import pack_metadata

    names = [m.name for m in pack_metadata()]
    return apply_waivers(
        _violations(), {"waivers": list(entries)} if document is None else document, names, TODAY, ROOT
    )


def test_a_valid_waiver_moves_the_violation_to_waived() -> None:
    result = _apply(_waiver())
    assert not any(v.policy == "instance-no-admin-pass" for v in result.violations)
    assert [w["policy"] for w in result.waived] == ["instance-no-admin-pass"]
    assert result.waived[0]["waiver"]["ticket"] == "SEC-1"
    assert not any(v.mandatory for v in result.violations)  # config-drive is advisory


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"expires": "2026-11-30"}, "has expired"),
        ({"reason": ""}, "reason is empty"),
        ({"ticket": "  "}, "ticket is empty"),
        ({"approver": None}, "approver is missing"),
        ({"expires": "next year"}, "not an ISO date"),
        ({"expires": "2029-01-01"}, "days ahead"),
        ({"policy": "no-such-policy"}, "not a policy of the pack"),
        ({"resource": "*"}, "only wildcards"),
        ({"reason": "because"}, "shorter than"),
        ({"owner": "me"}, "unknown key"),
    ],
)
def test_a_bad_waiver_waives_nothing_and_is_itself_mandatory(change, why) -> None:
    result = _apply(_waiver(**change))
    assert result.waived == []
    assert any(v.policy == "instance-no-admin-pass" and v.mandatory for v in result.violations)
    bad = [v for v in result.violations if v.policy == "waiver-valid"]
    assert bad and bad[0].mandatory and why in bad[0].message and bad[0].control == "GOV-01"


def test_a_wrong_pattern_waives_nothing_and_is_reported_unused() -> None:
    result = _apply(_waiver(resource="prod-db-*"))
    assert result.waived == [] and any(v.policy == "instance-no-admin-pass" for v in result.violations)
    assert any(v.policy == "waiver-unused" and not v.mandatory for v in result.violations)


def test_a_urn_pattern_matches() -> None:
    result = _apply(_waiver(resource="urn:pulumi:synthetic::*::openstack:compute/instance:Instance::synthetic-db-1"))
    assert len(result.waived) == 1


def test_a_waiver_for_an_advisory_is_reported_as_waived() -> None:
    result = _apply(_waiver(policy="instance-config-drive"))
    assert [w["enforcement"] for w in result.waived] == ["advisory"]


def test_a_file_that_is_not_a_list_is_a_mandatory_violation() -> None:
    result = _apply(document={"policy": "x"})
    assert any(v.policy == "waiver-valid" and v.mandatory for v in result.violations)


def test_sarif_carries_waived_results_as_accepted_suppressions() -> None:
    result = _apply(_waiver())
    log = to_sarif(result.violations, "it.py", result.waived)
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    import jsonschema

    jsonschema.Draft4Validator(schema).validate(log)
    suppressed = [r for r in log["runs"][0]["results"] if r.get("suppressions")]
    assert len(suppressed) == 1
    sup = suppressed[0]["suppressions"][0]
    assert sup["kind"] == "external" and sup["status"] == "accepted" and REASON in sup["justification"]
    rules = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    for r in log["runs"][0]["results"]:
        assert rules[r["ruleIndex"]] == r["ruleId"]


def test_cli_plan_with_waivers(tmp_path) -> None:
    """End to end: a program with admin_pass is blocked; a valid waiver makes it pass, listed as waived."""
    program = tmp_path / "prog.py"
    program.write_text(
        "import pulumi_openstack as openstack\n"
        "openstack.compute.Instance('vm', name='vm', flavor_name='m1', admin_pass='Hunter2-Hunter2')\n"
    )
    base = [sys.executable, "-m", "ccsec.cli", "plan", "--stack", "dev", "--program", str(program), "--format", "json"]
    blocked = subprocess.run(base, capture_output=True, text=True, timeout=180, check=False)
    assert blocked.returncode == 1
    assert "Hunter2-Hunter2" not in blocked.stdout + blocked.stderr
    mandatory = {v["policy"] for v in json.loads(blocked.stdout)["violations"] if v["enforcement"] == "mandatory"}
    assert "instance-no-admin-pass" in mandatory
    entries = [
        {
            "policy": p,
            "resource": "vm",
            "reason": REASON,
            "ticket": "SEC-2",
            "expires": "2027-06-30",
            "approver": "ciso",
        }
        for p in sorted(mandatory)
    ]
    waivers = tmp_path / "waivers.json"
    waivers.write_text(json.dumps({"waivers": entries}))
    run = subprocess.run([*base, "--waivers", str(waivers)], capture_output=True, text=True, timeout=180, check=False)
    out = json.loads(run.stdout)
    assert {w["policy"] for w in out["waived"]} == mandatory
    assert run.returncode == (1 if any(e["enforcement"] == "mandatory" for e in out["violations"]) else 0)
    missing = subprocess.run(
        [*base, "--waivers", str(tmp_path / "nope.yaml")], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2
