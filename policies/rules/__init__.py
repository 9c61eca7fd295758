"""All policies of the pack, one module per concern; ``ALL_POLICIES`` is what the pack serves."""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    backups,
    exposure,
    floating_ips,
    fwaas,
    host_baseline,
    identity,
    images,
    instances,
    keymanager,
    listeners,
    object_storage,
    ports,
    providers,
    rbac,
    routing,
    secgroups,
    secrets_in_code,
    segmentation,
    shares,
    volumes,
    vpn,
)

MODULES = (
    secgroups,
    fwaas,
    segmentation,
    floating_ips,
    listeners,
    keymanager,
    volumes,
    object_storage,
    backups,
    identity,
    instances,
    host_baseline,
    providers,
    exposure,
    ports,
    routing,
    rbac,
    secrets_in_code,
    images,
    shares,
    vpn,
)
ALL_POLICIES: list[Policy] = [p for m in MODULES for p in m.POLICIES]
