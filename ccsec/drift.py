"""`ccsec drift`: has anything in the cloud or on a host moved away from the baseline? One verdict.

Two checks, one exit code:

* infrastructure — ``pulumi preview --refresh --expect-no-changes`` through the Automation API
  (:mod:`ccsec.infra_drift`); ``skipped`` when there is no Pulumi CLI or nothing Pulumi deployed (the lab);
* hosts — the hardened-host suite (``tests/hosts``) through :func:`ccsec.verify.run_suite`, over OpenSSH
  with pinned keys, behind the bastion (ProxyJump), in parallel (pytest-xdist). Hosts that cannot be
  reached, or whose key changed, are errors (:mod:`ccsec.reach`), never passes.

Exit codes: 1 drift found anywhere (even if another part could not be checked: the drift is real and
actionable); else 2 if a part could not be checked (a host unreachable, the preview failed, or — with
``require_infra`` — infrastructure skipped); else 0. A skipped part is always named in every output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ccsec import reach, verify
from ccsec.backup.private_files import write_private
from ccsec.infra_drift import InfraResult
from ccsec.sshtargets import SshTarget, TargetError, render_known_hosts, render_ssh_config

EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2


@dataclass
class HostDrift:
    """Host part: the suite's result plus hosts that could not be reached. ``error``: it could not run."""

    targets: list[str]
    result: verify.VerifyResult | None = None
    unreachable: list[reach.Reach] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    controls: list[str] = field(default_factory=list)  # empty: every control; else a scoped re-check

    @property
    def drift(self) -> bool:
        return bool(self.result and self.result.failed)

    @property
    def incomplete(self) -> bool:
        return bool(self.error or self.unreachable or not self.result or self.result.errors or not self.result.passed)


@dataclass
class DriftReport:
    stack: str
    mode: str  # lab | stack
    started: str
    infra: InfraResult
    hosts: HostDrift
    require_infra: bool = False
    finished: str = ""

    @property
    def exit_code(self) -> int:
        if self.infra.status == "drift" or self.hosts.drift:
            return EXIT_DRIFT
        infra_missing = self.infra.status == "error" or (self.require_infra and self.infra.status == "skipped")
        return EXIT_ERROR if infra_missing or self.hosts.incomplete else EXIT_OK

    @property
    def verdict(self) -> str:
        """drift | clean | incomplete — "clean" with a skipped part still lists it under ``not_checked``."""
        return {EXIT_DRIFT: "drift", EXIT_OK: "clean"}.get(self.exit_code, "incomplete")

    @property
    def not_checked(self) -> list[str]:
        """Parts a "clean" does not cover: a skipped infra check, host controls left out by --controls."""
        skipped = ["infra"] if self.infra.status == "skipped" else []
        if self.hosts.controls:
            skipped.append("host controls other than " + ",".join(self.hosts.controls))
        return skipped


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def default_workers(hosts: int) -> int:
    """xdist workers: enough to keep every host busy, bounded by the CPUs that run the SSH clients."""
    return max(2, min(hosts * 2, 4 * (os.cpu_count() or 1), 32))


def write_ssh_files(targets: list[SshTarget], directory: Path, control_dir: Path | None) -> Path:
    """known_hosts (pinned keys, not secret) and the ssh_config the suite and the probes use."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    known_hosts = directory / "known_hosts"
    write_private(known_hosts, render_known_hosts(targets), 0o644)
    ssh_config = directory / "ssh_config"
    write_private(ssh_config, render_ssh_config(targets, known_hosts, control_dir), 0o644)
    return ssh_config


def _close_masters(hosts: list[str], ssh_config: Path) -> None:
    """Stop the multiplexed connections this run opened (they would otherwise linger ControlPersist s)."""
    for host in reversed(hosts):  # hosts behind the bastion first, the bastion's own master last
        subprocess.run(["ssh", "-F", str(ssh_config), "-O", "exit", host], capture_output=True, check=False)


def probe_in_order(targets: list[SshTarget], ssh_config: Path) -> list[reach.Reach]:
    """Probe bastions first (hosts behind them then reuse their multiplexed connection); a host whose
    jump host failed is not tried — it is reported as unreachable through that jump host."""
    direct = reach.probe([t.name for t in targets if t.jump is None], ssh_config)
    failed = {p.host: p.reason for p in direct if not p.ok}
    behind = [t for t in targets if t.jump is not None]
    blocked = [
        reach.Reach(t.name, False, f"unreachable: jump host {t.jump}: {failed[t.jump]}")
        for t in behind
        if t.jump in failed
    ]
    tried = reach.probe([t.name for t in behind if t.jump not in failed], ssh_config)
    return [p for p in direct + blocked + tried if not p.ok]


def check_hosts(
    targets: list[SshTarget], out_dir: Path, workers: int = 0, controls: list[str] | None = None
) -> HostDrift:
    """Probe every host (pinned keys), then run the host suite on the reachable ones in parallel.

    ``controls``: only the tests proving these ids (a re-check after a fix); the report says what was left out.
    """
    names = [t.name for t in targets]
    part = HostDrift(targets=names, controls=sorted(controls or []))
    control_dir = Path(tempfile.mkdtemp(prefix="ccsec-cm-", dir="/tmp"))  # short: unix socket path limit
    started = datetime.now(UTC)
    try:
        try:
            ssh_config = write_ssh_files(targets, out_dir / "ssh", control_dir)
        except TargetError as error:  # e.g. a report directory with a space: not safe in an ssh_config
            part.error = str(error)
            return part
        part.unreachable = probe_in_order(targets, ssh_config)
        reachable = [n for n in names if n not in {p.host for p in part.unreachable}]
        if reachable:
            try:
                part.result = verify.run_suite(
                    reachable,
                    ssh_config,
                    out_dir / "hosts",
                    workers=workers or default_workers(len(reachable)),
                    extra_args=[f"--controls={','.join(part.controls)}"] if part.controls else None,
                )
            except verify.VerifyError as error:
                part.error = str(error)
            finally:
                _close_masters(names, ssh_config)
    finally:
        shutil.rmtree(control_dir, ignore_errors=True)
    part.seconds = (datetime.now(UTC) - started).total_seconds()
    return part


def host_findings(part: HostDrift) -> list[verify.Finding]:
    """Suite findings plus one error per unreachable host (reason: unreachable / possible MITM)."""
    findings = [
        verify.Finding(host=p.host, test="ssh::reach with pinned key", control="", outcome="error", message=p.reason)
        for p in part.unreachable
    ]
    return findings + (part.result.findings if part.result else [])
