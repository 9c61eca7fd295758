"""HOST-09/10: password and login policy, idle logout, sudo for operators with logging."""

from __future__ import annotations

import pytest

from .idle_accounts import IDLE_DAYS, idle_accounts


def login_defs(host) -> dict[str, str]:
    """Active (uncommented) settings of /etc/login.defs."""
    pairs = (line.split(None, 1) for line in host.file("/etc/login.defs").content_string.splitlines())
    return {p[0]: p[1].strip() for p in pairs if len(p) == 2 and not p[0].startswith("#")}


@pytest.mark.control("HOST-09")
def test_login_defs_hashes_with_yescrypt_and_ages_passwords(host) -> None:
    settings = login_defs(host)
    assert settings.get("ENCRYPT_METHOD") == "YESCRYPT"
    assert settings.get("PASS_MAX_DAYS") == "365"
    assert settings.get("UMASK") == "027"


@pytest.mark.control("HOST-09")
def test_pam_enforces_quality_history_and_lockout(host) -> None:
    auth = host.file("/etc/pam.d/common-auth").content_string
    password = host.file("/etc/pam.d/common-password").content_string
    assert "pam_faillock.so preauth" in auth and "pam_faillock.so authfail" in auth
    assert "nullok" not in auth
    assert "pam_pwquality.so" in password and "pam_pwhistory.so remember=5" in password
    assert "yescrypt" in password
    quality = host.file("/etc/security/pwquality.conf.d/ccaas-baseline.conf").content_string
    assert "minlen = 14" in quality
    assert "deny = 5" in host.file("/etc/security/faillock.conf").content_string


@pytest.mark.control("HOST-09")
def test_idle_shells_are_logged_out(host) -> None:
    assert host.check_output("bash -lc 'echo $TMOUT'") == "900"
    assert host.run("bash -lc 'TMOUT=0'").rc != 0, "TMOUT must be read-only"


@pytest.mark.control("HOST-09")
def test_no_account_has_a_usable_password(host) -> None:
    with host.sudo():
        shadow = host.check_output("cut -d: -f1,2 /etc/shadow")
    usable = [line.split(":")[0] for line in shadow.splitlines() if line.split(":")[1][:1] not in ("!", "*", "")]
    assert usable == [], f"accounts with a password hash: {usable}"


@pytest.mark.control("HOST-10")
def test_operators_use_sudo_and_every_command_is_logged(host) -> None:
    with host.sudo():
        assert host.run("visudo --check --quiet").rc == 0
        sudoers = host.file("/etc/sudoers.d/10-ccaas-baseline")
        assert sudoers.mode == 0o440
        assert "%operators" in sudoers.content_string and "log_subcmds" in sudoers.content_string
    marker = "ccaas-sudo-log-probe"
    host.check_output(f"sudo -n /bin/echo {marker}")
    with host.sudo():
        assert marker in host.file("/var/log/sudo.log").content_string


@pytest.mark.control("HOST-09")
def test_no_administrator_has_been_idle_for_more_than_90_days(host) -> None:
    members = host.check_output("getent group sshusers").split(":")[3].split(",")
    members = [m for m in members if m]
    assert members, "nobody may log in: the sshusers group is empty"
    before = host.check_output(f"lastlog --before {IDLE_DAYS}")
    with host.sudo():
        shadow = host.check_output("getent shadow " + " ".join(members))
    lastchg = {f[0]: int(f[2]) for f in (line.split(":") for line in shadow.splitlines()) if f[2].isdigit()}
    today = int(host.check_output("echo $(( $(date +%s) / 86400 ))"))
    idle = idle_accounts(members, before, lastchg, today)
    assert idle == [], f"idle for more than {IDLE_DAYS} days: {idle} (remove them from the stack's admins)"
