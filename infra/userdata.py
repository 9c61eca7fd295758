"""Render each host's cloud-init user-data from infra/templates with jinja2.

One renderer serves both consumers: the Pulumi program (Nova `user_data`) and the local lab
(NoCloud seed), so the lab boots exactly what a stack ships. Templates use StrictUndefined, so a
missing value is an error rather than an empty directive, and every value is validated first.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from ccsec.errors import CcsecError
from ccsec.infra import roles as role_model
from ccsec.infra import validate
from ccsec.infra.backup_agent import BackupAgentError, BackupTarget, agent_context
from ccsec.infra.config import ROLES, Admin, StackConfig
from ccsec.infra.host_firewall import ExtraEgress, firewall_context

TEMPLATES = Path(__file__).parent / "templates"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BASELINE_MARKER = "# ccaas-baseline host baseline v1"
DEVICE_RE = re.compile(r"^/dev/(disk/by-id/[A-Za-z0-9._-]{1,80}|vd[a-z])$")
PEM_RE = re.compile(r"^-----BEGIN [A-Z ]{1,40}-----\n[A-Za-z0-9+/=\n]+-----END [A-Z ]{1,40}-----$")
OPENSSH_PRIVATE_RE = re.compile(
    r"^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$"
)


class TemplateValueError(CcsecError, ValueError):
    """A value handed to a template failed validation; names the field, never echoes a secret."""


@dataclass(frozen=True)
class HostIdentity:
    """The per-host SSH host key, generated at provisioning time and pinned by clients."""

    private_openssh: str
    public_openssh: str


@dataclass(frozen=True)
class HostSecrets:
    """Secret values some roles need; the whole user-data becomes a secret when any is set."""

    luks_key: str = ""
    backup_env: dict[str, str] = field(default_factory=dict)
    totp: dict[str, str] = field(default_factory=dict)  # admin name -> hex TOTP seed (bastion only)
    app_tls_cert: str = ""  # TLS-06 (app): certificate from the backend CA the load balancer verifies
    app_tls_key: str = ""


LOG_NAME_DOMAIN = "logs.ccaas.internal"  # names in log certificates only: nothing resolves them
LOG_CA_PATH = "/etc/ssl/ccaas/log-ca.crt"
LOG_CERT_PATH = "/etc/ssl/ccaas/log.crt"
LOG_KEY_PATH = "/etc/ssl/ccaas/log.key"
LOG_LOOPBACK = "127.0.0.1"  # a log host files its own stream through its receiver, over the same TLS path


def log_tls_name(hostname: str, stack: str) -> str:
    """The DNS name a host's log certificate carries; the receiver admits ``*.<stack>.<domain>``."""
    return f"{hostname}.{stack}.{LOG_NAME_DOMAIN}"


@dataclass(frozen=True)
class LogTarget:
    """One log host as a sender sees it: where to connect, and the name its certificate must carry."""

    address: str
    name: str


@dataclass(frozen=True)
class LogPath:
    """HOST-15: the stack's log CA, this host's log certificate and key, and the log hosts to send to.

    ``targets`` is ignored on a log host: it sends its own stream to its receiver on 127.0.0.1.
    """

    ca_cert: str
    cert: str
    key: str
    targets: tuple[LogTarget, ...] = ()


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - output is YAML/config, not HTML; values are validated and quoted via tojson
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml_str"] = lambda value: json.dumps(str(value))
    return env


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return _environment()


def _check(path: str, message: str | None) -> None:
    if message:
        raise TemplateValueError(f"{path}: {message}")


def validate_identity(identity: HostIdentity) -> None:
    """Refuse keys that are not one OpenSSH ED25519 key; never print the private key."""
    if not OPENSSH_PRIVATE_RE.match(identity.private_openssh.replace("\r\n", "\n")):
        raise TemplateValueError("host_key.private_openssh: must be one OpenSSH private key block")
    public = identity.public_openssh.strip()
    _check("host_key.public_openssh", validate.ssh_public_key(public))
    if not public.startswith("ssh-ed25519 "):
        raise TemplateValueError("host_key.public_openssh: the baseline pins ED25519 host keys only")


