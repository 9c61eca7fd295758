"""Shared fixtures: each committed stack planned once per session under the mock engine."""

from __future__ import annotations

from functools import cache

import pytest

from ccsec.infra.config import StackConfig
from ccsec.infra.stackfile import load_stack_config
from ccsec.plan import PlanReport, plan
from ccsec.policies.resources import RegisteredResource

STACKS = ("dev", "prod", "lab")


@cache
def planned(stack: str) -> PlanReport:
    return plan(stack)


class Inventory:
    """Query helpers over one plan, so tests read like the property they assert."""

    def __init__(self, report: PlanReport, cfg: StackConfig):
        self.report = report
        self.cfg = cfg
        self.resources = report.resources
        self.by_urn = {r.urn: r for r in self.resources}
        self.by_id = {r.id: r for r in self.resources if r.id}

    def of_type(self, suffix: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type.endswith(suffix)]

    def parent(self, resource: RegisteredResource) -> RegisteredResource:
        return self.by_urn[resource.parent]

    def role_of_group(self, group: RegisteredResource) -> str:
        tags = [t for t in group.inputs.get("tags", []) if t.startswith("ccaas-role=")]
        assert len(tags) == 1, f"{group.name} must carry exactly one ccaas-role tag"
        return tags[0].split("=", 1)[1]

    def rule_role(self, rule: RegisteredResource) -> str:
        return self.role_of_group(self.by_id[rule.inputs["securityGroupId"]])

    def remote_role(self, rule: RegisteredResource) -> str | None:
        remote = rule.inputs.get("remoteGroupId")
        return self.role_of_group(self.by_id[remote]) if remote else None

    def instances(self, role: str | None = None) -> list[RegisteredResource]:
        return [r for r in self.of_type(":Instance") if role is None or r.inputs["metadata"]["role"] == role]


@pytest.fixture(params=STACKS)
def inventory(request: pytest.FixtureRequest) -> Inventory:
    return Inventory(planned(request.param), load_stack_config(request.param))


@pytest.fixture
def prod() -> Inventory:
    return Inventory(planned("prod"), load_stack_config("prod"))
