"""The batched gradient solver (``batched_gd`` and its variants) against its per-draw scheme.

Two measurements, on the draws of ``isac evaluate`` / ``isac figure`` (draw ``i`` is
``env.reset(seed=EvalSet(env, kwargs, seed, n).seeds[i])``; Table I by default):

1. **Quality** on ``--draws`` draws: the per-draw scheme (``gd``; or ``comm_only`` / ``bf_only``
   with ``--scheme``) and its batched counterpart on the same draws. Printed: the share of draws
   where ``batched >= per-draw - 1e-3`` (bit/s/Hz), the mean difference with its 95% CI, the worst
   draw, the feasible rates (tr CRB <= eps (1 + 1e-3), power and unit modulus; the differences are
   also given over the draws where both are feasible when some are not), and the CPU time per
   draw of both (the batched one amortised over its batch).
2. **Sweep point** of ``--trials`` draws (1000 by default, one x value of a figure): the draws and
   the batched solve, split over ``--workers`` processes (one torch thread each), wall time
   against the 2-minute target. The resets (channel draws) are timed apart from the solve, and
   the CPU time of both is printed (what the point takes on otherwise idle cores).

The per-draw scheme runs in ``--workers`` processes too. Timings depend on the machine and its load.

Usage::

    python benchmarks/batched_solver.py                      # 100 draws vs gd, a 1000-trial point
    python benchmarks/batched_solver.py --draws 200 --trials 1000 --workers 2
    python benchmarks/batched_solver.py --scheme comm_only --draws 50 --trials 0
    python benchmarks/batched_solver.py --quick              # tiny scenario (smoke run)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import math
import time
from typing import Any

import numpy as np

#: the tiny scenario of ``--quick`` (the SMALL_RAR sizes of the tests, with a CRB threshold it can meet)
QUICK_SET = {
    "crb_threshold": 0.3,
    "num_users": 2,
    "num_cells": 4,
    "num_ris": 8,
    "num_bs_antennas": 4,
    "num_clusters": 3,
    "num_rays": 4,
}
ENV_ID = "isac_env/RydbergISAC-v0"
#: per-draw scheme -> batched counterpart
PAIRS = {"gd": "batched_gd", "comm_only": "batched_comm_only", "bf_only": "batched_bf_only"}
#: the sweep-point target of issue 14 (seconds for 1000 trials on 2 cores)
TARGET_S = 120.0


def _per_draw(task: tuple[str, str, tuple[tuple[str, Any], ...], int, int]) -> dict[str, Any]:
    """Solve one draw with a per-draw solver (worker entry point)."""
    import gymnasium as gym

    import isac_env  # noqa: F401
    from isac_gym.baselines import get_solver

    name, env_id, kw, seed, policy_seed = task
    env = gym.make(env_id, **dict(kw))
    env.reset(seed=seed)
    s = env.unwrapped.scenario
    t0 = time.process_time()
    r = get_solver(name).solve(s, rng=np.random.default_rng(policy_seed))
    return {"objective": r.objective, "feasible": r.feasible, "cpu_s": time.process_time() - t0}


def _batched(task: Any) -> dict[str, Any]:
    """:func:`isac_gym.baselines.batched.solve_env_draws` with one torch thread (worker entry point)."""
    import torch

    from isac_gym.baselines.batched import solve_env_draws

    torch.set_num_threads(1)
    return solve_env_draws(task)


def _chunks(n: int, parts: int) -> list[range]:
    size = math.ceil(n / max(1, parts))
    return [range(lo, min(n, lo + size)) for lo in range(0, n, size)]


def _run_batched(
    solver: str, options: dict[str, Any], es: Any, workers: int
) -> tuple[list[dict[str, Any]], float, list[dict[str, Any]]]:
    """Solve every draw of ``es`` in ``workers`` chunks; ``(results in draw order, wall s, chunk infos)``."""
    from isac_gym.agents.parallel import run_tasks
    from isac_gym.baselines.batched import EnvDraws

    tasks = [
        EnvDraws(
            solver,
            tuple(sorted(options.items())),
            es.env_id,
            tuple(es.env_kwargs.items()),
            tuple(es.seeds[i] for i in idx),
            tuple(es.policy_seed(i) for i in idx),
        )
        for idx in _chunks(es.n_draws, workers)
    ]
    t0 = time.perf_counter()
    outs: list[Any] = [None] * len(tasks)
    for i, out in run_tasks(_batched, tasks, workers=workers, progress=False):
        outs[i] = out
    wall = time.perf_counter() - t0
    return [r for o in outs for r in o["results"]], wall, outs


def _mean_ci(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size < 2:
        return (float(x.mean()) if x.size else math.nan), math.nan
    from scipy import stats

    return float(x.mean()), float(stats.t.ppf(0.975, x.size - 1) * stats.sem(x))


def quality(args: argparse.Namespace, kw: dict[str, Any], options: dict[str, Any]) -> None:
    from isac_gym.agents.evaluate import EvalSet
    from isac_gym.agents.parallel import run_tasks

    es = EvalSet(ENV_ID, kw, args.seed, args.draws)
    ref_tasks = [
        (args.scheme, ENV_ID, tuple(es.env_kwargs.items()), es.seeds[i], es.policy_seed(i))
        for i in range(es.n_draws)
    ]
    t0 = time.perf_counter()
    ref: list[Any] = [None] * len(ref_tasks)
    for i, out in run_tasks(_per_draw, ref_tasks, workers=args.workers, progress=False):
        ref[i] = out
    ref_wall = time.perf_counter() - t0
    bat, bat_wall, outs = _run_batched(PAIRS[args.scheme], options, es, args.workers)
    a = np.array([r["objective"] for r in ref])
    b = np.array([r["objective"] for r in bat])
    fa = np.array([r["feasible"] for r in ref])
    fb = np.array([r["feasible"] for r in bat])
    d = b - a
    mean, ci = _mean_ci(d)
    name = PAIRS[args.scheme]
    print(
        f"== quality: {name} vs {args.scheme} on {es.n_draws} draws ({ENV_ID}, {kw or 'Table I'}, seed {args.seed})"
    )
    print(f"{name} >= {args.scheme} - 1e-3 on {100 * np.mean(d >= -1e-3):.1f}% of draws")
    print(
        f"mean difference {mean:+.4f} bit/s/Hz (95% CI +-{ci:.4f}); worst draw {np.min(d):+.4f}; best {np.max(d):+.4f}"
    )
    both = fa & fb
    if both.any() and not both.all():
        print(
            f"on the {both.sum()} draws where both are feasible: {name} >= {args.scheme} - 1e-3 on "
            f"{100 * np.mean(d[both] >= -1e-3):.1f}%, mean difference {np.mean(d[both]):+.4f} bit/s/Hz"
        )
    print(f"mean U_com: {args.scheme} {np.mean(a):.4f}, {name} {np.mean(b):.4f} bit/s/Hz")
    print(f"feasible: {args.scheme} {100 * np.mean(fa):.1f}%, {name} {100 * np.mean(fb):.1f}%")
    solve_s = sum(o["solve_cpu_s"] for o in outs)
    print(
        f"time per draw: {args.scheme} {np.mean([r['cpu_s'] for r in ref]):.3f} CPU-s (solve only; wall "
        f"{ref_wall:.1f} s on {args.workers} worker(s)); {name} {solve_s / es.n_draws:.3f} CPU-s "
        f"(solve only, amortised; wall {bat_wall:.1f} s incl. draws)"
    )


def sweep_point(args: argparse.Namespace, kw: dict[str, Any], options: dict[str, Any]) -> None:
    from isac_gym.agents.evaluate import EvalSet

    es = EvalSet(ENV_ID, kw, args.seed + 1, args.trials)
    name = PAIRS[args.scheme]
    bat, wall, outs = _run_batched(name, options, es, args.workers)
    draw = [o["draw_s"] for o in outs]
    solve = [o["solve_s"] for o in outs]
    cpu_draw = sum(o["draw_cpu_s"] for o in outs)
    cpu_solve = sum(o["solve_cpu_s"] for o in outs)
    feas = np.mean([r["feasible"] for r in bat])
    print(f"== sweep point: {name}, {es.n_draws} trials, {len(outs)} chunk(s) on {args.workers} worker(s)")
    print(
        f"wall {wall:.1f} s (target <= {TARGET_S:.0f} s for 1000 trials on 2 cores); per chunk: draws "
        f"{max(draw):.1f} s, solve {max(solve):.1f} s (slowest chunk)"
    )
    print(
        f"CPU time (all workers): draws {cpu_draw:.1f} s, solve {cpu_solve:.1f} s; on {args.workers} "
        f"otherwise idle cores the point would take about {(cpu_draw + cpu_solve) / args.workers:.1f} s"
    )
    print(f"mean U_com {np.mean([r['objective'] for r in bat]):.4f} bit/s/Hz, feasible {100 * feas:.1f}%")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--draws", type=int, default=100, help="draws of the quality comparison (0: skip)")
    p.add_argument("--trials", type=int, default=1000, help="trials of the timed sweep point (0: skip)")
    p.add_argument("--scheme", choices=sorted(PAIRS), default="gd", help="per-draw scheme to compare with")
    p.add_argument("--workers", type=int, default=2, help="processes (one torch thread each)")
    p.add_argument("--seed", type=int, default=0, help="root seed of the eval sets")
    p.add_argument("--dtype", default="complex128", choices=("complex128", "complex64"))
    p.add_argument("--device", default="cpu", help="torch device of the batched solver (cpu, cuda, auto)")
    p.add_argument("--quick", action="store_true", help="tiny scenario, 4 draws, 8 trials, 1 worker")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="scenario override")
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    kw: dict[str, Any] = {}
    if args.quick:
        kw.update(QUICK_SET)
        args.draws, args.trials, args.workers = min(args.draws, 4), min(args.trials, 8), 1
    for item in args.set:
        k, _, v = item.partition("=")
        try:
            kw[k] = float(v) if "." in v or "e" in v.lower() else int(v)
        except ValueError:
            kw[k] = v
    options = {"dtype": args.dtype, "device": args.device}
    print(
        f"torch {torch.__version__}, threads per worker 1, cores visible {os.cpu_count()}, dtype {args.dtype}, device {args.device}"
    )
    if args.draws > 0:
        quality(args, kw, options)
    if args.trials > 0:
        sweep_point(args, kw, options)


if __name__ == "__main__":
    main()
