"""Parsing the host suite's JUnit into the verify summary (no hosts needed)."""

from __future__ import annotations

from pathlib import Path

from ccsec.verify import VerifyResult, parse_junit

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="0" tests="4">
<testcase classname="tests.hosts.test_ssh" name="test_sshd[ssh://lab-app-1]">
  <properties><property name="control" value="HOST-02"/></properties></testcase>
<testcase classname="tests.hosts.test_filesystems" name="test_mounts[ssh://lab-app-1-/dev/shm]">
  <properties><property name="control" value="HOST-07"/></properties>
  <failure message="[HOST-07] /tmp ...">[HOST-07] /tmp, /var/tmp and /dev/shm are mounted nodev,nosuid,noexec
host = ...
E       AssertionError: ['rw', 'nosuid', 'nodev']
E       assert False</failure></testcase>
<testcase classname="tests.hosts.test_ssh" name="test_sshd[ssh://lab-app-10]">
  <properties><property name="control" value="HOST-02"/></properties>
  <error message="failed on setup">ssh: connect to host 127.0.0.1 port 2: Connection refused</error></testcase>
<testcase classname="tests.hosts.test_roles" name="test_tls[ssh://lab-app-1]"><skipped message="x"/></testcase>
</testsuite></testsuites>
"""


def test_outcomes_controls_and_hosts_are_read_from_junit(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    result = VerifyResult(started="now", hosts=["lab-app-1", "lab-app-10"])
    parse_junit(path, result)
    assert (result.passed, result.failed, result.errors) == (1, 1, 1)
    failed, errored = result.findings
    assert (failed.host, failed.control, failed.outcome) == ("lab-app-1", "HOST-07", "failed")
    assert failed.message == "AssertionError: ['rw', 'nosuid', 'nodev']"
    assert (errored.host, errored.outcome) == ("lab-app-10", "error")
    assert "Connection refused" in errored.message
    assert result.exit_code == 1
    assert result.as_dict()["failed_controls"] == ["HOST-07"]


def test_errors_alone_mean_could_not_check_and_nothing_passed_is_not_a_pass() -> None:
    only_errors = VerifyResult(started="now", hosts=["h"], errors=2)
    assert only_errors.exit_code == 2
    assert VerifyResult(started="now", hosts=["h"]).exit_code == 2
    assert VerifyResult(started="now", hosts=["h"], passed=3).exit_code == 0
