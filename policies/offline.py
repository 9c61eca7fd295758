"""Offline policy evaluation through pulumi_policy's own analyzer servicer.

`pulumi preview --policy-pack` starts the pack's gRPC server and the engine calls GetAnalyzerInfo,
Configure, then Analyze for every registered resource and AnalyzeStack once. Here the same servicer
class is called in-process with the same protobuf messages, so enforcement levels, config, not-applicable
handling and violation text are pulumi_policy's, not ours. The engine analyzes every registered
resource, components and providers included (pkg/resource/deploy/step_generator.go); here a resource
whose type no resource policy inspects is skipped, which cannot change the result.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from . import pack
from .controls import load_catalogue
from .pack_config import configure_request, reconcile
from .parallel import available_cpus, forked_map
from .resources import RegisteredResource
from .rules._meta import CONTROL_TAG, RESOURCE_TYPES, STACK_FOLLOWS, STACK_READS, STACK_SELECT
from .rules.secrets_in_code import POLICY_NAME as SECRETNESS_POLICY
from .stackfeed import StackFeed, StackPart

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
MAX_STACK_WORKERS = 4  # forked workers for the stack policies after the run (see parallel.py) ...
PARALLEL_MIN_MESSAGES = 2000  # ... once they are sent this many resources in all (a fork costs ~10 ms)
_ENFORCEMENT = {
    proto.ADVISORY: "advisory",
    proto.MANDATORY: "mandatory",
    proto.REMEDIATE: "mandatory",
    proto.DISABLED: "disabled",
}
_SEVERITY = {
    proto.POLICY_SEVERITY_UNSPECIFIED: "",
    proto.POLICY_SEVERITY_LOW: "low",
    proto.POLICY_SEVERITY_MEDIUM: "medium",
    proto.POLICY_SEVERITY_HIGH: "high",
    proto.POLICY_SEVERITY_CRITICAL: "critical",
}


@dataclass(frozen=True)
class Violation:
    """One policy diagnostic, joined to its control and framework references."""

    policy: str
    urn: str
    severity: str  # critical | high | medium | low | "" (e.g. a policy that could not run)
    enforcement: str  # mandatory | advisory
    message: str  # pulumi_policy's text: the policy description, then the specific finding
    frameworks: tuple[dict[str, str], ...] = field(default_factory=tuple)
    control: str = ""

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["frameworks"] = [dict(f) for f in self.frameworks]
        return data


def _plain(value: Any) -> Any:
    """JSON-compatible form for a protobuf Struct; unknowns become the engine's unknown sentinel."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Unknown":
        return UNKNOWN_STRING_VALUE
    return str(value)


