"""How a Neutron security-group rule reads: protocol, port span, and where traffic may come from.

Neutron semantics: no protocol = every protocol; tcp/udp without ports = every port; no remote prefix
and no remote group = from anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._props import ALL_PORTS, ANYWHERE, TCP, as_int, get, has

PORTED = ("tcp", "udp", "6", "17", "sctp", "132", "udplite", "136", "dccp", "33")
ANY_PROTOCOL = ("", "any", "0")


def protocol(props: Mapping[str, Any]) -> str | None:
    """Lower-case protocol, or None for "every protocol"."""
    value = get(props, "protocol")
    if value is None:
        return None
    text = str(value).strip().lower()
    return None if text in ANY_PROTOCOL else text


def is_ingress(props: Mapping[str, Any]) -> bool:
    return str(get(props, "direction", "")).lower() == "ingress"


def is_egress(props: Mapping[str, Any]) -> bool:
    return str(get(props, "direction", "")).lower() == "egress"


def remote_prefix(props: Mapping[str, Any]) -> str | None:
    value = get(props, "remoteIpPrefix")
    return str(value).strip() if value not in (None, "") else None


def has_remote_group(props: Mapping[str, Any]) -> bool:
    return bool(get(props, "remoteGroupId")) or bool(get(props, "remoteAddressGroupId"))


def from_anywhere(props: Mapping[str, Any]) -> bool:
    """The rule's peer is the whole internet (explicitly, or by leaving the remote empty)."""
    prefix = remote_prefix(props)
    if prefix is not None:
        return prefix in ANYWHERE
    return not has_remote_group(props)


def port_span(props: Mapping[str, Any]) -> tuple[int, int] | None:
    """(min, max) for ported protocols and "any"; None for portless protocols such as icmp."""
    proto = protocol(props)
    if proto is not None and proto not in PORTED:
        return None
    if proto is None:
        return ALL_PORTS
    lo = as_int(get(props, "portRangeMin")) if has(props, "portRangeMin") else None
    hi = as_int(get(props, "portRangeMax")) if has(props, "portRangeMax") else None
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
    """Short human form for messages, e.g. "ingress tcp 22-22 from 0.0.0.0/0"."""
    span = port_span(props)
    ports = "" if span is None else f" {span[0]}-{span[1]}"
    peer = remote_prefix(props) or ("a remote group" if has_remote_group(props) else "anywhere")
    return f"{get(props, 'direction', '?')} {protocol(props) or 'any-protocol'}{ports} from/to {peer}"
