"""Independent judges against the running lab: ssh-audit, testssl.sh and lynis. Prints figures.

Run `ccsec lab up --roles bastion,app` first (scripts/lab-deps.sh installs the judges from Debian).

- ssh-audit   (PyPI, a dev dependency: Debian 12's 2.5 predates sntrup761/kex-strict)
              each host's SSH (forwarded port): counts of [fail] and [warn] findings (target: 0 and 0)
- testssl.sh  (3.2, fetched from Debian 13 by scripts/judges-deps.sh: 3.0.8 has no rating)
              the app host's HTTPS (its edge-zone NIC): overall grade (target: A+). The app's
              certificate is trusted with --add-ca, as a client of the internal CA would.
- lynis       `lynis audit system` inside each host (this machine's lynis, copied in and removed
              again): hardening index (target: >= 90)
- nmap        a full TCP port scan of each host from an untrusted network: the judge hot-plugs a NIC
              (QMP) on a TAP device inside a network namespace it creates (192.0.2.0/24), scans every
              port from there, then removes NIC, TAP and namespace. Target: no open port (the host
              firewall admits only the role's zones).

Nothing here asserts: the figures go into the README. --json prints them machine-readably.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ccsec.infra.stackfile import load_stack_config  # noqa: E402
from ccsec.lab import api as lab_api  # noqa: E402
from ccsec.lab.state import HostState  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def ssh(lab_config: str, host: HostState, command: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", lab_config, host.name, command], input=stdin, capture_output=True, timeout=1800, check=False
    )


def judge_command(name: str, *fallbacks: str) -> str:
    """The judge installed with the project (.venv) first, else the system's (Debian packages)."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    for candidate in (name, *fallbacks):
        found = shutil.which(candidate)
        if found:
            return found
    raise SystemExit(f"{name} not found: run `make setup` and scripts/lab-deps.sh")


