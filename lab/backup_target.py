"""The lab's backup target: a real local Swift all-in-one that the db and recordings VMs back up to.

Each lab VM has its own QEMU user-mode network in which the host's 127.0.0.1 is 10.0.2.2, so the
VMs reach the all-in-one's proxy at ``https://10.0.2.2:<port>`` (its certificate names that address;
the CA travels in the user-data). Instead of the Keystone application credential a cloud host gets,
a lab VM gets the all-in-one's tempauth user (restic's swift backend) and the same user as S3 keys
(pgBackRest on s3api), plus repository keys generated per lab. The drill on this machine uses the same
repositories through 127.0.0.1: ``drill.toml`` and its 0600 secret files live in ``<work>/backup``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ccsec.backup.private_files import private_dir, write_private
from ccsec.infra import roles as role_model
from ccsec.infra.backup_agent import STANZA, BackupTarget
from ccsec.infra.stackfile import load_stack_config
from ccsec.lab import testbeds
from ccsec.lab.paths import work_dir

if TYPE_CHECKING:  # a test bed (not shipped in the wheel): the lab's api imports it when it starts the Swift
    from ccsec_testbeds.swift_aio import SwiftAIO

PG_HOME_DATA = "/var/lib/postgresql/15/main"


@dataclass(frozen=True)
class LabBackup:
    """What the VMs' user-data gets (``guest_env`` is secret) and where the drill's config is."""

    guest_env: dict[str, str]
    target: BackupTarget
    drill_config: Path

    def __repr__(self) -> str:  # keep the keys out of logs and tracebacks
        return f"LabBackup(target={self.target.s3_endpoint}:{self.target.s3_port}, drill_config={self.drill_config})"


def backup_dir() -> Path:
    """``<work>/backup``: the drill's config and secret files (0700, root)."""
    return work_dir() / "backup"


def drill_config_path() -> Path:
    """The agent config ``ccsec drill --lab`` reads."""
    return backup_dir() / "drill.toml"


def prepare(aio: SwiftAIO, stack: str, hosts: list[tuple[str, str]]) -> LabBackup:
    """Create the containers, the lab's repository keys and the drill config for ``hosts`` (role, name)."""
    guest_gateway = testbeds.swift_aio().GUEST_GATEWAY  # the host's 127.0.0.1 as a lab VM sees it
    cfg = load_stack_config(stack)
    creds = aio.credentials()
    for container in (cfg.storage.backup_container, cfg.storage.offsite_container):
        aio.ensure_container(container)  # pgBackRest never creates its bucket
    directory = backup_dir()
    private_dir(directory)
    restic_pass = secrets.token_hex(24)
    cipher_pass = secrets.token_hex(24)
    guest_auth = f"https://{guest_gateway}:{aio.ports.proxy}/auth/v1.0"
    guest_env = {
        "ST_AUTH": guest_auth,
        "ST_USER": creds.user,
        "ST_KEY": creds.key,
        "RESTIC_PASSWORD": restic_pass,
        "PGBACKREST_CIPHER_PASS": cipher_pass,
        "AWS_ACCESS_KEY_ID": creds.user,
        "AWS_SECRET_ACCESS_KEY": creds.key,
    }
    swift_env = write_private(
        directory / "swift.env", f"ST_AUTH={creds.auth_url}\nST_USER={creds.user}\nST_KEY={creds.key}\n"
    )
    s3_env = write_private(directory / "s3.env", f"AWS_ACCESS_KEY_ID={creds.user}\nAWS_SECRET_ACCESS_KEY={creds.key}\n")
    restic_file = write_private(directory / "restic.pass", restic_pass + "\n")
    cipher_file = write_private(directory / "pgbackrest.pass", cipher_pass + "\n")
    by_engine = {engine: name for role, name in hosts for engine in role_model.role(role).backup_engines}
    host = by_engine.get("files") or by_engine.get("postgres") or "none"
    text = (
        "# ccsec drill --lab: the lab's repositories through this machine's 127.0.0.1 (written by `lab up`)\n"
        f'[agent]\nhost = "{host}"\nstate_dir = "{directory / "state"}"\nmetrics_dir = "{directory / "metrics"}"\n\n'
        f'[swift]\ncredentials_file = "{swift_env}"\nca_file = "{aio.ca_file}"\n'
    )
    if "files" in by_engine:
        name = by_engine["files"]
        text += (
            f'\n[files]\nrepository = "swift:{cfg.storage.backup_container}:/{name}"\n'
            f'password_file = "{restic_file}"\npaths = ["/srv/recordings"]\n'
        )
    if "postgres" in by_engine:
        name = by_engine["postgres"]
        text += (
            f'\n[postgres]\nstanza = "{STANZA}"\npg_path = "{PG_HOME_DATA}"\npg_port = 5432\n'
            f'pg_socket_path = "/var/run/postgresql"\ns3_endpoint = "{aio.host}"\ns3_port = {aio.ports.proxy}\n'
            f'bucket = "{cfg.storage.backup_container}"\nrepo_path = "/{name}"\n'
            f's3_credentials_file = "{s3_env}"\ncipher_pass_file = "{cipher_file}"\nca_file = "{aio.ca_file}"\n'
        )
    config = drill_config_path()
    write_private(config, text)  # names the secret files: private too
    target = BackupTarget(guest_gateway, aio.ports.proxy, aio.ca_file.read_text())
    return LabBackup(guest_env, target, config)
