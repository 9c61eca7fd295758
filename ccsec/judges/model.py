"""What a judge returns and how a run of judges becomes one verdict and exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccsec.errors import EXIT_ERROR, EXIT_FINDING, EXIT_OK


@dataclass
class Judgement:
    """One judge on one host: its figures, whether they meet the target, or why it could not run."""

    judge: str
    target: str
    figures: dict[str, Any] = field(default_factory=dict)
    met: bool = False
    error: str = ""

    @property
    def status(self) -> str:
        return "error" if self.error else ("met" if self.met else "missed")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "target": self.target, **self.figures}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class HostJudgements:
    name: str
    role: str
    judgements: list[Judgement] = field(default_factory=list)


def exit_code(hosts: list[HostJudgements]) -> int:
    """1 a target missed (even if another judge could not run: the miss is real); else 2 if one errored; else 0."""
    statuses = {j.status for h in hosts for j in h.judgements}
    if "missed" in statuses:
        return EXIT_FINDING
    return EXIT_ERROR if "error" in statuses or not statuses else EXIT_OK


def report(hosts: list[HostJudgements], started: str, finished: str) -> dict[str, Any]:
    """The documented JSON shape: ``{"hosts": [{"name", "role", "judges": {judge: {...}}}], ...}``."""
    verdict = {EXIT_OK: "met", EXIT_FINDING: "missed"}.get(exit_code(hosts), "incomplete")
    return {
        "verdict": verdict,
        "started": started,
        "finished": finished,
        "hosts": [
            {"name": h.name, "role": h.role, "judges": {j.judge: j.as_json() for j in h.judgements}} for h in hosts
        ],
    }