def to_struct(inputs: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> struct_pb2.Struct:
    """Serialise inputs as the engine does, wrapping secret top-level values in the secret signature."""
    secrets = set(secret_keys)
    data = {}
    for key, value in inputs.items():
        plain = _plain(value)
        data[key] = {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": plain} if key in secrets else plain
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


def _provider_message(ref: str, by_urn: Mapping[str, RegisteredResource]) -> proto.AnalyzerProviderResource | None:
    """A provider reference is "<provider urn>::<id>"; describe it the way the engine does."""
    if not ref:
        return None
    urn = ref.rsplit("::", 1)[0]
    prov = by_urn.get(urn)
    if prov is not None:
        return proto.AnalyzerProviderResource(
            type=prov.type, urn=prov.urn, name=prov.name, properties=to_struct(prov.inputs, prov.secret_inputs)
        )
    parts = urn.split("::")
    return proto.AnalyzerProviderResource(type=parts[-2] if len(parts) >= 2 else "", urn=urn, name=parts[-1])


def _described(r: RegisteredResource, by_urn: Mapping[str, RegisteredResource]) -> dict[str, Any]:
    """The fields Analyze and AnalyzeStack messages share, as the engine fills them."""
    return {
        "type": r.type,
        "urn": r.urn,
        "name": r.name,
        "properties": to_struct(r.inputs, r.secret_inputs),
        "options": proto.AnalyzerResourceOptions(parent=r.parent or ""),
        "provider": _provider_message(r.provider, by_urn),
    }


def stack_message(r: RegisteredResource, by_urn: Mapping[str, RegisteredResource]) -> proto.AnalyzerResource:
    """One resource as AnalyzeStack receives it: Analyze's fields plus parent and dependencies."""
    return proto.AnalyzerResource(
        **_described(r, by_urn),
        parent=r.parent or "",
        dependencies=list(r.dependencies),
        propertyDependencies={
            k: proto.AnalyzerPropertyDependencies(urns=list(v)) for k, v in r.property_dependencies.items()
        },
    )


def root_stack_urn(resources: Sequence[RegisteredResource]) -> str:
    """Where the engine files stack violations that name no resource of the stack."""
    for r in resources:
        if r.type == ROOT_STACK_TYPE:
            return r.urn
    if not resources:
        return ""
    head = resources[0].urn.split("::")  # urn:pulumi:<stack>::<project>::<type>::<name>
    stack, project = head[0].removeprefix("urn:pulumi:"), head[1] if len(head) > 1 else ""
    return f"urn:pulumi:{stack}::{project}::{ROOT_STACK_TYPE}::{project}-{stack}"


def _analyze_stack(servicer: _PolicyAnalyzerServicer, request: proto.AnalyzeStackRequest) -> bytes:
    """One stack policy's AnalyzeStack, serialized (it may run in a forked worker: see parallel.py)."""
    return servicer.AnalyzeStack(request, None).SerializeToString()


class Evaluator:
    """Configured pulumi_policy servicers; evaluate() may be called for many resource lists.

    The pack's full servicer answers GetAnalyzerInfo and defines the config. For speed, Analyze goes
    to a servicer holding only the policies that inspect the resource's type, and each stack policy
    gets a servicer of its own fed only the types it reads, or what its selector picks (declared in
    the rules, applied by ``stackfeed``). Every servicer is
    configured identically, so diagnostics are the same as from one servicer (``exact=True`` runs the
    single full servicer, and the tests compare both ways).
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        exact: bool = False,
        workers: int = 0,
        parallel_min: int = PARALLEL_MIN_MESSAGES,
    ) -> None:
        self.exact = exact
        self.workers = workers or min(available_cpus(), MAX_STACK_WORKERS)  # stack policies run in parallel
        self.parallel_min = parallel_min
        self._policies = pack.policies()
        self._full = self._servicer(self._policies)
        self.info: proto.AnalyzerInfo = self._full.GetAnalyzerInfo(None, None)
        self.config = reconcile(self.info, config)  # raises PolicyConfigError like the CLI would
        self._configure = configure_request(self.config)
        self._full.Configure(self._configure, None)
        catalogue = load_catalogue()
        self._control = {p.name: _control_of(p) for p in self.info.policies}
        self._frameworks = {
            name: tuple(f.as_dict() for f in catalogue.framework_refs(cid)) if cid else ()
            for name, cid in self._control.items()
        }
        self._by_type: dict[str, _PolicyAnalyzerServicer | None] = {}
        stack_policies = [p for p in self._policies if isinstance(p, StackValidationPolicy)]
        # One servicer per stack policy, fed only what it reads: pulumi_policy converts every resource
        # it is sent once per stack policy, so sending a policy the union of all reads costs them all.
        self._stack_parts: list[tuple[_PolicyAnalyzerServicer, StackPart]] = []
        self._by_name: dict[str, _PolicyAnalyzerServicer] = {}
        for p in stack_policies:
            entry = self.config.get(p.name)
            part = StackPart(
                p.name,
                STACK_READS.get(p.name),
                STACK_FOLLOWS.get(p.name, ()),
                STACK_SELECT.get(p.name),
                entry.properties if entry else {},
            )
            self._by_name[p.name] = self._servicer([p])
            self._stack_parts.append((self._by_name[p.name], part))

    def _servicer(self, policies: list[Policy]) -> _PolicyAnalyzerServicer:
        servicer = pack.servicer(policies)
        if hasattr(self, "_configure"):
            servicer.Configure(self._configure, None)
        return servicer

    def _for_type(self, type_token: str) -> _PolicyAnalyzerServicer | None:
        """The servicer with the resource policies that inspect this type (None if there are none)."""
        if self.exact:
            return self._full
        if type_token not in self._by_type:
            chosen = [
                p
                for p in self._policies
                if isinstance(p, ResourceValidationPolicy)
                and (RESOURCE_TYPES.get(p.name) is None or type_token in RESOURCE_TYPES[p.name])
            ]
            self._by_type[type_token] = self._servicer(chosen) if chosen else None
        return self._by_type[type_token]

    def _violation(self, d: proto.AnalyzeDiagnostic, urn: str) -> Violation:
        return Violation(
            policy=d.policyName,
            urn=urn,
            severity=_SEVERITY.get(d.severity, ""),
            enforcement=_ENFORCEMENT.get(d.enforcementLevel, "advisory"),
            message=d.message,
            frameworks=self._frameworks.get(d.policyName, ()),
            control=self._control.get(d.policyName, ""),
        )

    def analyze_resource(self, r: RegisteredResource, by_urn: Mapping[str, RegisteredResource]) -> list[Violation]:
        """The engine's Analyze call for one resource (its provider looked up in ``by_urn``)."""
        servicer = self._for_type(r.type)
        if servicer is None:
            return []  # no policy inspects this type: the full servicer would report nothing
        request = proto.AnalyzeRequest(**_described(r, by_urn))
        # the engine files these under the resource's URN
        return [self._violation(d, r.urn) for d in servicer.Analyze(request, None).diagnostics]

    def analyze_resources(self, resources: Sequence[RegisteredResource]) -> list[Violation]:
        """One Analyze call per resource, as the engine makes while registering them."""
        by_urn = {r.urn: r for r in resources}
        return [v for r in resources for v in self.analyze_resource(r, by_urn)]

    def stack_feed(self) -> StackFeed:
        """An empty feed of this evaluator's stack servicers (one part for the full servicer when exact)."""
        if self.exact:
            return StackFeed([StackPart("every stack policy", None)])
        return StackFeed([part for _, part in self._stack_parts])

    def fed(self, resources: Sequence[RegisteredResource]) -> StackFeed:
        feed = self.stack_feed()
        for r in resources:
            feed.add(r)
        return feed

    def analyze_stack(
        self,
        resources: Sequence[RegisteredResource],
        feed: StackFeed | None = None,
        messages: dict[str, proto.AnalyzerResource] | None = None,
    ) -> list[Violation]:
        """What the engine's single AnalyzeStack call reports once all resources are registered.

        ``feed`` (fed exactly ``resources``) and ``messages`` (built so far) come from a streamed run.
        """
        resources = list(resources)
        if feed is None or not feed.matches(resources):
            feed = self.fed(resources)
        by_urn = {r.urn: r for r in resources}
        messages = {} if messages is None else messages
        servicers = [self._full] if self.exact else [servicer for servicer, _ in self._stack_parts]
        root = root_stack_urn(resources)
        requests = [
            proto.AnalyzeStackRequest(
                resources=[
                    messages[urn] if urn in messages else messages.setdefault(urn, stack_message(by_urn[urn], by_urn))
                    for urn in feed.sent(position)
                ]
            )
            for position in range(len(servicers))
        ]
        jobs = [functools.partial(_analyze_stack, s, r) for s, r in zip(servicers, requests, strict=True)]
        weights = [len(r.resources) for r in requests]
        out: list[Violation] = []
        for raw in forked_map(jobs, weights, self.workers, self.parallel_min):
            for d in proto.AnalyzeResponse.FromString(raw).diagnostics:
                out.append(self._violation(d, d.urn if d.urn in by_urn else root))
        return out

    def _tell_secretness(self, feed: StackFeed) -> None:
        """Give no-plaintext-secret-inputs what the engine knows and pulumi_policy hides: which inputs are secrets.

        Only the secret-named inputs of each resource are listed (the map stays small); the user's own
        config for that policy is kept, and the program under test has no way to reach it.
        """
        entry = self.config.get(SECRETNESS_POLICY)
        if entry is None:
            return
        entry.properties.update(secretnessKnown=True, secretInputs=dict(feed.secret_keys))
        request = configure_request(self.config)
        for servicer in (self._full, self._by_name.get(SECRETNESS_POLICY)):
            if servicer is not None:
                servicer.Configure(request, None)

    def evaluate(self, resources: Sequence[RegisteredResource]) -> list[Violation]:
        """Analyze each resource, then AnalyzeStack; violations in engine order."""
        resources = list(resources)
        feed = self.fed(resources)
        self._tell_secretness(feed)
        return self.analyze_resources(resources) + self.analyze_stack(resources, feed)


class StreamingEvaluation:
    """Analyze each resource while the program is still registering the rest, as the engine does.

    ``add`` is called once per registration, in registration order (from ccsec.mockrun's reader);
    ``finish`` takes the completed run's resources and returns exactly what ``Evaluator.evaluate``
    would: a resource whose provider was not registered yet when it arrived, or a run whose resources
    differ from what was streamed, is analyzed again with the whole stack.
    """

    def __init__(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator
        self._by_urn: dict[str, RegisteredResource] = {}
        self._found: dict[str, list[Violation]] = {}
        self._order: list[RegisteredResource] = []
        self._feed = evaluator.stack_feed()
        self._messages: dict[str, proto.AnalyzerResource] = {}  # AnalyzeStack's, built while the program runs

    def add(self, resource: RegisteredResource) -> None:
        self._order.append(resource)
        self._by_urn[resource.urn] = resource
        sent_to_stack = self._feed.add(resource)
        provider = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
        if provider and provider not in self._by_urn:
            return  # analyzed in finish(), with its provider
        self._found[resource.urn] = self._evaluator.analyze_resource(resource, self._by_urn)
        if sent_to_stack:
            self._messages[resource.urn] = stack_message(resource, self._by_urn)

    def finish(self, resources: Sequence[RegisteredResource]) -> list[Violation]:
        resources = list(resources)
        if len(resources) != len(self._order) or any(a is not b for a, b in zip(resources, self._order, strict=True)):
            return self._evaluator.evaluate(resources)  # not what was streamed: evaluate it all
        by_urn = {r.urn: r for r in resources}
        out: list[Violation] = []
        for r in resources:
            found = self._found.get(r.urn)
            out += found if found is not None else self._evaluator.analyze_resource(r, by_urn)
        self._evaluator._tell_secretness(self._feed)
        return out + self._evaluator.analyze_stack(resources, self._feed, self._messages)


def _control_of(info: proto.PolicyInfo) -> str:
    tag = next((t for t in info.tags if t.startswith(CONTROL_TAG)), "")
    return tag.removeprefix(CONTROL_TAG)


def evaluate(resources: Sequence[RegisteredResource], config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Run the pack over registered resources with an optional --policy-pack-config style dict."""
    return Evaluator(config).evaluate(resources)


def has_mandatory(violations: Iterable[Violation]) -> bool:
    return any(v.mandatory for v in violations)
