"""One QEMU VM: qcow2 overlay on the base image, NoCloud seed, direct kernel boot, user-mode network.

QEMU runs daemonized (``-daemonize -pidfile``) so VMs outlive the ``lab up`` process; ``-daemonize``
returns only after the devices and host forwards are set up, so a port clash is reported at once.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ccsec.errors import CcsecError
from ccsec.infra.userdata import LAB_DATA_SERIAL as DATA_SERIAL  # one definition, shared with the renderer

QEMU = "qemu-system-x86_64"
# panic=10: a panicking guest reboots (reboots are allowed: user-data or tests may reboot a host).
KERNEL_CMDLINE = "root=/dev/vda rw console=ttyS0,115200 panic=10 net.ifnames=0"


class VmError(CcsecError, RuntimeError):
    """QEMU could not start or stop a VM."""


MGMT_MAC = "52:54:00:c0:ca:01"
EDGE_MAC = "52:54:00:c0:ca:02"


@dataclass(frozen=True)
class VmSpec:
    """Everything needed to start one VM; all paths live in the VM's own directory."""

    name: str
    vm_dir: Path
    base_disk: Path
    kernel: Path
    initrd: Path
    seed: Path
    memory_mb: int
    ssh_port: int
    https_port: int | None
    accel: str
    edge_net: str | None = None  # app: a second NIC whose QEMU network is the stack's edge (LB) zone
    data_disk: Path | None = None  # db/recordings: the data volume, serial LAB_DATA_SERIAL
    log_port: int | None = None  # the log host: 127.0.0.1:<port> forwards to its receiver (the same port)

    @property
    def disk(self) -> Path:
        """The VM's qcow2 overlay (the base image is its read-only backing file)."""
        return self.vm_dir / "disk.qcow2"

    @property
    def qmp_socket(self) -> Path:
        """QEMU machine protocol socket (root-only, in the VM's 0700 directory)."""
        return self.vm_dir / "qmp.sock"

    @property
    def console_log(self) -> Path:
        """Serial console output."""
        return self.vm_dir / "console.log"

    @property
    def pidfile(self) -> Path:
        """QEMU's pid file."""
        return self.vm_dir / "qemu.pid"


