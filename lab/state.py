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
from ccsec.infra.config import ROLES
from ccsec.infra.validate import Host, HostLabel, HostPublicKey, InvalidValue, Port, PosixUser, SafePath
from ccsec.lab.paths import state_file

MAX_STATE_BYTES = 1 << 20


class LabStateError(CcsecError):
    """The recorded lab state cannot be read, or holds a value that may not reach an ssh_config (exit 2)."""


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

    def problems(self, where: str) -> list[str]:
        """Every field that is not its validated type (the state is read back from disk: external input)."""
        found: list[str] = []

        def check(kind: type, value: object, key: str) -> None:
            try:
                kind.parse(value, f"{where}.{key}")
            except InvalidValue as error:
                found.append(str(error))

        check(HostLabel, self.name, "name")
        if self.role not in ROLES:
            found.append(f"{where}.role: must be one of {', '.join(ROLES)}")
        check(Host, self.ssh_host, "ssh_host")
        if not (self.ssh_port == 0 and self.pid == 0):  # 0/0: recorded before its VM started (no port yet)
            check(Port, self.ssh_port, "ssh_port")
        check(PosixUser, self.user, "user")
        for key in ("identity_file", "known_hosts_file", "vm_dir"):
            check(SafePath, getattr(self, key), key)
        if self.console_log:
            check(SafePath, self.console_log, "console_log")
        if self.https_port is not None:
            check(Port, self.https_port, "https_port")
        for key in ("pid", "memory_mb"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                found.append(f"{where}.{key}: must be a non-negative integer")
        check(HostPublicKey, self.host_key_public, "host_key_public")
        return found


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

    def validate(self, source: str = "lab state") -> None:
        """Raise LabStateError listing every unsafe or malformed value (key paths, never the values)."""
        problems = [p for i, h in enumerate(self.hosts) for p in h.problems(f"{source}: hosts[{i}]")]
        if self.ssh_config_file:
            try:
                SafePath.parse(self.ssh_config_file, f"{source}: ssh_config_file")
            except InvalidValue as error:
                problems.append(str(error))
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            problems.append(f"{source}: hosts: names must be unique")
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            raise LabStateError(f"{source} is invalid ({count})", problems)

    def to_json(self) -> str:
        """Serialise (no private key material is stored in the state file itself)."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        """Parse what :meth:`to_json` wrote."""
        try:
            raw = json.loads(text)
            hosts = [HostState(**h) for h in raw.pop("hosts", [])]
            state = cls(**raw, hosts=hosts)
        except (ValueError, TypeError, AttributeError, RecursionError):
            raise LabStateError(
                "lab state is unreadable: not a file written by `ccsec lab up` (run `ccsec lab down`)"
            ) from None
        state.validate()
        return state


# A unix socket path holds 108 bytes; OpenSSH adds "/cm-" + 40 hex (%C) + a 17-byte temporary suffix.
_SOCKET_DIR_MAX = 108 - 1 - 4 - 40 - 17


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
    state.validate()
    control = _short_enough(control) if control else None
    if control is not None:
        SafePath.parse(str(control), "lab control dir")
    multiplex = f"  ControlMaster auto\n  ControlPath {control}/cm-%C\n  ControlPersist 300\n" if control else ""
    blocks = []
    for h in state.hosts:
        if h.ssh_port == 0:  # not started yet: nothing to reach
            continue
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
        try:
            text = ssh_config_text(state)
        except LabStateError:
            Path(state.ssh_config_file).unlink(missing_ok=True)  # never leave a config for other values
            raise
        write_private(state.ssh_config_file, text, 0o644)


def load(path: Path | None = None) -> LabState | None:
    """The saved state, or None if no lab is recorded."""
    path = path or state_file()
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        data = handle.read(MAX_STATE_BYTES + 1)
    if len(data) > MAX_STATE_BYTES:
        raise LabStateError(f"lab state {path}: larger than {MAX_STATE_BYTES} bytes (run `ccsec lab down`)")
    return LabState.from_json(data.decode("utf-8", errors="replace"))
