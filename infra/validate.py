"""Validated value types for every value that ends up in a host file, an ssh_config or a cloud resource.

A value from stack config, a stack output, the lab state or a CLI argument is later written into
sshd_config, nftables rules, chrony, rsyslog, systemd units, cloud-init YAML or an ssh_config.
Anything that could smuggle a second directive into those formats (a control character, a Unicode
line or paragraph separator, a quote, a glob, a ``%`` token, an IPv6 scope id) is refused here, once,
so templates and renderers can trust their inputs.

One type per kind; each is a ``str`` (``Port``: ``int``) subclass that cannot be constructed from an
invalid value::

    HostLabel     one DNS label: Pulumi resource / ssh ``Host`` alias names       lab-app-1
    HostName      a lower-case DNS name                                            logs.example.com
    IPAddress     an IPv4 address (IPv6 is refused, see below)                     10.20.250.53
    Host          HostName or IPAddress                                            either
    Cidr          an IPv4 network, host bits zero                                  10.20.10.0/24
    Port          1-65535 (an int, never a bool or a string)                       6514
    PosixUser     a login name that is not a system/service account                alice
    SafePath      an absolute path of [A-Za-z0-9._/+-] without '..'                /etc/ccsec/id
    HttpsUrl      https://host[:port][/path], no credentials, query or fragment    https://ks:5000/v3
    FreeText      a one-line label (owner, comment): printable, no quotes/escapes  platform-team
    SshPublicKey  one OpenSSH public key whose blob decodes and matches its type   ssh-ed25519 AAAA...

**IPv6 is refused everywhere** (stack config and stack outputs). The security groups are
``ethertype IPv4``, the nftables sets are ``ipv4_addr`` and the lab is IPv4; accepting an IPv6 value
would silently drop it or render it into an IPv4 set. A ``%`` (IPv6 scope id / zone index) gets its
own message: ``ipaddress`` accepts any text after ``%`` except ``/``, newlines included.

Messages say what is wrong and how to fix it and never echo the value (it may be a pasted secret);
callers prefix the key path (``network.ntpServers[1]: ...``). The ``check`` functions at the end keep
the ``Validator`` shape (value -> message or None) that :mod:`ccsec.infra.config` uses.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Self

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
UNIX_USER_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
FLAVOR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
IPV4_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")
UUID_OR_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9._/+-]{0,4095}$")
URL_RE = re.compile(r"^https://(?P<host>[a-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?(?P<path>/[A-Za-z0-9._~/-]*)?$")
SSH_KEY_LINE_RE = re.compile(
    r"^(?P<type>[a-z0-9@.-]{1,64}) (?P<blob>[A-Za-z0-9+/]+={0,3})(?: (?P<comment>[A-Za-z0-9@._+-]{1,64}))?$"
)
FREE_TEXT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\"'`$\\*?;{}<>|]")
# Beyond C0/DEL: every Unicode "other" (Cc controls incl. U+0085 NEL, Cf format incl. bidi overrides and
# zero-width characters, Cs, Co, Cn) and every separator but the plain space (Zl U+2028, Zp U+2029, Zs).
_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")
_FREE_TEXT_META = set("\"'`$\\*?;{}<>|%#")

SCOPE_ID_MESSAGE = (
    "must not carry an IPv6 scope id ('%' zone index): the text after '%' is not an address and could carry a "
    "directive; IPv6 is not supported by this baseline, use an IPv4 address"
)
IPV6_MESSAGE = (
    "is an IPv6 address/range: IPv6 is not supported by this baseline (security groups are IPv4, nftables sets "
    "ipv4_addr); use an IPv4 address or range"
)


def _words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


# Login names that are, or are reserved for, system and service accounts (or the baseline's own groups).
# Debian's base-passwd (passwd.master / group.master, the static uids and gids 0-99 and 65534), the
# system users the Debian 12 packages of this baseline create, and common service accounts. An
# administrator named like one of them would share its home, mail, cron or sudo rules, or be mistaken
# for it in audit logs. Refused as well: names starting with '_' or a digit (Debian's system-account
# convention, uid-like names) and the systemd-/debian- prefixes.
DEBIAN_RESERVED_USERS = _words(
    # base-passwd users
    "root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats nobody",
    # base-passwd groups
    "adm tty disk kmem dialout fax voice cdrom floppy tape sudo audio dip operator src shadow utmp video sasl "
    "plugdev staff users nogroup",
    # systemd and Debian 12 system users/groups of the packages the golden image holds
    "messagebus sshd polkitd tss postgres ssl-cert tcpdump uuidd statd ntp ntpsec avahi dnsmasq nginx "
    "input kvm render sgx netdev crontab lpadmin scanner bluetooth pulse colord geoclue",
    # common service accounts, and names with administrative meaning elsewhere
    "wheel toor ftp sftp http httpd apache mysql redis docker lxd "
    "libvirt libvirt-qemu haproxy keepalived clamav postfix exim dovecot bind named nslcd sssd "
    "pgbackrest restic ccsec ccaas",
    # the baseline's own groups (tests/hosts and the templates rely on their membership)
    "operators sshusers totp",
)
RESERVED_USER_PREFIXES = ("_", "systemd-", "debian-")

# SSH public keys: type -> expected structure of the decoded blob (each field an SSH wire string).
_ECDSA_POINT = {"nistp256": 65, "nistp384": 97, "nistp521": 133}
ADMIN_KEY_TYPES = (
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")

Validator = Callable[[object], str | None]
_KEY_EDGES = " \t\r\n"  # what a pasted .pub line may carry around it (not NEL/U+2028: those are refused)


class InvalidValue(ValueError):
    """A value refused by a validated type. ``str()`` is the reason and the fix, never the value."""


def refused_character(text: str) -> str | None:
    """A description of the first character that could end a line or hide text, or None."""
    for char in text:
        code = ord(char)
        if char in "\n\r":
            return "newlines or carriage returns (a line break)"
        if code == 0x85:
            return "U+0085 (NEL, a line break)"
        if code in (0x2028, 0x2029):
            return f"U+{code:04X} (a Unicode line/paragraph separator)"
        if char == " ":
            continue
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            return f"U+{code:04X} (a control, format or separator character, category {category})"
    return None


class _Validated:
    """Base of every validated type: ``cls(value)`` validates; ``cls.parse(value, path)`` prefixes the key path."""

    KIND = "value"

    @classmethod
    def check(cls, value: object) -> str | None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __new__(cls, value: object) -> Self:
        message = cls.check(value)
        if message:
            raise InvalidValue(message)
        return super().__new__(cls, value)

    @classmethod
    def parse(cls, value: object, path: str) -> Self:
        """``cls(value)``, with ``path: `` before the message of a refused value."""
        message = cls.check(value)
        if message:
            raise InvalidValue(f"{path}: {message}")
        return cls(value)


class _Text(_Validated, str):
    """Base of the string types."""

    @classmethod
    def _address_string(cls, value: object) -> str | None:
        """What every address-like type refuses first: a scope id, any refused character, IPv6."""
        if isinstance(value, str) and "%" in value:
            return SCOPE_ID_MESSAGE
        problem = cls._string(value)
        if problem:
            return problem
        if isinstance(value, str) and ":" in value:
            return IPV6_MESSAGE
        return None

    @staticmethod
    def _string(value: object) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, got {type(value).__name__}"
        bad = refused_character(value)
        if bad:
            return f"must not contain {bad}"
        return None


class HostLabel(_Text):
    """One lower-case DNS label (Pulumi host names, ssh ``Host`` aliases): no dots, globs or spaces."""

    KIND = "host name"

    @classmethod
    def check(cls, value: object) -> str | None:
        return cls._string(value) or (
            None if LABEL_RE.match(value) else "must be a host name of a-z, 0-9 and '-' (max 63), e.g. 'dev-app-1'"
        )


class HostName(_Text):
    """A lower-case DNS name; the last label is not all digits (so it can never be read as an address)."""

    KIND = "DNS name"

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._address_string(value)
        if problem:
            return problem
        if not HOSTNAME_RE.match(value) or value.rsplit(".", 1)[-1].isdigit():
            return "must be a lower-case DNS name such as 'cc.example.com'"
        return None


class IPAddress(_Text):
    """An IPv4 address in dotted-quad form (no leading zeros, no scope id, IPv6 refused)."""

    KIND = "IP address"

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._address_string(value)
        if problem:
            return problem
        if not IPV4_RE.match(value):
            return "must be an IPv4 address such as '10.20.250.53'"
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return "must be an IPv4 address such as '10.20.250.53' (four numbers 0-255, no leading zeros)"
        return None


class Host(_Text):
    """A DNS name or an IPv4 address (NTP servers, syslog collector, ssh HostName)."""

    KIND = "host"

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._address_string(value)
        if problem:
            return problem
        if IPV4_RE.match(value):
            return IPAddress.check(value)
        if HostName.check(value) is None:
            return None
        return "must be a lower-case DNS name such as 'logs.example.com' or an IPv4 address"


class Cidr(_Text):
    """An IPv4 network in CIDR form with its host bits zero."""

    KIND = "CIDR"

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._address_string(value)
        if problem:
            return problem
        address, slash, prefix = value.partition("/")
        if not slash or IPV4_RE.match(address) is None or not re.fullmatch(r"[0-9]{1,2}", prefix):
            return "must be an IPv4 CIDR such as '10.20.10.0/24'"
        try:
            ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            return "must be a CIDR with its host bits zero, e.g. '10.20.10.0/24' (IPv4)"
        return None

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(str(self))


class Port(_Validated, int):
    """A TCP/UDP port 1-65535: an int, never a bool or a numeric string."""

    KIND = "port"

    @classmethod
    def check(cls, value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {type(value).__name__}"
        if not 1 <= value <= 65535:
            return "must be between 1 and 65535"
        return None


class PosixUser(_Text):
    """A login name for a person or an automation account; system and service names are refused."""

    KIND = "user"

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._string(value)
        if problem:
            return problem
        if not UNIX_USER_RE.match(value) or value.endswith("-"):
            return "must be a POSIX user name: a lower-case letter, then up to 31 of a-z, 0-9, '_', '-' (e.g. 'alice')"
        if value in DEBIAN_RESERVED_USERS or value.startswith(RESERVED_USER_PREFIXES):
            return (
                "must be a POSIX user name that is not a system or service account (Debian base-passwd, a "
                "package's system user or one of the baseline's groups); pick a login such as 'ops-alice'"
            )
        return None


class SafePath(_Text):
    """An absolute path safe in any config line: no whitespace, quotes, '%'/'~' tokens, globs or '..'."""

    KIND = "path"

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._string(value)
        if problem:
            return problem
        if not PATH_RE.match(value) or "/../" in f"{value}/" or value.endswith("/.."):
            return "must be an absolute path of letters, digits and '._/+-' without '..' (move it to such a path)"
        return None


class HttpsUrl(_Text):
    """``https://host[:port][/path]``; no credentials, query, fragment, IPv6 literal or escapes."""

    KIND = "URL"

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._string(value)
        if problem:
            return problem
        if "@" in value:
            return "must not carry credentials ('user:password@'): put secrets in secret config keys"
        match = URL_RE.match(value)
        if not match:
            return "must be an https:// URL such as 'https://keystone.example.com:5000/v3' (no query, quotes or spaces)"
        if Host.check(match["host"]):
            return f"host part {Host.check(match['host'])}"
        if match["port"] and Port.check(int(match["port"])):
            return "port must be between 1 and 65535"
        if "/../" in f"{match['path'] or ''}/":
            return "must not contain '..' path segments"
        return None


