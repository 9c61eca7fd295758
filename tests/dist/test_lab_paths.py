"""The lab's work dir belongs to the project the user stands in, never to the installed package."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccsec.lab import paths

REPO = Path(__file__).resolve().parents[2]


def test_work_dir_is_the_checkouts_lab_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCSEC_LAB_WORK", raising=False)
    monkeypatch.chdir(REPO / "tests")  # a subdirectory: found through Pulumi.yaml, as the Pulumi CLI does
    assert paths.work_dir() == REPO / "lab" / ".work"


def test_work_dir_of_another_project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CCSEC_LAB_WORK", raising=False)
    (tmp_path / "Pulumi.yaml").write_text("name: other\nruntime: python\n")
    (tmp_path / "deep").mkdir()
    monkeypatch.chdir(tmp_path / "deep")
    assert paths.work_dir() == tmp_path / "lab" / ".work"
    assert not paths.work_dir().is_relative_to(paths.lab_dir())


def test_work_dir_override_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CCSEC_LAB_WORK", str(tmp_path / "w"))
    assert paths.work_dir() == tmp_path / "w"
