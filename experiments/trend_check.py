"""Trend checks of the papers' reference algorithms: ``isac trend-check rar|robust``.

Two quick, paired studies that the README's reproduction table quotes:

* :func:`rar_trend_check`: the Rydberg baselines at the Table-I defaults (rar_isac spec 9, 13):
  U_com (bit/s/Hz), tr CRB (rad^2), feasibility (tr CRB <= eps (1 + 1e-3)), iterations and
  convergence of Proposed (Algorithm 1), Comm-only, BF-only and GD, with paired differences.
* :func:`robust_trend_check`: the robust reference policies over RIS sizes N (robust_isac spec 10,
  Figs. 2 and 6): mean transmit power over feasible draws (dBm), feasibility and iterations of the
  continuous-phase AO, Scheme 1 and Scheme 2, with a paired comparison on the draws every scheme solved.

Draw ``i`` uses ``np.random.SeedSequence(seed).spawn(trials)[i]`` for its channels, the same for every
scheme (and, for the robust check, for every N), so the comparison is paired. The draws run through
:func:`isac_gym.agents.parallel.run_tasks` (local process pool or Ray), and the confidence intervals
are :func:`isac_gym.agents.evaluate.mean_ci95` (Student-t, 95%).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from isac_gym.agents.evaluate import mean_ci95
from isac_gym.agents.parallel import run_tasks

__all__ = [
    "RAR_SCHEMES",
    "ROBUST_SCHEMES",
    "rar_trend_check",
    "robust_trend_check",
    "write_rows",
]

#: label -> registered solver name
RAR_SCHEMES = {"Proposed": "fp_mm_admm", "Comm-only": "comm_only", "BF-only": "bf_only", "GD": "gd"}
ROBUST_SCHEMES = {"continuous": "robust_continuous", "scheme1": "robust_scheme1", "scheme2": "robust_scheme2"}


# ------------------------------------------------------------------------------------------ Rydberg
@dataclass(frozen=True)
class _RarTask:
    trial: int
    seed_seq: np.random.SeedSequence
    max_iter: int | None
    paper_schedule: bool


def _rar_draw(task: _RarTask) -> list[dict[str, Any]]:
    """Solve one Table-I draw with every scheme; one tidy row per scheme."""
    from isac_env.config import RydbergISACConfig
    from isac_env.physics import sample_scenario
    from isac_gym.baselines import get_solver

    opts: dict[str, Any] = {} if task.max_iter is None else {"max_iter": task.max_iter}
    s = sample_scenario(RydbergISACConfig(), np.random.default_rng(task.seed_seq))
    rows = []
    for label, name in RAR_SCHEMES.items():
        kw = opts if name == "gd" else {**opts, **({"paper_schedule": True} if task.paper_schedule else {})}
        r = get_solver(name, **kw).solve(s, rng=np.random.default_rng(task.trial))
        rows.append(
            {
                "trial": task.trial,
                "scheme": label,
                "solved": r.solved,
                "sum_rate": r.objective,
                "crb_trace": r.metrics["crb_trace"],
                "feasible": bool(r.feasible),
                "iterations": r.iterations,
                "converged": bool(r.converged),
                "sum_rate_start": r.history["sum_rate"][0] if r.history.get("sum_rate") else float("nan"),
                "wall_time_s": r.wall_time_s,
            }
        )
    return rows


def rar_trend_check(
    trials: int = 50,
    seed: int = 0,
    *,
    max_iter: int | None = None,
    paper_schedule: bool = False,
    backend: str = "local",
    workers: int | None = 1,
    address: str | None = None,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], str]:
    """Rydberg trend check at the Table-I defaults.

    Args:
        trials: seeded draws; seed: root of ``SeedSequence(seed).spawn(trials)``.
        max_iter: override the solvers' iteration cap.
        paper_schedule: Algorithm-1 schemes with the paper's literal constants.
        backend, workers, address, progress: see :func:`isac_gym.agents.parallel.run_tasks`.

    Returns:
        ``(rows, report)``: one tidy row per draw and scheme, and the printed table (U_com and
        tr CRB as mean +- 95% CI, feasibility, iterations, convergence, U_com at the start, s/draw,
        paired differences Proposed - BF-only, Proposed - GD, Comm-only - Proposed).
    """
    t0 = time.perf_counter()
    tasks = [
        _RarTask(i, ss, max_iter, paper_schedule)
        for i, ss in enumerate(np.random.SeedSequence(seed).spawn(trials))
    ]
    rows = _collect(_rar_draw, tasks, backend, workers, address, progress)
    by = {label: [r for r in rows if r["scheme"] == label] for label in RAR_SCHEMES}
    lines = [
        f"Table-I defaults (K=3, M=35, N=100, Nt=6, eps=0.025), {trials} draws, seed {seed}, "
        f"{time.perf_counter() - t0:.0f} s total",
        f"{'scheme':10s} {'U_com [bit/s/Hz]':>18s} {'tr CRB [rad^2]':>20s} {'feasible':>9s} "
        f"{'iterations':>11s} {'converged':>10s} {'U_com start':>12s} {'s/draw':>7s}",
    ]
    for label, rs in by.items():
        u, uh = mean_ci95([r["sum_rate"] for r in rs])
        c, ch = mean_ci95([r["crb_trace"] for r in rs])
        it, ith = mean_ci95([r["iterations"] for r in rs])
        lines.append(
            f"{label:10s} {u:9.3f} +- {uh:5.3f} {c:11.4f} +- {ch:6.4f} "
            f"{np.mean([r['feasible'] for r in rs]):9.2f} {it:6.1f}+-{ith:4.1f} "
            f"{np.mean([r['converged'] for r in rs]):10.2f} {np.mean([r['sum_rate_start'] for r in rs]):12.3f} "
            f"{np.mean([r['wall_time_s'] for r in rs]):7.3f}"
        )
    U = {label: np.asarray([r["sum_rate"] for r in rs]) for label, rs in by.items()}
    for a, b in (("Proposed", "BF-only"), ("Proposed", "GD"), ("Comm-only", "Proposed")):
        m, h = mean_ci95(U[a] - U[b])
        lines.append(f"{a} - {b}: {m:+.3f} +- {h:.3f} bit/s/Hz (paired)")
    return rows, "\n".join(lines)


# ------------------------------------------------------------------------------------------- robust
@dataclass(frozen=True)
class _RobustTask:
    N: int
    trial: int
    scheme: str
    seed_seq: np.random.SeedSequence
    config_kwargs: dict[str, Any] = field(default_factory=dict)


def _robust_draw(task: _RobustTask) -> list[dict[str, Any]]:
    """Solve draw ``trial`` at RIS size ``N`` with one scheme; one tidy row."""
    from isac_env.config import RobustISACConfig
    from isac_env.physics import robust as rb
    from isac_gym.baselines import get_solver

    cfg = RobustISACConfig(num_ris=task.N, **task.config_kwargs)
    scen_ss, solve_ss = task.seed_seq.spawn(2)
    s = rb.sample_scenario(cfg, np.random.default_rng(scen_ss))
    res = get_solver(ROBUST_SCHEMES[task.scheme]).solve(s, rng=np.random.default_rng(solve_ss))
    ok = bool(res.feasible) and res.solved
    return [
        {
            "N": task.N,
            "trial": task.trial,
            "scheme": task.scheme,
            "solved": res.solved,
            "feasible": ok,
            "power_dbm": res.metrics["power_dbm"] if ok else float("nan"),
            "iterations": res.iterations,
            "stop_reason": res.stop_reason[:40],
            "max_outage": res.metrics.get("max_outage", float("nan")),
            "wall_time_s": res.wall_time_s,
        }
    ]


def robust_trend_check(
    trials: int = 50,
    n_values: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 64),
    schemes: tuple[str, ...] = tuple(ROBUST_SCHEMES),
    seed: int = 0,
    *,
    backend: str = "local",
    workers: int | None = 1,
    address: str | None = None,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], str]:
    """Robust trend check over RIS sizes at the paper's defaults (restriction L-a full).

    Args:
        trials: seeded draws per N (the same draws for every N and scheme).
        n_values: RIS sizes; schemes: subset of :data:`ROBUST_SCHEMES`; seed: root seed.
        backend, workers, address, progress: see :func:`isac_gym.agents.parallel.run_tasks`.

    Returns:
        ``(rows, report)``: tidy rows and the printed table (power over feasible draws, feasibility
        rate and iterations per N and scheme, then the paired means over the draws feasible for
        every scheme).

    Raises:
        ValueError: an unknown scheme.
    """
    bad = [s for s in schemes if s not in ROBUST_SCHEMES]
    if bad:
        raise ValueError(f"schemes must be among {list(ROBUST_SCHEMES)}, got {bad}")
    t0 = time.perf_counter()
    seeds = np.random.SeedSequence(seed).spawn(trials)
    tasks = [_RobustTask(N, i, sc, seeds[i]) for N in n_values for i in range(trials) for sc in schemes]
    rows = _collect(_robust_draw, tasks, backend, workers, address, progress)
    lines = [
        f"robust trend check: {trials} draws per point, seed {seed}, {time.perf_counter() - t0:.0f} s",
        "  N | " + " | ".join(f"{sc:>10s} dBm  feas  iters" for sc in schemes),
    ]
    for N in n_values:
        cells = []
        for sc in schemes:
            r = [x for x in rows if x["N"] == N and x["scheme"] == sc]
            ok = [x for x in r if x["feasible"]]
            pw = np.mean([x["power_dbm"] for x in ok]) if ok else float("nan")
            it = np.mean([x["iterations"] for x in ok]) if ok else float("nan")
            cells.append(f"{pw:14.2f} {len(ok) / len(r):5.2f} {it:6.1f}")
        lines.append(f"{N:3d} | " + " | ".join(cells))
    for N in n_values:
        feas = {
            sc: {
                x["trial"]: x["power_dbm"]
                for x in rows
                if x["N"] == N and x["scheme"] == sc and x["feasible"]
            }
            for sc in schemes
        }
        common = set.intersection(*(set(d) for d in feas.values())) if feas else set()
        if common:
            means = {sc: np.mean([feas[sc][t] for t in common]) for sc in schemes}
            lines.append(
                f"N={N:3d} paired over {len(common)} draws: "
                + ", ".join(f"{k} {v:.3f}" for k, v in means.items())
            )
    return rows, "\n".join(lines)


# ------------------------------------------------------------------------------------------- shared
def _collect(
    fn: Any, tasks: list[Any], backend: str, workers: int | None, address: str | None, progress: bool
) -> list[dict[str, Any]]:
    """Rows of every task in task order (results arrive in completion order)."""
    out: list[list[dict[str, Any]]] = [[] for _ in tasks]
    for i, rows in run_tasks(
        fn, tasks, backend=backend, workers=workers, address=address, progress=progress, desc="draws"
    ):
        out[i] = rows
    return [r for rows in out for r in rows]


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write tidy rows as CSV and its Parquet twin (:func:`isac_gym.agents.evaluate.write_parquet`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    from isac_gym.agents.evaluate import write_parquet

    write_parquet(path)
    return path
