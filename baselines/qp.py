"""Closed-form subproblem solvers shared by the Rydberg baselines.

* :func:`solve_ball_qp` -- ``min_w w^H Q w - Re{c^H w}`` s.t. ``||w||^2 <= P`` (rar_isac spec 6.3,
  the W-update (85)): eigendecomposition of ``Q`` and a safeguarded Newton/bisection on the
  multiplier ``mu`` of the secular equation ``||w(mu)||^2 = P``.
* :func:`admm_unit_modulus_qp` -- ``min_phi phi^H D phi - 2 Re{g^H phi}`` s.t. ``|phi_n| = 1`` by
  ADMM (spec 6.4, eqs. (93)-(101)) with one Cholesky factorisation reused by every inner step.
* :func:`mm_unit_modulus_qp` -- the monotone MM fallback ``phi <- exp(j angle((lam I - D) phi + g))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray

__all__ = [
    "ADMMInfo",
    "admm_unit_modulus_qp",
    "ball_qp_from_eig",
    "mm_unit_modulus_qp",
    "solve_ball_qp",
    "unit_modulus_qp_value",
]


def ball_qp_from_eig(
    lam: NDArray[np.float64], b: NDArray[np.complex128], P: float, *, max_iter: int = 100
) -> tuple[NDArray[np.complex128], float]:
    """Solve the ball-QP in the eigenbasis of ``Q``: ``y(mu) = b / (2 (lam + mu))``.

    KKT of ``min y^H diag(lam) y - Re{b^H y}`` s.t. ``||y||^2 <= P`` with ``lam`` real (``Q``
    Hermitian, possibly indefinite): ``mu = 0`` if ``lam > 0`` and ``||y(0)||^2 <= P``, otherwise
    the unique ``mu > max(0, -lam_min)`` with ``||y(mu)||^2 = sum_j |b_j|^2 / (4 (lam_j + mu)^2) = P``.
    The secular equation is solved by Newton's method on ``psi(mu) = 1/||y(mu)|| - 1/sqrt(P)``
    (concave and increasing, so Newton from the left is monotone) inside a bisection bracket.
    The "hard case" (``b`` orthogonal to the eigenspace of a negative ``lam_min``) is handled by
    returning the boundary point along that eigenvector.

    Args:
        lam: ``[n]`` eigenvalues of ``Q``; b: ``[n]`` coordinates ``U^H c``; P: radius^2 (> 0).

    Returns:
        ``(y, mu)`` with ``w = U y``.
    """
    b2 = np.abs(b) ** 2
    lmin = float(lam.min())
    scale = max(float(np.abs(lam).max()), 1e-300)
    if lmin > 1e-14 * scale:
        y0 = b / (2.0 * lam)
        if np.sum(np.abs(y0) ** 2) <= P:
            return y0, 0.0
    lo = max(0.0, -lmin)
    nb = float(np.sqrt(b2.sum()))
    hi = lo + nb / (2.0 * np.sqrt(P)) + 1e-300
    # ||y(lo)|| may be finite when lam_min < 0 and b has no component there (hard case)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm_lo2 = np.sum(b2 / (4.0 * (lam + lo) ** 2))
    if lmin < 0 and np.isfinite(norm_lo2) and norm_lo2 < P:
        y = np.where(np.isclose(lam + lo, 0.0), 0.0, b / (2.0 * (lam + lo)))
        j = int(np.argmin(lam))
        y[j] = np.sqrt(P - np.sum(np.abs(y) ** 2))
        return y, lo
    mu = lo + 1e-12 * (hi - lo) if lo > 0 else lo
    inv_sqrtP = 1.0 / np.sqrt(P)
    for _ in range(max_iter):
        d = lam + mu
        n2 = float(np.sum(b2 / (4.0 * d * d)))
        psi = 1.0 / np.sqrt(n2) - inv_sqrtP
        if abs(psi) <= 1e-13 * inv_sqrtP:
            break
        if psi < 0:
            lo = mu
        else:
            hi = mu
        dpsi = 0.25 * n2**-1.5 * float(np.sum(b2 / d**3))
        step = mu - psi / dpsi
        mu = step if lo < step < hi else 0.5 * (lo + hi)
    return b / (2.0 * (lam + mu)), float(mu)


def solve_ball_qp(
    Q: NDArray[np.complex128], c: NDArray[np.complex128], P: float
) -> tuple[NDArray[np.complex128], float]:
    """``argmin_w w^H Q w - Re{c^H w}`` s.t. ``||w||^2 <= P`` (spec 6.3), Hermitian ``Q`` ``[n, n]``.

    Returns:
        ``(w [n], mu)``; ``w = (Q + mu I)^{-1} c / 2``.
    """
    lam, U = np.linalg.eigh(0.5 * (Q + Q.conj().T))
    y, mu = ball_qp_from_eig(lam, U.conj().T @ c, P)
    return U @ y, mu


def unit_modulus_qp_value(
    D: NDArray[np.complex128], g: NDArray[np.complex128], phi: NDArray[np.complex128]
) -> float:
    """``phi^H D phi - 2 Re{g^H phi}`` (the phi-surrogate (89))."""
    return float(np.real(np.vdot(phi, D @ phi)) - 2.0 * np.real(np.vdot(g, phi)))


@dataclass(frozen=True)
class ADMMInfo:
    """Diagnostics of one ADMM run: inner iterations, final primal residual, converged flag."""

    iterations: int
    residual: float
    converged: bool


def admm_unit_modulus_qp(
    D: NDArray[np.complex128],
    g: NDArray[np.complex128],
    phi0: NDArray[np.complex128],
    *,
    rho: float | None = None,
    lam_max: float | None = None,
    tol: float = 1e-5,
    max_iter: int = 300,
) -> tuple[NDArray[np.complex128], ADMMInfo]:
    """ADMM for ``min phi^H D phi - 2 Re{g^H phi}`` s.t. ``|phi_n| = 1`` (spec 6.4, (93)-(101)).

    Splitting ``phi = z`` with ``z`` unit-modulus; ``rho = 2 lambda_max(D)`` by default so that
    ``2D + rho I`` has condition number <= 2; its Cholesky factor is computed once and turned
    into the (well-conditioned) inverse used by every inner iteration:
    ``phi <- (2D + rho I)^{-1} (2g - lambda + rho z)``, ``z <- exp(j angle(phi + lambda/rho))``,
    ``lambda <- lambda + rho (phi - z)``. Stops when ``||phi - z||/sqrt(N) <= tol`` and
    ``||z - z_prev||/sqrt(N) <= tol``.

    Args:
        D: ``[N, N]`` Hermitian PSD; g: ``[N]``; phi0: ``[N]`` unit-modulus start.
        rho: ADMM penalty; lam_max: ``lambda_max(D)`` if already known.

    Returns:
        ``(z, info)``: the unit-modulus iterate z (A15: never the infeasible phi).
    """
    N = D.shape[0]
    if rho is None:
        if lam_max is None:
            lam_max = float(sla.eigvalsh(D, subset_by_index=[N - 1, N - 1])[0])
        rho = 2.0 * max(lam_max, 1e-300)
    Mmat = 2.0 * D + rho * np.eye(N)
    cf = sla.cho_factor(Mmat, lower=False, check_finite=False)
    Minv = sla.cho_solve(cf, np.eye(N, dtype=np.complex128), check_finite=False)
    b0 = Minv @ (2.0 * g)  # constant part of the phi-step
    MinvT = Minv.T  # row-vector form for speed: x @ Minv.T == Minv @ x
    z = phi0.copy()
    lam = np.zeros(N, dtype=np.complex128)
    sN = np.sqrt(N)
    it, res, ok = 0, np.inf, False
    for it in range(1, max_iter + 1):  # noqa: B007
        phi = b0 + (rho * z - lam) @ MinvT
        v = phi + lam / rho
        z_new = v / np.abs(v)
        r = phi - z_new
        lam += rho * r
        res = float(np.linalg.norm(r)) / sN
        dz = float(np.linalg.norm(z_new - z)) / sN
        z = z_new
        if res <= tol and dz <= tol:
            ok = True
            break
    return z, ADMMInfo(it, res, ok)


def mm_unit_modulus_qp(
    D: NDArray[np.complex128],
    g: NDArray[np.complex128],
    phi0: NDArray[np.complex128],
    *,
    lam_max: float | None = None,
    max_iter: int = 50,
    tol: float = 1e-9,
) -> NDArray[np.complex128]:
    """Monotone MM for the unit-modulus QP (spec 6.4 fallback).

    ``phi^H D phi <= phi^H (lam I) phi + 2 Re{phi_t^H (D - lam I) phi} + const`` with
    ``lam = lambda_max(D)``; on ``|phi_n| = 1`` the minimiser of the surrogate is
    ``phi <- exp(j angle((lam I - D) phi_t + g))``. Every step does not increase the objective.
    """
    N = D.shape[0]
    if lam_max is None:
        lam_max = float(sla.eigvalsh(D, subset_by_index=[N - 1, N - 1])[0])
    phi = phi0.copy()
    for _ in range(max_iter):
        v = lam_max * phi - D @ phi + g
        new = np.exp(1j * np.angle(v))
        if np.linalg.norm(new - phi) <= tol * np.sqrt(N):
            phi = new
            break
        phi = new
    return phi
