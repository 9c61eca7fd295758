"""SSH trust rules whatever the spelling.

1. The host suite accepts only testinfra's ssh backend with an ssh_config that OpenSSH itself reads as
   pinning host keys (ccsec/sshtrust.py, applied by tests/hosts/conftest.py) — tested on the function and
   on the real suite in a child pytest.
2. drift/verify/lab write an ssh_config only from validated values: hostile stack outputs, known_hosts
   lines and lab state are refused and nothing is written; what is written is read back with ``ssh -G``.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from ccsec import drift, sshtrust, verify
from ccsec.lab.state import HostState, LabState, LabStateError, ssh_config_text
from ccsec.sshtargets import TargetError, parse_known_hosts, targets_from_outputs
from ccsec.sshtrust import SshTrustError, check_hosts, check_suite_options

SUITE = Path(verify.SUITE)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL89qaWNynrh/h+XgSqtXJjdRXpgg8chrdEEAqgsaXj+"
OUTPUTS = {
    "hosts": [
        {"name": "dev-bastion-1", "role": "bastion", "ip": "10.20.40.10"},
        {"name": "dev-app-1", "role": "app", "ip": "10.20.10.10"},
        {"name": "dev-db-1", "role": "db", "ip": "10.20.20.10"},
    ],
    "bastion_addresses": ["198.51.100.7"],
}
KNOWN_HOSTS = "".join(f"{h['name']},{h['ip']} {KEY}\n" for h in OUTPUTS["hosts"])
INJECTED = ("proxycommand", "localcommand", "knownhostscommand", "remotecommand", "permitlocalcommand")


def resolved(config: Path, host: str) -> dict[str, str]:
    return sshtrust.resolved(config, host)


# ---- 1. the suite's backend rule -----------------------------------------------------------------------------

REFUSED_HOSTS = [
    "paramiko://dev-app-1",
    "PARAMIKO://dev-app-1",
    "Paramiko://dev-app-1",
    " paramiko://dev-app-1",
    "\tparamiko://dev-app-1",
    "para\tmiko://dev-app-1",  # urllib drops tabs and newlines anywhere: testinfra would see paramiko
    "para\nmiko://dev-app-1",
    "paramiko://dev-app-1 ",
    "dev-app-1",  # no scheme and no --connection: testinfra defaults to paramiko
    "local://",
    "local://dev-app-1",
    "LOCAL://",
    "docker://dev-app-1",
    "podman://dev-app-1",
    "kubectl://dev-app-1",
    "openshift://dev-app-1",
    "ansible://dev-app-1",
    "ansible://dev-app-1?force_ansible=true",
    "salt://dev-app-1",
    "winrm://dev-app-1",
    "lxc://dev-app-1",
    "chroot:///srv/root",
    "safe-ssh://dev-app-1",
    "ssh+paramiko://dev-app-1",
    "ssh://dev-app-1?ssh_config=/tmp/evil_config",
    "ssh://dev-app-1?ssh_identity_file=/tmp/k",
    "ssh://dev-app-1?controlpersist=0",
    "ssh://dev-app-1#x",
    "ssh://dev-app-1/path",
    "ssh://root@dev-app-1",
    "ssh://dev-app-1:2222",
    "ssh://u:pw@dev-app-1",
    "ssh://10.20.10.10",
    "ssh://dev-app-1.example.com",
    "ssh://DEV-APP-1",
    "ssh://dev-app-1\u2028",
    "ssh://dev-app-1\x85",
    "ssh://dev-app-1\u200b",
    "ssh://*",
    "ssh://-oProxyCommand=id",
    "ssh:// dev-app-1",
    "ssh:/dev-app-1",
    "ssh://dev-app-1,paramiko://dev-db-1",
    "ssh://dev-app-1,PARAMIKO://dev-db-1",
    "ssh://dev-app-1,dev-db-1",
    "ssh://dev-app-1,",
    "",
    " ",
]


@pytest.mark.parametrize("hosts", REFUSED_HOSTS, ids=[ascii(h) for h in REFUSED_HOSTS])
def test_every_backend_but_pinned_openssh_is_refused(hosts: str) -> None:
    with pytest.raises(SshTrustError):
        check_hosts(hosts, None)


REFUSED_CONNECTIONS = ["paramiko", "PARAMIKO", "Paramiko", " paramiko", "local", "docker", "ansible", "safe-ssh", ""]


@pytest.mark.parametrize("connection", REFUSED_CONNECTIONS)
@pytest.mark.parametrize("hosts", ["dev-app-1", "ssh://dev-app-1"])
def test_connection_option_is_checked_case_insensitively(connection: str, hosts: str) -> None:
    with pytest.raises(SshTrustError, match="--connection"):
        check_hosts(hosts, connection)


def test_connection_ssh_in_any_case_with_bare_names_is_the_ssh_backend() -> None:
    for connection in ("ssh", "SSH", "Ssh"):
        assert check_hosts("dev-app-1,dev-db-1", connection) == ["dev-app-1", "dev-db-1"]
    assert check_hosts("ssh://dev-app-1,SSH://dev-db-1", None) == ["dev-app-1", "dev-db-1"]


def test_ssh_extra_args_are_refused() -> None:
    with pytest.raises(SshTrustError, match="ssh-extra-args"):
        check_hosts("ssh://dev-app-1", None, "-o StrictHostKeyChecking=no")


def _config(tmp_path: Path, body: str, known: bool = True) -> Path:
    known_hosts = tmp_path / "known_hosts"
    if known:
        known_hosts.write_text(f"dev-app-1 {KEY}\n")
    config = tmp_path / "ssh_config"
    config.write_text(body.replace("@KH@", str(known_hosts)))
    return config


GOOD = "Host dev-app-1\n  HostName 10.0.0.5\n  StrictHostKeyChecking yes\n  UserKnownHostsFile @KH@\n"
BAD_CONFIGS = {
    "no": GOOD.replace("StrictHostKeyChecking yes", "StrictHostKeyChecking no"),
    "NO upper": GOOD.replace("StrictHostKeyChecking yes", "STRICTHOSTKEYCHECKING NO"),
    "=no": GOOD.replace("StrictHostKeyChecking yes", "StrictHostKeyChecking=no"),
    "= off": GOOD.replace("StrictHostKeyChecking yes", "StrictHostKeyChecking = off"),
    "accept-new": GOOD.replace("StrictHostKeyChecking yes", "StrictHostKeyChecking accept-new"),
    "ask": GOOD.replace("StrictHostKeyChecking yes", "StrictHostKeyChecking ask"),
    "unset": GOOD.replace("  StrictHostKeyChecking yes\n", ""),
    "Host * first": "Host *\n  StrictHostKeyChecking no\n" + GOOD,  # first obtained value wins
    "Match all first": "Match all\n  StrictHostKeyChecking no\n" + GOOD,
    "dev-null": GOOD.replace("UserKnownHostsFile @KH@", "UserKnownHostsFile /dev/null"),
    "missing file": GOOD.replace("UserKnownHostsFile @KH@", "UserKnownHostsFile /nonexistent/known_hosts"),
    "one of two missing": GOOD.replace("UserKnownHostsFile @KH@", "UserKnownHostsFile @KH@ /nonexistent/kh2"),
    "ProxyCommand": GOOD + "  ProxyCommand sh -c 'nc %h %p'\n",
    "KnownHostsCommand": GOOD + "  KnownHostsCommand /bin/echo %H\n",
    "PermitLocalCommand": GOOD + "  PermitLocalCommand yes\n  LocalCommand id\n",
    "jump hop not pinned": GOOD
    + "  ProxyJump jump-1\nHost jump-1\n  StrictHostKeyChecking no\n  UserKnownHostsFile @KH@\n",
    "jump hop user@host:port": GOOD + "  ProxyJump u@jump-1:2222\nHost jump-1\n  StrictHostKeyChecking no\n",
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_ssh_configs_that_do_not_pin_keys_are_refused(tmp_path: Path, name: str) -> None:
    config = _config(tmp_path, BAD_CONFIGS[name])
    with pytest.raises(SshTrustError):
        check_suite_options("ssh://dev-app-1", None, str(config))


def test_a_pinning_config_with_a_pinned_jump_host_passes(tmp_path: Path) -> None:
    body = GOOD + "  ProxyJump jump-1\nHost jump-1\n  StrictHostKeyChecking yes\n  UserKnownHostsFile @KH@\n"
    config = _config(tmp_path, body)
    assert check_suite_options("ssh://dev-app-1", "SSH", str(config)) == ["dev-app-1"]


def test_ssh_config_must_be_given_exist_and_be_a_safe_path(tmp_path: Path) -> None:
    with pytest.raises(SshTrustError, match="--ssh-config is required"):
        check_suite_options("ssh://dev-app-1", None, None)
    with pytest.raises(SshTrustError, match="not a file"):
        check_suite_options("ssh://dev-app-1", None, str(tmp_path / "none"))
    with pytest.raises(SshTrustError, match="--ssh-config"):
        check_suite_options("ssh://dev-app-1", None, str(tmp_path / "a b"))


def _suite(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "--rootdir", str(SUITE), "-p", "no:cacheprovider", "-q", *args],
        cwd=SUITE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--hosts=PARAMIKO://dev-app-1"],
        ["--hosts=paramiko://dev-app-1"],
        ["--hosts=dev-app-1", "--connection=paramiko"],
        ["--hosts=dev-app-1", "--connection=PARAMIKO"],
        ["--hosts=dev-app-1"],
        ["--hosts=local://"],
        [],
        ["--connection=local"],
        ["--hosts=docker://dev-app-1"],
        ["--hosts=ssh://dev-app-1", "--ssh-extra-args=-o StrictHostKeyChecking=no"],
        ["--hosts=ssh://dev-app-1"],
        ["--hosts=ssh://dev-app-1?ssh_config=/tmp/x"],
    ],
    ids=lambda a: " ".join(a) or "no-options",
)
def test_the_real_suite_refuses_before_connecting(args: list[str]) -> None:
    completed = _suite("--collect-only", *args)
    assert completed.returncode == 4, completed.stdout + completed.stderr  # pytest's usage error
    assert "tests/hosts:" in completed.stderr


def test_the_real_suite_refuses_a_config_that_relaxes_host_keys(tmp_path: Path) -> None:
    config = _config(tmp_path, BAD_CONFIGS["Host * first"])
    completed = _suite("--collect-only", "--hosts=ssh://dev-app-1", f"--ssh-config={config}")
    assert completed.returncode == 4 and "StrictHostKeyChecking must be yes" in completed.stderr


# ---- 2. ssh_config written only from validated values ------------------------------------------------------


def _outputs_with(path: tuple, value: object) -> dict:
    outputs = copy.deepcopy(OUTPUTS)
    target = outputs
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return outputs


HOSTILE = [
    "::1%h\nProxyCommand sh -c id",
    "::1%h",
    "fe80::1%eth0",
    "::1",
    "10.0.0.1\nProxyCommand sh -c id",
    "10.0.0.1\r\nProxyCommand sh -c id",
    "10.0.0.1\n  StrictHostKeyChecking no",
    "10.0.0.1 #\nProxyCommand id",
    "10.0.0.1 # comment",
    "10.0.0.1#",
    "10.0.0.1=ProxyCommand=id",
    "10.0.0.1 ProxyCommand=id",
    "10.0.0.1\tProxyCommand id",
    "10.0.0.1\x0bProxyCommand id",
    "10.0.0.1\x0cProxyCommand id",
    "10.0.0.1\x85ProxyCommand id",
    "10.0.0.1\u2028ProxyCommand id",
    "10.0.0.1\u2029ProxyCommand id",
    "10.0.0.1\x00ProxyCommand id",
    '"10.0.0.1" ProxyCommand id',
    "'10.0.0.1'",
    "%h",
    "%d/x",
    "${HOME}",
    "~root",
    "*",
    "!dev-app-1",
    "-oProxyCommand=id",
    "",
    " ",
    "bastion.example.com\nMatch exec id",
    "bastion.example.com ",
    "Bastion.Example.com",
    "xn--bastion\u0301.example.com",
]


@pytest.mark.parametrize("value", HOSTILE, ids=[ascii(v)[:40] for v in HOSTILE])
@pytest.mark.parametrize(
    "path",
    [("bastion_addresses", 0), ("hosts", 0, "ip"), ("hosts", 1, "ip"), ("hosts", 1, "name"), ("hosts", 0, "role")],
    ids=lambda p: ".".join(map(str, p)),
)
def test_hostile_stack_outputs_are_refused_and_nothing_is_written(tmp_path: Path, path: tuple, value: str) -> None:
    outputs = _outputs_with(path, value)
    known = KNOWN_HOSTS if path[-1] != "name" else KNOWN_HOSTS + f"{value.split()[0] if value.split() else 'x'} {KEY}\n"
    try:
        targets = targets_from_outputs(outputs, known, "auditor", "/etc/ccsec/auditor_ed25519")
    except TargetError as error:
        assert value.strip() == "" or value not in str(error) or value.isalnum()
        return
    # Accepted (an IPv4 address or a DNS name that is safe after all): prove it with OpenSSH itself.
    config = drift.write_ssh_files(targets, tmp_path / "ssh", None)
    _assert_only_pinned_options(config, [t.name for t in targets])
    raise AssertionError(f"hostile value accepted: {value!r}")  # none of HOSTILE is a plain address or name


def _assert_only_pinned_options(config: Path, names: list[str]) -> None:
    text = config.read_text()
    assert "\r" not in text and "\x00" not in text
    for name in names:
        options = resolved(config, name)
        assert options["stricthostkeychecking"] == "true"
        assert options["hostkeyalias"] == name
        assert Path(options["userknownhostsfile"]).name == "known_hosts"
        for option in INJECTED:
            assert options.get(option, "none") in ("none", "no"), (name, option, options.get(option))
        if "proxyjump" in options:
            assert options["proxyjump"] in names


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", "root"),
        ("user", "postgres"),
        ("user", "auditor\nProxyCommand id"),
        ("user", "auditor ProxyCommand=id"),
        ("user", "%u"),
        ("identity", "/keys/id\nProxyCommand id"),
        ("identity", "/keys/id %d"),
        ("identity", "/keys/id#x"),
        ("identity", "keys/relative"),
        ("identity", "/keys/../../etc/shadow"),
        ("identity", "/keys/id\u2028x"),
    ],
)
def test_cli_user_and_identity_are_validated(field: str, value: str) -> None:
    user, identity = ("auditor", "/etc/ccsec/key")
    user, identity = (value, identity) if field == "user" else (user, value)
    with pytest.raises(TargetError, match="--user" if field == "user" else "--identity"):
        targets_from_outputs(OUTPUTS, KNOWN_HOSTS, user, identity)


HOSTILE_KNOWN_HOSTS = [
    f"@cert-authority * {KEY}\n",
    f"@CERT-AUTHORITY * {KEY}\n",
    f" @cert-authority * {KEY}\n",
    f"\t@cert-authority * {KEY}\n",
    f"@revoked dev-app-1 {KEY}\n",
    f"dev-app-1 {KEY}\n@cert-authority * {KEY}\n",
    f"dev-app-1 {KEY}\u2028@cert-authority * {KEY}\n",
    f"dev-app-1 {KEY}\x85@cert-authority * {KEY}\n",
    f"dev-app-1 {KEY}\rProxyCommand id\n",
    f"dev-app-1 {KEY}\x0b@cert-authority * {KEY}\n",
    f"dev-app-1 {KEY} comment\nmore\n",
    f"dev-app-1,* {KEY}\n",
    f"dev-app-1,!x {KEY}\n",
    f"[dev-app-1]:22 {KEY}\n",
    f"|1|aGFzaA==|aGFzaA== {KEY}\n",
    f"dev-app-1,fe80::1%eth0 {KEY}\n",
    "dev-app-1 ssh-ed25519 AAAA\n",
    "dev-app-1 ssh-dss AAAAB3NzaC1kc3M=\n",
    f"dev-app-1 {KEY} two words\n",
    f"dev-app-1 {KEY.split()[0]}\n",
    f"dev-app-1 {KEY}\ndev-app-1 ssh-ed25519 "
    + "AAAAC3NzaC1lZDI1NTE5AAAAIPxZ8fN3WmO1Uu8g1VS3/3c0cCeKmLJ8mQ3k9s5G2Xx0\n",
]


@pytest.mark.parametrize("text", HOSTILE_KNOWN_HOSTS, ids=[ascii(t)[:50] for t in HOSTILE_KNOWN_HOSTS])
def test_hostile_known_hosts_lines_are_refused(text: str) -> None:
    with pytest.raises(TargetError, match="known_hosts line"):
        parse_known_hosts(KNOWN_HOSTS + text)


def test_known_hosts_comments_crlf_and_blank_lines_are_fine() -> None:
    keys = parse_known_hosts("# pinned\r\n\r\n" + KNOWN_HOSTS.replace("\n", "\r\n"))
    assert keys["dev-app-1"] == KEY and keys["10.20.10.10"] == KEY


def test_valid_outputs_write_a_config_whose_every_host_is_pinned(tmp_path: Path) -> None:
    outputs = _outputs_with(("bastion_addresses", 0), "bastion.dev.example.com")
    targets = targets_from_outputs(outputs, KNOWN_HOSTS, "auditor", "/etc/ccsec/auditor_ed25519")
    config = drift.write_ssh_files(targets, tmp_path / "ssh", tmp_path / "cm")
    _assert_only_pinned_options(config, [t.name for t in targets])
    assert resolved(config, "dev-bastion-1")["hostname"] == "bastion.dev.example.com"
    assert resolved(config, "dev-db-1")["proxyjump"] == "dev-bastion-1"
    # and the suite's own rule accepts what drift wrote
    assert check_suite_options(",".join(f"ssh://{t.name}" for t in targets), None, str(config))


def test_drift_reports_a_report_dir_it_cannot_write_safely_and_writes_nothing(tmp_path: Path) -> None:
    targets = targets_from_outputs(OUTPUTS, KNOWN_HOSTS, "auditor", "/etc/ccsec/auditor_ed25519")
    part = drift.check_hosts(targets, tmp_path / "with space")
    assert part.error and "known_hosts file" in part.error
    assert not (tmp_path / "with space" / "ssh" / "ssh_config").exists()


@pytest.mark.parametrize("hosts", [["dev-app-1,paramiko://x"], ["dev-app-1?ssh_config=/x"], ["a@b"], ["X"], [""]])
def test_verify_refuses_host_names_that_would_change_the_hosts_option(tmp_path: Path, hosts: list[str]) -> None:
    (tmp_path / "ssh_config").write_text("")
    with pytest.raises(verify.VerifyError, match=r"hosts\[0\]"):
        verify.run_suite(hosts, tmp_path / "ssh_config", tmp_path / "out")


# ---- lab state read back from disk -----------------------------------------------------------------------------


def _lab_host(**changes: object) -> HostState:
    fields = {
        "name": "lab-app-1",
        "role": "app",
        "ssh_host": "127.0.0.1",
        "ssh_port": 40002,
        "user": "ccadmin",
        "identity_file": "/lab/vms/lab-app-1/id_ed25519",
        "known_hosts_file": "/lab/vms/lab-app-1/known_hosts",
        "https_port": None,
        "pid": 1,
        "vm_dir": "/lab/vms/lab-app-1",
        "console_log": "/lab/vms/lab-app-1/console.log",
        "memory_mb": 1024,
        "host_key_public": KEY + " root@lab-app-1",
    }
    return HostState(**{**fields, **changes})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ssh_host", "127.0.0.1\nProxyCommand id"),
        ("ssh_host", "::1%lo\nProxyCommand id"),
        ("ssh_host", "::1"),
        ("name", "lab-app-1\n  StrictHostKeyChecking no"),
        ("name", "*"),
        ("user", "root"),
        ("user", "ccadmin\u2028x"),
        ("ssh_port", "22\nProxyCommand id"),
        ("ssh_port", True),
        ("identity_file", "/lab/id\nProxyCommand id"),
        ("known_hosts_file", "/dev/null /tmp/x"),
        ("known_hosts_file", "/lab/kh\u0085x"),
        ("vm_dir", "/lab/../etc"),
        ("host_key_public", "ssh-ed25519 AAAA"),
        ("role", "app\n"),
        ("https_port", 0),
    ],
)
def test_hostile_lab_state_is_refused_on_load_and_on_render(field: str, value: object) -> None:
    state = LabState(
        stack="lab", accel="tcg", base_image="/b", userdata_source="t", hosts=[_lab_host(**{field: value})]
    )
    with pytest.raises(LabStateError, match=rf"hosts\[0\]\.{field}"):
        LabState.from_json(state.to_json())
    with pytest.raises(LabStateError):
        ssh_config_text(state, Path("/tmp/cm"))


def test_a_lab_state_that_is_not_ours_is_a_clear_error() -> None:
    for text in (
        "[]",
        "{",
        '{"stack": "lab"}',
        '{"stack": "lab", "accel": "tcg", "base_image": "", "userdata_source": "", "hosts": [{"name": "x"}]}',
        '{"evil": 1}',
    ):
        with pytest.raises(LabStateError, match="is unreadable"):
            LabState.from_json(text)


def test_the_lab_ssh_config_pins_every_host(tmp_path: Path) -> None:
    hosts = [_lab_host(), _lab_host(name="lab-db-1", role="db", ssh_port=40003)]
    for h in hosts:
        Path(tmp_path / h.name).mkdir()
        (tmp_path / h.name / "known_hosts").write_text(f"[127.0.0.1]:{h.ssh_port} {KEY}\n")
        h.known_hosts_file = str(tmp_path / h.name / "known_hosts")
    state = LabState(stack="lab", accel="tcg", base_image="/b", userdata_source="t", hosts=hosts)
    config = tmp_path / "ssh_config"
    config.write_text(ssh_config_text(LabState.from_json(state.to_json()), tmp_path / "cm"))
    for h in hosts:
        options = resolved(config, h.name)
        assert (options["stricthostkeychecking"], options["hostname"]) == ("true", "127.0.0.1")
        assert all(options.get(o, "none") in ("none", "no") for o in INJECTED)
    assert check_suite_options("ssh://lab-app-1,ssh://lab-db-1", None, str(config))


def test_a_host_recorded_before_its_vm_started_is_valid_but_not_reachable() -> None:
    """`lab up` saves the state as each VM starts: the others have no port yet (0) and no pid (0)."""
    waiting = _lab_host(name="lab-db-1", role="db", ssh_port=0, pid=0)
    state = LabState(stack="lab", accel="tcg", base_image="/b", userdata_source="t", hosts=[_lab_host(), waiting])
    assert LabState.from_json(state.to_json()).hosts[1].ssh_port == 0
    text = ssh_config_text(state, Path("/tmp/cm"))
    assert "Host lab-app-1\n" in text and "lab-db-1" not in text and "Port 0" not in text
    running_without_port = _lab_host(ssh_port=0, pid=4242)
    with pytest.raises(LabStateError, match=r"hosts\[0\]\.ssh_port"):
        LabState.from_json(
            LabState(
                stack="lab", accel="tcg", base_image="/b", userdata_source="t", hosts=[running_without_port]
            ).to_json()
        )
