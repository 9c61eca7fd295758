"""Neutron VPNaaS: IKEv2 with strong encryption, integrity and Diffie-Hellman groups (VPN-01).

Neutron's defaults are weak: IKE policies default to ike_version v1, auth_algorithm sha1 and pfs
group5, IPsec policies to sha1 and group5. An unset field is therefore judged as its default.
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import IKE_POLICY, IPSEC_POLICY, get

STRONG_AUTH = ("sha256", "sha384", "sha512")
WEAK_ENCRYPTION = ("3des", "des", "aes-128-ctr", "blowfish")  # 3DES is disallowed for new use (NIST SP 800-131A)
MIN_DH_GROUP = 14  # 2048-bit MODP or stronger (groups 14-21, 31); 1, 2 and 5 are broken or too small
DEFAULTS = {"authAlgorithm": "sha1", "encryptionAlgorithm": "aes-128", "pfs": "group5"}


def _value(args: ResourceValidationArgs, key: str) -> str:
    value = get(args.props, key)
    return str(value if value is not None else DEFAULTS.get(key, "")).strip().lower()


def _crypto_problems(args: ResourceValidationArgs) -> list[str]:
    problems = []
    if _value(args, "authAlgorithm") not in STRONG_AUTH:
        problems.append("auth_algorithm is not sha256/sha384/sha512 (unset means sha1)")
    if _value(args, "encryptionAlgorithm") in WEAK_ENCRYPTION:
        problems.append("encryption_algorithm is a legacy cipher (3des/des)")
    group = re.fullmatch(r"group(\d+)", _value(args, "pfs"))
    if group is None or int(group.group(1)) < MIN_DH_GROUP:
        problems.append(f"pfs is below group{MIN_DH_GROUP} (unset means group5)")
    return problems


@only_types(IKE_POLICY)
def _ike(args: ResourceValidationArgs, report: ReportViolation) -> None:
    problems = _crypto_problems(args)
    if str(get(args.props, "ikeVersion") or "v1").strip().lower() != "v2":
        problems.append("ike_version is not v2 (unset means v1)")
    if str(get(args.props, "phase1NegotiationMode") or "main").strip().lower() != "main":
        problems.append("phase1_negotiation_mode is not main (aggressive mode leaks the PSK hash)")
    if problems:
        report("; ".join(problems) + ".")


@only_types(IPSEC_POLICY)
def _ipsec(args: ResourceValidationArgs, report: ReportViolation) -> None:
    problems = _crypto_problems(args)
    if str(get(args.props, "transformProtocol") or "esp").strip().lower() == "ah":
        problems.append("transform_protocol is ah (integrity only, no encryption)")
    if problems:
        report("; ".join(problems) + ".")


_REMEDIATION = "Set auth_algorithm='sha256' (or stronger), encryption_algorithm='aes-256', pfs='group14' or higher"
POLICIES = [
    resource_policy(
        "vpn-ike-policy-strong",
        control="VPN-01",
        severity=Severity.HIGH,
        description="VPNaaS IKE policies use IKEv2, main mode, SHA-2 integrity, no 3DES/DES and a DH group of "
        "at least 14 (unset fields are judged as Neutron's weak defaults).",
        remediation=_REMEDIATION + ", ike_version='v2' and phase1_negotiation_mode='main'.",
        validate=_ike,
    ),
    resource_policy(
        "vpn-ipsec-policy-strong",
        control="VPN-01",
        severity=Severity.HIGH,
        description="VPNaaS IPsec policies use ESP with SHA-2 integrity, no 3DES/DES and a PFS group of at least 14.",
        remediation=_REMEDIATION + " and transform_protocol='esp'.",
        validate=_ipsec,
    ),
]
