"""A failing ``up`` removes what it started (QEMU processes, keys, overlays, state)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ccsec.lab import api

pytestmark = pytest.mark.lab


def _qemu_pids_for(work: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"ccsec-lab-.*{work}"], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def test_failed_up_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCSEC_LAB_WORK", str(tmp_path))
    started: list[int] = []

    def boom(host: api.HostState, deadline: float, say: api.Progress, watch: object = None) -> None:
        started.append(host.pid)
        raise api.LabError("simulated boot failure")

    monkeypatch.setattr(api, "_wait_ready", boom)
    swifts_before = set(Path("/var/tmp").glob("ccsec-lab-swift-*"))
    with pytest.raises(api.LabError, match="simulated"):
        api.up(["app", "db"], stack="lab", progress=lambda _m: None)
    assert started, "the QEMU process should have been started before the failure"
    assert not any(
        Path(f"/proc/{pid}").exists() and b"qemu" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started
    )
    assert _qemu_pids_for(tmp_path) == []
    assert not (tmp_path / "vms").exists()
    assert not (tmp_path / "state.json").exists()
    assert not (tmp_path / api.TOTP_PERSON_KEY).exists() and not (tmp_path / api.TOTP_PERSON_SEED).exists()
    assert api.status() is None
    # the db role made the lab start its own Swift all-in-one: stopped and removed as well
    assert set(Path("/var/tmp").glob("ccsec-lab-swift-*")) == swifts_before
