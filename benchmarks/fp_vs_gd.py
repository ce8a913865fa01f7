"""Why GD beats Algorithm 1 (FP-MM-ADMM) on the Rydberg task: the algorithm or this implementation?

Three measurements on the same seeded draws (draw ``i`` is ``env.reset(seed=EvalSet(env, kwargs,
seed, draws).seeds[i])``, the draws of ``isac evaluate`` / ``isac compare``; Table I by default):

1. **Iterations.** FP-MM-ADMM (default options and ``paper_schedule=True``) at its default cap
   (50) and at 200 outer iterations; GD at its default 100 and at 400 alternations. Mean U_com of
   the returned design (best feasible iterate), feasibility, share stopped at the cap, and the mean
   U_com of the *iterate* (``history["sum_rate"]``, the last value carried past an early stop) at
   several iterations: is Algorithm 1 still rising?
2. **Warm starts.** FP-MM-ADMM started at GD's solution ``init=(W_gd, phi_gd)``, and GD started at
   FP-MM-ADMM's. The returned design is the best feasible iterate, which includes the start, so
   it can never be below the start; the *iterates* show whether the algorithm keeps that objective
   or walks away from it.
3. **The phi-block.** At the subproblem that a cold FP-MM-ADMM run solves in outer iteration
   ``--probe-iter`` (same ``W``, FP auxiliaries ``(r, c)`` and penalty ``(f, zeta, rho)``, captured by
   the solver's ``phi_probe`` hook, which does not change the iterates):

   * (a) Algorithm 1's phi-block as run (MM step (89) + ADMM + extrapolation + acceptance), its
     bare MM/ADMM step, and that step iterated ``--phi-steps`` times at the same ``(r, c)`` (the
     subproblem solved to near-optimality), or with ``(r, c)`` refreshed after every step;
   * (b) plain Riemannian gradient steps with Armijo (:func:`isac_gym.baselines.ascent.armijo_circle_step`,
     GD's phi step) on the SAME subproblem objective ``S(phi)`` = FP objective (42) at frozen
     ``(r, c)`` minus the penalty ``Psi(phi)``;
   * (c) the same Riemannian steps on the TRUE objective at fixed ``W``: ``L(phi) = U_com - Psi``.

   ``S`` minorises ``L`` and is tight at the start, so every ascent step on ``S`` also raises
   ``L``. If (b) finds much more ``S`` than (a), the phi-block under-solves its subproblem
   (implementation); if (a) and (b) agree on ``S`` but (c) finds much more ``L`` / U_com, the
   surrogate's optimum is not U_com's (algorithm).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/fp_vs_gd.py --draws 20 --workers 2
    python benchmarks/fp_vs_gd.py --quick        # 2 draws of a tiny scenario (smoke run)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import dataclasses
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

_LN2 = float(np.log(2.0))
#: tiny scenario of ``--quick`` (the SMALL_RAR sizes of the tests)
QUICK_SET = {
    "num_users": 2,
    "num_cells": 4,
    "num_ris": 8,
    "num_bs_antennas": 4,
    "num_clusters": 3,
    "num_rays": 4,
}
#: Armijo constants of GD's phi step (baselines/gd.py defaults)
_INIT_MOVE, _ARMIJO_C, _BACKTRACKS = 0.3, 1e-4, 30


@dataclasses.dataclass(frozen=True)
class Budget:
    """Iteration budgets: FP-MM-ADMM ``short``/``long`` outer iterations, GD ``2 short``/``2 long``
    alternations (GD's default 100 against FP's default 50), the probed outer iteration and the
    number of phi-steps of each method in question 3."""

    short: int
    long: int
    probe_it: int
    phi_steps: int

    @property
    def gd_short(self) -> int:
        return 2 * self.short

    @property
    def gd_long(self) -> int:
        return 2 * self.long


# ---------------------------------------------------------------------------------------------- worker
def _trace_at(hist: Sequence[float], its: Sequence[int]) -> list[float]:
    """``hist[i]`` at each ``i`` of ``its``; the last value is carried past an early stop."""
    if len(hist) == 0:
        return [float("nan")] * len(its)
    return [float(hist[min(i, len(hist) - 1)]) for i in its]


def _iter_feasible(res: Any, eps: float, it: int) -> float:
    """1.0 if the iterate at ``it`` meets ``tr CRB <= eps (1 + 1e-3)`` (last iterate past a stop)."""
    crb = res.history.get("crb_trace", [])
    if not crb:
        return float("nan")
    c = crb[min(it, len(crb) - 1)]
    return float(np.isfinite(c) and c <= eps * (1.0 + 1e-3))


def _run_summary(res: Any, its: Sequence[int], cap: int) -> dict[str, Any]:
    return {
        "U": float(res.objective) if res.solved else float("nan"),
        "feasible": float(res.feasible),
        "at_cap": float(res.iterations >= cap and not res.converged),
        "iters": float(res.iterations),
        "trace": _trace_at(res.history.get("sum_rate", []), its),
    }


def _ascend(
    f: Callable[[NDArray[np.complex128]], float],
    grad: Callable[[NDArray[np.complex128]], NDArray[np.complex128]],
    phi: NDArray[np.complex128],
    steps: int,
) -> NDArray[np.complex128]:
    """``steps`` Riemannian Armijo steps (GD's phi step) maximising ``f`` from ``phi``."""
    from isac_gym.baselines.ascent import armijo_circle_step

    val = f(phi)
    for _ in range(steps):
        new, val_new = armijo_circle_step(f, phi, grad(phi), val, _INIT_MOVE, _ARMIJO_C, _BACKTRACKS)
        if new is phi:  # no step accepted: stationary to Armijo's resolution
            break
        phi, val = new, val_new
    return phi


def _phi_block(sp: Any, steps: int) -> dict[str, dict[str, float]]:
    """Question 3 at one captured subproblem ``sp`` (:class:`isac_gym.baselines.fp_mm_admm.PhiSubproblem`)."""
    from isac_env.physics.rar import crb_trace
    from isac_gym.baselines.fp_mm_admm import fp_update

    s, W, phi0 = sp.inst.s, sp.W, sp.phi_in
    eps = float(s.eps)

    def mm_iterated(refresh: bool) -> NDArray[np.complex128]:
        cur, phi, tau = sp, phi0, sp.tau_in
        for _ in range(steps):
            if refresh and phi is not phi0:
                cur = dataclasses.replace(cur, st=fp_update(s, sp.inst.H(phi), W), phi_in=phi)
            phi, tau = cur.mm_step(phi, tau)
        return phi

    methods: dict[str, Callable[[], NDArray[np.complex128]]] = {
        "(a) Alg.1 phi-block as run": lambda: sp.phi_out,
        "(a) MM/ADMM step (89) x1": lambda: sp.mm_step(phi0, sp.tau_in)[0],
        f"(a) MM/ADMM x{steps}, same (r,c)": lambda: mm_iterated(False),
        f"(a) MM/ADMM x{steps}, (r,c) refreshed": lambda: mm_iterated(True),
        "(b) Riemannian on S x1": lambda: _ascend(sp.surrogate, sp.surrogate_gradient, phi0, 1),
        f"(b) Riemannian on S x{steps}": lambda: _ascend(sp.surrogate, sp.surrogate_gradient, phi0, steps),
        "(c) Riemannian on L=U-Psi x1": lambda: _ascend(sp.augmented, sp.augmented_gradient, phi0, 1),
        f"(c) Riemannian on L=U-Psi x{steps}": lambda: _ascend(
            sp.augmented, sp.augmented_gradient, phi0, steps
        ),
    }
    S0, L0 = sp.surrogate(phi0), sp.augmented(phi0)
    U0 = float(sp.inst.u_nats(W, phi0)) / _LN2
    out: dict[str, dict[str, float]] = {
        "_start": {
            "S": S0,
            "L": L0,
            "U": U0,
            "tight": abs(S0 - L0),
            "crb": float(crb_trace(s, W, phi0)) / eps,
        }
    }
    for name, fn in methods.items():
        t0 = time.perf_counter()
        phi = fn()
        ms = 1e3 * (time.perf_counter() - t0)
        out[name] = {
            "dS": sp.surrogate(phi) - S0,
            "dL": sp.augmented(phi) - L0,
            "dU": float(sp.inst.u_nats(W, phi)) / _LN2 - U0,
            "crb": float(crb_trace(s, W, phi)) / eps,
            "ms": ms,
        }
    return out


def run_draw(task: tuple[int, str, dict[str, Any], int, Budget]) -> dict[str, Any]:
    """All three questions on draw ``i``; returns plain numbers (picklable)."""
    i, env_id, env_kwargs, seed, b = task
    warnings.simplefilter("ignore", UserWarning)
    import gymnasium as gym

    import isac_env  # noqa: F401  (registers the ids)
    from isac_gym.baselines import get_solver

    env = gym.make(env_id, **env_kwargs)
    env.reset(seed=seed)
    s = env.unwrapped.scenario
    env.close()
    eps = float(s.eps)
    rng = np.random.default_rng(i)
    fp_its = sorted(
        {c for c in (0, 1, 10, 20, b.short, b.long // 2, (3 * b.long) // 4, b.long) if c <= b.long}
    )
    gd_its = sorted({c for c in (0, 1, 10, b.gd_short, b.gd_long) if c <= b.gd_long})
    out: dict[str, Any] = {"draw": i, "fp_its": fp_its, "gd_its": gd_its}

    # 1. iterations (the default run also captures the probed phi-subproblem and block statistics)
    probes: dict[str, Any] = {"sp": None, "moved": 0, "calls": 0}

    def probe(sp: Any) -> None:
        probes["calls"] += 1
        probes["moved"] += int(not np.array_equal(sp.phi_out, sp.phi_in))
        if sp.it <= b.probe_it:  # the probed iteration, or the last one of a run that stopped before it
            probes["sp"] = sp

    runs: dict[str, Any] = {}
    q1: dict[str, Any] = {}
    for label, name, kw, cap, its in (
        (f"FP-MM-ADMM x{b.short}", "fp_mm_admm", {"phi_probe": probe}, b.short, fp_its),
        (f"FP-MM-ADMM x{b.long}", "fp_mm_admm", {}, b.long, fp_its),
        (f"FP-MM-ADMM[paper] x{b.short}", "fp_mm_admm", {"paper_schedule": True}, b.short, fp_its),
        (f"FP-MM-ADMM[paper] x{b.long}", "fp_mm_admm", {"paper_schedule": True}, b.long, fp_its),
        (f"GD x{b.gd_short}", "gd", {}, b.gd_short, gd_its),
        (f"GD x{b.gd_long}", "gd", {}, b.gd_long, gd_its),
    ):
        res = get_solver(name, max_iter=cap, **kw).solve(s, rng=rng)
        runs[label] = res
        q1[label] = {**_run_summary(res, its, cap), "its": its, "seconds": res.wall_time_s}
    out["q1"] = q1
    fp_s, fp_l = runs[f"FP-MM-ADMM x{b.short}"], runs[f"FP-MM-ADMM x{b.long}"]
    n = min(len(fp_s.history["sum_rate"]), len(fp_l.history["sum_rate"]))
    out["prefix_identical"] = float(
        np.array_equal(fp_s.history["sum_rate"][:n], fp_l.history["sum_rate"][:n])
    )
    h = fp_s.history
    out["blocks"] = {  # augmented-objective gain of each block, summed over the default run (nats)
        "W": float(np.nansum(np.asarray(h["aug_w"][1:]) - np.asarray(h["aug_jf"][1:]))),
        "phi": float(np.nansum(np.asarray(h["aug_phi"][1:]) - np.asarray(h["aug_w"][1:]))),
        "phi_moved": probes["moved"] / max(probes["calls"], 1),
    }

    # 2. warm starts
    gd, fp = runs[f"GD x{b.gd_short}"], runs[f"FP-MM-ADMM x{b.short}"]
    q2: dict[str, Any] = {"U_gd": gd.objective if gd.solved else float("nan")}
    q2["U_fp"] = fp.objective if fp.solved else float("nan")
    warm = {
        f"FP-MM-ADMM x{b.short} from GD": ("fp_mm_admm", {}, gd, b.short, fp_its),
        f"FP-MM-ADMM[paper] x{b.short} from GD": (
            "fp_mm_admm",
            {"paper_schedule": True},
            gd,
            b.short,
            fp_its,
        ),
        f"GD x{b.gd_short} from FP-MM-ADMM": ("gd", {}, fp, b.gd_short, gd_its),
    }
    for label, (name, kw, src, cap, its) in warm.items():
        if not src.solved:
            continue
        res = get_solver(name, max_iter=cap, **kw).solve(s, rng=rng, init=(src.W, src.phi))
        its_w = [c for c in its if c <= cap]
        q2[label] = {
            **_run_summary(res, its_w, cap),
            "its": its_w,
            "iter_feasible_end": _iter_feasible(res, eps, cap),
            "start_restored": float(any(str(nt).startswith("restor") for nt in res.extra.get("notes", []))),
            "source_U": float(src.objective),
        }
    out["q2"] = q2

    # 3. the phi-block at the probed subproblem
    out["q3"] = _phi_block(probes["sp"], b.phi_steps) if probes["sp"] is not None else None
    if probes["sp"] is not None:
        out["q3_it"] = probes["sp"].it
    return out


# ---------------------------------------------------------------------------------------------- report
def _mci(x: Sequence[float]) -> str:
    """``mean +- 95% CI half-width`` over the finite values."""
    a = np.asarray([v for v in x if np.isfinite(v)], dtype=float)
    if a.size == 0:
        return "n/a"
    half = 1.96 * a.std(ddof=1) / np.sqrt(a.size) if a.size > 1 else float("nan")
    return f"{a.mean():.3f} +- {half:.3f}"


def _mean(x: Sequence[float]) -> float:
    a = np.asarray([v for v in x if np.isfinite(v)], dtype=float)
    return float(a.mean()) if a.size else float("nan")


def report(rows: list[dict[str, Any]], b: Budget) -> None:
    """Print one table per question."""
    n = len(rows)
    U_gd = [r["q2"]["U_gd"] for r in rows]

    # ---- table 1
    print(f"\n[1] Iterations: returned design (best feasible iterate) and mean iterate U_com ({n} draws)")
    labels = list(rows[0]["q1"])
    its_fp, its_gd = rows[0]["fp_its"], rows[0]["gd_its"]
    print(f"    iterate columns: FP-MM-ADMM at outer iterations {its_fp}; GD at alternations {its_gd}")
    print(
        f"{'variant':26s} {'U_com returned':>16s} {'- GD x' + str(b.gd_short):>17s} {'feas':>5s} "
        f"{'at cap':>6s} {'iters':>6s} {'s/draw':>6s}  iterate U_com"
    )
    for lab in labels:
        d = [r["q1"][lab] for r in rows]
        diff = [x["U"] - g for x, g in zip(d, U_gd, strict=True)]
        trace = np.nanmean(np.asarray([x["trace"] for x in d], dtype=float), axis=0)
        print(
            f"{lab:26s} {_mci([x['U'] for x in d]):>16s} {_mci(diff):>17s} "
            f"{100 * _mean([x['feasible'] for x in d]):4.0f}% {100 * _mean([x['at_cap'] for x in d]):5.0f}% "
            f"{_mean([x['iters'] for x in d]):6.1f} {_mean([x['seconds'] for x in d]):6.2f}  "
            + " ".join(f"{v:.3f}" for v in trace)
        )
    for short, long in ((f"FP-MM-ADMM x{b.short}", f"FP-MM-ADMM x{b.long}"),
                        (f"FP-MM-ADMM[paper] x{b.short}", f"FP-MM-ADMM[paper] x{b.long}"),
                        (f"GD x{b.gd_short}", f"GD x{b.gd_long}")):  # fmt: skip
        gain = [r["q1"][long]["U"] - r["q1"][short]["U"] for r in rows]
        tail = [r["q1"][long]["trace"][-1] - r["q1"][long]["trace"][-2] for r in rows]
        up = sum(g > 0.01 for g in gain)
        print(
            f"  {long} - {short}: {_mci(gain)} bit/s/Hz (> 0.01 on {up}/{n} draws); "
            f"iterate change over the last column interval {_mci(tail)}"
        )
    print(
        f"  first {b.short} iterations of the x{b.short} and x{b.long} default runs identical on "
        f"{int(sum(r['prefix_identical'] for r in rows))}/{n} draws"
    )
    bw = [r["blocks"]["W"] for r in rows]
    bp = [r["blocks"]["phi"] for r in rows]
    mv = [r["blocks"]["phi_moved"] for r in rows]
    print(
        f"  default x{b.short} run, augmented objective gained per block, summed over the run (nats): "
        f"W-block {_mci(bw)}, phi-block {_mci(bp)}; phi iterate changed in {100 * _mean(mv):.0f}% of "
        "the phi-blocks"
    )

    # ---- table 2
    print(f"\n[2] Warm starts: iterate U_com (history) vs the source design ({n} draws)")
    print(f"    GD x{b.gd_short} {_mci(U_gd)}, FP-MM-ADMM x{b.short} {_mci([r['q2']['U_fp'] for r in rows])}")
    print(
        f"{'run':36s} {'source U':>8s} {'iterate U_com at iterations':>40s} {'returned':>16s} "
        f"{'iter - src':>16s} {'kept':>5s} {'feas end':>8s} {'restored':>8s}"
    )
    for lab in [k for k in rows[0]["q2"] if isinstance(rows[0]["q2"][k], dict)]:
        d = [r["q2"][lab] for r in rows if lab in r["q2"]]
        its = d[0]["its"]
        trace = np.nanmean(np.asarray([x["trace"] for x in d], dtype=float), axis=0)
        end_minus_src = [x["trace"][-1] - x["source_U"] for x in d]
        kept = sum(v >= -0.01 for v in end_minus_src)
        cols = " ".join(f"{it}:{v:.3f}" for it, v in zip(its, trace, strict=True))
        print(
            f"{lab:36s} {_mean([x['source_U'] for x in d]):8.3f} {cols:>40s} {_mci([x['U'] for x in d]):>16s} "
            f"{_mci(end_minus_src):>16s} {kept:2d}/{len(d):<2d} {100 * _mean([x['iter_feasible_end'] for x in d]):7.0f}% "
            f"{100 * _mean([x['start_restored'] for x in d]):7.0f}%"
        )
    print(
        "  'returned' is the best feasible iterate (includes the start, so >= the source up to the start's "
        "restoration); 'iter - src' is the last iterate minus the source; 'kept': last iterate within 0.01 "
        "of the source or above; 'restored': the start violated the CRB and was mixed with the radar precoder"
    )

    # ---- table 3
    q3 = [r["q3"] for r in rows if r.get("q3") is not None]
    if not q3:
        print("\n[3] phi-block: no phi-block was probed (every run stopped before its first phi-update)")
        return
    its3 = sorted({r["q3_it"] for r in rows if r.get("q3") is not None})
    st = [x["_start"] for x in q3]
    print(
        f"\n[3] phi-block at the subproblem of outer iteration {b.probe_it} of the default run "
        f"(probed iterations {its3}; {len(q3)} draws). Fixed W, (r, c), (f, zeta, rho)."
    )
    print(
        f"    start: U_com {_mci([x['U'] for x in st])} bit/s/Hz, tr CRB/eps {_mean([x['crb'] for x in st]):.4f}, "
        f"|S - L| at the start (tightness) max {max(x['tight'] for x in st):.2e} nats"
    )
    print(
        "    S = FP objective (42) at frozen (r, c) minus Psi (the subproblem's objective); L = U_com - Psi "
        "(the true objective at fixed W); gains in nats, U_com in bit/s/Hz"
    )
    print(f"{'method':38s} {'dS':>18s} {'dL':>18s} {'dU_com':>18s} {'trCRB/eps':>9s} {'ms':>7s}")
    for name in [k for k in q3[0] if k != "_start"]:
        d = [x[name] for x in q3]
        print(
            f"{name:38s} {_mci([x['dS'] for x in d]):>18s} {_mci([x['dL'] for x in d]):>18s} "
            f"{_mci([x['dU'] for x in d]):>18s} {_mean([x['crb'] for x in d]):9.4f} {_mean([x['ms'] for x in d]):7.1f}"
        )


# ---------------------------------------------------------------------------------------------- main
def _parse_set(items: Sequence[str]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for it in items:
        key, sep, val = it.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--set expects key=value, got {it!r}")
        try:
            out[key] = json.loads(val)
        except json.JSONDecodeError:
            out[key] = val
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--draws", type=int, default=20, help="seeded draws (default 20)")
    p.add_argument("--seed", type=int, default=0, help="root seed of the eval set (default 0)")
    p.add_argument("--env", default="isac_env/RydbergISAC-v0", help="Rydberg env id (default: Table I)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="gym.make keyword")
    p.add_argument("--workers", type=int, default=2, help="worker processes (1 or 2; default 2)")
    p.add_argument("--short-iter", type=int, default=50, help="FP-MM-ADMM default cap (50)")
    p.add_argument("--long-iter", type=int, default=200, help="FP-MM-ADMM long run (200)")
    p.add_argument(
        "--probe-iter", type=int, default=10, help="outer iteration whose phi-block is probed (10)"
    )
    p.add_argument("--phi-steps", type=int, default=50, help="phi-steps per method in question 3 (50)")
    p.add_argument(
        "--quick", action="store_true", help="2 draws of a tiny scenario, short budgets (smoke run)"
    )
    a = p.parse_args(argv)
    try:
        env_kwargs = _parse_set(a.set)
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    if a.quick:
        a.draws, a.workers = 2, 1
        a.short_iter, a.long_iter, a.probe_iter, a.phi_steps = 4, 8, 2, 3
        env_kwargs = {**QUICK_SET, **env_kwargs}
    if a.draws < 1 or not 1 <= a.workers <= 2:
        p.error("--draws must be >= 1 and --workers 1 or 2")
    if not 1 <= a.probe_iter <= a.short_iter < a.long_iter or a.phi_steps < 1:
        p.error("need 1 <= --probe-iter <= --short-iter < --long-iter and --phi-steps >= 1")
    from isac_gym.agents.evaluate import EvalSet

    es = EvalSet(a.env, env_kwargs, a.seed, a.draws)
    b = Budget(a.short_iter, a.long_iter, a.probe_iter, a.phi_steps)
    tasks = [(i, a.env, dict(es.env_kwargs), int(sd), b) for i, sd in enumerate(es.seeds)]
    t0 = time.perf_counter()
    if a.workers == 1:
        rows = [run_draw(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=a.workers) as ex:
            rows = list(ex.map(run_draw, tasks))
    kw = " ".join(f"{k}={v}" for k, v in es.env_kwargs.items()) or "Table I"
    print(
        f"{a.env} ({kw}), {a.draws} draws (root seed {a.seed}), {a.workers} workers, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    report(rows, b)


if __name__ == "__main__":
    main()
