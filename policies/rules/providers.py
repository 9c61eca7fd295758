"""Private cloud only (PRV-01); the OpenStack provider talks verified TLS with no credential in code (SEC-02)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._meta import only_types, resource_policy, stack_policy
from ._props import OPENSTACK_PROVIDER, get, has, str_list

# Provider inputs that carry a credential: they are persisted with the provider's state, and a
# literal in code is a password in the repository. clouds.yaml (cloud=) or OS_* variables keep them out.
CREDENTIAL_INPUTS = ("password", "token", "applicationCredentialSecret")

DENIED_PACKAGES = [
    "aws",
    "aws-native",
    "awsx",
    "azure",
    "azure-native",
    "azuread",
    "azuredevops",
    "gcp",
    "google-native",
    "alicloud",
    "oci",
    "digitalocean",
    "linode",
    "hcloud",
    "vultr",
    "scaleway",
    "ibm",
    "tencentcloud",
    "huaweicloud",
    "exoscale",
    "upcloud",
    "equinix",
    "yandex",
]


def package_of(resource_type: str) -> str:
    """'aws:s3/bucket:Bucket' -> 'aws'; 'pulumi:providers:gcp' -> 'gcp'."""
    parts = resource_type.split(":")
    if len(parts) >= 3 and parts[0] == "pulumi" and parts[1] == "providers":
        return parts[2]
    return parts[0]


def _denied(config: Mapping[str, Any]) -> set[str]:
    return set(str_list(config.get("deniedPackages")) or DENIED_PACKAGES)


def may_be_public_cloud(type_token: str, _inputs: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    """The only resources private-cloud-only can report (the offline evaluator sends it just these)."""
    return package_of(type_token) in _denied(config)


def _private_cloud_only(args: StackValidationArgs, report: ReportViolation) -> None:
    denied = _denied(args.get_config())
    for res in args.resources:
        pkg = package_of(res.resource_type)
        if pkg in denied:
            report(f"{res.resource_type} ({res.name}) comes from the public-cloud package '{pkg}'.", res.urn)


def _truthy(value: object) -> bool:
    """The SDK sends booleans of a provider as JSON strings ("true")."""
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"))


@only_types(OPENSTACK_PROVIDER)
def _provider_transport(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _truthy(get(args.props, "insecure")):
        report("insecure is true: the provider does not verify the cloud's TLS certificate.")
    for key in ("authUrl", "endpointOverrides"):
        value = get(args.props, key)
        texts = [value] if isinstance(value, str) else [str(v) for v in getattr(value, "values", list)()]
        if any(t.strip().lower().startswith("http://") for t in texts):
            report(f"{key} uses http://: credentials and tokens would cross the network in clear.")
    for key in CREDENTIAL_INPUTS:
        if has(args.props, key) and get(args.props, key):
            report(f"{key} is set in the provider config; use clouds.yaml (cloud=) or OS_* environment variables.")
    if "PRIVATE KEY" in str(get(args.props, "key") or ""):
        report("key holds a client private key inline; point it at a root-only file instead.")


POLICIES = [
    resource_policy(
        "provider-secure-transport",
        control="SEC-02",
        severity=Severity.CRITICAL,
        description="An explicit OpenStack provider verifies TLS (insecure not true), reaches Keystone over "
        "https:// and carries no password, token, application-credential secret or client key in its inputs.",
        remediation="Drop insecure (pass cacert_file for a private CA), use an https:// auth_url, and select "
        "credentials with cloud='<name>' from clouds.yaml or OS_* variables instead of password=/token=.",
        validate=_provider_transport,
        aliases=("CKV_OPENSTACK_1",),
    ),
    stack_policy(
        "private-cloud-only",
        control="PRV-01",
        severity=Severity.CRITICAL,
        description="The stack declares no resources or providers of public-cloud packages (aws, azure, "
        "gcp, ...); everything runs on the private OpenStack cloud.",
        remediation="Replace the public-cloud resource with its OpenStack equivalent, or move it out of "
        "this stack after a documented risk decision.",
        validate=_private_cloud_only,
        reads=None,
        select=may_be_public_cloud,
        config={
            "deniedPackages": {
                "type": "array",
                "items": {"type": "string"},
                "default": DENIED_PACKAGES,
                "description": "Pulumi package names treated as public cloud.",
            }
        },
    ),
]
