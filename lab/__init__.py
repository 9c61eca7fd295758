"""Local lab: build a Debian 12 image and boot role hosts in QEMU from the stack's cloud-init.

Public API (see :mod:`lab.api`)::

    from ccsec.lab import up, down, status
    state = up(["app"], stack="lab", progress=print)
    status()
    down()

Attributes are imported lazily so that ``lab.image`` can be used without paramiko.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HostState", "LabState", "down", "status", "up"]


def __getattr__(name: str) -> Any:
    if name in ("up", "down", "status"):
        from ccsec.lab import api

        return getattr(api, name)
    if name in ("HostState", "LabState"):
        from ccsec.lab import state

        return getattr(state, name)
    raise AttributeError(name)
