"""nmap's grepable output (``-oG -``) of a full TCP scan: which ports answered open."""

from __future__ import annotations

import re
from typing import Any

PORT = re.compile(r"(\d+)/(open|closed|filtered|open\|filtered)/tcp")


def parse(grepable: str, guest_answers_arp: bool) -> dict[str, Any]:
    """Open ports, plus the positive control: the guest's NIC answered ARP, so "none open" means filtered,
    not "nobody there". Without it the scan proves nothing and is an error."""
    if not guest_answers_arp:
        raise ValueError("the guest never answered ARP on the scan network: the scan would prove nothing")
    if "# Nmap done" not in grepable:
        raise ValueError("nmap did not finish the scan")
    open_ports = sorted({int(m.group(1)) for m in PORT.finditer(grepable) if m.group(2) == "open"})
    return {"open": open_ports, "ports_scanned": 65535, "guest_answers_arp": True}


def met(figures: dict[str, Any]) -> bool:
    return figures["open"] == []
