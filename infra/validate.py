"""Validators for every value that ends up in a host file or a cloud resource.

A value from stack config is later written into sshd_config, nftables rules, systemd units and
cloud-init YAML. Anything that could smuggle a second directive into those formats (a newline,
a quote, a glob, a semicolon) is refused here, once, so templates can trust their inputs.
Each validator returns an error message (without echoing secrets) or None.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
UNIX_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
FLAVOR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
UUID_OR_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
SSH_PUBKEY_RE = re.compile(
    r"^(ssh-ed25519|sk-ssh-ed25519@openssh\.com|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9@._+-]{1,64})?$"
)
FREE_TEXT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\"'`$\\*?;{}<>|]")

Validator = Callable[[object], str | None]


def string_check(check: Callable[[str], str | None]) -> Validator:
    """Wrap a check of a string so a non-string is refused with one uniform message."""

    def validator(value: object) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, got {type(value).__name__}"
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
def unix_user(text: str) -> str | None:
    if not UNIX_USER_RE.match(text) or text == "root":
        return "must be a POSIX user name (a-z, 0-9, '_', '-', max 32, not 'root')"
    return None


@string_check
def flavor(text: str) -> str | None:
    if not FLAVOR_RE.match(text):
        return "must be a Nova flavor name of letters, digits, '.', '_' or '-' (e.g. 'm1.large')"
    return None


@string_check
def hostname(text: str) -> str | None:
    if not HOSTNAME_RE.match(text):
        return "must be a lower-case DNS name such as 'cc.example.com'"
    return None


@string_check
def host_or_ip(text: str) -> str | None:
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        return hostname(text)


@string_check
def openstack_ref(text: str) -> str | None:
    """An OpenStack id or name (image, network, volume type, region)."""
    if not UUID_OR_NAME_RE.match(text):
        return "must be an OpenStack id or name of letters, digits, '.', '_', ':' or '-'"
    return None


@string_check
def ssh_public_key(text: str) -> str | None:
    """One modern OpenSSH public key on one line; RSA/DSA are refused as the baseline forbids them."""
    if "\n" in text or "\r" in text:
        return "must be a single line (a newline could inject a second authorized key or option)"
    if not SSH_PUBKEY_RE.match(text.strip()):
        return "must be an OpenSSH ed25519/ecdsa public key ('ssh-ed25519 AAAA... comment'); RSA/DSA are refused"
    return None


@string_check
def free_text(text: str, max_len: int = 128) -> str | None:
    """Labels such as owner names that land in metadata and comments: printable, no quotes or shell metas."""
    if not text or len(text) > max_len:
        return f"must be 1–{max_len} characters"
    if FREE_TEXT_FORBIDDEN.search(text):
        return "must not contain newlines, quotes, '$', '\\', globs or shell/config metacharacters"
    return None


@string_check
def private_network(text: str) -> str | None:
    """A private (RFC 1918 / ULA) subnet in CIDR form."""
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        return "must be a CIDR with its host bits zero, e.g. '10.20.10.0/24'"
    if not net.is_private or net.prefixlen == 0:
        return "must be a private (RFC 1918 or ULA) range"
    return None


@string_check
def admin_cidr(text: str) -> str | None:
    """Where administrators come from. Anywhere (0.0.0.0/0, ::/0) or anything broader than /16 is refused."""
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        return "must be a CIDR with its host bits zero, e.g. '203.0.113.0/28'"
    if net.prefixlen == 0:
        return "must not be 0.0.0.0/0 or ::/0: SSH from anywhere is refused; list your VPN or office egress range"
    minimum = 16 if net.version == 4 else 48
    if net.prefixlen < minimum:
        return f"is too broad (/{net.prefixlen}); use /{minimum} or narrower"
    return None


def port(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an integer, got {type(value).__name__}"
    if not 1 <= value <= 65535:
        return "must be between 1 and 65535"
    return None
