"""The one private-file writer (ccsec.backup.private_files) against the attacks a shared directory allows.

The scenario is the backup agent's: root writes a secret config into a directory another user (postgres) can
write to. That user may plant symlinks or hard links at the final name or at the temp name, or swap the
directory itself for a symlink; none of it may make root write, chmod or chown anything but the new file.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ccsec.backup import bundle, private_files
from ccsec.backup.private_files import PrivateFileError, private_dir, write_private

REPO = Path(__file__).resolve().parents[2]
ROOT = os.geteuid() == 0
NOBODY = (65534, 65534)


def victim(tmp_path: Path, text: str = "ROOT-OWNED\n", mode: int = 0o644) -> Path:
    """A file the attacker wants overwritten (e.g. /etc/shadow); must come out untouched."""
    path = tmp_path / "victim"
    path.write_text(text)
    path.chmod(mode)
    return path


def untouched(path: Path, text: str = "ROOT-OWNED\n", mode: int = 0o644, owner: tuple[int, int] = (0, 0)) -> None:
    st = path.lstat()
    assert path.read_text() == text
    assert stat.S_IMODE(st.st_mode) == mode
    if ROOT:
        assert (st.st_uid, st.st_gid) == owner


def shared_dir(tmp_path: Path) -> Path:
    d = tmp_path / "shared"  # stands in for the postgres-owned pgBackRest home
    d.mkdir()
    return d


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_atomically_with_the_final_mode(tmp_path: Path) -> None:
    path = write_private(tmp_path / "secret.conf", "k=v\n")
    assert path.read_text() == "k=v\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_private(path, b"\x00binary")
    assert path.read_bytes() == b"\x00binary" and leftovers(tmp_path) == []


def test_a_planted_symlink_at_the_final_name_is_replaced_not_followed(tmp_path: Path) -> None:
    target = victim(tmp_path)
    d = shared_dir(tmp_path)
    (d / "pgbackrest.conf").symlink_to(target)
    write_private(d / "pgbackrest.conf", "secret\n", 0o600, NOBODY if ROOT else None)
    untouched(target)
    final = d / "pgbackrest.conf"
    assert not final.is_symlink() and final.read_text() == "secret\n"
    assert stat.S_IMODE(final.lstat().st_mode) == 0o600


def test_a_dangling_symlink_at_the_final_name_creates_nothing_where_it_points(tmp_path: Path) -> None:
    d = shared_dir(tmp_path)
    (d / "pgbackrest.conf").symlink_to(tmp_path / "cron.d-entry")
    write_private(d / "pgbackrest.conf", "secret\n")
    assert not (tmp_path / "cron.d-entry").exists()
    assert (d / "pgbackrest.conf").read_text() == "secret\n"


def test_a_planted_hard_link_to_a_root_file_keeps_its_content_mode_and_owner(tmp_path: Path) -> None:
    target = victim(tmp_path)
    d = shared_dir(tmp_path)
    os.link(target, d / "pgbackrest.conf")
    write_private(d / "pgbackrest.conf", "secret\n", 0o600, NOBODY if ROOT else None)
    untouched(target)
    assert target.stat().st_nlink == 1  # the link was replaced, not written through
    final = (d / "pgbackrest.conf").stat()
    assert stat.S_IMODE(final.st_mode) == 0o600 and final.st_ino != target.stat().st_ino
    if ROOT:
        assert (final.st_uid, final.st_gid) == NOBODY


def test_planted_links_at_the_temp_name_pattern_are_never_opened(tmp_path: Path, monkeypatch) -> None:
    target = victim(tmp_path)
    d = shared_dir(tmp_path)
    names = iter(["aaaa", "bbbb", "cccc"])
    monkeypatch.setattr(private_files.secrets, "token_hex", lambda _n: next(names))
    (d / ".pgbackrest.conf.aaaa.tmp").symlink_to(target)  # the attacker guessed the first two names
    os.link(target, d / ".pgbackrest.conf.bbbb.tmp")
    write_private(d / "pgbackrest.conf", "secret\n")
    untouched(target)
    assert (d / "pgbackrest.conf").read_text() == "secret\n"
    assert (d / ".pgbackrest.conf.aaaa.tmp").is_symlink()  # left as found, never followed or removed
    assert (d / ".pgbackrest.conf.bbbb.tmp").stat().st_ino == target.stat().st_ino


def test_when_every_temp_name_is_taken_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    target = victim(tmp_path)
    d = shared_dir(tmp_path)
    monkeypatch.setattr(private_files.secrets, "token_hex", lambda _n: "same")
    (d / ".pgbackrest.conf.same.tmp").symlink_to(target)
    with pytest.raises(PrivateFileError, match="every name was taken"):
        write_private(d / "pgbackrest.conf", "secret\n")
    untouched(target)
    assert not (d / "pgbackrest.conf").exists()


def test_a_symlinked_parent_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "etc"
    real.mkdir()
    (tmp_path / "home").symlink_to(real, target_is_directory=True)
    with pytest.raises(PrivateFileError, match="is a symlink"):
        write_private(tmp_path / "home" / "pgbackrest.conf", "secret\n")
    assert list(real.iterdir()) == []


def test_a_missing_parent_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PrivateFileError, match="cannot open directory") as caught:
        write_private(tmp_path / "missing" / "x", "secret")
    assert "secret" not in str(caught.value).replace("missing", "")


@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o644), (0o000, 0o600), (0o022, 0o640), (0o777, 0o600)])
def test_the_mode_is_exact_from_creation_whatever_the_umask(tmp_path: Path, monkeypatch, umask: int, mode: int) -> None:
    seen: list[tuple[int, int]] = []
    real_write = os.write

    def spy_write(fd: int, data) -> int:  # before the first byte lands, the file already has its final mode
        st = os.fstat(fd)
        seen.append((stat.S_IMODE(st.st_mode), st.st_size))
        return real_write(fd, data)

    monkeypatch.setattr(private_files.os, "write", spy_write)
    old = os.umask(umask)
    try:
        path = write_private(tmp_path / "f", "data", mode)
    finally:
        os.umask(old)
    assert seen and seen[0] == (mode, 0)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_flags_refuse_to_follow_or_reuse_anything(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    real_open = os.open

    def spy_open(path, flags, *args, **kwargs):
        calls.append(flags)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(private_files.os, "open", spy_open)
    write_private(tmp_path / "f", "data")
    directory, file = calls
    assert directory & os.O_DIRECTORY and directory & os.O_NOFOLLOW
    for flag in (os.O_CREAT, os.O_EXCL, os.O_NOFOLLOW, os.O_CLOEXEC, os.O_WRONLY):
        assert file & flag
    assert not file & os.O_TRUNC


def test_an_interrupted_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch) -> None:
    path = write_private(tmp_path / "restic.pass", "old-secret\n")
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(private_files.os, "fsync", failing_fsync)
    with pytest.raises(PrivateFileError, match=r"restic\.pass: Input/output error") as caught:
        write_private(path, "new-secret\n")
    assert "new-secret" not in str(caught.value)
    assert path.read_text() == "old-secret\n" and leftovers(tmp_path) == []


def test_a_process_killed_mid_write_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = write_private(tmp_path / "restic.pass", "old-secret\n")
    child = (
        "import os, signal, sys\n"
        "from ccsec.backup import private_files as pf\n"
        "pf.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"  # dies after writing, before rename
        f"pf.write_private({str(path)!r}, 'new-secret' * 100000)\n"
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, check=False, timeout=60)
    assert result.returncode == -signal.SIGKILL
    assert path.read_text() == "old-secret\n"
    # the orphan temp file (if any) is private: it has the final mode, never a wider one
    for name in leftovers(tmp_path):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_private_dir_sets_owner_and_mode_and_refuses_a_symlink(tmp_path: Path) -> None:
    d = private_dir(tmp_path / "a" / "b", 0o700, NOBODY if ROOT else None)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    if ROOT:
        assert (d.stat().st_uid, d.stat().st_gid) == NOBODY
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o755)
    etc.chmod(0o755)
    (tmp_path / "log").symlink_to(etc, target_is_directory=True)
    with pytest.raises(PrivateFileError, match="is a symlink"):
        private_dir(tmp_path / "log", 0o700, NOBODY if ROOT else None)
    assert stat.S_IMODE(etc.stat().st_mode) == 0o755
    if ROOT:
        assert (etc.stat().st_uid, etc.stat().st_gid) == (0, 0)


def test_the_backup_agent_bundle_carries_the_writer() -> None:
    import io
    import zipfile

    for engines in (("files",), ("postgres",)):
        assert "backup/private_files.py" in zipfile.ZipFile(io.BytesIO(bundle.build(engines))).namelist()


# Where the project writes files itself: every private writer must be this one. Allowed: the writer itself and
# the agent's lock file (O_CREAT without data, in the root-owned state dir).
ALLOWED_OPEN_CREAT = {"backup/private_files.py", "backup/lock.py"}


def _os_open_with_creat(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "os.open" and "O_CREAT" in ast.unparse(node):
            return True
    return False


def test_no_other_module_creates_files_with_os_open_or_chmods_a_secret_by_path() -> None:
    offenders = []
    for folder in ("ccsec", "infra", "lab", "backup", "policies", "testbeds"):
        for path in (REPO / folder).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            text = path.read_text()
            if rel not in ALLOWED_OPEN_CREAT and _os_open_with_creat(text):
                offenders.append(rel)
            for number, line in enumerate(text.splitlines(), 1):
                if re.search(r"\b(chmod|touch)\(.*0o[0-7]?600", line):
                    offenders.append(f"{rel}:{number} (chmod/touch 0600 by path)")
    assert offenders == []
