"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> policies`): serve the pack over gRPC.

This is the only place that constructs PolicyPack, because doing so starts the server and blocks.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # the pack imports policies.* and ccsec.controls from the repo

from pulumi_policy import PolicyPack  # noqa: E402

from policies.pack import (  # noqa: E402
    DEFAULT_ENFORCEMENT,
    DISPLAY_NAME,
    PACK_NAME,
    PROVIDER,
    pack_description,
    policies,
)

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=DEFAULT_ENFORCEMENT,
    description=pack_description(),
    display_name=DISPLAY_NAME,
    provider=PROVIDER,
    tags=["openstack", "pci-dss", "iso27001"],
)
