"""HOST-11: auditd runs with immutable rules for identity, privilege, time, sshd and logins."""

from __future__ import annotations

import pytest

KEYS = ("identity", "scope", "time-change", "sshd", "logins", "session", "privileged", "modules", "firewall")


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
    assert "-w /etc/shadow -p wa -k identity" in rules
    assert "-F path=/usr/bin/sudo -F perm=x" in rules
    assert "enabled 2" in status, "rules must be immutable until reboot"
