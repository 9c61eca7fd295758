"""Benchmark: policy evaluation over a 1,000-server stack, as a ratio to the mock run it follows.

Prints figures; asserts nothing. Target (issue #11): evaluation <= 10 % of the mock run.
- program: the real program (infra/) for a generated prod-like stack of N servers, run under the mock
  engine in the child process exactly as `ccsec plan` does (ids known), and the same as a first preview
  (every id unknown, joins through property dependencies). Two figures: the batch evaluation after the
  run, and what `ccsec plan` really adds to the run: it analyzes each resource while the program is still
  registering the rest (as the engine does), so only the stack policies run after the program ends. The
  added time is taken pair by pair (a mock run, then a plan) because the mock run alone varies by seconds.
- synthetic: the hand-built synthetic stack of N servers (no program run), evaluation time only.
Run: python bench/policy.py [--servers N] [--repeat K] [--exact]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from plan import large_stack  # noqa: E402  (bench/plan.py: the same generated stack as the plan bench)

from ccsec.infra.stackfile import read_stack  # noqa: E402
from ccsec.mockrun import run_program  # noqa: E402
from ccsec.plan import DEFAULT_PROGRAM, _typed, stack_policy_config  # noqa: E402
from ccsec.policies.offline import Evaluator, StreamingEvaluation  # noqa: E402
from ccsec_testbeds.synthetic import synthetic_servers  # noqa: E402


def _median(fn, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exact", action="store_true", help="also time the single-servicer reference path")
    parser.add_argument(
        "--workers", type=int, default=0, help="processes for the stack policies after the run (0: the CPUs, at most 4)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        stacks_dir = Path(tmp)
        stack = large_stack(stacks_dir, args.servers)
        raw = read_stack(stack, stacks_dir)
        config = stack_policy_config(_typed(raw))
        start = time.perf_counter()
        evaluator = Evaluator(config, workers=args.workers)
        print(f"stack policy workers: {evaluator.workers}")
        print(f"evaluator setup: {time.perf_counter() - start:.3f} s ({len(evaluator.info.policies)} policies)")
        for preview in (False, True):
            label = "preview (ids unknown)" if preview else "mock run (ids known)"

            def mock_run(preview: bool = preview) -> tuple[float, object]:
                start = time.perf_counter()
                run = run_program(DEFAULT_PROGRAM, stack, raw.config, raw.secret_keys, preview=preview)
                return time.perf_counter() - start, run

            def streamed(preview: bool = preview) -> tuple[float, float, list, list]:
                """What `ccsec plan` does: Analyze while the program registers, AnalyzeStack at the end."""
                start = time.perf_counter()
                stream = StreamingEvaluation(Evaluator(config, workers=args.workers))
                done = run_program(
                    DEFAULT_PROGRAM, stack, raw.config, raw.secret_keys, preview=preview, on_resource=stream.add
                )
                tail_start = time.perf_counter()
                verdicts = stream.finish(done.resources)
                end = time.perf_counter()
                return end - start, end - tail_start, verdicts, done.resources

            # Pairs, run then plan, so a drift in the machine's speed hits both halves of a pair alike.
            runs, plans, tails, ratios = [], [], [], []
            for _ in range(args.repeat):
                run_t, run = mock_run()
                plan_t, tail_t, streamed_found, streamed_resources = streamed()
                runs.append(run_t)
                plans.append(plan_t)
                tails.append(tail_t)
                ratios.append((plan_t - run_t) / run_t)
            resources = run.resources  # type: ignore[attr-defined]
            eval_t, found = _median(lambda resources=resources: evaluator.evaluate(resources), args.repeat)
            batch = evaluator.evaluate(streamed_resources)  # same run: the oracle for the streamed verdicts
            assert streamed_found == batch, "streamed evaluation must equal the batch evaluation of the same run"
            mandatory = sum(v.mandatory for v in found)  # type: ignore[union-attr]
            run_m, tail_m = statistics.median(runs), statistics.median(tails)
            pairs = ", ".join(f"{100 * r:+.1f}" for r in ratios)
            print(
                f"program {label}: servers={args.servers} resources={len(resources)} mock run {run_m:.2f} s "
                f"(median of {args.repeat}); batch evaluation {eval_t:.2f} s = {100 * eval_t / run_m:.1f} % of it; "
                f"plan (streamed) {statistics.median(plans):.2f} s; evaluation after the program {tail_m:.2f} s = "
                f"{100 * tail_m / run_m:.1f} %; plan minus mock run, pair by pair: "
                f"median {100 * statistics.median(ratios):+.1f} % (pairs {pairs}) "
                f"(target <= 10 %), violations={len(found)} mandatory={mandatory}"  # type: ignore[arg-type]
            )

    resources = synthetic_servers(args.servers)
    modes = [("fast", evaluator)] + ([("exact", Evaluator(exact=True))] if args.exact else [])
    for label, ev in modes:
        res_t, _ = _median(lambda ev=ev: ev.analyze_resources(resources), args.repeat)
        stack_t, _ = _median(lambda ev=ev: ev.analyze_stack(resources), args.repeat)
        print(
            f"synthetic {label}: resources={len(resources)} Analyze {res_t:.2f} s, AnalyzeStack {stack_t:.2f} s, "
            f"total {res_t + stack_t:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
