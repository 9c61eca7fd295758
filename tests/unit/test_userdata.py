"""Cloud-init rendering: valid cloud-config per role, and no way to inject through a value."""

from __future__ import annotations

from dataclasses import replace

import jinja2
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from infra.config import ROLES, Admin
from infra.stackfile import load_stack_config
from infra.userdata import BASELINE_MARKER, HostIdentity, HostSecrets, TemplateValueError, _env, render_user_data


def identity() -> HostIdentity:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return HostIdentity(private, public.decode() + " host@lab")


CFG = load_stack_config("lab")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_renders_a_cloud_config_with_the_pinned_key(role: str) -> None:
    ident = identity()
    text = render_user_data(CFG, role, f"lab-{role}-1", ident)
    assert text.splitlines()[:2] == ["#cloud-config", BASELINE_MARKER]
    document = yaml.safe_load(text)
    assert document["hostname"] == f"lab-{role}-1"
    assert document["ssh_keys"]["ed25519_private"].strip() == ident.private_openssh.strip()
    assert document["ssh_keys"]["ed25519_public"] == ident.public_openssh
    (admin,) = document["users"]
    assert admin["name"] == "ccadmin" and admin["lock_passwd"] is True
    sshd = next(f for f in document["write_files"] if f["path"].startswith("/etc/ssh/sshd_config.d/"))
    assert "PermitRootLogin no" in sshd["content"] and "PasswordAuthentication no" in sshd["content"]
    forwarding = "AllowTcpForwarding yes" if role == "bastion" else "AllowTcpForwarding no"
    assert forwarding in sshd["content"]


def test_secrets_reach_only_a_root_only_file() -> None:
    text = render_user_data(
        CFG, "db", "lab-db-1", identity(), HostSecrets(backup_env={"RESTIC_PASSWORD": "s3cr3t-value"})
    )
    document = yaml.safe_load(text)
    (env_file,) = [f for f in document["write_files"] if f["path"] == "/etc/ccaas/backup.env"]
    assert env_file["permissions"] == "0600" and env_file["owner"] == "root:root"
    assert 'RESTIC_PASSWORD="s3cr3t-value"' in env_file["content"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda: ("lab-db-1\nruncmd: [reboot]", identity(), HostSecrets()), "hostname"),
        (lambda: ("lab-db-1", HostIdentity("not a key", identity().public_openssh), HostSecrets()), "host_key.private"),
        (
            lambda: ("lab-db-1", HostIdentity(identity().private_openssh, "ssh-rsa AAAA x"), HostSecrets()),
            "host_key.public",
        ),
        (lambda: ("lab-db-1", identity(), HostSecrets(backup_env={"A": "x\nB=y"})), "backup_env.A"),
        (lambda: ("lab-db-1", identity(), HostSecrets(backup_env={"a b": "x"})), "backup_env.a b"),
    ],
)
def test_injection_through_a_template_value_is_refused(mutate, field: str) -> None:
    hostname, ident, secrets = mutate()
    with pytest.raises(TemplateValueError, match=field.replace(".", r"\.")):
        render_user_data(CFG, "db", hostname, ident, secrets)


def test_an_admin_key_smuggling_a_second_line_is_refused_even_past_config() -> None:
    evil = replace(CFG, admins=(Admin("ccadmin", "ssh-ed25519 AAAAC3Nza x\nssh-ed25519 AAAA attacker"),))
    with pytest.raises(TemplateValueError, match=r"admins\.ccadmin"):
        render_user_data(evil, "app", "lab-app-1", identity())


def test_a_private_key_is_never_echoed_in_an_error() -> None:
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nTOPSECRET\n-----END RSA-----"
    with pytest.raises(TemplateValueError) as caught:
        render_user_data(CFG, "app", "lab-app-1", HostIdentity(secret, identity().public_openssh))
    assert "TOPSECRET" not in str(caught.value)


def test_templates_fail_on_undefined_values() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _env().from_string("PermitRootLogin {{ permit_root }}").render()
