"""SSH targets for host checks: who to reach, through which bastion, with which pinned host key.

The host suite runs over OpenSSH (testinfra's ssh:// backend), so the way in is an ssh_config file.
This module renders it, and a known_hosts file, from validated values only: every name, address,
port, user and path is checked before it is written, so a stack output or lab state cannot inject
an ssh_config directive (newline, quote, ``%`` token, whitespace).

Hosts behind a bastion get ``ProxyJump <bastion>``: OpenSSH opens the jump connection with the same
``-F`` config, so both hops are checked against the pinned keys (``HostKeyAlias`` = the host's name,
``StrictHostKeyChecking yes``). testinfra's paramiko backend is not used: it accepts unknown keys.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ccsec.errors import CcsecError

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DNS_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9._/+-]*$")  # absolute, no whitespace, quotes, '%' tokens or '~'
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
LAB_GATEWAY = "10.0.2.2"  # QEMU user network: the lab host as seen from a guest (the bastion)


class TargetError(CcsecError, ValueError):
    """A target value is unsafe or incomplete; the message names the field, not a secret."""


@dataclass(frozen=True)
class SshTarget:
    """One host to check. ``jump`` names the bastion target to go through (None: direct)."""

    name: str
    address: str
    port: int
    user: str
    identity_file: str
    host_key: str  # "<type> <base64>", the pinned public key
    jump: str | None = None

    def validate(self) -> None:
        """Raise TargetError if any value could break out of its ssh_config line."""
        if not NAME_RE.fullmatch(self.name):
            raise TargetError(f"host name {self.name!r}: only a-z, 0-9 and '-' (max 63)")
        _check_address(self.name, self.address)
        if not isinstance(self.port, int) or isinstance(self.port, bool) or not 1 <= self.port <= 65535:
            raise TargetError(f"{self.name}: port {self.port!r} is not 1-65535")
        if not USER_RE.fullmatch(self.user):
            raise TargetError(f"{self.name}: user {self.user!r} is not a POSIX user name")
        check_path(self.identity_file, f"{self.name}: identity file")
        parse_host_key(self.host_key, self.name)
        if self.jump is not None and (not NAME_RE.fullmatch(self.jump) or self.jump == self.name):
            raise TargetError(f"{self.name}: jump host {self.jump!r} is not another target's name")


def _check_address(name: str, address: str) -> None:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if not DNS_RE.fullmatch(address):
            raise TargetError(f"{name}: address {address!r} is neither an IP address nor a DNS name") from None


def check_path(path: str, what: str) -> str:
    """An absolute path safe to write into ssh_config (no spaces, quotes, '%' or '~')."""
    if not PATH_RE.fullmatch(path) or "/../" in f"{path}/":
        raise TargetError(f"{what} {path!r}: must be an absolute path of letters, digits, '._/+-'")
    return path


def parse_host_key(text: str, name: str) -> tuple[str, str]:
    """(type, base64 body) of a public key; the body must decode and name the same type."""
    parts = text.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise TargetError(f"{name}: host key must be '<type> <base64>' with type in {', '.join(KEY_TYPES)}")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise TargetError(f"{name}: host key is not valid base64") from None
    if len(blob) < 4 or blob[4 : 4 + int.from_bytes(blob[:4], "big")] != parts[0].encode():
        raise TargetError(f"{name}: host key body does not match its type {parts[0]}")
    return parts[0], parts[1]


def validate_all(targets: list[SshTarget]) -> None:
    """Every target valid, names unique, every jump host one of the (direct) targets."""
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise TargetError("host names must be unique")
    direct = {t.name for t in targets if t.jump is None}
    for target in targets:
        target.validate()
        if target.jump is not None and target.jump not in direct:
            raise TargetError(f"{target.name}: jump host {target.jump!r} is not a directly reachable target")


def render_known_hosts(targets: list[SshTarget]) -> str:
    """One line per host, keyed by its name (the HostKeyAlias every Host block sets)."""
    return "".join(f"{t.name} {' '.join(parse_host_key(t.host_key, t.name))}\n" for t in targets)


def render_ssh_config(targets: list[SshTarget], known_hosts: Path, control_dir: Path | None = None) -> str:
    """OpenSSH client config: pinned keys on every hop, ProxyJump for hosts behind the bastion.

    ``control_dir`` enables connection multiplexing (the suite runs hundreds of commands per host);
    keep it short, a unix socket path is limited to ~100 bytes.
    """
    validate_all(targets)
    check_path(str(known_hosts), "known_hosts file")
    multiplex = ""
    if control_dir is not None:
        check_path(str(control_dir), "control dir")
        multiplex = f"  ControlMaster auto\n  ControlPath {control_dir}/%C\n  ControlPersist 120\n"
    blocks = []
    for t in targets:
        jump = f"  ProxyJump {t.jump}\n" if t.jump else ""
        blocks.append(
            f"Host {t.name}\n"
            f"  HostName {t.address}\n"
            f"  Port {t.port}\n"
            f"  User {t.user}\n"
            f"  IdentityFile {t.identity_file}\n"
            "  IdentitiesOnly yes\n"
            f"  HostKeyAlias {t.name}\n"
            f"  UserKnownHostsFile {known_hosts}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
            "  UpdateHostKeys no\n"
            "  BatchMode yes\n"
            "  ConnectTimeout 20\n"
            "  ServerAliveInterval 15\n"
            "  ServerAliveCountMax 4\n" + jump + multiplex
        )
    return "\n".join(blocks)


def targets_from_lab(lab) -> list[SshTarget]:
    """Lab VMs: the bastion directly (its 127.0.0.1 forward), every other host through it.

    Each VM has its own QEMU user network; from inside the bastion the lab machine is 10.0.2.2, where
    the other VMs' SSH forwards listen — the same path an administrator takes through a real bastion.
    """
    bastion = next((h for h in lab.hosts if h.role == "bastion"), None)
    targets = []
    for h in lab.hosts:
        behind = bastion is not None and h is not bastion
        targets.append(
            SshTarget(
                name=h.name,
                address=LAB_GATEWAY if behind else h.ssh_host,
                port=h.ssh_port,
                user=h.user,
                identity_file=h.identity_file,
                host_key=h.host_key_public,
                jump=bastion.name if behind else None,
            )
        )
    return targets


def parse_known_hosts(text: str) -> dict[str, str]:
    """The stack's ``known_hosts`` output (``name,ip type key`` lines) as name -> "type key"."""
    keys: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            raise TargetError(f"known_hosts line {number}: expected '<names> <type> <key>'")
        for name in fields[0].split(","):
            keys[name] = f"{fields[1]} {fields[2]}"
    return keys


