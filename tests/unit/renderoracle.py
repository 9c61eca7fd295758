"""What each rendered host file must MEAN, written by hand from the baseline's intent (the HOST-xx controls).

An independent oracle: nothing here reads infra/templates or infra/userdata.py's constants. Stack values
(NTP servers, the log host, CIDRs, the owner ...) enter only as *data*: the expected directive set for a
config is a function of its validated values, so a value that smuggles a directive shows up as an extra
or changed directive in what the real parser (renderparsers) reports, even when the file is "valid".

``CHECKS`` maps each host file path to a check ``(text, Host) -> None`` that parses the text with the real
program and compares; a rendered path without a check fails the parser test (a new file needs a parser).
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import renderparsers as rp

from ccsec.infra.config import StackConfig


@dataclass(frozen=True)
class Host:
    cfg: StackConfig
    role: str
    hostname: str
    work: Path
    host_key_public: str = ""
    host_key_private: str = ""
    secret_files: tuple[str, ...] = ()  # names in the backup secrets dir the host was rendered with
    has_luks_key: bool = False
    has_ca: bool = False
    log: Any = None  # the LogPath it was rendered with (HOST-15): CA, certificate, key, targets


def _eq(what: str, actual, expected) -> None:
    assert actual == expected, f"{what}:\n  parsed:   {actual!r}\n  expected: {expected!r}"


# --- sshd (HOST-02/03) ------------------------------------------------------------------------------

SSHD_CRYPTO = {
    "kexalgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
    "ciphers": "aes256-gcm@openssh.com,aes128-gcm@openssh.com",
    "macs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
    "hostkeyalgorithms": "ssh-ed25519",
    "pubkeyacceptedalgorithms": "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,"
    "sk-ecdsa-sha2-nistp256@openssh.com",
}


def sshd_expected_overrides(role: str) -> dict[str, str]:
    """Effective sshd settings the baseline sets (everything else stays at Debian's/OpenSSH's default)."""
    return {
        "permitrootlogin": "no",
        "passwordauthentication": "no",
        "permitemptypasswords": "no",
        "kbdinteractiveauthentication": "no",
        "pubkeyauthentication": "yes",
        "authenticationmethods": "publickey",
        "hostbasedauthentication": "no",
        "ignorerhosts": "yes",
        "gssapiauthentication": "no",
        "permituserenvironment": "no",
        "strictmodes": "yes",
        "usedns": "no",
        "allowgroups": "sshusers",
        "maxauthtries": "3",
        "maxsessions": "4",
        "maxstartups": "10:30:60",
        "logingracetime": "30",
        "clientaliveinterval": "300",
        "clientalivecountmax": "2",
        "tcpkeepalive": "no",
        "loglevel": "VERBOSE",
        "banner": "/etc/issue.net",
        "compression": "no",
        "x11forwarding": "no",
        "allowagentforwarding": "no",
        "allowstreamlocalforwarding": "no",
        "gatewayports": "no",
        "permittunnel": "no",
        "allowtcpforwarding": "yes" if role == "bastion" else "no",  # the bastion is the jump host
        **SSHD_CRYPTO,
    }


# HOST-03: on the bastion, people (group totp) need their key AND a TOTP code
SSHD_TOTP_MATCH = {"kbdinteractiveauthentication": "yes", "authenticationmethods": "publickey,keyboard-interactive:pam"}


@cache
def sshd_defaults() -> dict[str, list[str]]:
    """sshd's own effective defaults under Debian's main config (the drop-in empty)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return _without_probe_key(rp.sshd_settings("", Path(tmp)))


def _without_probe_key(settings: dict[str, list[str]]) -> dict[str, list[str]]:
    """Drop the throwaway host key the parser run passes with -h (sshd lists it among the HostKeys)."""
    probe = rp.sshd_host_key()
    return {**settings, "hostkey": [k for k in settings.get("hostkey", []) if k != probe]}


def _sshd_expected(role: str, extra: dict[str, str] | None = None) -> dict[str, list[str]]:
    expected = dict(sshd_defaults())
    expected.update({k: [v] for k, v in sshd_expected_overrides(role).items()})
    expected.update({k: [v] for k, v in (extra or {}).items()})
    expected["hostkey"] = ["/etc/ssh/ssh_host_ed25519_key"]  # the pinned ED25519 key only (HOST-19)
    return expected


def check_sshd(text: str, host: Host) -> None:
    keywords = rp.sshd_keywords(text)
    top = [k for section, k in keywords if not section]
    expected_top = sorted([*sshd_expected_overrides(host.role), "hostkey", "protocol", "debianbanner"])
    _eq("sshd drop-in directives outside Match", sorted(top), expected_top)
    # Debian's patch: sshd -T does not print it, so its value is read from the text (the host test sees the wire)
    _eq("DebianBanner", re.findall(r"^DebianBanner\s+(\S+)$", text, re.MULTILINE | re.IGNORECASE), ["no"])
    match = [(section, k) for section, k in keywords if section]
    expected_match = (
        [("Match Group totp", "match")] + [("Match Group totp", k) for k in SSHD_TOTP_MATCH]
        if host.role == "bastion"
        else []
    )
    _eq("sshd drop-in Match block", sorted(match), sorted(expected_match))
    effective = _without_probe_key(rp.sshd_settings(text, host.work))
    _eq_settings("sshd -T", effective, _sshd_expected(host.role))
    for_totp = _without_probe_key(rp.sshd_settings(text, host.work, totp_member=True))
    _eq_settings(
        "sshd -T -C user=<member of totp>",
        for_totp,
        _sshd_expected(host.role, SSHD_TOTP_MATCH if host.role == "bastion" else None),
    )


def _eq_settings(what: str, actual: dict[str, list[str]], expected: dict[str, list[str]]) -> None:
    diff = {
        k: {"parsed": actual.get(k), "expected": expected.get(k)}
        for k in sorted(set(actual) | set(expected))
        if actual.get(k) != expected.get(k)
    }
    assert not diff, f"{what}: effective settings differ from the baseline's: {json.dumps(diff, indent=1)}"


# --- nftables (HOST-04) -----------------------------------------------------------------------------

INPUT_HEAD = [
    "meta iif={lo} accept",
    "ct state={invalid} drop",
    "ct state={established,related} accept",
    "icmp type={destination-unreachable,echo-request,time-exceeded} ip protocol={icmp} limit 10/second burst 5 accept",
    "icmpv6 type={destination-unreachable,echo-request,nd-neighbor-advert,nd-neighbor-solicit,nd-router-advert,"
    "packet-too-big,time-exceeded} ip6 nexthdr={ipv6-icmp} accept",
    "udp dport={68} udp sport={67} accept",  # DHCP replies
]
INPUT_TAIL = ["limit 5/second burst 10 log prefix='ccaas-drop: ' level=info", "counter drop"]
FORWARD_RULES = ["limit 5/second burst 5 log prefix='ccaas-fwd-drop: ' level=info"]
# New connections each role accepts: (protocol, port) -> where from ("admins" = network.adminCidrs, else a zone)
LOG_PORT = "logging.port"  # stands for the stack's logging.port in the tables below
ROLE_INGRESS = {
    "bastion": {("tcp", 22): ("admins",)},
    "app": {("tcp", 443): ("edge",), ("tcp", 22): ("mgmt",)},
    "db": {("tcp", 5432): ("app",), ("tcp", 22): ("mgmt",)},
    "recordings": {("tcp", 443): ("app",), ("tcp", 22): ("mgmt",)},
    "payment": {("tcp", 8443): ("app",), ("tcp", 22): ("mgmt",)},
    # every other role's hosts send syslog over TLS to the log host (in mgmt): bastion, app, db/recordings, payment
    "loghost": {("tcp", LOG_PORT): ("mgmt", "app", "data", "pci"), ("tcp", 22): ("mgmt",)},
}
# Egress the output chain may accept: internal services (network.servicesCidr) and the intra-cluster flows
SERVICE_EGRESS = {("udp", 53), ("tcp", 53), ("udp", 123), ("tcp", 443)}
_TO_LOGS = {("tcp", LOG_PORT): ("mgmt",)}  # the log hosts live in the management zone
CLUSTER_EGRESS = {
    "bastion": {("tcp", 22): ("app", "data", "pci", "mgmt"), **_TO_LOGS},
    "app": {("tcp", 5432): ("data",), ("tcp", 443): ("data",), ("tcp", 8443): ("pci",), **_TO_LOGS},
    "db": dict(_TO_LOGS),
    "recordings": dict(_TO_LOGS),
    "payment": dict(_TO_LOGS),
    "loghost": {},  # its own stream goes to its receiver over loopback
}


