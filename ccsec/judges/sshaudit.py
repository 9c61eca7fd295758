"""ssh-audit (PyPI 3.x: Debian 12's 2.5 predates sntrup761 and kex-strict) against a host's sshd."""

from __future__ import annotations

import json
from typing import Any

SECTIONS = ("kex", "key", "enc", "mac")


def parse(text: str) -> dict[str, Any]:
    """ssh-audit's ``-j`` JSON: every [fail]/[warn] note per algorithm, plus CVEs (each counts as a fail)."""
    data = json.loads(text)
    if not isinstance(data, dict) or "banner" not in data:
        raise ValueError("not an ssh-audit JSON report")
    fails: list[str] = []
    warns: list[str] = []
    for section in SECTIONS:
        for entry in data.get(section) or []:
            notes = entry.get("notes") or {}
            name = f"({section}) {entry.get('algorithm', '?')}"
            fails += [f"{name}: {note}" for note in notes.get("fail") or []]
            warns += [f"{name}: {note}" for note in notes.get("warn") or []]
    fails += [f"(cve) {c.get('name', '?')}: {c.get('description', '')}" for c in data.get("cves") or []]
    banner = (data.get("banner") or {}).get("raw", "")
    return {"fail": len(fails), "warn": len(warns), "fails": fails, "warns": warns, "banner": banner}


def met(figures: dict[str, Any]) -> bool:
    return figures["fail"] == 0
