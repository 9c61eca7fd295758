"""Lab lifecycle: ``up`` boots one VM per role from the stack's cloud-init, ``down`` removes them,
``status`` reports them.

Per host the lab generates an ED25519 SSH host key (handed to cloud-init and pinned in a
known_hosts file) and an ED25519 key pair for the operator account. Everything lives under
``work_dir()``; only the cached base image survives ``down``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko

from ccsec.backup.private_files import private_dir, write_private
from ccsec.errors import CcsecError
from ccsec.infra.roles import BACKUP_ROLES, DATA_VOLUME_ROLES, LOG_HOST_ROLE, MODEL
from ccsec.infra.userdata import LAB_GATEWAY
from ccsec.infra.validate import PosixUser, SafePath
from ccsec.lab import backup_target, image, log_pki, state, testbeds, vm
from ccsec.lab.keys import generate_ed25519, known_hosts_line
from ccsec.lab.paths import work_dir
from ccsec.lab.progress import Progress, Stopwatch
from ccsec.lab.ssh import connect, run, wait_connect
from ccsec.lab.state import HostState, LabState

if TYPE_CHECKING:  # the Swift all-in-one is a test bed, not product code: imported where the lab starts it
    from types import ModuleType

    from ccsec.infra.userdata import LabTotpPerson, LogPath
    from ccsec_testbeds.swift_aio import SwiftAIO

DEFAULT_ADMIN = "ccadmin"
# A person administrator on every host, as in a real stack: key + TOTP code on the bastion (its role has the
# second factor), key behind it. One key and seed per lab, in the lab's private work dir.
TOTP_PERSON = "ccperson"
TOTP_PERSON_KEY = "person_ed25519"
TOTP_PERSON_SEED = "person.totp"
# HOST-15: the lab's log CA (key kept so tests can mint the certificates an attacker would try)
LOG_CA_CERT = "log-ca.crt"
LOG_CA_KEY = "log-ca.key"
LOG_ADDRESS = LAB_GATEWAY  # every VM's path to the lab machine, where the log host's receiver is forwarded
SSH_HOST = "127.0.0.1"
JUMP_ROLE = "bastion"  # the lab reaches every other VM through it (sshtargets.targets_from_lab)
# Roles the load balancer sends HTTPS to: their VM gets a second NIC in the edge zone, as behind Octavia.
HTTPS_ROLES = tuple(r.name for r in MODEL if any(f.peer == "lb" for f in r.ingress))
MEMORY_MB = {"db": 1536}
DEFAULT_MEMORY_MB = 1024
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

UserDataRenderer = Callable[[str, str, str, str, str, str, str], str]


class LabError(CcsecError, RuntimeError):
    """The lab could not be brought up (everything it started has been removed)."""


def _swift_aio() -> ModuleType:
    try:
        return testbeds.swift_aio()
    except testbeds.TestbedMissingError as error:
        raise LabError(str(error)) from None


def _renderer() -> tuple[UserDataRenderer, str]:
    """The project's renderer: the lab boots exactly the user-data the stack ships."""
    from ccsec.infra.userdata import render_lab_user_data

    return render_lab_user_data, "ccsec.infra.userdata.render_lab_user_data"


def _edge_zone(stack: str) -> str:
    """The stack's edge (load-balancer) zone: the app VM's HTTPS NIC lives in it."""
    from ccsec.infra.stackfile import load_stack_config

    return str(load_stack_config(stack).network.zones["edge"])


def _validate(roles: list[str], stack: str, admin_user: str) -> list[tuple[str, str]]:
    """Check inputs; return (role, hostname) pairs — ``<stack>-<role>-<n>``."""
    if not roles:
        raise LabError("no roles given")
    if not NAME_RE.fullmatch(stack):
        raise LabError("stack: must be a-z, 0-9 and '-', starting with a letter")
    problem = PosixUser.check(admin_user)
    if problem:
        raise LabError(f"admin_user: {problem}")
    problem = SafePath.check(str(work_dir()))
    if problem:  # every lab path goes into the lab's ssh_config
        raise LabError(f"lab work dir (CCSEC_LAB_WORK or lab/.work): {problem}")
    seen: dict[str, int] = {}
    pairs = []
    for role in roles:
        if not NAME_RE.fullmatch(role):
            raise LabError(f"role {role!r}: must be a-z, 0-9 and '-'")
        seen[role] = seen.get(role, 0) + 1
        name = f"{stack}-{role}-{seen[role]}"
        if len(name) > 32:
            raise LabError(f"host name {name!r} is longer than 32 characters")
        pairs.append((role, name))
    return pairs


