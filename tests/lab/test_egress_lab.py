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
# On the VM as root: two TCP connects (unlisted port, log port), then whether the kernel logged the first drop.
# "dropped" when the SYN goes unanswered (an output drop is retried, not refused) or EPERM.
PROBE = (
    "import errno, socket, subprocess, sys\n"
    "def connect(port):\n"
    "    s = socket.socket(); s.settimeout(4)\n"
    "    try:\n"
    "        s.connect((sys.argv[1], port)); return 'connected'\n"
    "    except TimeoutError:\n"
    "        return 'dropped'\n"
    "    except OSError as e:\n"
    "        return 'dropped' if e.errno == errno.EPERM else errno.errorcode[e.errno]\n"
    "unlisted, log_port = int(sys.argv[2]), int(sys.argv[3])\n"
    "print(connect(unlisted), connect(log_port))\n"
    "kernel = subprocess.run(['journalctl', '-k', '-o', 'cat', '--grep', f'ccaas-egress-drop: .*DPT={unlisted} '],\n"
    "                        capture_output=True, text=True).stdout\n"
    "print('logged' if f'DPT={unlisted} ' in kernel else 'unlogged')\n"
)


def _ssh(lab_state: LabState, host: HostState, command: list[str]) -> str:
    remote = shlex.join(command)
    result = subprocess.run(
        ["ssh", "-F", lab_state.ssh_config_file, host.name, remote],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{host.name}: {command}: {result.stderr}"
    return result.stdout.strip()


def _probe_as_root(lab_state: LabState, host: HostState, unlisted: int) -> list[str]:
    """[unlisted port outcome, log port outcome, "logged" | "unlogged"] from one SSH session."""
    out = _ssh(lab_state, host, ["sudo", "-n", "python3", "-c", PROBE, LAB_GATEWAY, str(unlisted), str(LOG_PORT)])
    return out.split()


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
    outcomes = {host.name: _probe_as_root(lab_state, host, listener.port) for host in lab_state.hosts}
    timeline.say("egress", f"root on each VM: [unlisted port, log port, kernel log]: {outcomes}")
    assert listener.accepted == 0, f"the unlisted listener was reached: {outcomes}"
    for host in lab_state.hosts:
        expected = ["dropped", "dropped" if host.role == "loghost" else "connected", "logged"]
        assert outcomes[host.name] == expected, f"{host.name} ({host.role}): {outcomes[host.name]}, expected {expected}"