def log_context(cfg: StackConfig, role: str, hostname: str, log: LogPath | None) -> dict[str, Any]:
    """The log path's template values, checked: certificates are PEM, targets an address and a name."""
    if log is None:
        raise TemplateValueError("log: every host forwards its logs; give the log CA, its certificate and targets")
    for name, pem in (("log.ca_cert", log.ca_cert), ("log.cert", log.cert), ("log.key", log.key)):
        if not PEM_RE.match(pem.strip()):
            raise TemplateValueError(f"{name}: must be one PEM block")
    own = log_tls_name(hostname, cfg.stack)
    if role == role_model.LOG_HOST_ROLE:
        targets = [LogTarget(LOG_LOOPBACK, own)]
    else:
        targets = list(log.targets)
        if not targets:
            raise TemplateValueError(f"log.targets: the {role} role sends its logs to at least one log host")
    for index, target in enumerate(targets):
        _check(f"log.targets[{index}].address", validate.host_or_ip(target.address))
        _check(f"log.targets[{index}].name", validate.host_or_ip(target.name))
    return {
        "ca": log.ca_cert.strip(),
        "cert": log.cert.strip(),
        "key": log.key.strip(),
        "targets": [{"address": t.address, "name": t.name} for t in targets],
        "permitted_senders": f"*.{cfg.stack}.{LOG_NAME_DOMAIN}",
        "ca_path": LOG_CA_PATH,
        "cert_path": LOG_CERT_PATH,
        "key_path": LOG_KEY_PATH,
    }


def build_context(
    cfg: StackConfig,
    role: str,
    hostname: str,
    identity: HostIdentity,
    secrets: HostSecrets | None = None,
    data_device: str = "",
    backup_target: BackupTarget | None = None,
    log: LogPath | None = None,
    extra_egress: tuple[ExtraEgress, ...] = (),
) -> dict[str, Any]:
    """Everything the templates may use, validated. Adding a template value means adding it here.

    ``backup_target`` defaults to the stack's Swift S3 endpoint (``backup.s3Endpoint``); the lab passes
    its local Swift. ``log`` is required: no host runs without its path to the log hosts.
    """
    if role not in ROLES:
        raise TemplateValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    spec = role_model.role(role)
    _check("hostname", validate.name(hostname))
    validate_identity(identity)
    for admin in cfg.admins:
        _check(f"admins.{admin.name}", validate.unix_user(admin.name) or validate.ssh_public_key(admin.ssh_public_key))
    secrets = secrets or HostSecrets()
    if data_device and not DEVICE_RE.match(data_device):
        raise TemplateValueError("data_device: must be a /dev/disk/by-id/ or /dev/vdX path")
    if spec.data_volume is not None and not data_device:
        raise TemplateValueError(f"data_device: the {role} role needs its encrypted data volume")
    if spec.data_volume is not None and not secrets.luks_key:
        raise TemplateValueError(f"luks_key: the {role} role's data volume needs its LUKS2 key")
    for name, seed in secrets.totp.items():
        if not re.fullmatch(r"[0-9a-f]{20,128}", seed) or validate.unix_user(name):
            raise TemplateValueError(f"totp.{name}: seeds are hex strings keyed by administrator name")
    for name, pem in (("app_tls_cert", secrets.app_tls_cert), ("app_tls_key", secrets.app_tls_key)):
        if pem and not PEM_RE.match(pem.strip()):
            raise TemplateValueError(f"{name}: must be one PEM block")
    if secrets.luks_key and not re.fullmatch(r"[A-Za-z0-9]{32,512}", secrets.luks_key):
        raise TemplateValueError("luks_key: must be 32–512 alphanumeric characters")
    for key, value in secrets.backup_env.items():
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", key) or "\n" in value or "\x00" in value:
            raise TemplateValueError(f"backup_env.{key}: names must be UPPER_SNAKE and values single-line")
    try:
        backup_agent = agent_context(
            role, secrets.backup_env, backup_target or BackupTarget(cfg.backup.s3_endpoint), cfg.backup.diff_minutes
        )
    except BackupAgentError as exc:
        raise TemplateValueError(str(exc)) from None
    zones = {name: str(net) for name, net in cfg.network.zones.items()}
    return {
        "marker": BASELINE_MARKER,
        "role": role,
        "zone": spec.zone,
        "features": list(host_features(spec)),
        "hostname": hostname,
        "stack": cfg.stack,
        "environment": cfg.environment,
        "owner": cfg.owner,
        "admins": [{"name": a.name, "key": a.ssh_public_key.strip(), "totp": a.totp} for a in cfg.admins],
        "host_key": {"private": identity.private_openssh.strip(), "public": identity.public_openssh.strip()},
        "zones": zones,
        "admin_cidrs": list(cfg.network.admin_cidrs),
        "services_cidr": cfg.network.services_cidr,
        "dns_nameservers": list(cfg.network.dns_nameservers),
        "log": log_context(cfg, role, hostname, log),
        "log_port": cfg.logging.port,
        "backup": {
            "diff_minutes": cfg.backup.diff_minutes,
            "full_days": cfg.backup.full_days,
            "container": cfg.storage.backup_container,
            "offsite_container": cfg.storage.offsite_container,
        },
        "backup_agent": backup_agent,
        "luks_key": secrets.luks_key,
        "app_tls": (
            {"cert": secrets.app_tls_cert.strip(), "key": secrets.app_tls_key.strip()}
            if "nginx" in spec.features and secrets.app_tls_cert and secrets.app_tls_key
            else {}
        ),
        "totp": dict(sorted(secrets.totp.items())) if "totp" in spec.features else {},
        "data_device": data_device,
        "data_volume": data_volume_context(spec),
        "ntp_servers": list(cfg.network.ntp_servers),
        "tls_hostname": cfg.tls.hostname,
        "tls_ciphers": cfg.tls.ciphers,
        "hsts_max_age": cfg.tls.hsts_max_age,
        "shell_timeout": SHELL_TIMEOUT_SECONDS,
        "disabled_modules": list(DISABLED_MODULES),
        "privileged_commands": list(PRIVILEGED_COMMANDS),
        "required_packages": sorted(set(REQUIRED_PACKAGES) | set(spec.packages)),
        "masked_services": sorted(unit for other in role_model.MODEL if other.name != role for unit in other.services),
        **firewall_context(cfg, role, extra_egress=extra_egress),
    }


