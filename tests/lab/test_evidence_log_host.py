"""HOST-15 end to end on the lab: app host -> TLS (client certificates) -> log host -> append-only store.

PCI DSS 10.2-10.5: a privileged action on an app host is on the log host within a minute, with host and
user; only certificates of the stack's log CA that name a host of the stack are admitted; a receiver that
stops and comes back loses nothing (RELP resends what was in flight, the senders' queues hold the rest).
Not tested here, measured once and in the README: an rsyslog restart on the sender during the outage.
Runs before test_lab_e2e.py (module order), whose last test takes the lab down.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ccsec.infra.userdata import log_tls_name
from ccsec.lab import api, log_pki
from ccsec.lab.paths import work_dir
from ccsec.lab.state import HostState, LabState
from tests.lab import timeline

pytestmark = pytest.mark.lab

STORE = "/srv/logs"
WITHIN_S = 60  # PCI DSS 10.2 evidence on the log host within a minute (the issue's bar)
QUEUED_MESSAGES = 200
DRAIN_S = 240  # resumeInterval 30 s, growing after 10 retries: a short outage drains well within this
LOG_PORT = 6514  # the lab stack's logging.port, forwarded from 127.0.0.1 to the log host's receiver


def _host(lab_state: LabState, role: str) -> HostState:
    return next(h for h in lab_state.hosts if h.role == role)


def ssh(lab_state: LabState, host: HostState, command: str, timeout: float = 180) -> str:
    result = subprocess.run(
        ["ssh", "-F", lab_state.ssh_config_file, host.name, command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{host.name}: {command}: {result.stderr}"
    return result.stdout


def store_lines(lab_state: LabState, needle: str, sender: str = "") -> list[str]:
    """Lines of the log host's store that contain ``needle`` (a fixed string), from ``sender``'s directory.

    Without a sender: every directory but the log host's own, which holds the sudo record of this grep.
    """
    log_host = _host(lab_state, "loghost")
    options, where = ("", f"{STORE}/{sender}") if sender else (f"--exclude-dir={log_host.name}", STORE)
    out = ssh(lab_state, log_host, f"sudo -n grep -rhF {options} -- {needle} {where} || true")
    return [line for line in out.splitlines() if line]


def wait_for(lab_state: LabState, needle: str, count: int, timeout: float, sender: str = "") -> tuple[list[str], float]:
    start = time.monotonic()
    while True:
        lines = store_lines(lab_state, needle, sender)
        if len(lines) >= count or time.monotonic() - start > timeout:
            return lines, time.monotonic() - start
        time.sleep(3)


def test_a_sudo_on_the_app_host_reaches_the_log_host_within_a_minute(lab_state: LabState) -> None:
    app = _host(lab_state, "app")
    marker = f"ccaas-evidence-{uuid.uuid4().hex[:12]}"
    ssh(lab_state, app, f"sudo -n /usr/bin/true {marker}")
    lines, took = wait_for(lab_state, marker, 1, WITHIN_S, app.name)
    timeline.say("logs", f"sudo on {app.name} on the log host after {took:.1f} s ({len(lines)} lines)")
    sudo = [line for line in lines if " sudo:" in line or " sudo[" in line]
    assert sudo, f"no sudo record with {marker} on the log host within {WITHIN_S} s: {lines}"
    record = sudo[0]
    assert f" {app.name} " in record, f"the record does not name the host: {record}"
    assert f"{app.user} :" in record and "USER=root" in record, f"the record does not name the user: {record}"
    assert f"COMMAND=/usr/bin/true {marker}" in record
    # filed under the sending host, in the day's file
    log_host = _host(lab_state, "loghost")
    files = ssh(lab_state, log_host, f"sudo -n grep -rlF --exclude-dir={log_host.name} -- {marker} {STORE}").split()
    assert files and all(f.startswith(f"{STORE}/{app.name}/") and f.endswith(".log") for f in files), files


def _relp_frame(txnr: int, command: str, data: bytes = b"") -> bytes:
    """One RELP frame: TXNR SP COMMAND SP DATALEN [SP DATA] LF (the protocol rsyslog's imrelp speaks)."""
    return f"{txnr} {command} {len(data)}".encode() + (b" " + data if data else b"") + b"\n"


def _relp_reply(tls: ssl.SSLSocket, txnr: int) -> str:
    """The receiver's response to transaction ``txnr`` ("200 OK", ...), or how the connection ended."""
    buffer = b""
    while True:
        try:
            chunk = tls.recv(4096)
        except (ssl.SSLError, OSError) as error:
            return f"no reply: {error}"
        if not chunk:
            return "no reply: closed by the receiver"
        buffer += chunk
        for line in buffer.split(b"\n"):
            parts = line.split(b" ", 3)
            if len(parts) == 4 and parts[0] == str(txnr).encode() and parts[1] == b"rsp":
                return parts[3].decode(errors="replace").split("\n")[0]


def _tls_send(lab_state: LabState, tmp_path: Path, marker: str, cert: log_pki.Issued | None, ca_pem: str) -> str:
    """Send one syslog message to the log host's receiver as a RELP-over-TLS client; returns what happened.

    Our own client (Python's ssl + the RELP framing), so the refusals are judged from outside rsyslog.
    """
    log_host = _host(lab_state, "loghost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cadata=ca_pem)  # we verify the log host too: the lab CA names it
    if cert is not None:
        (tmp_path / "c.pem").write_text(cert.cert_pem)
        (tmp_path / "k.pem").write_text(cert.key_pem)
        context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    message = f"<13>1 2026-12-04T00:00:00Z {marker.split('-')[0]}-host test - - - {marker}".encode()
    offer = b"relp_version=0\nrelp_software=ccsec-test\ncommands=syslog"
    try:
        name = log_tls_name(log_host.name, lab_state.stack)
        with (
            socket.create_connection(("127.0.0.1", LOG_PORT), timeout=15) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            tls.sendall(_relp_frame(1, "open", offer))
            opened = _relp_reply(tls, 1)
            if not opened.startswith("200"):
                return f"open refused: {opened}"
            tls.sendall(_relp_frame(2, "syslog", message))
            return f"syslog: {_relp_reply(tls, 2)}"
    except (ssl.SSLError, OSError) as error:
        return f"refused: {error}"


def test_only_certificates_of_the_stack_log_ca_naming_a_stack_host_are_admitted(
    lab_state: LabState, tmp_path: Path
) -> None:
    directory = work_dir()
    ca = log_pki.Issued((directory / api.LOG_CA_CERT).read_text(), (directory / api.LOG_CA_KEY).read_text())
    stranger = log_pki.new_ca(f"{lab_state.stack} lab log CA")  # same subject, another key
    stack = lab_state.stack
    expired_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    attempts = {
        "nocert": None,
        "stranger": log_pki.issue(stranger, f"lab-app-1.{stack}.logs.ccaas.internal"),
        "othername": log_pki.issue(ca, "lab-app-1.other.logs.ccaas.internal"),
        "nodomain": log_pki.issue(ca, "lab-app-1"),
        "suffix": log_pki.issue(ca, f"lab-app-1.{stack}.logs.ccaas.internal.evil.example"),
        "expired": log_pki.issue(
            ca,
            f"lab-app-1.{stack}.logs.ccaas.internal",
            not_before=expired_at - datetime.timedelta(days=1),
            not_after=expired_at,
        ),
    }
    run = uuid.uuid4().hex[:10]
    outcomes = {
        what: _tls_send(lab_state, tmp_path, f"{what}-{run}", cert, ca.cert_pem) for what, cert in attempts.items()
    }
    # the positive control: a certificate the receiver must admit, sent last, so the refused ones had time
    admitted = log_pki.issue(ca, f"lab-probe-1.{stack}.logs.ccaas.internal")
    outcomes["admitted"] = _tls_send(lab_state, tmp_path, f"admitted-{run}", admitted, ca.cert_pem)
    lines, _ = wait_for(lab_state, f"admitted-{run}", 1, WITHIN_S)
    timeline.say("logs", f"RELP/TLS client outcomes: {outcomes}")
    assert outcomes["admitted"] == "syslog: 200 OK", outcomes["admitted"]
    assert lines, f"the positive control never arrived ({outcomes['admitted']}): the refusals below prove nothing"
    acknowledged = sorted(what for what in attempts if outcomes[what].startswith("syslog: 200"))
    assert not acknowledged, f"the receiver acknowledged messages it must refuse: {acknowledged} ({outcomes})"
    stored = {what for what in attempts if store_lines(lab_state, f"{what}-{run}")}
    assert not stored, f"stored although the certificate must be refused: {sorted(stored)} ({outcomes})"


def _outage(lab_state: LabState, label: str) -> tuple[list[str], str]:
    """Stop the receiver, log QUEUED_MESSAGES on app at once, start the receiver again.

    Returns the numbers that never arrived and a line for the timeline.
    """
    app, log_host = _host(lab_state, "app"), _host(lab_state, "loghost")
    marker = f"ccaas-{label}-{uuid.uuid4().hex[:10]}"
    ssh(lab_state, log_host, "sudo -n systemctl stop ccaas-log-receiver.service")
    try:
        ssh(lab_state, app, f'for i in $(seq 1 {QUEUED_MESSAGES}); do logger -t ccaas-queue-test "{marker} $i"; done')
        time.sleep(5)
        queued = ssh(lab_state, app, "sudo -n sh -c 'du -cb /var/spool/rsyslog/ccaas_* | tail -1'").split()[0]
    finally:
        ssh(lab_state, log_host, "sudo -n systemctl start ccaas-log-receiver.service")
    started = time.monotonic()
    lines, _ = wait_for(lab_state, marker, QUEUED_MESSAGES, DRAIN_S, app.name)
    numbers = {line.rsplit(" ", 1)[1] for line in lines if marker in line}
    missing = sorted(set(map(str, range(1, QUEUED_MESSAGES + 1))) - numbers, key=int)
    report = (
        f"{label}: {queued} bytes queued on {app.name}; {len(numbers)}/{QUEUED_MESSAGES} arrived "
        f"{time.monotonic() - started:.0f} s after the receiver restarted ({len(lines) - len(numbers)} duplicates)"
    )
    timeline.say("logs", report)
    return missing, report


def test_a_receiver_that_stops_and_comes_back_loses_nothing(lab_state: LabState) -> None:
    """RELP: what the sender handed over in the moment the receiver went away is sent again."""
    missing, report = _outage(lab_state, "outage")
    assert not missing, f"lost {len(missing)}: {missing[:20]} ({report})"
