"""HOST-03 / HOST-09 on the lab bastion, as a person logs in: OpenSSH with the person's key and a TOTP code
from pyotp (not from pam_oath's own library), typed through SSH_ASKPASS as a terminal-less client would.

The key alone, the code alone, a replayed code, a code from ten minutes ago and wrong codes are refused;
five wrong codes lock the account (faillock, as for passwords), so even the right code is then refused until
an operator resets it; the person reaches the app host through the bastion (ProxyJump), with the code asked at
the bastion only. Cost: ten logins, about a minute under TCG.

Runs before test_lab_e2e.py (module order), whose last test takes the lab down.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pyotp
import pytest

from ccsec import drift
from ccsec.lab.api import TOTP_PERSON, TOTP_PERSON_KEY, TOTP_PERSON_SEED
from ccsec.lab.state import HostState, LabState
from ccsec.sshtargets import targets_from_lab
from tests.lab.test_hosts_verify import sudo

pytestmark = pytest.mark.lab
STEP = 30  # seconds per code (RFC 6238; users.oath says HOTP/T30/6)
ASKPASS = '#!/bin/sh\nprintf "%s\\n" "$CCSEC_TEST_TOTP_CODE"\n'


def bastion(lab_state: LabState) -> HostState:
    return next(h for h in lab_state.hosts if h.role == "bastion")


def totp(work: Path) -> pyotp.TOTP:
    seed = (work / TOTP_PERSON_SEED).read_text().strip()
    return pyotp.TOTP(base64.b32encode(bytes.fromhex(seed)).decode(), digits=6, interval=STEP)


def with_code(askpass: Path, code: str) -> dict[str, str]:
    """The environment that makes OpenSSH answer the OTP prompt with ``code`` (no terminal needed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
    return env | {"SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "CCSEC_TEST_TOTP_CODE": code}


def login(
    host: HostState, work: Path, askpass: Path, code: str | None, *, key: bool = True
) -> subprocess.CompletedProcess[str]:
    """One OpenSSH login as the person (pinned host key, no multiplexing); ``code`` answers the OTP prompt."""
    argv = [
        "ssh", "-F", "/dev/null", "-p", str(host.ssh_port),
        "-o", f"UserKnownHostsFile={host.known_hosts_file}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=no", "-o", "ControlMaster=no",
        "-o", "IdentitiesOnly=yes", "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=60",
        "-o", f"PubkeyAuthentication={'yes' if key else 'no'}",
        "-o", f"KbdInteractiveAuthentication={'no' if code is None else 'yes'}",
        "-o", "PasswordAuthentication=no",
        "-i", str(work / TOTP_PERSON_KEY),
        f"{TOTP_PERSON}@{host.ssh_host}", "id -un",
    ]  # fmt: skip
    return subprocess.run(
        argv,
        env=with_code(askpass, code or ""),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 255 and "Permission denied" in result.stderr and TOTP_PERSON not in result.stdout


def test_a_person_needs_key_and_a_fresh_totp_code_and_wrong_codes_lock_the_account(
    lab_state: LabState, lab_work_dir: Path, tmp_path: Path
) -> None:
    host, work = bastion(lab_state), lab_work_dir
    otp = totp(work)
    askpass = tmp_path / "askpass"
    askpass.write_text(ASKPASS)
    askpass.chmod(0o700)

    key_only = login(host, work, askpass, None)
    assert refused(key_only) and "(keyboard-interactive)" in key_only.stderr, key_only.stderr
    code_only = login(host, work, askpass, otp.now(), key=False)
    assert refused(code_only) and "(publickey)" in code_only.stderr, code_only.stderr

    used = otp.now()
    ok = login(host, work, askpass, used)
    assert ok.returncode == 0 and ok.stdout.strip() == TOTP_PERSON, ok.stderr

    try:
        assert refused(login(host, work, askpass, used)), "a replayed code was accepted"
        stale = otp.at(time.time() - 20 * STEP)
        assert refused(login(host, work, askpass, stale)), "a ten-minute-old code was accepted"
        valid_now = {otp.at(time.time() + k * STEP) for k in range(-6, 7)}
        wrong = next(c for c in (f"{n:06d}" for n in range(0, 1000000, 7919)) if c not in valid_now)
        for _ in range(3):
            assert refused(login(host, work, askpass, wrong)), "a wrong code was accepted"
        # five failures: locked, so the right code is refused too
        assert refused(login(host, work, askpass, otp.at(time.time() + STEP))), "a locked account logged in"
        tally = run_as_admin(lab_state, f"faillock --user {TOTP_PERSON}")
        assert len([line for line in tally.splitlines() if line.rstrip().endswith(" V")]) >= 5, tally
    finally:
        sudo(host, f"faillock --user {TOTP_PERSON} --reset")
    again = login(host, work, askpass, otp.at(time.time() + STEP))
    assert again.returncode == 0 and again.stdout.strip() == TOTP_PERSON, again.stderr


def run_as_admin(lab_state: LabState, command: str) -> str:
    """``command`` as root on the bastion through the lab's automation account."""
    host = bastion(lab_state)
    result = subprocess.run(
        ["ssh", "-F", lab_state.ssh_config_file, host.name, f"sudo -n {command}"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_person_reaches_an_internal_host_through_the_bastion_with_the_code_asked_there(
    lab_state: LabState, lab_work_dir: Path, tmp_path: Path
) -> None:
    """The path an administrator takes: ProxyJump through the bastion (key + TOTP), then the key on the app host
    (its sshd has no second factor: the bastion is the one way in)."""
    targets = [replace(t, user=TOTP_PERSON, identity_file=str(lab_work_dir / TOTP_PERSON_KEY)) for t in
               targets_from_lab(lab_state)]  # fmt: skip
    config_path = drift.write_ssh_files(targets, tmp_path / "ssh", None)
    text = config_path.read_text()  # pinned keys on both hops, as drift writes them; prompts allowed for the code
    assert text.count("  BatchMode yes\n") == len(targets)
    config_path.write_text(text.replace("  BatchMode yes\n", "  BatchMode no\n  NumberOfPasswordPrompts 1\n"))
    askpass = tmp_path / "askpass"
    askpass.write_text(ASKPASS)
    askpass.chmod(0o700)
    behind = next(t for t in targets if t.jump is not None)
    code = totp(lab_work_dir).at(time.time() + 2 * STEP)  # not a code the other test used
    result = subprocess.run(
        ["ssh", "-F", str(config_path), behind.name, "id -un; hostname"],
        env=with_code(askpass, code),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [TOTP_PERSON, behind.name]