def _totp_person(directory: Path) -> LabTotpPerson:
    """A fresh key and 160-bit TOTP seed (RFC 6238's SHA-1 size, as the program's seeds) for the lab's person."""
    import secrets as random_source

    from ccsec.infra.userdata import LabTotpPerson

    key = generate_ed25519(f"{TOTP_PERSON}@ccsec-lab")
    write_private(directory / TOTP_PERSON_KEY, key.private_openssh)
    seed = random_source.token_hex(20)
    write_private(directory / TOTP_PERSON_SEED, seed + "\n")
    return LabTotpPerson(TOTP_PERSON, key.public_openssh, seed)


def _log_paths(directory: Path, stack: str, pairs: list[tuple[str, str]]) -> dict[str, LogPath]:
    """Per host: the lab log CA, its certificate, and the lab's log host as the VMs reach it.

    A lab without a log host (the backup lab) still points at ``<stack>-loghost-1``: its hosts queue on
    disk, and a log host of another lab refuses them (another CA).
    """
    from ccsec.infra.userdata import LogPath, LogTarget, log_tls_name

    ca = log_pki.new_ca(f"{stack} lab log CA")
    write_private(directory / LOG_CA_KEY, ca.key_pem)
    write_private(directory / LOG_CA_CERT, ca.cert_pem, 0o644)
    log_host = next((name for role, name in pairs if role == LOG_HOST_ROLE), f"{stack}-{LOG_HOST_ROLE}-1")
    target = LogTarget(LOG_ADDRESS, log_tls_name(log_host, stack))
    paths = {}
    for role, name in pairs:
        leaf = log_pki.issue(ca, log_tls_name(name, stack), server=role == LOG_HOST_ROLE)
        paths[name] = LogPath(ca.cert_pem, leaf.cert_pem, leaf.key_pem, (target,))
    return paths


def _log_port(stack: str) -> int:
    from ccsec.infra.stackfile import load_stack_config

    return load_stack_config(stack).logging.port


def _prepare_host(
    role: str, name: str, stack: str, admin_user: str, base: image.BaseImage, accel: str, render: UserDataRenderer
) -> tuple[HostState, vm.VmSpec]:
    """Keys, known_hosts, seed and overlay for one host (QEMU not started yet)."""
    vm_dir = work_dir() / "vms" / name
    vm_dir.mkdir(parents=True, mode=0o700)  # fresh: exists -> error
    host_key = generate_ed25519(f"root@{name}")
    admin_key = generate_ed25519(f"{admin_user}@ccsec-lab")
    identity = vm_dir / "id_ed25519"
    write_private(identity, admin_key.private_openssh)
    write_private(vm_dir / "id_ed25519.pub", admin_key.public_openssh + "\n")
    user_data = render(
        stack, role, name, host_key.private_openssh, host_key.public_openssh, admin_user, admin_key.public_openssh
    )
    seed = vm_dir / "seed.iso"
    from ccsec.lab.seed import TWO_NICS_NETWORK_CONFIG, write_seed

    https = role in HTTPS_ROLES
    write_seed(seed, f"ccsec-lab-{uuid.uuid4()}", name, user_data, TWO_NICS_NETWORK_CONFIG if https else "")
    vm.create_overlay(base.disk, vm_dir / "disk.qcow2")
    data_disk = None
    if role in DATA_VOLUME_ROLES:  # a second virtio disk: the stack's data volume
        data_disk = vm_dir / "data.qcow2"
        vm.create_data_disk(data_disk)
    spec = vm.VmSpec(
        name=name,
        vm_dir=vm_dir,
        base_disk=base.disk,
        kernel=base.kernel,
        initrd=base.initrd,
        seed=seed,
        memory_mb=MEMORY_MB.get(role, DEFAULT_MEMORY_MB),
        ssh_port=0,
        https_port=None,
        accel=accel,
        edge_net=_edge_zone(stack) if https else None,
        data_disk=data_disk,
        log_port=_log_port(stack) if role == LOG_HOST_ROLE else None,
    )
    host = HostState(
        name=name,
        role=role,
        ssh_host=SSH_HOST,
        ssh_port=0,
        user=admin_user,
        identity_file=str(identity),
        known_hosts_file=str(vm_dir / "known_hosts"),
        https_port=None,
        pid=0,
        vm_dir=str(vm_dir),
        console_log=str(spec.console_log),
        memory_mb=spec.memory_mb,
        host_key_public=host_key.public_openssh,
    )
    return host, spec


