"""TLS termination on Octavia listeners (TLS-01..05), re-encryption to members (TLS-06), health monitors (AVL-01).

Public traffic is decrypted only at the load balancer (TERMINATED_HTTPS), with modern protocols and
AEAD forward-secret ciphers, a Barbican-held certificate and HSTS. Plain HTTP on port 80 is tolerated
only as a redirect, proven by the stack policy listener-http-redirect-only.
"""

from __future__ import annotations

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._meta import only_types, resource_policy, stack_policy
from ._props import L7_POLICY, LISTENER, MONITOR, POOL, as_int, get, present, seq, str_list

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
    report("protocol is not TERMINATED_HTTPS (nor HTTP on port 80, nor an exempt port).")


@only_types(LISTENER)
def _tls_versions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_terminated(args):
        return
    versions = str_list(get(args.props, "tlsVersions"))
    bad = [v for v in versions if v not in GOOD_VERSIONS]
    if not versions:
        report("tls_versions is not set; the Octavia default may include TLS 1.0/1.1.")
    elif bad:
        report(f"tls_versions offers a version other than {' / '.join(GOOD_VERSIONS)}.")


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
        report(f"tls_ciphers includes {len(weak)} weak or non-forward-secret entr{'ies' if len(weak) > 1 else 'y'}.")


@only_types(LISTENER)
def _barbican_certificate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # presence (an unknown container ref at preview is set); the ref itself is judged by keymanager policies
    if _is_terminated(args) and not present(args.props, "defaultTlsContainerRef"):
        report("TERMINATED_HTTPS listener has no default_tls_container_ref (Barbican certificate).")


@only_types(LISTENER)
def _hsts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_terminated(args):
        return
    minimum = as_int(args.get_config().get("minHstsMaxAge")) or ONE_YEAR
    max_age = as_int(get(args.props, "hstsMaxAge")) or 0
    if max_age < minimum:
        report(f"hsts_max_age is below {minimum} seconds.")
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


REENCRYPTED = ("HTTPS",)  # TLS passthrough: the client's own TLS reaches the member


@only_types(POOL)
def _pool_reencrypts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "protocol") in REENCRYPTED:
        return
    if get(args.props, "tlsEnabled") is not True:
        report("tls_enabled is not true: the load balancer sends members plaintext.")
        return
    versions = str_list(get(args.props, "tlsVersions"))
    if any(v not in GOOD_VERSIONS for v in versions):
        report(f"tls_versions offers a version other than {' / '.join(GOOD_VERSIONS)} towards members.")


@only_types(POOL)
def _pool_verifies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "tlsEnabled") is not True:
        args.not_applicable("no re-encryption (judged by lb-pool-reencrypts)")
    if not present(args.props, "caTlsContainerRef"):  # presence: unknown at a first preview is still set
        report("ca_tls_container_ref is not set: the load balancer accepts any member certificate.")


def _pool_monitors(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    monitored = {
        d.urn
        for m in resources
        if m.resource_type == MONITOR
        for d in [*m.dependencies, *([m.parent] if m.parent else [])]
    }
    for pool in resources:
        if pool.resource_type == POOL and pool.urn not in monitored:
            report(f"{pool.name}: pool has no health monitor (loadbalancer.Monitor with pool_id).", pool.urn)


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
    resource_policy(
        "lb-pool-reencrypts",
        control="TLS-06",
        severity=Severity.HIGH,
        description="Load-balancer pools re-encrypt to their members (tls_enabled=true with TLS 1.2/1.3 only) "
        "or pass the client's TLS through (protocol HTTPS); no plaintext HTTP/TCP behind the load balancer.",
        remediation="Set tls_enabled=True and tls_versions=['TLSv1.2', 'TLSv1.3'] on openstack.loadbalancer.Pool, "
        "with the members serving HTTPS.",
        validate=_pool_reencrypts,
    ),
    resource_policy(
        "lb-pool-verifies-backend",
        control="TLS-06",
        severity=Severity.HIGH,
        description="Re-encrypting pools verify the member certificate against a CA held in Barbican "
        "(ca_tls_container_ref).",
        remediation="Issue member certificates from a backend CA, store the CA certificate as a Barbican secret "
        "and pass its secret_ref as ca_tls_container_ref.",
        validate=_pool_verifies,
    ),
    stack_policy(
        "lb-pool-health-monitor",
        control="AVL-01",
        severity=Severity.MEDIUM,
        description="Every load-balancer pool has a health monitor, so a failed member leaves the rotation.",
        remediation="Add openstack.loadbalancer.Monitor(pool_id=pool.id, type='TLS-HELLO' or 'HTTPS', delay, "
        "timeout, max_retries).",
        validate=_pool_monitors,
        reads=(POOL, MONITOR),
    ),
]
