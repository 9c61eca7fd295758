"""PostgreSQL's own consistency checks (``pg_amcheck``) on a restored scratch cluster.

The drill's row counts and checksums read every table sequentially, so they never touch an index:
a restore whose btree indexes disagree with their tables passes them, and the first query that uses
such an index returns wrong rows. ``pg_amcheck`` (PostgreSQL 14+, amcheck) checks every table's heap
and every btree index of every database: ``--heapallindexed`` (each heap tuple has its index tuple),
``--parent-check`` and ``--rootdescend`` (the tree's structure). Those take locks that block writers,
which only a scratch cluster nobody uses can afford.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BackupError
from .proc import as_user, run
from .secrets import base_env

AMCHECK_OPTIONS = ("--all", "--install-missing", "--heapallindexed", "--parent-check", "--rootdescend")
MAX_PROBLEMS = 20  # a damaged restore can report thousands of pages; the report names the first ones
CORRUPTION_FOUND = 2  # pg_amcheck's exit status when a check reported corruption (1: it could not run)


@dataclass
class AmcheckResult:
    """What ``pg_amcheck`` found; ``problems`` name the relation and the first message for each."""

    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_cluster(pg_bin: Path, socket_dir: Path, port: int, user: str, timeout: float = 1800) -> AmcheckResult:
    """Run ``pg_amcheck`` over every database of the cluster on ``socket_dir``:``port``."""
    argv = [str(pg_bin / "pg_amcheck"), "-h", str(socket_dir), "-p", str(port), "-U", user, *AMCHECK_OPTIONS]
    started = time.monotonic()
    res = run(as_user(argv, user), base_env(), timeout, cwd="/")
    result = AmcheckResult(seconds=round(time.monotonic() - started, 3))
    if res.returncode == 0:
        return result
    problems = parse_report(res.stdout)
    if res.returncode != CORRUPTION_FOUND or not problems:
        lines = [ln.strip() for ln in (res.stderr + res.stdout).splitlines() if ln.strip()]
        raise BackupError(f"pg_amcheck could not check the restored cluster: {lines[-1] if lines else 'no output'}")
    result.problems = problems
    return result


def parse_report(text: str) -> list[str]:
    """``pg_amcheck``'s report as one line per damaged relation: ``<relation>: <first message>``.

    The report is a header per relation (``btree index "db.schema.name":`` or ``heap table "db.s.t",
    block 3, offset 7:``) followed by indented message lines.
    """
    problems: list[str] = []
    header, extra = "", 0
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            header = line.strip().rstrip(":")
            continue
        if not header:
            continue
        message = line.strip()
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"pg_amcheck: {header}: {message}")
        else:
            extra += 1
        header = ""  # one line per relation: its first message
    if extra:
        problems.append(f"pg_amcheck: {extra} more damaged relation(s) not listed")
    return problems
