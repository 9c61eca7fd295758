"""The stack policies' forked workers (policies/parallel.py): the same verdicts as one process, whatever a
child does; and the split itself."""

from __future__ import annotations

import os

import pytest
from policy_cases import VIOLATING

from ccsec.policies.offline import Evaluator
from ccsec.policies.parallel import balance, forked_map
from ccsec_testbeds.synthetic import compliant_stack, synthetic_servers

# a stack policy of each kind of join: ports and groups, routing, floating IPs, secrets
SAMPLE = [c for c in VIOLATING if c[0].split("-")[0] in {"port", "router", "floating", "no", "instance"}][:12]


def test_balance_spreads_weight_and_keeps_every_job_once() -> None:
    groups = balance([5, 1, 1, 1, 1, 1], 2)
    assert sorted(i for g in groups for i in g) == list(range(6))
    assert sorted(sum([5, 1, 1, 1, 1, 1][i] for i in g) for g in groups) == [5, 5]
    assert balance([3], 4) == [[0]] and balance([], 2) == []


def test_jobs_run_in_other_processes_and_come_back_in_order() -> None:
    jobs = [lambda i=i: f"{i}:{os.getpid()}".encode() for i in range(8)]
    results = forked_map(jobs, [1] * 8, workers=3)
    assert [r.split(b":")[0] for r in results] == [str(i).encode() for i in range(8)]
    assert len({r.split(b":")[1] for r in results}) == 3, "three processes should have shared the jobs"


@pytest.mark.parametrize("failure", ["exit", "raise", "kill"])
def test_a_child_that_fails_costs_time_not_a_result(failure: str) -> None:
    parent = os.getpid()

    def job(i: int) -> bytes:
        if os.getpid() != parent:
            if failure == "exit":
                os._exit(7)
            if failure == "kill":
                os.kill(os.getpid(), 9)
            raise RuntimeError("a child's job failed")
        return f"done {i} by the parent".encode()

    results = forked_map([lambda i=i: job(i) for i in range(4)], [1] * 4, workers=2)
    assert results == [f"done {i} by the parent".encode() for i in range(4)]


def test_a_failing_job_in_the_parent_propagates_and_leaves_no_child_behind() -> None:
    def boom() -> bytes:
        raise ValueError("the parent's own job")

    with pytest.raises(ValueError, match="parent's own job"):
        forked_map([boom, lambda: b"slow child"], [1, 1], workers=2)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_small_batches_stay_in_this_process() -> None:
    results = forked_map([lambda: str(os.getpid()).encode()] * 4, [1] * 4, workers=4, min_weight=100)
    assert set(results) == {str(os.getpid()).encode()}


@pytest.mark.parametrize(("policy", "case", "build", "config"), SAMPLE, ids=[f"{c[0]}:{c[1]}" for c in SAMPLE])
def test_forked_stack_policies_give_the_verdicts_of_one_process(policy, case, build, config) -> None:
    stack = build(compliant_stack())
    serial = Evaluator(config, workers=1).evaluate(stack)
    assert Evaluator(config, workers=3, parallel_min=0).evaluate(stack) == serial
    assert any(v.policy == policy for v in serial), f"{case}: the sample case no longer violates {policy}"


def test_forked_stack_policies_on_a_large_stack() -> None:
    stack = synthetic_servers(200)
    assert Evaluator(workers=2, parallel_min=0).evaluate(stack) == Evaluator(workers=1).evaluate(stack)
