"""Headroom of a scenario tier: how far the cheap heuristics are from the best known design.

For one registered env id (plus ``--set KEY=VALUE`` overrides of its ``gym.make`` keywords) and
``--draws`` seeded channel draws, every solver is run on every draw and the script prints

* per solver: mean objective over solved draws, solved / feasible rates, mean and median latency
  (wall time of ``solve``; the first call of a process includes cvxpy's compilation);
* ``best_known`` (approximate): per draw the best *feasible* design of any solver run here (robust
  task with b-bit phases: designs off the phase grid, e.g. ``robust_continuous``, do not count);
* the best heuristic (the heuristic with the best mean objective over draws) and the heuristic
  *portfolio* (per draw the best feasible heuristic design: run every heuristic, keep the best);
* the **headroom**: best_known minus the best heuristic, in % of best_known (ratio of the means);
* Rydberg task: the **top-user share** ``max_k rate_k / sum_k rate_k`` of the best feasible
  optimizer (non-heuristic) design, averaged over draws, and the **Comm-only infeasible rate**
  (``tr CRB > eps (1 + 1e-3)`` for the unconstrained design: the CRB binds);
* robust task (minimise the certified transmit power, dBm): the headroom in dB (mean over draws
  where both are feasible) and in % of the heuristic's linear power (the power the optimizers save).

Draws are those of ``isac compare`` / ``isac evaluate`` on the same id, kwargs, ``--seed`` and
``--draws``: draw ``i`` resets the env with :attr:`agents.evaluate.EvalSet.seeds` ``[i]`` and the
solvers get ``np.random.default_rng(EvalSet.policy_seed(i))``. The eval-set hash is printed.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/tier_headroom.py --env isac_env/RydbergISAC-Sparse-v0 --draws 100
    python benchmarks/tier_headroom.py --env isac_env/RydbergISAC-v0 --draws 20 --set num_clusters=3
    python benchmarks/tier_headroom.py --env isac_env/RobustISAC-v0 --draws 30
    python benchmarks/tier_headroom.py --env isac_env/RydbergISAC-v0 --solvers gd comm_only --draws 20

Solvers (default: every registered solver of the env's task; ``random_*`` are left out unless
named) are built once per worker process. ``--workers`` processes (default 2) run the draws
through :func:`agents.parallel.run_tasks`, each with one BLAS thread. ``--csv PATH`` writes one row
per (draw, solver).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import csv
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

#: heuristic solver names, used only when a solver class does not declare ``heuristic``
_HEURISTIC_NAMES = frozenset(
    {"best_user_mrt", "user_select_zf", "robust_gain_mrt", "robust_gain_zf", "random_mrt", "random_zf"}
)
#: solver names per task, used only when a solver class does not declare ``task``
_TASK_NAMES = {
    "rydberg": ("fp_mm_admm", "comm_only", "bf_only", "gd", "random_mrt", "random_zf", "best_user_mrt",
                "user_select_zf"),
    "robust": ("robust_continuous", "robust_scheme1", "robust_scheme2", "robust_random", "robust_gain_mrt",
               "robust_gain_zf"),
}  # fmt: skip
#: solvers left out of the default list (random designs: a floor, not a heuristic an engineer tries)
_DEFAULT_EXCLUDED = frozenset({"random_mrt", "random_zf", "robust_random"})


def task_of(env_id: str) -> str:
    """``"rydberg"`` or ``"robust"`` from the env id."""
    if env_id.startswith("isac_env/RydbergISAC"):
        return "rydberg"
    if env_id.startswith("isac_env/RobustISAC"):
        return "robust"
    raise ValueError(f"unknown task for env id {env_id!r}")


def solver_traits(name: str) -> tuple[str | None, bool]:
    """``(task, heuristic)`` of a registered solver (class attributes, else the name tables)."""
    import baselines

    solver = baselines.get_solver(name)
    task = getattr(solver, "task", None)
    if task is None:
        task = next((t for t, names in _TASK_NAMES.items() if name in names), None)
    heuristic = getattr(solver, "heuristic", None)
    if heuristic is None:
        heuristic = name in _HEURISTIC_NAMES
    return task, bool(heuristic)


def default_solvers(task: str) -> list[str]:
    """Registered solvers of ``task`` minus the random floors."""
    import baselines

    return [n for n in baselines.list_solvers() if n not in _DEFAULT_EXCLUDED and solver_traits(n)[0] == task]


@dataclass(frozen=True)
class DrawTask:
    """One draw: env id and kwargs, the reset seed, the solvers' seed and the solver names."""

    trial: int
    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...]
    seed: int
    policy_seed: int
    solvers: tuple[str, ...]


_CACHE: dict[Any, Any] = {}