def ssh_audit(host: HostState) -> dict:
    result = subprocess.run(
        [judge_command("ssh-audit"), "-n", "-p", str(host.ssh_port), host.ssh_host],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    text = ANSI.sub("", result.stdout)
    return {
        "fail": len(re.findall(r"\[fail\]", text)),
        "warn": len(re.findall(r"\[warn\]", text)),
        "findings": [line.strip() for line in text.splitlines() if "[fail]" in line or "[warn]" in line],
    }


def testssl_command() -> tuple[str, dict[str, str]]:
    """testssl.sh 3.2 from scripts/judges-deps.sh (Debian 12's 3.0.8 prints no overall grade)."""
    script = subprocess.run(
        [str(ROOT / "scripts" / "judges-deps.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    install_dir = Path(script).parent.parent.parent / "etc" / "testssl"
    return script, {"TESTSSL_INSTALL_DIR": str(install_dir)}


def testssl(lab_config: str, host: HostState, hostname: str) -> dict:
    certificate = ssh(lab_config, host, "sudo cat /etc/ssl/ccaas/app.crt").stdout
    script, env = testssl_command()
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp) / "app-ca.pem"
        ca.write_bytes(certificate)
        report = Path(tmp) / "testssl.json"
        subprocess.run(
            [
                "bash",
                script,
                "--quiet",
                "--color",
                "0",
                "--warnings",
                "batch",
                "--add-ca",
                str(ca),
                "--ip",
                host.ssh_host,
                "--jsonfile",
                str(report),
                f"https://{hostname}:{host.https_port}",
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
            env={**os.environ, **env},
        )
        findings = json.loads(report.read_text()) if report.is_file() else []
    by_id = {f.get("id"): f.get("finding") for f in findings}
    return {
        "grade": by_id.get("overall_grade", "n/a"),
        "final_score": by_id.get("final_score"),
        "grade_cap_reasons": [f.get("finding") for f in findings if str(f.get("id", "")).startswith("grade_cap")],
        "protocols": {k: by_id.get(k) for k in ("SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")},
        "hsts": by_id.get("HSTS"),
    }


def lynis(lab_config: str, host: HostState) -> dict:
    bundle = subprocess.run(
        ["tar", "-C", "/", "-cf", "-", "usr/share/lynis", "usr/sbin/lynis", "etc/lynis"],
        capture_output=True,
        check=True,
    ).stdout
    target = "/var/lib/ccsec-judge"
    script = (
        f"sudo rm -rf {target} && sudo mkdir -p {target} && sudo tar -C {target} -xf - && "
        f"cd {target}/usr/share/lynis && sudo cp {target}/usr/sbin/lynis ./lynis && "
        f"sudo sh ./lynis audit system --quick --no-colors --profile {target}/etc/lynis/default.prf "
        f"--report-file {target}/report.dat >/dev/null 2>&1; sudo cat {target}/report.dat; sudo rm -rf {target}"
    )
    report = ssh(lab_config, host, script, stdin=bundle).stdout.decode(errors="replace")
    values: dict[str, list[str]] = {}
    for line in report.splitlines():
        key, _, value = line.partition("=")
        values.setdefault(key, []).append(value)
    index = values.get("hardening_index", ["n/a"])[0]
    return {
        "hardening_index": int(index) if index.isdigit() else index,
        "warnings": values.get("warning[]", []),
        "suggestions": len(values.get("suggestion[]", [])),
    }


SCAN_NS = "ccsec-judge"
SCAN_MAC = "52:54:00:c0:ca:99"
SCANNER_IP, GUEST_IP = "192.0.2.20", "192.0.2.10"


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=1800, check=False)


def port_scan(lab_config: str, host: HostState) -> dict:
    """Every TCP port of `host`, scanned from a namespace on an untrusted network."""
    from ccsec.lab.qmp import Qmp

    tap = f"ccsec-j{host.ssh_port}"[:15]
    qmp_socket = Path(host.vm_dir) / "qmp.sock"
    if not qmp_socket.exists():
        return {"error": "VM started without a QMP socket (lab from an older version): ccsec lab down; up"}
    run("ip", "netns", "add", SCAN_NS)
    run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    try:
        with Qmp(qmp_socket) as qmp:
            qmp.execute("netdev_add", type="tap", id="judge0", ifname=tap, script="no", downscript="no")
            qmp.execute("device_add", driver="virtio-net-pci", netdev="judge0", id="judgenic0", mac=SCAN_MAC)
        run("ip", "link", "set", tap, "netns", SCAN_NS)
        run("ip", "-n", SCAN_NS, "addr", "add", f"{SCANNER_IP}/24", "dev", tap)
        run("ip", "-n", SCAN_NS, "link", "set", tap, "up")
        guest_setup = (
            f"for i in $(seq 1 30); do dev=$(ip -o link | grep -i {SCAN_MAC} | cut -d: -f2 | tr -d ' '); "
            f'[ -n "$dev" ] && break; sleep 1; done; '
            f"sudo ip addr add {GUEST_IP}/24 dev $dev && sudo ip link set $dev up && echo $dev"
        )
        ssh(lab_config, host, guest_setup)
        scan = run(
            "ip",
            "netns",
            "exec",
            SCAN_NS,
            "nmap",
            "-Pn",
            "-n",
            "-sS",
            "-p-",
            "-T4",
            "--max-retries",
            "1",
            "--min-rate",
            "1000",  # the firewall drops silently: without a floor nmap backs off to > 15 min a host under TCG
            "--open",
            "-oG",
            "-",
            GUEST_IP,
        )
        open_ports = sorted(int(m.group(1)) for m in re.finditer(r"(\d+)/open/tcp", scan.stdout))
        reachable = run("ip", "netns", "exec", SCAN_NS, "ping", "-c", "1", "-W", "2", GUEST_IP).returncode == 0
        # Positive control: the guest's NIC answered ARP, so "no open port" means filtered, not "nobody there".
        neighbour = run("ip", "-n", SCAN_NS, "neigh", "show", GUEST_IP).stdout.lower()
        return {
            "source": f"{SCANNER_IP} (untrusted)",
            "ports_scanned": 65535,
            "open": open_ports,
            "guest_answers_ping": reachable,
            "guest_answers_arp": SCAN_MAC in neighbour and "failed" not in neighbour,
            "nmap_exit": scan.returncode,
        }
    finally:
        with contextlib.suppress(Exception), Qmp(qmp_socket) as qmp:
            qmp.execute("device_del", id="judgenic0")
        with contextlib.suppress(Exception):
            time.sleep(2)
            with Qmp(qmp_socket) as qmp:
                qmp.execute("netdev_del", id="judge0")
        run("ip", "netns", "delete", SCAN_NS)
        run("ip", "link", "delete", tap)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print all figures as JSON")
    parser.add_argument("--hosts", default="", help="comma-separated lab host names to judge (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated judges to skip (ssh-audit,testssl,lynis,nmap)")
    args = parser.parse_args()
    lab = lab_api.status()
    if lab is None or not lab.hosts:
        print("no lab is running: ccsec lab up --roles bastion,app", file=sys.stderr)
        return 2
    skip = set(args.skip.split(","))
    hostname = load_stack_config(lab.stack).tls.hostname
    figures: dict[str, dict] = {}
    wanted = {name for name in args.hosts.split(",") if name}
    for host in lab.hosts:
        if wanted and host.name not in wanted:
            continue
        entry: dict = {"role": host.role}
        if "ssh-audit" not in skip:
            entry["ssh_audit"] = ssh_audit(host)
        if "testssl" not in skip and host.https_port:
            entry["testssl"] = testssl(lab.ssh_config_file, host, hostname)
        if "lynis" not in skip:
            entry["lynis"] = lynis(lab.ssh_config_file, host)
        if "nmap" not in skip:
            entry["port_scan"] = port_scan(lab.ssh_config_file, host)
        figures[host.name] = entry
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'host':<18}{'ssh-audit fail/warn':>21}{'testssl grade':>15}{'lynis index':>13}  open ports (untrusted)")
    for name, entry in figures.items():
        audit = entry.get("ssh_audit", {})
        tls = entry.get("testssl", {}).get("grade", "-")
        index = entry.get("lynis", {}).get("hardening_index", "-")
        scan = entry.get("port_scan", {})
        ports = scan.get("open", scan.get("error", "-"))
        print(f"{name:<18}{audit.get('fail', '-')!s:>12}/{audit.get('warn', '-')!s:<8}{tls:>15}{index!s:>13}  {ports}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
