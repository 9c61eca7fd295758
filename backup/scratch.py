"""Scratch directories of a drill that do not outlive it, however the drill ends.

A drill restores into a scratch directory and starts a scratch PostgreSQL there. Left behind, that is
a copy of production data on disk and a server on a port. Three layers make sure nothing stays:

- The drill ends normally, fails, or gets SIGTERM/SIGINT/SIGHUP (turned into exceptions by
  :func:`exit_on_signals`): its ``finally`` blocks stop the cluster and :func:`scratch_dir` removes the dir.
- The drill alone is killed with SIGKILL (``kill -9``, the OOM killer): a reaper process, in its own
  session, waits on a pipe only the drill holds (close-on-exec, so no engine or server inherits it).
  When the pipe closes, the reaper kills every process working in the directory (a restore, the
  scratch PostgreSQL and its children) and deletes it.
- Everything is killed at once (systemd's cgroup kill takes the reaper too): each scratch dir names its
  owner (pid and start time). :func:`sweep` removes those whose owner is gone; every drill sweeps first,
  and the drill unit runs ``python3 -m ccsec.backup.scratch --sweep DIR`` as ``ExecStopPost=``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

OWNER_FILE = ".ccsec-drill-owner"
PREFIXES = ("ccsec-drill-",)  # also covers ccsec-drill-state-*
REAP_WAIT_SECONDS = 30.0
REAPER_FLAG = "--reap-on-eof"


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks): a pid plus it names one process, never a reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_token(pid: int | None = None) -> str:
    """``"<pid> <start time>"`` of ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid} {_start_time(pid)}"


def owner_alive(token: str) -> bool:
    """The process named by an :func:`owner_token` still runs."""
    parts = token.split()
    if len(parts) != 2 or not parts[0].isdigit():
        return False
    return _start_time(int(parts[0])) == parts[1]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process (zombies included: they hold nothing)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        out[int(entry.name)] = (ppid, cmdline)
    return out


def processes_using(path: Path) -> list[int]:
    """Processes whose command line names ``path`` (or a path below it), and all their descendants."""
    table = _processes()
    needle = str(path)
    found = [
        pid
        for pid, (_, cmd) in table.items()
        if needle in cmd and pid != os.getpid() and REAPER_FLAG not in cmd  # the reaper is not a user of it
    ]
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    todo, seen = list(found), set(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen and child != os.getpid():
                seen.add(child)
                todo.append(child)
    return sorted(seen)


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            alive.append(pid)
    return alive


def reap(path: Path) -> None:
    """Stop everything working in ``path`` and delete it.

    A PostgreSQL postmaster gets SIGQUIT first (immediate shutdown: its children exit and it releases
    its shared memory); whatever still runs after a few seconds, and every other process, gets SIGKILL.
    """
    pids = processes_using(path)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGQUIT if _is_postmaster(pid, path) else signal.SIGKILL)
    _wait_gone(pids, 5.0)
    for pid in _alive(pids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    _wait_gone(pids, REAP_WAIT_SECONDS)
    shutil.rmtree(path, ignore_errors=True)


def _wait_gone(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _is_postmaster(pid: int, path: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(argv) and argv[0].endswith(b"postgres") and str(path).encode() in b" ".join(argv)


def sweep(parent: Path) -> list[Path]:
    """Reap every scratch dir under ``parent`` whose owning drill is gone; return the dirs removed.

    A dir without an owner file is left alone unless it is older than an hour (a drill writes the
    file right after creating the dir), so a drill starting this very moment is never swept.
    """
    removed = []
    if not parent.is_dir():
        return removed
    for path in sorted(parent.iterdir()):
        if not path.name.startswith(PREFIXES) or not path.is_dir() or path.is_symlink():
            continue
        try:
            token = (path / OWNER_FILE).read_text().strip()
        except OSError:
            token = ""
        if token and owner_alive(token):
            continue
        if not token:
            try:
                if time.time() - path.stat().st_mtime < 3600:
                    continue
            except OSError:
                continue
        reap(path)
        removed.append(path)
    return removed


@contextlib.contextmanager
def scratch_dir(parent: Path, prefix: str = "ccsec-drill-") -> Iterator[Path]:
    """A fresh ``prefix*`` dir under ``parent`` (0711: the PostgreSQL user reaches its own 0700 subdir),
    removed when the block ends and, through the reaper, when this process is killed."""
    if not prefix.startswith(PREFIXES):
        raise ValueError(f"scratch prefix must start with {PREFIXES}")
    parent.mkdir(parents=True, exist_ok=True)
    sweep(parent)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o711)
    (path / OWNER_FILE).write_text(owner_token() + "\n")
    reaper = subprocess.Popen(
        [sys.executable, "-m", __spec__.name if __spec__ else "backup.scratch", REAPER_FLAG, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C or a kill of the drill's process group does not reach it
        cwd="/",
    )
    try:
        yield path
    finally:
        reap(path)
        if reaper.stdin is not None:
            reaper.stdin.close()  # EOF: the reaper finds nothing left and exits
        with contextlib.suppress(subprocess.TimeoutExpired):
            reaper.wait(timeout=REAP_WAIT_SECONDS + 5)


def exit_on_signals() -> None:
    """Make SIGTERM and SIGHUP raise SystemExit (SIGINT already raises KeyboardInterrupt), so ``finally`` runs."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit)


def main(argv: list[str] | None = None) -> int:
    """``--reap-on-eof DIR`` (the reaper) or ``--sweep PARENT`` (the unit's ExecStopPost)."""
    p = argparse.ArgumentParser(prog="python3 -m ccsec.backup.scratch", description=__doc__.split("\n\n")[0])
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--reap-on-eof", type=Path, metavar="DIR", help="wait for EOF on stdin, then reap DIR")
    group.add_argument("--sweep", type=Path, metavar="PARENT", help="reap scratch dirs whose drill is gone")
    args = p.parse_args(argv)
    if args.reap_on_eof is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        with contextlib.suppress(OSError):
            sys.stdin.buffer.read()
        if args.reap_on_eof.exists():
            reap(args.reap_on_eof)
        return 0
    for path in sweep(args.sweep):
        print(f"ccsec: removed the scratch directory {path} of a drill that is gone", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
