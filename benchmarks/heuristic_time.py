"""Wall time per draw of the heuristic baselines (issue 11: each <= 10 ms per Table-I draw).

Usage::

    python benchmarks/heuristic_time.py --trials 50
    python benchmarks/heuristic_time.py --trials 50 --set polarization=mkl --set num_clusters=1

Rydberg heuristics (``best_user_mrt``, ``user_select_zf``) on Table-I draws
(``RydbergISACConfig`` with the ``--set`` overrides), robust heuristics (``robust_gain_mrt``,
``robust_gain_zf``) on default ``RobustISACConfig`` draws; every solver solves the same draws
(``np.random.SeedSequence(seed).spawn(trials)``) after one warm-up draw. Prints the mean, median
and max ``SolverResult.wall_time_s`` (the solver's own clock, metrics included) and the feasible
share. BLAS is pinned to one thread.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
from typing import Any

import numpy as np

from isac_env.config import RobustISACConfig, RydbergISACConfig
from isac_env.physics import robust as rb
from isac_env.physics import sample_scenario
from isac_gym import baselines

RYDBERG = ("best_user_mrt", "user_select_zf")
ROBUST = ("robust_gain_mrt", "robust_gain_zf")


def _parse_set(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, val = item.partition("=")
        for cast in (int, float):
            try:
                out[key] = cast(val)
                break
            except ValueError:
                continue
        else:
            out[key] = val
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=20, help="draws per solver (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], help="RydbergISACConfig override key=value")
    p.add_argument("--no-robust", action="store_true", help="skip the robust heuristics")
    a = p.parse_args(argv)
    seqs = np.random.SeedSequence(a.seed).spawn(a.trials + 1)
    cfg = RydbergISACConfig(**_parse_set(a.set))
    jobs: list[tuple[str, list[Any]]] = [
        (name, [sample_scenario(cfg, np.random.default_rng(q)) for q in seqs]) for name in RYDBERG
    ]
    if not a.no_robust:
        rcfg = RobustISACConfig()
        robust_draws = [rb.sample_scenario(rcfg, np.random.default_rng(q)) for q in seqs]
        jobs += [(name, robust_draws) for name in ROBUST]
    print(f"{'solver':<18} {'mean ms':>8} {'median':>8} {'max':>8} {'feasible':>9}   ({a.trials} draws)")
    for name, draws in jobs:
        solver = baselines.get_solver(name)
        solver.solve(draws[0], rng=np.random.default_rng(0))  # warm-up
        res = [solver.solve(s, rng=np.random.default_rng(i)) for i, s in enumerate(draws[1:])]
        t = np.array([r.wall_time_s for r in res]) * 1e3
        feas = np.mean([r.feasible for r in res])
        print(f"{name:<18} {t.mean():8.2f} {np.median(t):8.2f} {t.max():8.2f} {feas:9.0%}")


if __name__ == "__main__":
    main()
