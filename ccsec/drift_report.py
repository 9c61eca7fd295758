"""The drift report in three forms: JSON and JUnit for CI, a short text summary for people.

Only names, controls, property paths and reasons are reported — never property values, which may be
stack secrets. A skipped part is stated in every form (JUnit: a ``skipped`` test case), never as passed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from ccsec.drift import DriftReport, host_findings
from ccsec.verify import render_findings


def as_dict(report: DriftReport) -> dict:
    hosts = report.hosts
    result = hosts.result
    findings = host_findings(hosts)
    return {
        "stack": report.stack,
        "mode": report.mode,
        "started": report.started,
        "finished": report.finished,
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "not_checked": report.not_checked,
        "infra": report.infra.as_dict(),
        "hosts": {
            "targets": hosts.targets,
            "controls": hosts.controls or "all",
            "seconds": round(hosts.seconds, 1),
            "passed": result.passed if result else 0,
            "failed": result.failed if result else 0,
            "errors": (result.errors if result else 0) + len(hosts.unreachable),
            "unreachable": [{"host": p.host, "reason": p.reason} for p in hosts.unreachable],
            "error": hosts.error,
            "failed_controls": sorted({f.control for f in findings if f.outcome == "failed" and f.control}),
            "findings": [f.__dict__ for f in findings],
        },
    }


def _infra_lines(report: DriftReport) -> list[str]:
    infra = report.infra
    if infra.status == "skipped":
        return [f"  infra: SKIPPED — {infra.reason}"]
    if infra.status == "error":
        return [f"  infra: COULD NOT CHECK — {infra.reason}", *(f"      {e}" for e in infra.errors[:5])]
    if infra.status == "clean":
        return ["  infra: no drift (preview --refresh: every resource unchanged)"]
    lines = [f"  infra: DRIFT in {len(infra.resources)} resource(s) {infra.changes}"]
    for res in infra.resources:
        props = ", ".join(f"{p.path} ({p.kind})" for p in res.properties) or "(no property detail)"
        lines.append(f"    {res.op.upper()} {res.type} {res.name}: {props}")
    return lines


def render_text(report: DriftReport, reports_dir: Path | None = None) -> str:
    """The short summary: verdict first, then what drifted, named by control and property."""
    data = as_dict(report)
    hosts = data["hosts"]
    head = {"drift": "DRIFT FOUND", "clean": "NO DRIFT", "incomplete": "COULD NOT CHECK EVERYTHING"}[report.verdict]
    if report.verdict == "clean" and report.not_checked:
        head += f" in what was checked — NOT CHECKED: {', '.join(report.not_checked)}"
    lines = [f"ccsec drift: stack {report.stack} ({report.mode}): {head} (exit {report.exit_code})"]
    lines += _infra_lines(report)
    lines.append(
        f"  hosts: {len(hosts['targets'])} host(s) in {hosts['seconds']} s: {hosts['passed']} passed, "
        f"{hosts['failed']} failed, {hosts['errors']} errors"
        + (f"; drifted controls: {', '.join(hosts['failed_controls'])}" if hosts["failed_controls"] else "")
    )
    if report.hosts.error:
        lines.append(f"    the host suite could not run: {report.hosts.error.splitlines()[0]}")
    lines += render_findings(host_findings(report.hosts), indent="    ")
    if reports_dir is not None:
        lines.append(f"reports: {reports_dir}")
    return "\n".join(lines)


def _case(suite: ET.Element, classname: str, name: str, kind: str = "", message: str = "") -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    if kind:
        ET.SubElement(case, kind, message=message[:500]).text = message


def to_junit(report: DriftReport) -> str:
    """JUnit XML: an ``infra-drift`` suite, a ``host-reach`` suite, then the host suite's own cases."""
    root = ET.Element("testsuites", name=f"ccsec drift {report.stack}")
    infra = ET.SubElement(root, "testsuite", name="infra-drift")
    status = report.infra.status
    if status in ("skipped", "error", "clean"):
        kind = {"skipped": "skipped", "error": "error", "clean": ""}[status]
        _case(infra, "infra", "preview --refresh --expect-no-changes", kind, report.infra.reason)
    for res in report.infra.resources:
        props = ", ".join(f"{p.path} ({p.kind})" for p in res.properties)
        _case(infra, f"infra.{res.type}", res.name, "failure", f"{res.op}: {props}".strip())
    reach_suite = ET.SubElement(root, "testsuite", name="host-reach")
    down = {p.host: p.reason for p in report.hosts.unreachable}
    for host in report.hosts.targets:
        _case(reach_suite, "hosts.reach", host, "error" if host in down else "", down.get(host, ""))
    if report.hosts.result and report.hosts.result.junit and Path(report.hosts.result.junit).is_file():
        suite_root = ET.parse(report.hosts.result.junit).getroot()  # noqa: S314 - our own pytest output
        root.extend(suite_root.iter("testsuite") if suite_root.tag == "testsuites" else [suite_root])
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        for kind, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            suite.set(attr, str(sum(1 for c in cases if c.find(kind) is not None)))
        suite.set("tests", str(len(cases)))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(report: DriftReport, directory: Path) -> Path:
    """drift.json, junit.xml and summary.txt into ``directory`` (the host suite's files are beside them)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "drift.json").write_text(json.dumps(as_dict(report), indent=2) + "\n")
    (directory / "junit.xml").write_text(to_junit(report))
    (directory / "summary.txt").write_text(render_text(report, directory) + "\n")
    return directory
