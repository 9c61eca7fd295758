"""The host suite's SSH trust rule, whatever the spelling: only OpenSSH with pinned host keys.

testinfra picks a backend from each ``--hosts`` entry's scheme (``urllib`` parses it, so ``PARAMIKO://``,
`` paramiko://`` and ``para\\tmiko://`` all mean paramiko), else from ``--connection``, else paramiko
(for a bare host name) or local (no host). Its paramiko backend uses ``WarningPolicy`` (any host key is
accepted), and docker/podman/kubectl/ansible/salt/winrm/lxc/chroot/openshift either do not use SSH
or take their trust settings from configuration this suite cannot see.

The rule (:func:`check_suite_options`), applied by ``tests/hosts/conftest.py``:

1. every ``--hosts`` entry resolves — exactly as testinfra resolves it — to the ``ssh`` backend and
   names a bare host alias (no ``user@``, ``:port``, password, ``?ssh_config=``/query, path);
   ``--connection``, if given, is ``ssh`` (any case); ``local://`` is refused too (decision: the suite
   proves the state of a *remote* host reached over a pinned channel; ``local`` would check the machine
   running pytest — e.g. the drift runner — and report it as a host; a self-check on a host uses
   ``ssh`` to itself with its pinned key);
2. ``--ssh-extra-args`` is refused (an extra ``-o`` option could turn host-key checking off and override the config);
3. ``--ssh-config`` is given, and OpenSSH's own reading of it (``ssh -G -F FILE <host>``) for every host
   and every ``ProxyJump`` hop says ``stricthostkeychecking true`` (``yes``), names
   ``userknownhostsfile`` files that all exist (not ``/dev/null``), and sets no ``proxycommand``,
   ``knownhostscommand`` or ``permitlocalcommand yes`` (commands run on the test runner).

Violations raise :class:`SshTrustError`; the conftest turns it into ``pytest.UsageError``.
"""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path

from ccsec.infra.validate import HostLabel, SafePath, refused_character

ALLOWED_BACKEND = "ssh"
MAX_JUMPS = 4


class SshTrustError(ValueError):
    """The suite's options would reach a host without a pinned host key."""


def effective_backend(hostspec: str | None, connection: str | None) -> tuple[str, str | None, str]:
    """(backend, host, query) the way ``testinfra.backend.get_backends`` picks them for one entry."""
    host: str | None = hostspec
    scheme = ""
    query = ""
    if hostspec is not None and "://" in hostspec:
        url = urllib.parse.urlparse(hostspec)
        scheme, host, query = url.scheme, url.netloc, url.query + url.params + url.fragment + url.path
    backend = scheme or connection or ""
    if not backend:
        backend = "local" if host is None else "paramiko"
    return backend.lower(), host, query


def check_hosts(hosts: str | None, connection: str | None, ssh_extra_args: str | None = None) -> list[str]:
    """The host aliases of ``--hosts``; SshTrustError unless every entry is ``ssh://<alias>``."""
    if connection is not None and connection.strip().lower() != ALLOWED_BACKEND:
        raise SshTrustError(
            "--connection: only 'ssh' is allowed (OpenSSH with pinned host keys); testinfra's paramiko backend "
            "accepts any host key and the other backends do not pin SSH host keys"
        )
    if ssh_extra_args:
        raise SshTrustError(
            "--ssh-extra-args is refused: extra ssh options could relax host-key checking; put settings in --ssh-config"
        )
    if hosts is None or not str(hosts).strip():
        raise SshTrustError(
            "--hosts is required: ssh://<name>[,ssh://<name>...] with --ssh-config (no local:// default)"
        )
    aliases = []
    for index, entry in enumerate(str(hosts).split(",")):
        backend, host, query = effective_backend(entry, connection)
        where = f"--hosts entry {index + 1}"
        if backend != ALLOWED_BACKEND:
            raise SshTrustError(
                f"{where}: backend '{backend[:20]}' is refused: only ssh:// (OpenSSH with StrictHostKeyChecking yes "
                "and a pinned UserKnownHostsFile) is allowed; paramiko:// accepts any host key"
            )
        if query:
            raise SshTrustError(f"{where}: options in the host URL ('?ssh_config=...', paths) are refused")
        spelled_ssh = entry.lower().startswith("ssh://") if "://" in entry else connection is not None
        if entry != entry.strip() or refused_character(entry) or not spelled_ssh:
            raise SshTrustError(f"{where}: write it as 'ssh://<name>' (no spaces or control characters)")
        problem = HostLabel.check(host)
        if problem:
            raise SshTrustError(
                f"{where}: the host must be a bare ssh_config alias ({problem}); users, ports and addresses "
                "belong in --ssh-config"
            )
        aliases.append(str(host))
    return aliases


