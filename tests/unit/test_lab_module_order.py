"""The session lab is taken down by test_lab_e2e.py's last test: every module that uses it must run first."""

from __future__ import annotations

import ast
from pathlib import Path

LAB_TESTS = Path(__file__).resolve().parents[1] / "lab"
LAST = "test_lab_e2e.py"


def _uses_session_lab(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defines = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    if "lab_state" in defines:  # a module with a lab fixture of its own (the backup lab)
        return False
    return any(
        isinstance(n, ast.FunctionDef) and n.name.startswith("test_") and "lab_state" in [a.arg for a in n.args.args]
        for n in ast.walk(tree)
    )


def test_every_module_on_the_session_lab_runs_before_the_one_that_takes_it_down() -> None:
    users = sorted(p.name for p in LAB_TESTS.glob("test_*.py") if p.name != LAST and _uses_session_lab(p))
    assert users, "no module found that uses the session lab: the check lost its subject"
    late = [name for name in users if name > LAST]
    assert not late, f"{late} sort after {LAST} (pytest runs modules in name order): rename them"
