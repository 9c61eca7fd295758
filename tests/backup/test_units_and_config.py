"""Offline checks: systemd unit templates, configuration validation, the full/diff decision."""

from __future__ import annotations

import configparser
import itertools
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccsec.backup.config import ConfigError, parse
from ccsec.backup.schedule import decide

UNITS = Path(__file__).resolve().parents[2] / "backup" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string((UNITS / name).read_text().replace("\\\n", " "))
    return cp


@pytest.mark.parametrize(
    ("timer", "calendar", "service"),
    [
        ("ccsec-backup-diff@.timer", "*:0/5", "ccsec-backup-diff@%i.service"),
        ("ccsec-backup-full@.timer", "*-*-01 02:30:00", "ccsec-backup-full@%i.service"),
    ],
)
def test_timers_schedule_and_persistence(timer: str, calendar: str, service: str) -> None:
    t = unit(timer)
    assert t["Timer"]["OnCalendar"] == calendar
    assert t["Timer"]["Persistent"] == "true"
    assert t["Timer"]["Unit"] == service
    assert (UNITS / service.replace("%i", "")).exists()
    res = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def test_diff_every_five_minutes() -> None:
    res = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=3", "*:0/5"], capture_output=True, text=True, check=True
    )
    times = re.findall(r"\d{4}-\d\d-\d\d (\d\d):(\d\d):\d\d\b", res.stdout)
    minutes = [int(h) * 60 + int(m) for h, m in times][:3]
    assert len(minutes) == 3 and all((b - a) % 1440 == 5 for a, b in itertools.pairwise(minutes))


@pytest.mark.parametrize("service", ["ccsec-backup-diff@.service", "ccsec-backup-full@.service"])
def test_services_never_overlap_and_pass_no_secrets(service: str) -> None:
    s = unit(service)["Service"]
    start = s["ExecStart"]
    assert start.startswith("/usr/bin/flock --nonblock --conflict-exit-code 75 /run/lock/ccsec-backup-%i.lock")
    assert "75" in s["SuccessExitStatus"].split()
    assert s["Type"] == "oneshot"
    kind = "diff" if "diff" in service else "full"
    assert f"--engine %i --type {kind}" in start
    for word in ("password", "key", "secret", "ST_KEY"):
        assert word not in start.lower().replace("--conflict", "")
    assert s["NoNewPrivileges"] == "yes" and s["ProtectSystem"] == "strict"


def base_raw(**files: object) -> dict:
    raw: dict = {
        "agent": {"host": "rec-01", "state_dir": "/var/lib/ccsec-backup", "metrics_dir": "/var/lib/prom"},
        "swift": {"credentials_file": "/etc/ccsec/backup/swift.env"},
        "files": {"repository": "swift:c:/rec-01", "password_file": "/etc/p", "paths": ["/srv/rec"]},
    }
    raw["files"].update(files)
    return raw


def test_valid_config_parses() -> None:
    cfg = parse(base_raw())
    assert cfg.files is not None and cfg.files.paths == (Path("/srv/rec"),)
    assert cfg.agent.full_interval_days == 30 and cfg.agent.keep_full_cycles == 2


def test_config_reports_every_error_at_once() -> None:
    raw = base_raw(paths=["relative/path", "/ok"], repository="s3:evil", offsite_repository="swift:o:/x")
    raw["agent"]["host"] = "bad\nhost"
    raw["agent"]["keep_full_cycles"] = 1
    raw["bogus"] = {}
    with pytest.raises(ConfigError) as info:
        parse(raw)
    msgs = "\n".join(info.value.errors)
    for key in (
        "files.paths",
        "files.repository",
        "agent.host",
        "agent.keep_full_cycles",
        "files.offsite_password_file",
        "[bogus]",
    ):
        assert key in msgs
    assert len(info.value.errors) >= 6


@pytest.mark.parametrize("bad", ['/srv/x"\nExecStart=/bin/sh', "/srv/$(id)", "/srv/*", "/srv/../etc"])
def test_injection_in_paths_rejected(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse(base_raw(paths=[bad]))


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("requested", "last_full", "expected"),
    [
        ("diff", None, "full"),
        ("auto", None, "full"),
        ("full", NOW, "full"),
        ("diff", NOW - timedelta(days=29, hours=23), "diff"),
        ("diff", NOW - timedelta(days=30, seconds=1), "full"),
        ("auto", NOW - timedelta(minutes=5), "diff"),
    ],
)
def test_decide(requested: str, last_full: datetime | None, expected: str) -> None:
    assert decide(requested, last_full, NOW, 30)[0] == expected


def test_decide_rejects_unknown_type() -> None:
    with pytest.raises(ValueError):
        decide("incremental", None, NOW, 30)
