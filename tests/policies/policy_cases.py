"""For every policy: stacks that violate it and stacks that comply, built from the compliant baseline.

Each builder takes the compliant baseline and returns a resource list; the violating ones change one
thing, so the test can also assert the policy names the offending resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccsec.policies.resources import RegisteredResource
from ccsec.policies.rules import _props as t
from ccsec_testbeds.synthetic import BASELINE_USER_DATA, compliant_stack, res, sg_rule, with_inputs

Stack = list[RegisteredResource]
Builder = Callable[[Stack], Stack]
# (policy, case id, builder, config, urn-suffix the violation must name or None for "any")
Case = tuple[str, str, Builder, dict[str, Any] | None]


def find(stack: Stack, name: str) -> RegisteredResource:
    return next(r for r in stack if r.name == name)


def swap(name: str, **inputs: Any) -> Builder:
    """Replace one resource's inputs (None deletes an input)."""

    def build(stack: Stack) -> Stack:
        return [with_inputs(r, **inputs) if r.name == name else r for r in stack]

    return build


def add(*make: Callable[[Stack], RegisteredResource]) -> Builder:
    def build(stack: Stack) -> Stack:
        return [*stack, *(m(stack) for m in make)]

    return build


def drop(*names: str) -> Builder:
    def build(stack: Stack) -> Stack:
        return [r for r in stack if r.name not in names]

    return build


def chain(*builders: Builder) -> Builder:
    def build(stack: Stack) -> Stack:
        for b in builders:
            stack = b(stack)
        return stack

    return build


def same(stack: Stack) -> Stack:
    return stack


def five_line_ssh(_: Stack) -> Stack:
    """A plain third-party program: one group, SSH open to the world, no conventions at all."""
    sg = res(t.SEC_GROUP, "sg", {"name": "web", "deleteDefaultRules": True})
    rule = res(
        t.SEC_GROUP_RULE,
        "ssh",
        {
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "portRangeMin": 22,
            "portRangeMax": 22,
            "remoteIpPrefix": "0.0.0.0/0",
            "securityGroupId": "sg-id",
        },
        deps=(sg,),
    )
    return [sg, rule]


def five_line_web(stack: Stack) -> Stack:
    """The same plain program opening 443 instead: legal port, but on a group of unknown role."""
    sg, rule = five_line_ssh(stack)
    return [sg, with_inputs(rule, portRangeMin=443, portRangeMax=443)]


def rule_on(role: str, direction: str, port: int, **kw: Any) -> Callable[[Stack], RegisteredResource]:
    """A new rule on the baseline's group for ``role`` (peer given by role name via peer_role=)."""

    def make(stack: Stack) -> RegisteredResource:
        peer_role = kw.pop("peer_role", None)
        peer = find(stack, f"fw-{peer_role}") if peer_role else None
        return sg_rule(find(stack, f"fw-{role}"), role, direction, port, peer=peer, name=f"extra-{role}-{port}", **kw)

    return make


def fip_to(port_name: str, tag: str) -> Callable[[Stack], RegisteredResource]:
    def make(stack: Stack) -> RegisteredResource:
        return res(
            t.FLOATING_IP,
            "extra-fip",
            {"pool": "public", "portId": "p", "tags": [f"ccaas-role={tag}"]},
            deps=(find(stack, port_name),),
        )

    return make


def associate_to(port_name: str) -> Callable[[Stack], RegisteredResource]:
    def make(stack: Stack) -> RegisteredResource:
        fip = find(stack, "bastion-fip")
        return res(
            t.FLOATING_IP_ASSOCIATE,
            "extra-assoc",
            {"floatingIp": "203.0.113.9", "portId": "p"},
            deps=(fip, find(stack, port_name)),
        )

    return make


def temp_url(key: str | None) -> Callable[[Stack], RegisteredResource]:
    inputs = {"container": "c", "object": "o", "ttl": 300, "method": "get"}
    return lambda _: res(t.TEMP_URL, "extra-tempurl", {**inputs, **({"key": key} if key else {})})


