"""testssl.sh 3.2 (Debian 12's 3.0.8 prints no overall grade) against the app host's HTTPS."""

from __future__ import annotations

import json
from typing import Any

PROTOCOLS = ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")


def parse(text: str) -> dict[str, Any]:
    """testssl's ``--jsonfile``: a list of {id, severity, finding}."""
    findings = json.loads(text)
    if not isinstance(findings, list):
        raise ValueError("not a testssl.sh JSON file (a list of findings)")
    by_id = {f.get("id"): f.get("finding") for f in findings if isinstance(f, dict)}
    if "overall_grade" not in by_id:
        raise ValueError("the testssl.sh report has no overall_grade (the scan did not finish)")
    return {
        "grade": by_id["overall_grade"],
        "final_score": by_id.get("final_score"),
        "grade_cap_reasons": [f.get("finding") for f in findings if str(f.get("id", "")).startswith("grade_cap")],
        "protocols": {p: by_id.get(p) for p in PROTOCOLS if p in by_id},
        "hsts": by_id.get("HSTS_time", by_id.get("HSTS")),  # testssl 3.2 names it HSTS_time
    }


def met(figures: dict[str, Any]) -> bool:
    return figures["grade"] == "A+"
