"""A minimal QMP (QEMU Machine Protocol) client: enough to hot-plug and remove a NIC.

Used by `ccsec judge` to give a lab VM a NIC on a TAP device inside a network namespace, so a
port scan can come from a network the host firewall does not trust.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from ccsec.errors import CcsecError


class QmpError(CcsecError, RuntimeError):
    """QEMU refused a command."""


class Qmp:
    """One QMP session over the VM's unix socket."""

    def __init__(self, path: Path, timeout: float = 30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("r")
        json.loads(self.reader.readline())  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments: Any) -> Any:
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = json.loads(self.reader.readline())
            if "event" in reply:
                continue
            if "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc')}")
            return reply.get("return")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> Qmp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
