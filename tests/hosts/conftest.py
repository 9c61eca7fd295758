"""testinfra suite for hardened hosts: runs against any host, e.g.

    pytest tests/hosts --hosts=ssh://lab-app-1 --ssh-config=lab/.work/ssh_config

Host keys are always pinned: only testinfra's ssh:// backend is allowed, with an ssh_config whose
effective settings (``ssh -G``) have StrictHostKeyChecking yes and existing UserKnownHostsFile files
(`ccsec verify` writes one). Every other backend is refused, in any spelling (``PARAMIKO://``,
``--connection=paramiko``, a bare host name, ``local://``, ``docker://``, ...): see ccsec/sshtrust.py.

Each test names the control it proves with @pytest.mark.control("HOST-NN"); tests for one role
carry @pytest.mark.roles(...) and are deselected (not skipped) on hosts of other roles.
"""

from __future__ import annotations

import json
from functools import cache

import pytest
from testinfra.backend.ssh import SshBackend

from ccsec.policies.controls import load_catalogue
from ccsec.sshtrust import SshTrustError, check_suite_options

TESTINFRA_PLUGIN = "pytest11.testinfra"  # the entry-point name pytest registers testinfra's plugin under


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--controls",
        default="",
        help="comma-separated control ids: run only the tests proving them (others are deselected)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(id): the control id (controls.yaml) the test proves")
    config.addinivalue_line("markers", "runs_last: may wait for first-boot work; collected after every other check")
    config.addinivalue_line("markers", "roles(*names): roles the test applies to (others deselect it)")
    if config.getoption("help", default=False) or not config.pluginmanager.has_plugin(TESTINFRA_PLUGIN):
        return  # --help, or testinfra disabled: nothing can connect to a host, so there is no key to pin
    try:
        check_suite_options(
            config.getoption("hosts", default=None),
            config.getoption("connection", default=None),
            config.getoption("ssh_config", default=None),
            config.getoption("ssh_extra_args", default=None),
        )
    except SshTrustError as error:
        raise pytest.UsageError(f"tests/hosts: {error}") from None
    config.option.connection = "ssh"  # the one backend allowed, whatever case --connection was given in


def _refuse_unpinned_backends(items: list[pytest.Item]) -> None:
    """Whatever produced the parameters (--hosts, a module's testinfra_hosts): each backend is OpenSSH with
    the checked ssh_config and no extra arguments."""
    for item in items:
        host = _host_of(item)
        if host is None:
            continue
        backend = host.backend
        if (
            type(backend) is not SshBackend
            or not backend.ssh_config
            or backend.ssh_extra_args
            or backend.host.user
            or backend.host.port
            or backend.host.password
        ):
            raise pytest.UsageError(
                f"tests/hosts: {item.nodeid}: refused: only the ssh backend with the checked --ssh-config runs here"
            )


@cache
def _host_facts(host) -> dict:
    return json.loads(host.file("/etc/ccaas/host.json").content_string)


def _host_of(item: pytest.Item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("_testinfra_host") if callspec else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _refuse_unpinned_backends(items)
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
    # Checks that may wait for first-boot work (AIDE's first scan) go last, so on a fresh host the wait
    # overlaps every other check instead of holding them up.
    items[:] = sorted(keep, key=lambda item: item.get_closest_marker("runs_last") is not None)


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
