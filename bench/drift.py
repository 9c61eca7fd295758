"""Host drift time for N cheap lab-like hosts: network namespaces, each with its own sshd.

    sudo .venv/bin/python bench/drift.py [--hosts 20] [--workers 0] [--sizes 1,5,20]

Topology, as in a stack: one bridge on this machine; namespace 0 plays the bastion, reached directly;
every other namespace is reached through it with ProxyJump (OpenSSH, host keys pinned, BatchMode).
Each sshd has its own ED25519 host key and accepts one generated client key. The host suite runs
exactly the path `ccsec drift` takes (:func:`ccsec.drift.check_hosts`: probe, then the suite in
parallel). These hosts are not hardened: most checks fail, which is fine — this measures time and
prints figures, it asserts nothing.

Needs root (ip netns), iproute2 and openssh-server (only its sshd binary is used; no service is
started). ``ip netns exec`` bind-mounts ``/etc/netns/<ns>/ccaas`` over ``/etc/ccaas`` so each host
answers the suite's role lookup; an empty ``/etc/ccaas`` is created for that if missing, and removed
afterwards. Everything the bench creates is removed on exit (also on Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from ccsec import drift
from ccsec.sshtargets import SshTarget

BRIDGE = "ccsb-br0"
PREFIX = "ccsb"
SSHD = "/usr/sbin/sshd"


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


class Fleet:
    """N namespaces with an sshd each; ``close`` removes every trace."""

    def __init__(self, n: int, work: Path) -> None:
        self.n, self.work = n, work
        self.namespaces: list[str] = []
        self.pidfiles: list[Path] = []
        self.made_etc_ccaas = False
        self.made_run_sshd = False
        self.bridge = False

    def up(self) -> list[SshTarget]:
        if not Path("/etc/ccaas").exists():
            Path("/etc/ccaas").mkdir()
            self.made_etc_ccaas = True
        if not Path("/run/sshd").exists():
            Path("/run/sshd").mkdir(mode=0o755)
            self.made_run_sshd = True
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        self.bridge = True
        sh("ip", "addr", "add", "10.213.0.1/16", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        client = self.work / "id_ed25519"
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench@ccsec", "-f", str(client))
        shutil.copy(f"{client}.pub", self.work / "authorized_keys")
        targets = []
        for i in range(self.n):
            targets.append(self._host(i, client))
        return targets

    def _host(self, i: int, client: Path) -> SshTarget:
        ns, ip = f"{PREFIX}{i}", f"10.213.1.{i + 1}"
        name = "bench-bastion-1" if i == 0 else f"bench-app-{i}"
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        sh("ip", "link", "add", f"{ns}h", "type", "veth", "peer", "name", f"{ns}n")
        sh("ip", "link", "set", f"{ns}n", "netns", ns)
        sh("ip", "link", "set", f"{ns}h", "master", BRIDGE, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ip}/16", "dev", f"{ns}n")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", f"{ns}n", "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        facts = Path("/etc/netns") / ns / "ccaas"
        facts.mkdir(parents=True)
        role = "bastion" if i == 0 else "app"
        (facts / "host.json").write_text(json.dumps({"hostname": name, "role": role, "stack": "bench"}))
        home = self.work / name
        home.mkdir()
        key = home / "ssh_host_ed25519_key"
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", str(key))
        pidfile = home / "sshd.pid"
        (home / "sshd_config").write_text(
            f"ListenAddress {ip}\nPort 22\nHostKey {key}\nPidFile {pidfile}\n"
            f"AuthorizedKeysFile {self.work}/authorized_keys\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "MaxSessions 64\nMaxStartups 200\nAllowTcpForwarding yes\n"
        )
        sh("ip", "netns", "exec", ns, SSHD, "-f", str(home / "sshd_config"))
        self.pidfiles.append(pidfile)
        for _ in range(50):
            if pidfile.exists():
                break
            time.sleep(0.1)
        return SshTarget(
            name=name,
            address=ip,
            port=22,
            user="root",
            identity_file=str(client),
            host_key=Path(f"{key}.pub").read_text(),
            jump=None if i == 0 else "bench-bastion-1",
        )

    def close(self) -> None:
        for pidfile in self.pidfiles:  # only the sshd processes this bench started, by pid
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)
        if self.bridge:
            subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)
        if self.made_etc_ccaas:
            shutil.rmtree("/etc/ccaas", ignore_errors=True)
        if self.made_run_sshd:
            shutil.rmtree("/run/sshd", ignore_errors=True)


def measure(targets: list[SshTarget], work: Path, workers: int) -> dict:
    started = time.monotonic()
    part = drift.check_hosts(targets, work / f"reports-{len(targets)}", workers)
    seconds = time.monotonic() - started
    result = part.result
    return {
        "hosts": len(targets),
        "workers": workers or drift.default_workers(len(targets)),
        "seconds": round(seconds, 1),
        "per_host": round(seconds / len(targets), 2),
        "unreachable": len(part.unreachable),
        "tests": (result.passed + result.failed + result.errors) if result else 0,
        "error": part.error.splitlines()[0] if part.error else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=20, help="namespaces to create (default 20, max 250)")
    parser.add_argument("--sizes", default="", help="comma-separated fleet sizes to time (default: --hosts only)")
    parser.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (default: ccsec's default)")
    args = parser.parse_args()
    if os.geteuid() != 0 or not Path(SSHD).is_file():
        print("bench/drift.py needs root and openssh-server's sshd (apt-get install openssh-server)", file=sys.stderr)
        return 2
    sizes = sorted({int(s) for s in args.sizes.split(",") if s} | {args.hosts})
    work = Path(tempfile.mkdtemp(prefix="ccsb-", dir="/tmp"))
    fleet = Fleet(max(sizes), work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        targets = fleet.up()
        behind = len(targets) - 1
        print(f"{len(targets)} namespaces with sshd up (1 bastion + {behind} behind it); cpus: {os.cpu_count()}")
        for size in sizes:
            figures = measure(targets[:size], work, args.workers)
            print(json.dumps(figures))
    finally:
        fleet.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