def _start(host: HostState, spec: vm.VmSpec, attempts: int = 3) -> None:
    """Start QEMU on fresh ports (retrying if a port was taken meanwhile); write known_hosts."""
    if spec.log_port and not vm.port_is_free(spec.log_port):
        raise LabError(
            f"{host.name}: 127.0.0.1:{spec.log_port} (logging.port) is in use, so the log host's receiver "
            "cannot be forwarded there: stop what holds it (another lab's log host? `ccsec lab down` in its "
            "CCSEC_LAB_WORK) or boot this lab without the loghost role"
        )
    for attempt in range(attempts):
        ssh_port = vm.free_port()
        https_port = vm.free_port() if host.role in HTTPS_ROLES else None
        spec = vm.VmSpec(**{**spec.__dict__, "ssh_port": ssh_port, "https_port": https_port})
        try:
            host.pid = vm.start(spec)
        except vm.VmError as exc:
            if "host forwarding" in str(exc) and attempt + 1 < attempts:
                continue
            raise
        host.ssh_port, host.https_port = ssh_port, https_port
        write_private(host.known_hosts_file, known_hosts_line(SSH_HOST, ssh_port, host.host_key_public), 0o644)
        return


def _console_tail(host: HostState, lines: int = 30) -> str:
    try:
        text = Path(host.console_log).read_text(errors="replace")
    except OSError:
        return "(no console log)"
    return "\n".join(text.splitlines()[-lines:])


class ConsoleWatcher:
    """Report boot milestones (once each) as they appear on a VM's serial console."""

    MILESTONES = (
        ("Linux version", "kernel started"),
        ("EXT4-fs (vda): mounted", "root filesystem mounted"),
        ("running 'init-local'", "cloud-init: init-local"),
        ("running 'init'", "cloud-init: init (network, users, SSH host key)"),
        ("Started ssh.service", "sshd started"),
        ("running 'modules:config'", "cloud-init: modules:config"),
        ("running 'modules:final'", "cloud-init: modules:final"),
        (" finished at ", "cloud-init finished"),
    )

    def __init__(self, host: HostState, say: Progress) -> None:
        self._host, self._say = host, say
        self._seen: set[str] = set()

    def __call__(self) -> None:
        try:
            text = Path(self._host.console_log).read_text(errors="replace")
        except OSError:
            return
        text = ANSI_RE.sub("", text)
        for needle, label in self.MILESTONES:
            if needle not in self._seen and needle in text:
                self._seen.add(needle)
                self._say(f"{self._host.name}: {label}")


POLL_S = 8.0  # cloud-init status polls: each one an SSH handshake the TCG guest pays for


def _sleep_ticking(seconds: float, tick: Callable[[], None]) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        tick()
        time.sleep(min(2.0, max(0.0, end - time.monotonic())))


def _remote(host: HostState, deadline: float, command: str) -> str:
    """One command on a fresh session (pinned key); its stdout, or "" when the VM does not answer in time."""
    try:
        client = connect(host.ssh_host, host.ssh_port, host.user, host.identity_file, host.known_hosts_file)
    except paramiko.BadHostKeyException:
        raise  # never a transient: a different machine answers on the pinned address
    except (OSError, EOFError, paramiko.SSHException):
        return ""
    try:
        _, out, _ = run(client, command, timeout=max(10.0, min(60.0, deadline - time.monotonic())))
        return out
    except (OSError, EOFError, paramiko.SSHException):
        return ""
    finally:
        client.close()


def _cloud_init_status(host: HostState, deadline: float, watch: Callable[[], None]) -> tuple[str, str]:
    """("running" | "done" | "error" | ..., cloud-init's own report); a poll that gets no answer is "running"
    until the deadline (a TimeoutError then)."""
    if time.monotonic() > deadline:
        raise TimeoutError(f"{host.name}: cloud-init not finished before the deadline")
    if not vm.is_ours(host.pid, Path(host.vm_dir)):
        raise RuntimeError("VM exited while waiting for cloud-init")
    watch()
    out = _remote(host, deadline, "cloud-init status --long")
    match = re.search(r"^status: *(\S+)", out, re.MULTILINE)
    return (match.group(1) if match else "running"), out


