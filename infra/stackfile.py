"""Read stacks/Pulumi.<stack>.yaml the way the Pulumi CLI hands config to a program.

The CLI passes every value as a string (objects as JSON) and keeps `secure:` values encrypted
until the program asks for them. Offline we never decrypt: a secure value becomes an opaque
placeholder that the program only ever sees as a Pulumi secret.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccsec.errors import CcsecError
from ccsec.infra import yamlload
from ccsec.infra.config import NAMESPACE, StackConfig, decode_raw, parse_config

PROJECT_FILE = "Pulumi.yaml"
STACKS_ENV = "CCSEC_STACKS_DIR"
STACK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
SECRET_PLACEHOLDER = "[secret]"


def project_dir(start: Path | None = None) -> Path:
    """The Pulumi project this run belongs to: the nearest directory holding Pulumi.yaml, else the cwd.

    The installed package knows nothing of a checkout, so stack files, reports and the Automation API's
    work dir are found the way the Pulumi CLI finds them: from where the user stands.
    """
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    return here


def default_stacks_dir() -> Path:
    """``$CCSEC_STACKS_DIR``, else the project's ``stacks/`` (Pulumi.yaml's ``stackConfigDir``)."""
    env = os.environ.get(STACKS_ENV)
    return Path(env).resolve() if env else project_dir() / "stacks"


class StackFileError(CcsecError):
    """The stack file is missing or is not a Pulumi stack settings file."""


@dataclass(frozen=True)
class RawStack:
    name: str
    path: Path
    config: dict[str, str]  # "namespace:key" -> string value, as the CLI passes it
    secret_keys: tuple[str, ...]


def stack_path(stack: str, stacks_dir: Path | None = None) -> Path:
    if not STACK_NAME_RE.match(stack):
        raise StackFileError(f"stack name {stack!r} is invalid: use letters, digits, '-', '_' or '.'")
    return (stacks_dir or default_stacks_dir()) / f"Pulumi.{stack}.yaml"


def available_stacks(stacks_dir: Path | None = None) -> list[str]:
    found = (stacks_dir or default_stacks_dir()).glob("Pulumi.*.yaml")
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in found)


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _strip_secure(value: Any, path: str, secret_paths: list[str]) -> Any:
    """Replace `{secure: ...}` anywhere with a placeholder; remember where secrets were."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            secret_paths.append(path)
            return SECRET_PLACEHOLDER
        return {k: _strip_secure(v, f"{path}.{k}", secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v, f"{path}[{i}]", secret_paths) for i, v in enumerate(value)]
    return value


def read_stack(stack: str, stacks_dir: Path | None = None) -> RawStack:
    path = stack_path(stack, stacks_dir)
    if not path.is_file():
        known = ", ".join(available_stacks(stacks_dir)) or "none"
        raise StackFileError(f"no stack file {path} (stacks available: {known})")
    try:
        document = yamlload.load_file(path) or {}
    except yamlload.UnsafeYamlError as exc:
        raise StackFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise StackFileError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise StackFileError(f"{path}: expected a mapping with a 'config:' mapping")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"
        secret_paths: list[str] = []
        plain = _strip_secure(value, full_key, secret_paths)
        if secret_paths:
            secret_keys.append(full_key)
        config[full_key] = _as_config_string(plain)
    return RawStack(stack, path, config, tuple(secret_keys))


def load_stack_config(stack: str, stacks_dir: Path | None = None) -> StackConfig:
    """Typed config of a stack file; raises StackFileError or infra.config.ConfigError."""
    raw = read_stack(stack, stacks_dir)
    return parse_config(decode_raw(raw.config), raw.secret_keys, stack)
