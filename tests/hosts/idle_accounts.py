"""PCI DSS 8.2.6: an account unused for more than 90 days is removed or disabled.

The baseline's accounts are key-only (locked passwords), so shadow's password ageing cannot express this:
``PASS_MAX_DAYS`` or ``INACTIVE`` on a password nobody can change would expire it, and an expired password
blocks key logins too (PAM's account check). Idleness is read instead from what the host records: ``lastlog``'s
last login, and for an account that never logged in, the day it was made (shadow's ``lastchg``: the locked
password was set when cloud-init created it). Drift runs this daily; the fix is the stack's ``admins`` list.
"""

from __future__ import annotations

IDLE_DAYS = 90
NEVER = "**Never logged in**"


def idle_accounts(members: list[str], lastlog_before: str, lastchg_days: dict[str, int], today: int) -> list[str]:
    """Members idle for more than ``IDLE_DAYS``.

    ``lastlog_before``: the output of ``lastlog --before IDLE_DAYS`` (accounts whose last login, or lack of one,
    is older than that); ``lastchg_days``: shadow's field 3 per account (days since 1970); ``today``: the same unit.
    """
    listed: dict[str, bool] = {}  # name -> never logged in
    for line in lastlog_before.splitlines()[1:]:  # the first line is the header
        fields = line.split()
        if fields:
            listed[fields[0]] = NEVER in line
    idle = []
    for name in members:
        if name not in listed:
            continue  # logged in within the last IDLE_DAYS
        made = lastchg_days.get(name)
        if not listed[name] or made is None or today - made > IDLE_DAYS:
            idle.append(name)
    return sorted(idle)
