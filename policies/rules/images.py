"""Glance images: private, signed, uploaded from verified HTTPS sources (IMG-01, IMG-02).

Glance verifies an image on upload and Nova on boot (verify_glance_signatures) only when the image
carries the signature properties img_signature, img_signature_hash_method, img_signature_key_type and
img_signature_certificate_uuid (a Barbican-held certificate).
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import IMAGE, get

PUBLIC_VISIBILITY = ("public", "community")
SIGNATURE_PROPERTIES = (
    "img_signature",
    "img_signature_hash_method",
    "img_signature_key_type",
    "img_signature_certificate_uuid",
)
WEAK_HASHES = ("md5", "sha1", "sha-1", "sha224", "sha-224")


@only_types(IMAGE)
def _private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if str(get(args.props, "visibility") or "private").strip().lower() in PUBLIC_VISIBILITY:
        report("visibility is public/community: every project of the cloud can boot or download the image.")


@only_types(IMAGE)
def _signed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = get(args.props, "properties")
    props = props if isinstance(props, Mapping) else {}
    missing = [p for p in SIGNATURE_PROPERTIES if not str(props.get(p) or "").strip()]
    if missing:
        report(f"properties lacks {', '.join(missing)}: Glance and Nova cannot verify the image.")
    elif str(props.get("img_signature_hash_method")).strip().lower() in WEAK_HASHES:
        report("properties.img_signature_hash_method is a weak hash; use SHA-256 or stronger.")


@only_types(IMAGE)
def _https_source(args: ResourceValidationArgs, report: ReportViolation) -> None:
    url = get(args.props, "imageSourceUrl")
    if isinstance(url, str) and url.strip() and not url.strip().lower().startswith("https://"):
        report("image_source_url is not https://: the image can be swapped in transit.")
    if get(args.props, "verifyChecksum") is False:
        report("verify_checksum is false: a corrupted or substituted download is not detected.")


POLICIES = [
    resource_policy(
        "image-not-public",
        control="IMG-01",
        severity=Severity.HIGH,
        description="Glance images are private or shared with named projects, never public or community.",
        remediation="Set visibility='private' (or 'shared' with images.ImageAccess for named projects).",
        validate=_private,
    ),
    resource_policy(
        "image-signed",
        control="IMG-02",
        severity=Severity.HIGH,
        description="Glance images carry the signature properties (img_signature, hash method SHA-2, key type, "
        "certificate uuid) so Glance and Nova verify them.",
        remediation="Sign the golden image (openssl dgst -sha256 -sign) with a key whose certificate is in "
        "Barbican and set properties img_signature*, img_signature_certificate_uuid.",
        validate=_signed,
    ),
    resource_policy(
        "image-source-https",
        control="IMG-02",
        severity=Severity.HIGH,
        description="Images are fetched from https:// (image_source_url) with checksum verification on.",
        remediation="Serve the image over HTTPS with a trusted certificate and keep verify_checksum=True.",
        validate=_https_source,
    ),
]