class FreeText(_Text):
    """A one-line label (owner, comment): 1-128 printable characters, no quotes, escapes or config metas."""

    KIND = "text"
    MAX_LEN = 128

    @classmethod
    def check(cls, value: object) -> str | None:
        problem = cls._string(value)
        if problem:
            return problem
        if not value.strip() or len(value) > cls.MAX_LEN or value != value.strip():
            return f"must be 1-{cls.MAX_LEN} characters without leading or trailing spaces"
        for char in value:
            # NFKC catches look-alikes that a later tool could fold into a meta character (e.g. U+FF02 -> '"')
            if char in _FREE_TEXT_META or _FREE_TEXT_META & set(unicodedata.normalize("NFKC", char)):
                return (
                    "must not contain newlines, quotes, '$', '\\', '%', '#', globs or shell/config metacharacters "
                    "(letters, digits, spaces and .,:-_/@()+= are fine)"
                )
        return None


class SshPublicKey(_Text):
    """One modern OpenSSH public key (ed25519/ecdsa, with or without a security key) on one line.

    The base64 blob must decode; its inner type string must equal the declared type; the key material
    must have the right length (ed25519: 32 bytes; ecdsa: an uncompressed point of the named curve);
    nothing may follow it. RSA/DSA are refused as the baseline forbids them.
    """

    KIND = "SSH public key"
    TYPES = ADMIN_KEY_TYPES

    @classmethod
    def check(cls, value: object) -> str | None:
        text = value.strip(_KEY_EDGES) if isinstance(value, str) else value
        if isinstance(text, str) and ("\n" in text or "\r" in text):
            return "must be a single line (a newline could inject a second authorized key or an option)"
        problem = cls._string(text)
        if problem:
            return problem
        return public_key_problem(text, cls.TYPES)

    def __new__(cls, value: object) -> Self:
        message = cls.check(value)
        if message:
            raise InvalidValue(message)
        return str.__new__(cls, value.strip(_KEY_EDGES))  # type: ignore[union-attr]

    @property
    def key_type(self) -> str:
        return self.split()[0]

    @property
    def blob(self) -> str:
        return self.split()[1]


