"""instance-host-baseline (HOST-01): the user-data is the rendered baseline and undoes none of it.

Markers alone prove nothing: a program can copy them and then flush the firewall. The policy checks
two independent things, both on the value it receives offline (user-data is a Pulumi secret; the
policy reads it, never prints it):

1. **Integrity digest.** infra/userdata.py's renderer appends ``# ccaas-baseline digest sha256:<hex>``
   after the marker, computed by :func:`baseline_digest` over the parsed cloud-config (canonical JSON:
   every key, list item and file content; YAML comments and layout excluded). The policy recomputes it,
   so any edit made to the rendered text afterwards (an appended runcmd, a changed file) is refused.
   The digest is not a signature: a program could recompute it deliberately, which is why (2) holds
   regardless.
2. **Structural check** of the parsed cloud-config: only the baseline's top-level keys (no bootcmd,
   chpasswd, module-list overrides, ...); root login and password login stay off; no user gets a
   password or passwordless sudo; no runcmd entry or executable file undoes hardening (nft flush /
   delete, iptables -F / policy ACCEPT, stopping/disabling/masking nftables, auditd, sshd, rsyslog,
   AIDE or upgrades, setenforce 0, ufw disable, auditctl -e 0 / -D, curl|sh, writing sshd_config,
   nftables.conf, sudoers, PAM or audit rules outside write_files); every file that carries
   hardening (sshd, nftables, sudoers, PAM, audit, sysctl, modprobe) is written once, not appended, and
   says nothing that reverses it (PermitRootLogin other than no, PasswordAuthentication yes, NOPASSWD,
   an nftables input hook without policy drop).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._meta import only_types, resource_policy, stack_policy
from ._props import INSTANCE, get, is_unknown, raw_get, seq, user_data_text
from ._topology import refs

BASELINE_MARKER = "# ccaas-baseline host baseline v1"
DIGEST_PREFIX = "# ccaas-baseline digest sha256:"
HEADER_LINES = 5
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ALLOWED_KEYS = frozenset(
    {
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
)
# Files whose content is hardening; written once by the baseline, never appended to or duplicated.
PROTECTED_FILE = re.compile(
    r"^/etc/(ssh/sshd_config(\.d/.*)?|nftables\.conf|sudoers(\.d/.*)?|pam\.d/.*|audit/.*|sysctl\.(conf|d/.*)|"
    r"modprobe\.d/.*|security/.*|login\.defs)$"
)
EXECUTABLE_PATH = re.compile(
    r"^(/usr/local/s?bin/|/etc/cron|/var/spool/cron|/etc/rc\.local|/etc/systemd/|/lib/systemd/)"
)
HARDENING_UNITS = (
    r"(nftables|auditd|ssh|sshd|rsyslog|chrony|chronyd|apparmor|aide|dailyaidecheck|unattended-upgrades"
    r"|systemd-journald)"
)
DANGEROUS_COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("flushes or deletes nftables rules", re.compile(r"\bnft\b.*\b(flush|delete|destroy)\b")),
    (
        "flushes iptables or sets an ACCEPT policy",
        re.compile(r"\b(ip6?tables|iptables-legacy|iptables-nft|ebtables)\b.*(\s-(F|X)\b|--flush|-P\s+\S+\s+ACCEPT)"),
    ),
    (
        "stops, disables or masks a hardening service",
        re.compile(
            rf"\b(systemctl|service)\b.*\b(stop|disable|mask|kill|unmask)\b.*\b{HARDENING_UNITS}(\.service|\.timer)?\b"
        ),
    ),
    ("stops a hardening service", re.compile(rf"\bservice\s+{HARDENING_UNITS}\s+stop\b")),
    ("disables the firewall", re.compile(r"\b(ufw\s+disable|systemctl\s+\S*\s*stop\s+firewalld)\b")),
    ("switches SELinux/AppArmor off", re.compile(r"\b(setenforce\s+0|aa-teardown|aa-disable)\b")),
    ("switches auditing off", re.compile(r"\bauditctl\b.*(\s-e\s*0\b|\s-D\b)")),
    ("downloads and runs code", re.compile(r"\b(curl|wget|fetch)\b.*\|\s*(sudo\s+)?(ba|da|z|k)?sh\b")),
    ("sets or removes a password", re.compile(r"\b(chpasswd|passwd\s+-d|usermod\b.*\s-p\b)")),
    (
        "rewrites a hardening file outside write_files",
        re.compile(
            r"(>|\btee\b|\bsed\b.*\s-[a-z]*i|\bcp\b|\bmv\b|\bln\b|\binstall\b|\brm\b|\btruncate\b|\bperl\b.*\s-[a-z]*i)"
            r".*/etc/(ssh/sshd_config|nftables\.conf|sudoers|pam\.d/|audit/|sysctl\.d/)"
        ),
    ),
    ("lowers kernel hardening at run time", re.compile(r"\bsysctl\b.*\s-w\b")),
)
REVERSING_DIRECTIVES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("enables root login", re.compile(r"^\s*PermitRootLogin\s+(?!no\b)\S+", re.I | re.M)),
    ("enables password login", re.compile(r"^\s*PasswordAuthentication\s+yes\b", re.I | re.M)),
    ("permits empty passwords", re.compile(r"^\s*PermitEmptyPasswords\s+yes\b", re.I | re.M)),
    ("lets sshd skip the public key", re.compile(r"^\s*AuthenticationMethods\s+(?!publickey)\S+", re.I | re.M)),
)
# Whole-text pre-filters: a file with no match for these cannot have a line that matches (a line is a substring),
# so the per-line checks below run only on files that might fail them. Same verdicts, a fraction of the searches.
ANY_DANGEROUS = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in DANGEROUS_COMMANDS))
NOPASSWD = re.compile(r"\bNOPASSWD\s*:", re.I)
# The one passwordless sudo rule the baseline ships (key-only, locked accounts; see sudoers.j2).
BASELINE_SUDOERS = "/etc/sudoers.d/10-ccaas-baseline"
BASELINE_NOPASSWD = re.compile(r"^%operators\s+ALL=\(ALL:ALL\)\s+NOPASSWD:\s*ALL\s*$")


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def baseline_digest(document: Mapping[str, Any]) -> str:
    """sha256 over the parsed cloud-config (shared with the renderer, which imports it from here)."""
    return hashlib.sha256(canonical(document)).hexdigest()


def _file_text(entry: Mapping[str, Any]) -> str | None:
    content = entry.get("content", "")
    if not isinstance(content, str):
        return None
    encoding = str(entry.get("encoding", "") or "").lower()
    try:
        if encoding in ("b64", "base64"):
            raw = base64.b64decode(content)
        elif encoding in ("gz+b64", "gzip+base64", "gz+base64", "gzip+b64"):
            raw = gzip.decompress(base64.b64decode(content))
        elif encoding in ("", "text/plain"):
            return content
        else:
            return None
        return raw.decode("utf-8")
    except (ValueError, OSError, UnicodeDecodeError):
        return None  # binary payload (e.g. the backup agent's zipapp): covered by the digest


def _command_text(entry: Any) -> str:
    return " ".join(str(x) for x in entry) if isinstance(entry, list) else str(entry)


def _mode_executable(mode: Any) -> bool:
    try:
        return bool(int(str(mode), 8) & 0o111)
    except ValueError:
        return False


def problems(user_data: object) -> Iterator[str]:
    """Why this user-data is not the baseline (messages name the place, never the value)."""
    if not isinstance(user_data, str):
        yield "user_data is not set"
        return
    decoded = user_data_text(user_data)  # plain, or base64 of gzip as the program sends it
    if decoded is None:
        yield "user_data is compressed but does not decompress to UTF-8 text within the size limit"
        return
    text = decoded.lstrip("\n")
    head = text.splitlines()[:HEADER_LINES]
    if not head or head[0].strip() != "#cloud-config":
        yield "user_data is not a #cloud-config document (MIME parts, #include and scripts are refused)"
        return
    if not any(line.strip() == BASELINE_MARKER for line in head):
        yield f"user_data lacks the baseline marker in its first {HEADER_LINES} lines"
    try:
        document = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        yield "user_data is not valid YAML"
        return
    if not isinstance(document, dict):
        yield "user_data is not a cloud-config mapping"
        return
    digests = [line.strip().removeprefix(DIGEST_PREFIX) for line in head if line.strip().startswith(DIGEST_PREFIX)]
    if not digests:
        yield "user_data carries no baseline digest (render it with infra/userdata.py)"
    elif digests[0] != baseline_digest(document):
        yield "user_data digest does not match its content: it was edited after rendering"
    yield from _structure(document)


def _structure(doc: Mapping[str, Any]) -> Iterator[str]:
    extra = sorted(str(k) for k in doc if k not in ALLOWED_KEYS)
    if extra:
        yield f"user_data sets keys outside the baseline: {extra}"
    if doc.get("disable_root") is not True:
        yield "user_data.disable_root is not true"
    if doc.get("ssh_pwauth") not in (False, None):
        yield "user_data.ssh_pwauth is not false"
    for i, user in enumerate(seq(doc.get("users"))):
        if isinstance(user, Mapping):
            for key in ("passwd", "hashed_passwd", "plain_text_passwd"):
                if user.get(key):
                    yield f"user_data.users[{i}].{key} sets a password"
            if user.get("lock_passwd") is False:
                yield f"user_data.users[{i}].lock_passwd is false"
            if user.get("name") == "root":
                yield f"user_data.users[{i}] configures root"
            if "NOPASSWD" in _command_text(user.get("sudo", "")).upper():
                yield f"user_data.users[{i}].sudo grants passwordless sudo"
    for i, entry in enumerate(seq(doc.get("runcmd"))):
        command = _command_text(entry)
        for why, pattern in DANGEROUS_COMMANDS:
            if pattern.search(command):
                yield f"user_data.runcmd[{i}] {why}"
    seen: set[str] = set()
    for i, entry in enumerate(seq(doc.get("write_files"))):
        if not isinstance(entry, Mapping):
            continue
        path = str(entry.get("path", ""))
        where = f"user_data.write_files[{i}]"
        if PROTECTED_FILE.match(path):
            if path in seen:
                yield f"{where} writes a hardening file a second time"
            if entry.get("append"):
                yield f"{where} appends to a hardening file"
        seen.add(path)
        text = _file_text(entry)
        if text is None:
            continue
        for why, pattern in REVERSING_DIRECTIVES:
            if pattern.search(text):
                yield f"{where} {why}"
        if NOPASSWD.search(text) and any(_extra_nopasswd(path, line) for line in text.splitlines()):
            yield f"{where} grants passwordless sudo beyond the baseline's operators rule"
        if path == "/etc/nftables.conf" and not _input_drops(text):
            yield f"{where} has no input hook with policy drop"
        elif (_mode_executable(entry.get("permissions", "")) or EXECUTABLE_PATH.match(path)) and ANY_DANGEROUS.search(
            text
        ):
            for why, pattern in DANGEROUS_COMMANDS:
                if any(pattern.search(line) for line in text.splitlines()):
                    yield f"{where} {why}"


def _extra_nopasswd(path: str, line: str) -> bool:
    if not NOPASSWD.search(line) or line.lstrip().startswith("#"):
        return False
    return not (path == BASELINE_SUDOERS and BASELINE_NOPASSWD.match(line.strip()))


def _input_drops(text: str) -> bool:
    return bool(re.search(r"type\s+filter\s+hook\s+input\b[^}]*?\bpolicy\s+drop\s*;", text, re.S))


@only_types(INSTANCE)
def _host_baseline(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_unknown(raw_get(args.props, "userData")):
        # A first preview: the text embeds host keys and credentials not generated yet. `pulumi up` runs this
        # policy again on the resolved text before the instance is created; the stack policies below judge
        # what a preview can prove (where the text comes from) and say what is deferred.
        args.not_applicable("userData is unknown at preview (judged at update, before the instance is created)")
    found = list(dict.fromkeys(problems(get(args.props, "userData"))))
    if found:
        report("; ".join(found) + ".")


# What the rendered baseline may be computed from while it is unknown: generated key material, credentials,
# this stack's volume ids (the data-volume device) and port addresses (where the log hosts listen). Anything
# else (a StackReference, another instance's output, a command's stdout) would make the text come from
# outside the renderer.
USER_DATA_SOURCES = frozenset(
    {
        "tls:index/privateKey:PrivateKey",
        "tls:index/locallySignedCert:LocallySignedCert",
        "tls:index/selfSignedCert:SelfSignedCert",
        "random:index/randomId:RandomId",
        "random:index/randomPassword:RandomPassword",
        "openstack:identity/applicationCredential:ApplicationCredential",
        "openstack:identity/ec2CredentialV3:Ec2CredentialV3",  # the db's S3 key (backup/s3.env)
        "openstack:blockstorage/volume:Volume",
        "openstack:networking/port:Port",  # the log hosts' addresses (HOST-15), validated by the renderer
    }
)


def _unknown_user_data(args: StackValidationArgs) -> Iterator[tuple[PolicyResource, list[PolicyResource]]]:
    for res in args.resources:
        if res.resource_type == INSTANCE and is_unknown(raw_get(res.props, "userData")):
            yield res, refs(res, "userData")


def _user_data_sources(args: StackValidationArgs, report: ReportViolation) -> None:
    for inst, sources in _unknown_user_data(args):
        if not sources:
            report(f"{inst.name}: userData is unknown at preview and derives from no resource of this stack.", inst.urn)
        for src in sources:
            if src.resource_type not in USER_DATA_SOURCES:
                report(
                    f"{inst.name}: userData is computed from {src.resource_type} '{src.name}', which is not key "
                    "material or a credential the renderer embeds.",
                    inst.urn,
                )


@only_types(INSTANCE)
def _user_data_deferred(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_unknown(raw_get(args.props, "userData")):
        report(
            "userData is unknown at preview (it embeds keys and credentials generated in this run); "
            "instance-host-baseline judges it at update, before the instance is created."
        )


POLICIES = [
    resource_policy(
        "instance-host-baseline",
        control="HOST-01",
        severity=Severity.HIGH,
        description="Instance user_data is the rendered host baseline: #cloud-config with the baseline marker "
        "and a digest that matches its parsed content, only the baseline's keys, root and password login "
        "off, and no runcmd entry or file that undoes hardening (nft flush, stopping nftables/auditd/sshd, "
        "PermitRootLogin yes, NOPASSWD, writes to sshd_config/nftables.conf/sudoers, setenforce 0, ...). "
        "Design: docs/host-baseline-policy.md.",
        remediation="Render user_data with infra/userdata.py render_user_data (the ccaas-baseline cloud-init "
        "from infra/templates) and change hardening in the templates, not after rendering.",
        validate=_host_baseline,
    ),
    stack_policy(
        "instance-host-baseline-sources",
        control="HOST-01",
        severity=Severity.HIGH,
        description="While instance user_data is unknown (a first preview), it is computed only from generated "
        "key material, credentials, this stack's volumes and ports (what the baseline renderer embeds), never from a "
        "StackReference, another resource's output or a command.",
        remediation="Render user_data with infra/userdata.py from the stack's own host keys and credentials; "
        "pass other values through the stack config, not through outputs of other stacks or resources.",
        validate=_user_data_sources,
        reads=(INSTANCE,),
        follows=("userData",),
    ),
    resource_policy(
        "instance-host-baseline-deferred",
        control="HOST-01",
        severity=Severity.LOW,
        description="Names each instance whose user_data a preview cannot read, so the deferred "
        "instance-host-baseline verdict (at update, before creation) is visible in the preview.",
        remediation="Nothing to fix: run `pulumi up` (or `ccsec plan` without --preview) to see the verdict.",
        validate=_user_data_deferred,
    ),
]
