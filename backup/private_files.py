"""The one writer for files that hold secrets (keys, passwords, credentials, configs naming them).

It lives in ``backup/`` because the on-host agent (a standalone zipapp) needs it and may import nothing
outside its package; ``ccsec`` and ``ccsec.lab`` import it from ``ccsec.backup.private_files``.

:func:`write_private` never follows a symlink and never changes a file by path:

- the parent directory is opened with ``O_DIRECTORY|O_NOFOLLOW`` (a symlinked parent is refused) and every
  later step works relative to that descriptor, so swapping the directory mid-write changes nothing;
- the data goes to a fresh, randomly named temp file in that directory, created with
  ``O_CREAT|O_EXCL|O_NOFOLLOW`` (a planted symlink or hard link at any name is never opened), then owner and
  mode are set on the descriptor (``fchown``/``fchmod``: exact, whatever the umask), written and fsynced;
- ``rename`` puts it in place: it replaces a planted symlink or hard link at the final name *itself*, leaving
  whatever that pointed to untouched; the directory is fsynced. A failed write removes its temp file and
  leaves the old file as it was.

:func:`private_dir` is the same for directories (``mkdir``, then ``fchown``/``fchmod`` through an
``O_NOFOLLOW`` descriptor), for dirs that another user owns or may write to.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from .errors import BackupError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class PrivateFileError(BackupError):
    """A private file or directory could not be written safely; names the path, never the content."""


def _open_dir(path: Path) -> int:
    try:
        return os.open(path, _DIR_FLAGS)
    except OSError as exc:
        if os.path.islink(path):
            raise PrivateFileError(f"{path} is a symlink; refusing to write private files through it") from None
        raise PrivateFileError(f"cannot open directory {path}: {exc.strerror}") from None


def write_private(path: Path | str, data: str | bytes, mode: int = 0o600, owner: tuple[int, int] | None = None) -> Path:
    """Atomically replace ``path`` with ``data`` (str is UTF-8), created with ``mode`` and ``owner`` (uid, gid)."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else bytes(data)
    dir_fd = _open_dir(path.parent)
    tmp = ""
    try:
        for _attempt in range(8):
            tmp = f".{path.name}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(tmp, _FILE_FLAGS, mode, dir_fd=dir_fd)  # the umask may narrow it; fchmod below
                break
            except FileExistsError:  # something planted at this name: never opened; pick another
                continue
        else:
            tmp = ""
            raise PrivateFileError(f"cannot create a temp file next to {path}: every name was taken")
        try:
            if owner is not None:
                os.fchown(fd, *owner)
            os.fchmod(fd, mode)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = ""
        os.fsync(dir_fd)
    except OSError as exc:
        raise PrivateFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
        os.close(dir_fd)
    return path


def private_dir(path: Path | str, mode: int = 0o700, owner: tuple[int, int] | None = None) -> Path:
    """Create ``path`` if missing (parents as by ``mkdir -p``) and set its owner and mode, never through a symlink."""
    path = Path(path)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise PrivateFileError(f"cannot create directory {path}: {exc.strerror}") from None
    fd = _open_dir(path)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):  # pragma: no cover - O_DIRECTORY already ensures it
            raise PrivateFileError(f"{path} is not a directory")
        if owner is not None:
            os.fchown(fd, *owner)
        os.fchmod(fd, mode)
    except OSError as exc:
        raise PrivateFileError(f"cannot set owner/mode of {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return path
