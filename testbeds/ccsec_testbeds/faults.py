"""Faults for the backup tests: kill a process tree as systemd does, a storage that hangs, a full disk.

- :func:`kill_tree` freezes then SIGKILLs a process and every descendant, whatever session or
  group they moved to: what systemd's cgroup kill does to a backup unit (``KillMode=control-group``).
- :class:`HangingProxy` is a TCP proxy in front of a real endpoint. ``forward`` passes bytes both
  ways; ``hang`` keeps accepting and reading but never answers or forwards (a wedged load
  balancer): the failure mode in which clients without deadlines wait forever.
- :func:`small_filesystem` mounts a tmpfs of a given size: a disk that fills up during a run.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """``pid``'s descendants (any session or group), from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> list[int]:
    """SIGSTOP ``pid`` and its descendants (so none forks away), then SIGKILL them all. Returns the pids."""
    victims: list[int] = []
    for _ in range(3):  # re-scan: a child forked between the scan and the stop
        for p in [pid, *descendants(pid)]:
            if p not in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGSTOP)
                victims.append(p)
    for p in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    return victims


def alive(pids: list[int]) -> list[int]:
    """The pids of ``pids`` still running (zombies count as gone)."""
    out = []
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            out.append(p)
    return out


def processes_matching(needle: str) -> list[int]:
    """Pids whose command line contains ``needle`` (to find engine processes left behind)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            out.append(int(entry.name))
    return alive(out)


class HangingProxy:
    """A loopback TCP proxy to ``upstream`` that can be switched to hang (accept, read, never answer)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.hanging = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> HangingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.close()
        self._thread.join(timeout=5)

    def hang(self) -> None:
        """From now on: new and open connections get no more bytes in either direction."""
        self.hanging.set()

    def forward(self) -> None:
        """Pass traffic again (connections opened while hanging stay silent)."""
        self.hanging.clear()

    def _keep(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._keep(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.hanging.is_set():
            self._swallow(client)
            return
        try:
            upstream = self._keep(socket.create_connection(self.upstream, timeout=10))
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.2):
                    if self.hanging.is_set():
                        self._swallow(client)
                        return
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            upstream.close()
            client.close()

    def _swallow(self, client: socket.socket) -> None:
        """Read and discard until the client gives up; never send a byte."""
        client.settimeout(0.5)
        while not self._stop.is_set():
            try:
                if not client.recv(65536):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        client.close()


@contextlib.contextmanager
def small_filesystem(path: Path, size_kib: int) -> Iterator[Path]:
    """Mount a ``size_kib`` tmpfs on ``path`` (created if missing) for the block; unmount afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path, leave_bytes: int = 0) -> Path:
    """Fill the filesystem holding ``path`` with one file until at most ``leave_bytes`` stay free."""
    filler = path / ".filler"
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as fh:
        remaining = max(free - leave_bytes, 0)
        chunk = b"\0" * (1 << 20)
        try:
            while remaining > 0:
                remaining -= fh.write(chunk[: min(len(chunk), remaining)])
        except OSError:
            pass  # full sooner than statvfs said: that is the point
    return filler
