"""The wheel works when installed: built from the tracked files, installed into a fresh venv, run elsewhere.

Once per session: the tracked (and new, not ignored) files are copied out of the checkout, so nothing
built or cached in it reaches the wheel, and `pip wheel --no-deps` builds it there (setuptools' build/
would otherwise keep deleted files alive); the wheel is then installed with its dependencies into a fresh
venv (no pip of its own, no test beds, no checkout). Every command runs from an empty directory.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.freshvenv import REPO, build_seconds, make_venv, must, once, run

# The card's folders and where the wheel puts them (pyproject's package-dir is what is under test,
# so this table is written out here rather than read from it).
MAPPED = {
    "ccsec": "ccsec",
    "infra": "ccsec/infra",
    "policies": "ccsec/policies",
    "backup": "ccsec/backup",
    "lab": "ccsec/lab",
    "tests/hosts": "ccsec/hostsuite",
}
NAMED = (
    "ccsec/policies/controls.yaml",
    "ccsec/policies/PulumiPolicy.yaml",
    "ccsec/policies/requirements.txt",
    "ccsec/policies/__main__.py",
    "ccsec/infra/__main__.py",
    "ccsec/infra/templates/user-data.yaml.j2",
    "ccsec/infra/templates/files/sshd_config.j2",
    "ccsec/infra/templates/files/nftables.conf.j2",
    "ccsec/backup/systemd/ccsec-backup-full@.service",
    "ccsec/backup/systemd/ccsec-backup-full@.timer",
    "ccsec/lab/packages.txt",
    "ccsec/hostsuite/conftest.py",
    "ccsec/hostsuite/pytest.ini",
    "ccsec/hostsuite/test_ssh.py",
)
COMMON_NAMES = ("backup", "lab", "infra", "policies", "tests", "ccsec_testbeds", "testbeds", "scripts", "bench")


def _tracked(folder: str = ".") -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "--", folder],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if line and (REPO / line).is_file()]


def _build_wheel(directory: Path) -> None:
    source = directory / "src"
    for name in _tracked():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    must([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", directory, source], timeout=600)
    shutil.rmtree(source)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = once(tmp_path_factory, "wheel", _build_wheel)
    (found,) = built.glob("ccaas_baseline-*.whl")
    return found


@pytest.fixture(scope="session")
def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    return once(tmp_path_factory, "wheel-venv", lambda d: make_venv(d, wheel))


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    return directory


def test_wheel_installs_one_top_level_package(names: list[str], wheel: Path) -> None:
    tops = {name.split("/", 1)[0] for name in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"ccsec"}, sorted(tops)
    (info,) = dist_info
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(f"{info}/top_level.txt").decode().split() == ["ccsec"]
    for common in COMMON_NAMES:
        assert not any(name.startswith(f"{common}/") for name in names), common
    assert not any("ccsec_testbeds" in name or "/tests/" in name for name in names)


def test_wheel_holds_the_named_runtime_files(names: list[str]) -> None:
    missing = [name for name in NAMED if name not in names]
    assert not missing


def test_wheel_holds_every_file_of_the_mapped_folders(names: list[str]) -> None:
    """Every tracked file of infra/, policies/, backup/, lab/, tests/hosts/ and ccsec/ is shipped."""
    shipped = set(names)
    missing = []
    for folder, target in MAPPED.items():
        files = _tracked(folder)
        assert files, folder
        missing += [n for n in files if f"{target}/{Path(n).relative_to(folder).as_posix()}" not in shipped]
    assert not missing, "not package data (pyproject [tool.setuptools.package-data]): " + ", ".join(missing)
    templates = [n for n in names if n.startswith("ccsec/infra/templates/")]
    assert len(templates) == len(_tracked("infra/templates")) >= 30
    units = [n for n in names if n.startswith("ccsec/backup/systemd/")]
    assert len(units) == len(_tracked("backup/systemd")) >= 8


def test_plan_runs_from_an_empty_directory(venv: Path, empty: Path, tmp_path_factory) -> None:
    argv = [venv / "bin" / "ccsec", "plan", "--stack", "dev", "--stacks-dir", REPO / "stacks", "--format", "json"]
    done = run(argv, cwd=empty)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    types = {r["type"] for r in report["resources"]}
    assert {"openstack:compute/instance:Instance", "openstack:networking/secGroup:SecGroup"} <= types
    assert {"openstack:networking/secGroupRule:SecGroupRule", "openstack:objectstorage/container:Container"} <= types
    assert any(re.search(r"dev-(bastion|app|db)", r["name"]) for r in report["resources"])
    assert report["stack"] == "dev"
    assert list(empty.iterdir()) == [], "plan must not write where it is run"
    print(
        f"wheel built in {build_seconds(tmp_path_factory, 'wheel')} s, "
        f"venv installed in {build_seconds(tmp_path_factory, 'wheel-venv')} s"
    )


def test_plan_of_an_unknown_stack_could_not_run(venv: Path, empty: Path) -> None:
    done = run([venv / "bin" / "ccsec", "plan", "--stack", "nope", "--stacks-dir", REPO / "stacks"], cwd=empty)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nope" in done.stderr and "Traceback" not in done.stderr


def test_verify_help(venv: Path, empty: Path) -> None:
    done = must([venv / "bin" / "ccsec", "verify", "--help"], cwd=empty)
    assert "--lab" in done.stdout


def test_installed_host_suite_loads_without_the_checkout(venv: Path, empty: Path) -> None:
    python = venv / "bin" / "python"
    suite = Path(
        must([python, "-c", "import ccsec.verify as v; print(v.SUITE)"], cwd=empty).stdout.strip().splitlines()[-1]
    )
    assert suite.is_relative_to(venv) and suite.name == "hostsuite", suite
    # testinfra and the suite's conftest both register their options from the installed package.
    helped = must([python, "-m", "pytest", suite, "--rootdir", suite, "--help"], cwd=suite).stdout
    assert "--hosts=" in helped and "--ssh-config=" in helped and "--controls=" in helped
    # Every test module imports and collects. The role-specific deselection needs each host's facts (it
    # reads /etc/ccaas/host.json over SSH), so collection here runs without testinfra's host parametrisation.
    collected = must(
        [python, "-m", "pytest", suite, "--rootdir", suite, "--collect-only", "-p", "no:pytest11.testinfra"], cwd=suite
    ).stdout
    assert "configfile: pytest.ini" in collected, collected[:500]
    modules = sorted(p.name for p in suite.glob("test_*.py"))
    assert modules == sorted(Path(n).name for n in _tracked("tests/hosts") if Path(n).name.startswith("test_"))
    for module in modules:
        assert f"<Module {module}>" in collected, module
    count = re.search(r"(\d+) tests? collected", collected)
    defined = sum(
        isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        for name in _tracked("tests/hosts")
        if Path(name).name.startswith("test_")
        for node in ast.walk(ast.parse((REPO / name).read_text()))
    )
    assert count and int(count.group(1)) >= defined >= 30, collected[-500:]


def test_lab_imports_without_the_test_beds(venv: Path, empty: Path) -> None:
    probe = (
        "import importlib.util\n"
        "assert importlib.util.find_spec('ccsec_testbeds') is None\n"
        "import ccsec.lab.api as api, ccsec.lab.backup_target, ccsec.lab.image, ccsec.cli\n"
        "try:\n"
        "    api._swift_aio()\n"
        "except api.LabError as error:\n"
        "    print(error)\n"
    )
    done = must([venv / "bin" / "python", "-c", probe], cwd=empty)
    assert "pip install -e testbeds" in done.stdout