def _flows(table: dict, cfg: StackConfig) -> dict:
    """A flow table with LOG_PORT resolved to this stack's logging.port."""
    return {(proto, cfg.logging.port if port == LOG_PORT else port): v for (proto, port), v in table.items()}


def _net(value: str):
    return ipaddress.ip_network(value, strict=False)


def _sources(cfg: StackConfig, names: tuple[str, ...]) -> frozenset[str]:
    out = set()
    for name in names:
        cidrs = cfg.network.admin_cidrs if name == "admins" else (str(cfg.network.zones[name]),)
        out |= {str(_net(c)) for c in cidrs}
    return frozenset(out)


_ADDR_KEYS = ("ip saddr", "ip6 saddr")
_DADDR_KEYS = ("ip daddr", "ip6 daddr")


def _ports(rule: rp.NftRule) -> list[tuple[str, int]] | None:
    """The rule's (protocol, port) pairs; a range or a negation is refused, never widened into a list."""
    negated = [k for k in rule.matches if k.startswith("!")]
    assert not negated, f"{rule.chain} chain: a negated match in {rule.canon()!r}"
    values = [v for k in ("tcp dport", "udp dport", "th dport") for v in rule.matches.get(k, ())]
    assert all(v.isdigit() for v in values), f"{rule.chain} chain: a port range in {rule.canon()!r}"
    ports = []
    for proto in ("tcp", "udp"):
        for port in rule.matches.get(f"{proto} dport", ()):
            ports.append((proto, int(port)))
    l4 = rule.matches.get("meta l4proto")
    if "th dport" in rule.matches and l4:
        ports += [(p, int(port)) for p in l4 for port in rule.matches["th dport"]]
    return ports or None


def check_nftables(text: str, host: Host) -> None:
    cfg, role = host.cfg, host.role
    ruleset = rp.parse_nftables(text, host.work)
    _eq("nftables tables", ruleset.tables, [("inet", "ccaas_filter")])
    _eq("nftables chains", sorted(ruleset.chains), ["forward", "input", "output"])
    for name in ("input", "forward", "output"):
        chain = ruleset.chains[name]
        _eq(f"chain {name} hook", (chain["type"], chain["hook"], chain["prio"]), ("filter", name, 0))
    _eq("input policy", ruleset.chains["input"]["policy"], "drop")
    _eq("forward policy", ruleset.chains["forward"]["policy"], "drop")
    _eq("forward rules", [r.canon() for r in ruleset.rules["forward"]], FORWARD_RULES)
    _check_input(ruleset.rules["input"], cfg, role)
    _check_output(ruleset.chains["output"]["policy"], ruleset.rules["output"], cfg, role)
    _check_metadata_root_only(ruleset.rules["output"])


METADATA_ADDRESSES = {"ip daddr": "169.254.169.254/32", "ip6 daddr": "fe80::a9fe:a9fe/128"}


def _check_metadata_root_only(rules: list[rp.NftRule]) -> None:
    """HOST-04: user-data (host key, role secrets) is served at the metadata address; only root may ask.

    A drop for every other uid, for both address families, ahead of any accept that a new packet could match."""
    for family, address in METADATA_ADDRESSES.items():
        at = [
            i
            for i, r in enumerate(rules)
            if r.verdict == "drop" and set(r.matches) == {family, "!=meta skuid"} and r.matches[family] == {address}
        ]
        assert at, f"output chain: no drop of {address} for non-root processes: {[r.canon() for r in rules]}"
        _eq(f"uids allowed to reach {address}", rules[at[0]].matches["!=meta skuid"], {"0"})
        before = [r.canon() for r in rules[: at[0]] if r.verdict == "accept" and r.matches not in LOOPBACK]
        _eq(f"accepts ahead of the metadata drop ({family})", before, [])


LOOPBACK = ({"meta oif": {"lo"}}, {"meta oifname": {"lo"}})


def _check_input(rules: list[rp.NftRule], cfg: StackConfig, role: str) -> None:
    canon = [r.canon() for r in rules]
    head, tail = len(INPUT_HEAD), len(INPUT_TAIL)
    _eq("input chain: first rules", canon[:head], INPUT_HEAD)
    _eq("input chain: last rules", canon[-tail:], INPUT_TAIL)
    accepted: dict[tuple[str, int], set[str]] = {}
    for rule in rules[head:-tail]:
        keys = set(rule.matches) - {"ct state", "tcp dport", *_ADDR_KEYS}
        ok = rule.verdict == "accept" and not keys and not rule.statements and rule.matches.get("ct state") == {"new"}
        assert ok and "tcp dport" in rule.matches and set(rule.matches) & set(_ADDR_KEYS), (
            f"input chain: unexpected rule {rule.canon()!r} (only 'ct state new, source set, tcp dport, accept')"
        )
        sources = set().union(*(rule.matches[k] for k in _ADDR_KEYS if k in rule.matches))
        for port in rule.matches["tcp dport"]:
            accepted.setdefault(("tcp", int(port)), set()).update(sources)
    expected = {flow: set(_sources(cfg, names)) for flow, names in _flows(ROLE_INGRESS[role], cfg).items()}
    _eq(f"input chain: new connections accepted on {role}", accepted, expected)


BACKS_UP = ("db", "recordings")  # their backup agents fetch a token from Keystone
OUTPUT_TAIL = ["limit 5/second burst 10 log prefix='ccaas-egress-drop: ' level=info", "counter drop"]
METADATA_HTTP = {"ip daddr": "169.254.169.254/32", "ip6 daddr": "fe80::a9fe:a9fe/128"}  # root's (cloud-init's) fetch


def _expected_egress(cfg: StackConfig, role: str) -> dict[tuple[str, int], set[str]]:
    """(protocol, port) -> destination networks: every host's services, the cluster flows, and on the hosts
    that back up, Keystone's port as written in backup.swiftAuthUrl (443 when the URL names none)."""
    services = str(_net(cfg.network.services_cidr))
    expected: dict[tuple[str, int], set[str]] = {flow: {services} for flow in SERVICE_EGRESS}
    if role in BACKS_UP:
        keystone = urllib.parse.urlsplit(cfg.backup.swift_auth_url).port or 443
        expected.setdefault(("tcp", keystone), set()).add(services)
    for flow, zones in _flows(CLUSTER_EGRESS[role], cfg).items():
        expected.setdefault(flow, set()).update(str(cfg.network.zones[z]) for z in zones)
    return expected


