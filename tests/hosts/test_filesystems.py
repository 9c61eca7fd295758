"""HOST-07/08: scratch mounts without exec/suid/devices, no core dumps, restrictive umask."""

from __future__ import annotations

import pytest


@pytest.mark.control("HOST-07")
@pytest.mark.parametrize("path", ["/tmp", "/var/tmp", "/dev/shm"])
def test_scratch_mounts_are_nodev_nosuid_noexec(host, path: str) -> None:
    mount = host.mount_point(path)
    assert mount.exists, f"{path} is not a separate mount"
    assert {"nodev", "nosuid", "noexec"} <= set(mount.options), mount.options


@pytest.mark.control("HOST-08")
def test_core_dumps_are_off(host) -> None:
    assert host.check_output("ulimit -Hc") == "0"
    with host.sudo():
        coredump = host.file("/etc/systemd/coredump.conf.d/ccaas-baseline.conf").content_string
    assert "Storage=none" in coredump
    assert host.sysctl("fs.suid_dumpable") == 0


@pytest.mark.control("HOST-08")
def test_login_shells_get_umask_027(host) -> None:
    assert host.check_output("bash -lc umask") == "0027"
