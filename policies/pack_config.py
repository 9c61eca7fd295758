"""Policy-pack config exactly as `pulumi preview --policy-pack-config FILE` treats it.

The CLI (pkg/resource/analyzer/config.go) parses the JSON, fills each policy's schema defaults,
applies "all" then per-policy settings, validates properties against each policy's config schema,
and sends one PolicyConfig per policy to the analyzer's Configure. This module mirrors that so the
offline run configures pulumi_policy's servicer the way the CLI would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import json_format
from pulumi.runtime import proto

LEVELS = {
    "advisory": proto.ADVISORY,
    "mandatory": proto.MANDATORY,
    "remediate": proto.REMEDIATE,
    "disabled": proto.DISABLED,
}


class PolicyConfigError(ValueError):
    """The policy config is malformed or fails a policy's schema; lists every problem."""


@dataclass
class PolicyConfigEntry:
    level: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def parse_policy_config(raw: Mapping[str, Any] | None) -> dict[str, PolicyConfigEntry]:
    """Parse the JSON document shape: {"all": "advisory", "<policy>": {"enforcementLevel": ..., ...}}."""
    result: dict[str, PolicyConfigEntry] = {}
    errors: list[str] = []
    for key, value in (raw or {}).items():
        if isinstance(value, str):
            level, props = value, {}
        elif isinstance(value, Mapping):
            props = dict(value)
            level = props.pop("enforcementLevel", None)
        else:
            errors.append(f"{key}: must be an enforcement level string or an object")
            continue
        if level is not None and level not in LEVELS:
            errors.append(f"{key}: {level!r} is not a valid enforcement level ({', '.join(LEVELS)})")
            continue
        if level is not None or props:
            result[key] = PolicyConfigEntry(level, props)
    if errors:
        raise PolicyConfigError("invalid policy config:\n  " + "\n  ".join(errors))
    return result


def load_policy_config(path: Path) -> dict[str, Any]:
    """Read a --policy-pack-config JSON file (empty file = no config)."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if text.strip() else {}


def _apply(result: dict[str, PolicyConfigEntry], given: dict[str, PolicyConfigEntry]) -> None:
    everything = given.get("all")
    if everything is not None and everything.level is not None:
        for entry in result.values():
            entry.level = everything.level
    for name, entry in given.items():
        target = result.setdefault(name, PolicyConfigEntry())
        if entry.level is not None:
            target.level = entry.level
        target.properties.update(entry.properties)


def _level_name(value: int) -> str:
    return next(k for k, v in LEVELS.items() if v == value)


def reconcile(info: proto.AnalyzerInfo, config: Mapping[str, Any] | None) -> dict[str, PolicyConfigEntry]:
    """Schema defaults, then the pack's initial config, then the user's config; validated."""
    result: dict[str, PolicyConfigEntry] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for p in info.policies:
        schema = json_format.MessageToDict(p.configSchema, preserving_proto_field_name=True)
        props = schema.get("properties", {})
        defaults = {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}
        result[p.name] = PolicyConfigEntry(_level_name(p.enforcementLevel), defaults)
        if props:
            schemas[p.name] = {"type": "object", "properties": props, "required": list(schema.get("required", []))}
    initial = {
        k: PolicyConfigEntry(_level_name(v.enforcementLevel), json_format.MessageToDict(v.properties))
        for k, v in info.initialConfig.items()
    }
    _apply(result, initial)
    _apply(result, parse_policy_config(config))
    errors = []
    for name, schema in schemas.items():
        for err in jsonschema.Draft7Validator(schema).iter_errors(result[name].properties):
            errors.append(f"{name}: {'.'.join(map(str, err.absolute_path)) or '(root)'}: {err.message}")
    if errors:
        raise PolicyConfigError("policy config fails the policies' schemas:\n  " + "\n  ".join(errors))
    return result


def configure_request(entries: Mapping[str, PolicyConfigEntry]) -> proto.ConfigureAnalyzerRequest:
    """The ConfigureAnalyzerRequest the CLI would send for these settings."""
    request = proto.ConfigureAnalyzerRequest()
    for name, entry in entries.items():
        pc = proto.PolicyConfig(enforcementLevel=LEVELS[entry.level or "advisory"])
        if entry.properties:
            pc.properties.update(entry.properties)
        request.policyConfig[name].CopyFrom(pc)
    return request
