"""Benchmark: policy evaluation over a synthetic 1,000-server stack (prints figures, asserts nothing).

Run: python bench/policy.py [--servers N] [--exact]. Target: <= 5 s for 1,000 servers (on top of the
mock run). --exact also times the single-servicer reference path for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ccsec.policies.offline import Evaluator
from ccsec_testbeds.synthetic import synthetic_servers


def _time(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exact", action="store_true", help="also time the single-servicer reference path")
    args = parser.parse_args()

    resources = synthetic_servers(args.servers)
    print(f"servers={args.servers} resources={len(resources)}")
    start = time.perf_counter()
    evaluator = Evaluator()
    print(f"evaluator setup: {time.perf_counter() - start:.3f} s ({len(evaluator.info.policies)} policies)")
    modes = [("fast", evaluator)] + ([("exact", Evaluator(exact=True))] if args.exact else [])
    for label, ev in modes:
        res_t = _time(lambda ev=ev: ev.analyze_resources(resources), args.repeat)
        stack_t = _time(lambda ev=ev: ev.analyze_stack(resources), args.repeat)
        total = [a + b for a, b in zip(res_t, stack_t, strict=True)]
        violations = len(ev.evaluate(resources))
        print(
            f"{label}: Analyze {statistics.median(res_t):.2f} s, AnalyzeStack {statistics.median(stack_t):.2f} s, "
            f"total median {statistics.median(total):.2f} s (min {min(total):.2f}), violations={violations}, "
            f"target <= 5 s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
