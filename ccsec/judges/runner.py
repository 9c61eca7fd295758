"""Runs each judge against lab hosts: the I/O half (the parsing and targets are in the judge modules).

Every judge's raw report is kept under the output directory (``<host>/<judge>.<ext>``), so a reviewer can
read what the tool said, not only our figures.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccsec.judges import TARGETS, lynis, portscan, sshaudit, testssl
from ccsec.judges.model import HostJudgements, Judgement
from ccsec.lab.state import HostState, LabState

ROOT = Path(__file__).resolve().parents[2]
JUDGE_TIMEOUT = 3600  # lynis under TCG with auditd recording every command it runs: tens of minutes


class JudgeMissing(RuntimeError):
    """A judge's tool is not installed (the message says which script installs it)."""


def _tool(name: str, hint: str) -> str:
    """The tool installed with the project (.venv) first, else the system's."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if not found:
        raise JudgeMissing(f"{name} is not installed: {hint}")
    return found


def _ssh(lab: LabState, host: HostState, command: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", lab.ssh_config_file, host.name, command],
        input=stdin,
        capture_output=True,
        timeout=JUDGE_TIMEOUT,
        check=False,
    )


def raw_ssh_audit(lab: LabState, host: HostState) -> str:
    tool = _tool("ssh-audit", "make setup (a dev dependency)")
    result = subprocess.run(
        [tool, "-j", "-p", str(host.ssh_port), host.ssh_host], capture_output=True, text=True, timeout=600, check=False
    )
    return result.stdout


def raw_testssl(lab: LabState, host: HostState, hostname: str) -> str:
    script = subprocess.run(
        [str(ROOT / "scripts" / "judges-deps.sh")], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not script or not Path(script).is_file():
        raise JudgeMissing("testssl.sh 3.2 is not installed: scripts/judges-deps.sh")
    env = {**os.environ, "TESTSSL_INSTALL_DIR": str(Path(script).parent.parent.parent / "etc" / "testssl")}
    certificate = _ssh(lab, host, "sudo -n cat /etc/ssl/ccaas/app.crt").stdout
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp) / "app-ca.pem"
        ca.write_bytes(certificate)
        report = Path(tmp) / "testssl.json"
        argv = ["bash", script, "--quiet", "--color", "0", "--warnings", "batch", "--add-ca", str(ca),
                "--ip", host.ssh_host, "--jsonfile", str(report), f"https://{hostname}:{host.https_port}"]  # fmt: skip
        subprocess.run(argv, capture_output=True, text=True, timeout=JUDGE_TIMEOUT, check=False, env=env)
        return report.read_text() if report.is_file() else ""


def raw_lynis(lab: LabState, host: HostState) -> str:
    """This machine's lynis, copied into the host for the run and removed again (nothing stays installed)."""
    _tool("lynis", "scripts/lab-deps.sh (Debian's lynis)")
    files = ["usr/share/lynis", "usr/sbin/lynis", "etc/lynis"]
    bundle = subprocess.run(["tar", "-C", "/", "-cf", "-", *files], capture_output=True, check=True).stdout
    target = "/var/lib/ccsec-judge"
    script = (
        f"sudo rm -rf {target} && sudo mkdir -p {target} && sudo tar -C {target} -xf - && "
        f"cd {target}/usr/share/lynis && sudo cp {target}/usr/sbin/lynis ./lynis && "
        f"sudo sh ./lynis audit system --quick --no-colors --profile {target}/etc/lynis/default.prf "
        f"--report-file {target}/report.dat >/dev/null 2>&1; sudo cat {target}/report.dat; sudo rm -rf {target}"
    )
    return _ssh(lab, host, script, stdin=bundle).stdout.decode(errors="replace")


SCAN_NS = "ccsec-judge"
SCAN_MAC = "52:54:00:c0:ca:99"
SCANNER_IP, GUEST_IP = "192.0.2.20", "192.0.2.10"  # TEST-NET-1: an untrusted network no flow admits


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=JUDGE_TIMEOUT, check=False)


