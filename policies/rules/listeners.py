"""TLS termination on Octavia listeners (TLS-01..05).

Public traffic is decrypted only at the load balancer (TERMINATED_HTTPS), with modern protocols and
AEAD forward-secret ciphers, a Barbican-held certificate and HSTS. Plain HTTP on port 80 is tolerated
only as a redirect, proven by the stack policy listener-http-redirect-only.
"""

from __future__ import annotations

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._meta import only_types, resource_policy, stack_policy
from ._props import L7_POLICY, LISTENER, as_int, get, seq, str_list

TERMINATED = "TERMINATED_HTTPS"
GOOD_VERSIONS = ("TLSv1.2", "TLSv1.3")
FORWARD_SECRET = ("ECDHE", "DHE")
AEAD = ("GCM", "CHACHA20", "POLY1305")
REDIRECTS = ("REDIRECT_PREFIX", "REDIRECT_TO_URL")
ONE_YEAR = 31536000


def _is_terminated(args: ResourceValidationArgs) -> bool:
    return get(args.props, "protocol") == TERMINATED


@only_types(LISTENER)
def _terminated_https(args: ResourceValidationArgs, report: ReportViolation) -> None:
    proto, port = get(args.props, "protocol"), as_int(get(args.props, "protocolPort"))
    exempt = {as_int(p) for p in seq(args.get_config().get("exemptPorts"))}
    if proto == TERMINATED or (proto == "HTTP" and port == 80) or port in exempt:
        return
    report(f"Listener {proto} on port {port} does not terminate TLS at the load balancer.")


@only_types(LISTENER)
def _tls_versions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_terminated(args):
        return
    versions = str_list(get(args.props, "tlsVersions"))
    bad = [v for v in versions if v not in GOOD_VERSIONS]
    if not versions:
        report("tls_versions is not set; the Octavia default may include TLS 1.0/1.1.")
    elif bad:
        report(f"tls_versions offers {bad}; only {list(GOOD_VERSIONS)} are allowed.")


def weak_ciphers(cipher_string: str) -> list[str]:
    """Entries that are not TLS 1.3 suites nor (EC)DHE + AEAD suites; keywords count as weak."""
    weak = []
    for name in (c.strip() for c in cipher_string.replace(",", ":").split(":")):
        if not name:
            continue
        parts = name.upper().split("-")
        strong = name.startswith("TLS_") or (parts[0] in FORWARD_SECRET and any(p in AEAD for p in parts))
        if not strong:
            weak.append(name)
    return weak


@only_types(LISTENER)
def _tls_ciphers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_terminated(args):
        return
    ciphers = get(args.props, "tlsCiphers")
    if not isinstance(ciphers, str) or not ciphers.strip():
        report("tls_ciphers is not set; the Octavia default list is used.")
        return
    weak = weak_ciphers(ciphers)
    if weak:
        report(f"tls_ciphers includes weak or non-forward-secret entries: {weak}.")


@only_types(LISTENER)
def _barbican_certificate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_terminated(args) and not get(args.props, "defaultTlsContainerRef"):
        report("TERMINATED_HTTPS listener has no default_tls_container_ref (Barbican certificate).")


@only_types(LISTENER)
def _hsts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_terminated(args):
        return
    minimum = as_int(args.get_config().get("minHstsMaxAge")) or ONE_YEAR
    max_age = as_int(get(args.props, "hstsMaxAge")) or 0
    if max_age < minimum:
        report(f"hsts_max_age is {max_age}; use at least {minimum} seconds.")
    if get(args.props, "hstsIncludeSubdomains") is not True:
        report("hsts_include_subdomains is not true.")


def _redirect_policies(listener: PolicyResource, resources: list[PolicyResource]) -> list[PolicyResource]:
    return [
        r for r in resources if r.resource_type == L7_POLICY and (r.parent is listener or listener in r.dependencies)
    ]


