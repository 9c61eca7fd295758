"""The offline evaluator behaves like the CLI: config, enforcement overrides, secrets, stack URNs."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from policy_cases import five_line_ssh
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY

from ccsec.policies.metadata import config_for, merge_config
from ccsec.policies.offline import Evaluator, evaluate, has_mandatory, to_struct
from ccsec.policies.pack_config import PolicyConfigError, load_policy_config
from ccsec.policies.rules import _props as t
from ccsec_testbeds.synthetic import res


def test_five_line_ssh_program_is_blocked() -> None:
    violations = evaluate(five_line_ssh([]))
    assert has_mandatory(violations)
    assert {"secgroup-ingress-from-anywhere", "secgroup-ssh-admin-cidrs"} <= {v.policy for v in violations}
    assert all(v.urn.endswith("::ssh") for v in violations if v.policy.startswith("secgroup-ingress"))


def test_all_advisory_override_downgrades_every_violation() -> None:
    violations = evaluate(five_line_ssh([]), {"all": "advisory"})
    assert violations and not has_mandatory(violations)
    assert {v.enforcement for v in violations} == {"advisory"}


def test_per_policy_override_and_disable() -> None:
    config = {
        "secgroup-ingress-from-anywhere": {"enforcementLevel": "disabled"},
        "secgroup-ssh-admin-cidrs": "advisory",
    }
    violations = evaluate(five_line_ssh([]), config)
    assert "secgroup-ingress-from-anywhere" not in {v.policy for v in violations}
    assert {v.enforcement for v in violations if v.policy == "secgroup-ssh-admin-cidrs"} == {"advisory"}


def test_advisory_policy_can_be_made_mandatory(baseline) -> None:
    stack = [r if r.name != "https" else res(t.LISTENER, "https", {**r.inputs, "hstsMaxAge": 60}) for r in baseline]
    assert {v.enforcement for v in evaluate(stack) if v.policy == "listener-hsts"} == {"advisory"}
    forced = evaluate(stack, {"listener-hsts": {"enforcementLevel": "mandatory"}})
    assert {v.enforcement for v in forced if v.policy == "listener-hsts"} == {"mandatory"}


@pytest.mark.parametrize(
    "config",
    [
        {"all": "blocking"},
        {"secgroup-ssh-admin-cidrs": {"adminCidrs": "10.0.0.0/8"}},  # schema says array
        {"secgroup-ssh-admin-cidrs": 3},
    ],
)
def test_invalid_config_is_refused_like_the_cli(config) -> None:
    with pytest.raises(PolicyConfigError):
        Evaluator(config)


def test_config_file_shape(tmp_path) -> None:
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"all": {"enforcementLevel": "advisory"}}))
    assert not has_mandatory(evaluate(five_line_ssh([]), load_policy_config(path)))
    path.write_text("")
    assert load_policy_config(path) == {}


def test_config_for_spreads_shared_settings() -> None:
    config = config_for(allowedVolumeTypes=["fast-luks"], adminCidrs=["10.1.0.0/16"])
    assert config["volume-encrypted-type"] == {"allowedVolumeTypes": ["fast-luks"]}
    assert config["instance-boot-encrypted-volume"] == {"allowedVolumeTypes": ["fast-luks"]}
    assert config["secgroup-ssh-admin-cidrs"] == {"adminCidrs": ["10.1.0.0/16"]}
    merged = merge_config(config, {"volume-encrypted-type": "advisory"})
    assert merged["volume-encrypted-type"] == {"allowedVolumeTypes": ["fast-luks"], "enforcementLevel": "advisory"}
    with pytest.raises(KeyError):
        config_for(noSuchSetting=1)


def test_secret_inputs_are_sent_with_the_secret_signature_and_policies_see_plain_values(baseline) -> None:
    host = next(r for r in baseline if r.type == t.INSTANCE)
    assert "userData" in host.secret_inputs
    wire = json_format.MessageToDict(to_struct(host.inputs, host.secret_inputs))
    assert wire["userData"][SPECIAL_SIG_KEY] == SPECIAL_SECRET_SIG
    assert wire["userData"]["value"] == host.inputs["userData"]
    assert [v for v in evaluate([host]) if v.policy == "instance-host-baseline"] == []


def test_components_and_unknown_types_pass_through_quietly() -> None:
    component = res("ccaas:network:Firewall", "fw", {}, custom=False)
    other = res("tls:index/privateKey:PrivateKey", "k", {"algorithm": "ED25519"})
    assert evaluate([component, other]) == []


def test_stack_violation_without_urn_is_filed_on_the_root_stack() -> None:
    db = res(t.INSTANCE, "db-1", {"metadata": {"role": "db", "backup_diff_minutes": "5", "backup_full_days": "30"}})
    found = [v for v in evaluate([db]) if v.policy == "backup-schedule"]
    assert [v.urn for v in found] == [
        "urn:pulumi:synthetic::ccaas-baseline::pulumi:pulumi:Stack::ccaas-baseline-synthetic"
    ]


def test_violation_as_dict_is_json_ready() -> None:
    v = evaluate(five_line_ssh([]))[0]
    data = json.loads(json.dumps(v.as_dict()))
    assert set(data) == {"policy", "urn", "severity", "enforcement", "message", "frameworks", "control"}
    assert {f["name"] for f in data["frameworks"]} >= {"PCI DSS", "ISO/IEC 27001"}
