"""testinfra suite for hardened hosts: runs against any host, e.g.

    pytest tests/hosts --hosts=ssh://lab-app-1 --ssh-config=lab/.work/ssh_config

Host keys are always pinned: use testinfra's ssh:// backend with an ssh_config that sets
UserKnownHostsFile and StrictHostKeyChecking yes (`ccsec verify` writes one). The paramiko://
backend is refused here because it accepts unknown host keys with only a warning.

Each test names the control it proves with @pytest.mark.control("HOST-NN"); tests for one role
carry @pytest.mark.roles(...) and are deselected (not skipped) on hosts of other roles.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from ccsec.policies.controls import load_catalogue


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--controls",
        default="",
        help="comma-separated control ids: run only the tests proving them (others are deselected)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(id): the control id (controls.yaml) the test proves")
    config.addinivalue_line("markers", "roles(*names): roles the test applies to (others deselect it)")
    hosts = config.getoption("hosts", default=None) or ""
    if "paramiko://" in str(hosts):
        raise pytest.UsageError(
            "tests/hosts refuses paramiko://: testinfra's paramiko backend does not pin host keys. "
            "Use ssh:// with --ssh-config (StrictHostKeyChecking yes, UserKnownHostsFile)."
        )


@cache
def _host_facts(host) -> dict:
    return json.loads(host.file("/etc/ccaas/host.json").content_string)


def _host_of(item: pytest.Item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("_testinfra_host") if callspec else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {c.strip() for c in config.getoption("controls").split(",") if c.strip()}
    unknown = wanted - set(load_catalogue().controls)
    if unknown:
        raise pytest.UsageError(f"--controls: unknown control ids {sorted(unknown)} (see controls.yaml)")
    keep, drop = [], []
    for item in items:
        control = item.get_closest_marker("control")
        if wanted and (control is None or control.args[0] not in wanted):
            drop.append(item)
            continue
        marker = item.get_closest_marker("roles")
        host = _host_of(item)
        if marker is None or host is None:
            keep.append(item)
            continue
        (keep if _host_facts(host)["role"] in marker.args else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("control")
    if marker is None:
        return
    control_id = marker.args[0]
    report.user_properties.append(("control", control_id))
    if report.failed:
        title = load_catalogue().controls[control_id].title
        report.sections.append(("control", f"{control_id}: {title}"))
        report.longrepr = f"[{control_id}] {title}\n{report.longrepr}"


@pytest.fixture
def facts(host) -> dict:
    """/etc/ccaas/host.json written by cloud-init: hostname, role, stack, environment."""
    return _host_facts(host)


@pytest.fixture
def role(facts: dict) -> str:
    return facts["role"]
