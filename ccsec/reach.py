"""Can each host be reached over SSH with its pinned key? Asked once per host before the suite runs.

Without this, an unreachable host would turn into hundreds of failing host tests (read as drift), or
break the suite's collection for every host. Probing first makes "could not check" an error of its
own, names the reason (a changed host key is called out as a possible man-in-the-middle) and opens
the multiplexed connection the suite then reuses.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

MITM_MARKERS = ("REMOTE HOST IDENTIFICATION HAS CHANGED", "Host key verification failed", "host key for")


@dataclass(frozen=True)
class Reach:
    host: str
    ok: bool
    reason: str = ""


def classify(returncode: int, stderr: str) -> str:
    """A one-line reason for a failed probe; a key mismatch is named as a possible MITM."""
    if any(marker in stderr for marker in MITM_MARKERS):
        return "host key does not match the pinned key: refused as a possible man-in-the-middle"
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("**")]
    detail = lines[-1] if lines else f"ssh exited {returncode}"
    return f"unreachable: {detail[:300]}"


def probe_one(host: str, ssh_config: Path, timeout: float) -> Reach:
    """Run `true` on the host through the ssh_config (pinned keys, BatchMode)."""
    try:
        done = subprocess.run(
            ["ssh", "-F", str(ssh_config), host, "true"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Reach(host, False, f"unreachable: no answer within {timeout:.0f} s")
    if done.returncode == 0:
        return Reach(host, True)
    return Reach(host, False, classify(done.returncode, done.stderr))


def probe(hosts: list[str], ssh_config: Path, timeout: float = 90.0, parallel: int = 16) -> list[Reach]:
    """Probe every host in parallel; results in the order of ``hosts``."""
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(hosts)))) as pool:
        return list(pool.map(lambda h: probe_one(h, ssh_config, timeout), hosts))
