"""The agent as one deterministic Python zipapp, small enough to travel inside cloud-init user-data.

Nova caps user-data at 64 KiB (base64-encoded), so hosts cannot receive the sources as they are.
:func:`build` packs only the modules one role runs (the files engine for recordings, the PostgreSQL
engine for db; never the drill or the local Swift), without docstrings and comments
(``ast.unparse``), into an uncompressed zip with fixed timestamps and sorted entries; the
user-data then carries it gzip+base64 (:func:`gz_b64`), which compresses across modules.
Same code in, same bytes out, so a rebuilt stack does not replace its hosts for nothing.
"""

from __future__ import annotations

import ast
import base64
import gzip
import io
import zipfile
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
INSTALL_PATH = "/opt/ccsec/ccsec-backup.pyz"
COMMON_MODULES = (
    "__init__",
    "agent",
    "cli",
    "config",
    "diskspace",
    "errors",
    "lock",
    "manifest",
    "metrics",
    "private_files",
    "probe",
    "proc",
    "schedule",
    "secrets",
)
ENGINE_MODULES = {"files": ("restic",), "postgres": ("pgbackrest", "pgverify")}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAIN = "import sys\nfrom backup.cli import main\nsys.exit(main())\n"


def strip_docstrings(source: str) -> str:
    """``source`` without docstrings and comments: same behaviour, a third smaller."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = node.body[0] if node.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree) + "\n"


def modules_for(engines: tuple[str, ...]) -> tuple[str, ...]:
    """The module names a host running ``engines`` needs, sorted."""
    unknown = set(engines) - set(ENGINE_MODULES)
    if unknown or not engines:
        raise ValueError(f"engines must be a non-empty subset of {sorted(ENGINE_MODULES)}, got {engines}")
    names = set(COMMON_MODULES)
    for engine in engines:
        names.update(ENGINE_MODULES[engine])
    return tuple(sorted(names))


@lru_cache(maxsize=8)
def build(engines: tuple[str, ...]) -> bytes:
    """The zipapp (``python3 ccsec-backup.pyz --config ... run ...``) for ``engines``."""
    entries = {"__main__.py": MAIN}
    for name in modules_for(engines):
        entries[f"backup/{name}.py"] = strip_docstrings((PACKAGE_DIR / f"{name}.py").read_text())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(entries):
            info = zipfile.ZipInfo(path, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the build machine
            archive.writestr(info, entries[path])
    return buffer.getvalue()


def gz_b64(data: bytes) -> str:
    """gzip (no timestamp, so deterministic) then base64: cloud-init's ``encoding: gz+b64``."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")
