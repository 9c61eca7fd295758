"""HOST-18 helpers: where a path lives, proven down to a LUKS2 header on its own disk."""

from __future__ import annotations


def luks2_data_volume_under(host, path: str) -> str:
    """The dm-crypt mapping that holds ``path``, asserted to be LUKS2 on its own disk, not the boot disk's."""
    with host.sudo():  # the data directory is closed to the admin user: findmnt must be able to stat it
        return _as_root(host, path)


def _as_root(host, path: str) -> str:
    mount = host.check_output(f"findmnt -n -o TARGET --target {path}")
    source = host.check_output(f"findmnt -n -o SOURCE --target {path}")
    assert source.startswith("/dev/mapper/"), f"{path} is on {source} ({mount}), not on a dm-crypt mapping"
    options = set(host.check_output(f"findmnt -n -o OPTIONS --target {path}").split(","))
    assert {"nodev", "nosuid", "noexec"} <= options, f"{mount} is mounted {sorted(options)}"
    assert host.check_output(f"lsblk -dno TYPE {source}") == "crypt"
    name = source.removeprefix("/dev/mapper/")
    status = host.check_output(f"cryptsetup status {name}")
    device = next(line.split()[-1] for line in status.splitlines() if line.strip().startswith("device:"))
    dump = host.check_output(f"cryptsetup luksDump {device}")
    assert [line.split()[-1] for line in dump.splitlines() if line.startswith("Version:")] == ["2"]
    assert host.file("/etc/ccaas/luks.key").mode == 0o400
    assert any(line.split()[:1] == [name] for line in host.file("/etc/crypttab").content_string.splitlines())
    data_disks, root_disks = _disks_under(host, source), _disks_under(host, host.check_output("findmnt -no SOURCE /"))
    assert data_disks and root_disks, (data_disks, root_disks)
    assert not data_disks & root_disks, f"{name} sits on the boot disk {sorted(root_disks)}"
    # what the mount hides on the boot volume (seen through a private bind mount of /): nothing at all
    hidden = host.check_output(f"unshare --mount sh -c 'mount --bind / /mnt && ls -A /mnt{mount}'")
    assert hidden == "", f"the boot volume still holds under {mount}: {hidden.split()}"
    return name


def _disks_under(host, device: str) -> set[str]:
    """The whole disks a block device is built on (itself, if it is one)."""
    rows = [line.split() for line in host.check_output(f"lsblk -snro NAME,TYPE {device}").splitlines()]
    return {row[0] for row in rows if row[1:] == ["disk"]}
