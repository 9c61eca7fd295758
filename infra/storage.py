"""Block storage: every volume (boot and data) uses an allow-listed encrypted Cinder type.

Centralised so no code path can create a volume without choosing from the allow-list.
"""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from ccsec.infra.config import StackConfig


def encrypted_volume(
    name: str,
    cfg: StackConfig,
    size_gb: int,
    purpose: str,
    parent: pulumi.Resource,
    image_id: str | None = None,
) -> openstack.blockstorage.Volume:
    """A Cinder volume of the stack's encrypted type (validated to be in the allow-list)."""
    assert cfg.storage.volume_type in cfg.storage.encrypted_volume_types  # guaranteed by config validation
    return openstack.blockstorage.Volume(
        name,
        name=name,
        size=size_gb,
        volume_type=cfg.storage.volume_type,
        image_id=image_id,
        region=cfg.region,
        description=f"ccaas-baseline {purpose}",
        metadata={"purpose": purpose, "environment": cfg.environment, "owner": cfg.owner},
        opts=pulumi.ResourceOptions(parent=parent),
    )
