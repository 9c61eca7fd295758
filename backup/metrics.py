"""Prometheus textfile metrics (node_exporter's textfile collector), one file per engine.

Series (labels ``engine``, ``host``; ``type`` where it matters)::

    ccsec_backup_last_run_timestamp_seconds
    ccsec_backup_last_success_timestamp_seconds{type}
    ccsec_backup_last_duration_seconds
    ccsec_backup_last_size_bytes            bytes added to the repository by the last success
    ccsec_backup_last_total_bytes           size of the data set covered by the last success
    ccsec_backup_last_result                1 = success, 0 = failure
    ccsec_backup_runs_total{result}

The previous values are kept in ``<state_dir>/metrics-<engine>.json`` so a failure does not
erase the last success time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .manifest import Manifest, replace_file


def _state_path(state_dir: Path, engine: str) -> Path:
    return state_dir / f"metrics-{engine}.json"


def record(manifest: Manifest, finished_ts: float, state_dir: Path, metrics_dir: Path) -> Path:
    """Fold ``manifest`` into the engine's metric state and rewrite its ``.prom`` file atomically."""
    state_path = _state_path(state_dir, manifest.engine)
    try:
        state: dict[str, Any] = json.loads(state_path.read_text())
    except (OSError, ValueError):
        state = {}
    ok = manifest.result == "success"
    state["last_run"] = finished_ts
    state["last_result"] = 1 if ok else 0
    state["last_duration"] = manifest.duration_seconds
    runs = state.setdefault("runs", {"success": 0, "failure": 0})
    runs["success" if ok else "failure"] += 1
    if ok:
        state.setdefault("last_success", {})[manifest.type] = finished_ts
        state["last_size"] = manifest.bytes_added
        state["last_total"] = manifest.bytes_total
    try:  # the counters' state may sit on a full disk: the .prom file (elsewhere) is written regardless
        state_dir.mkdir(parents=True, exist_ok=True)
        replace_file(state_path, json.dumps(state))
    except OSError:
        write_textfile(manifest.engine, manifest.host, state, metrics_dir)
        raise
    return write_textfile(manifest.engine, manifest.host, state, metrics_dir)


def write_textfile(engine: str, host: str, state: dict[str, Any], metrics_dir: Path) -> Path:
    """Render ``state`` in the Prometheus text exposition format to ``ccsec_backup_<engine>.prom``."""
    base = f'engine="{engine}",host="{host}"'
    lines = [
        "# HELP ccsec_backup_last_run_timestamp_seconds Unix time the last backup run finished.",
        "# TYPE ccsec_backup_last_run_timestamp_seconds gauge",
        f"ccsec_backup_last_run_timestamp_seconds{{{base}}} {state.get('last_run', 0):.3f}",
        "# HELP ccsec_backup_last_success_timestamp_seconds Unix time of the last successful backup, per type.",
        "# TYPE ccsec_backup_last_success_timestamp_seconds gauge",
    ]
    for kind, ts in sorted(state.get("last_success", {}).items()):
        lines.append(f'ccsec_backup_last_success_timestamp_seconds{{{base},type="{kind}"}} {ts:.3f}')
    lines += [
        "# HELP ccsec_backup_last_duration_seconds Duration of the last backup run.",
        "# TYPE ccsec_backup_last_duration_seconds gauge",
        f"ccsec_backup_last_duration_seconds{{{base}}} {state.get('last_duration', 0):.3f}",
        "# HELP ccsec_backup_last_size_bytes Bytes added to the repository by the last successful run.",
        "# TYPE ccsec_backup_last_size_bytes gauge",
        f"ccsec_backup_last_size_bytes{{{base}}} {state.get('last_size', 0)}",
        "# HELP ccsec_backup_last_total_bytes Size of the data covered by the last successful run.",
        "# TYPE ccsec_backup_last_total_bytes gauge",
        f"ccsec_backup_last_total_bytes{{{base}}} {state.get('last_total', 0)}",
        "# HELP ccsec_backup_last_result 1 if the last run succeeded, 0 if it failed.",
        "# TYPE ccsec_backup_last_result gauge",
        f"ccsec_backup_last_result{{{base}}} {state.get('last_result', 0)}",
        "# HELP ccsec_backup_runs_total Backup runs by result.",
        "# TYPE ccsec_backup_runs_total counter",
    ]
    for result, count in sorted(state.get("runs", {}).items()):
        lines.append(f'ccsec_backup_runs_total{{{base},result="{result}"}} {count}')
    metrics_dir.mkdir(parents=True, exist_ok=True)
    path = metrics_dir / f"ccsec_backup_{engine}.prom"
    return replace_file(path, "\n".join(lines) + "\n", 0o644)


def parse_textfile(path: Path) -> dict[str, float]:
    """Parse a ``.prom`` file into ``{'name{labels}': value}`` (for tests and the drill report)."""
    out: dict[str, float] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out
