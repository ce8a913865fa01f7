"""Solver time of the robust RIS-ISAC schemes (issue 5; robust_isac spec 9, Figs. 4-5).

Wall time and AO iterations per draw for continuous phases, Scheme 1 and Scheme 2 at
N in {8, 16, 32, 64}, all measured in one run on the same seeded draws (paper defaults otherwise).
Paper [S]: Scheme 2 takes >= 50 % less time than Scheme 1 at N >= 16; Scheme 2 converges in about
4 AO iterations, Scheme 1 in about 15.

Usage::

    python benchmarks/robust_solver_time.py --trials 3
    python benchmarks/robust_solver_time.py --quick
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from isac_env.config import RobustISACConfig
from isac_env.physics import robust as rb
from isac_gym.baselines import get_solver

SCHEMES = {"continuous": "robust_continuous", "scheme1": "robust_scheme1", "scheme2": "robust_scheme2"}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=3, help="seeded draws per N")
    p.add_argument("--n-values", type=int, nargs="+", default=[8, 16, 32, 64])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="1 draw at N in {8, 16}")
    a = p.parse_args(argv)
    if a.quick:
        a.trials, a.n_values = 1, [8, 16]
    warnings.filterwarnings("ignore", message="Solution may be inaccurate")
    solvers = {k: get_solver(v) for k, v in SCHEMES.items()}
    seeds = np.random.SeedSequence(a.seed).spawn(a.trials)
    print(f"robust solver time: {a.trials} draw(s) per N, seed {a.seed} (wall s / AO iterations per draw)")
    print("  N | " + " | ".join(f"{k:>10s} s  iters" for k in SCHEMES) + " | s2/s1 time")
    for N in a.n_values:
        cfg = RobustISACConfig(num_ris=N)
        t = {k: [] for k in SCHEMES}
        it = {k: [] for k in SCHEMES}
        for ss in seeds:
            scen_ss, solve_ss = ss.spawn(2)
            s = rb.sample_scenario(cfg, np.random.default_rng(scen_ss))
            for k, solver in solvers.items():
                t0 = time.perf_counter()
                r = solver.solve(s, rng=np.random.default_rng(solve_ss))
                t[k].append(time.perf_counter() - t0)
                if r.feasible:
                    it[k].append(r.iterations)
        cells = [f"{np.mean(t[k]):12.2f} {np.mean(it[k]) if it[k] else float('nan'):6.1f}" for k in SCHEMES]
        ratio = np.mean(t["scheme2"]) / np.mean(t["scheme1"])
        print(f"{N:3d} | " + " | ".join(cells) + f" | {ratio:10.2f}")


if __name__ == "__main__":
    main()
