"""Session fixture: boot a real lab VM (QEMU, Debian 12, the stack's cloud-init) and remove it after.

The lab either comes up or the tests ERROR — they never skip. Set ``CCSEC_LAB_TEST_ROLES`` /
``CCSEC_LAB_TEST_STACK`` to boot other roles/stack (default: ``bastion,app,payment,loghost`` from stack ``lab``;
db + recordings boot in test_backup_lab.py, so every role runs the whole host suite in CI).
Progress lines go to the real stderr so CI logs show the build and boot timeline.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccsec.lab import api
from ccsec.lab.paths import work_dir_override
from ccsec.lab.state import LabState
from tests.lab import timeline

ROLES = [r for r in os.environ.get("CCSEC_LAB_TEST_ROLES", "bastion,app,payment,loghost").split(",") if r]
STACK = os.environ.get("CCSEC_LAB_TEST_STACK", "lab")


def pytest_configure(config: pytest.Config) -> None:
    timeline.attach(config)
    config.addinivalue_line("markers", "lab: boots QEMU VMs (slow; needs root and scripts/lab-deps.sh)")


def progress(msg: str) -> None:
    """Print past pytest's capture, with timestamps (CI logs show the build and boot timeline)."""
    timeline.say("lab", msg)


@pytest.fixture(scope="session")
def lab_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private lab work dir for the session (a developer's own lab is left alone)."""
    with work_dir_override(tmp_path_factory.mktemp("lab-work")) as path:
        yield path


@pytest.fixture(scope="session")
def lab_state(lab_work_dir: Path) -> Iterator[LabState]:
    """One lab VM, up and cloud-init finished; torn down at the end of the session."""
    try:
        yield api.up(ROLES, stack=STACK, progress=progress)
    finally:
        api.down(progress=progress)
