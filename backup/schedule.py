"""Which backup type a run performs: full when asked, when none exists, or when the last is too old."""

from __future__ import annotations

from datetime import datetime, timedelta

BACKUP_TYPES = ("full", "diff")
REQUESTABLE = ("auto", "full", "diff")


def decide(requested: str, last_full: datetime | None, now: datetime, interval_days: int) -> tuple[str, str]:
    """Return ``(type, reason)``.

    ``requested`` is ``full``, ``diff`` or ``auto`` (= diff unless a full is due). A differential
    is upgraded to a full when the repository holds no full yet or the newest full is older than
    ``interval_days`` (the 30-day cycle), so a missed monthly timer never leaves diffs orphaned.
    """
    if requested not in REQUESTABLE:
        raise ValueError(f"backup type must be one of {REQUESTABLE}, not {requested!r}")
    if requested == "full":
        return "full", "full backup requested"
    if last_full is None:
        return "full", "no full backup exists yet"
    age = now - last_full
    if age > timedelta(days=interval_days):
        return "full", f"last full backup is {age.days} days old (limit {interval_days})"
    return "diff", f"differential against the full of {last_full.isoformat()}"
