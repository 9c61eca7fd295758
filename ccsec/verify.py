"""`ccsec verify`: run the testinfra suite (tests/hosts) against hosts, with host keys pinned.

testinfra connects through its ssh:// backend (the OpenSSH client) with an ssh_config that sets
UserKnownHostsFile and StrictHostKeyChecking yes, so a host whose key changed is refused, never
trusted. Results come back as JUnit XML (for CI) and a JSON summary naming the failed controls.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ccsec.hostsuite as hostsuite
from ccsec.errors import CcsecError
from ccsec.infra.stackfile import project_dir
from ccsec.infra.validate import HostLabel, SafePath

SUITE = Path(hostsuite.__file__).resolve().parent  # tests/hosts in the repo, ccsec/hostsuite when installed


class VerifyError(CcsecError):
    """The suite could not run at all (no hosts, no ssh_config, pytest missing)."""


@dataclass
class Finding:
    host: str
    test: str
    control: str
    outcome: str  # failed | error
    message: str


@dataclass
class VerifyResult:
    started: str
    hosts: list[str]
    passed: int = 0
    failed: int = 0
    errors: int = 0
    deselected_note: str = "role-specific tests are deselected on hosts of other roles"
    findings: list[Finding] = field(default_factory=list)
    junit: str = ""
    summary: str = ""

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 a control failed, 2 a host could not be checked (errors only)."""
        if self.failed:
            return 1
        if self.errors or not self.passed:
            return 2
        return 0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["failed_controls"] = sorted({f.control for f in self.findings if f.outcome == "failed" and f.control})
        return data


def _ssh_host(name: str, hosts: list[str]) -> str:
    """testinfra ids look like test_x[ssh://host] or test_x[ssh://host-param]: find which host."""
    inner = name.split("[ssh://", 1)[1].rstrip("]") if "[ssh://" in name else ""
    matches = [h for h in hosts if inner == h or inner.startswith(f"{h}-")]
    return max(matches, key=len) if matches else inner


def parse_junit(path: Path, result: VerifyResult) -> None:
    """Count outcomes and collect failures with the control id recorded by tests/hosts/conftest.py."""
    tree = ET.parse(path)  # noqa: S314 - our own pytest output
    for case in tree.iter("testcase"):
        controls = [p.get("value", "") for p in case.iter("property") if p.get("name") == "control"]
        control = controls[0] if controls else ""
        failure = case.find("failure")
        error = case.find("error")
        if case.find("skipped") is not None:
            continue
        if failure is None and error is None:
            result.passed += 1
            continue
        node = failure if failure is not None else error
        outcome = "failed" if failure is not None else "error"
        if outcome == "failed":
            result.failed += 1
        else:
            result.errors += 1
        # The failure text starts with "[CONTROL] title" (tests/hosts/conftest.py); the reason is the
        # first pytest "E " line after it.
        text = (node.text or node.get("message") or "").splitlines()
        reasons = [line[1:].strip() for line in text if line.startswith("E ") and line[1:].strip()]
        message = reasons or [line for line in text if line.strip() and not line.startswith("[")]
        result.findings.append(
            Finding(
                host=_ssh_host(case.get("name", ""), result.hosts),
                test=f"{case.get('classname', '')}::{case.get('name', '')}",
                control=control,
                outcome=outcome,
                message=message[0][:400] if message else "",
            )
        )


def run_suite(
    hosts: list[str],
    ssh_config: Path,
    out_dir: Path,
    workers: int = 0,
    extra_args: list[str] | None = None,
) -> VerifyResult:
    """Run tests/hosts against `hosts` (names resolved by `ssh_config`); write junit.xml + summary.json."""
    if not hosts:
        raise VerifyError("no hosts to verify")
    for index, host in enumerate(hosts):  # each becomes ssh://<host> in --hosts: no ',', '?', '@' or ':'
        problem = HostLabel.check(host)
        if problem:
            raise VerifyError(f"hosts[{index}]: {problem}")
    problem = SafePath.check(str(ssh_config))
    if problem:
        raise VerifyError(f"ssh_config: {problem}")
    if not ssh_config.is_file():
        raise VerifyError(f"ssh_config {ssh_config} not found")
    out_dir.mkdir(parents=True, exist_ok=True)
    junit = out_dir / "junit.xml"
    result = VerifyResult(started=datetime.now(UTC).isoformat(timespec="seconds"), hosts=hosts)
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "--rootdir",
        str(SUITE),
        "-p",
        "no:cacheprovider",
        f"--hosts={','.join(f'ssh://{h}' for h in hosts)}",
        f"--ssh-config={ssh_config}",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        "-q",
        "-rfE",
    ]
    if workers > 1:
        command += ["-n", str(workers)]
    command += extra_args or []
    completed = subprocess.run(command, cwd=SUITE, capture_output=True, text=True, check=False)
    (out_dir / "pytest.log").write_text(completed.stdout + completed.stderr)
    if not junit.is_file():
        raise VerifyError(
            f"the host suite did not run (pytest exit {completed.returncode}):\n{completed.stderr[-2000:]}"
        )
    parse_junit(junit, result)
    result.junit = str(junit)
    result.summary = str(out_dir / "summary.json")
    Path(result.summary).write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return result


def default_out_dir(kind: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return project_dir() / "reports" / f"{kind}-{stamp}"


def render_text(result: VerifyResult) -> str:
    lines = [
        f"verify: {len(result.hosts)} host(s): {result.passed} passed, {result.failed} failed, {result.errors} errors",
        *render_findings(result.findings),
        f"reports: {result.junit}, {result.summary}",
    ]
    return "\n".join(lines)


def render_findings(findings: list[Finding], indent: str = "  ") -> list[str]:
    """One line per finding (outcome, [control], host: test) plus its reason; shared by verify and drift."""
    lines = []
    for finding in findings:
        tag = f"[{finding.control}] " if finding.control else ""
        lines.append(f"{indent}{finding.outcome.upper()} {tag}{finding.host}: {finding.test.split('::')[-1]}")
        if finding.message:
            lines.append(f"{indent}    {finding.message}")
    return lines
