"""HOST-11: auditd runs with immutable rules for the PCI DSS 10.2.1 events, keeps its logs, and hands every
event to syslog (which forwards it off the host). Proven by acting as a person and finding the record."""

from __future__ import annotations

import re
import secrets
import time

import pytest

KEYS = (
    "identity",
    "scope",
    "time-change",
    "sshd",
    "logins",
    "session",
    "privileged",
    "modules",
    "firewall",
    "access",
    "delete",
    "perm_mod",
    "mounts",
    "system-locale",
    "audit-log",
    "audit-config",
    "user_emulation",
)
# keys of syscall rules: a 32-bit program must not escape them
SYSCALL_KEYS = ("access", "delete", "perm_mod", "mounts", "time-change", "system-locale", "modules", "setuid")
RECORD_WAIT_SECONDS = 30


@pytest.mark.control("HOST-11")
def test_auditd_runs(host) -> None:
    service = host.service("auditd")
    assert service.is_running and service.is_enabled


@pytest.mark.control("HOST-11")
def test_audit_rules_are_loaded_and_locked(host) -> None:
    with host.sudo():
        rules = host.check_output("auditctl -l")
        status = host.check_output("auditctl -s")
    # syscall rules print "-F key=K", watches print "-k K"
    missing = [k for k in KEYS if f"key={k}" not in rules and f"-k {k}" not in rules]
    assert not missing, f"audit keys not loaded: {missing}"
    b32 = {k for k in SYSCALL_KEYS if re.search(rf"^-a always,exit -F arch=b32 .*-F key={k}$", rules, re.M)}
    assert b32 == set(SYSCALL_KEYS), f"no 32-bit rule for: {sorted(set(SYSCALL_KEYS) - b32)}"
    assert "-w /etc/shadow -p wa -k identity" in rules
    assert "-w /var/log/audit -p rwa -k audit-log" in rules
    assert "-F path=/usr/bin/sudo -F perm=x" in rules
    assert "enabled 2" in status, "rules must be immutable until reboot"


@pytest.mark.control("HOST-11")
def test_every_setuid_and_setgid_program_on_the_host_is_audited(host) -> None:
    """The host's own file system is the oracle: a program the image gained since the list was written fails."""
    with host.sudo():
        programs = host.check_output("find / -xdev -type f -perm /6000 -print").split()
        rules = host.check_output("auditctl -l")
    assert "/usr/bin/sudo" in programs, programs
    unaudited = [p for p in programs if f"-F path={p} -F perm=x" not in rules]
    assert not unaudited, f"setuid/setgid programs without a privileged-command rule: {unaudited}"


@pytest.mark.control("HOST-11")
def test_a_denied_access_is_recorded_with_the_person_and_reaches_syslog(host) -> None:
    """PCI DSS 10.2.1.4 and 10.2.2: a person's failed access is recorded, names them, and leaves via syslog."""
    probe = f"/root/ccsec-audit-probe-{secrets.token_hex(6)}"
    user = host.user().name
    denied = host.run(f"cat {probe}")
    assert denied.rc != 0 and "Permission denied" in denied.stderr, denied
    deadline = time.monotonic() + RECORD_WAIT_SECONDS
    while True:
        with host.sudo():
            events = host.run("ausearch --input-logs -i -k access -ts recent").stdout.split("----")
            forwarded = host.run(f"journalctl SYSLOG_FACILITY=22 --since=-10min -o cat | grep -cF {probe}").stdout
        event = next((e for e in events if probe in e), "")
        if (event and forwarded.strip() not in ("", "0")) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert event, f"no audit record of the denied open of {probe}"
    assert f"auid={user}" in event and "success=no" in event and "exit=EACCES" in event, event
    assert forwarded.strip() not in ("", "0"), "the audit record never reached syslog (facility local6)"


@pytest.mark.control("HOST-11")
def test_auditd_keeps_its_logs_and_stops_the_host_rather_than_run_unaudited(host) -> None:
    with host.sudo():
        conf = dict(
            re.findall(r"^\s*([a-z_0-9]+)\s*=\s*(\S+)", host.file("/etc/audit/auditd.conf").content_string, re.M)
        )
        plugin = host.run("pgrep -x audisp-syslog")
    settings = {k: conf.get(k, "").lower() for k in ("max_log_file_action", "admin_space_left_action")}
    assert settings == {"max_log_file_action": "keep_logs", "admin_space_left_action": "single"}, conf
    assert conf.get("disk_full_action", "").lower() in ("single", "halt"), conf
    assert conf.get("disk_error_action", "").lower() in ("single", "halt"), conf
    # the running daemon re-read its configuration: only then does it start the syslog plugin
    assert plugin.rc == 0, "audisp-syslog is not running: auditd never loaded plugins.d/syslog.conf"
