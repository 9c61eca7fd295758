"""Benchmark the backup agent against a real all-in-one Swift: full, differential, restore, raw restic.

Prints figures; asserts nothing about timings. Default data set: 200 MB in 2,000 files
(1 % churn); ``--full-size`` uses the issue's 2 GB in 20,000 files. Run as root::

    python bench/backup.py [--files N] [--mb N] [--churn 0.01] [--full-size] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccsec.backup import config as config_mod
from ccsec.backup.agent import engine_for, run_backup
from ccsec.backup.restic import ResticEngine
from ccsec.backup.secrets import base_env, write_private
from ccsec_testbeds.swift_aio import Ports, SwiftAIO, free_ports


def make_data(root: Path, files: int, total_bytes: int) -> list[Path]:
    """``files`` random files of equal size in 100-file directories."""
    size = max(1, total_bytes // files)
    paths = []
    for i in range(files):
        path = root / f"dir{i // 100:04d}" / f"rec{i:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def churn(paths: list[Path], fraction: float, rng: random.Random) -> int:
    """Rewrite ``fraction`` of the files with new random content; return how many."""
    chosen = rng.sample(paths, max(1, int(len(paths) * fraction)))
    for path in chosen:
        path.write_bytes(os.urandom(path.stat().st_size))
    return len(chosen)


def raw_restic(swift: SwiftAIO, repo: str, pw: Path, data: Path, args: list[str]) -> float:
    """Time a plain ``restic backup`` (no agent, no manifest) on the same data."""
    creds = swift.credentials()
    env = base_env() | creds.restic_env() | {"RESTIC_PASSWORD_FILE": str(pw)}
    cmd = ["restic", "--repo", repo, "--cacert", str(swift.ca_file)]
    t0 = time.monotonic()
    subprocess.run([*cmd, *args, str(data)], env=env, check=True, capture_output=True)
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=2000)
    p.add_argument("--mb", type=int, default=200)
    p.add_argument("--churn", type=float, default=0.01)
    p.add_argument("--full-size", action="store_true", help="2 GB in 20,000 files (the issue's target)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.full_size:
        args.files, args.mb = 20000, 2048
    work = Path(tempfile.mkdtemp(prefix="ccsec-bench-", dir="/var/tmp"))
    work.chmod(0o755)
    ports = free_ports(5)
    swift = SwiftAIO(
        base=work / "swift",
        ports=Ports(proxy=ports[0], account=ports[1], container=ports[2], obj=ports[3], memcached=ports[4]),
    )
    figures: dict[str, float | int | str] = {"files": args.files, "mb": args.mb, "churn": args.churn}
    try:
        swift.start()
        creds = swift.credentials()
        sec = work / "secrets"
        swift_env = sec / "swift.env"
        write_private(swift_env, f"ST_AUTH={creds.auth_url}\nST_USER={creds.user}\nST_KEY={creds.key}\n")
        pw = sec / "restic.pass"
        write_private(pw, secrets.token_urlsafe(24) + "\n")
        data = work / "data"
        t0 = time.monotonic()
        paths = make_data(data, args.files, args.mb << 20)
        figures["generate_s"] = round(time.monotonic() - t0, 2)
        (work / "agent.toml").write_text(
            f'[agent]\nhost = "bench"\nstate_dir = "{work / "state"}"\nmetrics_dir = "{work / "metrics"}"\n\n'
            f'[swift]\ncredentials_file = "{swift_env}"\nca_file = "{swift.ca_file}"\n\n'
            f'[files]\nrepository = "swift:bench:/agent"\npassword_file = "{pw}"\npaths = ["{data}"]\n'
        )
        cfg = config_mod.load(work / "agent.toml")
        full = run_backup(cfg, "files", "full")
        figures["agent_full_s"] = full.duration_seconds
        figures["agent_full_restic_s"] = full.extra["restic_duration_seconds"]
        raw_repo = "swift:bench-raw:/raw"
        env = base_env() | creds.restic_env() | {"RESTIC_PASSWORD_FILE": str(pw)}
        subprocess.run(
            ["restic", "--repo", raw_repo, "--cacert", str(swift.ca_file), "init"],
            env=env,
            check=True,
            capture_output=True,
        )
        figures["raw_full_s"] = round(raw_restic(swift, raw_repo, pw, data, ["backup", "--force"]), 2)
        figures["churned_files"] = churn(paths, args.churn, random.Random(1))
        diff = run_backup(cfg, "files", "diff")
        figures["agent_diff_s"] = diff.duration_seconds
        figures["agent_diff_restic_s"] = diff.extra["restic_duration_seconds"]
        figures["raw_diff_s"] = round(raw_restic(swift, raw_repo, pw, data, ["backup"]), 2)
        figures["diff_vs_raw"] = round(float(figures["agent_diff_s"]) / float(figures["raw_diff_s"]), 2)
        figures["diff_bytes_added"] = diff.bytes_added
        engine = engine_for(cfg, "files")
        assert isinstance(engine, ResticEngine)
        t0 = time.monotonic()
        engine.restore(diff.snapshot_id or "latest", work / "restore")
        figures["restore_s"] = round(time.monotonic() - t0, 2)
    finally:
        swift.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:24s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