def _env(env_id: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    key = ("env", env_id, kwargs)
    if key not in _CACHE:
        import gymnasium as gym

        import isac_env  # noqa: F401  (registers the ids)

        _CACHE[key] = gym.make(env_id, **dict(kwargs))
    return _CACHE[key]


def _solver(name: str) -> Any:
    key = ("solver", name)
    if key not in _CACHE:
        import baselines

        _CACHE[key] = baselines.get_solver(name)
    return _CACHE[key]


def run_draw(task: DrawTask) -> list[dict[str, Any]]:
    """Solve draw ``task.trial`` with every solver; one row per solver (picklable plain data)."""
    import time

    warnings.filterwarnings("ignore")
    env = _env(task.env_id, task.env_kwargs)
    env.reset(seed=task.seed)
    scenario = env.unwrapped.scenario
    rows = []
    for name in task.solvers:
        t0 = time.perf_counter()
        res = _solver(name).solve(scenario, rng=np.random.default_rng(task.policy_seed))
        latency = time.perf_counter() - t0
        m = res.metrics
        row: dict[str, Any] = {
            "trial": task.trial,
            "solver": name,
            "solved": res.solved,
            "feasible": res.feasible,
            "latency_s": latency,
            "stop_reason": res.stop_reason,
        }
        if task_of(task.env_id) == "rydberg":
            eps = float(np.asarray(scenario.eps))
            row["objective"] = float(m["sum_rate"]) if res.solved else math.nan
            row["crb_trace"] = float(m["crb_trace"]) if res.solved else math.nan
            row["crb_ok"] = bool(res.solved and m["crb_trace"] <= eps * (1 + 1e-3))
            rate = np.asarray(m["rate"], dtype=float) if res.solved else np.full(1, math.nan)
            row["top_share"] = float(rate.max() / rate.sum()) if res.solved and rate.sum() > 0 else math.nan
            row["rates"] = " ".join(f"{r:.3f}" for r in rate)
        else:
            row["objective"] = float(m["power_dbm"]) if res.solved else math.nan
            # a continuous-phase design (robust_continuous) is not a design of a b-bit task: it is
            # kept in the per-solver table but not counted as feasible for best_known / headroom
            bits = int(env.unwrapped.config.phase_bits)
            row["on_grid"] = bool(res.solved and (bits == 0 or _on_grid(res.phi, bits)))
            row["feasible"] = bool(res.feasible and row["on_grid"])
            row["certified"] = bool(res.feasible)
        rows.append(row)
    return rows


def _on_grid(phi: Any, bits: int, atol: float = 1e-6) -> bool:
    """Whether every RIS phase lies on the b-bit grid ``{2 pi i / 2^b}`` (eq. (1) of the robust paper)."""
    if phi is None:
        return False
    step = 2.0 * np.pi / 2**bits
    r = np.mod(np.angle(np.asarray(phi)), step)
    return bool(np.all(np.minimum(r, step - r) <= atol))


def _mean(x: list[float]) -> float:
    a = np.asarray([v for v in x if np.isfinite(v)], dtype=float)
    return float(a.mean()) if a.size else math.nan


def summarize_rows(
    rows: list[dict[str, Any]], task: str, solvers: list[str], heuristic: dict[str, bool]
) -> str:
    """The printed report (see the module docstring) from the per-(draw, solver) rows."""
    sense = 1.0 if task == "rydberg" else -1.0  # +1 maximise sum rate, -1 minimise power (dBm)
    trials = sorted({r["trial"] for r in rows})
    by = {(r["trial"], r["solver"]): r for r in rows}
    unit = "bit/s/Hz" if task == "rydberg" else "dBm"
    out = [f"{'solver':18s} {'kind':9s} {'mean ' + unit:>14s} {'solved':>7s} {'feasible':>8s} "
           f"{'lat mean s':>10s} {'lat med s':>10s}"]  # fmt: skip
    if task == "robust":
        off = sorted({r["solver"] for r in rows if r["solved"] and not r["on_grid"]})
        if off:
            out.insert(0, f"(off the b-bit phase grid, never feasible here: {', '.join(off)})")
    for s in solvers:
        rs = [by[(t, s)] for t in trials]
        lat = [r["latency_s"] for r in rs]
        kind = "heuristic" if heuristic[s] else "optimizer"
        out.append(
            f"{s:18s} {kind:9s} {_mean([r['objective'] for r in rs]):14.3f} "
            f"{np.mean([r['solved'] for r in rs]):7.0%} {np.mean([r['feasible'] for r in rs]):8.0%} "
            f"{np.mean(lat):10.4f} {np.median(lat):10.4f}"
        )

    def best_feasible(t: int, names: list[str]) -> float:
        vals = [sense * by[(t, s)]["objective"] for s in names if by[(t, s)]["feasible"]]
        return sense * max(vals) if vals else math.nan

    heur = [s for s in solvers if heuristic[s]]
    opt = [s for s in solvers if not heuristic[s]]
    bk = np.array([best_feasible(t, solvers) for t in trials])
    out.append("")
    out.append(f"best_known (best over feasible designs of {', '.join(solvers)}): "
               f"{_mean(list(bk)):.3f} {unit}, found on {np.mean(np.isfinite(bk)):.0%} of draws")  # fmt: skip
    if not heur:
        out.append("no heuristic solver in the run: no headroom")
    else:
        per_h = {s: np.array([by[(t, s)]["objective"] if by[(t, s)]["feasible"] else math.nan for t in trials])
                 for s in heur}  # fmt: skip
        portfolio = np.array([best_feasible(t, heur) for t in trials])
        if task == "rydberg":
            # an infeasible heuristic design scores 0 (no feasible design on that draw)
            ok = np.isfinite(bk)
            mean_bk = float(bk[ok].mean()) if ok.any() else math.nan
            scores = {s: float(np.nan_to_num(v[ok], nan=0.0).mean()) for s, v in per_h.items()}
            best_h = max(scores, key=scores.get)
            port = float(np.nan_to_num(portfolio[ok], nan=0.0).mean())
            for label, val in ((f"best heuristic ({best_h})", scores[best_h]), ("heuristic portfolio", port)):
                out.append(f"{label:34s}: {val:.3f} bit/s/Hz (infeasible = 0) -> headroom "
                           f"{100 * (mean_bk - val) / mean_bk:.1f}% of best_known")  # fmt: skip
            best_opt = []
            for t in trials:
                cands = [by[(t, s)] for s in opt if by[(t, s)]["feasible"]]
                if cands:
                    best_opt.append(max(cands, key=lambda r: r["objective"])["top_share"])
            out.append(f"top-user share of the best feasible optimizer design: {_mean(best_opt):.3f} "
                       f"(over {len(best_opt)} draws)")  # fmt: skip
            if "comm_only" in solvers:
                co = [not by[(t, "comm_only")]["crb_ok"] for t in trials]
                out.append(f"Comm-only infeasible (tr CRB > eps): {np.mean(co):.0%} of draws")
        else:
            for label, h in [(f"heuristic {s}", v) for s, v in per_h.items()] + [
                ("heuristic portfolio", portfolio)
            ]:
                both = np.isfinite(h) & np.isfinite(bk)
                gap = h[both] - bk[both]
                saving = 100 * (1 - 10 ** (-gap / 10))
                out.append(
                    f"{label:34s}: feasible {np.mean(np.isfinite(h)):.0%}, headroom {gap.mean() if gap.size else math.nan:.2f} dB"
                    f" (median {np.median(gap) if gap.size else math.nan:.2f} dB) = "
                    f"{saving.mean() if gap.size else math.nan:.1f}% of its linear power, over {both.sum()} draws"
                )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="isac_env/RydbergISAC-v0", help="registered env id")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="gym.make keyword (repeatable), parsed like `isac --set`")  # fmt: skip
    p.add_argument("--draws", type=int, default=100)
    p.add_argument("--seed", type=int, default=0, help="root seed of the eval set (as `isac compare --seed`)")
    p.add_argument(
        "--solvers", nargs="+", default=None, help="solver names (default: the task's registered ones)"
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--csv", default=None, help="write the per-(draw, solver) rows here")
    a = p.parse_args(argv)
    if a.draws < 1 or a.workers < 1:
        p.error("--draws and --workers must be >= 1")

    from agents.cli import parse_sets
    from agents.evaluate import EvalSet
    from agents.parallel import run_tasks

    kwargs = parse_sets(tuple(a.sets))
    task = task_of(a.env)
    solvers = a.solvers or default_solvers(task)
    traits = {s: solver_traits(s) for s in solvers}
    wrong = [s for s, (t, _) in traits.items() if t not in (None, task)]
    if wrong:
        p.error(f"solvers {wrong} are not {task} solvers")
    heuristic = {s: h for s, (_, h) in traits.items()}
    es = EvalSet(a.env, kwargs, root_seed=a.seed, n_draws=a.draws)
    tasks = [
        DrawTask(
            i, a.env, tuple(sorted(es.env_kwargs.items())), es.seeds[i], es.policy_seed(i), tuple(solvers)
        )
        for i in range(a.draws)
    ]
    rows: list[dict[str, Any]] = []
    for _, r in run_tasks(run_draw, tasks, workers=a.workers, progress=sys.stderr.isatty(), desc="draws"):
        rows.extend(r)
    cmd = "python benchmarks/tier_headroom.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"# {cmd}")
    print(f"# env {a.env} kwargs {dict(es.env_kwargs)} draws {a.draws} seed {a.seed} eval_set {es.hash}")
    print(summarize_rows(rows, task, solvers, heuristic))
    if a.csv:
        keys = sorted({k for r in rows for k in r})
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(sorted(rows, key=lambda r: (r["trial"], r["solver"])))


if __name__ == "__main__":
    main()
