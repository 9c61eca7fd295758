"""A log path (HOST-15) for rendering tests: one CA per test run, a real certificate per host name.

The certificates come from the lab's issuer (cryptography), not from the code that renders them; tests
compare the rendered files with these PEMs byte for byte.
"""

from __future__ import annotations

from functools import lru_cache

from ccsec.infra.userdata import LogPath, LogTarget, log_tls_name
from ccsec.lab.log_pki import Issued, issue, new_ca

LOG_HOST_ADDRESS = "10.20.40.50"  # where senders connect in these tests (the mgmt zone of the dev stack)


@lru_cache(maxsize=1)
def test_ca() -> Issued:
    return new_ca("test log CA")


@lru_cache(maxsize=64)
def _leaf(name: str, server: bool) -> Issued:
    return issue(test_ca(), name, server=server)


def log_path(stack: str, role: str, hostname: str) -> LogPath:
    """What the program gives one host: the CA, its own certificate, and ``<stack>-loghost-1`` as target."""
    leaf = _leaf(log_tls_name(hostname, stack), role == "loghost")
    target = LogTarget(LOG_HOST_ADDRESS, log_tls_name(f"{stack}-loghost-1", stack))
    return LogPath(test_ca().cert_pem, leaf.cert_pem, leaf.key_pem, (target,))


def log_for(cfg, role: str, hostname: str) -> LogPath:
    """:func:`log_path` for a parsed stack config."""
    return log_path(cfg.stack, role, hostname)
