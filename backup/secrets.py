"""Secret files and the environment handed to backup engines.

Secrets (repository passwords, Swift keys, S3 secrets, the pgBackRest cipher pass) live in
files that must be regular, owned by the running user (or root) and not accessible to group
or others (0600 or stricter). They reach restic through the environment or ``*_FILE``
variables and pgBackRest through its 0600 config file, never through argv, and error
messages name the file, never its content.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .errors import BackupError

# Keys accepted in a credentials env-file (KEY=VALUE per line, '#' comments).
ALLOWED_KEYS = frozenset(
    {
        "ST_AUTH",
        "ST_USER",
        "ST_KEY",
        "OS_AUTH_URL",
        "OS_REGION_NAME",
        "OS_USERNAME",
        "OS_USER_ID",
        "OS_PASSWORD",
        "OS_TENANT_ID",
        "OS_TENANT_NAME",
        "OS_PROJECT_NAME",
        "OS_PROJECT_ID",
        "OS_USER_DOMAIN_NAME",
        "OS_USER_DOMAIN_ID",
        "OS_PROJECT_DOMAIN_NAME",
        "OS_PROJECT_DOMAIN_ID",
        "OS_TRUST_ID",
        "OS_STORAGE_URL",
        "OS_AUTH_TOKEN",
        "OS_APPLICATION_CREDENTIAL_ID",
        "OS_APPLICATION_CREDENTIAL_NAME",
        "OS_APPLICATION_CREDENTIAL_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
)
_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


class SecretFileError(BackupError):
    """A secret file is missing, unreadable, malformed or too permissive."""


def check_private(path: Path) -> None:
    """Raise :class:`SecretFileError` unless ``path`` is a regular 0600-or-stricter file we own."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise SecretFileError(f"secret file {path} does not exist") from exc
    except PermissionError as exc:
        raise SecretFileError(f"secret file {path} is not readable by uid {os.geteuid()}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise SecretFileError(f"secret file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise SecretFileError(f"secret file {path} has mode {stat.S_IMODE(st.st_mode):04o}; must be 0600 or stricter")
    if st.st_uid not in (os.geteuid(), 0):
        raise SecretFileError(f"secret file {path} must be owned by uid {os.geteuid()} or root")


def read_secret(path: Path) -> str:
    """Return the first line of a checked secret file (e.g. a repository password)."""
    check_private(path)
    value = path.read_text().split("\n", 1)[0].strip()
    if not value:
        raise SecretFileError(f"secret file {path} is empty")
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a checked ``KEY=VALUE`` credentials file, accepting only :data:`ALLOWED_KEYS`."""
    check_private(path)
    env: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise SecretFileError(f"{path}:{number}: expected KEY=VALUE")
        key, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key not in ALLOWED_KEYS:
            raise SecretFileError(f"{path}:{number}: key {key} is not an accepted credential variable")
        env[key] = value
    if not env:
        raise SecretFileError(f"credentials file {path} defines no variables")
    return env


def base_env() -> dict[str, str]:
    """A minimal, secret-free environment for child processes (PATH, locale, HOME, TMPDIR)."""
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "TZ")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("HOME", "/root" if os.geteuid() == 0 else "/")
    return env
