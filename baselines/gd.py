"""The "GD" benchmark of the Rydberg paper (rar_isac spec 7.3).

Alternating first-order ascent on the penalised objective
``Gpen(W, phi) = U_com(W, phi) - lambda_p ([tr CRB(W, phi) / eps - 1]_+)^2`` (``U_com`` in nats):

* W step: ``W <- Pi(W + mu_W grad_{W^*} Gpen)``, ``Pi(W) = W min(1, sqrt(P_max)/||W||_F)``,
  Armijo backtracking from ``||mu_W grad||_F = 0.1 sqrt(P_max)``;
* phi step: Riemannian gradient ``xi = grad - Re{grad . conj(phi)} . phi`` on the complex circle,
  retraction ``phi <- (phi + mu xi) / |phi + mu xi|``, Armijo from a maximum phase move of 0.3 rad.

Gradients come from :mod:`isac_env.physics.gradients` (Wirtinger, spec 4.4); objective values
from the physics metrics. Same initial point as Algorithm 1 and the same best-feasible rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from isac_env.physics.gradients import crb_trace_gradients, sum_rate_gradients
from isac_env.physics.rar import RydbergScenario, crb_trace, sum_rate

from .ascent import armijo_ball_step, armijo_circle_step
from .base import Solver, SolverResult, Stopwatch, trap_faults
from .fp_mm_admm import FPMMADMMSolver
from .heuristics import design_feasible, full_power, is_feasible, metrics_dict

__all__ = ["GDSolver"]

_LN2 = float(np.log(2.0))


class GDSolver(Solver):
    """Projected / Riemannian gradient ascent on the penalised objective (spec 7.3).

    Args:
        lambda_p: penalty weight (nats), default 10.
        double_every: double ``lambda_p`` every this many alternations (0 = never; default 25).
        max_iter: alternations (100).
        tol: stop when the relative change of the penalised objective over one alternation is
            below ``tol`` (1e-5).
        armijo_c: Armijo sufficient-increase constant (1e-4); max_backtracks: halvings (30).
        init_step_W: initial ``||mu grad||_F / sqrt(P_max)`` (0.1); init_phase_move: initial
            maximum phase move in rad (0.3).
        bf_rule, init_w_iters: the common initial point (see :class:`FPMMADMMSolver`).
        feas_tol: relative CRB tolerance of the returned design (1e-3).

    The returned ``W`` is at full power.
    """

    name = "gd"

    def __init__(
        self,
        *,
        lambda_p: float = 10.0,
        double_every: int = 25,
        max_iter: int = 100,
        tol: float = 1e-5,
        armijo_c: float = 1e-4,
        max_backtracks: int = 30,
        init_step_W: float = 0.1,
        init_phase_move: float = 0.3,
        bf_rule: str = "sum_gain",
        init_w_iters: int = 10,
        feas_tol: float = 1e-3,
    ) -> None:
        if lambda_p < 0:
            raise ValueError(f"lambda_p must be >= 0, got {lambda_p}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        self.lambda_p, self.double_every, self.max_iter, self.tol = lambda_p, double_every, max_iter, tol
        self.armijo_c, self.max_backtracks = armijo_c, max_backtracks
        self.init_step_W, self.init_phase_move = init_step_W, init_phase_move
        self.feas_tol = feas_tol
        self._start = FPMMADMMSolver(bf_rule=bf_rule, init_w_iters=init_w_iters)

    def _objective(
        self, s: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128], lam: float
    ) -> float:
        U = float(sum_rate(s, W, phi)) * _LN2
        viol = max(0.0, float(crb_trace(s, W, phi)) / float(s.eps) - 1.0)
        return U - lam * viol**2

    def _gradients(
        self, s: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128], lam: float
    ) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        _, gW, gp = sum_rate_gradients(s, W, phi)
        h, hW, hp = crb_trace_gradients(s, W, phi)
        eps = float(s.eps)
        viol = max(0.0, float(h) / eps - 1.0)
        if viol > 0 and np.isfinite(h):
            k = 2.0 * lam * viol / eps
            gW, gp = gW - k * hW, gp - k * hp
        return gW, gp

    def solve(
        self,
        scenario: RydbergScenario,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        """Run GD from the common start (or ``init``); ``rng`` is unused (deterministic).

        History: ``sum_rate`` (bit/s/Hz), ``crb_trace`` (rad^2), ``penalized`` (nats),
        ``lambda_p``; one entry per alternation, entry 0 = start. A numerical fault during an
        alternation ends the ascent at the previous iterate (``stop_reason`` ``"error at iteration
        i: ..."``; the best feasible iterate is returned as usual).
        """
        del rng
        sw = Stopwatch()
        s = scenario
        P = float(s.P_max)
        eps = float(s.eps)
        W, phi, notes = self._start.initial_point(s, init)
        lam = self.lambda_p
        hist: dict[str, list[float]] = {"sum_rate": [], "crb_trace": [], "penalized": [], "lambda_p": []}
        best: dict[str, Any] = {"U": -np.inf, "W": None, "phi": None, "it": -1}

        def record(it: int) -> None:
            m = metrics_dict(s, W, phi)
            hist["sum_rate"].append(m["sum_rate"])
            hist["crb_trace"].append(m["crb_trace"])
            hist["penalized"].append(obj)
            hist["lambda_p"].append(lam)
            Wf = full_power(W, P)
            mf = metrics_dict(s, Wf, phi)
            if is_feasible(mf["crb_trace"], eps, self.feas_tol) and mf["sum_rate"] > best["U"]:
                best.update(U=mf["sum_rate"], W=Wf, phi=phi, it=it)

        obj = self._objective(s, W, phi, lam)
        record(0)
        converged, reason, it = False, "max_iter", 0
        for it in range(1, self.max_iter + 1):
            if self.double_every and it > 1 and (it - 1) % self.double_every == 0:
                lam *= 2.0
                obj = self._objective(s, W, phi, lam)
            start = obj
            W_it, phi_it = W, phi
            with trap_faults() as trap:  # a numerical fault ends the ascent at the last iterate
                # W step: projected gradient with Armijo
                gW, _ = self._gradients(s, W, phi, lam)
                W, obj = armijo_ball_step(
                    lambda Wn, phi=phi, lam=lam: self._objective(s, Wn, phi, lam),
                    W, gW, obj, np.sqrt(P), self.init_step_W, self.armijo_c, self.max_backtracks,
                )  # fmt: skip
                # phi step: Riemannian gradient with Armijo
                _, gp = self._gradients(s, W, phi, lam)
                phi, obj = armijo_circle_step(
                    lambda pn, W=W, lam=lam: self._objective(s, W, pn, lam),
                    phi, gp, obj, self.init_phase_move, self.armijo_c, self.max_backtracks,
                )  # fmt: skip
                record(it)
            if trap:
                W, phi, it = W_it, phi_it, it - 1
                for trace in hist.values():
                    del trace[it + 1 :]  # drop a partial record of the failed iteration
                reason = f"error at iteration {it + 1}: {trap.reason}"
                break
            if abs(obj - start) <= self.tol * max(abs(start), 1e-12):
                converged, reason = True, "converged"
                break
        if best["W"] is None:
            W_out, phi_out = full_power(W, P), phi
            reason = (
                f"infeasible: no iterate met tr CRB <= eps(1+{self.feas_tol:g}) "
                f"(last {hist['crb_trace'][-1]:.4g} > {eps:g}); {reason}"
            )
        else:
            W_out, phi_out = best["W"], best["phi"]
        m = metrics_dict(s, W_out, phi_out)
        return SolverResult(
            W=W_out, phi=phi_out, objective=m["sum_rate"], history=hist, converged=converged,
            stop_reason=reason, iterations=it, wall_time_s=sw.elapsed(),
            feasible=design_feasible(s, W_out, phi_out, m["crb_trace"], self.feas_tol), metrics=m,
            extra={"best_iteration": best["it"], "lambda_p_final": lam, "notes": notes},
        )  # fmt: skip
