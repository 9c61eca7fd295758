"""Typed configuration of the backup agent, read from one TOML file and validated all at once.

The file holds no secrets: it names secret *files* (0600), which :mod:`backup.secrets` reads.
Example (what cloud-init renders on a host)::

    [agent]
    host = "rec-01"                                # restic --host, metric label
    state_dir = "/var/lib/ccsec-backup"
    metrics_dir = "/var/lib/prometheus/node-exporter"
    full_interval_days = 30
    keep_full_cycles = 2
    check_subset = "5%"
    timeout_seconds = 3600
    min_free_mib = 128                             # refuse to start below this much free in state_dir

    [swift]
    credentials_file = "/etc/ccsec/backup/swift.env"   # ST_AUTH/ST_USER/ST_KEY or OS_* lines
    ca_file = "/etc/ccsec/backup/swift-ca.pem"          # optional

    [files]
    repository = "swift:ccsec-files:/rec-01"
    password_file = "/etc/ccsec/backup/restic.pass"
    paths = ["/var/spool/recordings", "/etc/ccsec"]
    exclude = []
    offsite_repository = "swift:ccsec-files-offsite:/rec-01"   # optional
    offsite_password_file = "/etc/ccsec/backup/restic-offsite.pass"

    [postgres]
    stanza = "main"
    pg_path = "/var/lib/postgresql/15/main"
    pg_port = 5432
    pg_socket_path = "/var/run/postgresql"
    pg_user = "postgres"
    s3_endpoint = "swift.example.net"
    s3_port = 443
    s3_region = "us-east-1"
    bucket = "ccsec-pgbackrest"
    repo_path = "/db-01"
    s3_credentials_file = "/etc/ccsec/backup/s3.env"    # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    cipher_pass_file = "/etc/ccsec/backup/pgbackrest.pass"
    ca_file = "/etc/ccsec/backup/swift-ca.pem"          # optional
    verify_database = "postgres"   # tables checksummed after each backup for the drill ("" = none)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_RESTIC_REPO = re.compile(r"^(swift:[A-Za-z0-9._-]+:/[A-Za-z0-9._/-]*|/[A-Za-z0-9._/-]+|local:/[A-Za-z0-9._/-]+)$")
_SUBSET = re.compile(r"^(\d+(\.\d+)?%|\d+/\d+|\d+[kKmMgGtT]?)$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_OPTIONAL_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]{0,62})?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\"'`$\\*?\[\]]")


_REQUIRED: Any = object()


class ConfigError(ValueError):
    """The configuration is invalid; ``errors`` lists every problem (keys, never secret values)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid backup configuration:\n  - " + "\n  - ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class AgentConfig:
    """Settings shared by every engine."""

    host: str
    state_dir: Path
    metrics_dir: Path
    full_interval_days: int = 30
    keep_full_cycles: int = 2
    check_subset: str = "5%"
    timeout_seconds: int = 3600
    min_free_mib: int = 128


@dataclass(frozen=True)
class SwiftConfig:
    """Where the Swift credentials (an env-style file) and the CA are."""

    credentials_file: Path
    ca_file: Path | None = None


@dataclass(frozen=True)
class FilesConfig:
    """restic engine: repository, password file, what to back up, optional off-site copy."""

    repository: str
    password_file: Path
    paths: tuple[Path, ...]
    exclude: tuple[str, ...] = ()
    offsite_repository: str | None = None
    offsite_password_file: Path | None = None


@dataclass(frozen=True)
class PostgresConfig:
    """pgBackRest engine: the cluster and its S3 (Swift s3api) repository."""

    stanza: str
    pg_path: Path
    pg_port: int
    pg_socket_path: Path
    s3_endpoint: str
    s3_port: int
    bucket: str
    repo_path: str
    s3_credentials_file: Path
    cipher_pass_file: Path
    pg_user: str = "postgres"
    s3_region: str = "us-east-1"
    ca_file: Path | None = None
    verify_tls: bool = True
    process_max: int = 2
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    verify_database: str = "postgres"


@dataclass(frozen=True)
class BackupConfig:
    """The whole agent configuration."""

    agent: AgentConfig
    swift: SwiftConfig | None = None
    files: FilesConfig | None = None
    postgres: PostgresConfig | None = None
    source: Path | None = field(default=None, compare=False)


def load(path: Path) -> BackupConfig:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path} is not valid TOML: {exc}"]) from exc
    cfg = parse(raw)
    return BackupConfig(agent=cfg.agent, swift=cfg.swift, files=cfg.files, postgres=cfg.postgres, source=Path(path))


