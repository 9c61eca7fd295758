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
        shown = "is not an allowed encrypted type" if vtype else "is not set (the cloud default, unencrypted)"
        report(f"volume_type {shown}; see allowedVolumeTypes.")


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
        report("block_devices[boot_index=0].volume_type is not an allowed encrypted type.")


@only_types(INSTANCE)
def _other_block_devices(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Non-boot devices: a new volume (blank/image/snapshot source) needs an encrypted type; local disks are plain."""
    allowed = _allowed(args)
    for i, dev in enumerate(seq(get(args.props, "blockDevices", []))):
        if not isinstance(dev, Mapping) or as_int(get(dev, "bootIndex")) == 0:
            continue
        where = f"block_devices[{i}]"
        if get(dev, "destinationType") != "volume":
            report(f"{where} is an ephemeral/swap disk on the hypervisor (destination_type local), not encrypted.")
        elif get(dev, "sourceType") != "volume" and get(dev, "volumeType") not in allowed:
            report(f"{where}.volume_type is not an allowed encrypted type.")


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
    resource_policy(
        "instance-block-devices-encrypted",
        control="STO-01",
        severity=Severity.HIGH,
        description="Every non-boot block device of an instance is a Cinder volume: an existing volume (judged by "
        "volume-encrypted-type) or a new one of an allowed encrypted type; no ephemeral/swap disks on the "
        "hypervisor.",
        remediation="Create data disks as openstack.blockstorage.Volume(volume_type=<encrypted type>) and attach "
        "them (VolumeAttach or block_devices source_type='volume'); drop destination_type='local' devices.",
        validate=_other_block_devices,
        config=VOLUME_TYPES_SCHEMA,
    ),
]
