"""HOST-22: only root schedules jobs. A person's ``crontab`` is refused by cron itself, and the system tables
and job directories are root-only, so nobody else can read when and what root runs, or add to it."""

from __future__ import annotations

import pytest

CRON_PATHS = (
    "/etc/crontab",
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/etc/cron.d",
)


@pytest.mark.control("HOST-22")
def test_a_person_cannot_create_a_crontab(host) -> None:
    # cron checks cron.allow before any operation: listing is refused like installing, and changes nothing
    # on a production host when the guard is missing (then: "no crontab for <user>")
    attempt = host.run("crontab -l")
    assert attempt.rc != 0 and "not allowed" in attempt.stderr, attempt
    with host.sudo():
        allow = host.file("/etc/cron.allow")
        assert allow.user == "root" and allow.mode & 0o027 == 0, (allow.user, oct(allow.mode))
        assert [line for line in allow.content_string.splitlines() if line and not line.startswith("#")] == ["root"]


@pytest.mark.control("HOST-22")
def test_cron_tables_and_job_directories_are_root_only(host) -> None:
    with host.sudo():
        listing = host.check_output("stat -c '%n %U %G %a' " + " ".join(CRON_PATHS))
    found = {
        path: (user, group, int(mode, 8)) for path, user, group, mode in (line.split() for line in listing.splitlines())
    }
    assert set(found) == set(CRON_PATHS), listing
    wrong = {path: (u, g, oct(m)) for path, (u, g, m) in found.items() if (u, g) != ("root", "root") or m & 0o077}
    assert not wrong, f"cron paths others can read or write: {wrong}"
