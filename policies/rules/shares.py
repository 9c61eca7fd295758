"""Manila share access rules export only to private networks (STO-05).

An ``ip`` rule's access_to is parsed with ``ipaddress`` (any spelling, host bits allowed,
IPv4-mapped IPv6 mapped back): a prefix of length 0, or one reaching outside the RFC 1918 / RFC 4193
ranges, opens the share to the internet or to every tenant's floating IPs.
"""

from __future__ import annotations

import ipaddress

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import SHARE_ACCESS, get, is_private_prefix


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped is not None and net.prefixlen >= 96:
        return ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}", strict=False)
    return net


@only_types(SHARE_ACCESS)
def _share_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if str(get(args.props, "accessType") or "").strip().lower() != "ip":
        args.not_applicable("not an ip rule")
    target = get(args.props, "accessTo")
    net = _network(target) if isinstance(target, str) else None
    if net is None:
        report("access_to is not an IP address or CIDR.")
    elif net.prefixlen == 0:
        report("access_to is the whole address space (anywhere).")
    elif not is_private_prefix(str(net)):
        report("access_to reaches beyond private address space.")


POLICIES = [
    resource_policy(
        "share-access-private-only",
        control="STO-05",
        severity=Severity.CRITICAL,
        description="Manila ip access rules name a private network (RFC 1918/4193), never anywhere (0.0.0.0/0 in "
        "any spelling) or public addresses.",
        remediation="Set access_to to the app/data subnet that mounts the share (e.g. 10.20.3.0/24), or use "
        "cert/cephx access with named identities.",
        validate=_share_access,
    ),
]