BACKUP_AGENT_FEATURE = "backup-agent"
DATA_VOLUME_FEATURE = "luks"  # every role with a data volume: the LUKS2 setup script and its runcmd step
LOG_RECEIVER_FEATURE = "log-receiver"  # the log host: TLS receiver, append-only store, sealing timer


def host_features(spec: role_model.Role) -> tuple[str, ...]:
    """The role's feature switches for host files and runcmd: its own, the data volume's, the agent's."""
    return (
        *spec.features,
        *((DATA_VOLUME_FEATURE,) if spec.data_volume is not None else ()),
        *((BACKUP_AGENT_FEATURE,) if spec.backup_engines else ()),
    )


def data_volume_context(spec: role_model.Role) -> dict[str, Any]:
    """The data volume's facts as the setup script uses them, checked: they land in a shell script."""
    volume = spec.data_volume
    if volume is None:
        return {}
    safe = re.compile(r"[A-Za-z0-9@._-]{1,64}")
    if not (
        safe.fullmatch(volume.mapper)
        and re.fullmatch(r"(/[A-Za-z0-9._-]{1,64}){1,8}", volume.mount)
        and re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}:[a-z_][a-z0-9_-]{0,31}", volume.owner)
        and re.fullmatch(r"0[0-7]{3}", volume.mode)
        and all(safe.fullmatch(unit) and unit.endswith(".service") for unit in volume.units)
    ):
        raise TemplateValueError(f"data_volume: the {spec.name} role's model entry has an unsafe value")
    return {
        "mapper": volume.mapper,
        "mount": volume.mount,
        "owner": volume.owner,
        "mode": volume.mode,
        "units": list(volume.units),
    }


@dataclass(frozen=True)
class HostFile:
    """A file cloud-init writes, rendered from templates/files/<template>.

    ``feature`` "" = every host; otherwise only roles whose model entry has that feature.
    """

    path: str
    template: str
    mode: str = "0644"
    feature: str = ""
    owner: str = "root:root"


