"""PCI DSS 8.2.6 as the host suite judges it (tests/hosts/idle_accounts.py), on lastlog output written by hand
in the format shadow's lastlog prints on Debian 12."""

from __future__ import annotations

import pytest

from ccsec.hostsuite.idle_accounts import idle_accounts

HEADER = "Username         Port     From                                       Latest\n"
TODAY = 20425  # days since 1970, as shadow counts


def lastlog(*rows: str) -> str:
    return HEADER + "".join(row + "\n" for row in rows)


@pytest.mark.parametrize(
    ("case", "before", "lastchg", "idle"),
    [
        ("everyone logged in lately: lastlog --before lists nobody", lastlog(), {"alice": TODAY - 400}, []),
        (
            "last login long ago",
            lastlog("alice            pts/0    10.0.2.2         Mon Jun  2 10:00:00 +0000 2025"),
            {"alice": TODAY - 400},
            ["alice"],
        ),
        (
            "never logged in, made yesterday: new, not idle",
            lastlog("alice                                      **Never logged in**"),
            {"alice": TODAY - 1},
            [],
        ),
        (
            "never logged in, made 91 days ago",
            lastlog("alice                                      **Never logged in**"),
            {"alice": TODAY - 91},
            ["alice"],
        ),
        (
            "never logged in, exactly 90 days: not yet",
            lastlog("alice                                      **Never logged in**"),
            {"alice": TODAY - 90},
            [],
        ),
        (
            "never logged in and no creation day (lastchg empty): idle, not trusted",
            lastlog("alice                                      **Never logged in**"),
            {},
            ["alice"],
        ),
        (
            "only members count: an idle system account is not an administrator",
            lastlog(
                "daemon                                     **Never logged in**",
                "bob              pts/1    10.0.2.2         Mon Jan  6 10:00:00 +0000 2025",
            ),
            {"daemon": 1, "bob": TODAY - 500},
            ["bob"],
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("Username") else "",
)
def test_idle_administrators(case: str, before: str, lastchg: dict[str, int], idle: list[str]) -> None:
    assert idle_accounts(["alice", "bob"], before, lastchg, TODAY) == idle, case
