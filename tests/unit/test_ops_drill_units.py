"""The scheduled drill units in ops/systemd: what they run parses with the real CLIs, reports are kept,
a stopped or killed drill is swept, and the timer's calendar is valid and at least weekly."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from ccsec.cli import build_parser

OPS = Path(__file__).resolve().parents[2] / "ops" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string((OPS / name).read_text().replace("\\\n", " "))
    return cp


def argv_of(line: str) -> list[str]:
    return shlex.split(line.replace("%i", "db-01"))


def test_the_drill_service_runs_ccsec_drill_with_options_the_cli_accepts_and_keeps_reports() -> None:
    service = unit("ccsec-drill@.service")["Service"]
    argv = argv_of(service["ExecStart"])
    assert argv[0].endswith("/bin/ccsec") and argv[1] == "drill"
    args = build_parser().parse_args(argv[1:])  # an option the CLI does not know exits 2 here
    assert str(args.config) == "/etc/ccsec/drill/db-01/agent.toml"
    assert str(args.out) == "/var/lib/ccsec-drill/db-01", "reports go to the unit's state directory"
    assert service["StateDirectory"] == "ccsec-drill"
    assert str(args.scratch) in service["ReadWritePaths"].split()
    assert not args.lab and args.format != "json"


def test_a_stopped_or_killed_drill_is_swept_from_the_same_scratch_parent() -> None:
    service = unit("ccsec-drill@.service")["Service"]
    scratch = build_parser().parse_args(argv_of(service["ExecStart"])[1:]).scratch
    sweep = argv_of(service["ExecStopPost"])
    assert sweep[1:4] == ["-m", "ccsec.backup.scratch", "--sweep"] and Path(sweep[4]) == scratch
    assert service["KillMode"] == "control-group"  # a stop takes the restores and the scratch PostgreSQL too
    res = subprocess.run([sys.executable, *sweep[1:3], "--help"], capture_output=True, text=True, check=False)
    assert res.returncode == 0 and "--sweep PARENT" in res.stdout, res.stderr


@pytest.mark.parametrize("key", ["TimeoutStartSec"])
def test_the_drill_is_bounded(key: str) -> None:
    value = unit("ccsec-drill@.service")["Service"][key]
    assert value not in ("infinity", "0") and value.endswith(("h", "min"))


def test_the_timer_runs_the_service_at_least_weekly() -> None:
    timer = unit("ccsec-drill@.timer")["Timer"]
    assert timer["Persistent"] == "true", "a drill missed while the machine was off runs at boot"
    res = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=2", timer["OnCalendar"]],
        capture_output=True,
        text=True,
        check=True,
    )
    elapses = [
        datetime.strptime(line.split(":", 1)[1].strip().rsplit(" ", 1)[0], "%a %Y-%m-%d %H:%M:%S")
        for line in res.stdout.splitlines()
        if "Next elapse" in line or line.strip().startswith("Iter.")
    ]
    assert len(elapses) == 2 and 0 < (elapses[1] - elapses[0]).days <= 7, res.stdout