def resolved(ssh_config: Path, host: str) -> dict[str, str]:
    """OpenSSH's effective client settings for ``host`` under ``ssh_config`` (lower-case keys; repeats joined)."""
    completed = subprocess.run(
        ["ssh", "-G", "-F", str(ssh_config), "--", host],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={**os.environ, "LC_ALL": "C"},
    )
    if completed.returncode != 0:
        raise SshTrustError(f"--ssh-config {ssh_config}: OpenSSH cannot read it for host {host} (ssh -G failed)")
    options: dict[str, str] = {}
    for line in completed.stdout.splitlines():
        key, _, value = line.partition(" ")
        options[key] = f"{options[key]} {value}" if key in options else value
    return options


def _jump_hops(proxyjump: str) -> list[str]:
    hops = []
    for hop in proxyjump.split(","):
        hop = hop.removeprefix("ssh://").rsplit("@", 1)[-1]
        hops.append(hop.split(":", 1)[0] if hop.count(":") == 1 else hop)
    return hops


def check_pinned(ssh_config: Path, host: str, depth: int = 0) -> None:
    """SshTrustError unless OpenSSH would check ``host`` (and each jump hop) against existing pinned keys."""
    options = resolved(ssh_config, host)
    where = f"--ssh-config {ssh_config}, host {host}"
    if options.get("stricthostkeychecking", "").lower() not in ("true", "yes"):
        raise SshTrustError(f"{where}: StrictHostKeyChecking must be yes (unknown or changed host keys refused)")
    files = options.get("userknownhostsfile", "").split()
    missing = [f for f in files if f == "/dev/null" or not Path(os.path.expanduser(f)).is_file()]
    if not files or missing:
        raise SshTrustError(
            f"{where}: UserKnownHostsFile must name existing files holding the pinned keys "
            f"(missing or /dev/null: {', '.join(missing) or 'none set'})"
        )
    if options.get("proxycommand", "none").lower() != "none":
        raise SshTrustError(f"{where}: ProxyCommand is refused (runs a command on this machine); use ProxyJump")
    if options.get("knownhostscommand", "none").lower() != "none":
        raise SshTrustError(f"{where}: KnownHostsCommand is refused; pin keys in UserKnownHostsFile")
    if options.get("permitlocalcommand", "no").lower() not in ("no", "false"):
        raise SshTrustError(f"{where}: PermitLocalCommand is refused")
    jump = options.get("proxyjump", "none")
    if jump.lower() != "none":
        if depth >= MAX_JUMPS:
            raise SshTrustError(f"{where}: more than {MAX_JUMPS} ProxyJump hops")
        for hop in _jump_hops(jump):
            check_pinned(ssh_config, hop, depth + 1)


def check_suite_options(
    hosts: str | None, connection: str | None, ssh_config: str | None, ssh_extra_args: str | None = None
) -> list[str]:
    """The whole rule (see the module doc); returns the host aliases."""
    aliases = check_hosts(hosts, connection, ssh_extra_args)
    if not ssh_config:
        raise SshTrustError("--ssh-config is required: a file with StrictHostKeyChecking yes and UserKnownHostsFile")
    problem = SafePath.check(str(Path(ssh_config).absolute()))
    if problem:
        raise SshTrustError(f"--ssh-config: {problem}")
    path = Path(ssh_config)
    if not path.is_file():
        raise SshTrustError(f"--ssh-config {ssh_config}: not a file")
    for alias in aliases:
        check_pinned(path, alias)
    return aliases