HOST = "synthetic-db-1"
CRED = "backup-cred"
LB_HTTPS_FLOW = {"role": "lb", "direction": "ingress", "protocol": "tcp", "port": 443, "remoteCidr": "0.0.0.0/0"}
APP_FROM_LB = "app-ingress-tcp443-fw-lb"
APP_FROM_LB_FLOW = {"role": "app", "direction": "ingress", "protocol": "tcp", "port": 443, "remoteRole": "lb"}
VIOLATING: list[Case] = [
    ("secgroup-ingress-from-anywhere", "five-line-ssh", five_line_ssh, None),
    ("secgroup-ingress-from-anywhere", "db-5432-no-remote", add(rule_on("db", "ingress", 5432)), None),
    (
        "secgroup-ingress-from-anywhere",
        "80-not-in-publicPorts",
        same,
        {"secgroup-ingress-from-anywhere": {"publicPorts": [443]}},
    ),
    ("secgroup-ssh-admin-cidrs", "five-line-ssh", five_line_ssh, None),
    ("secgroup-ssh-admin-cidrs", "public-prefix", add(rule_on("bastion", "ingress", 22, cidr="203.0.113.0/24")), None),
    (
        "secgroup-ssh-admin-cidrs",
        "outside-adminCidrs",
        same,
        {"secgroup-ssh-admin-cidrs": {"adminCidrs": ["192.168.0.0/16"]}},
    ),
    ("secgroup-rule-bounded", "any-protocol", swap("app-ingress-tcp443-fw-lb", protocol=None), None),
    (
        "secgroup-rule-bounded",
        "whole-range",
        swap("app-ingress-tcp443-fw-lb", portRangeMin=None, portRangeMax=None),
        None,
    ),
    ("secgroup-default-rules-deleted", "kept", swap("fw-app", deleteDefaultRules=False), None),
    ("secgroup-default-rules-deleted", "unset", swap("fw-db", deleteDefaultRules=None), None),
    ("secgroup-public-web-lb-only", "443-on-app", add(rule_on("app", "ingress", 443, cidr="0.0.0.0/0")), None),
    ("secgroup-public-web-lb-only", "unknown-role", lambda s: five_line_web(s), None),
    ("secgroup-ssh-from-bastion", "db-ssh-from-cidr", add(rule_on("db", "ingress", 22, cidr="10.99.0.0/24")), None),
    ("secgroup-ssh-from-bastion", "db-ssh-from-app", add(rule_on("db", "ingress", 22, peer_role="app")), None),
    ("secgroup-data-pci-egress", "db-egress-anywhere", add(rule_on("db", "egress", 443, cidr="0.0.0.0/0")), None),
    ("secgroup-data-pci-egress", "payment-egress-no-remote", add(rule_on("payment", "egress", 443)), None),
    ("pci-zone-app-only", "from-db", add(rule_on("payment", "ingress", 8443, peer_role="db")), None),
    ("pci-zone-app-only", "from-cidr", add(rule_on("payment", "ingress", 8443, cidr="10.0.0.0/8")), None),
    ("pci-zone-app-only", "bastion-ssh-disallowed", same, {"pci-zone-app-only": {"allowBastionSsh": False}}),
    ("pci-zone-app-only", "pciPeerRoles-none", same, {"pci-zone-app-only": {"pciPeerRoles": []}}),
    (
        "secgroup-data-pci-egress",
        "app-restricted",
        add(rule_on("app", "egress", 443, cidr="0.0.0.0/0")),
        {"secgroup-data-pci-egress": {"restrictedEgressRoles": ["app"]}},
    ),
    ("secgroup-flows-declared", "undeclared", same, {"secgroup-flows-declared": {"allowedFlows": [LB_HTTPS_FLOW]}}),
    (
        "secgroup-flows-declared",
        "other-peer-role",
        same,
        {"secgroup-flows-declared": {"allowedFlows": [{**APP_FROM_LB_FLOW, "remoteRole": "db"}]}},
    ),
    ("floating-ip-role-tagged", "untagged", swap("bastion-fip", tags=None), None),
    ("floating-ip-role-tagged", "app-tag", add(fip_to("synthetic-app-1-port", "app")), None),
    ("floating-ip-internal-hosts", "fip-on-db-port", add(fip_to("synthetic-db-1-port", "bastion")), None),
    ("floating-ip-internal-hosts", "associate-app-port", add(associate_to("synthetic-app-1-port")), None),
    ("listener-terminated-https", "http-8080", swap("http-redirect", protocolPort=8080), None),
    ("listener-terminated-https", "tcp-passthrough", swap("https", protocol="TCP"), None),
    ("listener-http-redirect-only", "no-l7", drop("http-redirect-policy"), None),
    ("listener-http-redirect-only", "redirect-to-pool", swap("http-redirect-policy", action="REDIRECT_TO_POOL"), None),
    ("listener-http-redirect-only", "redirect-to-http", swap("http-redirect-policy", redirectPrefix="http://cc"), None),
    ("listener-tls-versions", "tls11", swap("https", tlsVersions=["TLSv1.1", "TLSv1.2"]), None),
    ("listener-tls-versions", "unset", swap("https", tlsVersions=None), None),
    ("listener-tls-ciphers", "cbc-sha1", swap("https", tlsCiphers="ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA"), None),
    ("listener-tls-ciphers", "keyword", swap("https", tlsCiphers="HIGH:!aNULL"), None),
    ("listener-tls-ciphers", "unset", swap("https", tlsCiphers=None), None),
    ("listener-barbican-certificate", "no-ref", swap("https", defaultTlsContainerRef=None), None),
    ("listener-hsts", "short", swap("https", hstsMaxAge=300), None),
    ("listener-hsts", "no-subdomains", swap("https", hstsIncludeSubdomains=False), None),
    (
        "keymanager-certificate-container",
        "no-key",
        swap("tls", secretRefs=[{"name": "certificate", "secretRef": "x"}]),
        None,
    ),
    ("volume-encrypted-type", "standard", swap("synthetic-db-1-data", volumeType="standard"), None),
    ("volume-encrypted-type", "unset", swap("synthetic-db-1-boot", volumeType=None), None),
    ("instance-boot-encrypted-volume", "local-disk", swap(HOST, blockDevices=None, imageId="debian-12"), None),
    (
        "instance-boot-encrypted-volume",
        "image-plain-type",
        swap(
            HOST,
            blockDevices=[
                {
                    "sourceType": "image",
                    "destinationType": "volume",
                    "uuid": "img",
                    "bootIndex": 0,
                    "volumeType": "standard",
                }
            ],
        ),
        None,
    ),
    ("swift-no-public-read", "public", swap("backup-primary", containerRead=".r:*"), None),
    ("swift-no-public-read", "world-write", swap("backup-primary", containerWrite="*"), None),
    ("swift-no-listings", "listings", swap("backup-primary", containerRead=".rlistings"), None),
    ("swift-no-temp-url-key", "tempurl-key", add(temp_url("s3cr3t")), None),
    ("swift-no-temp-url-key", "container-meta", swap("backup-primary", metadata={"Temp-URL-Key": "k"}), None),
    (
        "swift-no-temp-url-key",
        "account-meta",
        add(lambda _: res(t.SWIFT_ACCOUNT, "acct", {"metadata": {"temp_url_key_2": "k"}})),
        None,
    ),
    ("swift-backup-versioning", "unversioned", swap("backup-primary", versioning=False), None),
    ("backup-offsite-copy", "single", drop("backup-offsite"), None),
    (
        "backup-schedule",
        "diff-15",
        swap(
            HOST,
            metadata={
                "owner": "o",
                "environment": "e",
                "role": "db",
                "data_classification": "c",
                "pci_scope": "false",
                "backup_diff_minutes": "15",
                "backup_full_days": "30",
            },
        ),
        None,
    ),
    ("backup-schedule", "no-container", drop("backup-primary", "backup-offsite"), None),
    ("appcred-restricted", "unrestricted", swap(CRED, unrestricted=True), None),
    ("appcred-restricted", "no-rules", swap(CRED, accessRules=None), None),
    ("appcred-expires", "never", swap(CRED, expiresAt=None), None),
    ("appcred-expires", "garbage", swap(CRED, expiresAt="next year"), None),
    ("appcred-no-admin", "admin", swap(CRED, roles=["member", "admin"]), None),
    ("appcred-no-admin", "inherits", swap(CRED, roles=None), None),
    (
        "instance-inventory-metadata",
        "no-owner",
        swap(
            HOST,
            metadata={
                "environment": "e",
                "role": "db",
                "data_classification": "c",
                "pci_scope": "false",
                "backup_diff_minutes": "5",
                "backup_full_days": "30",
            },
        ),
        None,
    ),
    (
        "instance-inventory-metadata",
        "pci-yes",
        swap(
            HOST,
            metadata={
                "owner": "o",
                "environment": "e",
                "role": "db",
                "data_classification": "c",
                "pci_scope": "yes",
                "backup_diff_minutes": "5",
                "backup_full_days": "30",
            },
        ),
        None,
    ),
    ("instance-anti-affinity", "no-hints", swap(HOST, schedulerHints=None), None),
    ("server-group-anti-affinity", "affinity", swap("db-group", policies="affinity"), None),
    ("server-group-anti-affinity", "soft", swap("db-group", policies=["soft-anti-affinity"]), None),
    ("instance-config-drive", "off", swap(HOST, configDrive=False), None),
    ("instance-host-baseline", "shell-script", swap(HOST, userData="#!/bin/bash\necho hi\n"), None),
    ("instance-host-baseline", "no-marker", swap(HOST, userData="#cloud-config\nhostname: x\n"), None),
    (
        "instance-host-baseline",
        "marker-late",
        swap(HOST, userData="#cloud-config\n" + "a: 1\n" * 6 + "# ccaas-baseline host baseline v1\n"),
        None,
    ),
    (
        "private-cloud-only",
        "aws-bucket",
        add(lambda _: res("aws:s3/bucket:Bucket", "bucket", {"acl": "private"})),
        None,
    ),
    ("private-cloud-only", "gcp-provider", add(lambda _: res("pulumi:providers:gcp", "gcp", {"project": "p"})), None),
]

