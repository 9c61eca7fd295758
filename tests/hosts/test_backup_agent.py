"""BKP-01 / HOST-21 on a booted db or recordings host: the backup agent cloud-init installed.

Timers enabled and active on their schedule (differential every 5 minutes, full monthly, both
Persistent), the agent's last run succeeded a few minutes ago (unit result, manifest, metrics), and
its keys and credentials are root-only files that never reach the journal.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from datetime import datetime

import pytest

ENGINE = {"db": "postgres", "recordings": "files"}
SECRETS_DIR = "/etc/ccsec/backup/secrets"
METRICS_DIR = "/var/lib/prometheus/node-exporter"
STATE_DIR = "/var/lib/ccsec-backup"
RUN_WAIT_SECONDS = 1800  # the first (full) run starts at the end of cloud-init: > 15 min under a loaded TCG host
RECENT_SECONDS = 600  # a differential every 5 minutes plus the run's own duration
SECRET_KEYS = ("ST_KEY", "OS_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET", "AWS_SECRET_ACCESS_KEY")
# Runs on the host as root: prints how many secret values (bare-value files, secret keys of env files)
# appear in the journal of the ccsec-backup units — a number, never a value.
LEAK_CHECK = f"""
import pathlib, re, subprocess, sys
values = []
for path in pathlib.Path(sys.argv[1]).iterdir():
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if not sep and line.strip():
            values.append(line.strip())
        elif key in {SECRET_KEYS!r} and value:
            values.append(value)
log = subprocess.run(["journalctl", "-o", "cat", "-u", "ccsec-backup-*"], capture_output=True, text=True).stdout
print(sum(v in log for v in values))
"""


def _show(host, unit: str, *props: str) -> dict[str, str]:
    out = host.check_output(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _elapses(host, calendar: str, count: int) -> list[datetime]:
    out = host.check_output(f"systemd-analyze calendar --iterations={count} '{calendar}'")
    stamps = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", out)
    return [datetime.fromisoformat(s) for s in stamps[:count]]


def _wait_idle(host, unit: str) -> None:
    """Wait (bounded) while a run of ``unit`` is in progress."""
    deadline = time.monotonic() + RUN_WAIT_SECONDS
    while _show(host, unit, "ActiveState")["ActiveState"] in ("activating", "deactivating"):
        assert time.monotonic() < deadline, f"{unit} still running after {RUN_WAIT_SECONDS}s"
        time.sleep(10)


@pytest.mark.control("BKP-01")
@pytest.mark.roles("db", "recordings")
def test_backup_timers_are_enabled_active_and_persistent(host, role: str) -> None:
    engine = ENGINE[role]
    for kind in ("diff", "full", "check"):
        timer = f"ccsec-backup-{kind}@{engine}.timer"
        props = _show(host, timer, "UnitFileState", "ActiveState", "Persistent")
        assert props["UnitFileState"] == "enabled", f"{timer}: {props}"
        assert props["ActiveState"] == "active", f"{timer}: {props}"
        if kind != "check":
            assert props["Persistent"] == "yes", f"{timer}: a run missed while the host was off must run at boot"


@pytest.mark.control("BKP-01")
@pytest.mark.roles("db", "recordings")
def test_differential_every_five_minutes_full_at_least_monthly(host, role: str) -> None:
    engine = ENGINE[role]
    calendars = {}
    for kind in ("diff", "full"):
        text = host.check_output(f"systemctl cat ccsec-backup-{kind}@{engine}.timer")
        # the last non-empty OnCalendar wins: a drop-in (backup.diffMinutes) resets the unit's own
        calendars[kind] = re.findall(r"^OnCalendar=(.+)$", text, re.MULTILINE)[-1]
    diff = _elapses(host, calendars["diff"], 4)
    assert len(diff) == 4 and all((b - a).total_seconds() == 300 for a, b in itertools.pairwise(diff)), diff
    full = _elapses(host, calendars["full"], 3)
    assert len(full) == 3 and all((b - a).days <= 31 for a, b in itertools.pairwise(full)), full
    # a month can be 31 days: the agent itself upgrades a differential to a full after 30 days
    with host.sudo():
        config = host.file("/etc/ccsec/backup/agent.toml").content_string
    days = re.findall(r"^full_interval_days = (\d+)$", config, re.MULTILINE)
    assert days and int(days[0]) <= 30


@pytest.mark.control("BKP-01")
@pytest.mark.roles("db", "recordings")
def test_the_agent_ran_and_its_last_backup_succeeded_recently(host, role: str) -> None:
    engine = ENGINE[role]
    service = f"ccsec-backup-diff@{engine}.service"
    _wait_idle(host, service)
    props = _show(host, service, "Result", "ExecMainStatus", "ExecMainExitTimestampMonotonic")
    assert props["ExecMainExitTimestampMonotonic"] not in ("", "0"), f"{service} has never run"
    assert props["Result"] == "success" and props["ExecMainStatus"] in ("0", "75"), props
    with host.sudo():
        manifest = json.loads(host.file(f"{STATE_DIR}/manifests/latest-{engine}.json").content_string)
        metrics = host.file(f"{METRICS_DIR}/ccsec_backup_{engine}.prom").content_string
    assert manifest["result"] == "success", manifest.get("error")
    assert manifest["engine"] == engine and manifest["snapshot_id"]
    last_result = re.findall(r"^ccsec_backup_last_result\{[^}]*\} (\S+)$", metrics, re.MULTILINE)
    assert last_result == ["1"], metrics
    successes = [
        float(v) for v in re.findall(r"^ccsec_backup_last_success_timestamp_seconds\{.*\} (\S+)$", metrics, re.M)
    ]
    now = float(host.check_output("date +%s"))
    assert successes and now - max(successes) <= RECENT_SECONDS, (now, successes)


@pytest.mark.control("HOST-21")
@pytest.mark.roles("db", "recordings")
def test_backup_secrets_are_root_only_and_never_logged(host, role: str) -> None:
    names = {"db": {"swift.env", "s3.env", "pgbackrest.pass"}, "recordings": {"swift.env", "restic.pass"}}[role]
    with host.sudo():
        directory = host.file(SECRETS_DIR)
        assert directory.is_directory and (directory.user, directory.group, directory.mode) == ("root", "root", 0o700)
        present = set(host.check_output(f"ls -A {SECRETS_DIR}").split())
        assert names <= present, present
        for name in present:
            f = host.file(f"{SECRETS_DIR}/{name}")
            assert (f.user, f.group, f.mode) == ("root", "root", 0o600), name
        if role == "db":
            conf = host.file(f"{STATE_DIR}/pgbackrest/pgbackrest.conf")  # holds the S3 secret and cipher pass
            assert conf.exists and (conf.user, conf.mode) == ("postgres", 0o600)
        # count (never print) the secret values found in the agent's journal
        script = base64.b64encode(LEAK_CHECK.encode()).decode()
        leaks = host.check_output(f"echo {script} | base64 -d | python3 - {SECRETS_DIR}")
    assert leaks.strip() == "0"
