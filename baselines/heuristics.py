"""Closed-form designs and heuristic baselines for the Rydberg task.

* :func:`bf_only_phases` -- the BF-only reflection of rar_isac spec 7.2 (also the common initial
  phi of every scheme, spec 6.0); :func:`gain_phases` -- its MM truncated at
  :data:`GAIN_PHASE_ITERS` steps (the "gain-maximising phases" of the heuristics).
* :func:`mrt_precoder`, :func:`zf_precoder`, :func:`rzf_precoder` -- per-user MRT and
  dominant-eigenmode (regularised) ZF precoders.
* :func:`radar_optimum` / :func:`radar_optimal_precoder` -- the full-power ``W`` minimising
  ``tr CRB`` at fixed phi (cvxpy-free, with a certified optimality gap), and :func:`crb_repair`,
  which mixes any design with it just enough to meet ``tr CRB <= eps``.
* Heuristic solvers (``heuristic = True``, each CRB-repaired, a few ms per Table-I draw, measured
  by ``benchmarks/heuristic_time.py``): :class:`BestUserMRTSolver` (``best_user_mrt``) and
  :class:`UserSelectZFSolver` (``user_select_zf``).
* :class:`RandomMRTSolver`, :class:`RandomZFSolver` -- random RIS phases (drawn from ``rng``) with
  MRT / ZF precoding, the paper's random floors; they ignore the CRB constraint unless built with
  ``repair=True`` and report whether they meet it (``feasible``: every constraint of (35),
  :func:`design_feasible`). They count as heuristics too ("what a wireless engineer tries first").

Every precoder is returned at full power ``||W||_F^2 = P_max`` (full power never lowers the sum
rate of (23) for a fixed direction, and lowers the CRB).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from isac_env.physics import RydbergScenario, effective_channels, evaluate
from isac_env.physics.channels import phase_gain_quadratics
from isac_env.physics.gradients import trace_inv_schur
from isac_env.physics.rar import sensing_vectors_of
from isac_env.physics.sensing import (
    crb_trace_from_terms,
    fim_matrices,
    fim_terms_from_map,
    fim_terms_map,
    sensing_gram,
)
from isac_env.physics.units import w_to_dbm

from .base import InvalidProblemError, Solver, SolverResult, Stopwatch, require_unbatched

__all__ = [
    "GAIN_PHASE_ITERS",
    "BestUserMRTSolver",
    "RadarOptimum",
    "RandomMRTSolver",
    "RandomZFSolver",
    "UserSelectZFSolver",
    "bf_only_phases",
    "crb_repair",
    "design_feasible",
    "dominant_directions",
    "full_power",
    "gain_phases",
    "metrics_dict",
    "mrt_precoder",
    "radar_optimal_precoder",
    "radar_optimum",
    "rzf_precoder",
    "zf_precoder",
]


def full_power(W: NDArray[np.complex128], P_max: float) -> NDArray[np.complex128]:
    """Scale ``W`` ``[..., Nt, K]`` onto the power sphere ``||W||_F^2 = P_max`` (per leading index;
    a zero ``W`` is returned as is)."""
    W = np.asarray(W)
    if W.ndim <= 2:
        n2 = float(np.sum(np.abs(W) ** 2))
        return W if n2 <= 0 else W * np.sqrt(P_max / n2)
    n2 = np.sum(W.real**2 + W.imag**2, axis=(-2, -1), keepdims=True)
    return W * np.sqrt(P_max / np.where(n2 > 0, n2, P_max))


def metrics_dict(
    scenario: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
) -> dict[str, Any]:
    """``isac_env.physics.evaluate`` as plain Python floats (``sinr`` as a list), plus ``power_dbm``.

    ``power_dbm`` is :func:`isac_env.physics.units.w_to_dbm` of ``power_w`` floored at 1e-300 W,
    the value of the env's ``info["metrics"]["power_dbm"]`` for the same design.
    """
    m = evaluate(scenario, W, phi)
    out = {k: (np.asarray(v).tolist() if np.ndim(v) else float(v)) for k, v in m.items()}
    out["power_dbm"] = float(w_to_dbm(max(float(m["power_w"]), 1e-300)))
    return out


def is_feasible(crb_trace: float, eps: float, rel_tol: float = 1e-3) -> bool:
    """CRB constraint of (35) with the spec's tolerance: ``tr CRB <= eps (1 + rel_tol)``."""
    return bool(np.isfinite(crb_trace) and crb_trace <= eps * (1.0 + rel_tol))


#: relative tolerance of the power budget and of the unit modulus in :func:`design_feasible`
#: (rounding of the full-power rescaling and of ``exp(j angle(.))``)
POWER_RTOL = 1e-9
MODULUS_ATOL = 1e-9


def design_feasible(
    scenario: RydbergScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    crb_trace: float,
    rel_tol: float = 1e-3,
) -> bool:
    """Every constraint of (35) at ``(W, phi)``: finite entries, ``||W||_F^2 <= P_max (1 + 1e-9)``,
    ``| |phi_n| - 1 | <= 1e-9`` and the CRB within ``rel_tol`` (:func:`is_feasible`; ``crb_trace``
    is the design's ``tr CRB``, from its metrics)."""
    W, phi = np.asarray(W), np.asarray(phi)
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(phi))):
        return False
    power_ok = float(np.sum(np.abs(W) ** 2)) <= float(scenario.P_max) * (1.0 + POWER_RTOL)
    modulus_ok = phi.size == 0 or float(np.max(np.abs(np.abs(phi) - 1.0))) <= MODULUS_ATOL
    return bool(power_ok and modulus_ok and is_feasible(crb_trace, float(scenario.eps), rel_tol))


