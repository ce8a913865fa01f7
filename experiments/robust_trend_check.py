"""Trend check of the robust RIS-ISAC reference policies (issue 5; robust_isac spec 10, Figs. 2 and 6).

For each RIS size N and each scheme (continuous phases, Scheme 1, Scheme 2) at the paper's defaults
(``RobustISACConfig()``, restriction L-a full), draws ``--trials`` seeded channel realisations and
reports the mean transmit power over feasible draws (dBm) and the feasibility rate. Draw ``i`` uses
the generator ``SeedSequence(seed).spawn(trials)[i]`` (same channels for every scheme, N-independent
geometry stream), the solver a generator spawned from it.

Paper [S]: power continuous < Scheme 1 < Scheme 2; feasibility 100 % below N ~ 34, then falling.

Usage::

    python experiments/robust_trend_check.py --trials 50 --n-values 8 16 24 32 40 48 --workers 2
"""

from __future__ import annotations

import argparse
import csv
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

SCHEMES = {"continuous": "robust_continuous", "scheme1": "robust_scheme1", "scheme2": "robust_scheme2"}


def run_one(task: tuple[int, int, str, np.random.SeedSequence, dict[str, Any]]) -> dict[str, Any]:
    """Solve draw ``trial`` at size ``N`` with one scheme; returns a tidy row."""
    from isac_env.config import RobustISACConfig
    from isac_env.physics import robust as rb
    from isac_gym.baselines import get_solver

    N, trial, scheme, ss, cfg_kw = task
    cfg = RobustISACConfig(num_ris=N, **cfg_kw)
    scen_ss, solve_ss = ss.spawn(2)
    s = rb.sample_scenario(cfg, np.random.default_rng(scen_ss))
    try:
        res = get_solver(SCHEMES[scheme]).solve(s, rng=np.random.default_rng(solve_ss))
    except Exception as exc:  # a bug must not kill the sweep; the row says what happened
        return {"N": N, "trial": trial, "scheme": scheme, "feasible": False, "power_dbm": float("nan"),
                "iterations": 0, "stop_reason": f"error: {type(exc).__name__}: {exc}"[:60],
                "max_outage": float("nan"), "wall_time_s": float("nan")}  # fmt: skip
    return {
        "N": N,
        "trial": trial,
        "scheme": scheme,
        "feasible": res.feasible,
        "power_dbm": res.metrics["power_dbm"] if res.feasible else float("nan"),
        "iterations": res.iterations,
        "stop_reason": res.stop_reason[:40],
        "max_outage": res.metrics.get("max_outage", float("nan")),
        "wall_time_s": res.wall_time_s,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=50, help="seeded draws per N (default 50)")
    p.add_argument("--n-values", type=int, nargs="+", default=[8, 16, 24, 32, 40, 48, 64])
    p.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=list(SCHEMES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="processes (2 on a shared 2-core box)")
    p.add_argument("--out", default="", help="optional CSV of the tidy rows")
    a = p.parse_args(argv)
    seeds = np.random.SeedSequence(a.seed).spawn(a.trials)
    tasks = [(N, i, sc, seeds[i], {}) for N in a.n_values for i in range(a.trials) for sc in a.schemes]
    t0 = time.perf_counter()
    if a.workers > 1:
        with ProcessPoolExecutor(a.workers) as ex:
            rows = list(ex.map(run_one, tasks, chunksize=1))
    else:
        rows = [run_one(t) for t in tasks]
    if a.out:
        with open(a.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    print(f"robust trend check: {a.trials} draws per point, seed {a.seed}, {time.perf_counter() - t0:.0f} s")
    head = "  N | " + " | ".join(f"{sc:>10s} dBm  feas  iters" for sc in a.schemes)
    print(head)
    for N in a.n_values:
        cells = []
        for sc in a.schemes:
            r = [x for x in rows if x["N"] == N and x["scheme"] == sc]
            ok = [x for x in r if x["feasible"]]
            pw = np.mean([x["power_dbm"] for x in ok]) if ok else float("nan")
            it = np.mean([x["iterations"] for x in ok]) if ok else float("nan")
            cells.append(f"{pw:14.2f} {len(ok) / len(r):5.2f} {it:6.1f}")
        print(f"{N:3d} | " + " | ".join(cells))
    # paired comparison on the draws feasible for every scheme
    for N in a.n_values:
        by = {
            sc: {x["trial"]: x for x in rows if x["N"] == N and x["scheme"] == sc and x["feasible"]}
            for sc in a.schemes
        }
        common = set.intersection(*(set(d) for d in by.values())) if by else set()
        if common:
            diffs = {sc: np.mean([by[sc][t]["power_dbm"] for t in common]) for sc in a.schemes}
            print(
                f"N={N:3d} paired over {len(common)} draws: "
                + ", ".join(f"{k} {v:.3f}" for k, v in diffs.items())
            )


if __name__ == "__main__":
    main()
