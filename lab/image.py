"""Build and cache the lab's Debian 12 base image.

Recipe (no loop mounts, no partition table):

1. ``debootstrap --variant=minbase bookworm`` from the mirror this host's apt uses;
2. in a chroot (with ``policy-rc.d`` so no service starts), ``apt-get install --no-install-recommends``
   of :file:`lab/packages.txt` plus the security/updates suites, then clean-up for first boot
   (empty machine-id, no SSH host keys, NoCloud-only datasource, man-db triggers off);
3. ``mkfs.ext4 -d rootfs`` into a sparse raw file → ``qemu-img convert`` to ``base.qcow2``;
4. the kernel and initrd are copied out for QEMU direct kernel boot (``root=/dev/vda``).

The result lives in ``cache_dir()/bookworm-<hash>/`` where the hash covers packages.txt, this file
and the mirrors; it is rebuilt only when that hash changes. VMs boot from qcow2 overlays, so the
base image is never written to.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ccsec.lab.mirror import Mirrors, host_mirrors
from ccsec.lab.paths import cache_dir, lab_dir
from ccsec.lab.progress import Progress, Stopwatch

SUITE = "bookworm"
RECIPE_VERSION = "1"
FREE_SPACE_BYTES = 4 * 1024**3  # room for logs, PostgreSQL data, AIDE db, backups
# Not security relevant and slow under TCG (e2scrub_reap alone costs ~20 s of first boot).
DISABLED_UNITS = ("man-db.timer", "e2scrub_reap.service", "e2scrub_all.timer")

CLOUD_CFG = """\
# Written by the ccsec lab image builder: NoCloud seed (ISO labelled "cidata") only.
datasource_list: [ NoCloud ]
"""


@dataclass(frozen=True)
class BaseImage:
    """A built base image: qcow2 disk plus kernel/initrd for direct kernel boot."""

    directory: Path
    disk: Path
    kernel: Path
    initrd: Path
    recipe_hash: str


def package_list(path: Path | None = None) -> list[str]:
    """Packages from lab/packages.txt (comments and blank lines dropped)."""
    text = (path or lab_dir() / "packages.txt").read_text()
    pkgs = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [p for p in pkgs if p]


def recipe_hash(mirrors: Mirrors | None = None) -> str:
    """Hash of everything that determines the image content."""
    mirrors = mirrors or host_mirrors(suite=SUITE)
    h = hashlib.sha256()
    for part in (
        RECIPE_VERSION,
        SUITE,
        mirrors.main,
        mirrors.security,
        "\n".join(package_list()),
        Path(__file__).read_text(),
    ):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _image(directory: Path, digest: str) -> BaseImage:
    return BaseImage(
        directory=directory,
        disk=directory / "base.qcow2",
        kernel=directory / "vmlinuz",
        initrd=directory / "initrd.img",
        recipe_hash=digest,
    )


def cached_image() -> BaseImage | None:
    """The current base image if it is built, else None."""
    digest = recipe_hash()
    directory = cache_dir() / f"{SUITE}-{digest}"
    return _image(directory, digest) if (directory / "COMPLETE").is_file() else None


def ensure_image(progress: Progress | None = None, *, force: bool = False) -> BaseImage:
    """Return the cached base image, building it first if the recipe changed (or ``force``)."""
    say = progress if isinstance(progress, Stopwatch) else Stopwatch(progress)
    mirrors = host_mirrors(suite=SUITE)
    digest = recipe_hash(mirrors)
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{SUITE}-{digest}"
    with open(root / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "COMPLETE").is_file() and not force:
            say(f"base image {final.name} is cached")
            return _image(final, digest)
        if os.geteuid() != 0:
            raise PermissionError("building the lab image needs root (debootstrap, chroot)")
        build = root / f".build-{digest}-{os.getpid()}"
        _remove_tree(build)
        build.mkdir()
        try:
            _build(build, mirrors, say)
            shutil.rmtree(final, ignore_errors=True)
            os.rename(build, final)
        finally:
            _remove_tree(build)
        _prune(root, keep=final)
        say(f"base image {final.name} ready")
        return _image(final, digest)


def _run(argv: list[str], say: Progress, what: str, **kw: object) -> None:
    """Run a command; on failure raise with the tail of its output."""
    say(what)
    res = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).splitlines()[-25:])
        raise RuntimeError(f"{what} failed (exit {res.returncode}):\n{tail}")


def _mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path``."""
    prefix = str(path.resolve())
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def _remove_tree(path: Path) -> None:
    """Remove a build tree, unmounting anything below it first; refuse if a mount remains."""
    if not path.exists():
        return
    for point in sorted(_mounts_under(path), reverse=True):
        subprocess.run(["umount", "-l", point], check=False)
    if _mounts_under(path):
        raise RuntimeError(f"refusing to delete {path}: still has mounts below it")
    shutil.rmtree(path)


def _prune(root: Path, keep: Path) -> None:
    """Delete older cached images (other recipe hashes)."""
    for old in root.glob(f"{SUITE}-*"):
        if old != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _chroot(rootfs: Path, argv: list[str], say: Progress, what: str) -> None:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive",
        "LC_ALL": "C.UTF-8",
        "HOME": "/root",
    }
    _run(["chroot", str(rootfs), *argv], say, what, env=env)


