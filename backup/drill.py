"""DR drill: restore the newest (or point-in-time) backups into fresh scratch targets and verify them.

:func:`drill` runs each configured engine (:mod:`backup.drill_files`, :mod:`backup.drill_pg`) and
returns a :class:`DrillReport` with the verdict, the RPO achieved and the RTO measured:

- **RPO** (per engine, overall = the worst): age of the restored point — the newest point the drill
  could restore *and verify* — at the drill's start (``now``). With ``at`` it is measured from
  ``at`` instead: how much before the requested time the restored state is.
- **RTO**: wall time from the drill's start until every engine was verified (restore, start-up of
  the scratch cluster and comparison included; cleanup excluded).

Exit codes (:attr:`DrillReport.exit_code`): 0 verified and RPO within the limit, 1 a verification
failed or RPO too old. A drill that cannot run at all (no backup, Swift down, wrong key) raises
:class:`~backup.errors.BackupError` instead; callers exit 2.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .agent import engine_for
from .config import BackupConfig
from .drill_files import EngineResult, drill_files
from .drill_pg import drill_postgres
from .errors import BackupError
from .manifest import iso, utcnow
from .pgbackrest import PgBackRestEngine
from .restic import ResticEngine, parse_time
from .scratch import scratch_dir

MAX_RPO_SECONDS = 300
# parent of a mkdtemp() scratch dir (unique, 0711): /var/tmp because the PostgreSQL user must traverse it
DEFAULT_SCRATCH = Path("/var/tmp")  # noqa: S108
REPORT_SCHEMA = "ccsec-drill-report/1"


@dataclass
class DrillReport:
    """The outcome of one drill (see the module doc for RPO/RTO)."""

    host: str
    started_at: str
    finished_at: str = ""
    at: str | None = None
    max_rpo_seconds: int = MAX_RPO_SECONDS
    engines: list[EngineResult] = field(default_factory=list)
    rpo_seconds: float | None = None
    rto_seconds: float = 0.0
    schema: str = REPORT_SCHEMA

    @property
    def verified(self) -> bool:
        """Every engine restored and verified something (files / tables with rows) without a problem.

        Zero files or zero tables checked is never "verified": an empty snapshot or a missing reference
        proves nothing about restorability.
        """
        return bool(self.engines) and all(e.verified and e.checked > 0 for e in self.engines)

    @property
    def rpo_ok(self) -> bool:
        """The worst engine's RPO is within the limit."""
        return self.rpo_seconds is not None and self.rpo_seconds <= self.max_rpo_seconds

    @property
    def exit_code(self) -> int:
        """0 verified and RPO ok, 1 otherwise."""
        return 0 if self.verified and self.rpo_ok else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, verdict fields included."""
        doc = asdict(self)
        doc.update(verified=self.verified, rpo_ok=self.rpo_ok, exit_code=self.exit_code)
        for engine in doc["engines"]:
            engine["rpo_seconds"] = _rpo(engine["point_time"], self.at or self.started_at)
        return doc

    def to_json(self) -> str:
        """Pretty, stable JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_markdown(self) -> str:
        """A readable report for people."""
        verdict = "PASS" if self.exit_code == 0 else "FAIL"
        rpo = "n/a" if self.rpo_seconds is None else f"{self.rpo_seconds:.0f} s"
        lines = [
            f"# DR drill {verdict} — {self.host}",
            "",
            f"- started: {self.started_at}, finished: {self.finished_at}",
            f"- requested point: {self.at or 'latest'}",
            f"- **RPO achieved: {rpo}** (limit {self.max_rpo_seconds} s, {'ok' if self.rpo_ok else 'EXCEEDED'})",
            f"- **RTO: {self.rto_seconds:.1f} s** (drill start to verified)",
            f"- verification: {'all verified' if self.verified else 'FAILED'}",
            *[
                f"- {e.engine} consistency (pg_amcheck: heap and every btree index): "
                f"{'ok' if e.details['amcheck']['ok'] else 'DAMAGED'} in {e.details['amcheck']['seconds']:.1f} s"
                for e in self.engines
                if "amcheck" in e.details
            ],
            "",
            "| engine | restored point | type | time | newest backup | checked | restore s | verify s | result |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for e in self.engines:
            point = e.point_id if len(e.point_id) <= 40 else e.point_id[:16]
            lines.append(
                f"| {e.engine} | `{point}` | {e.point_type} | {e.point_time} | {e.newest_backup_time} "
                f"| {e.checked} | {e.restore_seconds:.1f} | {e.verify_seconds:.1f} | "
                f"{'verified' if e.verified else 'FAILED'} |"
            )
        for e in self.engines:
            if e.problems:
                lines += ["", f"## {e.engine}: {len(e.problems)} problem(s)", ""]
                lines += [f"- {p}" for p in e.problems[:200]]
            if e.notes:
                lines += ["", f"## {e.engine}: notes", ""]
                lines += [f"- {n}" for n in e.notes[:50]]
        return "\n".join(lines) + "\n"


def _rpo(point_time: str, reference: str) -> float | None:
    if not point_time:
        return None
    return round((parse_time(reference) - parse_time(point_time)).total_seconds(), 3)


def drill(
    cfg: BackupConfig,
    at: datetime | None = None,
    target_dir: Path = DEFAULT_SCRATCH,
    *,
    engines: tuple[str, ...] | None = None,
    now: datetime | None = None,
    max_rpo_seconds: int = MAX_RPO_SECONDS,
) -> DrillReport:
    """Restore and verify every configured engine (or ``engines``) into a fresh dir below ``target_dir``.

    ``now`` overrides the clock the RPO is measured against (tests, replaying a drill). The
    scratch directory (restored files, scratch cluster) is always removed afterwards, also when the
    drill is killed (:mod:`backup.scratch`).
    """
    names = engines or tuple(n for n in ("files", "postgres") if getattr(cfg, n) is not None)
    if not names:
        raise BackupError("nothing to drill: the configuration has neither [files] nor [postgres]")
    started = now or utcnow()
    report = DrillReport(host=cfg.agent.host, started_at=iso(started), at=iso(at) if at else None)
    report.max_rpo_seconds = max_rpo_seconds
    t0 = time.monotonic()
    with scratch_dir(target_dir) as scratch:  # removed however the drill ends (backup.scratch)
        for name in names:
            engine = engine_for(cfg, name)
            if isinstance(engine, ResticEngine):
                report.engines.append(drill_files(engine, at, scratch / "files"))
            elif isinstance(engine, PgBackRestEngine):
                report.engines.append(drill_postgres(engine, at, scratch / "postgres"))
            else:
                raise BackupError(f"engine {name}: the drill has no restore procedure for it")
        report.rto_seconds = round(time.monotonic() - t0, 3)
    rpos = [_rpo(e.point_time, report.at or report.started_at) for e in report.engines]
    report.rpo_seconds = None if None in rpos or not rpos else max(r for r in rpos if r is not None)
    report.finished_at = iso(utcnow() if now is None else started + timedelta(seconds=time.monotonic() - t0))
    return report


def write_report(report: DrillReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``drill-<time>.json`` and ``drill-<time>.md`` into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.replace(":", "").replace("-", "").split(".")[0].rstrip("Z") + "Z"
    json_path, md_path = out_dir / f"drill-{stamp}.json", out_dir / f"drill-{stamp}.md"
    json_path.write_text(report.to_json() + "\n")
    md_path.write_text(report.to_markdown())
    return json_path, md_path
