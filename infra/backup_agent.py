"""The backup agent on db and recordings hosts: the files cloud-init writes for it and the units it starts.

The agent (``backup/``) travels as a deterministic zipapp (:mod:`backup.bundle`), gzip+base64 in the
user-data, because Nova caps user-data at 64 KiB. Its configuration (no secrets) is rendered from the
stack; the secrets (Swift credentials, repository password, S3 key, pgBackRest cipher pass) come from
``HostSecrets.backup_env`` — Pulumi secrets — and are written only to 0600 root files in a 0700 dir.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccsec.backup import bundle
from ccsec.backup.secrets import ALLOWED_KEYS
from ccsec.errors import CcsecError
from ccsec.infra import roles as role_model

UNITS_DIR = Path(bundle.__file__).resolve().parent / "systemd"  # package data of ccsec.backup
CONFIG_PATH = "/etc/ccsec/backup/agent.toml"
DIFF_SCHEDULE_DROPIN = "/etc/systemd/system/ccsec-backup-diff@.timer.d/10-ccaas-schedule.conf"
SECRETS_DIR = "/etc/ccsec/backup/secrets"
CA_PATH = "/etc/ccsec/backup/swift-ca.pem"
STATE_DIR = "/var/lib/ccsec-backup"
METRICS_DIR = "/var/lib/prometheus/node-exporter"
RECORDINGS_DIR = "/srv/recordings"
STANZA = "main"
PG_CONFIG = f"{STATE_DIR}/pgbackrest/pgbackrest.conf"  # written by the agent (backup.pgbackrest)

SWIFT_KEYS = tuple(sorted(k for k in ALLOWED_KEYS if not k.startswith("AWS_")))
# secret file in SECRETS_DIR -> the backup_env keys it holds ("" = the file is the bare value)
SECRET_FILES: dict[str, tuple[str, ...]] = {
    "swift.env": SWIFT_KEYS,
    "restic.pass": ("RESTIC_PASSWORD",),
    "s3.env": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "pgbackrest.pass": ("PGBACKREST_CIPHER_PASS",),
}
BARE_VALUE_FILES = ("restic.pass", "pgbackrest.pass")
_PEM_RE = re.compile(r"^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?)+$")
_VALUE_RE = re.compile(r"^[\x21-\x7e]{1,512}$")  # printable, no spaces/quotes issues in an env-file line


class BackupAgentError(CcsecError, ValueError):
    """A backup value is unusable; names the key, never the value."""


@dataclass(frozen=True)
class BackupTarget:
    """Where the agent's repositories live (not secret): Swift's S3 endpoint and, optionally, its CA.

    restic reaches Swift through the credentials' auth URL (``OS_AUTH_URL`` / ``ST_AUTH``); pgBackRest
    through the S3 API at ``s3_endpoint:s3_port``. ``ca_pem`` is for a private CA (the lab's Swift).
    """

    s3_endpoint: str
    s3_port: int = 443
    ca_pem: str = ""


def _secret_files(backup_env: dict[str, str]) -> list[dict[str, str]]:
    owner = {key: name for name, keys in SECRET_FILES.items() for key in keys}
    grouped: dict[str, list[tuple[str, str]]] = {}
    for key, value in sorted(backup_env.items()):
        if key not in owner:
            raise BackupAgentError(f"backup_env.{key}: not a key the backup agent uses")
        if not _VALUE_RE.match(value) or value[0] in "\"'":
            raise BackupAgentError(f"backup_env.{key}: values must be 1-512 printable characters without spaces")
        grouped.setdefault(owner[key], []).append((key, value))
    files = []
    for name, pairs in sorted(grouped.items()):
        lines = [value for _, value in pairs] if name in BARE_VALUE_FILES else [f"{k}={v}" for k, v in pairs]
        files.append({"path": f"{SECRETS_DIR}/{name}", "content": "\n".join(lines) + "\n"})
    return files


def _unit(name: str) -> dict[str, str]:
    """One unit from backup/systemd, verbatim, gzip+base64 (it roughly halves; user-data is capped)."""
    return {"path": f"/etc/systemd/system/{name}", "gz_b64": bundle.gz_b64((UNITS_DIR / name).read_bytes())}


def _diff_schedule(diff_minutes: int) -> dict[str, str]:
    """A drop-in that sets the differential timer to the stack's ``backup.diffMinutes`` (the unit says 5)."""
    if not 1 <= diff_minutes <= 5:
        raise BackupAgentError(f"backup.diffMinutes: must be between 1 and 5, got {diff_minutes}")
    text = (
        "# ccaas-baseline BKP-01: backup.diffMinutes from the stack\n"
        f"[Timer]\nOnCalendar=\nOnCalendar=*:0/{diff_minutes}\n"
    )
    return {"path": DIFF_SCHEDULE_DROPIN, "gz_b64": bundle.gz_b64(text.encode())}


def _units(engines: tuple[str, ...], diff_minutes: int) -> tuple[list[dict[str, str]], list[str]]:
    """The unit files to install and the timers to enable for ``engines``."""
    names = ["ccsec-backup-diff@", "ccsec-backup-full@", "ccsec-backup-check@"]
    files = [_unit(f"{n}{suffix}") for n in names for suffix in (".service", ".timer")]
    files.append(_diff_schedule(diff_minutes))
    timers = [f"{n}{engine}.timer" for engine in engines for n in names]
    if "files" in engines:
        files += [_unit("ccsec-backup-offsite.service"), _unit("ccsec-backup-offsite.timer")]
        timers.append("ccsec-backup-offsite.timer")
    return files, timers


def agent_context(
    role: str, backup_env: dict[str, str], target: BackupTarget | None, diff_minutes: int = 5
) -> dict[str, Any] | None:
    """Template values for the agent on ``role`` (None for roles without one). Everything validated."""
    engines = role_model.role(role).backup_engines
    if not engines:
        return None
    if target is None:
        raise BackupAgentError(f"backup target: required for the {role} role")
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", target.s3_endpoint) or not 1 <= target.s3_port <= 65535:
        raise BackupAgentError("backup target: s3_endpoint must be a host name or IP address, s3_port 1-65535")
    if target.ca_pem and not _PEM_RE.match(target.ca_pem.strip() + "\n"):
        raise BackupAgentError("backup target: ca_pem must be PEM certificates only")
    units, timers = _units(engines, diff_minutes)
    return {
        "engines": list(engines),
        "first_runs": [f"ccsec-backup-diff@{engine}.service" for engine in engines],
        "timers": timers,
        "units": units,
        "secret_files": _secret_files(backup_env),
        "bundle_path": bundle.INSTALL_PATH,
        "bundle_gz_b64": bundle.gz_b64(bundle.build(engines)),
        "config_path": CONFIG_PATH,
        "secrets_dir": SECRETS_DIR,
        "ca_path": CA_PATH if target.ca_pem else "",
        "ca_pem": target.ca_pem.strip(),
        "state_dir": STATE_DIR,
        "metrics_dir": METRICS_DIR,
        "recordings_dir": RECORDINGS_DIR,
        "stanza": STANZA,
        "pg_config": PG_CONFIG,
        "s3_endpoint": target.s3_endpoint,
        "s3_port": target.s3_port,
    }
