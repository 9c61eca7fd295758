"""One exit code and the three report forms, for every combination a scheduled run can meet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ccsec import drift, drift_report, reach
from ccsec.infra_drift import DriftedResource, InfraResult, PropertyChange
from ccsec.verify import Finding, VerifyResult

ROOT = Path(__file__).resolve().parents[2]
CLEAN_INFRA = InfraResult("clean", changes={"same": 120})
SKIPPED_INFRA = InfraResult("skipped", reason="no Pulumi CLI on PATH: infrastructure drift was NOT checked")
DRIFT_INFRA = InfraResult(
    "drift",
    resources=[
        DriftedResource(
            "urn:pulumi:prod::p::openstack:networking/secGroupRule:SecGroupRule::prod-bastion-ssh",
            "openstack:networking/secGroupRule:SecGroupRule",
            "prod-bastion-ssh",
            "replace",
            [PropertyChange("remoteIpPrefix", "update-replace")],
        )
    ],
    changes={"same": 119, "replace": 1},
)
ERROR_INFRA = InfraResult("error", reason="pulumi preview failed: 401 Unauthorized")


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own report


def suite(passed: int, failed: int = 0, errors: int = 0) -> VerifyResult:
    result = VerifyResult(started="2024-06-10T00:00:00+00:00", hosts=["lab-bastion-1", "lab-app-1"], passed=passed)
    result.failed, result.errors = failed, errors
    if failed:
        result.findings.append(
            Finding("lab-app-1", "tests.hosts.test_ssh::test_sshd[ssh://lab-app-1]", "HOST-02", "failed", "root login")
        )
    return result


def hosts(passed: int = 60, failed: int = 0, errors: int = 0, down: list[str] | None = None) -> drift.HostDrift:
    unreachable = [reach.Reach(h, False, reach.classify(255, "Host key verification failed.")) for h in down or []]
    return drift.HostDrift(["lab-bastion-1", "lab-app-1"], suite(passed, failed, errors), unreachable, seconds=42.0)


def report(infra: InfraResult, part: drift.HostDrift, require_infra: bool = False) -> drift.DriftReport:
    return drift.DriftReport("prod", "stack", "2024-06-10T00:00:00+00:00", infra, part, require_infra, "later")


@pytest.mark.parametrize(
    ("infra", "part", "require", "code", "verdict"),
    [
        (CLEAN_INFRA, hosts(), False, 0, "clean"),
        (SKIPPED_INFRA, hosts(), False, 0, "clean"),
        (SKIPPED_INFRA, hosts(), True, 2, "incomplete"),
        (CLEAN_INFRA, hosts(failed=2), False, 1, "drift"),
        (DRIFT_INFRA, hosts(), False, 1, "drift"),
        (DRIFT_INFRA, hosts(down=["lab-app-1"]), False, 1, "drift"),
        (ERROR_INFRA, hosts(failed=1), False, 1, "drift"),
        (ERROR_INFRA, hosts(), False, 2, "incomplete"),
        (CLEAN_INFRA, hosts(down=["lab-app-1"]), False, 2, "incomplete"),
        (CLEAN_INFRA, hosts(errors=3), False, 2, "incomplete"),
        (CLEAN_INFRA, hosts(passed=0), False, 2, "incomplete"),
        (CLEAN_INFRA, drift.HostDrift([], error="no lab is running"), False, 2, "incomplete"),
    ],
)
def test_one_exit_code(infra: InfraResult, part: drift.HostDrift, require: bool, code: int, verdict: str) -> None:
    result = report(infra, part, require)
    assert (result.exit_code, result.verdict) == (code, verdict)
    assert drift_report.as_dict(result)["exit_code"] == code


def test_a_skipped_infra_check_is_named_in_every_output(tmp_path: Path) -> None:
    result = report(SKIPPED_INFRA, hosts())
    text = drift_report.render_text(result)
    assert text.splitlines()[0].endswith("NO DRIFT in what was checked — NOT CHECKED: infra (exit 0)")
    assert "infra: SKIPPED — no Pulumi CLI on PATH" in text
    data = drift_report.as_dict(result)
    assert data["not_checked"] == ["infra"] and data["infra"]["status"] == "skipped"
    cases = parse_xml(drift_report.to_junit(result)).find("testsuite[@name='infra-drift']")
    assert cases is not None and cases.find("testcase/skipped") is not None


def test_a_scoped_recheck_is_clean_only_in_what_it_checked(tmp_path: Path) -> None:
    part = hosts(passed=4)
    part.controls = ["HOST-02", "HOST-05"]
    result = report(CLEAN_INFRA, part)
    assert (result.exit_code, result.verdict) == (0, "clean")
    head = drift_report.render_text(result).splitlines()[0]
    assert head.endswith("NOT CHECKED: host controls other than HOST-02,HOST-05 (exit 0)"), head
    data = drift_report.as_dict(result)
    assert data["not_checked"] == ["host controls other than HOST-02,HOST-05"]
    assert data["hosts"]["controls"] == ["HOST-02", "HOST-05"]
    assert drift_report.as_dict(report(CLEAN_INFRA, hosts()))["hosts"]["controls"] == "all"
    # a scope that matched no host test (a NET control, say) ran nothing: could not check, not clean
    nothing = hosts(passed=0)
    nothing.controls = ["NET-01"]
    assert (report(CLEAN_INFRA, nothing).exit_code, report(CLEAN_INFRA, nothing).verdict) == (2, "incomplete")


def test_drift_is_reported_by_resource_property_and_control() -> None:
    result = report(DRIFT_INFRA, hosts(failed=1))
    text = drift_report.render_text(result)
    assert "REPLACE openstack:networking/secGroupRule:SecGroupRule prod-bastion-ssh: remoteIpPrefix" in text
    assert "FAILED [HOST-02] lab-app-1: test_sshd[ssh://lab-app-1]" in text
    data = drift_report.as_dict(result)
    assert data["hosts"]["failed_controls"] == ["HOST-02"]
    root = parse_xml(drift_report.to_junit(result))
    infra_suite = root.find("testsuite[@name='infra-drift']")
    assert infra_suite is not None and infra_suite.get("failures") == "1"
    assert "remoteIpPrefix" in infra_suite.find("testcase/failure").get("message")


def test_a_refused_host_key_is_an_error_naming_a_possible_mitm() -> None:
    result = report(CLEAN_INFRA, hosts(down=["lab-app-1"]))
    data = drift_report.as_dict(result)
    assert data["hosts"]["unreachable"][0]["host"] == "lab-app-1"
    assert "man-in-the-middle" in data["hosts"]["unreachable"][0]["reason"]
    assert data["hosts"]["errors"] == 1
    reach_suite = parse_xml(drift_report.to_junit(result)).find("testsuite[@name='host-reach']")
    assert reach_suite is not None and reach_suite.get("errors") == "1" and reach_suite.get("tests") == "2"


def test_the_host_suite_junit_is_carried_into_the_drift_junit(tmp_path: Path) -> None:
    suite_junit = tmp_path / "hosts.xml"
    suite_junit.write_text(
        '<testsuites><testsuite name="pytest"><testcase classname="tests.hosts.test_kernel" '
        'name="test_sysctl[ssh://lab-app-1]"><failure message="x">[HOST-05]</failure></testcase>'
        "</testsuite></testsuites>"
    )
    part = hosts(failed=1)
    assert part.result is not None
    part.result.junit = str(suite_junit)
    root = parse_xml(drift_report.to_junit(report(CLEAN_INFRA, part)))
    assert [s.get("name") for s in root.iter("testsuite")] == ["infra-drift", "host-reach", "pytest"]
    assert root.find("testsuite[@name='pytest']").get("failures") == "1"


def test_reports_are_written_together(tmp_path: Path) -> None:
    result = report(DRIFT_INFRA, hosts())
    drift_report.write(result, tmp_path / "r")
    assert json.loads((tmp_path / "r" / "drift.json").read_text())["verdict"] == "drift"
    parse_xml((tmp_path / "r" / "junit.xml").read_text())
    assert (tmp_path / "r" / "summary.txt").read_text().startswith("ccsec drift: stack prod (stack): DRIFT FOUND")


def test_openssh_refusals_are_classified() -> None:
    changed = "@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n"
    assert "man-in-the-middle" in reach.classify(255, changed)
    assert reach.classify(255, "ssh: connect to host 10.0.0.5 port 22: Connection timed out\n") == (
        "unreachable: ssh: connect to host 10.0.0.5 port 22: Connection timed out"
    )


def test_probing_a_closed_port_is_unreachable_not_a_pass(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host closed\n  HostName 127.0.0.1\n  Port 1\n  BatchMode yes\n  StrictHostKeyChecking yes\n"
        f"  UserKnownHostsFile {tmp_path}/kh\n  ConnectTimeout 5\n"
    )
    (result,) = reach.probe(["closed"], config, timeout=20)
    assert not result.ok and result.reason.startswith("unreachable:") and "refused" in result.reason


def ccsec(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccsec.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_cli_without_a_stack_or_lab_is_a_clear_error() -> None:
    result = ccsec("drift")
    assert result.returncode == 2 and "--stack NAME is required" in result.stderr


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("HOST-99", "unknown control ids ['HOST-99']"),
        ("host-02", "unknown control ids ['host-02']"),
        (" , ", "no control ids"),
    ],
)
def test_cli_controls_that_name_nothing_real_are_refused_before_anything_runs(
    tmp_path: Path, value: str, named: str
) -> None:
    out = tmp_path / "out"
    result = ccsec("drift", "--lab", "--controls", value, "--out", str(out), env={"CCSEC_LAB_WORK": str(tmp_path)})
    assert result.returncode == 2 and named in result.stderr, result.stderr
    assert not out.exists()  # refused before any report was started


def test_cli_stack_mode_names_every_missing_input() -> None:
    result = ccsec("drift", "--stack", "prod")
    assert result.returncode == 2
    assert "--known-hosts, --user, --identity" in result.stderr


def test_cli_without_a_running_lab_cannot_check_and_keeps_the_reports(tmp_path: Path) -> None:
    env = {"CCSEC_LAB_WORK": str(tmp_path / "no-lab")}
    result = ccsec("drift", "--lab", "--out", str(tmp_path / "out"), "--format", "json", env=env)
    assert result.returncode == 2, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "incomplete" and "no lab is running" in data["hosts"]["error"]
    assert data["infra"]["status"] == "skipped"
    (kept,) = (tmp_path / "out").iterdir()
    assert kept.name.startswith("drift-") and {p.name for p in kept.iterdir()} >= {"drift.json", "junit.xml"}


def test_cli_stack_mode_without_outputs_or_cli_cannot_read_host_targets(tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("not used")
    (tmp_path / "kh").write_text("")
    env = {"PATH": "/usr/bin:/bin"}  # no pulumi CLI on this PATH
    result = ccsec(
        "drift", "--stack", "prod", "--known-hosts", str(tmp_path / "kh"), "--user", "auditor",
        "--identity", str(key), "--out", str(tmp_path / "out"), env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert "infra: SKIPPED — no Pulumi CLI on PATH" in result.stdout
    assert "no --outputs FILE and no Pulumi CLI" in result.stdout


def test_hosts_behind_a_jump_host_that_failed_are_not_tried_and_say_why(tmp_path: Path) -> None:
    from ccsec.lab.keys import generate_ed25519
    from ccsec.sshtargets import SshTarget

    key = generate_ed25519().public_openssh
    bastion = SshTarget("bastion-1", "127.0.0.1", 1, "auditor", "/nonexistent/id", key)
    behind = SshTarget("app-1", "10.0.0.5", 22, "auditor", "/nonexistent/id", key, jump="bastion-1")
    config = drift.write_ssh_files([bastion, behind], tmp_path / "ssh", None)
    down = drift.probe_in_order([bastion, behind], config)
    assert [p.host for p in down] == ["bastion-1", "app-1"]
    assert down[0].reason.startswith("unreachable:") and "refused" in down[0].reason
    assert down[1].reason == f"unreachable: jump host bastion-1: {down[0].reason}"


def test_a_report_directory_unsafe_for_ssh_config_is_could_not_check_not_a_crash(tmp_path: Path) -> None:
    from ccsec.sshtargets import SshTarget

    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL89qaWNynrh/h+XgSqtXJjdRXpgg8chrdEEAqgsaXj+"
    part = drift.check_hosts([SshTarget("app-1", "10.0.0.5", 22, "auditor", "/keys/id", key)], tmp_path / "my reports")
    assert "known_hosts file" in part.error and part.incomplete and part.result is None
