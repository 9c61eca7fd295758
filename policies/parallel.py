"""Independent evaluation jobs spread over the machine's CPUs by forking.

Why: after the program ends, ``ccsec plan`` still runs every stack policy, each through pulumi_policy's own
AnalyzeStack (which converts every resource it is sent from protobuf once per policy). That tail is pure
Python, so threads would not help; forked children share the evaluator's memory copy-on-write and need no
setup. Each job returns bytes (a serialized response), which go back length-prefixed over a pipe. A child
that fails or dies only costs time: the parent runs that child's jobs itself, so the verdicts never depend on
how the work was split.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
from collections.abc import Callable, Sequence

_RECORD = struct.Struct("!II")  # job index, payload length


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def balance(weights: Sequence[int], bins: int) -> list[list[int]]:
    """Job indexes in ``bins`` groups of about equal weight (largest first onto the lightest group)."""
    groups: list[list[int]] = [[] for _ in range(max(1, bins))]
    loads = [0] * len(groups)
    for index in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        lightest = loads.index(min(loads))
        groups[lightest].append(index)
        loads[lightest] += max(1, weights[index])
    return [sorted(g) for g in groups if g]


def _child(jobs: Sequence[Callable[[], bytes]], group: list[int], write_fd: int) -> None:
    code = 1
    try:
        with os.fdopen(write_fd, "wb") as out:
            for index in group:
                payload = jobs[index]()
                out.write(_RECORD.pack(index, len(payload)) + payload)
        code = 0
    finally:
        os._exit(code)  # no atexit handlers, no flushing of buffers inherited from the parent


def _read_records(data: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    offset = 0
    while offset + _RECORD.size <= len(data):
        index, length = _RECORD.unpack_from(data, offset)
        offset += _RECORD.size
        if offset + length > len(data):
            break
        found[index] = data[offset : offset + length]
        offset += length
    return found


def forked_map(
    jobs: Sequence[Callable[[], bytes]], weights: Sequence[int], workers: int, min_weight: int = 0
) -> list[bytes]:
    """Every job's result, in job order, computed by up to ``workers`` processes (this one included).

    Below ``min_weight`` in total the jobs run here: a fork costs more than small jobs.
    """
    groups = balance(weights, min(workers, len(jobs)))
    if len(groups) <= 1 or sum(weights) < min_weight or not hasattr(os, "fork"):
        return [job() for job in jobs]
    children: list[tuple[int, int, list[int]]] = []
    results: dict[int, bytes] = {}
    try:
        for group in groups[1:]:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child's coverage is not collected
                os.close(read_fd)
                _child(jobs, group, write_fd)
            os.close(write_fd)
            children.append((pid, read_fd, group))
        for index in groups[0]:
            results[index] = jobs[index]()
        while children:
            pid, read_fd, group = children.pop(0)
            with os.fdopen(read_fd, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(pid, 0)
            found = _read_records(data) if os.waitstatus_to_exitcode(status) == 0 else {}
            for index in group:  # whatever the child did not deliver, the parent computes
                results[index] = found[index] if index in found else jobs[index]()
    finally:
        for pid, read_fd, _ in children:  # only when the parent itself failed: stop and reap the rest
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(read_fd)
    return [results[i] for i in range(len(jobs))]