def _check_output(policy: str, rules: list[rp.NftRule], cfg: StackConfig, role: str) -> None:
    """HOST-04 egress: default-deny; the accepts are exactly the role's egress, the rest is logged and dropped."""
    _eq("output policy", policy, "drop")
    _eq("output chain: last rules", [r.canon() for r in rules[-len(OUTPUT_TAIL) :]], OUTPUT_TAIL)
    accepted: dict[tuple[str, int], set[str]] = {}
    for rule in rules[: -len(OUTPUT_TAIL)]:
        if rule.verdict != "accept":
            assert rule.verdict == "drop", f"output chain: unexpected verdict in {rule.canon()!r}"
            continue
        if _harmless_accept(rule) or _metadata_fetch(rule):
            continue
        ports = _ports(rule)
        keys = set(rule.matches) - {"ct state", "meta l4proto", "th dport", "tcp dport", "udp dport", *_DADDR_KEYS}
        daddrs = set().union(*(rule.matches[k] for k in _DADDR_KEYS if k in rule.matches))
        assert ports and daddrs and not keys and not rule.statements, (
            f"output chain: accept without destination and port, or with more: {rule.canon()!r}"
        )
        assert rule.matches.get("ct state", {"new"}) == {"new"}, f"output chain: {rule.canon()!r}"
        for flow in ports:
            accepted.setdefault(flow, set()).update(str(_net(d)) for d in daddrs)
    _eq(f"output chain: egress accepted on {role}", accepted, _expected_egress(cfg, role))


def _metadata_fetch(rule: rp.NftRule) -> bool:
    """The metadata service over HTTP, nothing else there (the non-root drop ahead of it is checked apart)."""
    return any(rule.matches == {family: {address}, "tcp dport": {"80"}} for family, address in METADATA_HTTP.items())


NEIGHBOUR_DISCOVERY = {"nd-neighbor-solicit", "nd-neighbor-advert", "nd-router-solicit"}


def _harmless_accept(rule: rp.NftRule) -> bool:
    """Loopback, replies, DHCP and IPv6 neighbour discovery: nothing a process could open a channel with
    (no echo requests: an ICMP tunnel carries data as well as TCP does)."""
    m = rule.matches
    if m in ({"meta oif": {"lo"}}, {"meta oifname": {"lo"}}):
        return True
    if set(m) == {"ct state"} and m["ct state"] <= {"established", "related"}:
        return True
    if m == {"udp sport": {"68"}, "udp dport": {"67"}}:  # DHCP requests
        return True
    return set(m) == {"icmpv6 type"} and m["icmpv6 type"] <= NEIGHBOUR_DISCOVERY


# --- chrony, rsyslog (HOST-14/15) -------------------------------------------------------------------


CHRONY_SETTINGS = [  # Debian 12's chrony.conf without its pool, DHCP and drop-in directories; no command port
    "keyfile /etc/chrony/chrony.keys",
    "driftfile /var/lib/chrony/chrony.drift",
    "ntsdumpdir /var/lib/chrony",
    "logdir /var/log/chrony",
    "maxupdateskew 100.0",
    "rtcsync",
    "makestep 1 3",
    "leapsectz right/UTC",
    "cmdport 0",
]


def check_chrony(text: str, host: Host) -> None:
    parsed = rp.parse_chrony_conf(text, host.work)
    servers = [f"server {s} iburst" for s in host.cfg.network.ntp_servers]
    _eq("chrony.conf (chronyd -p)", parsed, servers + CHRONY_SETTINGS)


LOG_DOMAIN = "logs.ccaas.internal"  # the names in log certificates, written out here (not imported)
LOG_FILES = ("/etc/ssl/ccaas/log-ca.crt", "/etc/ssl/ccaas/log.crt", "/etc/ssl/ccaas/log.key")
RECEIVER_KEY = "/run/credentials/ccaas-log-receiver.service/log.key"  # LoadCredential=: readable by the unit only


def _log_targets(host: Host) -> list[tuple[str, str]]:
    """(address, certificate name) a host must forward to: the given log hosts, or a log host's own receiver."""
    if host.role == "loghost":
        return [("127.0.0.1", f"{host.hostname}.{host.cfg.stack}.{LOG_DOMAIN}")]
    return [(t.address, t.name) for t in host.log.targets]


def check_rsyslog(text: str, host: Host) -> None:
    """HOST-15 sender: one RELP-over-TLS action per log host, both ends authenticated by the stack's log CA."""
    cfg = host.cfg
    targets = _log_targets(host)
    assert targets, "a sender without log hosts"
    model = rp.parse_rsyslog(text, host.work)
    _eq("rsyslog config statements", model.statements, ["obj module", "script"])
    action = 'ACTION {} [omrelp:action(type="omrelp" ...)]'
    _eq("rsyslog default ruleset", model.ruleset, [action.format(i) for i in range(len(targets))])
    _eq("rsyslog action count", model.action_count, len(targets))
    expected = {
        "omrelp.c": [{"tls.tlslib": "gnutls"}],
        "action": [
            {
                "type": "omrelp",
                "action.resumeretrycount": "-1",
                "action.reportsuspensioncontinuation": "0",
                "action.resumeintervalmax": "600",
                "action.resumeinterval": "30",
            }
        ]
        * len(targets),
        # librelp's own record of the names it will accept from each log host
        "omrelp peers": [{"peer": name} for _, name in targets],
        "queue": [
            {
                "queue.filename": f"ccaas_fwd_{index}",  # one disk queue per log host
                "queue.maxdiskspace": str(512 * 1024 * 1024),
                "queue.type": "1",  # LinkedList
                "queue.saveonshutdown": "1",
            }
            for index in range(1, len(targets) + 1)
        ],
    }
    _eq("rsyslog parameters (rsyslogd -d -N1)", model.params, expected)
    # omrelp keeps its own parameters out of the debug trace: read them as written, after -N1 accepted them
    _eq(
        "omrelp actions",
        [
            {k: v for k, v in a.items() if not k.startswith(("queue.", "action."))}
            for a in rp.rainerscript_actions(text)
        ],
        [
            {
                "type": "omrelp",
                "target": address,
                "port": str(cfg.logging.port),
                "tls": "on",
                "tls.authmode": "name",  # the log host's certificate must name it
                "tls.permittedpeer": [name],
                "tls.cacert": LOG_FILES[0],  # the stack's log CA only
                "tls.mycert": LOG_FILES[1],  # this host's client certificate
                "tls.myprivkey": LOG_FILES[2],
            }
            for address, name in targets
        ],
    )


def check_rsyslog_journal(text: str, host: Host) -> None:
    """HOST-15 input: the journal read from a saved cursor, no rate limit, the main queue kept across restarts."""
    stand_in = '\naction(type="omfile" file="/dev/null")\n'  # rsyslogd -N1 refuses a config without any action
    model = rp.parse_rsyslog(text + stand_in, host.work)
    _eq("journal input statements", model.statements, ["obj module", "obj main_queue", "script"])
    _eq(
        "imjournal",
        model.params["imjournal.c"],
        [{"statefile": "ccaas-imjournal.state", "ratelimit.interval": "0", "persiststateinterval": "100"}],
    )
    _eq(
        "main queue",
        [q for q in model.params["queue"] if q],
        [
            {
                "queue.filename": "ccaas_main",
                "queue.maxdiskspace": str(256 * 1024 * 1024),
                "queue.type": "1",
                "queue.saveonshutdown": "1",
            }
        ],
    )


def check_journald(text: str, host: Host) -> None:
    """Persistent journal; no push to a syslog socket (rsyslog pulls from its cursor instead)."""
    settings = [line for line in _lines(text) if not line.startswith("[")]
    _eq("journald.conf.d", settings, ["Storage=persistent", "Compress=yes", "ForwardToSyslog=no", "SystemMaxUse=1G"])


