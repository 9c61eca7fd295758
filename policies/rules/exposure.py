"""What each security group opens to the internet, judged over all its rules together (NET-01, NET-02, NET-10).

Per group and direction, the peers of every rule that admits a given protocol/port are unioned:
prefixes (any spelling), address groups (their addresses) and "no remote" (anywhere). So
``0.0.0.0/1`` + ``128.0.0.0/1``, many public /8s, or an address group holding ``0.0.0.0/0`` are the
internet exactly as ``0.0.0.0/0`` is. The union only grows at a rule's first port, so the rules'
start ports are the only points that need checking.

Ingress: internet-wide ingress is allowed only on the lb group, tcp, on the public ports. SSH from an
address group must stay inside adminCidrs (or private space). Egress: no group sends to internet-wide
space. A peer whose addresses cannot be proven (prefix unknown at preview, unparseable, an address
group of unknown content) fails closed, naming the input.
"""

from __future__ import annotations

from collections import defaultdict

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from . import _cidr
from . import _sgrule as rule
from ._meta import stack_policy
from ._props import SEC_GROUP, SEC_GROUP_RULE, TCP, str_list
from ._topology import ADDRESS_GROUP, RuleView, rule_views
from .secgroups import ADMIN_CIDRS_SCHEMA, PUBLIC_PORTS_SCHEMA, public_ports

Point = tuple[str | None, int | None]  # (protocol or None for every protocol, port or None for portless)


def _group_key(v: RuleView) -> str:
    return v.group.urn if v.group is not None else v.rule.urn


def _points(v: RuleView) -> list[Point]:
    span = rule.port_span(v.props)
    return [(rule.protocol(v.props), span[0] if span else None)]


def _covers(v: RuleView, point: Point) -> bool:
    proto, port = point
    mine = rule.protocol(v.props)
    if mine is not None and proto is not None and mine != proto and not (mine in TCP and proto in TCP):
        return False
    if port is None:
        return True
    span = rule.port_span(v.props)
    return span is None or span[0] <= port <= span[1]


def _wide_groups(views: list[RuleView], direction: str) -> list[tuple[RuleView, Point, list[RuleView]]]:
    """(first rule, point, contributing rules) for every point where a group's union is internet-wide."""
    by_group: dict[str, list[RuleView]] = defaultdict(list)
    for v in views:
        if v.span is not None and (rule.direction(v.props) in (direction, "unknown")):
            by_group[_group_key(v)].append(v)
    found = []
    for members in by_group.values():
        seen: set[Point] = set()
        for v in members:
            for point in _points(v):
                if point in seen:
                    continue
                seen.add(point)
                covering = [m for m in members if _covers(m, point)]
                spans = [n for m in covering for n in (*m.span.v4, *m.span.v6)]  # type: ignore[union-attr]
                if _cidr.Span.of(spans).internet_wide():
                    found.append((v, point, covering))
    return found


def _where(point: Point) -> str:
    proto, port = point
    return f"{proto or 'every protocol'}" + (f" port {port}" if port is not None else "")


def _inputs(covering: list[RuleView]) -> str:
    names = sorted({v.rule.name for v in covering})
    shown = ", ".join(names[:4]) + (f" (+{len(names) - 4} more)" if len(names) > 4 else "")
    return f"rules {shown}" if len(names) > 1 else f"rule {shown}"


def _fail_closed(views: list[RuleView], report: ReportViolation, direction: str) -> None:
    for v in views:
        if v.problem and rule.direction(v.props) in (direction, "unknown"):
            report(f"{v.rule.name}: {v.problem}.", v.rule.urn)


def _ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    allowed = public_ports(config)
    admin = str_list(config.get("adminCidrs"))
    views = rule_views(args.resources)
    _fail_closed(views, report, "ingress")
    for v, point, covering in _wide_groups(views, "ingress"):
        proto, port = point
        on_lb_public_port = (
            v.role == "lb" and proto in TCP and port in allowed and rule.port_span(v.props) == (port, port)
        )
        if not on_lb_public_port:
            who = f"the '{v.role}' group" if v.role else "a group whose role is unknown"
            report(
                f"{_inputs(covering)}: together open {_where(point)} on {who} to the internet "
                f"(remoteIpPrefix / remoteAddressGroupId union is internet-wide); only tcp {allowed} on the lb "
                "group may be.",
                v.rule.urn,
            )
    for v in views:  # SSH through an address group: every address inside adminCidrs (or private when unset)
        if v.span is None or not rule.has_remote_address_group(v.props) or not rule.is_ingress(v.props):
            continue
        if not rule.covers_tcp_port(v.props, 22):
            continue
        nets = [*v.span.v4, *v.span.v6]
        bad = [n for n in nets if not (_cidr.within(str(n), admin) if admin else _cidr.is_private(str(n)))]
        if bad:
            report(
                f"{v.rule.name}: SSH (22) through remoteAddressGroupId admits addresses outside "
                f"{'the configured adminCidrs' if admin else 'private space'}.",
                v.rule.urn,
            )


def _egress(args: StackValidationArgs, report: ReportViolation) -> None:
    views = rule_views(args.resources)
    _fail_closed(views, report, "egress")
    for v, point, covering in _wide_groups(views, "egress"):
        who = f"the '{v.role}' group" if v.role else "a group whose role is unknown"
        report(
            f"{_inputs(covering)}: together let {who} send {_where(point)} to the internet "
            "(remoteIpPrefix / remoteAddressGroupId union is internet-wide).",
            v.rule.urn,
        )


READS = (SEC_GROUP, SEC_GROUP_RULE, ADDRESS_GROUP)
POLICIES = [
    stack_policy(
        "secgroup-internet-ingress",
        control="NET-01",
        severity=Severity.CRITICAL,
        description="Judged per security group over all its rules and address groups: the internet (any "
        "spelling of 0.0.0.0/0 or ::/0, halves, wide public spans, an address group holding them, or no "
        "remote) reaches only tcp 443 (and 80 for the redirect) on the lb group; SSH through an address "
        "group stays inside adminCidrs.",
        remediation="Replace wide remote_ip_prefix values and wide address groups with the peers' own "
        "prefixes or remote_group_id; expose only tcp 443 (and 80) on the lb group; keep admin address "
        "groups inside adminCidrs.",
        validate=_ingress,
        reads=READS,
        config={**PUBLIC_PORTS_SCHEMA, **ADMIN_CIDRS_SCHEMA},
        aliases=("CKV_OPENSTACK_2", "CKV_OPENSTACK_3", "AVD-OPNSTK-0003"),
    ),
    stack_policy(
        "secgroup-no-internet-egress",
        control="NET-10",
        severity=Severity.HIGH,
        description="No security group (lb, bastion and app included) sends to the internet: the union of "
        "each group's egress peers per port is not internet-wide.",
        remediation="Give egress rules the destination's own prefix (e.g. the services CIDR) or a "
        "remote_group_id; reach the internet, if at all, through a proxy in the services network.",
        validate=_egress,
        reads=READS,
        aliases=("AVD-OPNSTK-0004",),
    ),
]
