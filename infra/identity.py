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
        self.s3_credentials = self._s3_credentials(name, cfg, child)
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

    def _s3_credentials(
        self, name: str, cfg: StackConfig, child: pulumi.ResourceOptions
    ) -> dict[str, openstack.identity.Ec2CredentialV3]:
        """pgBackRest's S3 key (db): an EC2 credential of a dedicated user, created here so one ``pulumi up``
        yields working backups.

        An EC2 credential takes no access rules and does not expire, so it lends every role of its user:
        the user exists only for this, has no password (it cannot log in), and holds one role on the
        stack's project, ``backup.s3Role`` (Swift's operator role, never admin). Blast radius of a stolen
        key: read, write and delete on every container of the project's Swift account (keep the stack's
        project free of other object storage), nothing in Nova, Neutron or Cinder.
        """
        pgbackrest_roles = [role for role in self.backup_credentials if _runs_pgbackrest(role)]
        if not pgbackrest_roles:
            return {}
        scope = openstack.identity.get_auth_scope_output(name="current", region=cfg.region)
        s3_role = openstack.identity.get_role_output(name=cfg.backup.s3_role, region=cfg.region)
        credentials = {}
        for role in pgbackrest_roles:
            user = openstack.identity.User(
                f"{name}-{role}-s3-user",
                name=f"{cfg.stack}-{role}-backup-s3",
                description=f"pgBackRest on {role} hosts: holds only the EC2 key for Swift's S3 API",
                default_project_id=scope.project_id,
                enabled=True,
                opts=child,
            )
            grant = openstack.identity.RoleAssignment(
                f"{name}-{role}-s3-grant",
                user_id=user.id,
                project_id=scope.project_id,
                role_id=s3_role.id,
                region=cfg.region,
                opts=child,
            )
            credentials[role] = openstack.identity.Ec2CredentialV3(
                f"{name}-{role}-s3-key",
                user_id=user.id,
                project_id=scope.project_id,
                region=cfg.region,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[grant])),
            )
        return credentials

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

        restic uses the application credential; pgBackRest (db) uses Swift's S3 API with the EC2 key
        of :meth:`_s3_credentials`.
        """
        credential = self.backup_credentials[role]
        s3 = self.s3_credentials.get(role)
        s3_key, s3_secret = (s3.access, s3.secret) if s3 is not None else ("", "")
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
        if not (values[4] and values[5]):
            raise ValueError(f"{role}: the backup user's EC2 credential has no access key or secret")
        env.update(AWS_ACCESS_KEY_ID=values[4], AWS_SECRET_ACCESS_KEY=values[5])
    return env
