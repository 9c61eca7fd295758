"""The role model's facts as the policy pack's config, so the pack judges a stack by its declared model.

The pack (policies/) is self-contained and ships the baseline's roles as its config defaults; this
is where those values come from for our own program (`ccsec plan`, `ccsec policy-config`). Only
facts that classify roles or list flows travel: the controls themselves (only the lb is public, only
the bastion is an SSH source, only app reaches the PCI zone) stay the pack's, so a model edit cannot
quietly loosen them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ccsec.infra import roles as model
from ccsec.infra.config import StackConfig
from ccsec.infra.firewall_rules import allowed_flows

RESTRICTED_EGRESS_ZONES = ("data", "pci")  # NET-05: the data and PCI tiers (and the log host, by role)
PCI_ZONES = ("pci",)  # NET-07


def pack_config_values(cfg: StackConfig, roles: Iterable[model.Role] | None = None) -> dict[str, Any]:
    """Policy config properties (JSON-able) for `policies.metadata.config_for`."""
    catalogue = list(model.MODEL if roles is None else roles)
    return {
        "allowedFlows": allowed_flows(cfg, catalogue),
        "statefulRoles": [r.name for r in catalogue if r.stateful],
        "restrictedEgressRoles": [
            r.name for r in catalogue if r.zone in RESTRICTED_EGRESS_ZONES or r.name == model.LOG_HOST_ROLE
        ],
        "pciRoles": [r.name for r in catalogue if r.zone in PCI_ZONES],
    }