def bf_only_phases(
    scenario: RydbergScenario, rule: str = "sum_gain", *, max_iter: int = 500, tol: float = 1e-10
) -> NDArray[np.complex128]:
    """BF-only reflection (spec 7.2): ``max_phi sum_k ||H_BU,k + H_RU,k diag(phi) H_BR||_F^2``.

    ``sum_gain`` (default): the objective is ``phi^H A phi + Re{b^H phi} + const`` with
    ``A = sum_k (H_RU,k^H H_RU,k) . conj(H_BR H_BR^H)`` and
    ``b = 2 sum_k diag(H_RU,k^H H_BU,k H_BR^H)``
    (:func:`isac_env.physics.channels.phase_gain_quadratics`); maximised by the monotone MM
    ``phi <- exp(j angle(2 A phi + b))`` from ``exp(j angle(b))``.
    ``eigenvector``: ``phi = exp(j angle(u_max(A)))`` (direct link ignored; spec 13.1 variant).

    Returns:
        ``[N]`` unit-modulus phases.
    """
    if rule not in ("sum_gain", "eigenvector"):
        raise ValueError(f"bf_rule must be 'sum_gain' or 'eigenvector', got {rule!r}")
    s = scenario
    H_BR, H_RU, H_BU = np.asarray(s.H_BR), np.asarray(s.H_RU), np.asarray(s.H_BU)
    A, b, _ = phase_gain_quadratics(H_BU, H_RU, H_BR, sum_users=True)  # sum_k A_k, sum_k b_k
    if rule == "eigenvector":
        _, U = np.linalg.eigh(A)
        return np.exp(1j * np.angle(U[:, -1]))
    phi = np.exp(1j * np.angle(b)) if np.any(b != 0) else np.ones(A.shape[0], np.complex128)
    val = np.real(np.vdot(phi, A @ phi)) + np.real(np.vdot(b, phi))
    for _ in range(max_iter):
        new = np.exp(1j * np.angle(2.0 * (A @ phi) + b))
        new_val = np.real(np.vdot(new, A @ new)) + np.real(np.vdot(b, new))
        phi = new
        if new_val - val <= tol * abs(new_val):
            break
        val = new_val
    return phi


def mrt_precoder(H_eff: NDArray[np.complex128], P_max: float) -> NDArray[np.complex128]:
    """Per-user MRT for RAR users: ``w_k`` = dominant right singular vector of ``H_k`` (maximises
    the energy-sum gain ``||H_k w_k||^2`` of (23)), equal power ``P_max / K``; ``[Nt, K]``."""
    _, _, Vh = np.linalg.svd(H_eff)  # [K, Nt, Nt]
    W = np.conj(Vh[:, 0, :]).T  # [Nt, K]
    return full_power(W, P_max)


def zf_precoder(H_eff: NDArray[np.complex128], P_max: float) -> NDArray[np.complex128]:
    """Dominant-eigenmode zero forcing: ``h_k^H = u_k^H H_k`` with ``u_k`` the dominant left
    singular vector of ``H_k``; ``W = Hbar^H (Hbar Hbar^H)^{-1}`` with unit-norm columns, equal
    power. (With ``M >= Nt`` a precoder cannot null a whole RAR array; this nulls the dominant
    receive mode of every other user.) Falls back to the pseudo-inverse when ``K > Nt``."""
    U, _, _ = np.linalg.svd(H_eff)  # [K, M, M]
    Hbar = np.einsum("km,kmt->kt", np.conj(U[:, :, 0]), H_eff)  # [K, Nt]
    W = np.linalg.pinv(Hbar)  # [Nt, K]
    W = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-300)
    return full_power(W, P_max)


#: MM steps of :func:`gain_phases` (on 8 Table-I draws 20 steps reach >= 99.9 % of the converged
#: sum gain of :func:`bf_only_phases`, in ~1 ms instead of up to 500 steps)
GAIN_PHASE_ITERS = 20


def gain_phases(scenario: RydbergScenario, max_iter: int = GAIN_PHASE_ITERS) -> NDArray[np.complex128]:
    """Gain-maximising phases of the heuristics: :func:`bf_only_phases` (``sum_gain`` rule, i.e.
    ``max_phi sum_k ||H_eff,k(phi)||_F^2``) with its monotone MM truncated at ``max_iter`` steps."""
    return bf_only_phases(scenario, "sum_gain", max_iter=max_iter)