def targets_from_outputs(outputs: dict, known_hosts_text: str, user: str, identity_file: str) -> list[SshTarget]:
    """Stack outputs (``hosts``, ``bastion_addresses``) + the pinned keys: bastions direct, the rest via one.

    Every host must have a pinned key: a host without one is an error, never trusted on first use.
    """
    hosts = outputs.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise TargetError("stack outputs: 'hosts' is missing or empty (export `hosts` from the program)")
    keys = parse_known_hosts(known_hosts_text)
    bastion_addresses = outputs.get("bastion_addresses") or []
    if not isinstance(bastion_addresses, list):
        raise TargetError("stack outputs: 'bastion_addresses' must be a list")
    bastions = [h for h in hosts if isinstance(h, dict) and h.get("role") == "bastion"]
    if len(bastion_addresses) < len(bastions) or not bastions:
        raise TargetError("stack outputs: every bastion needs an address in 'bastion_addresses'")
    jump = str(bastions[0].get("name"))
    targets = []
    for h in hosts:
        if not isinstance(h, dict) or not {"name", "role", "ip"} <= set(h):
            raise TargetError("stack outputs: each entry of 'hosts' needs name, role and ip")
        name = str(h["name"])
        if name not in keys:
            raise TargetError(f"{name}: no pinned host key in known_hosts (refusing trust on first use)")
        is_bastion = h["role"] == "bastion"
        address = str(bastion_addresses[bastions.index(h)]) if is_bastion else str(h["ip"])
        targets.append(SshTarget(name, address, 22, user, identity_file, keys[name], None if is_bastion else jump))
    validate_all(targets)
    return targets


def load_outputs(path: Path) -> dict:
    """`pulumi stack output --json` saved to a file (plain outputs; secrets show as "[secret]")."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise TargetError(f"--outputs {path}: {error}") from None
    if not isinstance(data, dict):
        raise TargetError(f"--outputs {path}: expected the JSON object of `pulumi stack output --json`")
    return data
