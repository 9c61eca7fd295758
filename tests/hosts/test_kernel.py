"""HOST-05/06: kernel parameters and modules that must not load."""

from __future__ import annotations

import pytest

SYSCTL = {
    "kernel.kptr_restrict": 2,
    "kernel.dmesg_restrict": 1,
    "kernel.unprivileged_bpf_disabled": 1,
    "kernel.yama.ptrace_scope": 2,
    "kernel.kexec_load_disabled": 1,
    "kernel.sysrq": 0,
    "kernel.randomize_va_space": 2,
    "fs.protected_hardlinks": 1,
    "fs.protected_symlinks": 1,
    "fs.suid_dumpable": 0,
    "net.ipv4.ip_forward": 0,
    "net.ipv4.conf.all.accept_redirects": 0,
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.all.accept_source_route": 0,
    "net.ipv4.conf.all.rp_filter": 1,
    "net.ipv4.conf.all.log_martians": 1,
    "net.ipv4.tcp_syncookies": 1,
    "net.ipv6.conf.all.accept_redirects": 0,
    "net.ipv6.conf.all.accept_ra": 0,
}
MODULES = ("cramfs", "freevxfs", "jffs2", "hfs", "hfsplus", "udf", "usb-storage", "dccp", "sctp", "rds", "tipc")


@pytest.mark.control("HOST-05")
def test_sysctl_values(host) -> None:
    with host.sudo():
        wrong = {k: host.sysctl(k) for k, v in SYSCTL.items() if host.sysctl(k) != v}
    assert not wrong, f"sysctl values that differ from the baseline: {wrong}"


@pytest.mark.control("HOST-06")
@pytest.mark.parametrize("module", MODULES)
def test_module_cannot_be_loaded(host, module: str) -> None:
    with host.sudo():
        result = host.run(f"modprobe -n -v {module}")
    assert "install /bin/false" in result.stdout, f"{module}: {result.stdout or result.stderr}"
    assert module.replace("-", "_") not in host.check_output("cut -d' ' -f1 /proc/modules").split()
