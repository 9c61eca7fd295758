"""Validated value types (infra/validate.py), attacked the way a stack-file or stack-output writer would.

Every refusal must come with a message that names what to fix and never echoes the value.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from ccsec.infra import validate
from ccsec.infra.config import ConfigError, parse_config
from ccsec.infra.validate import (
    Cidr,
    FreeText,
    Host,
    HostLabel,
    HostName,
    HostPublicKey,
    HttpsUrl,
    InvalidValue,
    IPAddress,
    Port,
    PosixUser,
    SafePath,
    SshPublicKey,
)
from tests.unit.test_config import NOW, dev_values

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL89qaWNynrh/h+XgSqtXJjdRXpgg8chrdEEAqgsaXj+"


def wire(*fields: bytes) -> str:
    return base64.b64encode(b"".join(len(f).to_bytes(4, "big") + f for f in fields)).decode()


# Characters that end a line or hide text somewhere: C0, DEL, C1 (NEL), Unicode separators, bidi/zero-width.
LINE_BREAKERS = [
    "\n",
    "\r",
    "\x00",
    "\t",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1e",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\u200b",
    "\u200e",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\u00a0",
    "\u3000",
    "\x9b",
]
SCOPED = ["fe80::1%eth0", "::1%h\nProxyCommand sh -c id", 'fe80::1%eth0" #', "10.0.0.1%eth0", "fe80::1%25eth0"]


@pytest.mark.parametrize("kind", [HostLabel, HostName, IPAddress, Host, Cidr, PosixUser, SafePath, HttpsUrl, FreeText])
@pytest.mark.parametrize("char", LINE_BREAKERS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKERS])
def test_no_type_accepts_a_control_or_separator_character(kind: type, char: str) -> None:
    samples = {
        HostLabel: "app-1",
        HostName: "logs.example.com",
        IPAddress: "10.0.0.1",
        Host: "10.0.0.1",
        Cidr: "10.0.0.0/24",
        PosixUser: "alice",
        SafePath: "/etc/ccsec/id",
        HttpsUrl: "https://ks.example.com:5000/v3",
        FreeText: "platform team",
    }
    good = samples[kind]
    kind(good)
    for bad in (good + char, char + good, good[:2] + char + good[2:], good + char + "ProxyCommand sh"):
        assert kind.check(bad), (kind.__name__, ascii(bad))
        with pytest.raises(InvalidValue):
            kind(bad)


@pytest.mark.parametrize("value", SCOPED)
@pytest.mark.parametrize("kind", [IPAddress, Host, HostName, Cidr])
def test_ipv6_scope_ids_are_refused_everywhere_with_their_own_message(kind: type, value: str) -> None:
    assert "scope id" in kind.check(value)
    assert "scope id" in kind.check(value + "/64" if kind is Cidr else value)


@pytest.mark.parametrize("value", ["::1", "fe80::1", "2001:db8::5", "::ffff:10.0.0.1", "2001:db8::/48", "fd00::/8"])
@pytest.mark.parametrize("kind", [IPAddress, Host, Cidr])
def test_ipv6_is_refused_clearly(kind: type, value: str) -> None:
    assert "IPv6 is not supported" in kind.check(value)


@pytest.mark.parametrize(
    "value",
    [
        "010.0.0.1",
        "10.0.0.256",
        "10.0.0",
        "10.0.0.1.",
        " 10.0.0.1",
        "10.0.0.1 ",
        "１０.0.0.1",
        "0x0a.0.0.1",
        "10.0.0.01",
    ],
)
def test_ip_address_spellings(value: str) -> None:
    assert IPAddress.check(value)


@pytest.mark.parametrize(
    "value",
    [
        "cc.example.com*",
        "logs.example.com;reboot",
        "LOGS.example.com",
        "-x.example.com",
        "a..b",
        "10.0.0.300",
        "1.2.3.4.5",
        "xn--caf-dma.example.com\u0301",
        "ex ample.com",
        "example.com.",
        "a" * 64 + ".com",
        'logs.example.com" #',
        "logs.exam%ple.com",
    ],
)
def test_dns_name_spellings(value: str) -> None:
    assert HostName.check(value) and Host.check(value)


@pytest.mark.parametrize(
    "value",
    ["10.20.10.1/24", "10.0.0.0", "10.0.0.0/33", "10.0.0.0/024", "10.0.0.0/ 24", "10.0.0.0/24\n", "0.0.0.0/0/0"],
)
def test_cidr_spellings(value: str) -> None:
    assert Cidr.check(value)


@pytest.mark.parametrize("value", ["0.0.0.0/0", "::/0", "0/0", " 0.0.0.0/0"])
def test_admin_cidr_anywhere_is_refused(value: str) -> None:
    assert validate.admin_cidr(value)


@pytest.mark.parametrize(
    "value",
    [
        "root",
        "postgres",
        "daemon",
        "nobody",
        "sshd",
        "_apt",
        "_chrony",
        "www-data",
        "bin",
        "sys",
        "backup",
        "sudo",
        "adm",
        "shadow",
        "messagebus",
        "systemd-network",
        "systemd-timesync",
        "debian-tor",
        "operators",
        "sshusers",
        "totp",
        "nogroup",
        "0",
        "1000",
        "0root",
        "Root",
        "ROOT",
        "r\u200boot",
        "root\n",
        "root ",
        "al ice",
        "al;ice",
        "alice$",
        "alice-",
        "a" * 33,
        "",
        "ro\u0430t",  # Cyrillic 'а'
        "ｒｏｏｔ",
    ],
)
def test_system_and_service_accounts_and_odd_spellings_are_not_posix_users(value: str) -> None:
    assert PosixUser.check(value)


@pytest.mark.parametrize("value", ["alice", "ops-alice", "bob_2", "ccadmin", "auditor"])
def test_people_are_posix_users(value: str) -> None:
    assert PosixUser(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "relative/path",
        "/a b",
        "/keys/id %d",
        "/keys/~/id",
        "/keys/../etc/shadow",
        "/keys/..",
        "/keys/id\nProxyCommand x",
        '/keys/"id"',
        "/keys/*",
        "/keys/id#x",
        "/keys/$HOME",
        "/keys/é",
        "",
        "/" + "a" * 4100,
    ],
)
def test_unsafe_paths(value: str) -> None:
    assert SafePath.check(value)


@pytest.mark.parametrize(
    "value",
    [
        "http://keystone:5000/v3",
        "HTTPS://keystone:5000/v3",
        "https://user:pass@keystone:5000/v3",
        "https://keystone:5000/v3?x=1",
        "https://keystone:5000/v3#frag",
        "https://[::1]:5000/v3",
        "https://fe80::1%eth0/v3",
        "https://keystone:99999/v3",
        "https://keystone:5000/../v3",
        "https://keystone:5000/v3 ",
        "https://key stone/",
        'https://keystone/"',
        "https://keystone/%0a",
        "https://keystone\u2028/v3",
        "https://",
    ],
)
def test_url_spellings(value: str) -> None:
    assert HttpsUrl.check(value)


@pytest.mark.parametrize(
    "value",
    [
        "team\nPermitRootLogin yes",
        "team\u2028line two",
        "team\u2029x",
        "team\x85x",
        "team\u202ex",
        'team" ; rm',
        "team'",
        "team`id`",
        "team $(id)",
        "team\\n",
        "team%n",
        "team # comment",
        "team\uff02",  # fullwidth quote: NFKC folds it to '"'
        "team\ufe68",  # small reverse solidus: NFKC '\\'
        " team",
        "team ",
        "",
        "   ",
        "x" * 129,
    ],
)
def test_free_text_refuses_breaks_quotes_and_escapes(value: str) -> None:
    assert FreeText.check(value)


def test_free_text_accepts_plain_labels() -> None:
    for value in ("platform-team", "Contact Center Ops (EU)", "ops@example.com", "Équipe plateforme"):
        assert FreeText(value) == value


@pytest.mark.parametrize("value", [True, False, 0, 65536, -1, "22", 22.0, None])
def test_ports(value: Any) -> None:
    assert Port.check(value)


def test_ports_accept_ints() -> None:
    assert Port(6514) == 6514 and isinstance(Port(22), int)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("ssh-ed25519 AAAA", "declared key type"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "ed25519 key"),
        ("ssh-ed25519 " + wire(b"ssh-ed25519", b"\x01" * 31), "ed25519 key"),
        ("ssh-ed25519 " + wire(b"ssh-ed25519", b"\x01" * 33), "ed25519 key"),
        ("ssh-ed25519 " + wire(b"ssh-ed25519", b"\x01" * 32, b"extra"), "ed25519 key"),
        ("ssh-ed25519 " + wire(b"ssh-rsa", b"\x01" * 32), "declared key type"),
        (
            "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20").decode(),
            "declared key type",
        ),
        ("ecdsa-sha2-nistp256 " + KEY.split()[1], "declared key type"),
        ("ecdsa-sha2-nistp256 " + wire(b"ecdsa-sha2-nistp256", b"nistp384", b"\x04" + b"\x01" * 64), "ECDSA"),
        ("ecdsa-sha2-nistp256 " + wire(b"ecdsa-sha2-nistp256", b"nistp256", b"\x02" + b"\x01" * 64), "ECDSA"),
        ("sk-ssh-ed25519@openssh.com " + wire(b"sk-ssh-ed25519@openssh.com", b"\x01" * 32), "ed25519 key"),
        ("ssh-rsa AAAAB3NzaC1yc2E bob", "RSA/DSA are refused"),
        ("ssh-dss AAAAB3NzaC1kc3M=", "RSA/DSA are refused"),
        ("SSH-ED25519 " + KEY.split()[1], "must be"),
        ("ssh-ed25519  " + KEY.split()[1], "must be"),
        ("ssh-ed25519\t" + KEY.split()[1], "must not contain"),
        (KEY + " alice@x\nssh-ed25519 AAAA evil", "single line"),
        (KEY + " alice@x\u2028ssh-ed25519 AAAA evil", "U+2028"),
        (KEY + " alice@x\x85", "U+0085"),
        (KEY + ' alice"x', "must be"),
        (KEY + " two words", "must be"),
        ('command="id" ' + KEY, "must be"),
        (KEY + "=", "base64"),
        (KEY[:-1] + "!", "must be"),
    ],
)
def test_public_keys_are_decoded_not_pattern_matched(value: str, complaint: str) -> None:
    message = SshPublicKey.check(value)
    assert message and complaint in message, message
    assert value.split()[-1] not in message if len(value.split()) > 1 else True  # never echoed


def test_well_formed_keys_are_accepted() -> None:
    assert SshPublicKey(KEY + " alice@laptop\n").key_type == "ssh-ed25519"
    ecdsa = "ecdsa-sha2-nistp256 " + wire(b"ecdsa-sha2-nistp256", b"nistp256", b"\x04" + b"\x01" * 64)
    assert SshPublicKey(ecdsa).blob == ecdsa.split()[1]
    sk = "sk-ssh-ed25519@openssh.com " + wire(b"sk-ssh-ed25519@openssh.com", b"\x01" * 32, b"ssh:")
    assert SshPublicKey(sk)
    assert HostPublicKey("ssh-rsa " + wire(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\x07" * 256))
    assert HostPublicKey.check("ssh-rsa " + wire(b"ssh-rsa", b"\x01\x00\x01", b"\x07" * 64))


def test_messages_never_echo_the_value() -> None:
    secret = "s3cr3t-pasted-value"
    for kind in (HostLabel, HostName, IPAddress, Host, Cidr, PosixUser, SafePath, HttpsUrl, FreeText, SshPublicKey):
        messages = [kind.check(v) for v in (secret + "\n", f"https://u:{secret}@h/", f"{secret}%eth0", f'"{secret}')]
        assert sum(m is not None for m in messages) >= 3, kind.__name__
        assert not any(secret in m for m in messages if m), (kind.__name__, messages)


def test_parse_prefixes_the_key_path() -> None:
    with pytest.raises(InvalidValue, match=r"^stack outputs: hosts\[2\]\.ip: must not carry an IPv6 scope id"):
        IPAddress.parse("::1%x", "stack outputs: hosts[2].ip")


# ---- through the stack config: key path + fix, ConfigError (exit 2), nothing constructed ----------------------


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("backup", "s3Endpoint"), 'fe80::1%eth0" #', "backup.s3Endpoint: must not carry an IPv6 scope id"),
        (("backup", "s3Endpoint"), "fe80::1", "backup.s3Endpoint: is an IPv6 address"),
        (("network", "ntpServers", 0), "10.0.0.1\nallow all", "network.ntpServers[0]: must not contain newlines"),
        (("network", "ntpServers", 0), "fe80::1%eth0\nallow", "network.ntpServers[0]: must not carry an IPv6 scope"),
        (
            ("network", "ntpServers", 0),
            "ntp.example.com\u2028server evil",
            "network.ntpServers[0]: must not contain U+2028",
        ),
        (("network", "dnsNameservers", 0), "2001:db8::53", "network.dnsNameservers[0]: is an IPv6 address"),
        (("network", "adminCidrs", 0), "2001:db8::/48", "network.adminCidrs[0]: is an IPv6 address"),
        (("network", "adminCidrs", 0), "fe80::%eth0/64", "network.adminCidrs[0]: must not carry an IPv6 scope id"),
        (("network", "adminCidrs", 0), "198.51.100.0/28\n", "network.adminCidrs[0]: must not contain newlines"),
        (
            (
                "network",
                "servicesCidr",
            ),
            "fd00:1::/64",
            "network.servicesCidr: is an IPv6 address",
        ),
        (("network", "zones", "app"), "fd00:2::/64", "network.zones.app: is an IPv6 address"),
        (("owner",), "team\u2028Welcome", "owner: must not contain U+2028"),
        (("owner",), "team\x85Welcome", "owner: must not contain U+0085"),
        (("owner",), "team\u202e", "owner: must not contain U+202E"),
        (("admins", 0, "name"), "postgres", "admins[0].name: must be a POSIX user name that is not a system"),
        (("admins", 0, "name"), "www-data", "admins[0].name: must be a POSIX user name that is not a system"),
        (("admins", 0, "name"), "_apt", "admins[0].name: must be a POSIX user name"),
        (("admins", 0, "sshPublicKey"), "ssh-ed25519 AAAA", "admins[0].sshPublicKey: key blob"),
        (("backup", "swiftAuthUrl"), "https://u:p@keystone:5000/v3", "backup.swiftAuthUrl: must not carry credentials"),
        (("backup", "s3Endpoint"), "swift.internal%eth0", "backup.s3Endpoint: must not carry an IPv6 scope id"),
        (("tls", "hostname"), "cc.example.com\u2029", "tls.hostname: must not contain U+2029"),
        (("logging", "port"), "6514", "logging.port: must be an integer"),
    ],
)
def test_stack_config_refuses_with_the_key_path_and_never_the_value(path: tuple, value: Any, expected: str) -> None:
    values = copy.deepcopy(dev_values())
    values["network"].setdefault("ntpServers", ["10.20.250.123"])
    target = values
    for step in path[:-1]:
        target = target[step] if isinstance(step, int) else target.setdefault(step, {})
    target[path[-1]] = value
    with pytest.raises(ConfigError) as raised:
        parse_config(values, (), "dev", now=NOW)
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems
    if isinstance(value, str) and len(value) > 6:
        assert value not in str(raised.value)


def test_a_valid_stack_config_holds_validated_types() -> None:
    cfg = parse_config(dev_values(), (), "dev", now=NOW)
    assert isinstance(cfg.owner, FreeText)
    assert isinstance(cfg.backup.s3_endpoint, Host) and isinstance(cfg.logging.port, Port)
    assert all(isinstance(c, Cidr) for c in cfg.network.admin_cidrs)
    assert all(isinstance(a.name, PosixUser) and isinstance(a.ssh_public_key, SshPublicKey) for a in cfg.admins)
    assert isinstance(cfg.backup.swift_auth_url, HttpsUrl) and isinstance(cfg.tls.hostname, HostName)


OUTSIDE_SERVICES = [  # dev's servicesCidr is 10.20.250.0/24: each of these would be dropped at both walls
    (("network", "dnsNameservers"), ["10.20.250.53", "8.8.8.8"], "network.dnsNameservers[1]", "8.8.8.8"),
    (("network", "dnsNameservers"), ["10.20.251.53"], "network.dnsNameservers[0]", "10.20.251.53"),
    (("network", "ntpServers"), ["162.159.200.1"], "network.ntpServers[0]", "162.159.200.1"),
    (("network", "ntpServers"), ["10.20.249.255"], "network.ntpServers[0]", "10.20.249.255"),
    (("backup", "swiftAuthUrl"), "https://10.20.10.5:5000/v3", "backup.swiftAuthUrl", "10.20.10.5"),
    (("backup", "s3Endpoint"), "192.168.1.10", "backup.s3Endpoint", "192.168.1.10"),
]


@pytest.mark.parametrize(
    ("path", "value", "expected", "shown"), OUTSIDE_SERVICES, ids=[e for _, _, e, _ in OUTSIDE_SERVICES]
)
def test_a_service_address_outside_the_services_cidr_is_refused(path: tuple, value: Any, expected: str, shown: str):
    values = copy.deepcopy(dev_values())
    values[path[0]][path[1]] = value
    with pytest.raises(ConfigError) as raised:
        parse_config(values, (), "dev", now=NOW)
    assert raised.value.problems == [
        f"{expected}: {shown} must lie inside "
        "network.servicesCidr (10.20.250.0/24), the only place hosts may reach services: move the service there "
        "or set servicesCidr to cover it"
    ]


def test_service_names_and_addresses_inside_the_services_cidr_are_accepted() -> None:
    """A name is resolved on the host (not checkable here); the CIDR's own edges are inside it."""
    values = copy.deepcopy(dev_values())
    values["network"]["ntpServers"] = ["ntp.internal", "10.20.250.0", "10.20.250.255"]
    values["network"]["dnsNameservers"] = ["10.20.250.1"]
    values["backup"]["swiftAuthUrl"] = "https://10.20.250.5/v3"
    values["backup"]["s3Endpoint"] = "10.20.250.6"
    cfg = parse_config(values, (), "dev", now=NOW)
    assert cfg.network.ntp_servers == ("ntp.internal", "10.20.250.0", "10.20.250.255")


def test_a_bad_services_cidr_is_reported_once_not_again_per_service() -> None:
    values = copy.deepcopy(dev_values())
    values["network"]["servicesCidr"] = "8.8.8.0/24"
    with pytest.raises(ConfigError) as raised:
        parse_config(values, (), "dev", now=NOW)
    assert [p.split(":")[0] for p in raised.value.problems] == ["network.servicesCidr"]


@pytest.mark.parametrize("url", ["https://[", "https://[::1", "https://[zz]:5000/v3"])
def test_a_malformed_keystone_url_is_one_error_not_a_crash(url: str) -> None:
    """Found by the hostile-values property test: the services-range check must not re-parse a refused URL."""
    values = copy.deepcopy(dev_values())
    values["backup"]["swiftAuthUrl"] = url
    with pytest.raises(ConfigError) as raised:
        parse_config(values, (), "dev", now=NOW)
    assert [p.split(":")[0] for p in raised.value.problems] == ["backup.swiftAuthUrl"]
