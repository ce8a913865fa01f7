"""Outcome counts of the config/action fuzz of every registered id (issue 15).

Runs the hypothesis harness of ``tests/envs/fuzz_harness.py`` (the one ``tests/envs/test_fuzz.py``
asserts on, deterministic: ``derandomize=True``) without stopping at a failure, and prints per id the
examples run, accepted configs, clean errors (``ValueError`` / ``TypeError`` naming a fuzzed field at
``make``) and other failures (anything else: the guarantee broken), with the first few failure
details.

Usage (from the repository root)::

    python benchmarks/fuzz_counts.py --examples 500      # the default test run (2,500 in all)
    python benchmarks/fuzz_counts.py --examples 4000     # the slow test run (20,000 in all)
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, seed, settings

from tests.envs.fuzz_harness import ENV_IDS, OUTCOMES, example_strategy, fuzz_seed, run_example


def count(env_id: str, n: int) -> tuple[collections.Counter[str], list[str]]:
    """Run ``n`` examples of ``env_id``; return the outcome counts and the failure details."""
    counts: collections.Counter[str] = collections.Counter()
    failures: list[str] = []

    @seed(fuzz_seed(env_id))
    @settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(example_strategy(env_id))
    def run(example):
        outcome, detail = run_example(env_id, *example)
        counts[outcome] += 1
        if outcome == "other":
            failures.append(f"{detail} | example={example!r}")

    run()
    return counts, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples", type=int, default=500, help="examples per id (default 500, as the default test run)"
    )
    parser.add_argument("--ids", nargs="*", default=list(ENV_IDS), help="ids to fuzz (default: all)")
    parser.add_argument("--show", type=int, default=5, help="failure details printed per id")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be >= 1")
    total: collections.Counter[str] = collections.Counter()
    print(f"{'id':36s} {'examples':>8s} {'accepted':>8s} {'clean':>8s} {'other':>8s} {'time':>7s}")
    for env_id in args.ids:
        t0 = time.perf_counter()
        counts, failures = count(env_id, args.examples)
        total.update(counts)
        run = sum(counts.values())
        print(
            f"{env_id:36s} {run:8d} {counts['accepted']:8d} {counts['clean_error']:8d} {counts['other']:8d} "
            f"{time.perf_counter() - t0:6.1f}s"
        )
        for f in failures[: args.show]:
            print(f"    other: {f[:400]}")
    run = sum(total.values())
    print(f"{'total':36s} {run:8d} {total['accepted']:8d} {total['clean_error']:8d} {total['other']:8d}")
    assert set(total) <= set(OUTCOMES)
    return 1 if total["other"] else 0


if __name__ == "__main__":
    sys.exit(main())
