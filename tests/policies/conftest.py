"""Helpers for policy tests: a compliant stack to mutate, and one evaluator per config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from ccsec.policies.offline import Evaluator, Violation
from ccsec.policies.resources import RegisteredResource
from ccsec_testbeds.synthetic import compliant_stack

Stack = list[RegisteredResource]


@pytest.fixture(scope="session")
def baseline() -> Stack:
    return compliant_stack()


@pytest.fixture(scope="session")
def run() -> Callable[..., list[Violation]]:
    """run(resources, config=None, exact=False) -> violations, through pulumi_policy's servicer."""
    cache: dict[tuple[str, bool], Evaluator] = {}

    def _run(resources: Stack, config: Mapping[str, Any] | None = None, exact: bool = False) -> list[Violation]:
        key = (repr(sorted((config or {}).items())), exact)
        if key not in cache:
            cache[key] = Evaluator(config, exact=exact)
        return cache[key].evaluate(resources)

    return _run
