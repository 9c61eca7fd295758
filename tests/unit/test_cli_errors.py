"""One CLI shape, one error shape: every subcommand's bad input exits 2 with one clear message, no traceback.

Run as a user runs it (a child process), with the lab pointed at an empty work dir so nothing real is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccsec import cli
from ccsec.commands import COMMANDS
from ccsec.errors import EXIT_ERROR, CcsecError

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], tmp_path: Path, module: str = "ccsec.cli") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CCSEC_LAB_WORK": str(tmp_path / "lab-work"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=REPO,
    )


def bad_policy_config(tmp_path: Path) -> str:
    (tmp_path / "policy.json").write_text('{"all": "sometimes"}')
    return str(tmp_path / "policy.json")


def bad_agent_config(tmp_path: Path) -> str:
    (tmp_path / "agent.toml").write_text("[agent]\nhost = 'x y'\n")
    return str(tmp_path / "agent.toml")


def corrupt_lab_state(tmp_path: Path) -> list[str]:
    work = tmp_path / "lab-work"
    work.mkdir()
    (work / "state.json").write_text("{not json")
    return ["lab", "status"]


# (subcommand as shown in the message, argv builder, a fragment the message must hold)
CASES = [
    ("plan", lambda t: ["plan", "--stack", "staging"], "stacks available: dev, lab, prod"),
    ("plan", lambda t: ["plan", "--stack", "dev", "--policy-config", bad_policy_config(t)], "sometimes"),
    ("plan", lambda t: ["plan", "--stack", "dev", "--policy-config", str(t / "missing.json")], "--policy-config"),
    ("policy-config", lambda t: ["policy-config", "--stack", "bad name"], "stack name 'bad name' is invalid"),
    ("policy-docs", lambda t: ["policy-docs", "--file", str(t / "no" / "such" / "dir.md")], "--file"),
    ("lab up", lambda t: ["lab", "up", "--roles", "App"], "role 'App'"),
    ("lab up", lambda t: ["lab", "up", "app", "--roles", "db"], "not both"),
    ("lab backup", lambda t: ["lab", "backup"], "no lab is running"),
    ("lab status", corrupt_lab_state, "is unreadable"),
    ("verify", lambda t: ["verify", "--lab"], "no lab is running"),
    ("verify", lambda t: ["verify", "--lab", "--workers", "-1"], "--workers must be >= 0"),
    ("drift", lambda t: ["drift"], "--stack NAME is required"),
    ("drift", lambda t: ["drift", "--stack", "prod"], "--known-hosts, --user, --identity"),
    ("drill", lambda t: ["drill", "--config", str(t / "missing.toml")], "cannot read"),
    ("drill", lambda t: ["drill", "--config", bad_agent_config(t)], "invalid backup configuration"),
    ("drill", lambda t: ["drill", "--lab"], "no lab with backups is running"),
    ("judge", lambda t: ["judge", "--lab", "--judges", "ssh-audit,openscap"], "unknown judge openscap; choose from"),
    ("judge", lambda t: ["judge", "--lab", "--judges", " , "], "unknown judge (none given)"),
    ("judge", lambda t: ["judge", "--lab"], "no lab is running"),
]


@pytest.mark.parametrize(("command", "argv", "fragment"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_exits_2_with_one_clear_message(tmp_path: Path, command: str, argv, fragment: str) -> None:
    result = run(argv(tmp_path), tmp_path)
    assert result.returncode == EXIT_ERROR, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    first, *rest = result.stderr.splitlines()
    assert first.startswith(f"ccsec {command}: error: "), result.stderr
    assert fragment in result.stderr
    assert all(line.startswith("  ") for line in rest), result.stderr  # further lines are the problem list
    assert result.stdout == ""


def test_every_registered_subcommand_has_a_bad_input_case() -> None:
    covered = {case[0].split()[0] for case in CASES}
    assert covered == {name for name, _ in COMMANDS}
    assert {case[0] for case in CASES if case[0].startswith("lab ")} == {"lab up", "lab backup", "lab status"}
    # `lab down` takes no input: its bad input is a usage error (test_usage_errors_exit_2_too)


def test_an_invalid_stack_config_lists_every_problem_under_one_message(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.broken.yaml").write_text(
        (REPO / "stacks" / "Pulumi.dev.yaml").read_text().replace("owner:", "owner: [1, 2]\n  #", 1)
    )
    result = run(["policy-config", "--stack", "broken", "--stacks-dir", str(tmp_path)], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    first, *problems = result.stderr.splitlines()
    assert first.startswith("ccsec policy-config: error: stack config is invalid (")
    assert problems and all(p.startswith("  - ") for p in problems)


@pytest.mark.parametrize("argv", [["plan"], ["lab", "down", "extra"], ["drift", "--format", "xml"], ["nope"]])
def test_usage_errors_exit_2_too(tmp_path: Path, argv: list[str]) -> None:
    result = run(argv, tmp_path)
    assert result.returncode == 2 and "usage: ccsec" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("module", ["ccsec.lab", "lab"])
def test_python_m_lab_is_an_alias_with_the_same_exit_codes(tmp_path: Path, module: str) -> None:
    bad = run(["up", "App"], tmp_path, module=module)
    assert bad.returncode == 2 and bad.stderr.startswith("ccsec lab up: error: ")  # it used to exit 1
    status = run(["status", "--json"], tmp_path, module=module)
    assert status.returncode == 0 and json.loads(status.stdout) == {"hosts": []}


def test_python_m_ccsec_drill_is_an_alias(tmp_path: Path) -> None:
    result = run(["--config", str(tmp_path / "missing.toml")], tmp_path, module="ccsec.drill")
    assert result.returncode == 2 and result.stderr.startswith("ccsec drill: error: ")
    assert result.stderr.count("\n") == 1


def test_help_explains_every_subcommand() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, _module in COMMANDS:
        sub_parser = sub.choices[name]
        assert sub_parser.description, name
        help_text = sub_parser.format_help()
        assert "Exit codes" in help_text or name == "policy-config", name
    lab_actions = next(a for a in sub.choices["lab"]._actions if isinstance(a, argparse._SubParsersAction))
    for action, parser_ in lab_actions.choices.items():
        assert parser_.description, action


def test_shared_options_come_from_one_definition() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    stack_helps = set()
    for name in ("plan", "policy-config", "drift"):
        (stack,) = [a for a in sub.choices[name]._actions if "--stack" in a.option_strings]
        stack_helps.add(stack.help.split(")")[0])
    assert len(stack_helps) == 1  # the same option, same wording, everywhere
    for name in ("plan", "verify", "drift", "drill"):
        options = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert {"--format", "--json"} <= options, name


def test_main_reports_a_project_error_once_and_returns_its_code(capsys, monkeypatch) -> None:
    def handler(_args: argparse.Namespace) -> int:
        raise CcsecError("it broke", ["first: why", "second: why"], exit_code=1)

    from ccsec.commands import policy_config

    monkeypatch.setattr(policy_config, "run", handler)  # register() binds the module's handler
    assert cli.main(["policy-config", "--stack", "dev"]) == 1
    assert capsys.readouterr().err == "ccsec policy-config: error: it broke\n  - first: why\n  - second: why\n"


def test_the_parts_own_errors_are_mapped_in_one_table() -> None:
    from ccsec.backup.config import ConfigError as BackupConfigError
    from ccsec.backup.errors import BackupError
    from ccsec.policies.pack_config import PolicyConfigError

    assert cli.as_ccsec_error(PolicyConfigError("bad level"), "plan").message == "bad level"
    assert cli.as_ccsec_error(BackupError("Swift down"), "drill").message == "drill could not run: Swift down"
    joined = cli.as_ccsec_error(BackupConfigError(["a: x", "b: y"]), "drill")
    assert joined.message == "invalid backup configuration: a: x; b: y"
    assert cli.as_ccsec_error(KeyError("bug"), "plan") is None  # a bug keeps its traceback
