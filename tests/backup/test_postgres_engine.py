"""PostgreSQL engine (pgBackRest → Swift s3api, encrypted) against a REAL PostgreSQL 15 cluster."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ccsec.backup import metrics
from ccsec.backup.agent import run_backup, run_maintenance
from ccsec.backup.errors import RepositoryPasswordError, StorageUnavailableError
from ccsec_testbeds.swift_aio import SwiftAIO

from .conftest import PgSetup, restore_and_query

pytestmark = pytest.mark.swift
CHECKSUM = "select count(*) || ':' || md5(coalesce(string_agg(id || v, ',' order by id), '')) from t"


def test_full_diff_and_restore_into_fresh_data_dir(pg: PgSetup, swift: SwiftAIO) -> None:
    pg.psql("create table t (id int primary key, v text)")
    pg.psql("insert into t select g, md5(g::text) from generate_series(1, 1000) g")
    at_full = pg.psql(CHECKSUM)
    full = run_backup(pg.cfg, "postgres", "diff")  # upgraded: no full yet
    assert full.type == "full" and full.result == "success" and full.snapshot_id
    assert full.extra["cipher"] == "aes-256-cbc"

    pg.psql("insert into t select g, md5(g::text) from generate_series(1001, 1500) g")
    pg.psql("update t set v = 'changed' where id <= 10")
    at_diff = pg.psql(CHECKSUM)
    diff = run_backup(pg.cfg, "postgres", "diff")
    assert diff.type == "diff" and diff.parent_id == full.snapshot_id
    assert diff.snapshot_id.endswith("D")  # pgBackRest labels differentials ...F_...D

    pg.psql("insert into t select g, 'late' from generate_series(1501, 1600) g")  # not in any backup

    assert at_full.startswith("1000:") and at_diff.startswith("1500:")
    assert restore_and_query(pg, "restore-diff", CHECKSUM, diff.snapshot_id) == at_diff
    assert restore_and_query(pg, "restore-full", CHECKSUM, full.snapshot_id) == at_full

    # the repository in Swift is encrypted: info files are OpenSSL "Salted__" blobs, not plaintext
    bucket = pg.cfg.postgres.bucket if pg.cfg.postgres else ""
    files = swift.object_files(bucket, "db-01/backup/main/backup.info")
    assert files, "backup.info not found in the Swift bucket"
    for path in files.values():
        assert path.read_bytes().startswith(b"Salted__")

    prom = metrics.parse_textfile(pg.cfg.agent.metrics_dir / "ccsec_backup_postgres.prom")
    assert prom['ccsec_backup_last_result{engine="postgres",host="db-01"}'] == 1


def test_wal_archiving_and_check(pg: PgSetup) -> None:
    pg.psql("select pg_switch_wal()")
    m = run_maintenance(pg.cfg, "postgres", "check")  # pgbackrest check: archive_command round trip
    assert m.result == "success"
    archived = int(pg.psql("select archived_count from pg_stat_archiver"))
    assert archived >= 2


def test_swift_down_then_recovers(pg: PgSetup, swift: SwiftAIO) -> None:
    swift.stop(("proxy",))
    try:
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailableError) as info:
            run_backup(pg.cfg, "postgres", "diff")
        assert time.monotonic() - t0 < 300
        assert "unavailable" in str(info.value)
        prom = metrics.parse_textfile(pg.cfg.agent.metrics_dir / "ccsec_backup_postgres.prom")
        assert prom['ccsec_backup_last_result{engine="postgres",host="db-01"}'] == 0
    finally:
        swift.start(("proxy",))
    assert run_backup(pg.cfg, "postgres", "diff").result == "success"


def test_wrong_cipher_pass_is_one_clear_error(pg: PgSetup) -> None:
    assert pg.cfg.postgres is not None
    pass_file: Path = pg.cfg.postgres.cipher_pass_file
    good = pass_file.read_text()
    pass_file.write_text("definitely-wrong-pass\n")
    try:
        with pytest.raises(RepositoryPasswordError) as info:
            run_backup(pg.cfg, "postgres", "diff")
        assert "cipher pass" in str(info.value) and "definitely-wrong-pass" not in str(info.value)
    finally:
        pass_file.write_text(good)
        pg.engine.write_config()  # archive_command reads this config: put the right pass back
    assert run_backup(pg.cfg, "postgres", "diff").result == "success"
