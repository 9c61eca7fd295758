"""The judges' verdicts from their own report formats, written here by hand in each tool's documented shape:
a report that did not finish is an error, never a pass, and each target is met only by the figure it names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ccsec.judges import TARGETS, lynis, portscan, sshaudit, testssl
from ccsec.judges.model import HostJudgements, Judgement, exit_code, report
from ccsec.judges.runner import JudgeMissing, _judge

REPO = Path(__file__).resolve().parents[2]


def ssh_audit_report(**sections: list[dict]) -> str:
    base = {"banner": {"raw": "SSH-2.0-OpenSSH_9.2p1"}, "kex": [], "key": [], "enc": [], "mac": [], "cves": []}
    return json.dumps(base | sections)


def test_ssh_audit_counts_fails_per_algorithm_and_cves_as_fails() -> None:
    text = ssh_audit_report(
        kex=[{"algorithm": "curve25519-sha256", "notes": {"warn": ["no post-quantum protection"], "info": ["x"]}}],
        enc=[{"algorithm": "chacha20-poly1305@openssh.com", "notes": {"fail": ["vulnerable to the Terrapin attack"]}}],
        cves=[{"name": "CVE-2023-48795", "description": "Terrapin", "cvssv2": 5.9}],
    )
    figures = sshaudit.parse(text)
    assert (figures["fail"], figures["warn"]) == (2, 1)
    assert figures["fails"][0].startswith("(enc) chacha20-poly1305@openssh.com: vulnerable")
    assert not sshaudit.met(figures)


def test_ssh_audit_with_warnings_only_meets_the_zero_fail_target() -> None:
    figures = sshaudit.parse(ssh_audit_report(kex=[{"algorithm": "a", "notes": {"warn": ["w"]}}]))
    assert figures["fail"] == 0 and figures["warn"] == 1 and sshaudit.met(figures)


@pytest.mark.parametrize("text", ["[]", '{"error": "connection refused"}', ""])
def test_an_ssh_audit_that_did_not_report_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        sshaudit.parse(text)


@pytest.mark.parametrize(("index", "met"), [(91, True), (90, True), (89, False)])
def test_lynis_target_is_the_hardening_index(index: int, met: bool) -> None:
    text = f"# Lynis Report\nhardening_index={index}\nwarning[]=AUTH-9286|x|\nsuggestion[]=a\nsuggestion[]=b\n"
    figures = lynis.parse(text)
    assert figures == {"index": index, "warnings": ["AUTH-9286|x|"], "suggestions": 2}
    assert lynis.met(figures) is met


@pytest.mark.parametrize("text", ["", "lynis_version=3.0.8\n", "hardening_index=\n", "hardening_index=abc\n"])
def test_a_lynis_run_that_did_not_finish_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        lynis.parse(text)


def tls_report(grade: str | None) -> str:
    findings = [
        {"id": "TLS1_3", "severity": "OK", "finding": "offered with final"},
        {"id": "HSTS_time", "finding": "365 days"},
    ]
    if grade is not None:
        findings += [{"id": "overall_grade", "finding": grade}, {"id": "grade_cap_reason_1", "finding": "cap"}]
    return json.dumps(findings)


@pytest.mark.parametrize(("grade", "met"), [("A+", True), ("A", False), ("B", False), ("T", False)])
def test_testssl_target_is_a_plus(grade: str, met: bool) -> None:
    figures = testssl.parse(tls_report(grade))
    assert figures["grade"] == grade and figures["protocols"] == {"TLS1_3": "offered with final"}
    assert figures["grade_cap_reasons"] == ["cap"] and figures["hsts"] == "365 days"
    assert testssl.met(figures) is met


@pytest.mark.parametrize("text", [tls_report(None), "{}", "[1, 2]"])
def test_a_testssl_scan_without_a_grade_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        testssl.parse(text)


DONE = "# Nmap done at Thu Dec  3 12:00:00 2026 -- 1 IP address (1 host up) scanned in 80.1 seconds\n"


def test_nmap_reports_open_ports_and_misses_the_target() -> None:
    grepable = "# Nmap 7.93 scan\nHost: 192.0.2.10 ()\tPorts: 22/open/tcp//ssh///, 443/open/tcp//https///\n" + DONE
    figures = portscan.parse(grepable, guest_answers_arp=True)
    assert figures["open"] == [22, 443] and not portscan.met(figures)


def test_nmap_with_no_open_port_meets_the_target_only_when_the_guest_was_there() -> None:
    grepable = "# Nmap 7.93 scan\n" + DONE
    assert portscan.met(portscan.parse(grepable, guest_answers_arp=True))
    with pytest.raises(ValueError, match="ARP"):
        portscan.parse(grepable, guest_answers_arp=False)
    with pytest.raises(ValueError, match="did not finish"):
        portscan.parse("# Nmap 7.93 scan\n", guest_answers_arp=True)


def judgement(status: str) -> Judgement:
    j = Judgement("lynis", TARGETS["lynis"], {"index": 91}, met=status == "met")
    j.error = "lynis is not installed" if status == "error" else ""
    return j


@pytest.mark.parametrize(
    ("statuses", "code"),
    [(["met", "met"], 0), (["met", "missed"], 1), (["missed", "error"], 1), (["met", "error"], 2), ([], 2)],
)
def test_a_miss_comes_before_an_error_and_nothing_run_is_no_pass(statuses: list[str], code: int) -> None:
    hosts = [HostJudgements("lab-app-1", "app", [judgement(s) for s in statuses])]
    assert exit_code(hosts) == code
    shape = report(hosts, "t0", "t1")
    assert shape["verdict"] == {0: "met", 1: "missed", 2: "incomplete"}[code]
    assert [h["name"] for h in shape["hosts"]] == ["lab-app-1"]


def test_a_judge_that_cannot_run_or_whose_report_is_unreadable_is_an_error_and_not_met(tmp_path: Path) -> None:
    def missing() -> str:
        raise JudgeMissing("lynis is not installed: scripts/lab-deps.sh")

    j = _judge("lynis", tmp_path, "dat", missing, lynis.parse, lynis.met)
    assert j.status == "error" and not j.met and "scripts/lab-deps.sh" in j.error
    j = _judge("lynis", tmp_path, "dat", lambda: "lynis_version=3.0.8\n", lynis.parse, lynis.met)
    assert j.status == "error" and (tmp_path / "lynis.dat").read_text() == "lynis_version=3.0.8\n"


def test_help_names_every_judge_and_its_target() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ccsec.cli", "judge", "--help"], capture_output=True, text=True, cwd=REPO, check=False
    )
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    for name, target in TARGETS.items():
        assert f"{name}: {target}" in text
    assert "OpenSCAP is not a judge yet" in text
