"""Pack identity and policies, shared by __main__.py (the CLI's gRPC server) and the offline evaluator."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from .rules import ALL_POLICIES

PACK_DIR = Path(__file__).resolve().parent
PACK_NAME = "ccaas-baseline"
DISPLAY_NAME = "ccaas-baseline OpenStack security baseline"
DEFAULT_ENFORCEMENT = EnforcementLevel.ADVISORY  # every policy sets its own level; this is the fallback
PROVIDER = "openstack"


@lru_cache(maxsize=1)
def _manifest() -> dict:
    with open(PACK_DIR / "PulumiPolicy.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def pack_version() -> str:
    """The CLI takes the version from PulumiPolicy.yaml; so does the offline evaluator."""
    return str(_manifest()["version"])


def pack_description() -> str:
    return str(_manifest()["description"]).strip()


def policies() -> list[Policy]:
    return list(ALL_POLICIES)


def servicer(selected: list[Policy] | None = None) -> _PolicyAnalyzerServicer:
    """pulumi_policy's analyzer servicer for this pack (what the CLI talks to over gRPC), built once here."""
    return _PolicyAnalyzerServicer(
        PACK_NAME,
        pack_version(),
        policies() if selected is None else selected,
        DEFAULT_ENFORCEMENT,
        None,
        pack_description(),
        DISPLAY_NAME,
        None,
        PROVIDER,
        None,
        None,
    )
