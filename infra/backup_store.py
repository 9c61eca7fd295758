"""Swift containers that hold backups: private, unlisted, versioned, plus an off-site copy."""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from ccsec.infra.config import StackConfig


class BackupStore(pulumi.ComponentResource):
    """`primary` in the stack's region, `offsite` in storage.offsiteRegion."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ccaas:storage:BackupStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=cfg.environment == "prod")
        self.primary = self._container(f"{name}-primary", cfg.storage.backup_container, cfg.region, cfg, child)
        self.offsite = self._container(
            f"{name}-offsite", cfg.storage.offsite_container, cfg.storage.offsite_region, cfg, child
        )
        self.register_outputs({"primary": self.primary.name, "offsite": self.offsite.name})

    @staticmethod
    def _container(
        name: str, container: str, region: str, cfg: StackConfig, opts: pulumi.ResourceOptions
    ) -> openstack.objectstorage.Container:
        # No container_read/container_write: only the project's own (restricted) credentials get in,
        # which also means no anonymous listings.
        return openstack.objectstorage.Container(
            name,
            name=container,
            region=region,
            versioning=True,
            force_destroy=False,
            metadata={"owner": cfg.owner, "environment": cfg.environment, "purpose": "backups"},
            opts=opts,
        )
