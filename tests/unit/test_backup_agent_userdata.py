"""The backup agent in cloud-init: fits Nova's user-data limit, secrets only in 0600 files, a working bundle."""

from __future__ import annotations

import base64
import gzip
import io
import itertools
import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from hostkeys import identity
from logpath import log_for

from ccsec.backup import bundle
from ccsec.backup.config import parse
from ccsec.backup.pgbackrest import PgBackRestEngine
from ccsec.infra.backup_agent import DIFF_SCHEDULE_DROPIN, BackupAgentError, BackupTarget, agent_context
from ccsec.infra.config import ROLES
from ccsec.infra.stackfile import load_stack_config
from ccsec.infra.userdata import HostSecrets, TemplateValueError, nova_user_data, render_user_data

NOVA_USER_DATA_LIMIT = 65535  # bytes of base64-encoded user-data
DEVICE = "/dev/disk/by-id/virtio-0123456789abcdef0123"


def ca_pem() -> str:
    """A real CA certificate of the size the lab's Swift uses (RSA 2048)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ccsec local swift CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# Secret values as long as the real ones (Keystone application credential secrets are 86 characters).
PROD_ENV = {
    "OS_AUTH_URL": "https://keystone.internal:5000/v3",
    "OS_APPLICATION_CREDENTIAL_ID": "APPCREDID" + "a" * 23,
    "OS_APPLICATION_CREDENTIAL_SECRET": "APPCREDSECRET" + "b" * 73,
    "OS_REGION_NAME": "RegionOne",
    "RESTIC_PASSWORD": "RESTICPW" + "c" * 40,
    "PGBACKREST_CIPHER_PASS": "CIPHERPASS" + "d" * 38,
    "AWS_ACCESS_KEY_ID": "S3ACCESS" + "e" * 24,
    "AWS_SECRET_ACCESS_KEY": "S3SECRET" + "f" * 24,
}
LAB_ENV = {
    "ST_AUTH": "https://10.0.2.2:65000/auth/v1.0",
    "ST_USER": "test:tester",
    "ST_KEY": "TEMPAUTHKEY" + "g" * 21,
    "RESTIC_PASSWORD": "RESTICPW" + "h" * 40,
    "PGBACKREST_CIPHER_PASS": "CIPHERPASS" + "i" * 38,
    "AWS_ACCESS_KEY_ID": "test:tester",
    "AWS_SECRET_ACCESS_KEY": "TEMPAUTHKEY" + "g" * 21,
}
SECRET_NAMES = ("OS_APPLICATION_CREDENTIAL_SECRET", "RESTIC_PASSWORD", "PGBACKREST_CIPHER_PASS", "ST_KEY")
SECRET_NAMES += ("AWS_SECRET_ACCESS_KEY",)


def render(stack: str, role: str, env: dict[str, str], target: BackupTarget | None = None) -> str:
    cfg = load_stack_config(stack)
    device = DEVICE if role in ("db", "recordings", "loghost") else ""
    secrets = HostSecrets(
        luks_key="L" * 64 if role in ("db", "recordings", "loghost") else "",
        backup_env=env if role in ("db", "recordings") else {},
        totp={a.name: "ab" * 20 for a in cfg.admins if a.totp} if role == "bastion" else {},
    )
    return render_user_data(
        cfg, role, f"{stack}-{role}-1", identity(), secrets, device, target, log=log_for(cfg, role, f"{stack}-{role}-1")
    )


def decoded(entry: dict) -> str:
    """A write_files entry's content as written on the host."""
    if entry.get("encoding") == "gz+b64":
        return gzip.decompress(base64.b64decode(entry["content"])).decode(errors="replace")
    return entry["content"]


@pytest.mark.parametrize(
    ("stack", "env", "target"),
    [("prod", PROD_ENV, None), ("lab", LAB_ENV, BackupTarget("10.0.2.2", 65000, ca_pem()))],
)
@pytest.mark.parametrize("role", ROLES)
def test_user_data_fits_novas_limit(stack: str, env: dict, target: BackupTarget | None, role: str) -> None:
    text = render(stack, role, env, target)
    sent = nova_user_data(text)  # what the program hands Nova
    assert len(sent) <= NOVA_USER_DATA_LIMIT
    assert gzip.decompress(base64.b64decode(sent)).decode() == text


