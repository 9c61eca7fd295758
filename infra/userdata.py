"""Render each host's cloud-init user-data from infra/templates with jinja2.

One renderer serves both consumers: the Pulumi program (Nova `user_data`) and the local lab
(NoCloud seed), so the lab boots exactly what a stack ships. Templates use StrictUndefined, so a
missing value is an error rather than an empty directive, and every value is validated first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from infra import validate
from infra.config import ROLE_ZONE, ROLES, Admin, StackConfig

TEMPLATES = Path(__file__).parent / "templates"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BASELINE_MARKER = "# ccaas-baseline host baseline v1"
OPENSSH_PRIVATE_RE = re.compile(
    r"^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$"
)


class TemplateValueError(ValueError):
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


def build_context(
    cfg: StackConfig, role: str, hostname: str, identity: HostIdentity, secrets: HostSecrets | None = None
) -> dict[str, Any]:
    """Everything the templates may use, validated. Adding a template value means adding it here."""
    if role not in ROLES:
        raise TemplateValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    _check("hostname", validate.name(hostname))
    validate_identity(identity)
    for admin in cfg.admins:
        _check(f"admins.{admin.name}", validate.unix_user(admin.name) or validate.ssh_public_key(admin.ssh_public_key))
    secrets = secrets or HostSecrets()
    for key, value in secrets.backup_env.items():
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", key) or "\n" in value or "\x00" in value:
            raise TemplateValueError(f"backup_env.{key}: names must be UPPER_SNAKE and values single-line")
    zones = {name: str(net) for name, net in cfg.network.zones.items()}
    return {
        "marker": BASELINE_MARKER,
        "role": role,
        "zone": ROLE_ZONE[role],
        "hostname": hostname,
        "stack": cfg.stack,
        "environment": cfg.environment,
        "owner": cfg.owner,
        "admins": [{"name": a.name, "key": a.ssh_public_key.strip()} for a in cfg.admins],
        "host_key": {"private": identity.private_openssh.strip(), "public": identity.public_openssh.strip()},
        "zones": zones,
        "admin_cidrs": list(cfg.network.admin_cidrs),
        "services_cidr": cfg.network.services_cidr,
        "dns_nameservers": list(cfg.network.dns_nameservers),
        "log_host": cfg.logging.host,
        "log_port": cfg.logging.port,
        "backup": {"diff_minutes": cfg.backup.diff_minutes, "full_days": cfg.backup.full_days},
        "luks_key": secrets.luks_key,
        "backup_env": dict(sorted(secrets.backup_env.items())),
    }


@dataclass(frozen=True)
class HostFile:
    """A file cloud-init writes, rendered from templates/files/<template>."""

    path: str
    template: str
    mode: str = "0644"
    roles: tuple[str, ...] = ROLES


HOST_FILES: tuple[HostFile, ...] = (
    HostFile("/etc/ssh/sshd_config.d/10-ccaas-baseline.conf", "sshd_config.j2", "0600"),
)


def render_host_files(context: dict[str, Any]) -> list[dict[str, str]]:
    """Each file for this role, rendered on its own so user-data can indent it as a YAML block."""
    role = context["role"]
    return [
        {"path": f.path, "mode": f.mode, "content": _env().get_template(f"files/{f.template}").render(**context)}
        for f in HOST_FILES
        if role in f.roles
    ]


def render_user_data(
    cfg: StackConfig, role: str, hostname: str, identity: HostIdentity, secrets: HostSecrets | None = None
) -> str:
    """Render and self-check one host's cloud-config (valid YAML, marker first, a mapping)."""
    context = build_context(cfg, role, hostname, identity, secrets)
    context["files"] = render_host_files(context)
    text = _env().get_template("user-data.yaml.j2").render(**context)
    parsed = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (libyaml's when present)
    if not text.startswith("#cloud-config\n") or not isinstance(parsed, dict):
        raise TemplateValueError(f"user-data for {hostname}: template did not produce a #cloud-config mapping")
    return text


def render_lab_user_data(
    stack: str,
    role: str,
    hostname: str,
    host_key_private_openssh: str,
    host_key_public_openssh: str,
    admin_user: str,
    admin_public_key: str,
) -> str:
    """User-data for a lab VM: the stack's own rendering, with the lab's generated admin key."""
    from infra.stackfile import load_stack_config  # local import: the program itself never reads files

    cfg = load_stack_config(stack)
    cfg = replace(cfg, admins=(Admin(admin_user, admin_public_key.strip()),))
    return render_user_data(cfg, role, hostname, HostIdentity(host_key_private_openssh, host_key_public_openssh))
