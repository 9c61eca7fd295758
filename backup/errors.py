"""Exceptions of the backup agent. Messages are meant for operators: one clear line, no secrets."""

from __future__ import annotations


class BackupError(RuntimeError):
    """A backup, check, copy or restore step failed; ``str()`` is the operator-facing reason."""


class RepositoryPasswordError(BackupError):
    """The repository rejected the configured password/key."""


class StorageUnavailableError(BackupError):
    """Swift (or its S3 API) could not be reached or rejected the credentials."""


class RunInProgressError(BackupError):
    """Another run of the same engine holds the lock; this run did nothing."""
