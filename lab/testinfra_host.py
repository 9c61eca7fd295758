"""testinfra hosts for lab VMs over a pinned paramiko connection.

testinfra's own ``paramiko://`` backend uses ``paramiko.WarningPolicy`` and loads no known_hosts
file, i.e. it accepts any host key. This helper gives testinfra a client made by
:func:`lab.ssh.connect` (RejectPolicy + the lab's known_hosts) instead.
"""

from __future__ import annotations

from testinfra.backend.paramiko import ParamikoBackend
from testinfra.host import Host

from ccsec.lab.ssh import connect
from ccsec.lab.state import HostState


def testinfra_host(host: HostState, *, sudo: bool = False) -> Host:
    """A ``testinfra.host.Host`` for a lab VM whose SSH host key is pinned."""
    backend = ParamikoBackend(
        f"paramiko://{host.user}@{host.ssh_host}:{host.ssh_port}",
        ssh_identity_file=host.identity_file,
        sudo=sudo,
    )
    # Pre-fill the cached_property so testinfra never builds its own (WarningPolicy) client.
    backend.__dict__["client"] = connect(
        host.ssh_host, host.ssh_port, host.user, host.identity_file, host.known_hosts_file
    )
    return Host(backend)
