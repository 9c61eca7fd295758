"""HOST-15 on the log host: a sandboxed TLS-only receiver, an encrypted store that nobody can rewrite.

The end-to-end path (a sudo on the app host found here, refused certificates, a stopped receiver losing
nothing) is tests/lab/test_log_host.py; these checks hold on any booted log host.
"""

from __future__ import annotations

import time
import uuid

import pytest

from .volumes import luks2_data_volume_under

STORE = "/srv/logs"
RECEIVER = "ccaas-log-receiver.service"
SEAL_WITHIN_S = 60 + 30  # the timer runs every minute; a file older than this must be sealed
MAX_EXPOSURE = 2.0  # systemd-analyze security: "OK" starts below 4; the unit scores 1.8 as written


def _receiver_pid(host) -> int:
    pid = int(host.check_output(f"systemctl show -p MainPID --value {RECEIVER}"))
    assert pid > 0, f"{RECEIVER} is not running"
    return pid


@pytest.mark.control("HOST-15")
@pytest.mark.roles("loghost")
def test_the_receiver_runs_unprivileged_with_no_capabilities(host) -> None:
    pid = _receiver_pid(host)
    status = dict(
        line.split(":", 1) for line in host.file(f"/proc/{pid}/status").content_string.splitlines() if ":" in line
    )
    uid = host.check_output("id -u ccaas-logs")
    assert status["Uid"].split() == [uid] * 4, status["Uid"]
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[field].strip(), 16) == 0, f"{field} {status[field].strip()}: the receiver holds capabilities"
    assert status["NoNewPrivs"].strip() == "1"
    exposure = host.run(f"systemd-analyze security --no-pager {RECEIVER}")
    score = float(exposure.stdout.rsplit("Overall exposure level for", 1)[1].split(":")[1].split()[0])
    assert score <= MAX_EXPOSURE, f"{RECEIVER} exposure {score} > {MAX_EXPOSURE}"
    with host.sudo():
        account = host.user("ccaas-logs")
        assert account.shell == "/usr/sbin/nologin" and account.password in ("!", "!*", "*")


@pytest.mark.control("HOST-15")
@pytest.mark.roles("loghost")
def test_the_receiver_listens_with_tls_only(host, facts: dict) -> None:
    with host.sudo():
        listening = host.check_output("ss -Htlpn")
    lines = [line for line in listening.splitlines() if "rsyslogd" in line]
    ports = {line.split()[3].rsplit(":", 1)[1] for line in lines}
    assert ports == {"6514"}, lines  # the lab and shipped stacks' logging.port (RELP over TLS)
    # the right protocol without TLS (a RELP session in the clear), then a plain syslog line: neither is stored
    marker = f"plaintext-{uuid.uuid4().hex}"
    offer, message = "relp_version=0\\ncommands=syslog", f"<13>Dec  4 00:00:00 intruder test: {marker}"
    frames = f"1 open {len(offer) - 1} {offer}\\n2 syslog {len(message)} {message}\\n{message}\\n"
    host.run(f"bash -c 'printf \"{frames}\" > /dev/tcp/127.0.0.1/6514'")
    time.sleep(3)
    own = host.check_output("hostname")  # its own directory also holds the sudo record of this very grep
    with host.sudo():
        found = host.run(f"grep -rl --exclude-dir={own} {marker} {STORE}")
    assert found.rc == 1 and not found.stdout, f"a plain-TCP message was stored: {found.stdout}"


@pytest.mark.control("HOST-15")
@pytest.mark.roles("loghost")
def test_the_store_is_the_encrypted_data_volume(host) -> None:
    assert host.mount_point(STORE).exists
    assert luks2_data_volume_under(host, STORE) == "logs"
    requires = host.check_output(f"systemctl show -p RequiresMountsFor --value {RECEIVER}")
    assert STORE in requires.split(), f"{RECEIVER} must require {STORE}: {requires!r}"


def _store_entries(host) -> list[tuple[int, str, str]]:
    """(birth time, lsattr flags, path) of the store and everything under it but lost+found."""
    with host.sudo():
        listing = host.check_output(
            f"find {STORE} -path {STORE}/lost+found -prune -o \\( -type d -o -type f \\) -printf '%p\\n'"
        )
        rows = []
        for path in listing.splitlines():
            born = int(host.check_output(f"stat -c %W {path}"))
            flags = host.check_output(f"lsattr -d {path}").split()[0]
            rows.append((born, flags, path))
    return rows


@pytest.mark.control("HOST-15")
@pytest.mark.roles("loghost")
def test_every_log_file_is_sealed_append_only_and_root_cannot_rewrite_it(host) -> None:
    assert host.service("ccaas-log-seal.timer").is_running
    own = host.check_output("hostname")
    deadline = time.monotonic() + SEAL_WITHIN_S + 60
    while True:  # the log host's own day file exists soon after boot; wait until it is old enough
        now = int(host.check_output("date +%s"))
        rows = _store_entries(host)
        files = [r for r in rows if r[2].startswith(f"{STORE}/{own}/")]
        if files and now - min(r[0] for r in files) > SEAL_WITHIN_S:
            break
        assert time.monotonic() < deadline, f"no file of {own} older than {SEAL_WITHIN_S} s in the store: {rows}"
        time.sleep(10)
    unsealed = [path for born, flags, path in rows if now - born > SEAL_WITHIN_S and "a" not in flags]
    assert not unsealed, f"older than {SEAL_WITHIN_S} s and not append-only: {unsealed}"
    target = next(r[2] for r in files if now - r[0] > SEAL_WITHIN_S)
    with host.sudo():
        size = int(host.check_output(f"stat -c %s {target}"))
        attempts = {
            "truncate": host.run(f"truncate -s 0 {target}"),
            "overwrite": host.run(f"dd if=/dev/zero of={target} bs=1 count=1 conv=notrunc status=none"),
            "delete": host.run(f"rm -f {target}"),
            "rename": host.run(f"mv {target} {target}.gone"),
            "remove its directory": host.run(f"rm -rf {STORE}/{own}"),
            "chmod": host.run(f"chmod 0666 {target}"),
        }
        receiver = host.run(f"setpriv --reuid ccaas-logs --regid ccaas-logs --clear-groups truncate -s 0 {target}")
        survived = host.file(target).exists and int(host.check_output(f"stat -c %s {target}")) >= size
    allowed = {what: r.stderr.strip() for what, r in attempts.items() if r.rc == 0}
    assert not allowed, f"root could {sorted(allowed)} a sealed log file"
    assert receiver.rc != 0, "the receiver's account could truncate a sealed log file"
    assert survived, f"{target} was lost or shrank"