@pytest.mark.parametrize(("stack", "env"), [("prod", PROD_ENV), ("lab", LAB_ENV)])
@pytest.mark.parametrize("role", ["db", "recordings"])
def test_secrets_appear_only_in_root_only_files(stack: str, env: dict, role: str) -> None:
    target = BackupTarget("10.0.2.2", 65000, ca_pem()) if stack == "lab" else None
    document = yaml.safe_load(render(stack, role, env, target))
    secret_values = [env[k] for k in SECRET_NAMES if k in env]
    private, public = [], []
    for entry in document["write_files"]:
        (private if entry["permissions"] in ("0600", "0400") else public).append(entry)
    seen = "".join(decoded(e) for e in private if e["path"].startswith("/etc/ccsec/backup/secrets/"))
    for value in secret_values:
        assert value in seen
    rest = yaml.safe_dump({k: v for k, v in document.items() if k != "write_files"})
    rest += "".join(decoded(e) for e in public)
    for value in secret_values:
        assert value not in rest
    for entry in private:
        if entry["path"].startswith("/etc/ccsec/"):
            assert (entry["permissions"], entry["owner"]) == ("0600", "root:root")
    assert ["chmod", "0700", "/etc/ccsec/backup/secrets"] in document["runcmd"]


@pytest.mark.parametrize("role", ["db", "recordings"])
def test_rendered_agent_config_is_valid_and_names_the_secret_files(role: str) -> None:
    document = yaml.safe_load(render("lab", role, LAB_ENV, BackupTarget("10.0.2.2", 65000, ca_pem())))
    files = {e["path"]: e for e in document["write_files"]}
    cfg = parse(tomllib.loads(files["/etc/ccsec/backup/agent.toml"]["content"]))
    assert cfg.agent.host == f"lab-{role}-1" and cfg.swift is not None
    assert str(cfg.swift.ca_file) in files
    if role == "recordings":
        assert cfg.files is not None and cfg.postgres is None
        assert str(cfg.files.password_file) in files and str(cfg.swift.credentials_file) in files
        assert Path("/srv/recordings") in cfg.files.paths
        assert "/etc/ccsec/backup/secrets" in cfg.files.exclude
    else:
        assert cfg.postgres is not None and cfg.files is None
        assert str(cfg.postgres.s3_credentials_file) in files and str(cfg.postgres.cipher_pass_file) in files
        assert (cfg.postgres.s3_endpoint, cfg.postgres.s3_port) == ("10.0.2.2", 65000)
        # PostgreSQL archives WAL through the very pgBackRest config the agent writes
        conf = files["/etc/postgresql/15/main/conf.d/10-ccaas-baseline.conf"]["content"]
        engine = PgBackRestEngine(cfg.agent, cfg.postgres)
        assert f"archive_command = '{engine.archive_command()}'" in conf.splitlines()


@pytest.mark.parametrize(("role", "engine"), [("db", "postgres"), ("recordings", "files")])
def test_timers_are_enabled_last_and_a_first_run_starts(role: str, engine: str) -> None:
    document = yaml.safe_load(render("lab", role, LAB_ENV, BackupTarget("10.0.2.2", 65000)))
    runcmd = document["runcmd"]
    enable = next(
        i for i, c in enumerate(runcmd) if c[:3] == ["systemctl", "enable", "--now"] and any("@" in u for u in c)
    )
    assert {f"ccsec-backup-{k}@{engine}.timer" for k in ("diff", "full", "check")} <= set(runcmd[enable][3:])
    assert runcmd[enable + 1] == ["systemctl", "start", "--no-block", f"ccsec-backup-diff@{engine}.service"]
    # both roles keep their data on the LUKS volume: its setup (which restarts PostgreSQL on db) comes first
    assert max(i for i, c in enumerate(runcmd) if "/usr/local/sbin/ccaas-luks-setup" in c) < enable
    units = {e["path"]: decoded(e) for e in document["write_files"] if e["path"].startswith("/etc/systemd/system/")}
    repo_units = Path(__file__).resolve().parents[2] / "backup" / "systemd"
    units.pop(DIFF_SCHEDULE_DROPIN)
    for path, text in units.items():
        assert text == (repo_units / Path(path).name).read_text()


