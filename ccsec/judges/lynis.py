"""lynis ``audit system`` inside a host: its report.dat's hardening index."""

from __future__ import annotations

from typing import Any

TARGET_INDEX = 90


def parse(report: str) -> dict[str, Any]:
    """report.dat is ``key=value`` lines; list keys end in ``[]`` and repeat."""
    values: dict[str, list[str]] = {}
    for line in report.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values.setdefault(key, []).append(value)
    index = (values.get("hardening_index") or [""])[0]
    if not index.isdigit():
        raise ValueError("the lynis report has no hardening_index (the audit did not finish)")
    return {
        "index": int(index),
        "warnings": values.get("warning[]", []),
        "suggestions": len(values.get("suggestion[]", [])),
    }


def met(figures: dict[str, Any]) -> bool:
    return figures["index"] >= TARGET_INDEX
