"""The lab state file: which VMs run, and how to reach each one with a pinned host key."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ccsec.backup.private_files import write_private
from ccsec.errors import CcsecError
from ccsec.lab.paths import state_file


@dataclass
class HostState:
    """One lab VM. ``known_hosts_file`` pins the host key generated for it (no trust on first use)."""

    name: str
    role: str
    ssh_host: str
    ssh_port: int
    user: str
    identity_file: str
    known_hosts_file: str
    https_port: int | None
    pid: int
    vm_dir: str
    console_log: str
    memory_mb: int
    host_key_public: str
    running: bool = False
    ready: bool = False


@dataclass
class LabState:
    """All VMs of one lab run."""

    stack: str
    accel: str
    base_image: str
    userdata_source: str
    ssh_config_file: str = ""
    hosts: list[HostState] = field(default_factory=list)
    # the Swift all-in-one db/recordings back up to: {"base": dir, "ports": {...}, "owned": bool}
    swift: dict | None = None

    def host(self, name_or_role: str) -> HostState:
        """The host with this name, or the first host of this role."""
        for h in self.hosts:
            if name_or_role in (h.name, h.role):
                return h
        raise KeyError(name_or_role)

    def to_json(self) -> str:
        """Serialise (no private key material is stored in the state file itself)."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        """Parse what :meth:`to_json` wrote."""
        raw = json.loads(text)
        hosts = [HostState(**h) for h in raw.pop("hosts", [])]
        return cls(**raw, hosts=hosts)


# A unix socket path holds 108 bytes; OpenSSH adds "/cm-" + 40 hex (%C) + a 17-byte temporary suffix.
_SOCKET_DIR_MAX = 108 - 1 - 4 - 40 - 17


class LabStateError(CcsecError):
    """The recorded lab state cannot be read (exit 2)."""


def _short_enough(directory: Path) -> Path:
    """``directory`` if sockets fit in it, else a private short dir in /tmp derived from it (deep work dirs,
    e.g. pytest's, made ssh fail with "too long for Unix domain socket")."""
    if len(str(directory)) <= _SOCKET_DIR_MAX:
        return directory
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    short = Path("/tmp") / f"ccsec-cm-{digest}"  # noqa: S108 - owner and mode are checked below
    short.mkdir(mode=0o700, exist_ok=True)
    info = short.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise LabStateError(f"{short} exists but is not a private directory of this user: remove it")
    return short


def ssh_config_text(state: LabState, control_dir: Path | None = None) -> str:
    """OpenSSH client config with one pinned ``Host`` block per VM (for ``ssh -F`` / testinfra ssh://).

    Connections are multiplexed (ControlMaster): under QEMU's software CPU one SSH handshake costs
    seconds, and the host suite runs hundreds of commands per host.
    """
    control = control_dir or (Path(state.ssh_config_file).parent if state.ssh_config_file else None)
    control = _short_enough(control) if control else None
    multiplex = f"  ControlMaster auto\n  ControlPath {control}/cm-%C\n  ControlPersist 300\n" if control else ""
    blocks = []
    for h in state.hosts:
        blocks.append(
            f"Host {h.name}\n"
            f"  HostName {h.ssh_host}\n"
            f"  Port {h.ssh_port}\n"
            f"  User {h.user}\n"
            f"  IdentityFile {h.identity_file}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {h.known_hosts_file}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n" + multiplex
        )
    return "\n".join(blocks)


def save(state: LabState, path: Path | None = None) -> None:
    """Write the state atomically with mode 0600."""
    path = path or state_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, state.to_json())
    if state.ssh_config_file:
        write_private(state.ssh_config_file, ssh_config_text(state), 0o644)


def load(path: Path | None = None) -> LabState | None:
    """The saved state, or None if no lab is recorded."""
    path = path or state_file()
    if not path.is_file():
        return None
    try:
        return LabState.from_json(path.read_text())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
        raise LabStateError(
            f"lab state {path} is unreadable ({type(exc).__name__}); remove the lab's work dir, then `ccsec lab up`"
        ) from None
