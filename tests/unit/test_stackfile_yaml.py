"""YAML hygiene of the stack file: bounded, plain data only, clear exit-2 errors that never echo input."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccsec import cli
from ccsec.infra import yamlload
from ccsec.infra.stackfile import StackFileError, read_stack

STACKS_DIR = Path(__file__).resolve().parents[2] / "stacks"
DEV = (STACKS_DIR / "Pulumi.dev.yaml").read_text()
FAKE_KEY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"  # looks like a pasted key

BOMB = (
    "config:\n"
    '  ccaas-baseline:owner: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def stack(tmp_path: Path, text: str, name: str = "t") -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return tmp_path


def plan(tmp_path: Path, capsys: pytest.CaptureFixture, name: str = "t") -> tuple[int, str]:
    code = cli.main(["plan", "--stack", name, "--stacks-dir", str(tmp_path)])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_the_alias_bomb_fails_fast_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert len(BOMB) <= 468
    stack(tmp_path, BOMB)
    started = time.monotonic()
    code, output = plan(tmp_path, capsys)
    assert time.monotonic() - started < 2.0
    assert code == 2 and "anchors" in output and "line 2, column 25" in output


def test_the_alias_bomb_through_the_installed_command(tmp_path: Path) -> None:
    stack(tmp_path, BOMB)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "ccsec.cli", "plan", "--stack", "t", "--stacks-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr and "anchors" in completed.stderr
    assert time.monotonic() - started < 20  # interpreter start-up included; the parse itself is milliseconds


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ('credentialExpiresAt: "2027-09-30T00:00:00Z"', "credentialExpiresAt: 2027-09-30T00:00:00Z", "timestamp"),
        ('credentialExpiresAt: "2027-09-30T00:00:00Z"', "credentialExpiresAt: 2027-09-30", "timestamp"),
        ("ccaas-baseline:owner: platform-team", "ccaas-baseline:owner: !!binary cGxhdGZvcm0=", "explicit YAML tags"),
        ("ccaas-baseline:owner: platform-team", "ccaas-baseline:owner: !!str platform-team", "explicit YAML tags"),
        ("ccaas-baseline:owner: platform-team", "ccaas-baseline:owner: !!set {a, b}", "explicit YAML tags"),
        (
            "ccaas-baseline:owner: platform-team",
            "ccaas-baseline:owner: !!python/object/apply:os.system [id]",
            "explicit YAML tags",
        ),
        ("ccaas-baseline:owner: platform-team", "ccaas-baseline:owner: !custom x", "explicit YAML tags"),
        ("    port: 6514", "    6514: port", "mapping key must be a string, got int"),
        ("    port: 6514", "    ~: port", "mapping key must be a string, got null"),
        ("    port: 6514", "    on: 6514", "mapping key must be a string, got a boolean"),
        ("    port: 6514", "    1.5: 6514", "mapping key must be a string, got float"),
        ("    port: 6514", "    port: 6514\n    port: 514", "duplicate key 'port'"),
        ("ccaas-baseline:owner: platform-team", "ccaas-baseline:owner: a\n  ccaas-baseline:owner: b", "duplicate key"),
        ("    port: 6514", "    <<: {port: 514}", "merge keys"),
        ("    port: 6514", "    port: *p", "aliases"),
        ("    port: 6514", "    port: &p 6514", "anchors"),
        ("    port: 6514", "    port: 6514\n---\nconfig: {}", "more than one YAML document"),
        ("    port: 6514", "    port: " + "[" * 40 + "]" * 40, "nested deeper"),
    ],
)
def test_non_plain_yaml_is_a_clear_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, replace: str, by: str, expected: str
) -> None:
    assert replace in DEV
    stack(tmp_path, DEV.replace(replace, by, 1))
    code, output = plan(tmp_path, capsys)
    assert code == 2, output
    assert expected in output and "Traceback" not in output, output


def test_a_timestamp_error_names_the_key_path(tmp_path: Path) -> None:
    stack(tmp_path, DEV.replace('"2027-09-30T00:00:00Z"', "2027-09-30T00:00:00Z"))
    with pytest.raises(StackFileError, match=r"ccaas-baseline:backup\.credentialExpiresAt: YAML type datetime"):
        read_stack("t", tmp_path)


@pytest.mark.parametrize(
    "broken",
    [
        f"  ccaas-baseline:tlsPrivateKey: -----BEGIN OPENSSH PRIVATE KEY----- {FAKE_KEY}: x: y\n",
        f"  ccaas-baseline:tlsPrivateKey: '{FAKE_KEY}\n",
        f'  ccaas-baseline:tlsPrivateKey: "{FAKE_KEY}\\q"\n',
        f"  ccaas-baseline:tlsPrivateKey: !{FAKE_KEY[:20]}!x y\n",
        f"  ccaas-baseline:tlsPrivateKey: [{FAKE_KEY}\n",
        f"  ccaas-baseline:tlsPrivateKey:\n{FAKE_KEY}\n",
        f"  ccaas-baseline:tlsPrivateKey: *{FAKE_KEY[:30]}\n",
        f"  ccaas-baseline:tlsPrivateKey: {{{FAKE_KEY}: 1, {FAKE_KEY}: 2}}\n",
        f"\t{FAKE_KEY}\n",
    ],
)
def test_a_syntax_error_reports_the_position_never_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, broken: str
) -> None:
    stack(tmp_path, DEV + broken)
    code, output = plan(tmp_path, capsys)
    assert code == 2, output
    assert "line " in output
    for fragment in (FAKE_KEY, FAKE_KEY[:12], FAKE_KEY[-12:], "BEGIN OPENSSH"):
        assert fragment not in output, output


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stack(tmp_path, DEV + "#" * (yamlload.MAX_BYTES + 1) + "\n")
    code, output = plan(tmp_path, capsys)
    assert code == 2 and "larger than" in output


def test_not_utf8_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "Pulumi.t.yaml").write_bytes(DEV.encode() + b"  x: \xff\xfe\n")
    code, output = plan(tmp_path, capsys)
    assert code == 2 and "not UTF-8" in output


def test_plain_stack_files_still_load() -> None:
    for name in ("dev", "prod", "lab"):
        assert read_stack(name, STACKS_DIR).config
    assert yamlload.load("a: {secure: x}\nb: [1, 2.5, true, null, 'q']\n") == {
        "a": {"secure": "x"},
        "b": [1, 2.5, True, None, "q"],
    }
