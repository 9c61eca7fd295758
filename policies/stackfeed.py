"""Which resources each stack policy is sent, gathered one registration at a time.

The engine sends every stack policy every resource; the offline evaluator sends each only what it
reads (see ``offline.Evaluator``). Deciding that per resource as it registers, rather than once the
program ends, lets ``ccsec plan`` do the work while the program is still running, so only the
policies themselves remain for the end. The batch path feeds the same class all resources at once:
one rule, whichever way the resources arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .resources import RegisteredResource
from .rules._meta import Selector
from .rules._props import UNKNOWN_SENTINELS
from .rules.secrets_in_code import secret_paths, top_key


@dataclass(frozen=True)
class StackPart:
    """What decides the resources one stack policy is sent.

    ``reads`` None means every type (narrowed by ``select`` when given); ``follows`` names inputs whose
    sources go along when the input is unknown (a preview), whatever their type.
    """

    name: str
    reads: frozenset[str] | None
    follows: tuple[str, ...] = ()
    select: Selector | None = None
    settings: Mapping[str, Any] | None = None  # the policy's config, as the selector reads it


class StackFeed:
    """Per stack policy, the URNs it is sent; plus which secret-named inputs each resource keeps secret."""

    def __init__(self, parts: list[StackPart]) -> None:
        self.parts = parts
        self._picked: list[set[str]] = [set() for _ in parts]
        self._index: dict[str, int] = {}
        self.secret_keys: dict[str, list[str]] = {}  # urn -> secret-named top-level inputs the engine encrypts

    def add(self, r: RegisteredResource) -> bool:
        """Record one registration; True if some stack policy is sent this resource itself."""
        self._index[r.urn] = len(self._index)
        sent = False
        for part, picked in zip(self.parts, self._picked, strict=True):
            if part.reads is None:
                if part.select is None or part.select(r.type, r.inputs, part.settings or {}):
                    picked.add(r.urn)
                    sent = True
            elif r.type in part.reads:
                picked.add(r.urn)
                sent = True
                for prop in part.follows:
                    value = r.inputs.get(prop)
                    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
                        picked.update(r.property_dependencies.get(prop, ()))
        if r.secret_inputs:  # nothing to tell about a resource without secret inputs
            keys = {top_key(p) for p in secret_paths(r.type, r.inputs)} & set(r.secret_inputs)
            if keys:
                self.secret_keys[r.urn] = sorted(keys)
        return sent

    def sent(self, position: int) -> list[str]:
        """The URNs part ``position`` is sent, in registration order (a followed source outside the run is dropped)."""
        index = self._index
        return sorted((urn for urn in self._picked[position] if urn in index), key=index.__getitem__)

    def matches(self, resources: list[RegisteredResource]) -> bool:
        """Fed exactly these resources, in this order (else the caller feeds a new one)."""
        return len(resources) == len(self._index) and all(self._index.get(r.urn) == i for i, r in enumerate(resources))
