"""Hosts get their cloud-config gzip-compressed: cloud-init's own code must turn it back into the document.

The oracle is cloud-init itself (Debian's package, installed by scripts/render-deps.sh): its
``convert_string`` is what every datasource (NoCloud in the lab, ConfigDrive/OpenStack in a cloud)
calls on raw user-data. Run with the system Python, where the package lives.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import yaml
from logpath import log_for

from ccsec.infra.stackfile import load_stack_config
from ccsec.infra.userdata import delivery_bytes, nova_user_data, render_user_data
from tests.unit.hostkeys import identity

STACKS = Path(__file__).resolve().parents[2] / "stacks"
SYSTEM_PYTHON = "/usr/bin/python3"
CLOUD_INIT_DECODE = """
import sys
from cloudinit.user_data import convert_string
message = convert_string(sys.stdin.buffer.read())
sys.stdout.buffer.write(message.get_payload(decode=True))
"""


def test_cloud_init_decompresses_what_nova_and_the_lab_deliver() -> None:
    cfg = load_stack_config("dev", STACKS)
    text = render_user_data(cfg, "bastion", "dev-bastion-1", identity(), log=log_for(cfg, "bastion", "dev-bastion-1"))
    sent = delivery_bytes(text)
    assert sent[:2] == b"\x1f\x8b", "gzip stream expected"
    assert base64.b64decode(nova_user_data(text)) == sent
    decoded = subprocess.run(
        [SYSTEM_PYTHON, "-c", CLOUD_INIT_DECODE], input=sent, capture_output=True, check=False, timeout=60
    )
    assert decoded.returncode == 0, f"cloud-init missing or failed (scripts/render-deps.sh): {decoded.stderr[-500:]}"
    assert decoded.stdout.decode() == text
    assert yaml.safe_load(decoded.stdout)["ssh_pwauth"] is False


def test_delivery_is_deterministic() -> None:
    """Same rendering, same bytes: a re-run of the program must not replace every host."""
    cfg = load_stack_config("dev", STACKS)
    text = render_user_data(cfg, "app", "dev-app-1", identity(), log=log_for(cfg, "app", "dev-app-1"))
    assert delivery_bytes(text) == delivery_bytes(text)
