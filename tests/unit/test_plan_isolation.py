"""`ccsec plan` runs the program under review in a child process: the program cannot fake the verdict.

Each fixture declares the same internet-open SSH rule (a mandatory violation) and then tries to end the
run another way. The oracle is fixed by hand: the open rule must surface as exit 1 with the two policies
that judge it, or the run must be refused as incomplete with exit 2 — never exit 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "programs" / "hostile"
OPEN_SSH_POLICIES = {"secgroup-ingress-from-anywhere", "secgroup-ssh-admin-cidrs"}


def plan(program: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ccsec.cli", "plan", "--stack", "dev", "--program", str(HOSTILE / program)]
    return subprocess.run([*command, *extra], capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        ("exits_early.py", "exited early (SystemExit(0))"),
        ("exits_in_apply.py", "exited early (SystemExit(0))"),
        ("hard_exit.py", "did not complete"),
        ("raises.py", "RuntimeError: half-way"),
    ],
)
def test_a_program_that_does_not_complete_gets_exit_2_not_a_clean_verdict(program: str, reason: str) -> None:
    result = plan(program, "--format", "json")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert reason in result.stderr
    assert result.stdout == "", "no report may be printed for a run that did not complete"


def test_a_program_that_replaces_the_evaluator_still_gets_its_true_verdict() -> None:
    result = plan("patches_evaluator.py", "--format", "json")
    assert result.returncode == 1, result.stderr
    found = {v["policy"] for v in json.loads(result.stdout)["violations"]}
    assert found >= OPEN_SSH_POLICIES


def test_a_program_that_prints_a_fake_report_cannot_corrupt_or_replace_ours() -> None:
    result = plan("prints.py", "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)  # our JSON alone on stdout: the program's print did not land here
    assert {v["policy"] for v in document["violations"]} >= OPEN_SSH_POLICIES
    assert any(r["name"] == "ssh-from-anywhere" for r in document["resources"])
    # the program's own output is shown, marked as the program's, on stderr
    assert "program output (2 lines, not ccsec's):" in result.stderr
    assert '  | {"stack": "dev", "resources": [], "violations": [], "outputs": {}}' in result.stderr
    assert "  | policy: no violations" in result.stderr


def test_text_format_also_keeps_the_programs_prints_apart() -> None:
    result = plan("prints.py")
    assert result.returncode == 1
    assert "policy: no violations" not in result.stdout
    assert "ssh-from-anywhere" in result.stdout