def check_log_receiver(text: str, host: Host) -> None:
    """HOST-15 receiver: RELP over TLS only, client certificates of this stack's names, one file per host and day."""
    cfg = host.cfg
    model = rp.parse_rsyslog(text, host.work)
    _eq(
        "receiver statements",
        model.statements,
        ["obj global", "obj module", "obj template", "obj template", "obj ruleset", "obj input"],
    )
    _eq("receiver actions", model.action_count, 1)
    params = model.params
    _eq(
        "receiver global", params["glbl"], [{"workdirectory": "/var/lib/ccaas-log-receiver", "maxmessagesize": "65536"}]
    )
    _eq("receiver inputs", params["rsconf.c"], [{"type": "imrelp"}])  # one listener, RELP
    module, listener = params["imrelp.c"]
    _eq("imrelp module", module, {"tls.tlslib": "gnutls"})
    _eq(
        "imrelp listener (TLS only, client certificate checked by name)",
        listener,
        {
            "port": str(cfg.logging.port),
            "ruleset": "ccaas_remote",
            "maxdatasize": "65536",
            "tls": "1",
            "tls.permittedpeer": f"ARRAY:*.{cfg.stack}.{LOG_DOMAIN}",
            "tls.authmode": "name",
            "tls.cacert": LOG_FILES[0],
            "tls.mycert": LOG_FILES[1],
            "tls.myprivkey": RECEIVER_KEY,
        },
    )
    omfile = params["omfile"][0]
    _eq(
        "store action", (omfile["dynafile"], omfile["asyncwriting"], omfile["createdirs"]), ("ccaas_log_file", "0", "1")
    )
    _eq(
        "store modes (dir 0750, file 0640)",
        (omfile["dircreatemode"], omfile["filecreatemode"]),
        (str(0o750), str(0o640)),
    )
    queue = [q for q in params["queue"] if q]
    _eq("receiver queue", [(q["queue.filename"], q["queue.saveonshutdown"]) for q in queue], [("ccaas_recv", "1")])
    templates = dict(re.findall(r'template\(name="(\w+)" type="string"\s+string="([^"]*)"\)', text))
    file_template = templates.get("ccaas_log_file", "")
    # the sender names its host: its claim must not reach the path as "..", "/" or an absolute path
    _eq("store path", file_template, "/srv/logs/%hostname:::secpath-replace%/%$year%-%$month%-%$day%.log")
    line = templates.get("ccaas_log_line", "")
    assert "%fromhost-ip%" in line and "%hostname%" in line and "%timegenerated" in line, f"log line: {line!r}"


def _unit(text: str) -> dict[str, list[str]]:
    """Unit file settings, every value of a key in order (comments and sections dropped)."""
    out: dict[str, list[str]] = {}
    for line in _lines(text):
        if line.startswith("["):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out


def _verify_unit(name: str, text: str, host: Host) -> None:
    rp.verify_units({f"/etc/systemd/system/{name}": text.encode()}, host.work, [name])


# systemd-analyze security's own checks that must pass (✓) for the receiver: an escaped receiver can still
# not unseal the store (no CAP_LINUX_IMMUTABLE), gain privileges, or write outside /srv/logs
RECEIVER_SECURITY_CHECKS = (
    "User=/DynamicUser=",
    "CapabilityBoundingSet=~CAP_LINUX_IMMUTABLE",
    "CapabilityBoundingSet=~CAP_SYS_ADMIN",
    "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)",
    "NoNewPrivileges=",
    "ProtectSystem=",
    "ProtectHome=",
    "RestrictSUIDSGID=",
)
RECEIVER_MAX_EXPOSURE = 2.0


def check_log_receiver_unit(text: str, host: Host) -> None:
    _verify_unit("ccaas-log-receiver.service", text, host)
    unit = _unit(text)
    _eq(
        "receiver account and files",
        {k: unit.get(k) for k in ("User", "Group", "ReadWritePaths", "LoadCredential", "ExecStart")},
        {
            "User": ["ccaas-logs"],
            "Group": ["ccaas-logs"],
            "ReadWritePaths": ["/srv/logs"],
            "LoadCredential": [f"log.key:{LOG_FILES[2]}"],
            "ExecStart": ["/usr/sbin/rsyslogd -n -iNONE -f /etc/ccaas/log-receiver.conf"],
        },
    )
    passed, exposure = rp.unit_security(text, "ccaas-log-receiver.service", host.work)
    missing = [c for c in RECEIVER_SECURITY_CHECKS if not passed.get(c)]
    _eq("systemd-analyze security checks the receiver fails", missing, [])
    assert exposure <= RECEIVER_MAX_EXPOSURE, f"receiver exposure {exposure} > {RECEIVER_MAX_EXPOSURE}"


def check_log_seal_service(text: str, host: Host) -> None:
    _verify_unit("ccaas-log-seal.service", text, host)
    unit = _unit(text)
    _eq("seal mounts", unit.get("RequiresMountsFor"), ["/srv/logs"])
    _eq(
        "seal command",
        unit.get("ExecStart"),
        [
            "/usr/bin/find /srv/logs -path /srv/logs/lost+found -prune -o ( -type d -o -type f ) "
            "-exec /usr/bin/chattr +a {} +"
        ],
    )


def check_log_seal_timer(text: str, host: Host) -> None:
    _verify_unit("ccaas-log-seal.timer", text, host)
    unit = _unit(text)
    _eq("seal interval", (unit.get("OnUnitActiveSec"), unit.get("WantedBy")), (["1min"], ["timers.target"]))


# --- auditd (HOST-11) -------------------------------------------------------------------------------

