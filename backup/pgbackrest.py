"""PostgreSQL engine: pgBackRest with WAL archiving to Swift through its S3 API (s3api middleware).

The repository is ``repo1-type=s3`` with path-style URIs against the Swift proxy, verified TLS
(``repo1-storage-ca-file``) and client-side encryption (``repo1-cipher-type=aes-256-cbc``).
Retention is pgBackRest's own: ``repo1-retention-full`` keeps the current and previous full
cycles (their differentials and the WAL they need).

``archive_command`` runs inside the PostgreSQL server, without the agent's environment, so the
S3 secret and the cipher pass must be in pgBackRest's config file: the agent renders it from
the secret files as ``<state_dir>/pgbackrest/pgbackrest.conf``, mode 0600, owned by the
PostgreSQL user. They are never put on argv (pgBackRest redacts them in its own logs too).
"""

from __future__ import annotations

import json
import os
import pwd
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import pgverify
from .config import AgentConfig, PostgresConfig
from .errors import BackupError, RepositoryPasswordError, StorageUnavailableError
from .manifest import Manifest
from .private_files import private_dir, write_private
from .probe import http_answers
from .proc import Result, as_user, last_error_line, run
from .secrets import base_env, read_env_file, read_secret

_STORAGE_DOWN = (
    "unable to connect",
    "HostConnectError",
    "[049]",
    "Connection refused",
    "SocketError",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "503",
    "TLS",
    "certificate",
)
_CIPHER = ("CryptoError", "cipher header invalid", "[095]")