class HostPublicKey(SshPublicKey):
    """A host's pinned public key (``<type> <base64>``); ssh-rsa is accepted for hosts outside the baseline."""

    KIND = "host key"
    TYPES = HOST_KEY_TYPES


def _wire_strings(blob: bytes) -> list[bytes] | None:
    """The SSH wire-format strings of a key blob, or None if the framing is broken."""
    fields, offset = [], 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            return None
        length = int.from_bytes(blob[offset : offset + 4], "big")
        offset += 4
        if length > len(blob) - offset:
            return None
        fields.append(blob[offset : offset + length])
        offset += length
    return fields


def public_key_problem(text: str, types: tuple[str, ...]) -> str | None:
    """Why ``text`` is not a well-formed public key of one of ``types`` (None: it is)."""
    match = SSH_KEY_LINE_RE.match(text)
    if not match:
        return (
            f"must be one line '<type> <base64> [comment]' with type in {', '.join(types)} "
            "and a comment of letters, digits and '@._+-' (e.g. 'ssh-ed25519 AAAAC3Nza... alice@laptop')"
        )
    key_type = match["type"]
    if key_type not in types:
        return f"must be an OpenSSH public key of type {', '.join(types)}; RSA/DSA are refused"
    try:
        blob = base64.b64decode(match["blob"], validate=True)
    except (binascii.Error, ValueError):
        return "key blob is not valid base64: copy the whole line of the .pub file"
    if base64.b64encode(blob).decode() != match["blob"]:
        return "key blob is not canonical base64 (extra padding or bits): copy the whole line of the .pub file"
    fields = _wire_strings(blob)
    if not fields or fields[0] != key_type.encode():
        return "key blob does not hold the declared key type: the line is truncated or its type was edited"
    body = fields[1:]
    if key_type in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"):
        want = 1 if key_type == "ssh-ed25519" else 2
        if len(body) != want or len(body[0]) != 32:
            return "key blob is not an ed25519 key (32 bytes of key material expected): copy the whole .pub line"
        if want == 2 and not body[1].startswith(b"ssh:"):
            return "security-key blob lacks its 'ssh:' application string: copy the whole .pub line"
    elif key_type.startswith(("ecdsa-sha2-", "sk-ecdsa-sha2-")):
        curve = key_type.split("-")[-1].split("@")[0]
        want = 2 if key_type.startswith("ecdsa") else 3
        if (
            len(body) != want
            or body[0] != curve.encode()
            or len(body[1]) != _ECDSA_POINT[curve]
            or body[1][:1] != b"\x04"
        ):
            return f"key blob is not an ECDSA {curve} key: copy the whole .pub line"
    elif key_type == "ssh-rsa" and (len(body) != 2 or len(body[1]) < 256):
        return "key blob is not an RSA key of at least 2048 bits"
    return None


