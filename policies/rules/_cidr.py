"""CIDRs by meaning: parse any spelling, classify, and judge prefixes together.

Facts relied on (Neutron validates remote_ip_prefix with netaddr and stores the network with host
bits cleared, so ``10.0.0.5/0`` *is* 0.0.0.0/0; a bare address is a /32 or /128):
- parsing is ``ipaddress.ip_network(strict=False)`` after trimming outer whitespace; ``::0/0``,
  ``0::/0`` and ``0:0:0:0:0:0:0:0/0`` are all ``::/0``;
- an IPv4-mapped IPv6 prefix (``::ffff:0:0/96`` and longer) names IPv4 addresses and is judged as
  the IPv4 prefix it maps (``::ffff:0.0.0.0/96`` is the whole IPv4 internet);
- anything ``ipaddress`` refuses (inner whitespace, octal-looking leading zeros, a unit suffix) is
  *unparseable*: the caller fails closed and names the input, never guesses;
- "private" is a fixed list (RFC 1918, CGNAT RFC 6598, loopback, link-local, RFC 4193 ULA, IPv6
  link-local/loopback). Everything else is public, documentation ranges included: they stand for
  public addresses in examples;
- rules are judged together: the union of all prefixes a group admits on a port, per direction.
  ``0.0.0.0/1`` + ``128.0.0.0/1`` is the internet; many public /8s are a public span.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_V4 = tuple(
    ipaddress.IPv4Network(c)
    for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16")
)
PRIVATE_V6 = tuple(ipaddress.IPv6Network(c) for c in ("fc00::/7", "fe80::/10", "::1/128"))
MAPPED_V4 = ipaddress.IPv6Network("::ffff:0:0/96")
ANY_V4 = ipaddress.IPv4Network("0.0.0.0/0")
ANY_V6 = ipaddress.IPv6Network("::/0")
# A span of public addresses larger than this is "the internet" rather than a named peer: more than
# a /16 of IPv4 or a /48 of IPv6 in total. Fixed here, not yet a policy config value; a public peer below it is
# still judged by each policy (named admin CIDRs for SSH, the lb group only for public web ports).
WIDE_V4_ADDRESSES = 2**16
WIDE_V6_ADDRESSES = 2**80


class Unparseable(ValueError):
    """The text is not a CIDR ``ipaddress`` accepts; the message never repeats the text."""


def parse(text: object) -> Network:
    """The network a remote prefix / address-group entry denotes (mapped IPv6 folded to IPv4)."""
    if not isinstance(text, str) or not text.strip():
        raise Unparseable("not a CIDR string")
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise Unparseable("not a CIDR ipaddress accepts") from None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.subnet_of(MAPPED_V4):
        offset = int(net.network_address) - int(MAPPED_V4.network_address)
        return ipaddress.IPv4Network((offset, net.prefixlen - 96))
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen < 96 and MAPPED_V4.subnet_of(net):
        return net  # wider than the mapped block: contains it, already public/anywhere as IPv6
    return net


def try_parse(text: object) -> Network | None:
    try:
        return parse(text)
    except Unparseable:
        return None


def _private(version: int) -> tuple[Network, ...]:
    return PRIVATE_V4 if version == 4 else PRIVATE_V6


def _exclude(nets: Iterable[Network], holes: Iterable[Network]) -> list[Network]:
    """nets minus holes (same family), as a list of disjoint networks."""
    out = list(nets)
    for hole in holes:
        nxt: list[Network] = []
        for net in out:
            if net.version != hole.version or not net.overlaps(hole):
                nxt.append(net)
            elif net.subnet_of(hole):  # type: ignore[arg-type]
                continue
            else:  # hole inside net
                nxt.extend(net.address_exclude(hole))  # type: ignore[arg-type]
        out = nxt
    return out


@dataclass(frozen=True)
class Span:
    """The union of some prefixes, per family, with what it means."""

    v4: tuple[ipaddress.IPv4Network, ...]
    v6: tuple[ipaddress.IPv6Network, ...]

    @classmethod
    def of(cls, nets: Iterable[Network]) -> Span:
        nets = list(nets)
        v4 = tuple(ipaddress.collapse_addresses([n for n in nets if n.version == 4]))  # type: ignore[misc]
        v6 = tuple(ipaddress.collapse_addresses([n for n in nets if n.version == 6]))  # type: ignore[misc]
        return cls(v4, v6)  # type: ignore[arg-type]

    @property
    def anywhere(self) -> bool:
        return ANY_V4 in self.v4 or ANY_V6 in self.v6

    def public_parts(self) -> list[Network]:
        return _exclude(self.v4, PRIVATE_V4) + _exclude(self.v6, PRIVATE_V6)

    @property
    def public(self) -> bool:
        return bool(self.public_parts())

    def public_addresses(self) -> tuple[int, int]:
        parts = self.public_parts()
        return (
            sum(p.num_addresses for p in parts if p.version == 4),
            sum(p.num_addresses for p in parts if p.version == 6),
        )

    def internet_wide(self, wide_v4: int = WIDE_V4_ADDRESSES, wide_v6: int = WIDE_V6_ADDRESSES) -> bool:
        """Anywhere, or a public span too large to be a named peer (e.g. the internet split in halves)."""
        if self.anywhere:
            return True
        v4, v6 = self.public_addresses()
        return v4 > wide_v4 or v6 > wide_v6

    def label(self) -> str:
        """A meaning, not the value: "anywhere", "internet-wide public space", "public", "private"."""
        if self.anywhere:
            return "anywhere"
        if self.internet_wide():
            return "internet-wide public space"
        return "public addresses" if self.public else "private addresses"


def classify(text: object) -> str:
    """One prefix: "anywhere" | "internet" | "public" | "private" | "unparseable"."""
    net = try_parse(text)
    if net is None:
        return "unparseable"
    span = Span.of([net])
    if span.anywhere:
        return "anywhere"
    if span.internet_wide():
        return "internet"
    return "public" if span.public else "private"


def within(text: object, allowed: Iterable[object]) -> bool:
    """True when the prefix lies inside one of the allowed CIDRs (unparseable = False)."""
    net = try_parse(text)
    if net is None:
        return False
    for cidr in allowed:
        outer = try_parse(cidr)
        if outer is not None and outer.version == net.version and net.subnet_of(outer):  # type: ignore[arg-type]
            return True
    return False


def is_private(text: object) -> bool:
    net = try_parse(text)
    return net is not None and not Span.of([net]).public
