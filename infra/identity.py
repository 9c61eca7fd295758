"""Identity: operator and auditor roles, and narrowly scoped, expiring backup credentials.

Backup agents authenticate with application credentials that can only touch the backup
containers in Swift (Keystone access rules) and expire, so a stolen host key can't reach the rest
of the cloud, and a forgotten credential stops working on its own.
"""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack
import pulumi_random as random

from ccsec.infra import roles as role_model
from ccsec.infra.config import StackConfig

SWIFT_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")


def swift_access_rules(containers: list[str]) -> list[openstack.identity.ApplicationCredentialAccessRuleArgs]:
    """Access rules allowing object operations inside the named containers only."""
    rules = []
    for container in containers:
        for method in SWIFT_METHODS:
            for path in (f"/v1/*/{container}", f"/v1/*/{container}/**"):
                rules.append(
                    openstack.identity.ApplicationCredentialAccessRuleArgs(
                        service="object-store", method=method, path=path
                    )
                )
    return rules


class Access(pulumi.ComponentResource):
    """Roles for people and credentials for machines."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ccaas:identity:Access", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.operator_role = openstack.identity.Role(f"{name}-operator", name=f"{cfg.stack}-operator", opts=child)
        self.auditor_role = openstack.identity.Role(f"{name}-auditor", name=f"{cfg.stack}-auditor", opts=child)
        containers = [cfg.storage.backup_container, cfg.storage.offsite_container]
        self.backup_credentials = {
            role: openstack.identity.ApplicationCredential(
                f"{name}-{role}-backup",
                name=f"{cfg.stack}-{role}-backup",
                description=f"backup agent on {role} hosts: Swift backup containers only",
                unrestricted=False,
                expires_at=cfg.backup.credential_expires_at,
                roles=["member"],
                access_rules=swift_access_rules(containers),
                region=cfg.region,
                opts=child,
            )
            for role in role_model.BACKUP_ROLES
            if cfg.cluster[role].count > 0
        }
        # The restic / pgBackRest repository key: generated, never typed by a person, a secret end to end.
        self.repository_keys = {
            role: random.RandomPassword(f"{name}-{role}-repo-key", length=48, special=False, opts=child)
            for role in self.backup_credentials
        }
        # pgBackRest's repository cipher pass (db): client-side encryption of everything in Swift.
        self.cipher_passes = {
            role: random.RandomPassword(f"{name}-{role}-pg-cipher", length=48, special=False, opts=child)
            for role in self.backup_credentials
            if _runs_pgbackrest(role)
        }
        # TOTP seeds for administrators' second factor on the bastion (RFC 6238, 160-bit).
        self.totp_seeds = {
            admin.name: random.RandomId(f"{name}-totp-{admin.name}", byte_length=20, opts=child)
            for admin in cfg.admins
            if admin.totp
        }
        self.register_outputs({})

    def totp(self) -> pulumi.Output[dict[str, str]]:
        """Administrator name -> hex seed, a secret; the bastion's /etc/users.oath is made from it."""
        names = list(self.totp_seeds)
        return pulumi.Output.secret(
            pulumi.Output.all(*[self.totp_seeds[n].hex for n in names]).apply(
                lambda seeds: dict(zip(names, seeds, strict=True))
            )
        )

    def backup_env(self, cfg: StackConfig, role: str) -> pulumi.Output[dict[str, str]]:
        """The backup agent's secrets (cloud-init writes them to 0600 root files); a secret as a whole.

        restic uses the application credential; pgBackRest (db) needs Swift's S3 API, i.e. EC2
        credentials, which pulumi-openstack cannot create: set them as the stack secrets
        ``backupS3AccessKey`` / ``backupS3SecretKey`` (``openstack ec2 credentials create``).
        """
        credential = self.backup_credentials[role]
        config = pulumi.Config()
        s3_key, s3_secret = config.get_secret("backupS3AccessKey"), config.get_secret("backupS3SecretKey")
        cipher = self.cipher_passes[role].result if role in self.cipher_passes else ""
        return pulumi.Output.secret(
            pulumi.Output.all(
                credential.id, credential.secret, self.repository_keys[role].result, cipher, s3_key, s3_secret
            ).apply(lambda values: _backup_env(cfg, role, values))
        )


def _runs_pgbackrest(role: str) -> bool:
    """pgBackRest (the postgres engine) needs a cipher pass and Swift's S3 API; restic does not."""
    return "postgres" in role_model.role(role).backup_engines


def _backup_env(cfg: StackConfig, role: str, values: list) -> dict[str, str]:
    env = {
        "OS_AUTH_URL": cfg.backup.swift_auth_url,
        "OS_APPLICATION_CREDENTIAL_ID": values[0],
        "OS_APPLICATION_CREDENTIAL_SECRET": values[1],
        "OS_REGION_NAME": cfg.region,
        "RESTIC_PASSWORD": values[2],
    }
    if _runs_pgbackrest(role):
        env["PGBACKREST_CIPHER_PASS"] = values[3]
        if values[4] and values[5]:
            env.update(AWS_ACCESS_KEY_ID=values[4], AWS_SECRET_ACCESS_KEY=values[5])
    return env
