"""HOST-02/03/19: sshd hardening, bastion MFA, and the pinned host identity."""

from __future__ import annotations

import pytest

EXPECTED = {
    "permitrootlogin": "no",
    "passwordauthentication": "no",
    "permitemptypasswords": "no",
    "pubkeyauthentication": "yes",
    "authenticationmethods": "publickey",
    "hostbasedauthentication": "no",
    "permituserenvironment": "no",
    "allowgroups": "sshusers",
    "maxauthtries": "3",
    "logingracetime": "30",
    "clientaliveinterval": "300",
    "clientalivecountmax": "2",
    "tcpkeepalive": "no",
    "x11forwarding": "no",
    "allowagentforwarding": "no",
    "permittunnel": "no",
    "kexalgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
    "ciphers": "aes256-gcm@openssh.com,aes128-gcm@openssh.com",
    "macs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
    "hostkeyalgorithms": "ssh-ed25519",
    "kbdinteractiveauthentication": "no",
}


def effective_sshd(host) -> dict[str, str]:
    with host.sudo():
        text = host.check_output("sshd -T")
    pairs = (line.split(" ", 1) for line in text.splitlines() if " " in line)
    return {key: value for key, value in pairs}


@pytest.mark.control("HOST-02")
def test_sshd_effective_config_is_hardened(host) -> None:
    config = effective_sshd(host)
    wrong = {k: (config.get(k), v) for k, v in EXPECTED.items() if config.get(k) != v}
    assert not wrong, f"sshd settings (actual, expected): {wrong}"


@pytest.mark.control("HOST-02")
def test_tcp_forwarding_only_on_the_bastion(host, role: str) -> None:
    assert effective_sshd(host)["allowtcpforwarding"] == ("yes" if role == "bastion" else "no")


@pytest.mark.control("HOST-02")
def test_sshd_version_string_names_no_distribution_patch_level(host) -> None:
    """What any scanner reads before authenticating: ``SSH-2.0-OpenSSH_9.2p1``, not ``... Debian-2+deb12u7``."""
    banner = host.check_output("timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/22; head -n1 <&3'").strip()
    assert banner.startswith("SSH-2.0-OpenSSH_"), banner
    assert " " not in banner and "debian" not in banner.lower(), banner


@pytest.mark.control("HOST-02")
def test_ssh_keysign_is_not_setuid_and_stays_so_across_upgrades(host) -> None:
    """Host-based authentication is off, so its setuid-root helper is only attack surface."""
    keysign = host.file("/usr/lib/openssh/ssh-keysign")
    assert keysign.exists and not keysign.mode & 0o6000, oct(keysign.mode)
    with host.sudo():
        override = host.check_output("dpkg-statoverride --list /usr/lib/openssh/ssh-keysign")
    owner, group, mode, path = override.split()
    assert (owner, group, int(mode, 8), path) == ("root", "root", 0o755, "/usr/lib/openssh/ssh-keysign"), override


@pytest.mark.control("HOST-02")
def test_sshd_is_running_and_enabled(host) -> None:
    service = host.service("ssh")
    assert service.is_running and service.is_enabled


@pytest.mark.control("HOST-03")
@pytest.mark.roles("bastion")
def test_bastion_asks_totp_after_the_key(host) -> None:
    with host.sudo():
        drop_in = host.file("/etc/ssh/sshd_config.d/10-ccaas-baseline.conf").content_string
        pam = host.file("/etc/pam.d/sshd").content_string
        oath = host.file("/etc/users.oath")
        assert oath.mode == 0o600 and oath.user == "root"
    assert "Match Group totp" in drop_in
    assert "AuthenticationMethods publickey,keyboard-interactive:pam" in drop_in.split("Match Group totp")[1]
    auth = [" ".join(line.split()[1:]) for line in pam.splitlines() if line.split()[:1] == ["auth"]]
    assert auth == [  # the code, and wrong codes counted by faillock like wrong passwords
        "requisite pam_faillock.so preauth",
        "[success=2 default=ignore] pam_oath.so usersfile=/etc/users.oath window=3 digits=6",
        "[default=die] pam_faillock.so authfail",
        "requisite pam_deny.so",
        "required pam_permit.so",
        "optional pam_faillock.so authsucc",
    ]
    assert "@include common-auth" not in pam, "no password prompt on the bastion"
    assert host.package("libpam-oath").is_installed


@pytest.mark.control("HOST-19")
def test_only_the_provisioned_ed25519_host_key_exists(host) -> None:
    with host.sudo():
        keys = sorted(host.check_output("ls /etc/ssh").split())
    host_keys = [k for k in keys if k.startswith("ssh_host_")]
    assert host_keys == ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]
    with host.sudo():
        private = host.file("/etc/ssh/ssh_host_ed25519_key")
        assert private.mode == 0o600 and private.user == "root"
