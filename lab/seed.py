"""NoCloud seed: an ISO 9660 volume labelled ``cidata`` with meta-data and user-data."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ccsec.backup.private_files import write_private
from ccsec.infra.userdata import delivery_bytes


def meta_data(instance_id: str, hostname: str) -> str:
    """NoCloud meta-data document (YAML)."""
    return f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n"


TWO_NICS_NETWORK_CONFIG = """version: 2
ethernets:
  eth0:
    dhcp4: true
  eth1:
    dhcp4: true
"""


def write_seed(path: Path, instance_id: str, hostname: str, user_data: str, network_config: str = "") -> None:
    """Write the seed ISO to ``path`` (mode 0600: user-data holds the host's private key).

    ``user_data`` is the rendered cloud-config; the seed carries it as a stack's host gets it from
    Nova (gzip-compressed), so every lab boot proves cloud-init's decompression path too.
    genisoimage writes into a private temp dir; the ISO reaches ``path`` through the one private-file
    writer (created 0600, never through a symlink, atomic rename).
    """
    with tempfile.TemporaryDirectory(prefix="ccsec-seed-") as tmp:  # 0700
        d = Path(tmp)
        (d / "meta-data").write_text(meta_data(instance_id, hostname))
        (d / "user-data").write_bytes(delivery_bytes(user_data))  # the same bytes Nova delivers (gzip)
        files = [str(d / "user-data"), str(d / "meta-data")]
        if network_config:
            (d / "network-config").write_text(network_config)
            files.append(str(d / "network-config"))
        iso = d / "seed.iso"
        res = subprocess.run(
            [
                "genisoimage",
                "-quiet",
                "-output",
                str(iso),
                "-volid",
                "cidata",
                "-joliet",
                "-rock",
                *files,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(f"genisoimage failed: {res.stderr.strip()}")
        write_private(path, iso.read_bytes())
