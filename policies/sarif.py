"""SARIF 2.1.0 output for code-scanning UIs: one rule per policy, one result per violation.

Policy results point at a resource URN (a logical location); code-scanning services also want a
file, so every result carries the program file as its physical location.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import pack
from .metadata import PolicyMeta, pack_metadata
from .offline import Violation
from .waivers import WAIVER_RULES

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# GitHub code scanning ranks security results by this numeric score.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "": "1.0"}


def _level(enforcement: str) -> str:
    return "error" if enforcement == "mandatory" else "warning"


def _rule(meta: PolicyMeta) -> dict[str, Any]:
    frameworks = [f"{f['name']} {f['version']}: {f['reference']}" for f in meta.frameworks]
    return {
        "id": meta.name,
        "name": "".join(part.capitalize() for part in meta.name.split("-")),
        "shortDescription": {"text": meta.description},
        "fullDescription": {"text": f"{meta.control}: {meta.control_title}. {meta.description}"},
        "help": {"text": meta.remediation, "markdown": f"**How to fix:** {meta.remediation}"},
        "defaultConfiguration": {"level": _level(meta.enforcement)},
        "properties": {
            "tags": ["security", meta.control, *frameworks],
            "security-severity": SECURITY_SEVERITY[meta.severity],
            "precision": "high",
            "control": meta.control,
            "kind": meta.kind,
            "aliases": list(meta.aliases),
        },
    }


def _result(v: Violation, index: dict[str, int], artifact: str) -> dict[str, Any]:
    fingerprint = hashlib.sha256(f"{v.policy}\n{v.urn}\n{v.message}".encode()).hexdigest()
    result: dict[str, Any] = {
        "ruleId": v.policy,
        "level": _level(v.enforcement),
        "message": {"text": v.message},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": artifact}, "region": {"startLine": 1}},
                "logicalLocations": [
                    {"fullyQualifiedName": v.urn, "name": v.urn.rsplit("::", 1)[-1], "kind": "resource"}
                ],
            }
        ],
        "partialFingerprints": {"policyUrnHash/v1": fingerprint},
        "properties": {
            "enforcement": v.enforcement,
            "severity": v.severity,
            "control": v.control,
            "frameworks": [dict(f) for f in v.frameworks],
        },
    }
    if v.policy in index:
        result["ruleIndex"] = index[v.policy]
    return result


def _waiver_rule(name: str) -> dict[str, Any]:
    rule = WAIVER_RULES[name]
    return {
        "id": name,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "shortDescription": {"text": rule["description"]},
        "help": {"text": rule["remediation"]},
        "defaultConfiguration": {"level": _level(rule["enforcement"])},
        "properties": {"tags": ["security", "GOV-01"], "security-severity": SECURITY_SEVERITY[rule["severity"]]},
    }


def _suppressed(entry: dict[str, Any], index: dict[str, int], artifact: str) -> dict[str, Any]:
    """A waived violation: the result as it would be, plus an accepted external suppression."""
    fields = {k: entry[k] for k in ("policy", "urn", "severity", "enforcement", "message", "control")}
    result = _result(Violation(**fields, frameworks=tuple(entry.get("frameworks", ()))), index, artifact)
    w = entry["waiver"]
    result["suppressions"] = [
        {
            "kind": "external",
            "status": "accepted",
            "justification": f"{w['reason']} (ticket {w['ticket']}, approved by {w['approver']}, "
            f"expires {w['expires']})",
            "properties": {k: w[k] for k in ("ticket", "approver", "expires", "resource", "entry")},
        }
    ]
    return result


def to_sarif(
    violations: Iterable[Violation], artifact: str = "Pulumi.yaml", waived: Iterable[dict[str, Any]] = ()
) -> dict[str, Any]:
    """A SARIF log with one run of the pack; ``artifact`` is the program file results point at.

    ``waived`` (from ccsec plan --waivers) become results with an accepted external suppression.
    """
    metas = pack_metadata()
    index = {m.name: i for i, m in enumerate(metas)}
    index.update({name: len(metas) + i for i, name in enumerate(WAIVER_RULES)})
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": pack.PACK_NAME,
                        "version": pack.pack_version(),
                        "rules": [_rule(m) for m in metas] + [_waiver_rule(n) for n in WAIVER_RULES],
                    }
                },
                "results": [_result(v, index, artifact) for v in violations]
                + [_suppressed(w, index, artifact) for w in waived],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def write_sarif(path: Path, violations: Iterable[Violation], artifact: str = "Pulumi.yaml") -> None:
    path.write_text(json.dumps(to_sarif(violations, artifact), indent=2) + "\n", encoding="utf-8")
