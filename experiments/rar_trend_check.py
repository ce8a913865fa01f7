"""Trend check of the Rydberg baselines at the Table-I defaults (rar_isac spec 9, 13).

Prints mean +- 95% CI over seeded draws of U_com (bit/s/Hz) and tr CRB (rad^2), the
feasibility rate (tr CRB <= eps (1 + 1e-3)), iterations and convergence rate for Proposed
(Algorithm 1), Comm-only, BF-only and GD. Trial i uses ``np.random.SeedSequence(seed).spawn(n)[i]``
for its channels, identical for every scheme.

Usage::

    python experiments/rar_trend_check.py --trials 50
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
import warnings

import numpy as np

from isac_env.config import RydbergISACConfig
from isac_env.physics import sample_scenario
from isac_gym import baselines

SCHEMES = {"Proposed": "fp_mm_admm", "Comm-only": "comm_only", "BF-only": "bf_only", "GD": "gd"}


def _ci(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return float(x.mean()), float(half)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-iter", type=int, default=None, help="override the solvers' iteration cap")
    p.add_argument(
        "--paper-schedule",
        action="store_true",
        help="Algorithm 1 schemes with the paper's literal constants (paper_schedule=True)",
    )
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)
    cfg = RydbergISACConfig()
    opts = {} if args.max_iter is None else {"max_iter": args.max_iter}
    fp_opts = {**opts, "paper_schedule": True} if args.paper_schedule else opts
    solvers = {
        label: baselines.get_solver(name, **(opts if name == "gd" else fp_opts))
        for label, name in SCHEMES.items()
    }
    res: dict[str, dict[str, list[float]]] = {
        k: {"U": [], "C": [], "F": [], "I": [], "conv": [], "t": [], "first": []} for k in SCHEMES
    }
    t0 = time.perf_counter()
    for i, sq in enumerate(np.random.SeedSequence(args.seed).spawn(args.trials)):
        s = sample_scenario(cfg, np.random.default_rng(sq))
        for label, solver in solvers.items():
            r = solver.solve(s, rng=np.random.default_rng(i))
            d = res[label]
            d["U"].append(r.objective)
            d["C"].append(r.metrics["crb_trace"])
            d["F"].append(float(r.feasible))
            d["I"].append(float(r.iterations))
            d["conv"].append(float(r.converged))
            d["t"].append(r.wall_time_s)
            d["first"].append(r.history["sum_rate"][0])
    print(
        f"Table-I defaults (K=3, M=35, N=100, Nt=6, eps=0.025), {args.trials} draws, seed {args.seed}, "
        f"{time.perf_counter() - t0:.0f} s total"
    )
    print(
        f"{'scheme':10s} {'U_com [bit/s/Hz]':>18s} {'tr CRB [rad^2]':>20s} {'feasible':>9s} "
        f"{'iterations':>11s} {'converged':>10s} {'U_com start':>12s} {'s/draw':>7s}"
    )
    for label, d in res.items():
        u, uh = _ci(d["U"])
        c, ch = _ci(d["C"])
        it, ith = _ci(d["I"])
        u0, _ = _ci(d["first"])
        print(
            f"{label:10s} {u:9.3f} +- {uh:5.3f} {c:11.4f} +- {ch:6.4f} {np.mean(d['F']):9.2f} "
            f"{it:6.1f}+-{ith:4.1f} {np.mean(d['conv']):10.2f} {u0:12.3f} {np.mean(d['t']):7.3f}"
        )
    U = {k: np.asarray(v["U"]) for k, v in res.items()}
    for a, b in (("Proposed", "BF-only"), ("Proposed", "GD"), ("Comm-only", "Proposed")):
        m, h = _ci(U[a] - U[b])
        print(f"{a} - {b}: {m:+.3f} +- {h:.3f} bit/s/Hz (paired)")


if __name__ == "__main__":
    main()
