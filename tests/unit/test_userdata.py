"""Cloud-init rendering: valid cloud-config per role, and no way to inject through a value."""

from __future__ import annotations

import re
from dataclasses import replace

import jinja2
import pytest
import yaml
from hostkeys import identity
from logpath import log_for, log_path

from ccsec.infra.config import ROLES, Admin
from ccsec.infra.stackfile import load_stack_config
from ccsec.infra.userdata import (
    BASELINE_MARKER,
    HostIdentity,
    HostSecrets,
    LabTotpPerson,
    TemplateValueError,
    _env,
    render_lab_user_data,
    render_user_data,
)

CFG = load_stack_config("lab")
DATA_DEVICE = "/dev/disk/by-id/virtio-0123456789abcdef0123"
DATA_SECRETS = HostSecrets(luks_key="a" * 64)  # db and recordings: the data volume's LUKS2 key


@pytest.mark.parametrize("role", ROLES)
def test_each_role_renders_a_cloud_config_with_the_pinned_key(role: str) -> None:
    ident = identity()
    data = role in ("db", "recordings", "loghost")
    text = render_user_data(
        CFG,
        role,
        f"lab-{role}-1",
        ident,
        DATA_SECRETS if data else None,
        DATA_DEVICE if data else "",
        log=log_for(CFG, role, f"lab-{role}-1"),
    )
    assert text.splitlines()[:2] == ["#cloud-config", BASELINE_MARKER]
    document = yaml.safe_load(text)
    assert document["hostname"] == f"lab-{role}-1"
    assert document["ssh_keys"]["ed25519_private"].strip() == ident.private_openssh.strip()
    assert document["ssh_keys"]["ed25519_public"] == ident.public_openssh
    admin, *service_accounts = document["users"]
    assert admin["name"] == "ccadmin" and admin["lock_passwd"] is True
    # only the log host has a service account, and it can never log in
    expected = [("ccaas-logs", "/usr/sbin/nologin", True)] if role == "loghost" else []
    assert [(u["name"], u["shell"], u["lock_passwd"]) for u in service_accounts] == expected
    sshd = next(f for f in document["write_files"] if f["path"].startswith("/etc/ssh/sshd_config.d/"))
    assert "PermitRootLogin no" in sshd["content"] and "PasswordAuthentication no" in sshd["content"]
    forwarding = "AllowTcpForwarding yes" if role == "bastion" else "AllowTcpForwarding no"
    assert forwarding in sshd["content"]


def test_secrets_reach_only_a_root_only_file() -> None:
    secrets = replace(DATA_SECRETS, backup_env={"RESTIC_PASSWORD": "s3cr3t-value"})
    text = render_user_data(CFG, "db", "lab-db-1", identity(), secrets, DATA_DEVICE, log=log_for(CFG, "db", "lab-db-1"))
    document = yaml.safe_load(text)
    (env_file,) = [f for f in document["write_files"] if f["path"] == "/etc/ccsec/backup/secrets/restic.pass"]
    assert env_file["permissions"] == "0600" and env_file["owner"] == "root:root"
    assert env_file["content"] == "s3cr3t-value\n"
    assert text.count("s3cr3t-value") == 1


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
        render_user_data(
            CFG,
            "db",
            hostname,
            ident,
            replace(secrets, luks_key=DATA_SECRETS.luks_key),
            DATA_DEVICE,
            log=log_for(CFG, "db", hostname),
        )


def test_an_admin_key_smuggling_a_second_line_is_refused_even_past_config() -> None:
    evil = replace(CFG, admins=(Admin("ccadmin", "ssh-ed25519 AAAAC3Nza x\nssh-ed25519 AAAA attacker"),))
    with pytest.raises(TemplateValueError, match=r"admins\.ccadmin"):
        render_user_data(evil, "app", "lab-app-1", identity(), log=log_for(evil, "app", "lab-app-1"))


def test_a_private_key_is_never_echoed_in_an_error() -> None:
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nTOPSECRET\n-----END RSA-----"
    with pytest.raises(TemplateValueError) as caught:
        render_user_data(
            CFG,
            "app",
            "lab-app-1",
            HostIdentity(secret, identity().public_openssh),
            log=log_for(CFG, "app", "lab-app-1"),
        )
    assert "TOPSECRET" not in str(caught.value)


def test_templates_fail_on_undefined_values() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _env().from_string("PermitRootLogin {{ permit_root }}").render()