HOST_FILES: tuple[HostFile, ...] = (
    HostFile("/etc/ssh/sshd_config.d/10-ccaas-baseline.conf", "sshd_config.j2", "0600"),
    HostFile("/etc/ccaas/host.json", "host.json.j2"),
    HostFile("/etc/issue.net", "issue.j2"),
    HostFile("/etc/issue", "issue.j2"),
    HostFile("/etc/nftables.conf", "nftables.conf.j2", "0600"),
    HostFile("/etc/sysctl.d/60-ccaas-baseline.conf", "sysctl.conf.j2"),
    HostFile("/etc/modprobe.d/ccaas-baseline.conf", "modprobe.conf.j2"),
    HostFile("/etc/security/limits.d/10-ccaas-baseline.conf", "limits.conf.j2"),
    HostFile("/etc/systemd/coredump.conf.d/ccaas-baseline.conf", "coredump.conf.j2"),
    HostFile("/etc/profile.d/ccaas-baseline.sh", "profile.sh.j2"),
    HostFile("/etc/security/pwquality.conf.d/ccaas-baseline.conf", "pwquality.conf.j2"),
    HostFile("/etc/security/faillock.conf", "faillock.conf.j2"),
    HostFile("/etc/pam.d/common-auth", "common-auth.j2"),
    HostFile("/etc/pam.d/common-account", "common-account.j2"),
    HostFile("/etc/pam.d/common-password", "common-password.j2"),
    HostFile("/etc/sudoers.d/10-ccaas-baseline", "sudoers.j2", "0440"),
    HostFile("/etc/audit/rules.d/50-ccaas-baseline.rules", "audit.rules.j2", "0600"),
    HostFile("/etc/audit/auditd.conf", "auditd.conf.j2", "0640"),
    HostFile("/etc/audit/plugins.d/syslog.conf", "audit-syslog-plugin.conf.j2", "0640"),
    HostFile("/etc/aide/aide.conf.d/99_ccaas_baseline", "aide.conf.j2"),
    HostFile("/etc/cron.allow", "cron.allow.j2", "0640"),
    HostFile("/etc/apt/apt.conf.d/20auto-upgrades", "auto-upgrades.j2"),
    HostFile("/etc/chrony/chrony.conf", "chrony.conf.j2"),
    HostFile("/etc/systemd/journald.conf.d/ccaas-baseline.conf", "journald.conf.j2"),
    HostFile("/etc/rsyslog.d/50-ccaas-journal.conf", "rsyslog-journal.conf.j2"),
    HostFile("/etc/rsyslog.d/60-ccaas-forward.conf", "rsyslog-forward.conf.j2"),
    HostFile("/etc/ccaas/log-receiver.conf", "log-receiver.conf.j2", feature=LOG_RECEIVER_FEATURE),
    HostFile("/etc/systemd/system/ccaas-log-receiver.service", "log-receiver.service.j2", feature=LOG_RECEIVER_FEATURE),
    HostFile("/etc/systemd/system/ccaas-log-seal.service", "log-seal.service.j2", feature=LOG_RECEIVER_FEATURE),
    HostFile("/etc/systemd/system/ccaas-log-seal.timer", "log-seal.timer.j2", feature=LOG_RECEIVER_FEATURE),
    HostFile("/etc/pam.d/sshd", "pam-sshd.j2", feature="totp"),
    HostFile("/etc/users.oath", "users.oath.j2", "0600", feature="totp"),
    HostFile("/etc/nginx/sites-available/ccaas", "nginx-site.conf.j2", feature="nginx"),
    HostFile("/usr/local/sbin/ccaas-app-tls", "app-tls.sh.j2", "0700", feature="nginx"),
    HostFile("/etc/postgresql/15/main/conf.d/10-ccaas-baseline.conf", "postgresql.conf.j2", feature="postgres"),
    HostFile("/etc/postgresql/15/main/pg_hba.conf", "pg_hba.conf.j2", "0640", "postgres", "postgres:postgres"),
    HostFile("/usr/local/sbin/ccaas-pg-listen", "pg-listen.sh.j2", "0700", feature="postgres"),
    HostFile("/usr/local/sbin/ccaas-luks-setup", "luks-setup.sh.j2", "0700", feature=DATA_VOLUME_FEATURE),
    HostFile("/etc/ccsec/backup/agent.toml", "backup-agent.toml.j2", feature=BACKUP_AGENT_FEATURE),
)
# Packages the golden image must hold; runcmd checks them first so a wrong image fails loudly.
REQUIRED_PACKAGES = (
    "openssh-server",
    "nftables",
    "auditd",
    "aide",
    "aide-common",
    "chrony",
    "rsyslog",
    "rsyslog-gnutls",
    "rsyslog-relp",
    "libpam-pwquality",
    "libpam-oath",
    "unattended-upgrades",
    "sudo",
    "cryptsetup",
)
DISABLED_MODULES = (
    "cramfs",
    "freevxfs",
    "jffs2",
    "hfs",
    "hfsplus",
    "udf",
    "usb-storage",
    "firewire-core",
    "dccp",
    "sctp",
    "rds",
    "tipc",
    "bluetooth",
)
PRIVILEGED_COMMANDS = (
    "/usr/bin/sudo",
    "/usr/bin/su",
    "/usr/bin/passwd",
    "/usr/bin/chsh",
    "/usr/bin/chfn",
    "/usr/bin/newgrp",
    "/usr/bin/gpasswd",
    "/usr/bin/mount",
    "/usr/bin/umount",
    "/usr/bin/crontab",
    "/usr/bin/chage",
    "/usr/sbin/usermod",
    "/usr/sbin/useradd",
    "/usr/sbin/userdel",
    "/usr/sbin/visudo",
    # the image's other setuid/setgid programs (a host test finds every one on the booted host)
    "/usr/bin/dotlockfile",
    "/usr/bin/expiry",
    "/usr/bin/ssh-agent",
    "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
    "/usr/lib/openssh/ssh-keysign",
    "/usr/sbin/unix_chkpwd",
)
SHELL_TIMEOUT_SECONDS = 900


