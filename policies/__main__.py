"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> policies`): serve the pack over gRPC.

The CLI executes this file as a script, with only the pack's requirements.txt installed, so nothing here
may import the project. The pack's modules use relative imports; this file loads the pack's own folder as
one package under a private name (no sys.path change) and builds the PolicyPack from it. This is the only
place that constructs PolicyPack, because doing so starts the server and blocks.
"""

import importlib.util
import sys
from pathlib import Path

PACKAGE_NAME = "ccaas_policy_pack"
PACK_FOLDER = Path(__file__).resolve().parent


def load_pack_package(folder: Path = PACK_FOLDER):
    """Import ``folder`` as the package ``ccaas_policy_pack`` and return its ``pack`` module."""
    spec = importlib.util.spec_from_file_location(
        PACKAGE_NAME, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE_NAME] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE_NAME}.pack")


if __name__ == "__main__":
    from pulumi_policy import PolicyPack

    pack = load_pack_package()
    PolicyPack(
        name=pack.PACK_NAME,
        policies=pack.policies(),
        enforcement_level=pack.DEFAULT_ENFORCEMENT,
        description=pack.pack_description(),
        display_name=pack.DISPLAY_NAME,
        provider=pack.PROVIDER,
        tags=["openstack", "pci-dss", "iso27001"],
    )