@pytest.mark.parametrize(
    ("role", "accepted"),
    [
        ("bastion", {("admins", 22)}),
        ("app", {("edge", 443), ("mgmt", 22)}),
        ("db", {("app", 5432), ("mgmt", 22)}),
        ("recordings", {("app", 443), ("mgmt", 22)}),
        ("payment", {("app", 8443), ("mgmt", 22)}),
        # HOST-15: syslog from every zone that holds a sender (db and recordings share the data zone)
        ("loghost", {("mgmt", 6514), ("app", 6514), ("data", 6514), ("pci", 6514), ("mgmt", 22)}),
    ],
)
def test_host_firewall_accepts_only_the_role_flows(role: str, accepted: set) -> None:
    data = role in ("db", "recordings", "loghost")
    text = render_user_data(
        CFG,
        role,
        f"lab-{role}-1",
        identity(),
        DATA_SECRETS if data else None,
        "/dev/vdb" * data,
        log=log_for(CFG, role, f"lab-{role}-1"),
    )
    document = yaml.safe_load(text)
    nft = next(f for f in document["write_files"] if f["path"] == "/etc/nftables.conf")["content"]
    rules = set(re.findall(r"ip saddr @(\w+) tcp dport (\d+) ct state new accept", nft))
    assert {(name, int(port)) for name, port in rules} == accepted
    assert "policy drop;" in nft.split("chain input")[1].split("}")[0]
    assert 'log prefix "ccaas-drop: "' in nft
    for name, _ in accepted:
        expected = CFG.network.admin_cidrs if name == "admins" else (str(CFG.network.zones[name]),)
        assert f"elements = {{ {', '.join(expected)} }}" in nft.split(f"set {name} {{")[1]


@pytest.mark.parametrize(("role", "mount"), [("db", "/var/lib/postgresql"), ("recordings", "/srv/recordings")])
def test_a_data_role_needs_its_volume_and_key_and_gets_a_root_only_luks_key(role: str, mount: str) -> None:
    with pytest.raises(TemplateValueError, match="data_device"):
        render_user_data(CFG, role, f"lab-{role}-1", identity(), DATA_SECRETS, log=log_for(CFG, role, f"lab-{role}-1"))
    with pytest.raises(TemplateValueError, match="luks_key"):
        render_user_data(
            CFG, role, f"lab-{role}-1", identity(), None, "/dev/vdb", log=log_for(CFG, role, f"lab-{role}-1")
        )
    for bad in ("a" * 64 + "\nruncmd: [reboot]", "short", "a" * 63 + "$"):
        with pytest.raises(TemplateValueError, match="luks_key"):
            render_user_data(
                CFG,
                role,
                f"lab-{role}-1",
                identity(),
                HostSecrets(luks_key=bad),
                "/dev/vdb",
                log=log_for(CFG, role, f"lab-{role}-1"),
            )
    text = render_user_data(
        CFG, role, f"lab-{role}-1", identity(), DATA_SECRETS, "/dev/vdb", log=log_for(CFG, role, f"lab-{role}-1")
    )
    document = yaml.safe_load(text)
    (key,) = [f for f in document["write_files"] if f["path"] == "/etc/ccaas/luks.key"]
    assert key["permissions"] == "0400"
    script = next(f for f in document["write_files"] if f["path"] == "/usr/local/sbin/ccaas-luks-setup")
    assert "device=/dev/vdb" in script["content"] and "--type luks2" in script["content"]
    assert f"mount={mount}\n" in script["content"]
    assert ["/usr/local/sbin/ccaas-luks-setup"] in document["runcmd"]


def test_postgres_starts_once_configured_and_on_the_data_volume() -> None:
    """The listen addresses are written first; the LUKS setup then moves the cluster and restarts it (once)."""
    runcmd = yaml.safe_load(
        render_user_data(
            CFG, "db", "lab-db-1", identity(), DATA_SECRETS, "/dev/vdb", log=log_for(CFG, "db", "lab-db-1")
        )
    )["runcmd"]
    luks = runcmd.index(["/usr/local/sbin/ccaas-luks-setup"])
    assert runcmd.index(["/usr/local/sbin/ccaas-pg-listen"]) < luks
    assert not [c for c in runcmd if "postgresql@15-main.service" in c], "a second restart costs ~40 s under TCG"
    files = {
        f["path"]: f
        for f in yaml.safe_load(
            render_user_data(
                CFG, "db", "lab-db-1", identity(), DATA_SECRETS, "/dev/vdb", log=log_for(CFG, "db", "lab-db-1")
            )
        )["write_files"]
    }
    script = files["/usr/local/sbin/ccaas-luks-setup"]["content"].splitlines()
    assert script[-1] == "systemctl restart postgresql@15-main.service"


def test_bastion_requires_totp_for_people_and_lists_their_seeds() -> None:
    people = replace(CFG, admins=(Admin("alice", CFG.admins[0].ssh_public_key),))
    text = render_user_data(
        people,
        "bastion",
        "lab-bastion-1",
        identity(),
        HostSecrets(totp={"alice": "ab" * 20}),
        log=log_for(people, "bastion", "lab-bastion-1"),
    )
    document = yaml.safe_load(text)
    files = {f["path"]: f for f in document["write_files"]}
    assert (
        "AuthenticationMethods publickey,keyboard-interactive:pam"
        in files["/etc/ssh/sshd_config.d/10-ccaas-baseline.conf"]["content"]
    )
    assert files["/etc/users.oath"]["permissions"] == "0600"
    assert "HOTP/T30/6\talice\t-\t" + "ab" * 20 in files["/etc/users.oath"]["content"]
    assert "pam_oath.so" in files["/etc/pam.d/sshd"]["content"]
    assert "common-auth" not in files["/etc/pam.d/sshd"]["content"], "no password prompt on the bastion"
    (alice,) = document["users"]
    assert "totp" in alice["groups"]


