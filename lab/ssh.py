"""SSH to lab VMs with paramiko, host key pinned from the lab's known_hosts file (RejectPolicy)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

# Errors that mean "not up yet"; a BadHostKeyException is never among them.
_TRANSIENT = (
    paramiko.ssh_exception.NoValidConnectionsError,
    socket.timeout,
    ConnectionError,
    EOFError,
    OSError,
)


def connect(
    host: str, port: int, user: str, identity_file: str | Path, known_hosts_file: str | Path, timeout: float = 15.0
) -> paramiko.SSHClient:
    """Connect with the pinned host key only: unknown or mismatching keys are rejected."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts_file))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = paramiko.Ed25519Key.from_private_key_file(str(identity_file))
    client.connect(
        host,
        port=port,
        username=user,
        pkey=key,
        timeout=timeout,
        banner_timeout=timeout,
        auth_timeout=timeout,
        allow_agent=False,
        look_for_keys=False,
    )
    return client


def run(
    client: paramiko.SSHClient, command: str, timeout: float = 600.0, tick: Callable[[], None] | None = None
) -> tuple[int, str, str]:
    """Run a command; return (exit status, stdout, stderr). ``tick`` runs every 2 s while waiting."""
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    if tick:
        deadline = time.monotonic() + timeout
        while not stdout.channel.exit_status_ready() and time.monotonic() < deadline:
            tick()
            time.sleep(2.0)
    out = stdout.read().decode(errors="replace")
    err = stderr.read().decode(errors="replace")
    return stdout.channel.recv_exit_status(), out, err


def wait_connect(
    host: str,
    port: int,
    user: str,
    identity_file: str | Path,
    known_hosts_file: str | Path,
    deadline: float,
    alive: Callable[[], bool] | None = None,
    tick: Callable[[], None] | None = None,
) -> paramiko.SSHClient:
    """Retry :func:`connect` until ``deadline`` (monotonic); host key mismatches fail at once.

    ``alive`` returns False when the VM died (stop waiting); ``tick`` runs between attempts
    (progress reporting).
    """
    last: Exception | None = None
    transport_log = logging.getLogger("paramiko.transport")
    level = transport_log.level
    transport_log.setLevel(logging.CRITICAL)  # "Error reading SSH protocol banner" is expected while booting
    try:
        while time.monotonic() < deadline:
            if tick:
                tick()
            if alive and not alive():
                raise RuntimeError("VM exited while waiting for SSH")
            try:
                return connect(host, port, user, identity_file, known_hosts_file, timeout=5.0)
            except paramiko.BadHostKeyException:
                raise
            except paramiko.AuthenticationException as exc:
                last = exc  # sshd is up but the account is not ready yet (cloud-init still running)
            except paramiko.SSHException as exc:
                last = exc  # e.g. banner not received: slirp accepted but sshd is not listening yet
            except _TRANSIENT as exc:
                last = exc
            time.sleep(2.0)
    finally:
        transport_log.setLevel(level)
    raise TimeoutError(f"SSH to {user}@{host}:{port} not ready before the deadline (last error: {last})")