USER_ACTS = frozenset({"auid>=1000", "auid!=unset"})  # a person's actions, not daemons' or cloud-init's
# (key, syscalls, filters) that BOTH ABIs must have: PCI DSS 10.2.1.x and CIS Debian 12 6.3.3, by hand
AUDIT_SYSCALL_RULES = [
    ("access", {"creat", "open", "openat", "truncate", "ftruncate"}, USER_ACTS | {"exit=-EACCES"}),
    ("access", {"creat", "open", "openat", "truncate", "ftruncate"}, USER_ACTS | {"exit=-EPERM"}),
    ("delete", {"unlink", "unlinkat", "rename", "renameat"}, USER_ACTS),
    ("perm_mod", {"chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat"}, USER_ACTS),
    ("perm_mod", {"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr"}, USER_ACTS),
    ("mounts", {"mount"}, USER_ACTS),
    ("time-change", {"adjtimex", "settimeofday", "clock_settime"}, frozenset()),
    ("system-locale", {"sethostname", "setdomainname"}, frozenset()),
    ("modules", {"init_module", "finit_module", "delete_module"}, frozenset()),
    ("user_emulation", {"execve"}, frozenset({"euid!=uid", "auid!=unset"})),
    ("setuid", {"execve"}, frozenset({"uid!=euid", "euid=0"})),
]
AUDIT_WATCHES = {
    **{p: ("wa", "identity") for p in ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow")},
    "/etc/security/opasswd": ("wa", "identity"),
    "/etc/pam.d/": ("wa", "identity"),
    "/etc/sudoers": ("wa", "scope"),
    "/etc/sudoers.d/": ("wa", "scope"),
    "/var/log/audit/": ("rwa", "audit-log"),  # 10.2.1.3: every access to the audit logs
    "/etc/audit/": ("wa", "audit-config"),
    "/etc/localtime": ("wa", "time-change"),
    "/etc/hosts": ("wa", "system-locale"),
    "/etc/hostname": ("wa", "system-locale"),
    "/etc/nftables.conf": ("wa", "firewall"),
    "/etc/ssh/sshd_config.d/": ("wa", "sshd"),
    "/var/log/lastlog": ("wa", "logins"),
    "/var/log/wtmp": ("wa", "session"),
    "/var/log/btmp": ("wa", "session"),
}
PRIVILEGED = {"/usr/bin/sudo", "/usr/bin/su", "/usr/bin/passwd", "/usr/bin/chsh", "/usr/bin/newgrp", "/usr/bin/mount"}
AUDIT_CONTROL = {"-D", "-f 1", "-b 8192", "--backlog_wait_time 60000"}


def _audit_rule(line: str) -> tuple[str, frozenset[str], frozenset[str], str]:
    """``-a always,exit ...`` as (arch, syscalls, other filters, key); anything else fails."""
    tokens = line.split()
    assert tokens[:2] == ["-a", "always,exit"], f"audit rule that is not always,exit: {line!r}"
    arch, key, syscalls, filters = "", "", set(), set()
    pairs = list(zip(tokens[2::2], tokens[3::2], strict=True))
    for flag, value in pairs:
        if flag == "-S":
            syscalls |= set(value.split(","))
        elif flag == "-F" and value.startswith("arch="):
            arch = value.removeprefix("arch=")
        elif flag in ("-k", "-F") and (flag == "-k" or value.startswith("key=")):
            key = value.removeprefix("key=")
        elif flag in ("-F", "-C"):
            filters.add(value)
        else:
            raise AssertionError(f"audit rule option {flag} not expected: {line!r}")
    assert key, f"audit rule without a key (unsearchable evidence): {line!r}"
    return arch, frozenset(syscalls), frozenset(filters), key


def check_audit_rules(text: str, host: Host) -> None:
    lines = _lines(text)
    _eq("audit rules: first and last", (lines[0], lines[-1]), ("-D", "-e 2"))  # flushed, then immutable
    watches: dict[str, tuple[str, str]] = {}
    rules = []
    for line in lines[1:-1]:
        if line in AUDIT_CONTROL:
            continue
        if line.startswith("-w "):
            match = re.fullmatch(r"-w (/\S+) -p ([rwxa]+) -k ([A-Za-z_-]+)", line)
            assert match, f"audit watch outside the grammar: {line!r}"
            watches[match[1]] = (match[2], match[3])
        else:
            rules.append(_audit_rule(line))
    for path, (perms, key) in AUDIT_WATCHES.items():
        got_perms, got_key = watches.get(path, ("", ""))
        assert got_key == key and set(perms) <= set(got_perms), f"audit watch {path}: {watches.get(path)}"
    for key, syscalls, filters in AUDIT_SYSCALL_RULES:
        for arch in ("b64", "b32"):
            covered = set().union(*(s for a, s, f, k in rules if (a, f, k) == (arch, filters, key)))
            assert syscalls <= covered, f"audit {key} ({arch}, {sorted(filters)}): {sorted(syscalls - covered)}"
    privileged: set[str] = set()
    for _, _, filters, key in rules:
        paths = {f.removeprefix("path=") for f in filters if f.startswith("path=")}
        if key == "privileged":
            _eq(f"privileged-command rule {paths}", filters - {f"path={p}" for p in paths}, USER_ACTS | {"perm=x"})
            privileged |= paths
    assert privileged >= PRIVILEGED, f"privileged commands not audited: {sorted(PRIVILEGED - privileged)}"


AUDITD_CONF = {
    "log_file": "/var/log/audit/audit.log",
    "write_logs": "yes",
    "local_events": "yes",
    "max_log_file_action": "keep_logs",  # rotated logs are evidence: never deleted
    "space_left_action": "syslog",  # the alert leaves the host (forwarded)
    "admin_space_left_action": "single",  # fail secure: nothing runs unaudited
    "disk_full_action": "single",
    "disk_error_action": "single",
    "name_format": "hostname",
    "plugin_dir": "/etc/audit/plugins.d",
}


def _key_values(text: str, what: str) -> dict[str, str]:
    pairs = {}
    for line in _lines(text):
        match = re.fullmatch(r"([a-z0-9_]+) = (\S+(?: \S+)*)", line)
        assert match, f"{what}: line outside the format's grammar: {line!r}"
        assert match[1] not in pairs, f"{what}: {match[1]} set twice"
        pairs[match[1]] = match[2]
    return pairs


def check_auditd_conf(text: str, host: Host) -> None:
    conf = _key_values(text, "auditd.conf")
    _eq("auditd.conf settings", {k: conf.get(k, "").lower() for k in AUDITD_CONF}, AUDITD_CONF)
    assert int(conf["max_log_file"]) >= 8, conf["max_log_file"]
    assert 0 < int(conf["admin_space_left"]) < int(conf["space_left"]), "the warning must come before the stop"


def check_audit_syslog_plugin(text: str, host: Host) -> None:
    conf = _key_values(text, "audit syslog plugin")
    _eq(
        "audit syslog plugin",
        {k: conf.get(k) for k in ("active", "direction", "path", "type", "args")},
        # local6: the facility the host test looks for in the journal
        {
            "active": "yes",
            "direction": "out",
            "path": "/sbin/audisp-syslog",
            "type": "always",
            "args": "LOG_INFO LOG_LOCAL6",
        },
    )


# --- sudoers (HOST-10) ------------------------------------------------------------------------------

SUDOERS = {
    "Defaults": [
        {"Options": [{"use_pty": True}]},
        {"Options": [{"logfile": "/var/log/sudo.log"}]},
        {"Options": [{"log_subcmds": True}]},
        {"Options": [{"visiblepw": False}]},
        {"Options": [{"timestamp_timeout": "5"}]},
    ],
    "User_Specs": [
        {
            "User_List": [{"usergroup": "operators"}],
            "Host_List": [{"hostname": "ALL"}],
            "Cmnd_Specs": [
                {
                    "runasusers": [{"username": "ALL"}],
                    "runasgroups": [{"usergroup": "ALL"}],
                    "Options": [{"authenticate": False}, {"setenv": True}],
                    "Commands": [{"command": "ALL"}],
                }
            ],
        }
    ],
}


def check_sudoers(text: str, host: Host) -> None:
    _eq("sudoers (cvtsudoers -f json)", rp.parse_sudoers(text, host.work), SUDOERS)


# --- app and db roles (HOST-16/17) ------------------------------------------------------------------


def check_nginx(text: str, host: Host) -> None:
    cfg = host.cfg
    s = ("server",)
    expected = [
        ((), "server", ()),
        (s, "listen", ("443", "ssl", "http2", "default_server")),
        (s, "listen", ("[::]:443", "ssl", "http2", "default_server")),
        (s, "server_name", (cfg.tls.hostname,)),
        (s, "server_tokens", ("off",)),
        (s, "ssl_certificate", ("/etc/ssl/ccaas/app.crt",)),
        (s, "ssl_certificate_key", ("/etc/ssl/ccaas/app.key",)),
        (s, "ssl_protocols", ("TLSv1.2", "TLSv1.3")),
        (s, "ssl_ciphers", (cfg.tls.ciphers,)),
        (s, "ssl_prefer_server_ciphers", ("on",)),
        (s, "ssl_ecdh_curve", ("X25519:secp384r1:prime256v1",)),
        (s, "ssl_session_timeout", ("1d",)),
        (s, "ssl_session_cache", ("shared:ccaasTLS:10m",)),
        (s, "ssl_session_tickets", ("off",)),
        (s, "ssl_stapling", ("off",)),
        (
            s,
            "add_header",
            ("Strict-Transport-Security", f"max-age={cfg.tls.hsts_max_age}; includeSubDomains", "always"),
        ),
        (s, "add_header", ("X-Content-Type-Options", "nosniff", "always")),
        (s, "add_header", ("X-Frame-Options", "DENY", "always")),
        (s, "add_header", ("Referrer-Policy", "no-referrer", "always")),
        (s, "add_header", ("Content-Security-Policy", "default-src 'self'", "always")),
        (s, "root", ("/var/www/ccaas",)),
        (s, "location", ("/",)),
        ((*s, "location /"), "try_files", ("$uri", "$uri/", "=404")),
    ]
    _eq("nginx site directives", rp.parse_nginx_site(text, host.work), expected)


def pg_expected(cfg: StackConfig) -> dict[str, str]:
    """postgresql.conf settings as ``postgres -C`` prints them."""
    return {
        "listen_addresses": "localhost",  # ccaas-pg-listen adds the data-subnet address at boot
        "password_encryption": "scram-sha-256",
        "ssl": "on",
        "ssl_min_protocol_version": "TLSv1.2",
        "ssl_ciphers": cfg.tls.ciphers,
        "ssl_prefer_server_ciphers": "on",
        "log_connections": "on",
        "log_disconnections": "on",
        "log_line_prefix": "%m [%p] %q%u@%d from %h ",
        "archive_mode": "on",
        "archive_command": "pgbackrest --config=/var/lib/ccsec-backup/pgbackrest/pgbackrest.conf --stanza=main "
        "archive-push %p",
        "wal_level": "replica",
    }


PG_CONFIG_DEPENDENT = ("ssl_ciphers",)


def check_postgresql_conf(text: str, host: Host, names: tuple[str, ...] | None = None) -> None:
    expected = pg_expected(host.cfg)
    _eq("postgresql.conf parameters", sorted(rp.pg_conf_names(text)), sorted(expected))
    wanted = list(names or expected)
    _eq("postgresql.conf (postgres -C)", rp.postgres_settings(text, wanted), {n: expected[n] for n in wanted})


def check_pg_hba(text: str, host: Host) -> None:
    zones = host.cfg.network.zones
    expected = [
        ("local", "all", "postgres", "peer"),
        ("local", "all", "all", "peer"),
        ("hostssl", "all", "all", str(zones["app"]), "scram-sha-256"),
        ("host", "all", "all", "0.0.0.0/0", "reject"),
        ("host", "all", "all", "::/0", "reject"),
    ]
    _eq("pg_hba.conf records", rp.hba_rows(text), expected)


def check_shell(text: str, host: Host) -> None:
    rp.check_shell(text, host.work)


def check_profile(text: str, host: Host) -> None:
    rp.check_shell(text, host.work, ("sh", "bash"))
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    _eq("profile.d directives", lines, ["umask 027", "TMOUT=900", "readonly TMOUT", "export TMOUT"])


def check_app_tls(text: str, host: Host) -> None:
    rp.check_shell(text, host.work)
    names = re.findall(r"(?:/CN=|DNS:)([^\",]+)", text)
    _eq("ccaas-app-tls certificate names", names, [host.cfg.tls.hostname, host.cfg.tls.hostname, host.hostname])


def check_pg_listen(text: str, host: Host) -> None:
    rp.check_shell(text, host.work)
    _eq("ccaas-pg-listen subnet", re.findall(r"addr show to (\S+) ", text), [str(host.cfg.network.zones["data"])])


# --- the remaining host files -----------------------------------------------------------------------


def check_host_json(text: str, host: Host) -> None:
    expected = {
        "hostname": host.hostname,
        "role": host.role,
        "stack": host.cfg.stack,
        "environment": host.cfg.environment,
        "baseline": "v1",
    }
    _eq("host.json", json.loads(text), expected)


def check_issue(text: str, host: Host) -> None:
    """agetty/sshd show it verbatim: exactly the two banner lines, the owner as data, no agetty escapes."""
    lines = text.splitlines()  # splits on every line boundary a terminal or viewer may honour (\r, U+2028, NEL...)
    _eq("banner line count", len(lines), 2)
    assert lines[0].startswith("Authorized access only.") and "\\" not in text, "banner: unexpected first line/escape"
    _eq("banner owner", lines[1].rsplit(" operator of ", 1)[-1], f"{host.cfg.owner}.")


def check_apt(text: str, host: Host) -> None:
    expected = [
        'APT::Periodic "";',
        'APT::Periodic::Update-Package-Lists "1";',
        'APT::Periodic::Unattended-Upgrade "1";',
        'APT::Periodic::AutocleanInterval "7";',
        'APT::ExtractTemplates "";',
        'APT::ExtractTemplates::TempDir "/var/cache/apt/tmp";',
        'Unattended-Upgrade::Origins-Pattern "";',
        'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,'
        'label=Debian-Security";',
        'Unattended-Upgrade::Automatic-Reboot "false";',
        'Unattended-Upgrade::Remove-Unused-Dependencies "true";',
    ]
    _eq("apt.conf (apt-config dump)", rp.parse_apt_conf(text, host.work), expected)


def check_agent_toml(text: str, host: Host) -> None:
    cfg, name = host.cfg, host.hostname
    secrets = "/etc/ccsec/backup/secrets"
    expected: dict = {
        "agent": {
            "host": name,
            "state_dir": "/var/lib/ccsec-backup",
            "metrics_dir": "/var/lib/prometheus/node-exporter",
            "full_interval_days": cfg.backup.full_days,
        },
        "swift": {"credentials_file": f"{secrets}/swift.env"},
    }
    if host.has_ca:
        expected["swift"]["ca_file"] = "/etc/ccsec/backup/swift-ca.pem"
    if host.role == "recordings":
        expected["files"] = {
            "repository": f"swift:{cfg.storage.backup_container}:/{name}",
            "password_file": f"{secrets}/restic.pass",
            "paths": ["/srv/recordings", "/etc/ccsec"],
            "exclude": [secrets],
            "offsite_repository": f"swift:{cfg.storage.offsite_container}:/{name}",
            "offsite_password_file": f"{secrets}/restic.pass",
        }
    if host.role == "db":
        expected["postgres"] = {
            "stanza": "main",
            "pg_path": "/var/lib/postgresql/15/main",
            "pg_port": 5432,
            "pg_socket_path": "/var/run/postgresql",
            "s3_endpoint": cfg.backup.s3_endpoint,
            "s3_port": 443,
            "bucket": cfg.storage.backup_container,
            "repo_path": f"/{name}",
            "s3_credentials_file": f"{secrets}/s3.env",
            "cipher_pass_file": f"{secrets}/pgbackrest.pass",
            **({"ca_file": "/etc/ccsec/backup/swift-ca.pem"} if host.has_ca else {}),
            "verify_database": "postgres",
        }
    _eq("backup agent.toml (tomllib, the agent's reader)", tomllib.loads(text), expected)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _grammar(what: str, pattern: str) -> Callable[[str, Host], None]:
    """Files no stack value reaches: every directive line must match the format's grammar."""
    regex = re.compile(pattern)

    def check(text: str, host: Host) -> None:
        bad = [line for line in _lines(text) if not regex.fullmatch(line)]
        assert not bad, f"{what}: lines outside the format's grammar: {bad}"
        assert _lines(text), f"{what}: no directives"

    return check


_PAM = (
    r"(@include [a-z-]+|-?(auth|account|password|session)\s+"
    r"(required|requisite|sufficient|optional|\[[a-z_=0-9 ]+\])\s+pam_[a-z_]+\.so(\s+[A-Za-z0-9_=/.,-]+)*)"
)
SSHD_AUTH_STACK = [  # the bastion's second factor: a TOTP code, wrong codes counted and locked out by faillock
    "requisite pam_faillock.so preauth",
    "[success=2 default=ignore] pam_oath.so usersfile=/etc/users.oath window=3 digits=6",
    "[default=die] pam_faillock.so authfail",
    "requisite pam_deny.so",
    "required pam_permit.so",
    "optional pam_faillock.so authsucc",
]


def check_pam_sshd(text: str, host: Host) -> None:
    _grammar("pam.d/sshd", _PAM)(text, host)
    auth = [" ".join(line.split()[1:]) for line in _lines(text) if line.split()[0] in ("auth", "-auth")]
    _eq("pam.d/sshd auth stack", auth, SSHD_AUTH_STACK)
    includes = [line for line in _lines(text) if line.startswith("@include")]
    _eq("pam.d/sshd includes", includes, ["@include common-account", "@include common-session"])


_INI = r"(\[[A-Za-z]+\]|[A-Za-z]+=[A-Za-z0-9/._-]*)"
CHECKS: dict[str, Callable[[str, Host], None]] = {
    "/etc/ssh/sshd_config.d/10-ccaas-baseline.conf": check_sshd,
    "/etc/ccaas/host.json": check_host_json,
    "/etc/issue.net": check_issue,
    "/etc/issue": check_issue,
    "/etc/nftables.conf": check_nftables,
    "/etc/sysctl.d/60-ccaas-baseline.conf": _grammar("sysctl.d", r"[a-z0-9_.]+ = -?[0-9]+"),
    "/etc/modprobe.d/ccaas-baseline.conf": _grammar(
        "modprobe.d", r"(install [a-z0-9_-]+ /bin/false|blacklist [a-z0-9_-]+)"
    ),
    "/etc/security/limits.d/10-ccaas-baseline.conf": _grammar("limits.d", r"\*\s+(hard|soft)\s+core\s+0"),
    "/etc/systemd/coredump.conf.d/ccaas-baseline.conf": _grammar("coredump.conf.d", _INI),
    "/etc/profile.d/ccaas-baseline.sh": check_profile,
    "/etc/security/pwquality.conf.d/ccaas-baseline.conf": _grammar("pwquality", r"[a-z]+ = -?[0-9]+|[a-z_]+"),
    "/etc/security/faillock.conf": _grammar("faillock.conf", r"[a-z_]+ = [0-9]+|[a-z_]+"),
    "/etc/pam.d/common-auth": _grammar("common-auth", _PAM),
    "/etc/pam.d/common-account": _grammar("common-account", _PAM),
    "/etc/pam.d/common-password": _grammar("common-password", _PAM),
    "/etc/pam.d/sshd": check_pam_sshd,
    "/etc/sudoers.d/10-ccaas-baseline": check_sudoers,
    "/etc/audit/rules.d/50-ccaas-baseline.rules": check_audit_rules,
    "/etc/audit/auditd.conf": check_auditd_conf,
    "/etc/audit/plugins.d/syslog.conf": check_audit_syslog_plugin,
    "/etc/aide/aide.conf.d/99_ccaas_baseline": _grammar("aide.conf.d", r"/[a-z/._]+ Full"),
    "/etc/cron.allow": lambda text, host: _eq("cron.allow (who may schedule jobs)", _lines(text), ["root"]),
    "/etc/apt/apt.conf.d/20auto-upgrades": check_apt,
    "/etc/chrony/chrony.conf": check_chrony,
    "/etc/systemd/journald.conf.d/ccaas-baseline.conf": check_journald,
    "/etc/rsyslog.d/50-ccaas-journal.conf": check_rsyslog_journal,
    "/etc/rsyslog.d/60-ccaas-forward.conf": check_rsyslog,
    "/etc/ccaas/log-receiver.conf": check_log_receiver,
    "/etc/systemd/system/ccaas-log-receiver.service": check_log_receiver_unit,
    "/etc/systemd/system/ccaas-log-seal.service": check_log_seal_service,
    "/etc/systemd/system/ccaas-log-seal.timer": check_log_seal_timer,
    "/etc/users.oath": _grammar("users.oath", r"HOTP/T30/6\t[a-z_][a-z0-9_-]{0,31}\t-\t[0-9a-f]{20,128}"),
    "/etc/nginx/sites-available/ccaas": check_nginx,
    "/usr/local/sbin/ccaas-app-tls": check_app_tls,
    "/etc/postgresql/15/main/conf.d/10-ccaas-baseline.conf": check_postgresql_conf,
    "/etc/postgresql/15/main/pg_hba.conf": check_pg_hba,
    "/usr/local/sbin/ccaas-pg-listen": check_pg_listen,
    "/usr/local/sbin/ccaas-luks-setup": check_shell,
    "/etc/ccsec/backup/agent.toml": check_agent_toml,
}


# --- cloud-config (the user-data itself) ------------------------------------------------------------

CLOUD_CONFIG_KEYS = {
    "hostname",
    "preserve_hostname",
    "manage_etc_hosts",
    "disable_root",
    "ssh_pwauth",
    "ssh_deletekeys",
    "ssh_genkeytypes",
    "ssh_keys",
    "groups",
    "users",
    "mounts",
    "write_files",
    "runcmd",
}
HOST_FILE_PATHS = {
    "common": [p for p in CHECKS if p not in ("/etc/pam.d/sshd", "/etc/users.oath")],
    "bastion": ["/etc/pam.d/sshd", "/etc/users.oath"],
    "app": ["/etc/nginx/sites-available/ccaas", "/usr/local/sbin/ccaas-app-tls"],
    "db": [
        "/etc/postgresql/15/main/conf.d/10-ccaas-baseline.conf",
        "/etc/postgresql/15/main/pg_hba.conf",
        "/usr/local/sbin/ccaas-pg-listen",
        "/usr/local/sbin/ccaas-luks-setup",
        "/etc/ccsec/backup/agent.toml",
    ],
    "recordings": ["/usr/local/sbin/ccaas-luks-setup", "/etc/ccsec/backup/agent.toml"],
    "payment": [],
    "loghost": [
        "/usr/local/sbin/ccaas-luks-setup",
        "/etc/ccaas/log-receiver.conf",
        "/etc/systemd/system/ccaas-log-receiver.service",
        "/etc/systemd/system/ccaas-log-seal.service",
        "/etc/systemd/system/ccaas-log-seal.timer",
    ],
}
_ROLE_ONLY = {p for role, paths in HOST_FILE_PATHS.items() if role != "common" for p in paths}
UNITS = [
    f"/etc/systemd/system/ccsec-backup-{kind}@.{suffix}"
    for kind in ("diff", "full", "check")
    for suffix in ("service", "timer")
]
DIFF_DROPIN = "/etc/systemd/system/ccsec-backup-diff@.timer.d/10-ccaas-schedule.conf"
OFFSITE_UNITS = ["/etc/systemd/system/ccsec-backup-offsite.service", "/etc/systemd/system/ccsec-backup-offsite.timer"]
# runcmd entries per role: 31 for every host (image check, sysctl, /dev/shm, nftables check, enable, masks,
# daemon-reload, stop masked, nftables restart, login.defs x4, modes x2, visudo, ssh-keysign override,
# cron modes, journal x3, rsyslog+chrony, auditd x3, upgrades + aide timer, aide digest + check, aide init, sshd x2);
# app +5 (TLS, site x3, nginx), db +2 (listen, LUKS), recordings +1 (LUKS); backup agent +4 (db, recordings);
# loghost +3 (enable receiver and seal timer, LUKS, start the seal)
RUNCMD_COUNT = {"bastion": 31, "app": 36, "db": 37, "recordings": 36, "payment": 31, "loghost": 34}
# systemctl verbs that reload systemd unless told not to (each reload: ~10 s of a first boot under TCG)
RELOADING_VERBS = {"enable", "disable", "mask", "unmask", "reenable", "preset", "link", "revert"}


def expected_write_files(host: Host) -> list[str]:
    role = host.role
    paths = [p for p in HOST_FILE_PATHS["common"] if p not in _ROLE_ONLY] + HOST_FILE_PATHS[role] + list(LOG_FILES)
    if role in ("db", "recordings"):
        paths += ["/opt/ccsec/ccsec-backup.pyz", *UNITS, DIFF_DROPIN]
        paths += OFFSITE_UNITS if role == "recordings" else []
        paths += ["/etc/ccsec/backup/swift-ca.pem"] if host.has_ca else []
        paths += [f"/etc/ccsec/backup/secrets/{name}" for name in host.secret_files]
    if host.has_luks_key:
        paths.append("/etc/ccaas/luks.key")
    return sorted(paths)


def check_cloud_config_document(document: dict, host: Host) -> None:
    cfg, role = host.cfg, host.role
    _eq("cloud-config top-level keys", set(document), CLOUD_CONFIG_KEYS)
    _eq("hostname", document["hostname"], host.hostname)
    scalars = {k: document[k] for k in ("preserve_hostname", "manage_etc_hosts", "disable_root", "ssh_pwauth")}
    _eq(
        "cloud-config settings",
        scalars,
        {"preserve_hostname": False, "manage_etc_hosts": "localhost", "disable_root": True, "ssh_pwauth": False},
    )
    _eq(
        "host keys",
        (document["ssh_deletekeys"], document["ssh_genkeytypes"], sorted(document["ssh_keys"])),
        (True, ["ed25519"], ["ed25519_private", "ed25519_public"]),
    )
    if host.host_key_public:
        _eq("pinned host key", document["ssh_keys"]["ed25519_public"], host.host_key_public)
        _eq("host private key", document["ssh_keys"]["ed25519_private"].strip(), host.host_key_private.strip())
    _eq("groups", document["groups"], ["operators", "sshusers", "totp"])
    users = [
        {
            "name": a.name,
            "gecos": "ccaas administrator",
            "groups": ["operators", "sshusers", "totp"] if a.totp else ["operators", "sshusers"],
            "shell": "/bin/bash",
            "lock_passwd": True,
            "ssh_authorized_keys": [a.ssh_public_key.strip()],
        }
        for a in cfg.admins
    ]
    if role == "loghost":  # the receiver's own account: no shell, no home, no password
        users.append(
            {
                "name": "ccaas-logs",
                "gecos": "ccaas log receiver",
                "system": True,
                "no_create_home": True,
                "homedir": "/nonexistent",
                "shell": "/usr/sbin/nologin",
                "lock_passwd": True,
            }
        )
    _eq("users", document["users"], users)
    _eq(
        "mounts",
        document["mounts"],
        [
            ["tmpfs", "/tmp", "tmpfs", "rw,nosuid,nodev,noexec,mode=1777,size=512M", "0", "0"],
            ["tmpfs", "/var/tmp", "tmpfs", "rw,nosuid,nodev,noexec,mode=1777,size=256M", "0", "0"],
            ["tmpfs", "/dev/shm", "tmpfs", "rw,nosuid,nodev,noexec", "0", "0"],
        ],
    )
    entries = document["write_files"]
    for entry in entries:
        assert set(entry) <= {"path", "owner", "permissions", "content", "encoding"}, (
            f"write_files entry keys: {sorted(entry)}"
        )
    _eq("write_files paths", sorted(e["path"] for e in entries), expected_write_files(host))
    runcmd = document["runcmd"]
    _eq(f"runcmd entries ({role})", len(runcmd), RUNCMD_COUNT[role])
    shell_strings = [c for c in runcmd if not (isinstance(c, list) and all(isinstance(a, str) for a in c))]
    _eq("runcmd entries that a shell would parse (strings)", shell_strings, [])
    systemctl = [c for c in runcmd if c and c[0] == "systemctl"]
    reloading = [c for c in systemctl if RELOADING_VERBS & set(c) and "--no-reload" not in c]
    _eq("systemctl calls that reload systemd (add --no-reload)", reloading, [])
    _eq("daemon-reloads in runcmd", sum(c[1:] == ["daemon-reload"] for c in systemctl), 1)
    reload_at = runcmd.index(["systemctl", "daemon-reload"])
    late = [c for c in systemctl[: systemctl.index(["systemctl", "daemon-reload"])] if "--now" in c]
    _eq("units started before the one daemon-reload", late, [])
    starts = [i for i, c in enumerate(runcmd) if c[:2] in (["systemctl", "start"], ["systemctl", "restart"])]
    _eq("starts before the daemon-reload", [runcmd[i] for i in starts if i < reload_at], [])
    check_log_files(entries, host)


def check_log_files(entries: list[dict], host: Host) -> None:
    """HOST-15: the log CA, certificate and key land as given, the key root-only."""
    if host.log is None:
        return
    given = {LOG_FILES[0]: host.log.ca_cert, LOG_FILES[1]: host.log.cert, LOG_FILES[2]: host.log.key}
    modes = {LOG_FILES[0]: "0644", LOG_FILES[1]: "0644", LOG_FILES[2]: "0600"}
    for entry in entries:
        if entry["path"] in given:
            _eq(f"{entry['path']} content", entry["content"].strip(), given[entry["path"]].strip())
            _eq(
                f"{entry['path']} owner and mode",
                (entry["owner"], entry["permissions"]),
                ("root:root", modes[entry["path"]]),
            )


# --- rendering a host the way the program does ------------------------------------------------------

DATA_ROLES = ("db", "recordings", "loghost")  # roles with an encrypted data volume
TOTP_SEED = "3132333435363738393031323334353637383930"  # RFC 6238's test seed, hex
LUKS_KEY = "L" * 64
DATA_DEVICE = "/dev/disk/by-id/virtio-ccaas-data"


def program_secrets(cfg: StackConfig, role: str):
    """HostSecrets shaped like the program's (infra/identity.py builds the backup env from the stack config)."""
    from ccsec.infra.identity import _backup_env
    from ccsec.infra.userdata import HostSecrets

    backup_env = {}
    if role in ("db", "recordings"):
        values = ["appcred-id-0123", "appcred-secret-0123", "repository-key-0123", "cipher-pass-0123"]
        values += ["AKIATESTACCESSKEY", "s3-secret-key-0123"]
        backup_env = _backup_env(cfg, role, values)
    totp = {a.name: TOTP_SEED for a in cfg.admins if a.totp} if role == "bastion" else {}
    return HostSecrets(luks_key=LUKS_KEY if role in DATA_ROLES else "", backup_env=backup_env, totp=totp)


SECRET_FILES = {
    "db": ("pgbackrest.pass", "restic.pass", "s3.env", "swift.env"),
    "recordings": ("restic.pass", "swift.env"),
}


def render_host(cfg: StackConfig, role: str, hostname: str, identity, work: Path) -> tuple[Host, list[dict], str]:
    """(Host, rendered host files, user-data) for one host, rendered through the public rendering API."""
    from logpath import log_path

    from ccsec.infra.userdata import build_context, render_host_files, render_user_data

    secrets = program_secrets(cfg, role)
    device = DATA_DEVICE if role in DATA_ROLES else ""
    log = log_path(cfg.stack, role, hostname)
    context = build_context(cfg, role, hostname, identity, secrets, device, None, log)
    files = render_host_files(context)
    user_data = render_user_data(cfg, role, hostname, identity, secrets, device, None, log)
    host = Host(
        cfg,
        role,
        hostname,
        work,
        identity.public_openssh.strip(),
        identity.private_openssh,
        SECRET_FILES.get(role, ()),
        role in DATA_ROLES,
        False,
        log,
    )
    return host, files, user_data


def check_secret_env_files(document: dict, host: Host) -> None:
    """The backup credentials files, read by the agent's own reader: exactly the keys the agent expects."""
    import os

    from ccsec.backup.secrets import read_env_file

    expected_keys = {
        "swift.env": {
            "OS_AUTH_URL",
            "OS_APPLICATION_CREDENTIAL_ID",
            "OS_APPLICATION_CREDENTIAL_SECRET",
            "OS_REGION_NAME",
        },
        "s3.env": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
    }
    for entry in document["write_files"]:
        name = entry["path"].rsplit("/", 1)[-1]
        if not entry["path"].startswith("/etc/ccsec/backup/secrets/") or name not in expected_keys:
            continue
        path = host.work / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(entry["content"])
        env = read_env_file(path)
        _eq(f"{name} keys", set(env), expected_keys[name])
        if name == "swift.env":
            _eq("swift.env OS_AUTH_URL", env["OS_AUTH_URL"], host.cfg.backup.swift_auth_url)
            _eq("swift.env OS_REGION_NAME", env["OS_REGION_NAME"], host.cfg.region)