def _redirects_to_https(policy: PolicyResource) -> bool:
    props = policy.props
    target = get(props, "redirectUrl") if get(props, "action") == "REDIRECT_TO_URL" else get(props, "redirectPrefix")
    return get(props, "action") in REDIRECTS and isinstance(target, str) and target.startswith("https://")


def _http_redirect_only(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for res in resources:
        if res.resource_type != LISTENER or get(res.props, "protocol") != "HTTP":
            continue
        if not any(_redirects_to_https(p) for p in _redirect_policies(res, resources)):
            report(f"{res.name}: plain-HTTP listener without an L7 policy redirecting to https://.", res.urn)


_TERMINATED_ONLY = "Applies to TERMINATED_HTTPS listeners."
POLICIES = [
    resource_policy(
        "listener-terminated-https",
        control="TLS-01",
        severity=Severity.CRITICAL,
        description="Load-balancer listeners use TERMINATED_HTTPS; plain HTTP is allowed only on port 80 "
        "(as a redirect).",
        remediation="Set protocol='TERMINATED_HTTPS' (port 443) with a Barbican certificate; keep port 80 "
        "only with a REDIRECT_PREFIX L7 policy to https://.",
        validate=_terminated_https,
        config={
            "exemptPorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": [],
                "description": "Ports of deliberate non-HTTP listeners (e.g. SIP-TLS passthrough).",
            }
        },
    ),
    resource_policy(
        "listener-tls-versions",
        control="TLS-02",
        severity=Severity.HIGH,
        description="TLS listeners offer only TLSv1.2 and TLSv1.3. " + _TERMINATED_ONLY,
        remediation="Set tls_versions=['TLSv1.2', 'TLSv1.3'].",
        validate=_tls_versions,
    ),
    resource_policy(
        "listener-tls-ciphers",
        control="TLS-03",
        severity=Severity.HIGH,
        description="TLS listeners list only forward-secret AEAD cipher suites (ECDHE/DHE with GCM or "
        "CHACHA20-POLY1305, or TLS 1.3 suites). " + _TERMINATED_ONLY,
        remediation="Set tls_ciphers to an explicit list such as 'ECDHE-ECDSA-AES128-GCM-SHA256:"
        "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305'.",
        validate=_tls_ciphers,
    ),
    resource_policy(
        "listener-barbican-certificate",
        control="TLS-04",
        severity=Severity.HIGH,
        description="TLS listeners take their certificate from Barbican (default_tls_container_ref). "
        + _TERMINATED_ONLY,
        remediation="Store certificate and key as keymanager.SecretV1 (from Pulumi secrets), group them in "
        "a keymanager.ContainerV1 of type 'certificate', and pass its container_ref.",
        validate=_barbican_certificate,
    ),
    resource_policy(
        "listener-hsts",
        control="TLS-05",
        severity=Severity.MEDIUM,
        description="TLS listeners send HSTS with max-age of at least one year, including subdomains. "
        + _TERMINATED_ONLY,
        remediation="Set hsts_max_age=31536000 and hsts_include_subdomains=True.",
        validate=_hsts,
        config={
            "minHstsMaxAge": {
                "type": "integer",
                "default": ONE_YEAR,
                "description": "Smallest acceptable HSTS max-age, in seconds.",
            }
        },
    ),
    stack_policy(
        "listener-http-redirect-only",
        control="TLS-01",
        severity=Severity.HIGH,
        description="A plain-HTTP listener exists only with an L7 policy (REDIRECT_PREFIX / REDIRECT_TO_URL) "
        "that redirects to https://.",
        remediation="Attach openstack.loadbalancer.L7PolicyV2(action='REDIRECT_PREFIX', "
        "redirect_prefix='https://<host>', listener_id=<http listener>.id), or remove the listener.",
        validate=_http_redirect_only,
        reads=(LISTENER, L7_POLICY),
    ),
]
