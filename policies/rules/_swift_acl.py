"""Swift container ACLs read the way Swift reads them (swift/common/middleware/acl.py, keystoneauth).

Facts relied on (re-expressed from Swift's clean_acl / parse_acl / referrer_allowed and keystoneauth):

- The header is split on ``,``; each item is stripped of surrounding whitespace; empty items vanish.
- An item without ``:`` is a group (e.g. ``.rlistings``, a tempauth account, ``*``).
- An item with ``:`` is split once; both halves are stripped (``.referrer : *`` is ``.r:*``). If the
  first half does not start with ``.`` the whole item is a group (``project:user``, ``*:*``).
- The designators ``.r``, ``.ref``, ``.referer`` and ``.referrer`` (exactly these, case-sensitive)
  are one referrer designation. A leading ``-`` denies, a leading ``*`` before a domain is dropped
  (``*.example.com`` is ``.example.com``); an empty value, ``.`` or any other dot-designator makes
  Swift refuse the header; referrers are refused in write ACLs.
- ``referrer_allowed`` starts from deny and walks the list: any positive referrer that matches allows,
  a negative one that matches denies. The Referer header is chosen by the client, so ANY positive
  referrer is public read (an anonymous client just sends a matching Referer); negatives only narrow
  who, never make a positive private. ``.rlistings`` adds anonymous listing to referrer access.
- keystoneauth grants cross-project access to a group ``<project>:<user>``, where either half may be
  ``*`` (``*:*`` = every authenticated user of every project), by id or by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REFERRER_DESIGNATORS = (".r", ".ref", ".referer", ".referrer")


@dataclass
class SwiftAcl:
    referrers: list[str] = field(default_factory=list)  # normalised, e.g. "*", ".example.com", "-evil.com"
    groups: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # why Swift would refuse the header (no values echoed)

    @property
    def public(self) -> bool:
        return any(not r.startswith("-") for r in self.referrers)

    @property
    def listings(self) -> bool:
        return ".rlistings" in self.groups


def parse_acl(value: object, header: str = "X-Container-Read") -> SwiftAcl:
    """Parse as Swift's clean_acl would; ``errors`` says when Swift would refuse the header."""
    acl = SwiftAcl()
    if not isinstance(value, str):
        return acl
    write = "write" in header.lower()
    for index, raw in enumerate(value.split(",")):
        item = raw.strip()
        if not item:
            continue
        if ":" not in item:
            acl.groups.append(item)
            continue
        first, second = (part.strip() for part in item.split(":", 1))
        if not first or first[0] != ".":
            acl.groups.append(f"{first}:{second}")
            continue
        if first not in REFERRER_DESIGNATORS:
            acl.errors.append(f"item {index} uses an unknown designator")
            continue
        if write:
            acl.errors.append(f"item {index} is a referrer in a write ACL")
        negate = second.startswith("-")
        if negate:
            second = second[1:].strip()
        if second and second != "*" and second.startswith("*"):
            second = second[1:].strip()
        if not second or second == ".":
            acl.errors.append(f"item {index} has no host after the referrer designator")
            continue
        acl.referrers.append(("-" if negate else "") + second)
    return acl


def grant_scope(group: str) -> tuple[str, str] | None:
    """(project, user) of a keystoneauth-style ``project:user`` group, else None."""
    if ":" not in group:
        return None
    project, user = (part.strip() for part in group.split(":", 1))
    return project, user
