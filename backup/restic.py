"""Files engine: restic to OpenStack Swift (restic's native ``swift:`` backend).

- full  = ``restic backup --force --tag full``  (re-reads every file)
- diff  = ``restic backup --tag diff --parent <latest full>`` (change detection against the full,
  so every differential holds everything changed since that full; restic snapshots are
  complete trees, a differential restores on its own)
- retention keeps the newest ``keep_full_cycles`` fulls and every snapshot taken after the
  oldest kept full (the current and previous cycles), then prunes
- ``check --read-data-subset`` verifies a random share of the stored data
- off-site: ``restic copy`` into a second repository (another container)

Credentials come from the Swift env-file (ST_* or OS_* variables) and the repository password
through ``RESTIC_PASSWORD_FILE``; neither ever appears on argv or in messages.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import AgentConfig, FilesConfig, SwiftConfig
from .errors import BackupError, RepositoryPasswordError, StorageUnavailableError
from .manifest import HashCache, Manifest
from .probe import url_answers
from .proc import Result, last_error_line, run
from .secrets import base_env, read_env_file, read_secret

_SECRET_KEYS = ("ST_KEY", "OS_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_AUTH_TOKEN", "AWS_SECRET_ACCESS_KEY")
_NO_REPO = ("Is there a repository at the following location?", "unable to open config file")
_STORAGE_DOWN = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "Authorization Failure",
    "x509:",
    "tls:",
    "connect: ",
    "503 Service Unavailable",
)


MANIFEST_TAG = "ccsec-manifest"
MANIFEST_FILENAME = "ccsec-manifest.json"
_FOR_PREFIX = "for-"
REPO_MANIFEST_SCHEMA = "ccsec-repo-manifest/1"


class NoRepositoryError(BackupError):
    """The repository does not exist (yet)."""


@dataclass(frozen=True)
class Snapshot:
    """One restic snapshot (only the fields the agent needs)."""

    id: str
    short_id: str
    time: datetime
    tags: tuple[str, ...]
    paths: tuple[str, ...]
    hostname: str
    parent: str | None

    @property
    def kind(self) -> str:
        """``full``, ``diff``, ``manifest`` (the repository copy of a run's manifest) or ``other`` (from the tags)."""
        if MANIFEST_TAG in self.tags:
            return "manifest"
        return "full" if "full" in self.tags else "diff" if "diff" in self.tags else "other"

    @property
    def manifest_for(self) -> str | None:
        """For a manifest snapshot: the id of the data snapshot it describes."""
        for tag in self.tags:
            if tag.startswith(_FOR_PREFIX):
                return tag[len(_FOR_PREFIX) :]
        return None


def parse_time(value: str) -> datetime:
    """Parse restic's RFC 3339 timestamps (nanoseconds, ``Z`` or offset) to an aware datetime."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not match:
        raise BackupError(f"unexpected restic timestamp {value!r}")
    frac = (match.group(2) or ".0")[:7]
    tz = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(f"{match.group(1)}{frac}{tz}").astimezone(UTC)


def _time_ns(value: str) -> int:
    """Nanoseconds since the epoch of a restic timestamp (exact, for mtime comparison)."""
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", value)
    if not match:
        return -1
    tz = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = datetime.fromisoformat(match.group(1) + tz)
    return int(whole.timestamp()) * 10**9 + int((match.group(2) or "0").ljust(9, "0")[:9])


class ResticEngine:
    """restic operations for one repository (plus an optional off-site copy)."""

    name = "files"

    def __init__(self, agent: AgentConfig, files: FilesConfig, swift: SwiftConfig | None) -> None:
        self.agent = agent
        self.cfg = files
        self.swift = swift

    # ------------------------------------------------------------------ plumbing
    def _env(self, password_file: Path) -> tuple[dict[str, str], list[str]]:
        read_secret(password_file)  # validates perms/content; restic reads the file itself
        env = base_env()
        secrets: list[str] = []
        if self.swift is not None:
            creds = read_env_file(self.swift.credentials_file)
            env.update(creds)
            secrets += [creds[k] for k in _SECRET_KEYS if k in creds]
        env["RESTIC_PASSWORD_FILE"] = str(password_file)
        env["RESTIC_CACHE_DIR"] = str(self.agent.state_dir / "cache" / "restic")
        env["RESTIC_PROGRESS_FPS"] = "0.016"
        return env, secrets

    def _global(self, repository: str) -> list[str]:
        argv = ["restic", "--repo", repository]
        if self.swift is not None and self.swift.ca_file is not None:
            argv += ["--cacert", str(self.swift.ca_file)]
        return argv

    def restic(
        self,
        args: list[str],
        *,
        repository: str | None = None,
        password_file: Path | None = None,
        extra_env: dict[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        """Run ``restic <args>`` against the primary (or given) repository; map failures to clear errors."""
        repo = repository or self.cfg.repository
        env, secrets = self._env(password_file or self.cfg.password_file)
        env.update(extra_env or {})
        res = run(self._global(repo) + args, env, timeout or self.agent.timeout_seconds, secrets)
        if res.returncode != 0 and "repository is already locked" in res.stderr and args[0] != "unlock":
            # A run killed mid-way leaves its lock behind. `restic unlock` removes only stale locks
            # (dead process on this host, or older than 30 min); a live holder still blocks the retry.
            run([*self._global(repo), "unlock"], env, timeout or self.agent.timeout_seconds, secrets)
            res = run(self._global(repo) + args, env, timeout or self.agent.timeout_seconds, secrets)
        if check and res.returncode != 0:
            raise self._error(args[0], repo, password_file or self.cfg.password_file, res)
        return res

    def _error(self, command: str, repo: str, password_file: Path, res: Result) -> BackupError:
        text = res.stderr
        line = last_error_line(text)
        if "wrong password or no key found" in text:
            return RepositoryPasswordError(
                f"restic repository {repo}: wrong password (the key in {password_file} opens no key of the repository)"
            )
        if any(marker in text for marker in _STORAGE_DOWN):
            return StorageUnavailableError(f"restic {command}: Swift storage for {repo} unavailable: {line}")
        if any(marker in text for marker in _NO_REPO):
            return NoRepositoryError(f"restic {command}: no repository at {repo}")
        if command == "backup" and res.returncode == 3:
            return BackupError(f"restic backup: snapshot incomplete, some source files could not be read: {line}")
        return BackupError(f"restic {command} failed (exit {res.returncode}) for {repo}: {line}")

    # ------------------------------------------------------------------ repository
    def prepare(self) -> None:
        """Open the repository (initialising it when it does not exist yet) and cache its snapshot list.

        One restic call in the common case: every call re-derives the key (scrypt), so the
        agent keeps them to a minimum (list, backup, ls for a differential).
        """
        self._snapshots: list[Snapshot] | None = None
        self.storage_answers()
        try:
            self._snapshots = self.snapshots()
        except BackupError as exc:
            if not isinstance(exc, NoRepositoryError):
                raise
            self._ensure_repo(self.cfg.repository, self.cfg.password_file)
            self._snapshots = []

    def storage_answers(self) -> None:
        """Fail within seconds when Swift's auth endpoint is down or hung (restic itself would wait)."""
        if self.swift is None or not self.cfg.repository.startswith("swift:"):
            return
        creds = read_env_file(self.swift.credentials_file)
        url = creds.get("OS_AUTH_URL") or creds.get("ST_AUTH")
        if url:
            url_answers(url, what="Swift auth endpoint", ca_file=self.swift.ca_file)

    def _ensure_repo(
        self,
        repo: str,
        password_file: Path,
        init_args: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        res = self.restic(["cat", "config"], repository=repo, password_file=password_file, check=False)
        if res.returncode == 0:
            return
        if any(marker in res.stderr for marker in _NO_REPO):
            self.restic(["init", *(init_args or [])], repository=repo, password_file=password_file, extra_env=extra_env)
            return
        raise self._error("open", repo, password_file, res)

    def snapshots(
        self, repository: str | None = None, password_file: Path | None = None, manifests: bool = False
    ) -> list[Snapshot]:
        """Snapshots of this host, oldest first; the manifest snapshots only when ``manifests``."""
        res = self.restic(
            ["snapshots", "--json", "--host", self.agent.host], repository=repository, password_file=password_file
        )
        items = json.loads(res.stdout or "[]") or []
        snaps = [
            Snapshot(
                id=s["id"],
                short_id=s.get("short_id", s["id"][:8]),
                time=parse_time(s["time"]),
                tags=tuple(s.get("tags") or ()),
                paths=tuple(s.get("paths") or ()),
                hostname=s.get("hostname", ""),
                parent=s.get("parent"),
            )
            for s in items
        ]
        return sorted((s for s in snaps if manifests or s.kind != "manifest"), key=lambda s: s.time)

    def latest_full(self) -> Snapshot | None:
        """The newest snapshot tagged ``full`` (from the list cached by :meth:`prepare` when present)."""
        cached = getattr(self, "_snapshots", None)
        fulls = [s for s in (cached if cached is not None else self.snapshots()) if s.kind == "full"]
        return fulls[-1] if fulls else None

    def last_full_time(self) -> datetime | None:
        """Time of the newest full, None when there is none."""
        full = self.latest_full()
        return full.time if full else None

    # ------------------------------------------------------------------ backup
    def backup(self, kind: str, manifest: Manifest) -> None:
        """Run a ``full`` or ``diff`` backup and fill ``manifest`` (ids, bytes, per-file sha256)."""
        argv = ["backup", "--json", "--host", self.agent.host, "--tag", kind]
        if kind == "full":
            argv.append("--force")
        else:
            full = self.latest_full()
            if full is None:
                raise BackupError("differential requested but the repository holds no full snapshot")
            argv += ["--parent", full.id]
            manifest.parent_id = full.id
        for pattern in self.cfg.exclude:
            argv += ["--exclude", pattern]
        argv += [str(p) for p in self.cfg.paths]
        res = self.restic(argv)
        summary = _summary(res.stdout)
        short = summary.get("snapshot_id")
        if not short:
            raise BackupError("restic backup finished without reporting a snapshot id")
        snapshot_id, manifest.files = self.file_hashes(short)
        if not snapshot_id.startswith(short):
            raise BackupError(f"restic reported snapshot {short} but lists {snapshot_id}")
        manifest.snapshot_id = snapshot_id
        self.store_manifest(snapshot_id, kind, manifest.files)
        manifest.bytes_added = int(summary.get("data_added", 0))
        manifest.bytes_total = int(summary.get("total_bytes_processed", 0))
        manifest.extra.update(
            {
                "files_new": summary.get("files_new", 0),
                "files_changed": summary.get("files_changed", 0),
                "files_unmodified": summary.get("files_unmodified", 0),
                "restic_duration_seconds": summary.get("total_duration", 0.0),
                "repository": self.cfg.repository,
                "paths": [str(p) for p in self.cfg.paths],
            }
        )
        self._snapshots = None

    def file_hashes(self, snapshot_id: str) -> tuple[str, dict[str, dict[str, Any]]]:
        """The snapshot's full id and ``{path: {size, sha256}}`` for every file in it.

        The live file is hashed (through a cache) when its size and mtime equal the snapshot's;
        a file modified while the backup ran gets ``sha256: null`` and ``changed_during_backup``.
        """
        res = self.restic(["ls", "--json", snapshot_id])
        full_id = ""
        cache = HashCache(self.agent.state_dir / "cache" / "sha256-files.json")
        files: dict[str, dict[str, Any]] = {}
        for line in res.stdout.splitlines():
            node = json.loads(line)
            if node.get("struct_type") == "snapshot":
                full_id = node.get("id", "")
                continue
            if node.get("struct_type") != "node" or node.get("type") != "file":
                continue
            path = Path(node["path"])
            entry: dict[str, Any] = {"size": node.get("size", 0), "sha256": None}
            try:
                st = os.stat(path)
                if st.st_size == entry["size"] and st.st_mtime_ns == _time_ns(node.get("mtime", "")):
                    entry["sha256"] = cache.sha256(path, st)
                else:
                    entry["changed_during_backup"] = True
            except OSError:
                entry["changed_during_backup"] = True
            files[str(path)] = entry
        cache.save()
        return full_id, files

    def store_manifest(self, snapshot_id: str, kind: str, files: dict[str, dict[str, Any]]) -> None:
        """Store the per-file sha256 manifest of ``snapshot_id`` IN the repository.

        It becomes a small snapshot of its own (``backup --stdin``, tags ``ccsec-manifest`` and
        ``for-<snapshot id>``): encrypted and authenticated with the repository key, copied
        off-site with the data, forgotten by retention with its cycle, and readable by a drill on
        a new machine that has nothing but the agent config and its secrets.
        """
        doc = {"schema": REPO_MANIFEST_SCHEMA, "host": self.agent.host, "snapshot_id": snapshot_id, "type": kind}
        doc["files"] = files
        argv = ["backup", "--json", "--host", self.agent.host, "--stdin", "--stdin-filename", MANIFEST_FILENAME]
        argv += ["--tag", MANIFEST_TAG, "--tag", f"{_FOR_PREFIX}{snapshot_id}"]
        env, secrets = self._env(self.cfg.password_file)
        res = run(
            self._global(self.cfg.repository) + argv,
            env,
            self.agent.timeout_seconds,
            secrets,
            input_text=json.dumps(doc),
        )
        if res.returncode != 0:
            raise self._error("backup --stdin (manifest)", self.cfg.repository, self.cfg.password_file, res)

    def load_manifest(self, manifest_snapshot: Snapshot) -> dict[str, Any]:
        """Read a manifest stored by :meth:`store_manifest` back from the repository."""
        res = self.restic(["dump", manifest_snapshot.id, f"/{MANIFEST_FILENAME}"])
        try:
            doc = json.loads(res.stdout)
        except ValueError as exc:
            raise BackupError(f"manifest snapshot {manifest_snapshot.short_id} does not hold valid JSON") from exc
        if not isinstance(doc, dict) or doc.get("schema") != REPO_MANIFEST_SCHEMA:
            raise BackupError(f"manifest snapshot {manifest_snapshot.short_id} has an unknown schema")
        return doc

    # ------------------------------------------------------------------ maintenance
    def apply_retention(self, keep_full_cycles: int | None = None) -> list[str]:
        """Forget every snapshot older than the oldest kept full, then prune. Returns forgotten ids."""
        keep = keep_full_cycles or self.agent.keep_full_cycles
        snaps = self.snapshots(manifests=True)
        fulls = [s for s in snaps if s.kind == "full"]
        if len(fulls) <= keep:
            return []
        cutoff = fulls[-keep].time
        doomed = [s.id for s in snaps if s.time < cutoff and s.kind in ("full", "diff", "manifest")]
        if doomed:
            self.restic(["forget", "--prune", *doomed])
        return doomed

    def check(self, subset: str | None = None) -> str:
        """``restic check --read-data-subset``; raise :class:`BackupError` when the repository is damaged."""
        args = ["check", f"--read-data-subset={subset or self.agent.check_subset}"]
        res = self.restic(args, check=False)
        if res.returncode != 0:
            if "wrong password" in res.stderr:
                raise self._error("check", self.cfg.repository, self.cfg.password_file, res)
            detail = "; ".join(ln.strip() for ln in res.stderr.splitlines() if ln.strip())[-600:]
            raise BackupError(f"restic check found problems in {self.cfg.repository}: {detail}")
        return res.stdout

    def copy_offsite(self) -> list[str]:
        """Copy snapshots not yet off-site into the off-site repository; return the off-site snapshot ids."""
        if not self.cfg.offsite_repository or not self.cfg.offsite_password_file:
            raise BackupError("no off-site repository configured (files.offsite_repository)")
        src_env = {
            "RESTIC_FROM_REPOSITORY": self.cfg.repository,
            "RESTIC_FROM_PASSWORD_FILE": str(self.cfg.password_file),
        }
        self._ensure_repo(
            self.cfg.offsite_repository, self.cfg.offsite_password_file, ["--copy-chunker-params"], src_env
        )
        self.restic(
            ["copy", "--host", self.agent.host],
            repository=self.cfg.offsite_repository,
            password_file=self.cfg.offsite_password_file,
            extra_env=src_env,
        )
        return [s.id for s in self.snapshots(self.cfg.offsite_repository, self.cfg.offsite_password_file)]

    def restore(
        self, snapshot_id: str, target: Path, repository: str | None = None, password_file: Path | None = None
    ) -> None:
        """Restore ``snapshot_id`` (or ``latest``) below ``target`` (original absolute paths kept)."""
        args = ["restore", snapshot_id, "--target", str(target)]
        if snapshot_id == "latest":
            args += ["--host", self.agent.host, "--tag", "full", "--tag", "diff"]
        self.restic(args, repository=repository, password_file=password_file)


def _summary(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg, dict) and msg.get("message_type") == "summary":
            return msg
    return {}