def _wait_ready(host: HostState, deadline: float, say: Progress, watch: Callable[[], None] | None = None) -> None:
    """Wait for SSH (pinned key) and for cloud-init to finish; fail on cloud-init errors.

    ``watch`` is called every few seconds meanwhile (console milestones of all hosts).
    """
    watch = watch or ConsoleWatcher(host, say)
    client = wait_connect(
        host.ssh_host,
        host.ssh_port,
        host.user,
        host.identity_file,
        host.known_hosts_file,
        deadline,
        alive=lambda: vm.is_ours(host.pid, Path(host.vm_dir)),
        tick=watch,
    )
    say(f"{host.name}: SSH up with pinned host key, waiting for cloud-init")
    # Not one long `cloud-init status --wait`: a session open while cloud-init first loads the host's
    # nftables is picked up by conntrack mid-stream from sshd's side, so the output chain (default-deny)
    # drops sshd's replies and the session stalls for good. Every poll is a fresh session, seen from its SYN.
    client.close()
    while True:
        status, out = _cloud_init_status(host, deadline, watch)
        if status not in ("running", "not"):  # "not run": cloud-init has not started yet
            break
        _sleep_ticking(POLL_S, watch)
    if status != "done":
        log = _remote(host, deadline, "sudo -n tail -n 40 /var/log/cloud-init-output.log || true")
        raise LabError(f"{host.name}: cloud-init did not finish cleanly ({status}):\n{out}\n{log}")
    host.ready = True


def up(
    roles: list[str],
    stack: str = "lab",
    progress: Progress | None = None,
    *,
    admin_user: str = DEFAULT_ADMIN,
    timeout: float = 1200.0,
    swift: SwiftAIO | None = None,
) -> LabState:
    """Boot one VM per role with the stack's user-data; return the state once cloud-init finished.

    db/recordings VMs back up to a real Swift all-in-one on this machine: ``swift`` (a running one,
    left running by ``down``) or one this lab starts in its own directory and ``down`` removes.
    Raises :class:`LabError` (after removing everything it started) if a VM does not come up.
    """
    say = Stopwatch(progress)
    pairs = _validate(roles, stack, admin_user)
    if swift is None and any(role in BACKUP_ROLES for role, _ in pairs):
        _swift_aio()  # before the image build: say now that the Swift test bed is missing
    existing = state.load()
    if existing and any(vm.is_ours(h.pid, Path(h.vm_dir)) for h in existing.hosts):
        raise LabError("a lab is already running: run `down` first")
    down(progress=lambda _m: None)  # clear leftovers of a crashed run
    private_dir(work_dir())  # 0700: keys, seeds (host private key) and overlays live here
    render, source = _renderer()
    render = functools.partial(render, totp_person=_totp_person(work_dir()))
    say(f"user-data from {source}")
    base = image.ensure_image(say)
    accel = vm.choose_accel(base.kernel, cache=base.directory.parent / "accel-probe")
    say(f"accelerator: {accel}")
    lab = LabState(
        stack=stack,
        accel=accel,
        base_image=str(base.disk),
        userdata_source=source,
        ssh_config_file=str(work_dir() / "ssh_config"),
    )
    try:
        backup = _backup_target(lab, pairs, stack, swift, say)
        log_paths = _log_paths(work_dir(), stack, pairs)
        # The bastion boots last: its output chain lists the other VMs' SSH forwards, known once they run.
        for role, name in sorted(pairs, key=lambda pair: pair[0] == JUMP_ROLE):
            render_role = functools.partial(render, log=log_paths[name])
            if backup is not None and role in BACKUP_ROLES:
                render_role = functools.partial(render_role, backup_env=backup.guest_env, backup_target=backup.target)
            if role == JUMP_ROLE:
                render_role = functools.partial(render_role, jump_ports=tuple(h.ssh_port for h in lab.hosts))
            host, spec = _prepare_host(role, name, stack, admin_user, base, accel, render_role)
            lab.hosts.append(host)
            _start(host, spec)
            host.running = True
            state.save(lab)
            say(
                f"{host.name}: QEMU pid {host.pid}, ssh 127.0.0.1:{host.ssh_port}"
                + (f", https 127.0.0.1:{host.https_port}" if host.https_port else "")
                + f", {host.memory_mb} MiB"
            )
        lab.hosts.sort(key=lambda h: [name for _, name in pairs].index(h.name))
        state.save(lab)
        deadline = time.monotonic() + timeout
        watchers = [ConsoleWatcher(h, say) for h in lab.hosts]

        def watch_all() -> None:
            for w in watchers:
                w()

        for host in lab.hosts:
            try:
                _wait_ready(host, deadline, say, watch_all)
            except LabError:
                raise
            except Exception as exc:
                raise LabError(f"{host.name}: {exc}\n--- console tail ---\n{_console_tail(host)}") from exc
            say(f"{host.name}: ready")
            state.save(lab)
    except BaseException:
        say("lab up failed: removing what it started")
        state.save(lab)
        down(progress=say)
        raise
    say(f"lab up: {len(lab.hosts)} host(s) ready")
    return lab


