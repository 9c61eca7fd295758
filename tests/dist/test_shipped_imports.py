"""What shipped code imports: declared dependencies only, and the test beds never at import time.

Fast static twins of the wheel test (tests/dist/test_wheel.py), which proves the same by installing.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("ccsec", "infra", "policies", "backup", "lab", "tests/hosts")  # what the wheel maps under ccsec
# Import name -> the distribution that provides it (written out: the point is to check pyproject against it).
PROVIDED_BY = {
    "pulumi": "pulumi",
    "pulumi_openstack": "pulumi-openstack",
    "pulumi_tls": "pulumi-tls",
    "pulumi_random": "pulumi-random",
    "pulumi_policy": "pulumi-policy",
    "google": "pulumi",  # protobuf, a dependency of pulumi and pulumi-policy
    "jinja2": "jinja2",
    "paramiko": "paramiko",
    "testinfra": "pytest-testinfra",
    "pytest": "pytest",
    "xdist": "pytest-xdist",
    "yaml": "pyyaml",
    "cryptography": "cryptography",
    "jsonschema": "jsonschema",
}
TESTBEDS = "ccsec_testbeds"


def _files(folder: str) -> list[Path]:
    return sorted(p for p in (REPO / folder).rglob("*.py") if ".work" not in p.parts and "__pycache__" not in p.parts)


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node))
    return found


def _import_time_nodes(tree: ast.Module) -> set[ast.AST]:
    """Import statements that run when the module is imported: not in a function, not under TYPE_CHECKING."""
    nodes: set[ast.AST] = set()

    def visit(body: list[ast.AST]) -> None:
        for stmt in body:  # statements, and the except handlers of a try
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
                visit(stmt.orelse)
                continue
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                nodes.add(stmt)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list):
                    visit(inner)

    visit(tree.body)
    return nodes


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}


@pytest.mark.parametrize("folder", SHIPPED)
def test_shipped_code_imports_only_declared_dependencies(folder: str) -> None:
    declared = _declared()
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    problems = []
    for path in _files(folder):
        for name, _node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            top = name.split(".")[0]
            if top in stdlib or top in {"ccsec", TESTBEDS}:
                continue
            dist = PROVIDED_BY.get(top)
            if dist is None or dist not in declared:
                problems.append(f"{path.relative_to(REPO)}: {name} ({dist or 'unknown distribution'})")
    assert not problems


@pytest.mark.parametrize("folder", SHIPPED)
def test_test_beds_are_never_imported_at_import_time(folder: str) -> None:
    problems = []
    for path in _files(folder):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        eager = _import_time_nodes(tree)
        for name, node in _imports(tree):
            if name.split(".")[0] == TESTBEDS and node in eager:
                problems.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}")
    assert not problems


def test_the_on_host_agent_imports_only_the_standard_library() -> None:
    """backup/ runs on the hosts from a bundle (infra/backup_agent.py): no third-party module, no test bed."""
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    problems = [
        f"{path.relative_to(REPO)}: {name}"
        for path in _files("backup")
        for name, _node in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] not in stdlib
    ]
    assert not problems


def test_detectors_see_what_they_must() -> None:
    eager = ast.parse("import ccsec_testbeds\nif x:\n    from ccsec_testbeds.swift_aio import A\n")
    lazy = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ccsec_testbeds import B\n"
        "def f():\n    from ccsec_testbeds import swift_aio\n"
    )
    assert len(_import_time_nodes(eager)) == 2
    assert not [n for _name, n in _imports(lazy) if _name.startswith(TESTBEDS) and n in _import_time_nodes(lazy)]
    try_block = ast.parse("try:\n    import ccsec_testbeds\nexcept ImportError:\n    import json\n")
    assert len(_import_time_nodes(try_block)) == 2
