"""Private cloud only: no resource or provider from a public-cloud package (PRV-01)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from ._meta import stack_policy
from ._props import str_list

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


def _private_cloud_only(args: StackValidationArgs, report: ReportViolation) -> None:
    denied = set(str_list(args.get_config().get("deniedPackages")) or DENIED_PACKAGES)
    for res in args.resources:
        pkg = package_of(res.resource_type)
        if pkg in denied:
            report(f"{res.resource_type} ({res.name}) comes from the public-cloud package '{pkg}'.", res.urn)


POLICIES = [
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
