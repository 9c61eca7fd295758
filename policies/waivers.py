"""Waivers: reviewed, justified, time-limited exceptions to policy violations (GOV-01).

A waiver file (YAML or JSON) is a list of entries, either at the top level or under ``waivers:``::

    waivers:
      - policy: lb-pool-verifies-backend        # a policy of the pack (exact name)
        resource: "*-tls-pool"                   # glob over the resource name or its full URN
        reason: Members are on a host-only network until the backend CA lands (compensating control:
                nftables admits only the LB subnet on 443).
        ticket: SEC-1234
        expires: 2027-01-31                      # ISO date; the waiver stops applying after this day
        approver: security-officer@example.com

A violation matched by a valid waiver moves from ``violations`` to ``waived`` (reported with the
waiver's reason, ticket, expiry and approver; SARIF carries it as an accepted external suppression).
A waiver that is expired, malformed (unknown keys, bad date, unknown policy, a pattern of wildcards
only, more than MAX_DAYS ahead) or unjustified (empty reason, ticket or approver) waives nothing and
is itself a mandatory ``waiver-valid`` violation; a valid waiver that matches nothing is an advisory
``waiver-unused`` finding, so stale entries get cleaned up. Waivers are applied by ``ccsec plan
--waivers FILE`` after the pack has run; the pack itself (and ``pulumi preview``) never reads them.
Problems name the entry and the key, never its value.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .controls import load_catalogue
from .offline import Violation

WAIVER_POLICY = "waiver-valid"
UNUSED_POLICY = "waiver-unused"
CONTROL = "GOV-01"
REQUIRED = ("policy", "resource", "reason", "ticket", "expires", "approver")
MAX_DAYS = 366  # a compensating control is reviewed at least yearly (PCI DSS 12.3.1 / Appendix B)
MIN_REASON = 20
WAIVER_RULES = {
    WAIVER_POLICY: {
        "severity": "high",
        "enforcement": "mandatory",
        "description": "Every waiver is well-formed, justified (reason, ticket, approver), names one policy of "
        "the pack and a specific resource pattern, and has not expired.",
        "remediation": "Fix or remove the waiver entry; renew an expired one only after a new review.",
    },
    UNUSED_POLICY: {
        "severity": "low",
        "enforcement": "advisory",
        "description": "A valid waiver matches at least one violation.",
        "remediation": "Remove waivers whose violation is gone, or correct their resource pattern.",
    },
}


class WaiverFileError(ValueError):
    """The waiver file cannot be read at all (missing, unreadable): the check could not run."""


@dataclass(frozen=True)
class Waiver:
    index: int
    policy: str
    resource: str
    reason: str
    ticket: str
    expires: date
    approver: str

    def matches(self, violation: Violation) -> bool:
        name = violation.urn.rsplit("::", 1)[-1]
        return violation.policy == self.policy and (
            fnmatch.fnmatchcase(name, self.resource) or fnmatch.fnmatchcase(violation.urn, self.resource)
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "entry": str(self.index),
            "policy": self.policy,
            "resource": self.resource,
            "reason": self.reason,
            "ticket": self.ticket,
            "expires": self.expires.isoformat(),
            "approver": self.approver,
        }


@dataclass
class WaiverResult:
    violations: list[Violation]  # what still counts (unwaived findings plus waiver problems)
    waived: list[dict[str, Any]]  # each waived violation with the waiver that covers it


def read_waiver_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WaiverFileError(f"--waivers {path}: {error.strerror or error}") from None
    try:
        return yaml.safe_load(text) if text.strip() else []
    except yaml.YAMLError:
        return _NOT_YAML


_NOT_YAML = object()


def _problem(message: str, urn: str, policy: str = WAIVER_POLICY) -> Violation:
    catalogue = load_catalogue()
    rule = WAIVER_RULES[policy]
    return Violation(
        policy=policy,
        urn=urn,
        severity=rule["severity"],
        enforcement=rule["enforcement"],
        message=f"{rule['description']}\n{message}",
        frameworks=tuple(f.as_dict() for f in catalogue.framework_refs(CONTROL)),
        control=CONTROL,
    )


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_waivers(
    document: Any, known_policies: Iterable[str], today: date, urn: str
) -> tuple[list[Waiver], list[Violation]]:
    """Valid waivers, and a waiver-valid violation for each entry that is not one."""
    if document is _NOT_YAML:
        return [], [_problem("the waiver file is not valid YAML or JSON.", urn)]
    entries = document.get("waivers") if isinstance(document, dict) and set(document) == {"waivers"} else document
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        return [], [_problem("the waiver file must be a list of waivers (or a mapping with one key, waivers).", urn)]
    known = set(known_policies) - set(WAIVER_RULES)
    waivers: list[Waiver] = []
    problems: list[Violation] = []
    for i, entry in enumerate(entries):
        where = f"waiver {i}"
        if not isinstance(entry, dict):
            problems.append(_problem(f"{where} is not a mapping.", urn))
            continue
        issues = [f"unknown key '{k}'" for k in sorted(map(str, entry)) if k not in REQUIRED]
        issues += [f"{k} is missing" for k in REQUIRED if k not in entry]
        for key in ("policy", "resource", "reason", "ticket", "approver"):
            if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
                issues.append(f"{key} is empty")
        policy, pattern = entry.get("policy"), entry.get("resource")
        if isinstance(policy, str) and policy.strip() and policy not in known:
            issues.append("policy is not a policy of the pack")
        if isinstance(pattern, str) and pattern.strip() and not re.sub(r"[*?\[\]:]", "", pattern).strip():
            issues.append("resource is only wildcards; name the resources")
        reason = entry.get("reason")
        if isinstance(reason, str) and reason.strip() and len(reason.strip()) < MIN_REASON:
            issues.append(f"reason is shorter than {MIN_REASON} characters (state the compensating control)")
        expires = _date(entry.get("expires"))
        if "expires" in entry and expires is None:
            issues.append("expires is not an ISO date (YYYY-MM-DD)")
        elif expires is not None and expires < today:
            issues.append("has expired")
        elif expires is not None and (expires - today).days > MAX_DAYS:
            issues.append(f"expires more than {MAX_DAYS} days ahead")
        if issues:
            problems.append(_problem(f"{where} waives nothing: " + "; ".join(issues) + ".", urn))
            continue
        assert expires is not None
        waivers.append(
            Waiver(
                i,
                str(policy),
                str(pattern).strip(),
                str(reason).strip(),
                str(entry["ticket"]).strip(),
                expires,
                str(entry["approver"]).strip(),
            )
        )
    return waivers, problems


def apply_waivers(
    violations: Sequence[Violation],
    document: Any,
    known_policies: Iterable[str],
    today: date,
    root_urn: str,
) -> WaiverResult:
    """Move violations covered by a valid waiver to ``waived``; add the waivers' own problems."""
    waivers, problems = parse_waivers(document, known_policies, today, root_urn)
    kept: list[Violation] = []
    waived: list[dict[str, Any]] = []
    used: set[int] = set()
    for v in violations:
        waiver = next((w for w in waivers if w.matches(v)), None)
        if waiver is None:
            kept.append(v)
            continue
        used.add(waiver.index)
        waived.append({**v.as_dict(), "waiver": waiver.as_dict()})
    for w in waivers:
        if w.index not in used:
            problems.append(_problem(f"waiver {w.index} matches no violation.", root_urn, UNUSED_POLICY))
    return WaiverResult(kept + problems, waived)