class PgBackRestEngine:
    """pgBackRest operations for one stanza."""

    name = "postgres"

    def __init__(self, agent: AgentConfig, pg: PostgresConfig) -> None:
        self.agent = agent
        self.cfg = pg

    # ------------------------------------------------------------------ config
    @property
    def home(self) -> Path:
        """Directory with pgBackRest's config, logs, locks and spool."""
        return self.agent.state_dir / "pgbackrest"

    @property
    def config_path(self) -> Path:
        """The rendered pgBackRest config (0600, owned by the PostgreSQL user)."""
        return self.home / "pgbackrest.conf"

    def archive_command(self) -> str:
        """The ``archive_command`` for postgresql.conf (no secrets: they are in the 0600 config)."""
        return f"pgbackrest --config={self.config_path} --stanza={self.cfg.stanza} archive-push %p"

    def restore_command(self) -> str:
        """The ``restore_command`` a restored/standby cluster uses."""
        return f'pgbackrest --config={self.config_path} --stanza={self.cfg.stanza} archive-get %f "%p"'

    def _owner(self) -> tuple[int, int]:
        try:
            pw = pwd.getpwnam(self.cfg.pg_user)
        except KeyError as exc:
            raise BackupError(f"postgres.pg_user {self.cfg.pg_user!r} does not exist") from exc
        return pw.pw_uid, pw.pw_gid

    def render_config(self) -> str:
        """pgBackRest config text, secrets included (only ever written to the 0600 file)."""
        s3 = read_env_file(self.cfg.s3_credentials_file)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if key not in s3:
                raise BackupError(f"{self.cfg.s3_credentials_file}: {key} missing")
        cipher = read_secret(self.cfg.cipher_pass_file)
        lines = [
            "[global]",
            "repo1-type=s3",
            f"repo1-path={self.cfg.repo_path}",
            f"repo1-s3-bucket={self.cfg.bucket}",
            f"repo1-s3-endpoint={self.cfg.s3_endpoint}",
            f"repo1-storage-port={self.cfg.s3_port}",
            f"repo1-s3-region={self.cfg.s3_region}",
            "repo1-s3-uri-style=path",
            f"repo1-s3-key={s3['AWS_ACCESS_KEY_ID']}",
            f"repo1-s3-key-secret={s3['AWS_SECRET_ACCESS_KEY']}",
            "repo1-cipher-type=aes-256-cbc",
            f"repo1-cipher-pass={cipher}",
            f"repo1-retention-full={self.agent.keep_full_cycles}",
            "repo1-retention-full-type=count",
            f"process-max={self.cfg.process_max}",
            "start-fast=y",
            "io-timeout=30",
            "compress-type=lz4",
            f"log-path={self.home / 'log'}",
            f"lock-path={self.home / 'lock'}",
            f"spool-path={self.home / 'spool'}",
            "log-level-console=warn",
            "log-level-stderr=error",
            "log-level-file=info",
        ]
        if self.cfg.ca_file is not None:
            lines.append(f"repo1-storage-ca-file={self.cfg.ca_file}")
        if not self.cfg.verify_tls:
            lines.append("repo1-storage-verify-tls=n")
        lines += [
            "",
            f"[{self.cfg.stanza}]",
            f"pg1-path={self.cfg.pg_path}",
            f"pg1-port={self.cfg.pg_port}",
            f"pg1-socket-path={self.cfg.pg_socket_path}",
            "",
        ]
        for line in lines:
            if "\n" in line or "\r" in line:
                raise BackupError("a pgBackRest setting contains a newline; refusing to write the config")
        return "\n".join(lines)

    def write_config(self) -> Path:
        """Create pgBackRest's dirs and write its config (0600, owned by the PostgreSQL user). Idempotent."""
        owner = self._owner()
        self.agent.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.agent.state_dir, 0o755)  # noqa: S103 - postgres must traverse it to reach its config
        for sub in ("", "log", "lock", "spool"):  # postgres owns home: never chown/chmod through a path it controls
            private_dir(self.home / sub if sub else self.home, 0o700, owner)
        write_private(self.config_path, self.render_config(), 0o600, owner)
        return self.config_path

    # ------------------------------------------------------------------ plumbing
    def pgbackrest(self, args: list[str], timeout: float | None = None, check: bool = True) -> Result:
        """Run ``pgbackrest --config=... --stanza=... <args>`` as the PostgreSQL user."""
        argv = ["pgbackrest", f"--config={self.config_path}", f"--stanza={self.cfg.stanza}", *args]
        argv = as_user(argv, self.cfg.pg_user)
        env = base_env()
        env["HOME"] = pwd.getpwnam(self.cfg.pg_user).pw_dir
        res = run(argv, env, timeout or self.agent.timeout_seconds, cwd="/")
        if check and res.returncode != 0:
            raise self._error(args[0] if args[0] != "--output=json" else args[1], res)
        return res

    def _error(self, command: str, res: Result) -> BackupError:
        text = res.stderr + res.stdout
        line = last_error_line(text)
        undecryptable = "unable to load info file" in text and "FormatError" in text
        if undecryptable or any(marker in text for marker in _CIPHER):
            return RepositoryPasswordError(
                f"pgBackRest {command}: repository cipher pass rejected: the repository's info files do not "
                f"decrypt with the pass in {self.cfg.cipher_pass_file}"
            )
        if any(marker in text for marker in _STORAGE_DOWN):
            return StorageUnavailableError(
                f"pgBackRest {command}: Swift S3 endpoint {self.cfg.s3_endpoint}:{self.cfg.s3_port} unavailable: {line}"
            )
        return BackupError(f"pgBackRest {command} failed (exit {res.returncode}): {line}")

    # ------------------------------------------------------------------ operations
    def reachable(self) -> None:
        """Fail within seconds with :class:`StorageUnavailableError` when the S3 endpoint is down or hung.

        pgBackRest itself retries every storage request until ``io-timeout``, which makes an
        outage take minutes to surface; one bounded HTTP request tells "down" and "hung" apart.
        """
        http_answers(
            self.cfg.s3_endpoint,
            self.cfg.s3_port,
            tls=True,
            what="Swift S3 endpoint",
            ca_file=self.cfg.ca_file,
            verify_tls=self.cfg.verify_tls,
        )

    def prepare(self) -> None:
        """Render the config, check the endpoint answers, create the stanza (idempotent)."""
        self.write_config()
        self.reachable()
        self.pgbackrest(["stanza-create"])

    def check(self, subset: str | None = None) -> str:
        """``pgbackrest check``: repository reachable/decryptable and WAL archiving works."""
        del subset
        return self.pgbackrest(["check"]).stdout

    def info(self) -> dict[str, Any]:
        """``pgbackrest info --output=json`` for this stanza."""
        res = self.pgbackrest(["--output=json", "info"])
        data = json.loads(res.stdout or "[]")
        stanza = next((s for s in data if s.get("name") == self.cfg.stanza), None)
        if stanza is None:
            raise BackupError(f"pgBackRest info lists no stanza {self.cfg.stanza!r}")
        status = stanza.get("status", {})
        if status.get("code") not in (0, 2):  # 2 = no valid backups yet
            raise BackupError(f"pgBackRest stanza {self.cfg.stanza}: {status.get('message', 'unknown status')}")
        return stanza

    def backups(self) -> list[dict[str, Any]]:
        """Backups in the repository, oldest first."""
        return list(self.info().get("backup", []))

    def last_full_time(self) -> datetime | None:
        """Stop time of the newest full backup."""
        fulls = [b for b in self.backups() if b.get("type") == "full"]
        if not fulls:
            return None
        return datetime.fromtimestamp(fulls[-1]["timestamp"]["stop"], UTC)

    def backup(self, kind: str, manifest: Manifest) -> None:
        """``pgbackrest backup --type=full|diff`` and fill ``manifest`` from ``info``."""
        before = {b["label"] for b in self.backups()}
        self.pgbackrest(["backup", f"--type={kind}"])
        new = [b for b in self.backups() if b["label"] not in before]
        if not new:
            raise BackupError("pgBackRest backup reported success but no new backup is listed")
        b = new[-1]
        if b.get("type") != kind:
            raise BackupError(f"pgBackRest made a {b.get('type')} backup where {kind} was asked")
        info = b.get("info", {})
        manifest.snapshot_id = b["label"]
        manifest.parent_id = b.get("prior")
        manifest.bytes_added = int(info.get("repository", {}).get("delta", 0))
        manifest.bytes_total = int(info.get("size", 0))
        manifest.extra.update(
            {
                "stanza": self.cfg.stanza,
                "wal_start": b.get("archive", {}).get("start"),
                "wal_stop": b.get("archive", {}).get("stop"),
                "backup_start": b["timestamp"]["start"],
                "backup_stop": b["timestamp"]["stop"],
                "reference": b.get("reference"),
                "repository": f"s3://{self.cfg.bucket}{self.cfg.repo_path}",
                "cipher": self.info().get("cipher"),
            }
        )
        self.record_reference(b["label"], manifest)

    def psql(self) -> pgverify.Psql:
        """psql against the backed-up cluster (its socket dir and port)."""
        return pgverify.Psql(self.cfg.pg_bin, self.cfg.pg_socket_path, self.cfg.pg_port, self.cfg.pg_user)

    def record_reference(self, label: str, manifest: Manifest) -> None:
        """Take the per-table reference right after backup ``label`` and store it IN the repository.

        It goes into backup.info (encrypted) as the pgBackRest annotation ``ccsec-reference`` of
        ``label``, so a drill on a new machine finds it with ``info``; the local manifest keeps a
        copy under ``extra["verify_reference"]``. A reference that cannot be taken (lock timeout,
        archiving stuck) does not fail the backup: it is recorded as ``verify_reference_error``
        and the drill falls back to the newest backup that has one.
        """
        if not self.cfg.verify_database:
            return
        try:
            ref = pgverify.take_reference(self.psql(), self.cfg.verify_database)
            self.pgbackrest(
                ["annotate", f"--set={label}", f"--annotation={pgverify.ANNOTATION_KEY}={pgverify.encode(ref)}"]
            )
        except BackupError as exc:
            manifest.extra["verify_reference_error"] = str(exc)
            return
        manifest.extra["verify_reference"] = ref

    def references(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """``(backup, reference)`` for every backup carrying a ccsec reference annotation, oldest first."""
        out = []
        for b in self.backups():
            raw = (b.get("annotation") or {}).get(pgverify.ANNOTATION_KEY)
            if not raw:
                continue
            try:
                ref = json.loads(raw)
            except ValueError:
                continue
            if isinstance(ref, dict) and ref.get("schema") == pgverify.REFERENCE_SCHEMA:
                out.append((b, ref))
        return out

    def apply_retention(self, keep_full_cycles: int | None = None) -> list[str]:
        """``pgbackrest expire`` (retention is configured as repo1-retention-full)."""
        del keep_full_cycles
        before = {b["label"] for b in self.backups()}
        self.pgbackrest(["expire"])
        return sorted(before - {b["label"] for b in self.backups()})

    def restore(self, target: Path, set_label: str | None = None, target_time: str | None = None) -> None:
        """Restore into the empty directory ``target`` (a fresh data dir) with archiving off.

        Default: the consistent end of ``set_label`` (or the latest backup). With ``target_time``:
        point-in-time recovery through the archived WAL, then promote.
        """
        owner = self._owner()
        target.mkdir(parents=True, exist_ok=True)
        if any(target.iterdir()):
            raise BackupError(f"restore target {target} is not empty")
        private_dir(target, 0o700, owner)
        args = ["restore", f"--pg1-path={target}", "--archive-mode=off", "--target-action=promote"]
        if set_label:
            args.append(f"--set={set_label}")
        if target_time:
            args += ["--type=time", f"--target={target_time}"]
        else:
            args.append("--type=immediate")
        self.pgbackrest(args)