def render_host_files(context: dict[str, Any]) -> list[dict[str, str]]:
    """Each file for this role, rendered on its own so user-data can indent it as a YAML block."""
    features = context["features"]
    return [
        {
            "path": f.path,
            "mode": f.mode,
            "owner": f.owner,
            "content": _env().get_template(f"files/{f.template}").render(**context),
        }
        for f in HOST_FILES
        if not f.feature or f.feature in features
    ]


def render_user_data(
    cfg: StackConfig,
    role: str,
    hostname: str,
    identity: HostIdentity,
    secrets: HostSecrets | None = None,
    data_device: str = "",
    backup_target: BackupTarget | None = None,
    log: LogPath | None = None,
    extra_egress: tuple[ExtraEgress, ...] = (),
) -> str:
    """Render and self-check one host's cloud-config (valid YAML, marker first, a mapping)."""
    context = build_context(cfg, role, hostname, identity, secrets, data_device, backup_target, log, extra_egress)
    context["files"] = render_host_files(context)
    text = _env().get_template("user-data.yaml.j2").render(**context)
    parsed = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (libyaml's when present)
    if not text.startswith("#cloud-config\n") or not isinstance(parsed, dict):
        raise TemplateValueError(f"user-data for {hostname}: template did not produce a #cloud-config mapping")
    return with_digest(text, parsed)


def with_digest(text: str, parsed: dict[str, Any]) -> str:
    """Insert the integrity digest the instance-host-baseline policy recomputes, right after the marker line."""
    from ccsec.policies.rules.host_baseline import DIGEST_PREFIX, baseline_digest  # the pack owns the algorithm

    head, marker, rest = text.partition(BASELINE_MARKER + "\n")
    return f"{head}{marker}{DIGEST_PREFIX}{baseline_digest(parsed)}\n{rest}"


def delivery_bytes(text: str) -> bytes:
    """The bytes a host receives: the rendered cloud-config, gzip-compressed (no timestamp: deterministic).

    cloud-init decompresses gzip user-data itself (``convert_string``), in every datasource. Compression
    halves a db host's user-data (agent zipapp included), which Nova caps at 64 KiB after base64.
    """
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def nova_user_data(text: str) -> str:
    """``user_data`` for Nova: base64 of :func:`delivery_bytes` (the provider sends base64 as it is)."""
    return base64.b64encode(delivery_bytes(text)).decode("ascii")


def decode_user_data(value: str) -> str:
    """The cloud-config text inside Nova ``user_data`` (the inverse of :func:`nova_user_data`)."""
    return gzip.decompress(base64.b64decode(value, validate=True)).decode("utf-8")


def render_lab_user_data(
    stack: str,
    role: str,
    hostname: str,
    host_key_private_openssh: str,
    host_key_public_openssh: str,
    admin_user: str,
    admin_public_key: str,
    backup_env: dict[str, str] | None = None,
    backup_target: BackupTarget | None = None,
    totp_person: LabTotpPerson | None = None,
    log: LogPath | None = None,
    jump_ports: tuple[int, ...] = (),
) -> str:
    """User-data for a lab VM: the stack's own rendering, with the lab's generated admin key.

    ``jump_ports``: on the bastion, the other VMs' SSH forwards on the lab machine (10.0.2.2). In a
    stack the bastion reaches tcp 22 in the zones; in the lab each VM sits behind its own forward,
    so the bastion's output chain gets exactly those ports there, and nothing else differs.

    ``log``: the lab's log CA, this VM's certificate, and the lab's log host as the VM reaches it.

    ``totp_person``: on a role with the second factor (the bastion), a second administrator with TOTP on,
    as every person in a real stack has, so the lab can log in with key + code; the automation account
    (``admin_user``) has it off.

    db/recordings VMs back up to the lab's local Swift: ``backup_env`` holds its tempauth and S3
    credentials and random repository keys (instead of Keystone application credentials),
    ``backup_target`` its S3 endpoint and CA as seen from the VM (10.0.2.2, QEMU's path to the host).
    """
    from ccsec.infra.stackfile import load_stack_config  # local import: the program itself never reads files

    cfg = load_stack_config(stack)
    admins = [Admin(admin_user, admin_public_key.strip(), totp=False)]
    totp: dict[str, str] = {}
    if totp_person is not None:
        admins.append(Admin(totp_person.name, totp_person.public_key.strip(), totp=True))
        totp[totp_person.name] = totp_person.seed_hex
    cfg = replace(cfg, admins=tuple(admins))
    if backup_env and "ST_AUTH" in backup_env:  # the lab Swift's auth URL: its port is the backup roles' egress
        _check("backup_env.ST_AUTH", validate.https_url(backup_env["ST_AUTH"]))
        cfg = replace(cfg, backup=replace(cfg.backup, swift_auth_url=backup_env["ST_AUTH"]))
    extra = (ExtraEgress(LAB_GATEWAY, "tcp", jump_ports, LAB_JUMP_COMMENT),) if jump_ports else ()
    identity = HostIdentity(host_key_private_openssh, host_key_public_openssh)
    spec = role_model.role(role)
    luks_key = lab_luks_key() if spec.data_volume is not None else ""
    secrets = HostSecrets(luks_key=luks_key, backup_env=dict(backup_env or {}), totp=totp)
    device = LAB_DATA_DEVICE if spec.data_volume is not None else ""
    return render_user_data(cfg, role, hostname, identity, secrets, device, backup_target, log, extra)


LAB_GATEWAY = "10.0.2.2"  # QEMU user networking: the lab machine, as every VM sees it
LAB_JUMP_COMMENT = "lab: SSH to the other VMs' forwards"


@dataclass(frozen=True)
class LabTotpPerson:
    """A lab administrator who logs in with key + TOTP code (the seed is the lab's, per boot)."""

    name: str
    public_key: str
    seed_hex: str


LAB_DATA_SERIAL = "ccaas-data"
LAB_DATA_DEVICE = f"/dev/disk/by-id/virtio-{LAB_DATA_SERIAL}"


def lab_luks_key() -> str:
    """A fresh random LUKS key per lab boot (the program uses a Pulumi-generated secret instead)."""
    import secrets as random_source

    return random_source.token_hex(32)
