"""Find the Debian mirror this host's apt uses (so the lab image comes from the same place)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY = "http://deb.debian.org/debian-security"


@dataclass(frozen=True)
class Mirrors:
    """Main archive and security archive URLs."""

    main: str
    security: str


def _entries(root: Path) -> list[tuple[str, list[str]]]:
    """Return (uri, suites) for every ``deb`` source in one-line and deb822 files."""
    out: list[tuple[str, list[str]]] = []
    files = [root / "etc/apt/sources.list", *sorted((root / "etc/apt/sources.list.d").glob("*"))]
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".sources":
            for stanza in text.split("\n\n"):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                    suites = fields.get("suites", "").split()
                    out += [(uri, suites) for uri in fields.get("uris", "").split()]
        elif f.suffix == ".list":
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 3 and parts[0] == "deb":
                    rest = [p for p in parts[1:] if not p.startswith("[")]
                    if len(rest) >= 2:
                        out.append((rest[0], [rest[1]]))
    return out


def host_mirrors(root: Path = Path("/"), suite: str = "bookworm") -> Mirrors:
    """Mirrors configured for ``suite`` on this host, falling back to deb.debian.org."""
    main = security = None
    for uri, suites in _entries(root):
        uri = uri.rstrip("/")
        if main is None and suite in suites:
            main = uri
        if security is None and f"{suite}-security" in suites:
            security = uri
    return Mirrors(main or DEFAULT_MIRROR, security or DEFAULT_SECURITY)