def dominant_directions(H_eff: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Dominant-eigenmode rows ``h_k^H = u_k^H H_k = s_1 v_1^H`` (``u_k``, ``v_1``, ``s_1`` the top
    left / right singular vectors and value of ``H_k`` ``[M, Nt]``); ``[..., K, Nt]``."""
    U, _, _ = np.linalg.svd(H_eff)
    return np.einsum("...km,...kmt->...kt", np.conj(U[..., :, :, 0]), H_eff)


def rzf_precoder(Hbar: NDArray[np.complex128], P_max: float, reg: float = 0.0) -> NDArray[np.complex128]:
    """Regularised zero forcing on the rows ``Hbar`` ``[K', Nt]`` (``K' <= Nt`` for ``reg = 0``):
    ``W = Hbar^H (Hbar Hbar^H + reg I)^{-1}`` with unit-norm columns, then full power (equal power
    per stream). With ``reg = 0`` it is exact ZF, ``Hbar W`` diagonal: a user whose channel is
    rank one, ``H_k = a_k h_k^H``, receives no energy ``||H_k w_j||^2 = 0`` from the other streams.
    Returns ``[Nt, K']``."""
    Hbar = np.asarray(Hbar, dtype=np.complex128)
    gram = Hbar @ Hbar.conj().T + float(reg) * np.eye(Hbar.shape[0])
    W = Hbar.conj().T @ np.linalg.inv(gram)
    W = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-300)
    return full_power(W, P_max)


# ----------------------------------------------------------------------------- radar optimum
@dataclass(frozen=True)
class RadarOptimum:
    """The radar-optimal full-power precoder at one phi (:func:`radar_optimum`).

    Attributes:
        W: ``[Nt, K]`` complex128, ``||W||_F^2 = P_max``, ``W W^H`` the tr-CRB-minimising covariance
            (rank one: the beam in column 0, the other columns zero).
        crb_trace: ``tr CRB_theta(W, phi)`` (rad^2, physics :func:`~isac_env.physics.crb_trace`
            terms); ``inf`` if no precoder gives a non-singular FIM.
        gap: certified bound on ``(crb_trace - min tr CRB) / min tr CRB`` from the first-order
            condition of the convex covariance problem (``nan`` if the rank-K factorisation
            truncated the covariance).
        method: ``"rank_one"`` (certified rank-one optimum), ``"barrier"`` (general rank) or
            ``"degenerate"`` (no sensing subspace).
        rank: rank of the optimal covariance (after truncation to K).
    """

    W: NDArray[np.complex128]
    crb_trace: float
    gap: float
    method: str
    rank: int


#: relative optimality gap accepted from the rank-one Newton method (else the barrier runs)
RADAR_GAP_TOL = 1e-6


@lru_cache(maxsize=8)
def _hermitian_basis(r: int) -> NDArray[np.complex128]:
    """Orthonormal basis (w.r.t. ``Re tr(X^H Y)``) of the ``r x r`` Hermitian matrices, ``[r^2, r, r]``;
    the first ``r`` elements are the diagonal units ``e_a e_a^T``."""
    E = []
    for a in range(r):
        X = np.zeros((r, r), np.complex128)
        X[a, a] = 1.0
        E.append(X)
    c = 1.0 / np.sqrt(2.0)
    for a in range(r):
        for b in range(a + 1, r):
            X = np.zeros((r, r), np.complex128)
            X[a, b] = X[b, a] = c
            Y = np.zeros((r, r), np.complex128)
            Y[a, b], Y[b, a] = 1j * c, -1j * c
            E += [X, Y]
    out = np.array(E)
    out.flags.writeable = False
    return out


class _ReducedFIM:
    """The DoA FIM as a function of the covariance restricted to the sensing subspace.

    Every ``A_i`` (spec 4.1) is built from ``H_t = v v^T``, ``H_B``, ``H_R``, which annihilate the
    vectors orthogonal to ``conj(V)`` (``V = [v_t, v_B, v_R]``); so ``tr(A_i R_x)`` only sees
    ``Q^H R_x Q`` with ``Q`` ``[Nt, r]`` an orthonormal basis of ``span(conj V)`` (``r <= 3``), and
    power outside it is wasted: the optimum is ``R_x = P_max Q T Q^H`` with ``T`` ``r x r``,
    ``T >= 0``, ``tr T = 1``. ``G_i(T) = tr(Ar_i T)`` with ``Ar_i = (2L/sigma_r^2) Q^H A_i Q`` are the
    FIM terms in full-FIM units at unit power, so :func:`~isac_env.physics.gradients.trace_inv_schur`
    gives ``h(T) = P_max tr CRB`` and its sensitivities ``gamma``; ``h`` is convex in ``T`` (tr of
    the inverse of the Schur complement, which is matrix-concave in ``T``).
    """

    def __init__(self, scenario: RydbergScenario, phi: NDArray[np.complex128]) -> None:
        s = scenario
        self.alpha = complex(np.asarray(s.alpha_t))
        V = sensing_vectors_of(s, phi)
        U, sv, _ = np.linalg.svd(np.conj(V), full_matrices=False)
        self.r = int(np.sum(sv > sv[0] * 1e-10)) if sv[0] > 0 else 0
        self.Q = U[:, : self.r]  # [Nt, r]
        scale = 2.0 * float(s.L) / float(s.sigma_r2)
        A = scale * fim_matrices(V, self.alpha)  # [6, Nt, Nt]
        self.Ar = np.conj(self.Q.T) @ A @ self.Q  # [6, r, r]
        self.ArH = np.conj(np.swapaxes(self.Ar, -1, -2))

    def G_of_x(self, x: NDArray[np.complex128]) -> NDArray[np.complex128]:
        """``G_i(x x^H) = x^H Ar_i x`` ``[..., 6]`` for ``x`` ``[..., r]``."""
        return np.einsum("...a,iab,...b->...i", np.conj(x), self.Ar, x)

    def M(self, gamma: NDArray[np.complex128]) -> NDArray[np.complex128]:
        """Gradient matrix ``dh = Re tr(M dT)``, ``M = (1/2) sum_i (gamma_i Ar_i + conj(gamma_i) Ar_i^H)``."""
        return 0.5 * (
            np.einsum("...i,iab->...ab", gamma, self.Ar)
            + np.einsum("...i,iab->...ab", np.conj(gamma), self.ArH)
        )

    def gap(self, T: NDArray[np.complex128], h: float, gamma: NDArray[np.complex128]) -> float:
        """Certified relative gap at ``T`` (unit trace): ``h(T') >= h(T) + Re tr(M (T' - T)) >=
        h(T) - (Re tr(M T) - lambda_min(M))``, divided by that lower bound of the minimum."""
        M = self.M(gamma)
        slack = float(np.real(np.trace(M @ T)) - np.linalg.eigvalsh(M)[0])
        lower = h - max(slack, 0.0)
        return max(slack, 0.0) / lower if lower > 0 else float("inf")


def _rank_one_newton(fim: _ReducedFIM, max_iter: int = 30) -> tuple[NDArray[np.complex128], float, float]:
    """Minimise ``h(x x^H)`` over unit ``x`` ``[r]`` (rank-one covariance) by Newton's method on
    ``f(x) = h(x x^H) / h0 + ||x||^2`` (degree -2 homogeneity of ``h`` in ``x`` makes the
    unconstrained minimiser the best direction, scaled to ``||x||^4 = h(x^ x^H) / h0``), analytic
    gradient ``2 (M x / h0 + x)``, forward-difference Hessian (one batched call), pseudo-inverse
    over the phase direction (``|eigenvalue|`` Newton), batched Armijo backtracking. Start: the
    eigenvector of the smallest eigenvalue of ``M(I / r)`` (the first Frank-Wolfe vertex).

    Returns ``(x_unit, h, gap)``."""
    r, alpha = fim.r, fim.alpha
    h0, gam = trace_inv_schur(np.einsum("iaa->i", fim.Ar) / r, alpha)
    h0 = float(h0)
    if not np.isfinite(h0):
        return np.ones(r, np.complex128) / np.sqrt(r), float("inf"), float("inf")
    x = np.linalg.eigh(fim.M(gam))[1][:, 0]

    def fg(X: NDArray[np.complex128]) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
        h, g = trace_inv_schur(fim.G_of_x(X), alpha)
        Mx = 0.5 * (
            np.einsum("...i,iab,...b->...a", g, fim.Ar, X)
            + np.einsum("...i,iab,...b->...a", np.conj(g), fim.ArH, X)
        )
        return h / h0 + np.sum(X.real**2 + X.imag**2, axis=-1), 2.0 * (Mx / h0 + X)

    f, _ = fg(x)
    x = x * max(float(f) - 1.0, 1e-300) ** 0.25
    basis = np.concatenate([np.eye(r), 1j * np.eye(r)], axis=0)  # real coordinates [Re x, Im x]
    steps = 0.5 ** np.arange(12)
    for _ in range(max_iter):
        d = 1e-6 * float(np.linalg.norm(x))
        f, g = fg(x[None, :] + d * np.vstack([np.zeros((1, r)), basis]))
        gr = np.concatenate([g.real, g.imag], axis=1)  # [2r + 1, 2r]
        H = (gr[1:] - gr[0][None, :]) / d
        ev, EV = np.linalg.eigh(0.5 * (H + H.T))
        keep = np.abs(ev) > 1e-8 * np.max(np.abs(ev))
        step = -EV[:, keep] @ ((EV[:, keep].T @ gr[0]) / np.abs(ev[keep]))
        dec = -float(gr[0] @ step)
        if not dec > 1e-14:
            break
        cand = x[None, :] + steps[:, None] * (step[:r] + 1j * step[r:])[None, :]
        fc, _ = fg(cand)
        ok = np.flatnonzero(fc <= f[0] - 0.25 * steps * dec)
        if ok.size == 0:
            break
        x = cand[ok[0]]
    xn = x / np.linalg.norm(x)
    h, gam = trace_inv_schur(fim.G_of_x(xn), alpha)
    return xn, float(h), fim.gap(np.outer(xn, np.conj(xn)), float(h), gam)


def _barrier_newton(
    fim: _ReducedFIM, mu0: float = 1e-3, kappa: float = 10.0, tol: float = 1e-8
) -> NDArray[np.complex128]:
    """General-rank fallback: ``min h(T) / h0 - mu log det T`` s.t. ``tr T = 1`` over the ``r^2``
    real coordinates of ``T`` (:func:`_hermitian_basis`), equality-constrained Newton steps
    (forward-difference Hessian of the analytic gradient, exact barrier Hessian), ``mu`` divided by
    ``kappa`` until ``r mu < tol`` (duality gap of the barrier). Returns ``T`` ``[r, r]``."""
    r, alpha = fim.r, fim.alpha
    E = _hermitian_basis(r)
    n = r * r
    Fb = np.einsum("iab,jba->ji", fim.Ar, E)  # [n, 6]: G_i(E_j)
    a = np.real(np.einsum("jaa->j", E))
    t = a / r
    h0 = float(trace_inv_schur(t @ Fb, alpha)[0])

    def hg(tt: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        h, gam = trace_inv_schur(tt @ Fb, alpha)
        return h / h0, np.real(gam @ Fb.T) / h0

    T_of = lambda tt: np.einsum("...j,jab->...ab", tt, E)  # noqa: E731
    KKT = np.zeros((n + 1, n + 1))
    KKT[:n, n] = KKT[n, :n] = a
    steps = 0.5 ** np.arange(20)
    mu, d = mu0, 1e-7
    while True:
        for _ in range(50):
            T = T_of(t)
            Ti = np.linalg.inv(T)
            h, g = hg(t[None, :] + d * np.vstack([np.zeros(n), np.eye(n)]))
            Hh = (g[1:] - g[0][None, :]) / d
            X = Ti[None] @ E
            KKT[:n, :n] = 0.5 * (Hh + Hh.T) + mu * np.real(np.einsum("jab,kba->jk", X, X))
            grad = g[0] - mu * np.real(np.einsum("ab,jba->j", Ti, E))
            dt = np.linalg.solve(KKT, np.concatenate([-grad, [0.0]]))[:n]
            dec = -float(grad @ dt)
            if not dec > 1e-10:
                break
            cand = t[None, :] + steps[:, None] * dt[None, :]
            ev = np.linalg.eigvalsh(T_of(cand))
            pd = np.all(ev > 0, axis=1)
            hc = hg(cand)[0]
            fc = np.where(pd, hc - mu * np.sum(np.log(np.where(ev > 0, ev, 1.0)), axis=1), np.inf)
            f0 = h[0] - mu * float(np.sum(np.log(np.linalg.eigvalsh(T))))
            ok = np.flatnonzero(fc <= f0 - 0.25 * steps * dec)
            if ok.size == 0:
                break
            t = cand[ok[0]]
        if r * mu < tol:
            return T_of(t)
        mu /= kappa


def radar_optimum(scenario: RydbergScenario, phi: NDArray[np.complex128]) -> RadarOptimum:
    """The full-power precoder minimising ``tr CRB_theta`` (28)-(34) at fixed ``phi`` (spec 6.7's
    radar-optimal covariance, solved without cvxpy).

    Method (see :class:`_ReducedFIM`): the covariance is reduced exactly to ``P_max Q T Q^H`` on the
    (at most 3-dim) sensing subspace. A rank-one ``T = x x^H`` is found by Newton's method
    (:func:`_rank_one_newton`) and accepted when the convex problem's first-order condition
    certifies it (relative gap ``<= RADAR_GAP_TOL``): on every Table-I draw measured the minimiser
    is rank one and certified (gap ~1e-16, ~1 ms). Otherwise a log-barrier Newton method
    (:func:`_barrier_newton`) solves the general-rank problem, and ``W`` is the rank-``min(K, r)``
    eigen-factor ``Q U_K Lambda_K^(1/2)`` at full power (a truncation when ``K`` is below the
    optimal rank). Agrees with the cvxpy SDP of :class:`~isac_gym.baselines.sdp.RadarCovarianceSDP` (tests).

    Args:
        scenario: unbatched ``RydbergScenario``; phi: ``[N]`` unit-modulus phases.

    Returns:
        :class:`RadarOptimum` (``W`` ``[Nt, K]`` with ``||W||_F^2 = P_max``).
    """
    s = scenario
    if s.batch_shape != ():
        raise InvalidProblemError(
            f"radar_optimum takes an unbatched scenario, got batch shape {s.batch_shape}"
        )
    d = s.dims
    K, Nt, P = d["K"], d["Nt"], float(s.P_max)
    phi = np.asarray(phi, dtype=np.complex128)
    fim = _ReducedFIM(s, phi)
    W = np.zeros((Nt, K), np.complex128)
    if fim.r == 0:
        W[0, 0] = np.sqrt(P)
        return RadarOptimum(W, float("inf"), float("inf"), "degenerate", 0)
    x, _, gap = _rank_one_newton(fim)
    if gap <= RADAR_GAP_TOL:
        W[:, 0] = np.sqrt(P) * (fim.Q @ x)
        return RadarOptimum(W, _crb_trace_batch(s, phi, W)[()], gap, "rank_one", 1)
    T = _barrier_newton(fim)
    lam, U = np.linalg.eigh(0.5 * (T + T.conj().T))
    lam, U = np.clip(lam[::-1], 0.0, None), U[:, ::-1]
    rank = int(np.sum(lam > 1e-9 * lam[0]))
    k = min(K, rank)
    W[:, :k] = fim.Q @ (U[:, :k] * np.sqrt(lam[:k]))
    W = full_power(W, P)
    T_used = (U[:, :k] * lam[:k]) @ U[:, :k].conj().T / np.sum(lam[:k])
    if k < rank:
        gap = float("nan")
    else:
        hT, gam = trace_inv_schur(np.einsum("iab,ba->i", fim.Ar, T_used), fim.alpha)
        gap = fim.gap(T_used, float(hT), gam)
    return RadarOptimum(W, _crb_trace_batch(s, phi, W)[()], gap, "barrier", k)


def radar_optimal_precoder(scenario: RydbergScenario, phi: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """``W`` ``[Nt, K]`` (full power) minimising ``tr CRB`` at fixed ``phi``: :func:`radar_optimum`'s ``W``."""
    return radar_optimum(scenario, phi).W


# ----------------------------------------------------------------------------- CRB repair
class _SensingAt:
    """phi-only sensing quantities, so that many precoders are scored by one batched call."""

    def __init__(self, scenario: RydbergScenario, phi: NDArray[np.complex128]) -> None:
        s = scenario
        self.s = s
        self.V = sensing_vectors_of(s, phi)
        self.Mphi = fim_terms_map(sensing_gram(self.V), s.alpha_t)

    def crb_trace(self, W: NDArray[np.complex128]) -> NDArray[np.float64]:
        """``tr CRB`` (rad^2) of ``W`` ``[..., Nt, K]`` (physics terms), ``[...]``."""
        s = self.s
        return crb_trace_from_terms(fim_terms_from_map(self.Mphi, self.V, W), s.L, s.sigma_r2, s.alpha_t)


def _crb_trace_batch(
    s: RydbergScenario, phi: NDArray[np.complex128], W: NDArray[np.complex128]
) -> NDArray[np.float64]:
    return np.asarray(_SensingAt(s, phi).crb_trace(W), dtype=np.float64)


def _procrustes(W_rad: NDArray[np.complex128], W: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """``W_rad U`` with ``U`` the ``K x K`` unitary closest to ``W_rad^H W`` (orthogonal Procrustes):
    same covariance ``W_rad W_rad^H`` (same CRB), columns turned towards ``W``'s user streams, and
    ``Re tr(W^H W_rad U) >= 0``, so the mix of :func:`crb_repair` never cancels. ``[..., Nt, K]``."""
    Uq, _, Vq = np.linalg.svd(np.conj(np.swapaxes(W_rad, -1, -2)) @ W)
    return W_rad @ (Uq @ Vq)


def crb_repair(
    scenario: RydbergScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    *,
    radar: RadarOptimum | None = None,
    grid: int = 16,
    rounds: int = 4,
) -> tuple[NDArray[np.complex128], dict[str, Any]]:
    """Mix a design with the radar-optimal precoder just enough to meet ``tr CRB <= eps``.

    ``W(t) = sqrt(P_max) normalize(sqrt(1 - t) W + sqrt(t) W_rad)`` with ``W`` at full power and
    ``W_rad`` the :func:`radar_optimum` precoder turned towards ``W`` (:func:`_procrustes`, which
    leaves its CRB unchanged), so ``W(t)`` stays ``[Nt, K]`` at full power, ``W(0) = W`` and
    ``tr CRB(W(1)) = min tr CRB`` at this phi. ``t`` is the smallest grid point meeting
    ``tr CRB <= eps`` on a ``grid``-point grid of ``(lo, hi]``, refined ``rounds`` times inside the
    bracket (resolution ``grid^-rounds``, 1.5e-5 by default). Hence the repaired design meets eps
    whenever the radar-optimal precoder does; if it does not (``tr CRB(W_rad) > eps (1 + 1e-3)``),
    the result is the ``t = 1`` design and ``feasible`` is ``False``.

    Args:
        scenario: unbatched scenario; W: ``[..., Nt, K]`` designs (a batch is repaired at once);
        phi: ``[N]`` phases; radar: a precomputed :func:`radar_optimum` at ``phi``.

    Returns:
        ``(W_repaired [..., Nt, K], info)`` with ``info``: ``t``, ``crb_trace`` (rad^2),
        ``feasible`` (``tr CRB <= eps (1 + 1e-3)``), ``radar_crb_trace``; floats / bools for an
        unbatched ``W``, arrays ``[...]`` otherwise.
    """
    s = scenario
    P, eps = float(s.P_max), float(s.eps)
    phi = np.asarray(phi, dtype=np.complex128)
    radar = radar_optimum(s, phi) if radar is None else radar
    sens = _SensingAt(s, phi)
    W0 = full_power(np.asarray(W, dtype=np.complex128), P)
    batch = W0.shape[:-2]
    W_r = _procrustes(radar.W, W0)

    def mix(t: NDArray[np.float64]) -> NDArray[np.complex128]:  # t [..., J] -> [..., J, Nt, K]
        a, b = np.sqrt(1.0 - t)[..., None, None], np.sqrt(t)[..., None, None]
        return full_power(a * W0[..., None, :, :] + b * W_r[..., None, :, :], P)

    c0 = np.asarray(sens.crb_trace(W0))
    t = np.where(c0 <= eps, 0.0, 1.0)
    search = (c0 > eps) & (radar.crb_trace <= eps)
    if np.any(search):
        lo, hi = np.zeros(batch), np.ones(batch)
        frac = np.arange(1, grid + 1) / grid
        for _ in range(rounds):
            ts = lo[..., None] + (hi - lo)[..., None] * frac  # [..., grid], last point = hi
            ok = sens.crb_trace(mix(ts)) <= eps
            j = np.argmax(ok, axis=-1)  # first feasible grid point (hi is feasible)
            new_hi = np.take_along_axis(ts, j[..., None], -1)[..., 0]
            new_lo = np.where(j > 0, np.take_along_axis(ts, np.maximum(j - 1, 0)[..., None], -1)[..., 0], lo)
            lo, hi = new_lo, np.where(ok.any(axis=-1), new_hi, hi)
        t = np.where(search, hi, t)
    W_out = mix(t[..., None])[..., 0, :, :]
    crb = np.asarray(sens.crb_trace(W_out))
    feas = np.isfinite(crb) & (crb <= eps * (1.0 + 1e-3))
    info: dict[str, Any] = {"t": t, "crb_trace": crb, "feasible": feas, "radar_crb_trace": radar.crb_trace}
    if not batch:
        info = {
            "t": float(t),
            "crb_trace": float(crb),
            "feasible": bool(feas),
            "radar_crb_trace": float(radar.crb_trace),
        }
    return W_out, info


# ----------------------------------------------------------------------------- heuristic solvers
_PHASE_RULES = ("ones", "gain")


def _phases(scenario: RydbergScenario, rule: str) -> NDArray[np.complex128]:
    """``"ones"``: all-ones reflection; ``"gain"``: :func:`gain_phases`."""
    if rule == "ones":
        return np.ones(scenario.dims["N"], np.complex128)
    return gain_phases(scenario)


def _check_phase_rules(phases: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    rules = (phases,) if isinstance(phases, str) else tuple(phases)
    if not rules or any(r not in _PHASE_RULES for r in rules):
        raise ValueError(f"phases must be a non-empty subset of {_PHASE_RULES}, got {phases!r}")
    return rules


@dataclass
class _Candidate:
    """A repaired design and its score: feasible designs first, then the sum rate (bit/s/Hz);
    among infeasible ones the lower ``tr CRB``."""

    W: NDArray[np.complex128]
    phi: NDArray[np.complex128]
    sum_rate: float
    crb_trace: float
    feasible: bool
    t: float
    extra: dict[str, Any]

    def key(self) -> tuple[bool, float]:
        return (self.feasible, self.sum_rate if self.feasible else -self.crb_trace)


def _score_batch(
    s: RydbergScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    radar: RadarOptimum,
    extras: list[dict[str, Any]],
) -> list[_Candidate]:
    """Repair a batch ``W`` ``[J, Nt, K]`` at ``phi`` and score it (physics sum rate (24))."""
    Wr, info = crb_repair(s, W, phi, radar=radar)
    rate = np.sum(np.log2(1.0 + evaluate(s, Wr, phi)["sinr"]), axis=-1)
    return [
        _Candidate(
            Wr[j],
            phi,
            float(rate[j]),
            float(info["crb_trace"][j]),
            bool(info["feasible"][j]),
            float(info["t"][j]),
            extras[j],
        )
        for j in range(W.shape[0])
    ]


def _heuristic_result(
    s: RydbergScenario, best: _Candidate, sw: Stopwatch, radar_gaps: list[float]
) -> SolverResult:
    m = metrics_dict(s, best.W, best.phi)
    feas = design_feasible(s, best.W, best.phi, m["crb_trace"])
    stop = (
        "closed_form" if feas else "infeasible: min tr CRB at the tried phases exceeds eps (repair at t = 1)"
    )
    return SolverResult(
        W=best.W, phi=best.phi, objective=m["sum_rate"],
        history={"sum_rate": [m["sum_rate"]], "crb_trace": [m["crb_trace"]]},
        converged=True, stop_reason=stop, iterations=0, wall_time_s=sw.elapsed(), feasible=feas, metrics=m,
        extra={**best.extra, "repair_t": best.t, "radar_gap_max": float(np.max(radar_gaps))},
    )  # fmt: skip


class BestUserMRTSolver(Solver):
    """Serve one user by MRT, CRB-repaired: ``best_user_mrt``.

    For each phase rule (``"ones"``: all-ones reflection; ``"gain"``: :func:`gain_phases`) and each
    user ``k``: ``w_k`` = the top right singular vector of ``H_eff,k(phi)`` ``[M, Nt]`` (maximises
    the energy-sum gain ``||H_k w||^2`` of (23)), full power, the other columns zero; then
    :func:`crb_repair`. Keeps the best feasible design by sum rate (24) (if none is feasible, the
    one with the lowest tr CRB, ``feasible=False``). Deterministic, ``rng`` and ``init`` unused.

    Args:
        phases: phase rules to try (default both).
    """

    name = "best_user_mrt"
    task: ClassVar[str] = "rydberg"
    heuristic: ClassVar[bool] = True

    def __init__(self, phases: tuple[str, ...] | list[str] | str = _PHASE_RULES) -> None:
        self.phases = _check_phase_rules(phases)

    def solve(
        self,
        scenario: RydbergScenario,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        sw = Stopwatch()
        s = scenario
        require_unbatched(s)
        K, Nt, P = s.dims["K"], s.dims["Nt"], float(s.P_max)
        cands: list[_Candidate] = []
        gaps: list[float] = []
        for rule in self.phases:
            phi = _phases(s, rule)
            radar = radar_optimum(s, phi)
            gaps.append(radar.gap)
            _, _, Vh = np.linalg.svd(effective_channels(s, phi))  # [K, Nt, Nt]
            W = np.zeros((K, Nt, K), np.complex128)
            W[np.arange(K), :, np.arange(K)] = np.sqrt(P) * np.conj(Vh[:, 0, :])
            cands += _score_batch(s, W, phi, radar, [{"phases": rule, "users": [k]} for k in range(K)])
        return _heuristic_result(s, max(cands, key=_Candidate.key), sw, gaps)


class UserSelectZFSolver(Solver):
    """Greedy user selection with regularised ZF on the effective channels: ``user_select_zf``.

    For each phase rule (``"ones"``, ``"gain"`` = :func:`gain_phases`): the dominant-eigenmode rows
    ``h_k^H = u_k^H H_eff,k`` (:func:`dominant_directions`); starting from the empty set, add the
    user whose addition gives the best CRB-repaired design, while that score rises (feasible first,
    then the sum rate (24)). A set ``S`` gets ``W_S = rzf_precoder(Hbar_S, P_max, reg)`` with the
    MMSE-style regulariser ``reg = |S| mean_k(M sigma_q,k^2) / P_max`` (the noise of SINR (23)),
    equal power per stream, zero columns for unserved users, then :func:`crb_repair`. The best
    design over the phase rules is kept. A single user is served along its top right singular
    vector, so the singletons are :class:`BestUserMRTSolver`'s designs. Deterministic.

    Args:
        phases: phase rules to try (default both); regularize: ``False`` for plain ZF (``reg = 0``).
    """

    name = "user_select_zf"
    task: ClassVar[str] = "rydberg"
    heuristic: ClassVar[bool] = True

    def __init__(
        self, phases: tuple[str, ...] | list[str] | str = _PHASE_RULES, regularize: bool = True
    ) -> None:
        self.phases = _check_phase_rules(phases)
        self.regularize = bool(regularize)

    def solve(
        self,
        scenario: RydbergScenario,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        sw = Stopwatch()
        s = scenario
        require_unbatched(s)
        d = s.dims
        K, Nt, M, P = d["K"], d["Nt"], d["M"], float(s.P_max)
        noise = float(np.mean(M * np.asarray(s.sigma_q2, dtype=np.float64)))
        best: _Candidate | None = None
        gaps: list[float] = []
        for rule in self.phases:
            phi = _phases(s, rule)
            radar = radar_optimum(s, phi)
            gaps.append(radar.gap)
            Hbar = dominant_directions(effective_channels(s, phi))  # [K, Nt]
            chosen: list[int] = []
            current: _Candidate | None = None
            while len(chosen) < min(K, Nt):
                sets = [[*chosen, k] for k in range(K) if k not in chosen]
                W = np.zeros((len(sets), Nt, K), np.complex128)
                for j, S in enumerate(sets):
                    reg = len(S) * noise / P if self.regularize else 0.0
                    W[j][:, S] = rzf_precoder(Hbar[S], P, reg)
                extras = [{"phases": rule, "users": sorted(S)} for S in sets]
                step = max(_score_batch(s, W, phi, radar, extras), key=_Candidate.key)
                if current is not None and not step.key() > current.key():
                    break
                current, chosen = step, step.extra["users"]
            if current is not None and (best is None or current.key() > best.key()):
                best = current
        assert best is not None
        return _heuristic_result(s, best, sw, gaps)


class _RandomPhaseSolver(Solver):
    precoder: staticmethod
    task: ClassVar[str] = "rydberg"
    heuristic: ClassVar[bool] = True

    def __init__(self, repair: bool = False) -> None:
        """``repair=True`` applies :func:`crb_repair` at the drawn phases (default ``False``: the
        paper's floor, which ignores the CRB)."""
        self.repair = bool(repair)

    def solve(
        self,
        scenario: RydbergScenario,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        """Random phases ``phi_n = exp(j 2 pi u_n)``, ``u_n ~ U[0, 1)`` from ``rng``, then the
        closed-form precoder at full power (CRB-repaired if ``repair``). ``init`` is ignored."""
        sw = Stopwatch()
        N = scenario.dims["N"]
        phi = np.exp(2j * np.pi * rng.random(N))
        W = type(self).precoder(effective_channels(scenario, phi), float(scenario.P_max))
        extra: dict[str, Any] = {}
        if self.repair:
            W, info = crb_repair(scenario, W, phi)
            extra["repair_t"] = info["t"]
        m = metrics_dict(scenario, W, phi)
        feas = design_feasible(scenario, W, phi, m["crb_trace"])
        return SolverResult(
            W=W, phi=phi, objective=m["sum_rate"],
            history={"sum_rate": [m["sum_rate"]], "crb_trace": [m["crb_trace"]]},
            converged=True, stop_reason="closed_form", iterations=0, wall_time_s=sw.elapsed(),
            feasible=feas, metrics=m, extra=extra,
        )  # fmt: skip


class RandomMRTSolver(_RandomPhaseSolver):
    """Random RIS phases + per-user MRT (:func:`mrt_precoder`); ignores the CRB unless ``repair``."""

    name = "random_mrt"
    precoder = staticmethod(mrt_precoder)


class RandomZFSolver(_RandomPhaseSolver):
    """Random RIS phases + dominant-eigenmode ZF (:func:`zf_precoder`); ignores the CRB unless ``repair``."""

    name = "random_zf"
    precoder = staticmethod(zf_precoder)