def parse(raw: dict[str, Any]) -> BackupConfig:
    """Validate a decoded TOML document; collect all errors before raising."""
    errors: list[str] = []
    r = _Reader(errors)
    unknown = set(raw) - {"agent", "swift", "files", "postgres"}
    errors.extend(f"unknown section [{name}]" for name in sorted(unknown))

    a = r.section(raw, "agent", required=True)
    agent = AgentConfig(
        host=r.text(a, "agent.host", _NAME),
        state_dir=r.path(a, "agent.state_dir"),
        metrics_dir=r.path(a, "agent.metrics_dir"),
        full_interval_days=r.integer(a, "agent.full_interval_days", 1, 3650, 30),
        keep_full_cycles=r.integer(a, "agent.keep_full_cycles", 2, 100, 2),
        check_subset=r.text(a, "agent.check_subset", _SUBSET, "5%"),
        timeout_seconds=r.integer(a, "agent.timeout_seconds", 10, 7 * 86400, 3600),
        min_free_mib=r.integer(a, "agent.min_free_mib", 0, 1 << 20, 128),
    )
    swift = files = postgres = None
    if "swift" in raw:
        s = r.section(raw, "swift")
        swift = SwiftConfig(
            credentials_file=r.path(s, "swift.credentials_file"),
            ca_file=r.path(s, "swift.ca_file", optional=True),
        )
    if "files" in raw:
        f = r.section(raw, "files")
        paths = r.list_of(f, "files.paths")
        files = FilesConfig(
            repository=r.text(f, "files.repository", _RESTIC_REPO),
            password_file=r.path(f, "files.password_file"),
            paths=tuple(_abs(p, "files.paths", errors) for p in paths),
            exclude=tuple(
                _safe(e, "files.exclude", errors, allow_glob=True) for e in r.list_of(f, "files.exclude", [])
            ),
            offsite_repository=r.text(f, "files.offsite_repository", _RESTIC_REPO, None),
            offsite_password_file=r.path(f, "files.offsite_password_file", optional=True),
        )
        if not paths:
            errors.append("files.paths: at least one path is required")
        if files.offsite_repository and not files.offsite_password_file:
            errors.append("files.offsite_password_file: required when files.offsite_repository is set")
        if files.repository.startswith("swift:") and swift is None:
            errors.append("[swift]: required for a swift: repository")
    if "postgres" in raw:
        p = r.section(raw, "postgres")
        postgres = PostgresConfig(
            stanza=r.text(p, "postgres.stanza", _NAME),
            pg_path=r.path(p, "postgres.pg_path"),
            pg_port=r.integer(p, "postgres.pg_port", 1, 65535),
            pg_socket_path=r.path(p, "postgres.pg_socket_path"),
            s3_endpoint=r.text(p, "postgres.s3_endpoint", _HOST),
            s3_port=r.integer(p, "postgres.s3_port", 1, 65535, 443),
            bucket=r.text(p, "postgres.bucket", _BUCKET),
            repo_path=r.text(p, "postgres.repo_path", re.compile(r"^/[A-Za-z0-9._/-]*$")),
            s3_credentials_file=r.path(p, "postgres.s3_credentials_file"),
            cipher_pass_file=r.path(p, "postgres.cipher_pass_file"),
            pg_user=r.text(p, "postgres.pg_user", _NAME, "postgres"),
            s3_region=r.text(p, "postgres.s3_region", _NAME, "us-east-1"),
            ca_file=r.path(p, "postgres.ca_file", optional=True),
            verify_tls=r.boolean(p, "postgres.verify_tls", True),
            process_max=r.integer(p, "postgres.process_max", 1, 64, 2),
            pg_bin=r.path(p, "postgres.pg_bin", default=Path("/usr/lib/postgresql/15/bin")),
            verify_database=r.text(p, "postgres.verify_database", _OPTIONAL_NAME, "postgres"),
        )
    if errors:
        raise ConfigError(errors)
    return BackupConfig(agent=agent, swift=swift, files=files, postgres=postgres)


class _Reader:
    """Field readers that record errors instead of raising, so all problems surface at once."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors

    def section(self, raw: dict[str, Any], name: str, required: bool = False) -> dict[str, Any]:
        value = raw.get(name)
        if value is None:
            if required:
                self.errors.append(f"[{name}]: section is required")
            return {}
        if not isinstance(value, dict):
            self.errors.append(f"[{name}]: must be a table")
            return {}
        return value

    def _get(self, sec: dict[str, Any], key: str, default: Any) -> Any:
        name = key.split(".", 1)[1]
        if name not in sec:
            if default is _REQUIRED:
                self.errors.append(f"{key}: required")
            return None if default is _REQUIRED else default
        return sec[name]

    def text(self, sec: dict[str, Any], key: str, pattern: re.Pattern[str], default: Any = _REQUIRED) -> Any:
        value = self._get(sec, key, default)
        if value is None:
            return "" if default is _REQUIRED else default
        if default is not _REQUIRED and value is default:
            return value
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.errors.append(f"{key}: invalid value (must match {pattern.pattern})")
            return ""
        return value

    def path(self, sec: dict[str, Any], key: str, optional: bool = False, default: Path | None = None) -> Any:
        value = self._get(sec, key, None if optional or default is not None else _REQUIRED)
        if value is None:
            return default
        if not isinstance(value, str):
            self.errors.append(f"{key}: must be a string path")
            return Path("/nonexistent")
        return _abs(value, key, self.errors)

    def integer(self, sec: dict[str, Any], key: str, lo: int, hi: int, default: int | None = None) -> int:
        value = self._get(sec, key, _REQUIRED if default is None else default)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.errors.append(f"{key}: must be an integer in [{lo}, {hi}]")
            return default or 0
        return value

    def boolean(self, sec: dict[str, Any], key: str, default: bool) -> bool:
        value = self._get(sec, key, default)
        if not isinstance(value, bool):
            self.errors.append(f"{key}: must be true or false")
            return default
        return value

    def list_of(self, sec: dict[str, Any], key: str, default: list[str] | None = None) -> list[str]:
        value = self._get(sec, key, _REQUIRED if default is None else default)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.errors.append(f"{key}: must be a list of strings")
            return []
        return value


def _abs(value: str, key: str, errors: list[str]) -> Path:
    if not value.startswith("/") or _BAD_CHARS.search(value) or "/../" in value + "/":
        errors.append(f"{key}: must be an absolute path without control, quote or glob characters")
        return Path("/nonexistent")
    return Path(value)


def _safe(value: str, key: str, errors: list[str], allow_glob: bool = False) -> str:
    bad = re.compile(r"[\x00-\x1f\x7f\"'`$\\]") if allow_glob else _BAD_CHARS
    if bad.search(value) or not value:
        errors.append(f"{key}: entries must be non-empty without control or quote characters")
    return value
