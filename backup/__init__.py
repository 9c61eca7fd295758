"""ccsec backup agent: restic (files) and pgBackRest (PostgreSQL) to OpenStack Swift.

Modules, one concern each:

- :mod:`backup.config`     typed agent configuration (TOML), validated all at once
- :mod:`backup.secrets`    secret files (0600) and the environment handed to engines
- :mod:`backup.lock`       flock-based non-overlap of runs
- :mod:`backup.proc`       subprocess runner that redacts secrets and maps errors
- :mod:`backup.restic`     the files engine (full / differential / check / retention / off-site copy)
- :mod:`backup.pgbackrest` the PostgreSQL engine (WAL archiving, full / diff, restore)
- :mod:`backup.manifest`   per-run JSON manifest (and per-file sha256 for files)
- :mod:`backup.metrics`    Prometheus textfile metrics
- :mod:`backup.agent`      one run: decide type, lock, run engine, record manifest and metrics
- :mod:`backup.cli`        ``python -m backup`` command line
- :mod:`backup.pgverify`   per-table row counts/checksums at an exact recovery point (drill reference)
- :mod:`backup.drill`      DR drill: restore into scratch targets, verify, RPO/RTO report
  (:mod:`backup.drill_files` restic, :mod:`backup.drill_pg` pgBackRest + scratch cluster)
(The Swift all-in-one the tests and the lab back up to is a test bed: testbeds/ccsec_testbeds/swift_aio.py.)
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
