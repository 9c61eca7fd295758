"""HOST-14/15: time from internal NTP servers, persistent journal, TLS log forwarding."""

from __future__ import annotations

import pytest


@pytest.mark.control("HOST-14")
def test_chrony_takes_time_only_from_the_servers_in_its_own_config(host) -> None:
    """Every source chronyd has is a `server` line of chrony.conf: no pool (Debian's default), nothing from DHCP
    or a drop-in directory, and no UDP command port. A pool whose name does not resolve shows no source at all,
    so the config chronyd reads is checked as well as the live list."""
    assert host.service("chrony").is_running
    with host.sudo():
        parsed = host.check_output("chronyd -p -f /etc/chrony/chrony.conf").splitlines()
        live = host.check_output("chronyc -n -c sources").splitlines()
        listeners = host.check_output("ss -Hulpn")
    directives = {line.split()[0] for line in parsed if line.strip()}
    assert not directives & {"pool", "peer", "sourcedir", "confdir", "include", "allow", "refclock"}, parsed
    servers = {line.split()[1] for line in parsed if line.startswith("server ")}
    assert servers, "chrony has no server configured"
    assert {line.split(",")[2] for line in live} == servers, live
    assert "chronyd" not in listeners, listeners


@pytest.mark.control("HOST-15")
def test_journal_is_persistent(host) -> None:
    assert host.file("/var/log/journal").is_directory
    with host.sudo():
        assert host.run("journalctl --header -q | grep -q '/var/log/journal'").rc == 0


@pytest.mark.control("HOST-15")
def test_logs_are_forwarded_over_tls(host) -> None:
    assert host.service("rsyslog").is_running
    forward = host.file("/etc/rsyslog.d/60-ccaas-forward.conf").content_string
    assert 'type="omrelp"' in forward and 'tls="on"' in forward and 'tls.authMode="name"' in forward
    assert host.package("rsyslog-relp").is_installed and host.package("rsyslog-gnutls").is_installed
    # rsyslog pulls the journal from its own cursor (a restart resumes there); journald pushes nothing
    with host.sudo():
        assert host.file("/var/spool/rsyslog/ccaas-imjournal.state").is_file
        assert host.run("systemd-analyze cat-config systemd/journald.conf | grep -x ForwardToSyslog=no").rc == 0
        key = host.file("/etc/ssl/ccaas/log.key")
        assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
