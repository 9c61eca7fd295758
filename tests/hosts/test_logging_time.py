"""HOST-14/15: time from internal NTP servers, persistent journal, TLS log forwarding."""

from __future__ import annotations

import pytest


@pytest.mark.control("HOST-14")
def test_chrony_uses_the_internal_servers(host) -> None:
    assert host.service("chrony").is_running
    sources = host.file("/etc/chrony/sources.d/ccaas-baseline.sources").content_string
    assert "iburst" in sources


@pytest.mark.control("HOST-15")
def test_journal_is_persistent(host) -> None:
    assert host.file("/var/log/journal").is_directory
    with host.sudo():
        assert host.run("journalctl --header -q | grep -q '/var/log/journal'").rc == 0


@pytest.mark.control("HOST-15")
def test_logs_are_forwarded_over_tls(host) -> None:
    assert host.service("rsyslog").is_running
    forward = host.file("/etc/rsyslog.d/60-ccaas-forward.conf").content_string
    assert 'StreamDriverMode="1"' in forward and 'StreamDriverAuthMode="x509/name"' in forward
    assert host.package("rsyslog-gnutls").is_installed
