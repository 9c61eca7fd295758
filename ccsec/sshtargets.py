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

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ccsec.errors import CcsecError
from ccsec.infra.config import ROLES
from ccsec.infra.userdata import LAB_GATEWAY  # the lab machine as a guest (the bastion) sees it
from ccsec.infra.validate import (
    Host,
    HostLabel,
    HostPublicKey,
    InvalidValue,
    IPAddress,
    Port,
    PosixUser,
    SafePath,
    refused_character,
)

KEY_TYPES = HostPublicKey.TYPES
MAX_OUTPUTS_BYTES = 16 << 20  # `pulumi stack output --json` of a large stack is well below this


class TargetError(CcsecError, ValueError):
    """A target value is unsafe or incomplete; the message names the field, not a secret."""


def _typed(kind, value: object, where: str):
    """``kind.parse(value, where)`` with the refusal as a TargetError."""
    try:
        return kind.parse(value, where)
    except InvalidValue as error:
        raise TargetError(str(error)) from None


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
        """Raise TargetError if any value could break out of its ssh_config line.

        Each value must parse as its validated type (:mod:`ccsec.infra.validate`): the alias a host label,
        the address an IPv4 address or DNS name (IPv6 and scope ids refused), the user a POSIX login, the
        identity file a safe absolute path, the host key a well-formed public key.
        """
        label = _typed(HostLabel, self.name, "host name")
        _typed(Host, self.address, f"{label}: address")
        _typed(Port, self.port, f"{label}: port")
        _typed(PosixUser, self.user, f"{label}: user")
        check_path(self.identity_file, f"{label}: identity file")
        parse_host_key(self.host_key, label)
        if self.jump is not None:
            jump = _typed(HostLabel, self.jump, f"{label}: jump host")
            if jump == self.name:
                raise TargetError(f"{label}: jump host is the host itself; name another target")


def check_path(path: object, what: str) -> str:
    """An absolute path safe to write into ssh_config (no spaces, quotes, '%', '~' or '..')."""
    return str(_typed(SafePath, path, what))


def parse_host_key(text: object, name: str) -> tuple[str, str]:
    """(type, base64 body) of a public key; the blob must decode, name the same type and have its size."""
    key = _typed(HostPublicKey, text, f"{name}: host key")
    return key.key_type, key.blob


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
    text = "\n".join(blocks)
    _assert_one_directive_per_line(text)
    return text


_LINE_RE = re.compile(r"^(?:Host [a-z0-9-]+|  [A-Z][A-Za-z]+ [A-Za-z0-9._/%+-]+|)$")


def _assert_one_directive_per_line(text: str) -> None:
    """Defence in depth: each line is ``Host <alias>`` or one ``  Keyword value`` with a token-safe value."""
    for number, line in enumerate(text.split("\n"), 1):
        if not _LINE_RE.match(line):
            raise TargetError(f"ssh_config line {number}: refused to write a line that is not one plain directive")


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


def _known_hosts_name(name: str, where: str) -> str:
    """A known_hosts host field entry: a host label or an IPv4 address (no patterns, hashes or ports)."""
    if name.startswith("|"):
        raise TargetError(f"{where}: hashed host names are refused; export plain '<name>,<ip>' fields")
    if HostLabel.check(name) is None or IPAddress.check(name) is None:
        return name
    raise TargetError(
        f"{where}: host field must list host names or IPv4 addresses (no patterns, '[host]:port' or IPv6)"
    )


def parse_known_hosts(text: str) -> dict[str, str]:
    """The stack's ``known_hosts`` output (``name,ip type key`` lines) as name -> "type key".

    Refused (the output is attacker-reachable): a line with a control character or a Unicode line
    separator (only ``\n`` ends a line, a trailing ``\r`` is tolerated), ``@cert-authority`` /
    ``@revoked`` markers (whatever their case), hashed or wildcard names, a key that does not parse,
    and a name pinned twice with different keys. Messages give the line number, never the line.
    """
    if not isinstance(text, str):
        raise TargetError("known_hosts: expected text")
    keys: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), 1):
        where = f"known_hosts line {number}"
        line = line.removesuffix("\r")
        bad = refused_character(line.replace("\t", " "))
        if bad:
            raise TargetError(f"{where}: contains {bad}; one entry per line, fields separated by spaces")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("@"):
            raise TargetError(f"{where}: markers (@cert-authority, @revoked) are refused: pin each host's own key")
        fields = line.split()
        if len(fields) not in (3, 4):
            raise TargetError(f"{where}: expected '<names> <type> <key> [comment]'")
        key_type, blob = parse_host_key(f"{fields[1]} {fields[2]}", where)
        for name in fields[0].split(","):
            _known_hosts_name(name, where)
            pinned = f"{key_type} {blob}"
            if keys.get(name, pinned) != pinned:
                raise TargetError(f"{where}: a second, different key for a host already pinned; keep one")
            keys[name] = pinned
    return keys


