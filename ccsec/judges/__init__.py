"""`ccsec judge`: independent judges that auditors run, against the lab's hosts, each with its target.

The judges are the field's own tools, not ours: ssh-audit (each host's sshd), testssl.sh (the app host's
HTTPS), lynis (``lynis audit system`` inside each host) and nmap (every TCP port from an untrusted network).
Targets are data (:data:`TARGETS`), the verdict per judge is "met", "missed" or "error" (could not run).
OpenSCAP (SCAP Security Guide's Debian 12 content, ANSSI-BP-028) is not a judge yet.
"""

from __future__ import annotations

# judge -> the target it must meet, in words (README and --help show them) — checked by each judge's `met`
TARGETS: dict[str, str] = {
    "ssh-audit": "0 fail",
    "testssl": "overall grade A+",
    "lynis": "hardening index >= 90",
    "nmap": "no open TCP port from an untrusted network",
}
JUDGES = tuple(TARGETS)