def port_is_free(port: int) -> bool:
    """True if nothing listens on (or holds) 127.0.0.1:``port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (QEMU's bind failure catches races)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kvm_device_usable() -> bool:
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def kvm_works(kernel: Path, timeout: float = 8.0) -> bool:
    """Boot the lab kernel under KVM until it prints its banner; False on any failure.

    /dev/kvm can exist while KVM is unusable (nested virtualisation without MSR support), so only a
    guest that actually runs counts.
    """
    if not _kvm_device_usable():
        return False
    argv = [
        QEMU,
        "-accel",
        "kvm",
        "-cpu",
        "host",
        "-m",
        "256",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-serial",
        "stdio",
        "-kernel",
        str(kernel),
        "-append",
        "console=ttyS0 panic=-1 root=/dev/null",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    ok = False
    try:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        buf = b""
        while time.monotonic() < deadline and proc.poll() is None:
            chunk = proc.stdout.read() or b""
            buf += chunk
            if b"Linux version" in buf:
                ok = True
                break
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    return ok


def choose_accel(kernel: Path, cache: Path | None = None) -> str:
    """``CCSEC_LAB_ACCEL`` (kvm|tcg) if set, else KVM when a guest really runs on it, else TCG.

    The probe result is remembered in ``cache`` for the current host boot (``boot_id``).
    """
    forced = os.environ.get("CCSEC_LAB_ACCEL", "auto").lower()
    if forced in ("kvm", "tcg"):
        return forced
    if forced != "auto":
        raise VmError("CCSEC_LAB_ACCEL must be kvm, tcg or auto")
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    key = f"{boot_id} {kernel}\n"
    if cache and cache.is_file():
        lines = cache.read_text().splitlines(keepends=True)
        if len(lines) == 2 and lines[0] == key and lines[1].strip() in ("kvm", "tcg"):
            return lines[1].strip()
    accel = "kvm" if kvm_works(kernel) else "tcg"
    if cache:
        cache.write_text(f"{key}{accel}\n")
    return accel


# Under TCG every SIMD instruction is a helper call: with ``-cpu max`` the guest's OpenSSL, libgcrypt and glibc
# pick their AVX paths and run several times slower (bench/tcg_cpu.py: ChaCha20, AES-GCM, SHA-2). QEMU's own
# baseline x86-64 model keeps them on plain SSE2, which TCG translates well; Debian 12 needs nothing more.
TCG_CPU_MODEL = "qemu64"


def qemu_argv(spec: VmSpec) -> list[str]:
    """The QEMU command line for ``spec``."""
    forwards = f"hostfwd=tcp:127.0.0.1:{spec.ssh_port}-:22"
    if spec.log_port:
        # Every VM reaches its host at 10.0.2.2: a sender's 10.0.2.2:<port> lands here, on the log host's
        # receiver. Its source there is 10.0.2.2, inside the lab's mgmt zone, which the log host admits.
        forwards += f",hostfwd=tcp:127.0.0.1:{spec.log_port}-:{spec.log_port}"
    extra: list[str] = []
    if spec.https_port:
        # HTTPS arrives on its own NIC from the edge zone, as it does from the load balancer in the
        # cloud, so the host firewall's "443 from the LB subnet only" rule holds unchanged in the lab.
        edge = ipaddress.ip_network(spec.edge_net or "10.40.0.0/24")
        extra += [
            "-netdev",
            f"user,id=net1,net={edge},host={edge.network_address + 2},hostfwd=tcp:127.0.0.1:{spec.https_port}-:443",
            "-device",
            f"virtio-net-pci,netdev=net1,mac={EDGE_MAC}",
        ]
    if spec.data_disk:
        extra += [
            "-drive",
            f"file={spec.data_disk},if=none,id=data0,format=qcow2",
            "-device",
            # a fixed, late PCI slot: root must stay /dev/vda (KERNEL_CMDLINE), whatever QEMU's ordering
            f"virtio-blk-pci,drive=data0,serial={DATA_SERIAL},addr=0x1e",
        ]
    cpu = "host" if spec.accel == "kvm" else TCG_CPU_MODEL
    # TCG's translation cache defaults to 1 GiB per VM; 256 MiB keeps RAM per VM near its guest size.
    accel = "kvm" if spec.accel == "kvm" else "tcg,tb-size=256"
    return [
        QEMU,
        "-name",
        f"ccsec-lab-{spec.name},process=ccsec-lab-{spec.name}",
        "-machine",
        "pc",
        "-accel",
        accel,
        "-cpu",
        cpu,
        "-smp",
        "1",
        "-m",
        str(spec.memory_mb),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-kernel",
        str(spec.kernel),
        "-initrd",
        str(spec.initrd),
        "-append",
        KERNEL_CMDLINE,
        "-drive",
        f"file={spec.disk},if=virtio,format=qcow2,discard=unmap",
        "-drive",
        f"file={spec.seed},if=virtio,format=raw,readonly=on",
        "-netdev",
        f"user,id=net0,{forwards}",
        "-device",
        f"virtio-net-pci,netdev=net0,mac={MGMT_MAC}",
        *extra,
        "-device",
        "virtio-rng-pci",
        "-serial",
        f"file:{spec.console_log}",
        # QMP lets tools hot-plug a NIC (`ccsec judge` scans a host from a network namespace)
        "-qmp",
        f"unix:{spec.qmp_socket},server=on,wait=off",
        "-pidfile",
        str(spec.pidfile),
        "-daemonize",
    ]


def create_data_disk(path: Path, size_gb: int = 1) -> None:
    """An empty qcow2 data volume (the recordings role formats it as LUKS2 at first boot)."""
    res = subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", str(path), f"{size_gb}G"],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise VmError(f"qemu-img create failed: {res.stderr.strip()}")


def create_overlay(base: Path, overlay: Path) -> None:
    """A qcow2 overlay whose backing file is the (never modified) base image."""
    res = subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise VmError(f"qemu-img create failed: {res.stderr.strip()}")


def start(spec: VmSpec) -> int:
    """Start the VM daemonized and return QEMU's pid."""
    res = subprocess.run(qemu_argv(spec), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise VmError(f"QEMU for {spec.name} failed to start: {res.stderr.strip()}")
    return int(spec.pidfile.read_text().strip())


def is_ours(pid: int, vm_dir: Path) -> bool:
    """True if ``pid`` is a live QEMU started for ``vm_dir`` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(QEMU.encode()) and any(str(vm_dir).encode() in arg for arg in cmdline)


def stop(pid: int, vm_dir: Path, timeout: float = 10.0) -> bool:
    """Terminate the VM's QEMU (SIGTERM, then SIGKILL). Returns True if it was running."""
    if not is_ours(pid, vm_dir):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_ours(pid, vm_dir):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    while is_ours(pid, vm_dir):
        time.sleep(0.1)
    return True