def targets_from_outputs(outputs: dict, known_hosts_text: str, user: str, identity_file: str) -> list[SshTarget]:
    """Stack outputs (``hosts``, ``bastion_addresses``) + the pinned keys: bastions direct, the rest via one.

    Every host must have a pinned key: a host without one is an error, never trusted on first use.
    Every output value is parsed into its validated type first (host label, role, IPv4 address or DNS
    name); ``user`` (``--user``) must be a POSIX login and ``identity_file`` (``--identity``) a safe path.
    """
    user = str(_typed(PosixUser, user, "--user"))
    identity_file = check_path(identity_file, "--identity")
    hosts = outputs.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise TargetError("stack outputs: 'hosts' is missing or empty (export `hosts` from the program)")
    keys = parse_known_hosts(known_hosts_text)
    bastion_addresses = outputs.get("bastion_addresses") or []
    if not isinstance(bastion_addresses, list):
        raise TargetError("stack outputs: 'bastion_addresses' must be a list")
    addresses = [_typed(Host, a, f"stack outputs: bastion_addresses[{i}]") for i, a in enumerate(bastion_addresses)]
    parsed = []
    for index, h in enumerate(hosts):
        where = f"stack outputs: hosts[{index}]"
        if not isinstance(h, dict) or not {"name", "role", "ip"} <= set(h):
            raise TargetError(f"{where}: each entry of 'hosts' needs name, role and ip")
        name = _typed(HostLabel, h["name"], f"{where}.name")
        if h["role"] not in ROLES:
            raise TargetError(f"{where}.role: must be one of {', '.join(ROLES)}")
        parsed.append((str(name), h["role"], str(_typed(IPAddress, h["ip"], f"{where}.ip"))))
    bastions = [p for p in parsed if p[1] == "bastion"]
    if len(addresses) < len(bastions) or not bastions:
        raise TargetError("stack outputs: every bastion needs an address in 'bastion_addresses'")
    jump = bastions[0][0]
    targets = []
    for entry in parsed:
        name, role, ip = entry
        if name not in keys:
            raise TargetError(f"{name}: no pinned host key in known_hosts (refusing trust on first use)")
        is_bastion = role == "bastion"
        address = str(addresses[bastions.index(entry)]) if is_bastion else ip
        targets.append(SshTarget(name, address, 22, user, identity_file, keys[name], None if is_bastion else jump))
    validate_all(targets)
    return targets


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("an object has a duplicate key")
    return dict(pairs)


def load_outputs(path: Path) -> dict:
    """`pulumi stack output --json` saved to a file (plain outputs; secrets show as "[secret]")."""
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_OUTPUTS_BYTES + 1)
        if len(data) > MAX_OUTPUTS_BYTES:
            raise ValueError(f"larger than {MAX_OUTPUTS_BYTES} bytes")
        document = json.loads(data, object_pairs_hook=_no_duplicate_keys)
    except OSError as error:
        raise TargetError(f"--outputs {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:  # position only: the file may hold secrets (--show-secrets)
        raise TargetError(f"--outputs {path}: not JSON (line {error.lineno}, column {error.colno})") from None
    except (ValueError, RecursionError) as error:
        raise TargetError(
            f"--outputs {path}: {error if isinstance(error, ValueError) else 'nested too deeply'}"
        ) from None
    if not isinstance(document, dict):
        raise TargetError(f"--outputs {path}: expected the JSON object of `pulumi stack output --json`")
    return document
