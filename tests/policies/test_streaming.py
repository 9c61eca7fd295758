"""`ccsec plan` analyzes each resource while the program still runs (as the engine does at registration).

The oracle is the batch evaluation of the same resources (pulumi_policy's servicers, all resources
known up front): streaming must give the same violations in the same order, also when a provider is
registered after a resource that uses it, and when the completed run differs from what was streamed.
"""

from __future__ import annotations

from dataclasses import replace

from policy_cases import five_line_ssh

from ccsec.mockrun import run_program
from ccsec.plan import DEFAULT_PROGRAM, read_stack
from ccsec.policies.offline import Evaluator, StreamingEvaluation
from ccsec.policies.rules import _props as t
from ccsec_testbeds.synthetic import compliant_stack, res


def _streamed(resources, order=None):
    stream = StreamingEvaluation(Evaluator({}))
    for r in order or resources:
        stream.add(r)
    return stream.finish(resources)


def test_streaming_equals_batch_on_a_violating_stack() -> None:
    stack = five_line_ssh(compliant_stack())
    batch = Evaluator({}).evaluate(stack)
    assert batch and _streamed(stack) == batch


def test_a_provider_registered_late_is_looked_up_with_the_whole_stack() -> None:
    provider = res(t.OPENSTACK_PROVIDER, "os", {"insecure": "true", "authUrl": "http://keystone:5000/v3"})
    user = replace(res(t.SEC_GROUP, "fw-late", {"name": "late"}), provider=f"{provider.urn}::prov-id")
    stack = [*compliant_stack(), user, provider]
    batch = Evaluator({}).evaluate(stack)
    assert [v for v in batch if v.urn == provider.urn], "the insecure provider itself is judged"
    stream = StreamingEvaluation(Evaluator({}))
    for r in stack:
        stream.add(r)
    assert user.urn not in stream._found, "a resource whose provider is not registered yet waits for finish()"
    assert stream.finish(stack) == batch


def test_a_run_that_differs_from_the_stream_is_evaluated_from_scratch() -> None:
    stack = five_line_ssh(compliant_stack())
    stream = StreamingEvaluation(Evaluator({}))
    for r in compliant_stack():  # streamed something else
        stream.add(r)
    assert stream.finish(stack) == Evaluator({}).evaluate(stack)


def test_the_real_program_streamed_through_run_program_equals_batch() -> None:
    raw = read_stack("dev", None)
    stream = StreamingEvaluation(Evaluator({}))
    seen = []

    def add(r):
        seen.append(r.urn)
        stream.add(r)

    run = run_program(DEFAULT_PROGRAM, "dev", raw.config, raw.secret_keys, on_resource=add)
    assert seen == [r.urn for r in run.resources] and len(seen) > 50
    assert stream.finish(run.resources) == Evaluator({}).evaluate(run.resources)