COMPLIANT: list[Case] = [
    (
        "secgroup-ingress-from-anywhere",
        "icmp-from-private",
        add(rule_on("app", "ingress", 0, protocol="icmp", cidr="10.0.0.0/8")),
        None,
    ),
    (
        "secgroup-ssh-admin-cidrs",
        "inside-adminCidrs",
        same,
        {"secgroup-ssh-admin-cidrs": {"adminCidrs": ["10.99.0.0/16"]}},
    ),
    (
        "secgroup-rule-bounded",
        "icmp-without-ports",
        add(rule_on("app", "ingress", 0, protocol="icmp", cidr="10.0.0.0/8")),
        None,
    ),
    ("pci-zone-app-only", "bastion-ssh", same, None),
    (
        "secgroup-public-web-lb-only",
        "publicRoles-app",
        add(rule_on("app", "ingress", 443, cidr="0.0.0.0/0")),
        {"secgroup-public-web-lb-only": {"publicRoles": ["lb", "app"]}},
    ),
    (
        "secgroup-ssh-from-bastion",
        "sshSourceRoles-app",
        add(rule_on("db", "ingress", 22, peer_role="app")),
        {"secgroup-ssh-from-bastion": {"sshSourceRoles": ["bastion", "app"]}},
    ),
    ("secgroup-flows-declared", "no-allowedFlows", add(rule_on("db", "ingress", 9999, peer_role="app")), None),
    (
        "secgroup-flows-declared",
        "every-rule-declared",
        drop(*(r.name for r in compliant_stack() if r.type == t.SEC_GROUP_RULE and r.name != APP_FROM_LB)),
        {"secgroup-flows-declared": {"allowedFlows": [APP_FROM_LB_FLOW]}},
    ),
    (
        "listener-terminated-https",
        "exempt-port",
        swap("http-redirect", protocol="TCP", protocolPort=5061),
        {"listener-terminated-https": {"exemptPorts": [5061]}},
    ),
    (
        "listener-tls-ciphers",
        "tls13-suites",
        swap("https", tlsCiphers="TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"),
        None,
    ),
    ("keymanager-certificate-container", "generic-not-applicable", swap("tls", type="generic", secretRefs=None), None),
    (
        "volume-encrypted-type",
        "configured-type",
        chain(swap("synthetic-db-1-data", volumeType="fast-luks")),
        {"volume-encrypted-type": {"allowedVolumeTypes": ["encrypted-luks2", "fast-luks"]}},
    ),
    (
        "instance-boot-encrypted-volume",
        "image-encrypted-type",
        swap(
            HOST,
            blockDevices=[
                {
                    "sourceType": "image",
                    "destinationType": "volume",
                    "uuid": "img",
                    "bootIndex": 0,
                    "volumeType": "encrypted-luks2",
                }
            ],
        ),
        None,
    ),
    ("swift-no-temp-url-key", "tempurl-without-key", add(temp_url(None)), None),
    (
        "swift-backup-versioning",
        "non-backup-unversioned",
        add(lambda _: res(t.SWIFT_CONTAINER, "assets", {"name": "web-assets"})),
        None,
    ),
    (
        "backup-offsite-copy",
        "container-sync",
        chain(drop("backup-offsite"), swap("backup-primary", containerSyncTo="//realm/cluster/AUTH_x/offsite")),
        None,
    ),
    ("server-group-anti-affinity", "list-form", swap("db-group", policies=["anti-affinity"]), None),
    (
        "instance-host-baseline",
        "leading-blank-lines",
        swap(HOST, userData="\n" + BASELINE_USER_DATA.format(host="x")),
        None,
    ),
    (
        "private-cloud-only",
        "tls-and-random-are-fine",
        add(lambda _: res("random:index/randomPassword:RandomPassword", "pw", {"length": 32})),
        None,
    ),
]
