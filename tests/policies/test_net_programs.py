"""Network classes as small pulumi_openstack programs, each run with ids known (mock) and all ids unknown (preview).

The program runs in the child process of `ccsec plan` (run_program); ``preview=True`` is a first
`pulumi preview` of a fresh stack: every id and computed output is unknown, and the policies join
resources through the registrations' property dependencies. Each mutation must be blocked by the
same mandatory policy in both modes, and the compliant program must pass both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccsec.mockrun import run_program
from ccsec.policies.metadata import config_for
from ccsec.policies.offline import Evaluator
from ccsec.policies.rules import exposure, floating_ips, ports, rbac, routing, secgroups, segmentation

PROGRAM = Path(__file__).resolve().parent.parent / "fixtures" / "programs" / "net" / "mini_stack.py"
NETWORK_POLICIES = {
    p.name for m in (exposure, floating_ips, ports, rbac, routing, secgroups, segmentation) for p in m.POLICIES
}
CONFIG = config_for(adminCidrs=["198.51.100.0/28"])
MUTATIONS = {
    "app-db-ssh": "secgroup-ssh-from-bastion",
    "internet-halves": "secgroup-internet-ingress",
    "ipv6-anywhere-spelling": "secgroup-internet-ingress",
    "address-group-anywhere": "secgroup-internet-ingress",
    "app-egress-internet": "secgroup-no-internet-egress",
    "port-security-off": "port-security-enabled",
    "address-pairs-any": "port-address-pairs-narrow",
    "sriov": "port-vnic-normal",
    "no-groups": "port-explicit-security-groups",
    "port-on-external": "no-external-network-attachment",
    "pci-on-edge-router": "router-no-route-out-data-pci",
    "default-route-on-core": "router-no-route-out-data-pci",
    "rbac-wildcard": "rbac-no-wildcard-grant",
    "shared-network": "network-not-shared",
    "port-forwarding": "floating-ip-no-port-forwarding",
    "fip-bastion-tag-internal-port": "floating-ip-target-verified",
}


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(CONFIG)


def _network_verdicts(mutation: str, preview: bool, evaluator: Evaluator) -> set[tuple[str, str]]:
    saved = os.environ.get("CCSEC_NET_MUTATION")
    os.environ["CCSEC_NET_MUTATION"] = mutation
    try:
        run = run_program(PROGRAM, "dev", {}, [], preview=preview)
    finally:
        if saved is None:
            os.environ.pop("CCSEC_NET_MUTATION", None)
        else:
            os.environ["CCSEC_NET_MUTATION"] = saved
    if preview:  # the preview really had unknown ids: every SecGroupRule's securityGroupId is unknown
        rules = [r for r in run.resources if r.type.endswith("SecGroupRule")]
        assert rules and all(r.inputs["securityGroupId"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9" for r in rules)
    found = set()
    for v in evaluator.evaluate(run.resources):
        if v.policy in NETWORK_POLICIES or "during preview" in v.message:
            found.add((v.policy, v.enforcement))
    return found


@pytest.mark.parametrize("preview", [False, True], ids=["mock", "preview"])
def test_compliant_program_passes(preview: bool, evaluator: Evaluator) -> None:
    assert {p for p, _ in _network_verdicts("", preview, evaluator) if p in NETWORK_POLICIES} == set()


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_class_blocked_with_and_without_ids(mutation: str, evaluator: Evaluator) -> None:
    known = _network_verdicts(mutation, False, evaluator)
    unknown = _network_verdicts(mutation, True, evaluator)
    assert (MUTATIONS[mutation], "mandatory") in known
    assert known == unknown, "a first preview must give the same network verdicts as a mock run with ids"