@pytest.mark.parametrize("minutes", [2, 5])
def test_the_differential_timer_follows_backup_diff_minutes(minutes: int) -> None:
    cfg = load_stack_config("lab")
    cfg = replace(cfg, backup=replace(cfg.backup, diff_minutes=minutes))
    secrets = HostSecrets(luks_key="L" * 64, backup_env=LAB_ENV)
    text = render_user_data(
        cfg,
        "recordings",
        "lab-recordings-1",
        identity(),
        secrets,
        DEVICE,
        BackupTarget("x"),
        log=log_for(cfg, "recordings", "lab-recordings-1"),
    )
    files = {e["path"]: e for e in yaml.safe_load(text)["write_files"]}
    calendars = re.findall(r"^OnCalendar=(.*)$", decoded(files[DIFF_SCHEDULE_DROPIN]), re.MULTILINE)
    assert calendars[0] == "", "the drop-in must reset the unit's own OnCalendar, not add a second schedule"
    # systemd itself says when the timer elapses next: consecutive runs are `minutes` apart
    shown = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=3", calendars[-1]], capture_output=True, text=True, check=True
    ).stdout
    elapses = re.findall(r"(?:Next elapse|Iter\. #\d+): (\w{3} [\d-]+ [\d:]+) \w+$", shown, re.MULTILINE)
    stamps = [datetime.strptime(m, "%a %Y-%m-%d %H:%M:%S") for m in elapses]
    assert len(stamps) == 3, shown
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(stamps)}
    assert gaps == {60.0 * minutes}, shown


def test_a_diff_interval_over_five_minutes_is_refused() -> None:
    with pytest.raises(BackupAgentError, match=r"backup\.diffMinutes"):
        agent_context("db", LAB_ENV, BackupTarget("x"), diff_minutes=15)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"RESTIC_PASSWORD": "two words"}, "backup_env.RESTIC_PASSWORD"),
        ({"RESTIC_PASSWORD": '"quoted'}, "backup_env.RESTIC_PASSWORD"),
        ({"EVIL_KEY": "x"}, "backup_env.EVIL_KEY"),
    ],
)
def test_unusable_backup_values_are_refused_without_echoing_them(env: dict, key: str) -> None:
    with pytest.raises(TemplateValueError, match=key) as caught:
        render("lab", "db", env, BackupTarget("10.0.2.2", 65000))
    assert next(iter(env.values())) not in str(caught.value)


def test_a_target_that_could_inject_is_refused() -> None:
    with pytest.raises(TemplateValueError, match="s3_endpoint"):
        render("lab", "db", LAB_ENV, BackupTarget("10.0.2.2\nrepo1-path=/x", 65000))
    with pytest.raises(TemplateValueError, match="ca_pem"):
        render("lab", "db", LAB_ENV, BackupTarget("10.0.2.2", 65000, "-----BEGIN CERTIFICATE-----\n$(id)\n"))


def test_bundle_is_deterministic_and_holds_only_the_runtime_modules() -> None:
    first = bundle.build(("files",))
    bundle.build.cache_clear()
    assert bundle.build(("files",)) == first
    assert bundle.gz_b64(first) == bundle.gz_b64(bundle.build(("files",)))
    names = zipfile.ZipFile(io.BytesIO(bundle.build(("files", "postgres")))).namelist()
    assert names == sorted(names) and "__main__.py" in names
    assert not {"backup/drill.py", "backup/swift_aio.py", "backup/bundle.py"} & set(names)
    assert "backup/pgbackrest.py" not in zipfile.ZipFile(io.BytesIO(first)).namelist()


@pytest.mark.parametrize("engines", [("files",), ("postgres",)])
def test_bundle_runs_as_a_zipapp(tmp_path: Path, engines: tuple[str, ...]) -> None:
    pyz = tmp_path / "ccsec-backup.pyz"
    pyz.write_bytes(bundle.build(engines))
    helped = subprocess.run([sys.executable, str(pyz), "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "run one backup" in helped.stdout
    engine = engines[0]
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nhost = "h"\nstate_dir = "{tmp_path}/s"\nmetrics_dir = "{tmp_path}/m"\n')
    status = subprocess.run(
        [sys.executable, str(pyz), "--config", str(config), "status", "--engine", engine],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (status.returncode, status.stdout.strip()) == (0, "null")
    # the engine module is importable from the bundle (the agent loads it lazily on first use)
    module = "backup.restic" if engine == "files" else "backup.pgbackrest"  # the package name inside the zipapp
    probe = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(pyz)!r}); import {module}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