def test_the_lab_renderer_uses_its_automation_account_without_totp() -> None:
    ident = identity()
    text = render_lab_user_data(
        "lab",
        "recordings",
        "lab-recordings-1",
        ident.private_openssh,
        ident.public_openssh,
        "ccadmin",
        KEY,
        log=log_path("lab", "recordings", "lab-recordings-1"),
    )
    document = yaml.safe_load(text)
    (admin,) = document["users"]
    assert admin["name"] == "ccadmin" and "totp" not in admin["groups"]
    assert admin["ssh_authorized_keys"] == [KEY]
    assert any(f["path"] == "/etc/ccaas/luks.key" for f in document["write_files"])


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm1gVAkhwXay8i7AN2HRlO+9SWgMtHgzZSybQH7hVb3 ccadmin@lab"
PERSON_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL89qaWNynrh/h+XgSqtXJjdRXpgg8chrdEEAqgsaXj+ ccperson@lab"


@pytest.mark.parametrize("role", ["bastion", "app"])
def test_the_lab_person_has_totp_on_the_bastion_and_a_key_everywhere(role: str) -> None:
    ident = identity()
    person = LabTotpPerson("ccperson", PERSON_KEY, "cd" * 20)
    text = render_lab_user_data(
        "lab",
        role,
        f"lab-{role}-1",
        ident.private_openssh,
        ident.public_openssh,
        "ccadmin",
        KEY,
        totp_person=person,
        log=log_path("lab", role, f"lab-{role}-1"),
    )
    document = yaml.safe_load(text)
    admin, who = document["users"]
    assert (admin["name"], who["name"]) == ("ccadmin", "ccperson") and "totp" not in admin["groups"]
    assert "totp" in who["groups"] and who["ssh_authorized_keys"] == [PERSON_KEY]
    oath = [f["content"] for f in document["write_files"] if f["path"] == "/etc/users.oath"]
    assert oath == (["# ccaas-baseline HOST-03: TOTP seeds (RFC 6238, 30 s, 6 digits) for bastion administrators\n"
                     "HOTP/T30/6\tccperson\t-\t" + "cd" * 20 + "\n"] if role == "bastion" else [])  # fmt: skip


@pytest.mark.parametrize("seed", ["cd" * 20 + "\nHOTP/T30/6\troot\t-\t" + "00" * 20, "CD" * 20, "cd" * 5, "zz" * 20])
def test_a_lab_person_seed_that_is_not_lowercase_hex_is_refused(seed: str) -> None:
    ident = identity()
    with pytest.raises(TemplateValueError, match=r"totp\.ccperson"):
        render_lab_user_data(
            "lab", "bastion", "lab-bastion-1", ident.private_openssh, ident.public_openssh, "ccadmin", KEY,
            totp_person=LabTotpPerson("ccperson", PERSON_KEY, seed), log=log_path("lab", "bastion", "lab-bastion-1"),
        )  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"mount": "/var/lib/postgresql; reboot"},
        {"mount": "/var/lib/postgresql\nruncmd: [reboot]"},
        {"mount": "relative/path"},
        {"mapper": "pg data"},
        {"mapper": "$(reboot)"},
        {"owner": "postgres"},
        {"owner": "root:root;id"},
        {"mode": "777"},
        {"mode": "0750 /etc"},
        {"units": ("postgresql@15-main.service; reboot",)},
        {"units": ("postgresql@15-main.socket",)},
    ],
)
def test_an_unsafe_data_volume_fact_in_the_model_is_refused_before_it_reaches_the_script(monkeypatch, change) -> None:
    import ccsec.infra.userdata as userdata_module
    from ccsec.infra import roles as role_model

    original = role_model.role
    db = original("db")
    assert db.data_volume is not None
    edited = replace(db, data_volume=replace(db.data_volume, **change))
    monkeypatch.setattr(
        userdata_module.role_model, "role", lambda name, *a: edited if name == "db" else original(name, *a)
    )
    safe = replace(db, data_volume=replace(db.data_volume, mount="/srv/pgdata", mapper="pg-data"))
    with pytest.raises(TemplateValueError, match="data_volume"):
        render_user_data(
            CFG, "db", "lab-db-1", identity(), DATA_SECRETS, DATA_DEVICE, log=log_for(CFG, "db", "lab-db-1")
        )
    edited = safe  # the same route with safe values renders: the refusal above is the guard, not the patch
    assert "mount=/srv/pgdata\n" in render_user_data(
        CFG, "db", "lab-db-1", identity(), DATA_SECRETS, DATA_DEVICE, log=log_for(CFG, "db", "lab-db-1")
    )