# ---- Validator functions (value -> message or None) used by ccsec.infra.config --------------------------------


def string_check(check: Callable[[str], str | None]) -> Validator:
    """Wrap a check of a string so a non-string is refused with one uniform message."""

    def validator(value: object) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, got {type(value).__name__}"
        bad = refused_character(value)
        if bad:
            return f"must not contain {bad}"
        return check(value)

    validator.__doc__ = check.__doc__
    validator.__name__ = check.__name__
    return validator


@string_check
def name(text: str) -> str | None:
    """Resource/stack-style names: lower-case, digits, dashes; 2–32 chars."""
    if not NAME_RE.match(text):
        return "must be 2–32 characters of a-z, 0-9 and '-', starting with a letter (e.g. 'contact-center')"
    return None


@string_check
def keystone_role(text: str) -> str | None:
    """A Keystone role name for a machine user: never an admin role (the S3 key lends it to a host)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,63}", text):
        return "must be a Keystone role name of letters, digits, '_', '.' or '-' (e.g. 'swiftoperator')"
    lowered = text.lower()
    if "admin" in lowered or "reseller" in lowered:
        return "must not be an admin role: the S3 key on the db hosts would carry it; use Swift's operator role"
    if lowered == "service" or lowered.startswith("service"):
        return "must not be a service role (Swift trusts service tokens across accounts); use Swift's operator role"
    return None


@string_check
def flavor(text: str) -> str | None:
    if not FLAVOR_RE.match(text):
        return "must be a Nova flavor name of letters, digits, '.', '_' or '-' (e.g. 'm1.large')"
    return None


@string_check
def openstack_ref(text: str) -> str | None:
    """An OpenStack id or name (image, network, volume type, region)."""
    if not UUID_OR_NAME_RE.match(text):
        return "must be an OpenStack id or name of letters, digits, '.', '_', ':' or '-'"
    return None


unix_user: Validator = PosixUser.check
hostname: Validator = HostName.check
ip_address: Validator = IPAddress.check
host_or_ip: Validator = Host.check
ssh_public_key: Validator = SshPublicKey.check
free_text: Validator = FreeText.check
https_url: Validator = HttpsUrl.check
port: Validator = Port.check
path: Validator = SafePath.check


def private_network(value: object) -> str | None:
    """A private (RFC 1918) IPv4 subnet in CIDR form."""
    problem = Cidr.check(value)
    if problem:
        return problem
    net = ipaddress.IPv4Network(value)  # type: ignore[arg-type]
    if not net.is_private or net.prefixlen == 0:
        return "must be a private (RFC 1918) range"
    return None


def admin_cidr(value: object) -> str | None:
    """Where administrators come from. Anywhere (0.0.0.0/0) or anything broader than /16 is refused."""
    if isinstance(value, str) and value.strip() in ("0.0.0.0/0", "::/0", "0/0"):
        return "must not be 0.0.0.0/0 or ::/0: SSH from anywhere is refused; list your VPN or office egress range"
    problem = Cidr.check(value)
    if problem:
        return problem
    net = ipaddress.IPv4Network(value)  # type: ignore[arg-type]
    if net.prefixlen < 16:
        return f"is too broad (/{net.prefixlen}); use /16 or narrower"
    return None
