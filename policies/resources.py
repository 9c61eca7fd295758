"""The shape of one resource as the Pulumi engine registered it.

Both the offline plan (mock engine) and the policy evaluation speak this shape, so the
policy pack never needs to know where the resources came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RegisteredResource:
    """One resource registration: engine (camelCase) input names, secrets kept apart."""

    urn: str
    type: str  # e.g. "openstack:networking/secGroupRule:SecGroupRule"
    name: str
    parent: str | None  # parent URN, None for the stack itself
    inputs: dict[str, Any]  # plain values (secrets unwrapped) keyed by engine property name
    secret_inputs: frozenset[str] = field(default_factory=frozenset)  # top-level keys that are Pulumi secrets
    custom: bool = True  # False for ComponentResources
    provider: str = ""  # provider reference, "" for the default provider
    dependencies: tuple[str, ...] = ()
    id: str = ""  # provider id (known after creation; the mock engine makes deterministic ones)
    # engine property name -> URNs its value was computed from (RegisterResourceRequest.propertyDependencies);
    # policies join resources through these, so a join holds when every id is unknown (first preview)
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
