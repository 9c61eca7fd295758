"""The pack as the Pulumi CLI runs it: `python -m pulumi.policy <engine> policies`, then gRPC calls.

Proves __main__.py builds a valid PolicyPack server and that its answers match the offline evaluator.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from policy_cases import five_line_ssh
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from ccsec.policies.metadata import pack_metadata
from ccsec.policies.offline import evaluate, to_struct
from ccsec.policies.pack_config import configure_request, reconcile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "policies"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip().isdigit(), (
            f"pack did not print its port: {line!r} {proc.stderr.read() if proc.poll() else ''}"
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{line.strip()}")
        grpc.channel_ready_future(channel).result(timeout=20)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_server_describes_every_policy(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(_empty())
    assert info.name == "ccaas-baseline"
    assert [p.name for p in info.policies] == [m.name for m in pack_metadata()]


def test_server_and_offline_agree_on_the_ssh_program(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(_empty())
    analyzer.Configure(configure_request(reconcile(info, {"secgroup-ssh-admin-cidrs": "advisory"})))
    resources = five_line_ssh([])
    remote = []
    for r in resources:
        response = analyzer.Analyze(
            proto.AnalyzeRequest(type=r.type, urn=r.urn, name=r.name, properties=to_struct(r.inputs, r.secret_inputs))
        )
        remote += [(d.policyName, d.enforcementLevel == proto.MANDATORY, d.message) for d in response.diagnostics]
    local = [
        (v.policy, v.mandatory, v.message)
        for v in evaluate(resources, {"secgroup-ssh-admin-cidrs": "advisory"})
        if v.urn != ""
    ]
    stack_policies = {m.name for m in pack_metadata() if m.kind == "stack"}
    assert remote == [x for x in local if x[0] not in stack_policies]
    assert ("secgroup-ssh-admin-cidrs", False) in {(p, m) for p, m, _ in remote}
    assert ("secgroup-ingress-from-anywhere", True) in {(p, m) for p, m, _ in remote}


def _empty():
    from google.protobuf import empty_pb2

    return empty_pb2.Empty()
