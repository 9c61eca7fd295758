"""How a Neutron security-group rule reads: protocol, port span, and where traffic may come from.

Neutron semantics: no protocol = every protocol; tcp/udp without ports = every port; no remote prefix,
no remote group and no remote address group = anywhere (of the rule's ethertype). Values are read raw
(``raw_get``), so an unknown remote group id at preview is still "a remote group is set", never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _cidr
from ._props import ALL_PORTS, TCP, as_int, is_unknown, present, raw_get

PORTED = ("tcp", "udp", "6", "17", "sctp", "132", "udplite", "136", "dccp", "33")
ANY_PROTOCOL = ("", "any", "0")


def protocol(props: Mapping[str, Any]) -> str | None:
    """Lower-case protocol, or None for "every protocol" (an unknown protocol counts as every protocol)."""
    value = raw_get(props, "protocol")
    if value is None or is_unknown(value):
        return None
    text = str(value).strip().lower()
    return None if text in ANY_PROTOCOL else text


def direction(props: Mapping[str, Any]) -> str:
    value = raw_get(props, "direction", "")
    return "unknown" if is_unknown(value) else str(value).strip().lower()


def is_ingress(props: Mapping[str, Any]) -> bool:
    return direction(props) in ("ingress", "unknown")


def is_egress(props: Mapping[str, Any]) -> bool:
    return direction(props) in ("egress", "unknown")


def ethertype(props: Mapping[str, Any]) -> str:
    value = raw_get(props, "ethertype", "IPv4")
    return "IPv6" if isinstance(value, str) and value.strip().lower() == "ipv6" else "IPv4"


def remote_prefix(props: Mapping[str, Any]) -> str | None:
    """The remote prefix input as given (unknown sentinel included), None when not set."""
    value = raw_get(props, "remoteIpPrefix")
    return str(value) if value not in (None, "") else None


def has_remote_group(props: Mapping[str, Any]) -> bool:
    """A remote security group or address group is SET (presence; its value may be unknown at preview)."""
    return present(props, "remoteGroupId") or present(props, "remoteAddressGroupId")


def has_remote_security_group(props: Mapping[str, Any]) -> bool:
    return present(props, "remoteGroupId")


def has_remote_address_group(props: Mapping[str, Any]) -> bool:
    return present(props, "remoteAddressGroupId")


def own_peer_span(props: Mapping[str, Any]) -> _cidr.Span | None:
    """What the rule alone admits as addresses: its prefix, or anywhere when no remote of any kind is set.

    None when the peer is a group (resolved by the stack policies) or the prefix is unknown/unparseable
    (see ``prefix_problem``).
    """
    prefix = remote_prefix(props)
    if prefix is not None:
        net = _cidr.try_parse(prefix)
        return None if net is None else _cidr.Span.of([net])
    if has_remote_group(props):
        return None
    return _cidr.Span.of([_cidr.ANY_V6 if ethertype(props) == "IPv6" else _cidr.ANY_V4])


def prefix_problem(props: Mapping[str, Any]) -> str | None:
    """Why remoteIpPrefix cannot be judged (unknown at preview / not a CIDR), naming the input only."""
    prefix = remote_prefix(props)
    if prefix is None:
        return None
    if is_unknown(prefix):
        return "remoteIpPrefix is unknown at preview and cannot be proven narrow"
    if _cidr.try_parse(prefix) is None:
        return "remoteIpPrefix is not a CIDR ipaddress accepts (failing closed)"
    return None


def from_anywhere(props: Mapping[str, Any]) -> bool:
    """The rule alone opens the whole internet: no remote at all, or a prefix that means anywhere/internet-wide."""
    span = own_peer_span(props)
    return span is not None and span.internet_wide()


def port_span(props: Mapping[str, Any]) -> tuple[int, int] | None:
    """(min, max) for ported protocols and "any"; None for portless protocols such as icmp."""
    proto = protocol(props)
    if proto is not None and proto not in PORTED:
        return None
    if proto is None:
        return ALL_PORTS
    lo = as_int(raw_get(props, "portRangeMin"))
    hi = as_int(raw_get(props, "portRangeMax"))
    lo = ALL_PORTS[0] if lo in (None, 0) else lo
    hi = ALL_PORTS[1] if hi in (None, 0) else hi
    return (lo, hi)


def covers_tcp_port(props: Mapping[str, Any], port: int) -> bool:
    """True when the rule admits TCP traffic to ``port``."""
    proto = protocol(props)
    if proto is not None and proto not in TCP:
        return False
    span = port_span(props)
    return span is not None and span[0] <= port <= span[1]


def is_exactly_tcp_port(props: Mapping[str, Any], port: int) -> bool:
    return protocol(props) in TCP and port_span(props) == (port, port)


def describe(props: Mapping[str, Any]) -> str:
    """Short human form for messages, naming the peer by meaning, never by value: "ingress tcp 22-22 from anywhere"."""
    span = port_span(props)
    ports = "" if span is None else f" {span[0]}-{span[1]}"
    own = own_peer_span(props)
    if own is not None:
        peer = own.label()
    elif remote_prefix(props) is not None:
        peer = "an unprovable remoteIpPrefix"
    elif has_remote_address_group(props):
        peer = "an address group"
    else:
        peer = "a remote group"
    return f"{direction(props) or '?'} {protocol(props) or 'any-protocol'}{ports} from/to {peer}"