def _backup_target(
    lab: LabState, pairs: list[tuple[str, str]], stack: str, swift: SwiftAIO | None, say: Progress
) -> backup_target.LabBackup | None:
    """Start (or reuse) the Swift all-in-one when a role backs up; record it in the state first."""
    if not any(role in BACKUP_ROLES for role, _ in pairs):
        return None
    swift_aio = _swift_aio()
    aio = swift or swift_aio.fresh("ccsec-lab-swift-")
    lab.swift = {"base": str(aio.base), "ports": dataclasses.asdict(aio.ports), "owned": swift is None}
    state.save(lab)  # so `down` finds (and removes) it even if the start fails half-way
    if swift is None:
        say(f"starting the lab's Swift all-in-one in {aio.base} (proxy 127.0.0.1:{aio.ports.proxy})")
        try:
            aio.start()
        except swift_aio.SwiftAIOError as exc:
            raise LabError(f"the lab's Swift could not start: {exc}") from exc
    else:
        say(f"backups go to the given Swift all-in-one (proxy 127.0.0.1:{aio.ports.proxy})")
    return backup_target.prepare(aio, stack, pairs)


def _stop_swift(lab: LabState | None, say: Progress) -> None:
    if lab is None or not lab.swift or not lab.swift.get("owned"):
        return
    swift_aio = _swift_aio()
    aio = swift_aio.SwiftAIO(base=Path(lab.swift["base"]), ports=swift_aio.Ports(**lab.swift["ports"]))
    swift_aio.remove(aio)
    say(f"stopped the lab's Swift all-in-one and removed {aio.base}")


def status() -> LabState | None:
    """The recorded lab with each host's ``running`` flag refreshed, or None if there is none."""
    lab = state.load()
    if lab is None:
        return None
    for host in lab.hosts:
        host.running = vm.is_ours(host.pid, Path(host.vm_dir))
    return lab


def down(progress: Progress | None = None) -> None:
    """Stop every lab VM and delete all lab files except the cached base image."""
    say = Stopwatch(progress)
    try:
        lab = state.load()
    except state.LabStateError as error:  # a damaged state file: its values are not used, the pid files below are
        say(f"ignoring the lab state: {error}")
        lab = None
    vms_root = work_dir() / "vms"
    targets: list[tuple[int, Path]] = [(h.pid, Path(h.vm_dir)) for h in lab.hosts] if lab else []
    # Also catch VMs whose state was never written (crash between start and save).
    for pidfile in vms_root.glob("*/qemu.pid"):
        with contextlib.suppress(OSError, ValueError):
            targets.append((int(pidfile.read_text().strip()), pidfile.parent))
    for pid, vm_dir in targets:
        if pid and vm.stop(pid, vm_dir):
            say(f"stopped {vm_dir.name} (pid {pid})")
    _stop_swift(lab, say)
    shutil.rmtree(vms_root, ignore_errors=True)
    shutil.rmtree(backup_target.backup_dir(), ignore_errors=True)
    state_path = work_dir() / "state.json"
    state_path.unlink(missing_ok=True)
    (work_dir() / "ssh_config").unlink(missing_ok=True)
    for secret in (TOTP_PERSON_KEY, TOTP_PERSON_SEED, LOG_CA_KEY, LOG_CA_CERT):
        (work_dir() / secret).unlink(missing_ok=True)
    state_path.with_suffix(".tmp").unlink(missing_ok=True)
    say("lab down: VMs stopped, lab files removed (base image kept)")
