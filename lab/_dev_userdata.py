"""DEVELOPMENT FALLBACK user-data, used only when ``infra.userdata.render_lab_user_data`` cannot be
imported (or when ``CCSEC_LAB_DEV_USERDATA=1`` forces it). It is NOT the baseline: it only installs
the pinned host key and the operator account so the lab machinery itself can be exercised.
"""

from __future__ import annotations

import json

MARKER = "# ccsec lab DEV fallback user-data (not the hardened baseline)"


def render_dev_user_data(
    stack: str,
    role: str,
    hostname: str,
    host_key_private_openssh: str,
    host_key_public_openssh: str,
    admin_user: str,
    admin_public_key: str,
) -> str:
    """Minimal cloud-config with the same signature as ``infra.userdata.render_lab_user_data``."""
    q = json.dumps  # JSON strings are valid YAML scalars: no injection through values
    private = "\n".join("    " + line for line in host_key_private_openssh.strip().splitlines())
    return (
        "#cloud-config\n"
        f"{MARKER}\n"
        f"# stack={stack} role={role}\n"
        f"hostname: {q(hostname)}\n"
        "manage_etc_hosts: localhost\n"
        "disable_root: true\n"
        "ssh_pwauth: false\n"
        "ssh_deletekeys: true\n"
        "ssh_genkeytypes: []\n"
        "ssh_keys:\n"
        "  ed25519_private: |\n"
        f"{private}\n"
        f"  ed25519_public: {q(host_key_public_openssh.strip())}\n"
        "groups: [operators]\n"
        "users:\n"
        f"  - name: {q(admin_user)}\n"
        "    groups: [sudo, operators]\n"
        "    shell: /bin/bash\n"
        "    lock_passwd: true\n"
        '    sudo: "ALL=(ALL) NOPASSWD:ALL"\n'
        f"    ssh_authorized_keys: [{q(admin_public_key.strip())}]\n"
    )
