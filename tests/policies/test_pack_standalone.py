"""The CrossGuard pack is self-contained: it loads with only policies/requirements.txt installed.

`pulumi preview --policy-pack policies` runs `python -m pulumi.policy <engine> <pack dir>` in a venv holding
the pack's requirements.txt, which does `runpy.run_path(<pack dir>, run_name="__main__")`. The test does the
same in a fresh venv on a copy of the policies/ folder alone (no checkout, no ccsec installed), with another
run_name so that __main__.py's `if __name__ == "__main__"` block (PolicyPack: the gRPC server, which blocks)
does not run, then loads the pack, builds the analyzer servicer the server would serve and asks it for
its policies, as the CLI's first gRPC call (GetAnalyzerInfo) does.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from ccsec.policies import pack as in_project_pack
from tests.freshvenv import REPO, make_venv, must, once

PACK_DIR = REPO / "policies"
MIN_POLICIES = 34  # the pack serves 34 policies today; a loader that loses a rules module fails here

PROBE = textwrap.dedent(
    """
    import json, runpy, sys
    entry = runpy.run_path(sys.argv[1], run_name="ccsec_pack_probe")  # the CLI's call, without __main__
    pack = entry["load_pack_package"]()
    info = pack.servicer().GetAnalyzerInfo(None, None)
    try:
        import ccsec  # noqa: F401
        project = "importable"
    except ModuleNotFoundError:
        project = "absent"
    print(json.dumps({
        "names": [p.name for p in pack.policies()],
        "served": [p.name for p in info.policies],
        "pack": info.name,
        "version": info.version,
        "project": project,
        "loaded": sorted(m for m in sys.modules if m.startswith("ccaas_policy_pack")),
        "has_jsonschema": "jsonschema" in sys.modules,
    }))
    """
)


@pytest.fixture(scope="module")
def pack_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = once(
        tmp_path_factory,
        "pack-venv",
        lambda d: make_venv(d, "-r", PACK_DIR / "requirements.txt"),
    )
    return venv / "bin" / "python"


def test_pack_loads_with_only_its_requirements(pack_python: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(PACK_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (tmp_path / "probe.py").write_text(PROBE)
    empty = tmp_path / "cwd"
    empty.mkdir()
    # -I: no PYTHONPATH, no user site, no script dir or cwd on sys.path; only what runpy itself adds.
    done = must([pack_python, "-I", tmp_path / "probe.py", copy], cwd=empty, timeout=120)
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    expected = [p.name for p in in_project_pack.policies()]
    assert seen["project"] == "absent", "the pack venv must not see the project"
    assert seen["names"] == expected
    assert seen["served"] == expected
    assert len(set(seen["names"])) == len(seen["names"]) >= MIN_POLICIES
    assert seen["pack"] == in_project_pack.PACK_NAME
    assert seen["version"] == in_project_pack.pack_version()
    # The gRPC path loads the rules and their catalogue, never the offline evaluator's helpers.
    assert not {"ccaas_policy_pack.offline", "ccaas_policy_pack.pack_config", "ccaas_policy_pack.sarif"} & set(
        seen["loaded"]
    )
    assert not seen["has_jsonschema"]


def test_requirements_cover_what_the_served_pack_imports() -> None:
    """Every third-party module the served modules import is installed by requirements.txt (by name)."""
    distributions = {"pulumi", "pulumi_policy", "yaml", "google"}  # pulumi, pulumi-policy, pyyaml, protobuf via pulumi
    wanted = {
        line.split(">")[0].split("<")[0].split("=")[0].strip().lower()
        for line in (PACK_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert wanted == {"pulumi", "pulumi-policy", "pyyaml"}
    served = _served_modules()
    third_party = {name.split(".")[0] for path in served for name in _absolute_imports(path)}
    assert third_party - _stdlib() <= distributions, sorted(third_party - _stdlib())


def _stdlib() -> set[str]:
    return set(sys.stdlib_module_names) | {"__future__"}


def _served_modules() -> set[Path]:
    """__main__.py, pack.py and everything they reach by relative import (what the gRPC server loads)."""
    todo = [PACK_DIR / "__main__.py", PACK_DIR / "pack.py"]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = path.parent
                for _ in range(node.level - 1):
                    base = base.parent
                parts = node.module.split(".") if node.module else []
                targets = [base.joinpath(*parts)] if parts else [base / alias.name for alias in node.names]
                if parts:
                    targets += [base.joinpath(*parts, alias.name) for alias in node.names]
                for target in targets:
                    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
                        if candidate.is_file():
                            todo.append(candidate)
    return seen


def _absolute_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_served_pack_reads_only_its_own_folder() -> None:
    """The served modules never import the docs generator or the offline evaluator."""
    served = {p.relative_to(PACK_DIR).as_posix() for p in _served_modules()}
    assert "pack.py" in served and "controls.py" in served and "rules/secgroups.py" in served
    assert not {"offline.py", "pack_config.py", "sarif.py", "metadata.py", "gen_docs.py"} & served


# --- nothing in the pack imports the project or patches sys.path ------------------------------------------


def _violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "ccsec"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "ccsec":
                found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            dotted = _dotted(func)
            first = node.args[0] if node.args else None
            if dotted in {"importlib.import_module", "import_module", "__import__"} and (
                isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("ccsec")
            ):
                found.append(f"{dotted}({first.value!r})")
            if dotted and dotted.startswith("sys.path."):
                found.append(f"{dotted}(...)")
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [f"{_dotted(t)} = ..." for t in targets if _dotted(t) == "sys.path"]
    return found


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    if isinstance(node, ast.Subscript):
        return _dotted(node.value)
    return ""


@pytest.mark.parametrize(
    "source",
    [
        "import ccsec",
        "import ccsec.policies.controls as c",
        "from ccsec.infra import roles",
        "import importlib\nimportlib.import_module('ccsec.infra')",
        "from importlib import import_module\nimport_module('ccsec')",
        "__import__('ccsec.x')",
        "import sys\nsys.path.insert(0, 'x')",
        "import sys\nsys.path.append('x')",
        "import sys\nsys.path[:0] = ['x']",
        "import sys\nsys.path += ['x']",
        "import sys\nsys.path = ['x']",
    ],
)
def test_detector_catches(source: str) -> None:
    assert _violations(source), source


def test_detector_passes_clean_code() -> None:
    assert not _violations("from .controls import load_catalogue\nimport pulumi_policy\nimport ccsecurity\n")


def test_no_pack_file_imports_the_project_or_touches_sys_path() -> None:
    files = sorted(PACK_DIR.rglob("*.py"))
    assert len(files) > 10
    found = {str(p.relative_to(REPO)): v for p in files if (v := _violations(p.read_text(encoding="utf-8")))}
    assert not found
