"""Per-table row counts and checksums of a PostgreSQL database, taken at an exact recovery point.

The backup run calls :func:`take_reference` right after ``pgbackrest backup`` finished:

1. list the user tables (``relkind = 'r'``) of ``postgres.verify_database``;
2. ``BEGIN ISOLATION LEVEL REPEATABLE READ; LOCK TABLE <all> IN SHARE MODE`` (``lock_timeout``
   bounded): writers to those tables finish first, new ones wait until the end of the window;
3. inside the window read ``clock_timestamp()`` (= the reference time) and, in the same snapshot,
   ``count(*)`` and ``md5(string_agg(t::text, ',' order by t::text))`` of every table; the
   transaction takes an xid so its COMMIT is a WAL record stamped after the reference time;
4. ``pg_switch_wal()`` and wait until that segment is archived.

Every commit touching those tables is therefore either before the reference time (and in the
snapshot) or after the window (and not in it), so point-in-time recovery to the reference time
(``pgbackrest restore --type=time``) yields exactly the checksummed content. The values describe
the database at the reference time, a moment after the backup ended — not the backup's start.

:func:`table_checksums` (without locks) reads the same values from a restored cluster.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .errors import BackupError
from .proc import as_user, run
from .secrets import base_env

REFERENCE_SCHEMA = "ccsec-pg-reference/1"
ANNOTATION_KEY = "ccsec-reference"

_TABLES_SQL = (
    "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) from pg_class c "
    "join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' "
    "and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' "
    "and n.nspname not like 'pg\\_temp%' order by 1"
)
_NOW_SQL = (
    "select json_build_object('time', to_char(clock_timestamp() at time zone 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'xid', txid_current()::text, 'lsn', pg_current_wal_lsn()::text);"
)


class Psql:
    """Runs SQL with ``psql`` as the PostgreSQL OS user over a unix socket (peer authentication)."""

    def __init__(self, pg_bin: Path, socket_dir: Path, port: int, user: str, timeout: float = 600) -> None:
        self.pg_bin, self.socket_dir, self.port, self.user, self.timeout = pg_bin, socket_dir, port, user, timeout

    def __call__(self, sql: str, database: str = "postgres") -> list[str]:
        """Run ``sql`` (a script, read from stdin) and return the non-empty output lines."""
        argv = [str(self.pg_bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
        argv += ["-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, "-d", database, "-f", "-"]
        res = run(as_user(argv, self.user), base_env(), self.timeout, input_text=sql, cwd="/")
        if res.returncode != 0:
            lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
            raise BackupError(f"psql on port {self.port} db {database}: {lines[-1] if lines else 'failed'}")
        return [ln for ln in res.stdout.splitlines() if ln.strip()]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _checksum_sql(table: str) -> str:
    # ``table`` is a name the server quoted (quote_ident) in list_tables, never user input
    agg = "md5(coalesce(string_agg(t::text, ',' order by t::text), ''))"
    return f"select json_build_object('table', {_literal(table)}, 'rows', count(*), 'md5', {agg}) from {table} t;"  # noqa: S608


def list_tables(psql: Psql, database: str) -> list[str]:
    """Schema-qualified, server-quoted names of the user tables of ``database``."""
    return psql(_TABLES_SQL + ";", database)


def table_checksums(psql: Psql, database: str, tables: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{table: {rows, md5}}`` in one snapshot (no locks: for a restored, idle cluster)."""
    tables = list_tables(psql, database) if tables is None else tables
    script = "begin isolation level repeatable read read only;\n" + "\n".join(_checksum_sql(t) for t in tables)
    return _parse(psql(script + "\ncommit;", database))


def _parse(lines: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in lines:
        row = json.loads(line)
        if "table" in row:
            out[row["table"]] = {"rows": int(row["rows"]), "md5": row["md5"]}
    return out


def take_reference(psql: Psql, database: str, lock_timeout_s: int = 10, archive_wait_s: float = 60) -> dict[str, Any]:
    """Checksums of every user table of ``database`` at an exact, recoverable reference time (see module doc)."""
    tables = list_tables(psql, database)
    lines = ["begin isolation level repeatable read;", f"set local lock_timeout = '{int(lock_timeout_s)}s';"]
    if tables:
        lines.append(f"lock table {', '.join(tables)} in share mode;")
    lines.append(_NOW_SQL)
    lines += [_checksum_sql(t) for t in tables]
    lines.append("commit;")
    out = psql("\n".join(lines), database)
    point = json.loads(out[0])
    segment = psql("select pg_walfile_name(pg_switch_wal());", database)[0]
    _wait_archived(psql, database, segment, archive_wait_s)
    return {
        "schema": REFERENCE_SCHEMA,
        "database": database,
        "time": point["time"],
        "xid": point["xid"],
        "lsn": point["lsn"],
        "wal_segment": segment,
        "tables": _parse(out[1:]),
    }


def _wait_archived(psql: Psql, database: str, segment: str, timeout: float) -> None:
    """Wait until ``segment`` (same timeline) is archived; the reference point must be restorable."""
    deadline = time.monotonic() + timeout
    while True:
        row = psql("select coalesce(last_archived_wal, '') from pg_stat_archiver;", database)
        last = row[0] if row else ""
        if len(last) == 24 and last[:8] == segment[:8] and last >= segment:
            return
        if time.monotonic() > deadline:
            raise BackupError(f"WAL segment {segment} with the reference point was not archived within {timeout:.0f}s")
        time.sleep(0.2)


def encode(reference: dict[str, Any]) -> str:
    """Compact JSON for a pgBackRest annotation value (stored, encrypted, in backup.info)."""
    return json.dumps(reference, separators=(",", ":"), sort_keys=True)


def compare(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[str]:
    """Problems, one per table: missing, extra, or different row count / checksum."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append(f"table {table}: missing in the restored database")
        elif table not in expected:
            problems.append(f"table {table}: not in the reference (extra)")
        elif expected[table] != actual[table]:
            e, a = expected[table], actual[table]
            what = "row count" if e["rows"] != a["rows"] else "checksum"
            problems.append(
                f"table {table}: {what} differs (expected {e['rows']} rows md5 {e['md5']}, "
                f"restored {a['rows']} rows md5 {a['md5']})"
            )
    return problems
