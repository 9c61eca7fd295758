"""The pack's policy metadata as the CLI sees it (GetAnalyzerInfo), joined to controls.yaml.

Docs and SARIF rules are generated from this, so nothing about a policy is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from google.protobuf import json_format
from pulumi.runtime import proto

from . import pack
from .controls import load_catalogue
from .rules._meta import ALIAS_TAG, CONTROL_TAG

_LEVEL = {
    proto.ADVISORY: "advisory",
    proto.MANDATORY: "mandatory",
    proto.REMEDIATE: "remediate",
    proto.DISABLED: "disabled",
}
_SEVERITY = {
    proto.POLICY_SEVERITY_LOW: "low",
    proto.POLICY_SEVERITY_MEDIUM: "medium",
    proto.POLICY_SEVERITY_HIGH: "high",
    proto.POLICY_SEVERITY_CRITICAL: "critical",
}


@dataclass(frozen=True)
class PolicyMeta:
    name: str
    kind: str  # resource | stack
    control: str
    control_title: str
    severity: str
    enforcement: str
    description: str
    remediation: str
    frameworks: tuple[dict[str, str], ...]
    config: dict[str, dict]
    aliases: tuple[str, ...] = ()  # anchor check ids this policy supersedes (CKV_OPENSTACK_n, AVD-OPNSTK-nnnn)


def analyzer_info() -> proto.AnalyzerInfo:
    """GetAnalyzerInfo from pulumi_policy's servicer, exactly what the CLI receives."""
    servicer = pack.servicer()
    return servicer.GetAnalyzerInfo(None, None)


@lru_cache(maxsize=1)
def pack_metadata() -> tuple[PolicyMeta, ...]:
    catalogue = load_catalogue()
    out = []
    for p in analyzer_info().policies:
        control = next(t for t in p.tags if t.startswith(CONTROL_TAG)).removeprefix(CONTROL_TAG)
        schema = json_format.MessageToDict(p.configSchema).get("properties", {})
        out.append(
            PolicyMeta(
                name=p.name,
                kind="stack" if p.policy_type == proto.POLICY_TYPE_STACK else "resource",
                control=control,
                control_title=catalogue.control(control).title,
                severity=_SEVERITY.get(p.severity, ""),
                enforcement=_LEVEL[p.enforcementLevel],
                description=p.description,
                remediation=p.remediation_steps,
                frameworks=tuple(f.as_dict() for f in catalogue.framework_refs(control)),
                config=schema,
                aliases=tuple(t.removeprefix(ALIAS_TAG) for t in p.tags if t.startswith(ALIAS_TAG)),
            )
        )
    return tuple(out)


def config_for(**properties: object) -> dict[str, dict[str, object]]:
    """Policy config setting each property on every policy whose schema declares it.

    CrossGuard config is per policy; a stack-wide setting such as the encrypted volume types or the
    admin CIDRs belongs to several policies. E.g. config_for(allowedVolumeTypes=[...], adminCidrs=[...]).
    """
    out: dict[str, dict[str, object]] = {}
    for meta in pack_metadata():
        chosen = {k: v for k, v in properties.items() if k in meta.config}
        if chosen:
            out[meta.name] = chosen
    unknown = set(properties) - {k for m in pack_metadata() for k in m.config}
    if unknown:
        raise KeyError(f"no policy declares config {sorted(unknown)}")
    return out


def merge_config(base: dict[str, object], override: dict[str, object]) -> dict[str, object]:
    """Override wins; per-policy objects are merged key by key (e.g. stack settings + a user's file)."""
    out = dict(base)
    for name, value in override.items():
        current = out.get(name)
        if isinstance(current, dict) and isinstance(value, dict):
            out[name] = {**current, **value}
        elif isinstance(current, dict) and isinstance(value, str):
            out[name] = {**current, "enforcementLevel": value}
        else:
            out[name] = value
    return out
