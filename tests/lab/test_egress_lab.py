"""HOST-04 egress on booted lab VMs: a connection the role model does not list never leaves the host.

Every lab VM reaches the lab machine as 10.0.2.2 (QEMU user networking), so a listener here on a port no role
may use is a real destination one SYN away. Each VM's root, the most privileged process there, tries it and
is dropped by its own output chain (the kernel logs the drop with that port); the listener sees nothing. The
positive control runs on the same path: the log host's forwarded receiver port (10.0.2.2, the lab's mgmt zone,
logging.port) is open to every sender and, by the same rules, closed to the log host itself, which keeps its
own stream on loopback. Runs before test_lab_e2e.py (module order), whose last test takes the lab down.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import threading

import pytest

from ccsec.infra.userdata import LAB_GATEWAY
from ccsec.lab.state import HostState, LabState
from tests.lab import timeline

pytestmark = pytest.mark.lab

LOG_PORT = 6514  # the lab stack's logging.port, forwarded from 127.0.0.1 to the log host's receiver
# One TCP connect from the VM; "dropped" when the SYN goes unanswered (an output drop is retried, not refused).
CONNECT = (
    "import errno, socket, sys\n"
    "s = socket.socket(); s.settimeout(4)\n"
    "try:\n"
    "    s.connect((sys.argv[1], int(sys.argv[2]))); print('connected')\n"
    "except TimeoutError:\n"
    "    print('dropped')\n"
    "except OSError as e:\n"
    "    print('dropped' if e.errno == errno.EPERM else errno.errorcode[e.errno])\n"
)


def _ssh(lab_state: LabState, host: HostState, command: list[str], allow_fail: bool = False) -> str:
    remote = shlex.join(command) + (" || true" if allow_fail else "")
    result = subprocess.run(
        ["ssh", "-F", lab_state.ssh_config_file, host.name, remote],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{host.name}: {command}: {result.stderr}"
    return result.stdout.strip()


def _connect_as_root(lab_state: LabState, host: HostState, port: int) -> str:
    return _ssh(lab_state, host, ["sudo", "-n", "python3", "-c", CONNECT, LAB_GATEWAY, str(port)])


class Listener:
    """A TCP listener on the lab machine's loopback (10.0.2.2 for the VMs) that counts who reached it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener():
    probe = Listener()
    yield probe
    probe.close()


def test_no_host_reaches_a_port_outside_its_flows_and_the_log_port_only_from_senders(
    lab_state: LabState, listener: Listener
) -> None:
    outcomes = {}
    for host in lab_state.hosts:
        outcomes[host.name] = (
            _connect_as_root(lab_state, host, listener.port),
            _connect_as_root(lab_state, host, LOG_PORT),
        )
        timeline.say(
            "egress", f"{host.name}: unlisted port {outcomes[host.name][0]}, log port {outcomes[host.name][1]}"
        )
    assert listener.accepted == 0, f"the unlisted listener was reached: {outcomes}"
    for host in lab_state.hosts:
        unlisted, log_port = outcomes[host.name]
        assert unlisted == "dropped", f"{host.name}: root reached 10.0.2.2:{listener.port}: {unlisted}"
        expected = "dropped" if host.role == "loghost" else "connected"
        assert log_port == expected, f"{host.name} ({host.role}) to the log port: {log_port}, expected {expected}"
        grep = ["--grep", f"ccaas-egress-drop: .*DPT={listener.port} "]
        kernel = _ssh(lab_state, host, ["sudo", "-n", "journalctl", "-k", "-o", "cat", *grep], allow_fail=True)
        assert f"DPT={listener.port}" in kernel, f"{host.name}: no logged egress drop for port {listener.port}"