def _build(build: Path, mirrors: Mirrors, say: Stopwatch) -> None:
    rootfs = build / "rootfs"
    packages = package_list()
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            "--components=main",
            "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg",
            SUITE,
            str(rootfs),
            mirrors.main,
        ],
        say,
        f"debootstrap {SUITE} (minbase) from {mirrors.main}",
    )
    _prepare_chroot(rootfs, mirrors)
    subprocess.run(["mount", "-t", "proc", "proc", str(rootfs / "proc")], check=True)
    subprocess.run(["mount", "-t", "sysfs", "sysfs", str(rootfs / "sys")], check=True)
    try:
        _chroot(rootfs, ["apt-get", "update", "-q"], say, "apt-get update (bookworm, -updates, -security)")
        _chroot(rootfs, ["apt-get", "dist-upgrade", "-y", "-q"], say, "apt-get dist-upgrade")
        _chroot(
            rootfs,
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
            say,
            f"apt-get install {len(packages)} packages (+ dependencies)",
        )
        _chroot(rootfs, ["locale-gen"], say, "locale-gen")
        manifest = subprocess.run(
            ["chroot", str(rootfs), "dpkg-query", "-W", "-f", "${Package}\t${Version}\n"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        _chroot(rootfs, ["apt-get", "clean"], say, "apt-get clean")
    finally:
        for point in sorted(_mounts_under(rootfs), reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
    _finish_rootfs(rootfs)
    _extract_boot(rootfs, build, say)
    size = _make_disk(rootfs, build, say)
    (build / "manifest.txt").write_text(manifest)
    (build / "recipe.json").write_text(
        json.dumps(
            {
                "suite": SUITE,
                "mirror": mirrors.main,
                "security": mirrors.security,
                "packages": packages,
                "recipe_version": RECIPE_VERSION,
                "fs_bytes": size,
                "build_seconds": round(say.elapsed, 1),
            },
            indent=2,
        )
        + "\n"
    )
    _remove_tree(rootfs)
    (build / "COMPLETE").write_text("ok\n")


def _prepare_chroot(rootfs: Path, mirrors: Mirrors) -> None:
    """apt sources, no service starts, no man-db rebuilds, locale — before installing packages."""
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirrors.main} {SUITE} main\n"
        f"deb {mirrors.main} {SUITE}-updates main\n"
        f"deb {mirrors.security} {SUITE}-security main\n"
    )
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# lab image build: never start services in the chroot\nexit 101\n")
    policy.chmod(0o755)
    # man-db triggers rebuild the index after every package: minutes under a chroot, useless here.
    sel = rootfs / "var/cache/debconf/lab-preseed"
    sel.write_text(
        "man-db man-db/auto-update boolean false\n"
        "locales locales/default_environment_locale select en_US.UTF-8\n"
        "locales locales/locales_to_be_generated multiselect en_US.UTF-8 UTF-8\n"
    )
    subprocess.run(
        ["chroot", str(rootfs), "debconf-set-selections", "/var/cache/debconf/lab-preseed"],
        check=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    sel.unlink()
    (rootfs / "etc/locale.gen").write_text("en_US.UTF-8 UTF-8\n")
    (rootfs / "etc/default/locale").write_text("LANG=en_US.UTF-8\n")


def _finish_rootfs(rootfs: Path) -> None:
    """Make the tree a clean first-boot image."""
    (rootfs / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
    (rootfs / "etc/fstab").write_text("/dev/vda / ext4 errors=remount-ro 0 1\n")
    (rootfs / "etc/hostname").write_text("localhost\n")
    (rootfs / "etc/machine-id").write_text("")  # systemd generates a fresh one per VM
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # each VM gets its host key from cloud-init (pinned by the lab)
    cfg = rootfs / "etc/cloud/cloud.cfg.d/90_ccsec_lab_datasource.cfg"
    cfg.write_text(CLOUD_CFG)
    for unit in DISABLED_UNITS:
        subprocess.run(["systemctl", f"--root={rootfs}", "disable", unit], check=False, capture_output=True)
    for sub in ("var/lib/apt/lists", "var/log/apt", "tmp", "var/tmp"):
        d = rootfs / sub
        for child in d.glob("*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            elif child.name != "lock":
                child.unlink()
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)


def _extract_boot(rootfs: Path, build: Path, say: Progress) -> None:
    kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
    initrds = sorted((rootfs / "boot").glob("initrd.img-*"))
    if len(kernels) != 1 or len(initrds) != 1:
        raise RuntimeError(f"expected one kernel and one initrd, found {kernels} / {initrds}")
    say(f"kernel {kernels[0].name}")
    shutil.copyfile(kernels[0], build / "vmlinuz")
    shutil.copyfile(initrds[0], build / "initrd.img")


def _tree_bytes(rootfs: Path) -> int:
    res = subprocess.run(["du", "-sx", "--block-size=1", str(rootfs)], capture_output=True, text=True, check=True)
    return int(res.stdout.split()[0])


def _make_disk(rootfs: Path, build: Path, say: Progress) -> int:
    used = _tree_bytes(rootfs)
    size = ((used * 12 // 10 + FREE_SPACE_BYTES) // 2**20 + 1) * 2**20
    raw = build / "base.raw"
    with open(raw, "wb") as f:
        f.truncate(size)
    _run(
        ["mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", str(rootfs), str(raw)],
        say,
        f"mkfs.ext4 -d ({used / 2**20:.0f} MiB used, {size / 2**30:.1f} GiB filesystem)",
    )
    _run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(build / "base.qcow2")], say, "qemu-img convert to qcow2")
    raw.unlink()
    (build / "base.qcow2").chmod(0o444)
    return size
