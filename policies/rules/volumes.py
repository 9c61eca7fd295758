"""Encrypted block storage: every volume, and every boot disk, uses an allow-listed encrypted type (STO-01).

Cinder encrypts a volume only when its volume type carries an encryption spec, so the type name is
the one thing a program controls; the operator-maintained allow-list says which names are encrypted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._meta import only_types, resource_policy
from ._props import INSTANCE, VOLUME, as_int, get, seq, str_list

DEFAULT_TYPES = ["encrypted-luks2"]
VOLUME_TYPES_SCHEMA = {
    "allowedVolumeTypes": {
        "type": "array",
        "items": {"type": "string"},
        "default": DEFAULT_TYPES,
        "description": "Cinder volume types that carry an encryption spec.",
    }
}


def _allowed(args: ResourceValidationArgs) -> list[str]:
    return str_list(args.get_config().get("allowedVolumeTypes")) or DEFAULT_TYPES


@only_types(VOLUME)
def _volume_type(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = _allowed(args)
    vtype = get(args.props, "volumeType")
    if vtype not in allowed:
        shown = f"'{vtype}'" if vtype else "not set (the cloud default, unencrypted)"
        report(f"Volume type is {shown}; allowed encrypted types: {allowed}.")


def _boot_device(devices: Any) -> Mapping[str, Any] | None:
    for dev in seq(devices):
        if isinstance(dev, Mapping) and as_int(get(dev, "bootIndex")) == 0:
            return dev
    return None


@only_types(INSTANCE)
def _boot_from_encrypted_volume(args: ResourceValidationArgs, report: ReportViolation) -> None:
    boot = _boot_device(get(args.props, "blockDevices", []))
    if boot is None or get(boot, "destinationType") != "volume":
        report(
            "Instance boots from the hypervisor's local disk; boot from a volume (block_devices "
            "with boot_index=0, destination_type='volume')."
        )
        return
    source = get(boot, "sourceType")
    if source == "volume":
        return  # the referenced Volume is checked by volume-encrypted-type
    vtype = get(boot, "volumeType")
    if vtype not in _allowed(args):
        report(f"Boot volume created from {source} has volume_type {vtype!r}; use an allowed encrypted type.")


POLICIES = [
    resource_policy(
        "volume-encrypted-type",
        control="STO-01",
        severity=Severity.CRITICAL,
        description="Block-storage volumes use an allow-listed encrypted volume type.",
        remediation="Set volume_type to one of the encrypted types (policy config allowedVolumeTypes, "
        "default encrypted-luks2).",
        validate=_volume_type,
        config=VOLUME_TYPES_SCHEMA,
    ),
    resource_policy(
        "instance-boot-encrypted-volume",
        control="STO-01",
        severity=Severity.HIGH,
        description="Instances boot from a Cinder volume (not local disk), and an image-backed boot volume "
        "uses an allowed encrypted type.",
        remediation="Create an encrypted openstack.blockstorage.Volume from the image and boot with "
        "block_devices=[{source_type: 'volume', destination_type: 'volume', uuid: vol.id, boot_index: 0}].",
        validate=_boot_from_encrypted_volume,
        config=VOLUME_TYPES_SCHEMA,
    ),
]
