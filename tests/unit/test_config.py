"""Stack config validation: every problem reported at once, with its key path and a fix."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ccsec.infra.config import ConfigError, StackConfig, decode_raw, parse_config
from ccsec.infra.stackfile import read_stack

STACKS_DIR = Path(__file__).resolve().parents[2] / "stacks"  # the repo's own stacks

NOW = datetime(2026, 11, 26, tzinfo=UTC)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL89qaWNynrh/h+XgSqtXJjdRXpgg8chrdEEAqgsaXj+ alice@example"


def dev_values() -> dict[str, Any]:
    raw = read_stack("dev")
    return decode_raw(raw.config)


def problems(values: dict[str, Any], secrets: tuple[str, ...] = (), stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(values, secrets, stack, now=NOW)
    return caught.value.problems


def test_committed_stacks_are_valid() -> None:
    for path in sorted(STACKS_DIR.glob("Pulumi.*.yaml")):
        stack = path.name.split(".")[1]
        raw = read_stack(stack)
        cfg = parse_config(decode_raw(raw.config), raw.secret_keys, stack, now=NOW)
        assert isinstance(cfg, StackConfig)


def test_defaults_fill_unset_optional_keys() -> None:
    values = dev_values()
    del values["storage"], values["logging"]
    cfg = parse_config(values, (), "dev", now=NOW)
    assert cfg.storage.encrypted_volume_types == ("encrypted-luks2",)
    assert cfg.storage.volume_type == "encrypted-luks2"
    assert cfg.logging.port == 6514


def test_all_problems_are_reported_at_once_with_key_paths() -> None:
    values = dev_values()
    values["cluster"]["app"]["count"] = "two"
    values["network"]["adminCidrs"] = ["0.0.0.0/0"]
    values["tls"]["ciphers"] = "RC4-SHA:ECDHE-RSA-AES256-GCM-SHA384"
    del values["owner"]
    found = problems(values)
    assert len(found) == 4
    assert any(p.startswith("cluster.app.count: must be an integer") for p in found)
    assert any(p.startswith("network.adminCidrs[0]: must not be 0.0.0.0/0") for p in found)
    assert any(p.startswith("tls.ciphers: contains weak ciphers (RC4-SHA)") for p in found)
    assert "owner: is required" in found


def test_prod_needs_two_hosts_per_role_for_anti_affinity() -> None:
    values = dev_values()
    values["environment"] = "prod"
    values["tls"]["mode"] = "provided"
    found = problems(values, ("ccaas-baseline:tlsCertificate", "ccaas-baseline:tlsPrivateKey"), "prod")
    assert "cluster.app.count: must be ≥ 2 for anti-affinity in prod (one host is a single point of failure)" in found
    assert any(p.startswith("cluster.db.count: must be ≥ 2") for p in found)
    assert any(p.startswith("tlsPrivateKey: is required") for p in found)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("owner",), "team\nPermitRootLogin yes", "owner: must not contain newlines"),
        (("owner",), 'team" ; rm', "owner: must not contain newlines, quotes"),
        (
            ("admins", 0, "sshPublicKey"),
            KEY + "\nssh-ed25519 AAAA evil",
            "admins[0].sshPublicKey: must be a single line",
        ),
        (("admins", 0, "sshPublicKey"), "ssh-rsa AAAAB3NzaC1yc2E bob", "admins[0].sshPublicKey: must be an OpenSSH"),
        (("admins", 0, "name"), "root", "admins[0].name: must be a POSIX user name"),
        (("admins", 0, "name"), "al ice", "admins[0].name: must be a POSIX user name"),
        (("cluster", "db", "flavor"), "m1.large\nX", "cluster.db.flavor: must not contain newlines"),
        (("tls", "hostname"), "cc.example.com*", "tls.hostname: must be a lower-case DNS name"),
        (("logging", "host"), "logs.example.com", "logging.host: is no longer used: the stack's own log hosts"),
        (("logging", "host"), "logs.example.com;reboot", "logging.host: is no longer used"),
        (("logging", "hots"), 6514, "logging.hots: unknown key (known keys: port)"),
        (("network", "zones", "app"), "10.20.10.1/24", "network.zones.app: must be a CIDR with its host bits zero"),
        (("network", "zones", "app"), "8.8.8.0/24", "network.zones.app: must be a private"),
        (("network", "zones", "data"), "10.20.10.0/25", "network.zones.data: overlaps network.zones.app"),
        (("network", "adminCidrs", 0), "::/0", "network.adminCidrs[0]: must not be 0.0.0.0/0 or ::/0"),
        (("network", "adminCidrs", 0), "10.0.0.0/8", "network.adminCidrs[0]: is too broad (/8)"),
        (
            ("storage", "volumeType"),
            "plain-ssd",
            "storage.volumeType: 'plain-ssd' is not in storage.encryptedVolumeTypes",
        ),
        (("backup", "diffMinutes"), 15, "backup.diffMinutes: must be between 1 and 5, got 15"),
        (("backup", "fullDays"), 90, "backup.fullDays: must be between 1 and 30, got 90"),
        (("backup", "credentialExpiresAt"), "2020-01-01T00:00:00Z", "backup.credentialExpiresAt: is in the past"),
        (("backup", "credentialExpiresAt"), "2030-01-01T00:00:00Z", "backup.credentialExpiresAt: is more than 400"),
        (("backup", "swiftAuthUrl"), "http://keystone:5000/v3", "backup.swiftAuthUrl: must be an https:// URL"),
        (("backup", "s3Endpoint"), "swift.internal\nrepo1-path=/x", "backup.s3Endpoint: must not contain newlines"),
        (("backup", "s3Role"), "admin", "backup.s3Role: must not be an admin role"),
        (("backup", "s3Role"), "ResellerAdmin", "backup.s3Role: must not be an admin role"),
        (("backup", "s3Role"), "cloud_ADMIN", "backup.s3Role: must not be an admin role"),
        (("backup", "s3Role"), "reseller", "backup.s3Role: must not be an admin role"),
        (("backup", "s3Role"), "Service", "backup.s3Role: must not be a service role"),
        (("backup", "s3Role"), "service_role", "backup.s3Role: must not be a service role"),
        (("backup", "s3Role"), "swift operator", "backup.s3Role: must be a Keystone role name"),
        (("backup", "s3Role"), "member\n", "backup.s3Role: must not contain"),
        (("backup", "s3Role"), "", "backup.s3Role: must be a Keystone role name"),
        (("backup", "s3Role"), ["member"], "backup.s3Role: must be a string"),
        (("tls", "httpRedirect"), "yes", "tls.httpRedirect: must be true or false, got str"),
        (("cluster", "app", "count"), True, "cluster.app.count: must be an integer, got a boolean"),
        (("environment",), "production", "environment: must be one of dev, staging, prod, lab"),
    ],
)
def test_bad_values_are_refused_with_the_key_path(path: tuple, value: Any, expected: str) -> None:
    values = dev_values()
    target = values
    for step in path[:-1]:
        target = target[step] if isinstance(step, int) else target.setdefault(step, {})
    target[path[-1]] = value
    found = problems(values)
    assert any(p.startswith(expected) for p in found), found


def test_unknown_keys_are_refused_with_a_suggestion() -> None:
    values = dev_values()
    values["cluster"]["app"]["flavour"] = "m1.large"
    values["netwrk"] = {}
    found = problems(values)
    assert "cluster.app.flavour: unknown key (did you mean 'flavor'?)" in found
    assert "netwrk: unknown key (did you mean 'network'?)" in found


def test_missing_required_sections_are_named() -> None:
    found = problems({"environment": "dev", "owner": "x-team"})
    assert "admins: is required" in found
    assert "network.externalNetworkId: is required" in found
    assert "network.adminCidrs: is required" in found
    assert "backup.credentialExpiresAt: is required" in found


def test_secrets_must_be_stored_as_pulumi_secrets() -> None:
    values = dev_values()
    values["tls"]["mode"] = "provided"
    values["tlsCertificate"] = "-----BEGIN CERTIFICATE-----"
    values["tlsPrivateKey"] = "-----BEGIN PRIVATE KEY-----\nMIIE..."
    found = problems(values, ("ccaas-baseline:tlsCertificate",))
    assert any(p.startswith("tlsPrivateKey: must be stored as a secret") for p in found)
    assert not any("MIIE" in p for p in found), "an error must never echo a secret value"


@pytest.mark.parametrize("key", ["backupS3AccessKey", "backupS3SecretKey"])
def test_hand_made_s3_keys_of_the_two_phase_deployment_are_refused_with_the_fix(key: str) -> None:
    values = dev_values()
    values[key] = "AKIAHANDMADE0000"
    found = problems(values, (f"ccaas-baseline:{key}",))
    assert f"{key}: is no longer used: the program creates the db backup user's EC2 credential itself; " in "".join(
        found
    )
    assert any(p.endswith(f"pulumi config rm {key}") for p in found), found
    assert not any("AKIAHANDMADE" in p for p in found), "an error must never echo a secret value"


def test_s3_role_defaults_to_swift_operator_and_takes_a_custom_one() -> None:
    values = dev_values()
    assert parse_config(values, (), "dev", now=NOW).backup.s3_role == "swiftoperator"
    values.setdefault("backup", {})["s3Role"] = "object-store_writer"
    assert parse_config(values, (), "dev", now=NOW).backup.s3_role == "object-store_writer"


def test_self_signed_tls_is_refused_in_prod() -> None:
    raw = read_stack("prod")
    values = decode_raw(raw.config)
    values["tls"]["mode"] = "self-signed"
    found = problems(values, raw.secret_keys, "prod")
    assert any(p.startswith("tls.mode: self-signed certificates are refused in prod") for p in found)


def test_secure_values_in_the_stack_file_are_never_decrypted() -> None:
    raw = read_stack("prod")
    assert "ccaas-baseline:tlsPrivateKey" in raw.secret_keys
    assert raw.config["ccaas-baseline:tlsPrivateKey"] == "[secret]"
    text = (STACKS_DIR / "Pulumi.prod.yaml").read_text()
    assert yaml.safe_load(text)["config"]["ccaas-baseline:tlsPrivateKey"]["secure"] not in str(raw.config)


@given(st.text(min_size=1, max_size=40))
def test_no_owner_with_a_control_character_or_quote_is_ever_accepted(owner: str) -> None:
    values = copy.deepcopy(BASE)
    values["owner"] = owner
    try:
        cfg = parse_config(values, (), "dev", now=NOW)
    except ConfigError:
        return
    assert not any(ch in cfg.owner for ch in "\n\r\"'`$\\;")


BASE = dev_values()
