"""Offline checks of what bounds a run: the storage probe, the process-group timeout, the free-space gate.

The probe is tried against real sockets on loopback (an HTTP server, one that accepts and never
answers, a closed port, a TLS server with an unknown certificate); the timeout against a real
process tree; the free-space gate against a filesystem whose statvfs says it is full.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from ccsec.backup import diskspace
from ccsec.backup.config import ConfigError, parse
from ccsec.backup.diskspace import DiskFullError, note_if_full, require_free
from ccsec.backup.errors import BackupError, StorageUnavailableError
from ccsec.backup.probe import http_answers, url_answers
from ccsec.backup.proc import run


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)  # any status is an answer: the probe sends no credentials
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def silent() -> Iterator[int]:
    """Accepts connections (the kernel backlog does) and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener.getsockname()[1]
    listener.close()


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def test_an_http_answer_of_any_status_passes(answering: int) -> None:
    http_answers("127.0.0.1", answering, tls=False, what="Swift", timeout=5)
    url_answers(f"http://127.0.0.1:{answering}/auth/v1.0", what="Swift auth endpoint", timeout=5)


def test_silence_fails_within_the_deadline_and_says_hung(silent: int) -> None:
    t0 = time.monotonic()
    with pytest.raises(StorageUnavailableError) as info:
        http_answers("127.0.0.1", silent, tls=False, what="Swift S3 endpoint", timeout=1.5)
    assert time.monotonic() - t0 < 5
    assert "sent no answer within 2s" in str(info.value) and f"127.0.0.1:{silent}" in str(info.value)


def test_silent_tls_endpoint_fails_within_the_deadline(silent: int) -> None:
    t0 = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="sent no answer"):
        http_answers("127.0.0.1", silent, tls=True, what="Swift S3 endpoint", timeout=1.5)
    assert time.monotonic() - t0 < 5


def test_refused_connection_is_unavailable_not_hung() -> None:
    port = closed_port()
    with pytest.raises(StorageUnavailableError) as info:
        http_answers("127.0.0.1", port, tls=False, what="Swift", timeout=5)
    assert "refused" in str(info.value).lower() and "no answer" not in str(info.value)


def test_tls_with_an_untrusted_certificate_is_refused(answering: int, tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert), "-days", "1"),
        ],
        check=True,
        capture_output=True,
    )
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        with pytest.raises(StorageUnavailableError, match="TLS handshake failed"):
            http_answers("127.0.0.1", port, tls=True, what="Swift S3 endpoint", timeout=5)
        http_answers("127.0.0.1", port, tls=True, what="Swift S3 endpoint", verify_tls=False, timeout=5)
    finally:
        server.shutdown()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "127.0.0.1:8080", "https://:443/", "https://h:99999/"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(StorageUnavailableError, match="Swift auth endpoint"):
        url_answers(url, what="Swift auth endpoint", timeout=1)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_timeout_kills_the_whole_process_group_not_only_the_child(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # the child starts a grandchild (as runuser starts pgbackrest) and both would run for 5 minutes
    script = f"sleep 300 & echo $! > {pids}; echo $$ >> {pids}; wait"
    t0 = time.monotonic()
    with pytest.raises(BackupError) as info:
        run(["sh", "-c", script], {"PATH": os.environ["PATH"]}, timeout=1.5)
    assert time.monotonic() - t0 < 30
    assert "timed out after 2s" in str(info.value) and "process group killed" in str(info.value)
    started = [int(x) for x in pids.read_text().split()]
    assert len(started) == 2
    time.sleep(0.2)
    assert not [p for p in started if _alive(p)], "a process of the timed-out command survived"


def test_timeout_message_never_carries_a_secret(tmp_path: Path) -> None:
    script = tmp_path / "s3cr3t-value"
    script.write_text("sleep 30\n")
    with pytest.raises(BackupError) as info:
        run(["sh", str(script)], {"PATH": os.environ["PATH"]}, timeout=0.5, secrets=["s3cr3t-value"])
    assert "timed out" in str(info.value) and "s3cr3t-value" not in str(info.value)


def _statvfs_with(free_blocks: int, frsize: int = 4096):
    real = os.statvfs

    def fake(path):
        st = real(path)
        return os.statvfs_result((st.f_bsize, frsize, st.f_blocks, free_blocks, free_blocks, *tuple(st)[5:]))

    return fake


def test_free_space_gate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(diskspace.os, "statvfs", _statvfs_with(free_blocks=100))  # 400 KiB free
    with pytest.raises(DiskFullError) as info:
        require_free(tmp_path / "state" / "not-made-yet", 1)
    assert "no space left on device" in str(info.value) and "400 KiB free" in str(info.value)
    assert str(tmp_path / "state" / "not-made-yet") in str(info.value)
    assert note_if_full(tmp_path, 1).startswith("; ")
    require_free(tmp_path, 0)  # 0 = refuse only a completely full filesystem
    monkeypatch.setattr(diskspace.os, "statvfs", _statvfs_with(free_blocks=0))
    with pytest.raises(DiskFullError):
        require_free(tmp_path, 0)
    monkeypatch.setattr(diskspace.os, "statvfs", _statvfs_with(free_blocks=1 << 20))  # 4 GiB
    require_free(tmp_path, 128)
    assert note_if_full(tmp_path, 128) == ""


BASE = '[agent]\nhost = "rec-01"\nstate_dir = "/var/lib/x"\nmetrics_dir = "/var/lib/m"\n'


@pytest.mark.parametrize(("value", "ok"), [("0", True), ("128", True), ("-1", False), ('"64"', False), ("1.5", False)])
def test_min_free_mib_is_validated(value: str, ok: bool) -> None:
    text = BASE + f"min_free_mib = {value}\n"
    if ok:
        assert parse(tomllib.loads(text)).agent.min_free_mib == int(value)
    else:
        with pytest.raises(ConfigError, match=r"agent\.min_free_mib"):
            parse(tomllib.loads(text))


def test_min_free_mib_defaults_to_128() -> None:
    assert parse(tomllib.loads(BASE)).agent.min_free_mib == 128


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["runuser", "-u", "postgres", "--", "pgbackrest", "--config=/x", "--stanza=main", "backup"],
            "pgbackrest backup",
        ),
        (["/usr/bin/restic", "--repo", "swift:c:/h", "--cacert", "/ca.pem", "snapshots", "--json"], "restic snapshots"),
        (["restic", "--repo", "swift:backup:/h", "backup", "/srv"], "restic backup"),
        (["sh", "-c", "sleep 1"], "sh"),
        ([], "(empty command)"),
    ],
)
def test_a_timed_out_command_is_named_by_program_and_subcommand(argv: list[str], expected: str) -> None:
    from ccsec.backup.proc import describe

    assert describe(argv) == expected
