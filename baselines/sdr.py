"""Semidefinite relaxations of the robust RIS-ISAC design (robust_isac spec sections 5 and 6).

* :class:`TransmitSDP` -- the transmit-beamforming SDR (32) at fixed RIS vector ``v``: minimise
  ``sum_k tr W_k`` subject to the rate-outage restriction (24)-(26) (or the configured variant
  L-a / L-b / L-c / BTI of spec 4.2, matching :func:`isac_env.physics.robust.rate_margin`), the
  CRB-failure restriction (29) and ``W_k >= 0``; rank one dropped.
* :func:`extract_precoder` -- rank-one extraction by Gaussian randomization with the common power
  scaling repair of spec 5 (step 3), checked by :func:`isac_env.physics.robust.certify`.
* :class:`RISPhaseSDP` -- the SDR (38) of the RIS subproblem (33) of Scheme 1 on the homogenised
  matrices (34)-(37), with the SCA bound on ``x_k`` (A8).

Each cvxpy problem is built once per problem size with ``cp.Parameter`` (DPP: re-solving only
updates parameter values) and solved by Clarabel, with SCS as fallback when Clarabel fails.

**Scaling.** Channels are noise-normalised (powers in W, noise 1). The transmit SDP further works
in ``X_k = W_k / p0`` with ``p0 = max_k gamma_k / ||hat h_k||^2`` (the interference-free MRT power),
i.e. on the channels ``sqrt(p0) hat h_k``, so that every parameter and variable is O(1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from isac_env.config import ROBUST_RESTRICTIONS
from isac_env.physics import robust as rb
from isac_env.physics import robust_design as rd

from . import require_cvxpy
from .base import cvxpy_solve

__all__ = [
    "RISPhaseSDP",
    "SDPSolution",
    "TransmitSDP",
    "extract_precoder",
    "gaussian_candidates",
    "solve_with_fallback",
]

_OK = ("optimal", "optimal_inaccurate")
_INFEASIBLE = ("infeasible", "infeasible_inaccurate")
# Clarabel's default 1e-8 tolerances often end in "AlmostSolved" on these SDPs; every design is
# re-checked by the physics certificate after extraction, so 1e-7 is ample.
SOLVER_OPTIONS: dict[str, dict[str, Any]] = {
    "CLARABEL": {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7},
    "SCS": {"eps_abs": 1e-6, "eps_rel": 1e-6, "max_iters": 20000},
}


@dataclass
class SDPSolution:
    """Outcome of one SDP solve.

    Attributes:
        status: ``"optimal"``, ``"optimal_inaccurate"``, ``"infeasible"`` or ``"error: ..."``.
        value: optimal value in the problem's natural units (W for (32), the scaled sum of
            margins for (38)); ``nan`` unless solved.
        X: the relaxed matrix variable(s) (``[K, Nt, Nt]`` in W for (32); ``[N+1, N+1]`` for (38)).
        solver: the solver that produced ``status``.
        solve_time_s: wall time of the solve call(s), s.
        extra: additional values (e.g. ``x`` of the SCA).
    """

    status: str
    value: float = float("nan")
    X: NDArray[np.complex128] | None = None
    solver: str = ""
    solve_time_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in _OK

    @property
    def infeasible(self) -> bool:
        return self.status in _INFEASIBLE


def solve_with_fallback(problem: Any, solvers: tuple[str, ...], **opts: Any) -> tuple[str, str, float]:
    """Solve a cvxpy problem with the first solver that returns a usable status.

    An infeasibility certificate from the first solver is trusted; a solver fault (cvxpy
    ``SolverError``, Clarabel's ``PanicException``, ``ValueError``, ``ArithmeticError``, ...; caught
    by :func:`isac_gym.baselines.base.cvxpy_solve`) or an unusable status (``unbounded``, ``user_limit``,
    ``None`` ...) passes to the next solver.

    Returns:
        ``(status, solver_name, wall_time_s)``; status ``"error: ..."`` if every solver failed.
    """
    require_cvxpy()
    t0 = time.perf_counter()
    last = "error: no solver"
    for name in solvers:
        status = cvxpy_solve(problem, name, **{**SOLVER_OPTIONS.get(name, {}), **opts.get(name, {})})
        if status.startswith("error"):
            last = status[:200]
            continue
        if status in _OK or status == "infeasible":
            return status, name, time.perf_counter() - t0
        last = status
    return (
        (last if last.startswith("error") or last in _INFEASIBLE else f"error: {last}"),
        name,
        (time.perf_counter() - t0),
    )


# --------------------------------------------------------------------------- transmit SDP (32)
class TransmitSDP:
    """SDR (32) of the transmit beamforming problem at fixed ``v``, built once per size.

    Per user ``k`` (scaled units, ``Phi_k = X_k / gamma_k - sum_{j != k} X_j``, ``q_k = tr(H_k Phi_k)``
    with ``H_k = p0 hat h_k hat h_k^H``, ``s2 = p0 sigma_e,k^2``):

    * L-a (``"la_full"``, ``"la_nt"``): ``q_k - 1 - eta s2 y_k - sqrt(2) nu x_k >= 0`` (24),
      ``||Phi_k g_k|| <= x_k`` with ``g_k = p0 sigma_e,k hat h_k`` (25), ``y_k I + Phi_k >= 0`` (26);
    * L-b: ``q_k - 1 - tau s2 tr(sum_{j != k} X_j) - sqrt(2) nu x_k >= 0``, (25) (SOC only);
    * L-c: L-a plus ``+ s2 tr Phi_k - sqrt(2 eta) s2 ||Phi_k||_F``;
    * BTI: ``s2 tr Phi_k + q_k - 1 - sqrt(2 delta) s2 ||[vec Phi_k; Phi_k g'_k]|| - delta s2 y_k >= 0``
      with ``g'_k = sqrt(2) hat h_k / sigma_e,k``, (26).

    **Subspace reduction** (``reduce``, default on for L-a and L-b, where it is exact): every term of
    the problem is unchanged or improved when ``W_k`` is compressed to ``P W_k P`` with ``P`` the
    projector onto ``U = span{hat h_k, a_t, da_t}`` (``dim <= K + 2T``): ``hat h^H Phi hat h`` and
    ``Xi_t`` (range of ``M_t`` in ``span{a_t, da_t}``) are unchanged, ``tr W_k``, ``||Phi_k hat h_k||``,
    ``lambda^-(Phi_k)`` and ``tr(sum_{j!=k} W_j)`` cannot grow. So (32) is solved over
    ``W_k = Q Y_k Q^H`` with ``Q`` an orthonormal basis of ``U`` and ``Y_k`` of size ``r =
    min(Nt, K + 2T)``: the same optimum with PSD blocks of size ``r`` instead of ``Nt``. L-c and BTI
    contain ``tr Phi_k``, which the compression can raise, and are solved in full dimension.

    Per target: ``tr(Ms_t sum_k X_k) >= 1`` with ``Ms_t = p0 kappa_t M_t / tau_t`` (29). The
    constants ``eta``, ``nu`` come from :func:`isac_env.physics.robust.restriction_constants`,
    ``kappa_t`` from :func:`isac_env.physics.robust_design.crb_restriction_coefficient`.

    The SINR thresholds ``gamma`` are compiled into the problem (a parameter ``1/gamma`` times
    ``X_k`` multiplied by the channel parameter would not be DPP); they are part of the cache key.

    Args:
        Nt, K, T: problem size.
        gamma: SINR thresholds ``[K]`` (linear).
        variant: rate-outage restriction (``ROBUST_RESTRICTIONS``), ``"la_full"`` by default.
        solvers: solver names tried in order.
        reduce: solve in the subspace ``U`` (default: for the variants where it is exact).
    """

    def __init__(
        self,
        Nt: int,
        K: int,
        T: int,
        gamma: tuple[float, ...],
        variant: str = "la_full",
        solvers: tuple[str, ...] = ("CLARABEL", "SCS"),
        reduce: bool | None = None,
    ) -> None:
        if len(gamma) != K:
            raise ValueError(f"gamma must have K={K} entries, got {len(gamma)}")
        if variant not in ROBUST_RESTRICTIONS:
            raise ValueError(f"variant must be one of {ROBUST_RESTRICTIONS}, got {variant!r}")
        cp = require_cvxpy()
        self.Nt, self.K, self.T, self.variant, self.solvers = Nt, K, T, variant, tuple(solvers)
        self.gamma = tuple(float(g) for g in gamma)
        exact = variant in ("la_full", "la_nt", "lb")
        self.reduce = exact if reduce is None else bool(reduce)
        if self.reduce and not exact:
            raise ValueError(f"the subspace reduction is exact only for la_full, la_nt, lb, not {variant!r}")
        self.r = min(Nt, K + 2 * T) if self.reduce else Nt
        n = self.r
        X = [cp.Variable((n, n), hermitian=True, name=f"X{k}") for k in range(K)]
        x = cp.Variable(K, nonneg=True, name="x")
        y = cp.Variable(K, nonneg=True, name="y")
        s = cp.Variable(K, nonneg=True, name="s")
        self.H = [cp.Parameter((n, n), hermitian=True, name=f"H{k}") for k in range(K)]
        self.g = [cp.Parameter(n, complex=True, name=f"g{k}") for k in range(K)]
        self.g2 = [cp.Parameter(n, complex=True, name=f"gb{k}") for k in range(K)]
        self.Ms = [cp.Parameter((n, n), hermitian=True, name=f"M{t}") for t in range(T)]
        self.c_eta = cp.Parameter(K, nonneg=True, name="c_eta")  # eta * s2_k
        self.c_s2 = cp.Parameter(K, nonneg=True, name="c_s2")  # s2_k
        self.c_fro = cp.Parameter(K, nonneg=True, name="c_fro")  # sqrt(2 eta) s2_k
        self.c_nu = cp.Parameter(nonneg=True, name="c_nu")  # sqrt(2) nu
        cons: list[Any] = [Xk >> 0 for Xk in X]
        total = sum(X)
        for k in range(K):
            Phi = X[k] / self.gamma[k] - sum(X[j] for j in range(K) if j != k)
            q = cp.real(cp.trace(self.H[k] @ Phi))
            if variant in ("la_full", "la_nt", "lc"):
                margin = q - 1.0 - self.c_eta[k] * y[k] - self.c_nu * x[k]
                cons += [cp.norm(Phi @ self.g[k], 2) <= x[k], y[k] * np.eye(n) + Phi >> 0]
                if variant == "lc":
                    margin = margin + self.c_s2[k] * cp.real(cp.trace(Phi)) - self.c_fro[k] * s[k]
                    cons.append(cp.norm(Phi, "fro") <= s[k])
            elif variant == "lb":
                interf = sum(cp.real(cp.trace(X[j])) for j in range(K) if j != k)
                margin = q - 1.0 - self.c_eta[k] * interf - self.c_nu * x[k]
                cons.append(cp.norm(Phi @ self.g[k], 2) <= x[k])
            else:  # bti
                margin = self.c_s2[k] * cp.real(cp.trace(Phi)) + q - 1.0 - self.c_fro[k] * s[k]
                margin = margin - self.c_eta[k] * y[k]
                stacked = cp.hstack([cp.vec(Phi, order="F"), Phi @ self.g2[k]])
                cons += [cp.norm(stacked, 2) <= s[k], y[k] * np.eye(n) + Phi >> 0]
            cons.append(margin >= 0)
        for t in range(T):
            cons.append(cp.real(cp.trace(self.Ms[t] @ total)) >= 1.0)
        self._X = X
        self._obj = cp.real(sum(cp.trace(Xk) for Xk in X))
        self.problem = cp.Problem(cp.Minimize(self._obj), cons)

    def set_parameters(self, scenario: rb.RobustScenario, v: NDArray[np.complex128]) -> float | None:
        """Load the parameters of ``(scenario, v)``; returns ``p0`` or ``None`` if (29) is infeasible.

        ``None`` means some ``kappa_t <= 0``: the CRB restriction cannot hold for any ``W``.
        """
        s = scenario
        Nt, N = self.Nt, s.G_hat.shape[-2]
        h = rb.effective_channels(s, v)  # [K, Nt]
        se2 = rb.effective_error_variance(s, v)  # [K]
        gamma = np.asarray(s.gamma, dtype=np.float64)
        sig2 = np.asarray(s.sigma2, dtype=np.float64)
        rho, split = float(np.ravel(s.rho_c)[0]), float(np.ravel(s.rho_split)[0])
        k = rb.restriction_constants(self.variant, rho, Nt + N * Nt, Nt, split)
        kappa = rd.crb_restriction_coefficient(s.alpha_hat, s.sigma_alpha2, s.rho_s)
        if np.any(kappa <= 0):
            return None
        M = rd.sensing_gain_matrices(s.a, s.da)
        if self.reduce:
            Q = _subspace_basis(np.concatenate([h, s.a, s.da], axis=0), self.r)  # [Nt, r]
            self._Q = Q
            hq = h @ np.conj(Q)  # Q^H h_k, [K, r]
            M = np.conj(Q.T) @ M @ Q
        else:
            self._Q = None
            hq = h
        hn2 = np.sum(np.abs(h) ** 2, axis=-1)
        p0 = float(np.max(gamma * sig2 / np.maximum(hn2, np.finfo(float).tiny)))
        # the affine constant of each rate constraint is 1 after dividing by sigma_k^2
        w = p0 / sig2
        for i in range(self.K):
            self.H[i].value = _herm(w[i] * np.outer(hq[i], np.conj(hq[i])))
            self.g[i].value = w[i] * np.sqrt(se2[i]) * hq[i]
            self.g2[i].value = np.sqrt(2.0) * hq[i] / np.sqrt(max(se2[i], np.finfo(float).tiny))
        if not np.allclose(gamma, self.gamma, rtol=1e-12, atol=0.0):
            raise ValueError(f"scenario gamma {gamma} differs from the problem's {self.gamma}")
        s2 = w * se2
        self.c_s2.value = s2
        self.c_eta.value = k["eta"] * s2
        self.c_fro.value = np.sqrt(2.0 * k["eta"]) * s2
        self.c_nu.value = float(np.sqrt(2.0) * k["nu"])
        for t in range(self.T):
            self.Ms[t].value = _herm((p0 * kappa[t] / float(np.ravel(s.tau)[t])) * M[t])
        return p0

    def solve(self, scenario: rb.RobustScenario, v: NDArray[np.complex128]) -> SDPSolution:
        """Solve (32) at ``v``; ``X`` holds the relaxed ``W_k`` ``[K, Nt, Nt]`` in W."""
        try:
            p0 = self.set_parameters(scenario, v)
        except ValueError as exc:  # e.g. non-finite channels; reported, never raised into a sweep
            return SDPSolution(status=f"error: parameters: {exc}"[:200])
        if p0 is None:
            return SDPSolution(status="infeasible", extra={"reason": "CRB restriction kappa_t <= 0"})
        status, name, dt = solve_with_fallback(self.problem, self.solvers)
        if status not in _OK:
            return SDPSolution(status=status, solver=name, solve_time_s=dt)
        Xv = np.stack([np.asarray(Xk.value) for Xk in self._X]) * p0
        if self._Q is not None:
            Xv = self._Q @ Xv @ np.conj(self._Q.T)
        Xv = 0.5 * (Xv + np.conj(np.swapaxes(Xv, -1, -2)))
        return SDPSolution(
            status=status, value=float(self._obj.value) * p0, X=Xv, solver=name, solve_time_s=dt
        )


def _herm(A: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Exactly Hermitian copy ``(A + A^H) / 2`` (cvxpy checks Hermitian parameter values)."""
    return 0.5 * (A + np.conj(A.T))


def _subspace_basis(vectors: NDArray[np.complex128], r: int) -> NDArray[np.complex128]:
    """Orthonormal ``[Nt, r]`` basis whose span contains the rows of ``vectors`` ``[m, Nt]``.

    Computed by an SVD; when the rows span fewer than ``r`` dimensions the basis is completed by
    further left singular vectors (any completion keeps the reduction exact).
    """
    U, _, _ = np.linalg.svd(vectors.T, full_matrices=True)
    return U[:, :r]


def gaussian_candidates(
    Wk: NDArray[np.complex128], rng: np.random.Generator, num: int
) -> NDArray[np.complex128]:
    """Rank-one candidates from relaxed ``W_k`` ``[K, Nt, Nt]`` (spec 5, steps 1-2).

    Candidate 0 is the principal-eigenvector solution ``w_k = sqrt(lambda_1) u_1``; candidates
    ``1..num`` are ``w_k = U_k Lambda_k^{1/2} r``, ``r ~ CN(0, I)`` (so ``E[w w^H] = W_k``).

    Returns:
        ``[num + 1, Nt, K]`` complex128 precoders.
    """
    lam, U = np.linalg.eigh(Wk)  # ascending
    lam = np.maximum(lam, 0.0)
    K, Nt = Wk.shape[0], Wk.shape[-1]
    first = np.sqrt(lam[:, -1])[:, None] * U[:, :, -1]  # [K, Nt]
    r = (rng.standard_normal((num, K, Nt)) + 1j * rng.standard_normal((num, K, Nt))) / np.sqrt(2.0)
    w = np.einsum("kij,qkj->qki", U * np.sqrt(lam)[:, None, :], r)  # [num, K, Nt]
    cands = np.concatenate([first[None], w], axis=0)
    return np.swapaxes(cands, -1, -2)


def extract_precoder(
    scenario: rb.RobustScenario,
    v: NDArray[np.complex128],
    Wk: NDArray[np.complex128],
    rng: np.random.Generator,
    num: int = 200,
    variant: str | None = None,
) -> tuple[NDArray[np.complex128] | None, dict[str, Any]]:
    """Gaussian randomization + common power scaling repair (spec 5, steps 1-4).

    Each candidate ``W`` is rescaled to ``sqrt(beta) W`` with the least ``beta`` that makes every
    restriction hold: every margin is ``beta M_i - b_i`` (rate: ``b = sigma_k^2``, CRB: ``b = tau_t``)
    with ``M_i = margin_i(W) + b_i`` from :func:`isac_env.physics.robust.certify`, so
    ``beta* = max_i b_i / M_i``, valid only if every ``M_i > 0``. The feasible candidate of least
    power is returned (certified by the physics check, else ``None``).

    Returns:
        ``(W [Nt, K] or None, info)`` with ``info["rank_ratio"]`` (largest over second eigenvalue
        share) and ``info["num_valid"]``.
    """
    s = scenario
    cands = gaussian_candidates(Wk, rng, num)
    cert = rb.certify(s, cands, v, variant)
    Mr = cert.rate_margin + np.asarray(s.sigma2)  # [Q, K]
    Mc = cert.crb_margin + np.asarray(s.tau)  # [Q, T]
    valid = np.all(Mr > 0, axis=-1) & np.all(Mc > 0, axis=-1)
    lam = np.linalg.eigvalsh(Wk)
    info: dict[str, Any] = {
        "rank_ratio": float(np.max(lam[:, -2] / np.maximum(lam[:, -1], 1e-300))) if Wk.shape[-1] > 1 else 0.0,
        "num_valid": int(np.sum(valid)),
    }
    if not np.any(valid):
        return None, info
    with np.errstate(divide="ignore"):
        beta = np.maximum(np.max(np.asarray(s.sigma2) / Mr, axis=-1), np.max(np.asarray(s.tau) / Mc, axis=-1))
    beta = np.where(valid, beta * (1.0 + 1e-9), np.inf)
    power = beta * np.sum(np.abs(cands) ** 2, axis=(-2, -1))
    order = np.argsort(power)
    for q in order[: min(5, int(np.sum(valid)))]:  # guard against rounding at the boundary
        W = np.sqrt(beta[q]) * cands[q]
        if bool(rb.certify(s, W, v, variant).certified):
            info["candidate"] = int(q)
            return W, info
    return None, info


# --------------------------------------------------------------------------- Scheme 1 SDP (38)
class RISPhaseSDP:
    """SDR (38) of the Scheme-1 RIS subproblem (33), built once per ``(N, K, bti)``.

    With ``bar V >= 0``, ``diag(bar V) = 1`` (size ``N + 1``), per user (all scaled by ``1/s``):

    * L-a / L-b / L-c: ``tr(R_k bar V) - c_k - sqrt(2) nu xb_k xi_k >= delta_k``;
    * BTI: ``tr(R_k bar V) - c_k - sqrt(2 delta) r_k >= delta_k``, ``||[f_k, sqrt(2) xb_k xi_k]|| <= r_k``;
    * SCA of ``x_k^2 >= bar v^H S_k bar v`` around ``xb_k`` (A8, spec 6): ``tr((S_k / xb_k^2) bar V)
      <= 2 xi_k - 1`` with ``x_k = xb_k xi_k`` (safe: ``2 xb x - xb^2 <= x^2``);
    * ``delta_k >= 0``; maximise ``sum_k delta_k``.

    ``c_k`` collects the ``v``-independent terms of the restriction (``sigma_k^2 + eta bar y_k`` for
    L-a, (33b)), ``f_k = ||A_k||_F`` for BTI.
    """

    def __init__(self, N: int, K: int, bti: bool = False, solvers: tuple[str, ...] = ("CLARABEL", "SCS")):
        cp = require_cvxpy()
        self.N, self.K, self.bti, self.solvers = N, K, bti, tuple(solvers)
        n = N + 1
        V = cp.Variable((n, n), hermitian=True, name="V")
        delta = cp.Variable(K, nonneg=True, name="delta")
        xi = cp.Variable(K, nonneg=True, name="xi")
        self.R = [cp.Parameter((n, n), hermitian=True, name=f"R{k}") for k in range(K)]
        self.S = [cp.Parameter((n, n), hermitian=True, name=f"S{k}") for k in range(K)]
        self.c = cp.Parameter(K, name="c")
        self.c_lin = cp.Parameter(K, nonneg=True, name="c_lin")  # sqrt(2) nu xb_k / s (or sqrt(2) xb_k / s)
        self.c_bti = cp.Parameter(nonneg=True, name="c_bti")  # sqrt(2 delta)
        self.f = cp.Parameter(K, nonneg=True, name="f")  # ||A_k||_F / s
        cons: list[Any] = [V >> 0, cp.real(cp.diag(V)) == 1.0]
        for k in range(K):
            q = cp.real(cp.trace(self.R[k] @ V))
            if bti:
                r = cp.Variable(name=f"r{k}")
                cons.append(cp.norm(cp.hstack([self.f[k], self.c_lin[k] * xi[k]]), 2) <= r)
                cons.append(q - self.c[k] - self.c_bti * r >= delta[k])
            else:
                cons.append(q - self.c[k] - self.c_lin[k] * xi[k] >= delta[k])
            cons.append(cp.real(cp.trace(self.S[k] @ V)) <= 2.0 * xi[k] - 1.0)
        self._V = V
        self._delta = delta
        self.problem = cp.Problem(cp.Maximize(cp.sum(delta)), cons)

    def solve(
        self,
        R: NDArray[np.complex128],
        S: NDArray[np.complex128],
        c: NDArray[np.float64],
        lin: NDArray[np.float64],
        xbar: NDArray[np.float64],
        c_bti: float = 0.0,
        frob: NDArray[np.float64] | None = None,
    ) -> SDPSolution:
        """Solve (38).

        Args:
            R, S: ``[K, N+1, N+1]`` homogenised matrices (34)-(37) (W units).
            c: ``[K]`` ``v``-independent constants of the restriction.
            lin: ``[K]`` coefficient of ``x_k`` (``sqrt(2) nu`` for L-a/b/c, ``sqrt(2)`` for BTI).
            xbar: ``[K]`` SCA point ``||C_k^{1/2} Phi_k hat h_k(v_prev)|| > 0``.
            c_bti, frob: BTI constant ``sqrt(2 delta)`` and ``||A_k||_F`` ``[K]``.

        Returns:
            :class:`SDPSolution` with ``X = bar V`` ``[N+1, N+1]``, ``value`` = sum of margins (W).
        """
        scale = float(max(np.max(np.abs(c)), 1e-300))
        xb = np.maximum(np.asarray(xbar, dtype=np.float64), 1e-300)
        for k in range(self.K):
            self.R[k].value = _herm(R[k] / scale)
            self.S[k].value = _herm(S[k] / xb[k] ** 2)
        self.c.value = np.asarray(c, dtype=np.float64) / scale
        self.c_lin.value = np.asarray(lin, dtype=np.float64) * xb / scale
        self.c_bti.value = float(c_bti)
        self.f.value = (np.zeros(self.K) if frob is None else np.asarray(frob, dtype=np.float64)) / scale
        status, name, dt = solve_with_fallback(self.problem, self.solvers)
        if status not in _OK:
            return SDPSolution(status=status, solver=name, solve_time_s=dt)
        V = np.asarray(self._V.value)
        V = 0.5 * (V + np.conj(V.T))
        return SDPSolution(
            status=status,
            value=float(np.sum(self._delta.value)) * scale,
            X=V,
            solver=name,
            solve_time_s=dt,
        )