def raw_nmap(lab: LabState, host: HostState) -> tuple[str, bool]:
    """Every TCP port of ``host`` from a namespace on an untrusted network: the judge hot-plugs a NIC (QMP) on a
    TAP device inside a namespace it creates, scans, then removes NIC, TAP and namespace."""
    from ccsec.lab.qmp import Qmp

    _tool("nmap", "scripts/lab-deps.sh (Debian's nmap)")
    tap = f"ccsec-j{host.ssh_port}"[:15]
    qmp_socket = Path(host.vm_dir) / "qmp.sock"
    if not qmp_socket.exists():
        raise JudgeMissing("the VM has no QMP socket (a lab from an older version): ccsec lab down; ccsec lab up")
    _run("ip", "netns", "add", SCAN_NS)
    _run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    try:
        with Qmp(qmp_socket) as qmp:
            qmp.execute("netdev_add", type="tap", id="judge0", ifname=tap, script="no", downscript="no")
            qmp.execute("device_add", driver="virtio-net-pci", netdev="judge0", id="judgenic0", mac=SCAN_MAC)
        _run("ip", "link", "set", tap, "netns", SCAN_NS)
        _run("ip", "-n", SCAN_NS, "addr", "add", f"{SCANNER_IP}/24", "dev", tap)
        _run("ip", "-n", SCAN_NS, "link", "set", tap, "up")
        _ssh(
            lab,
            host,
            f"for i in $(seq 1 30); do dev=$(ip -o link | grep -i {SCAN_MAC} | cut -d: -f2 | tr -d ' '); "
            f'[ -n "$dev" ] && break; sleep 1; done; '
            f"sudo ip addr add {GUEST_IP}/24 dev $dev && sudo ip link set $dev up",
        )
        # the firewall drops silently: without a rate floor nmap backs off to > 15 min a host under TCG
        scan = _run("ip", "netns", "exec", SCAN_NS, "nmap", "-Pn", "-n", "-sS", "-p-", "-T4", "--max-retries", "1",
                    "--min-rate", "1000", "--open", "-oG", "-", GUEST_IP)  # fmt: skip
        neighbour = _run("ip", "-n", SCAN_NS, "neigh", "show", GUEST_IP).stdout.lower()
        return scan.stdout, SCAN_MAC in neighbour and "failed" not in neighbour
    finally:
        with contextlib.suppress(Exception), Qmp(qmp_socket) as qmp:
            qmp.execute("device_del", id="judgenic0")
        with contextlib.suppress(Exception):
            time.sleep(2)
            with Qmp(qmp_socket) as qmp:
                qmp.execute("netdev_del", id="judge0")
        _run("ip", "netns", "delete", SCAN_NS)
        _run("ip", "link", "delete", tap)


def _judge(name: str, out: Path, ext: str, collect: Callable[[], str], parse: Callable[[str], dict[str, Any]],
           met: Callable[[dict[str, Any]], bool]) -> Judgement:  # fmt: skip
    """Run one judge; keep its raw report; any failure to run or to read its report is an error, never a pass."""
    judgement = Judgement(name, TARGETS[name])
    try:
        raw = collect()
        (out / f"{name}.{ext}").write_text(raw)
        judgement.figures = parse(raw)
        judgement.met = met(judgement.figures)
    except (JudgeMissing, ValueError, OSError, subprocess.SubprocessError) as error:
        judgement.error = " ".join(str(error).split()) or type(error).__name__
    return judgement


def judge_host(lab: LabState, host: HostState, judges: list[str], out: Path, hostname: str) -> HostJudgements:
    """Every judge asked for that applies to ``host`` (testssl: hosts with HTTPS only)."""
    out.mkdir(parents=True, exist_ok=True)
    result = HostJudgements(host.name, host.role)
    scan: dict[str, bool] = {}

    def nmap_raw() -> str:
        text, arp = raw_nmap(lab, host)
        scan["arp"] = arp
        return text

    plan = {
        "ssh-audit": ("json", lambda: raw_ssh_audit(lab, host), sshaudit.parse, sshaudit.met),
        "testssl": ("json", lambda: raw_testssl(lab, host, hostname), testssl.parse, testssl.met),
        "lynis": ("dat", lambda: raw_lynis(lab, host), lynis.parse, lynis.met),
        "nmap": ("gnmap", nmap_raw, lambda text: portscan.parse(text, scan.get("arp", False)), portscan.met),
    }
    for name in judges:
        if name == "testssl" and not host.https_port:
            continue
        ext, collect, parse, met = plan[name]
        result.judgements.append(_judge(name, out, ext, collect, parse, met))
    return result
