"""Benchmark `ccsec plan` (mock engine, offline): dev, prod and a generated 1,000-server stack.

Prints wall-clock figures; asserts nothing. Targets (issue #2): prod ≤ 3 s, 1,000 servers ≤ 15 s.
Usage: python bench/plan.py [--servers N] [--repeat K]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STACKS = ROOT / "stacks"


def large_stack(directory: Path, servers: int) -> str:
    """A prod-like stack whose roles add up to `servers` hosts."""
    document = yaml.safe_load((STACKS / "Pulumi.prod.yaml").read_text())
    share = {"bastion": 0.005, "app": 0.4, "db": 0.2, "recordings": 0.2}
    counts = {role: max(2, int(servers * frac)) for role, frac in share.items()}
    counts["payment"] = servers - sum(counts.values())
    cluster = document["config"]["ccaas-baseline:cluster"]
    for role, count in counts.items():
        cluster[role]["count"] = count
    (directory / "Pulumi.large.yaml").write_text(yaml.safe_dump(document))
    return "large"


def time_plan(stack: str, stacks_dir: Path, repeat: int) -> tuple[list[float], int]:
    """Wall time of the real command (process start, imports, program, JSON), as a user sees it."""
    times, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ccsec.cli",
                "plan",
                "--stack",
                stack,
                "--stacks-dir",
                str(stacks_dir),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
        if result.returncode not in (0, 1):
            raise SystemExit(f"plan --stack {stack} failed: {result.stderr[-2000:]}")
        count = result.stdout.count('"urn":')
    return times, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000, help="hosts in the generated stack (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stack for dev/prod (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        for name in ("dev", "prod"):
            (tmp_dir / f"Pulumi.{name}.yaml").write_text((STACKS / f"Pulumi.{name}.yaml").read_text())
        large = large_stack(tmp_dir, args.servers)
        print(f"{'stack':<12}{'resources':>10}{'median s':>10}{'min s':>8}{'target s':>10}")
        for stack, repeat, target in (("dev", args.repeat, "-"), ("prod", args.repeat, "3"), (large, 1, "15")):
            times, count = time_plan(stack, tmp_dir, repeat)
            label = f"{stack}({args.servers})" if stack == large else stack
            print(f"{label:<12}{count:>10}{statistics.median(times):>10.2f}{min(times):>8.2f}{target:>10}")


if __name__ == "__main__":
    main()
