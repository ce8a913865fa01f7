"""Closed-form subproblem solvers shared by the Rydberg baselines.

* :func:`solve_ball_qp` -- ``min_w w^H Q w - Re{c^H w}`` s.t. ``||w||^2 <= P`` (rar_isac spec 6.3,
  the W-update (85)): eigendecomposition of ``Q`` and a safeguarded Newton/bisection on the
  multiplier ``mu`` of the secular equation ``||w(mu)||^2 = P``.
* :func:`admm_unit_modulus_qp` -- ``min_phi phi^H D phi - 2 Re{g^H phi}`` s.t. ``|phi_n| = 1`` by
  ADMM (spec 6.4, eqs. (93)-(101)) with one Cholesky factorisation reused by every inner step.
* :func:`mm_unit_modulus_qp` -- the monotone MM fallback ``phi <- exp(j angle((lam I - D) phi + g))``.
* :func:`project_crb_set`, :class:`ClosedFormJfProjection` -- the (J_aux, f) projection SDP (64)
  of spec 6.2 without a solver: Euclidean projection onto ``{tr(A_s(f)^{-1}) <= L eps}`` by
  Newton's method on its KKT system (analytic gradient and Hessian of ``tr A_s^{-1}``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray

__all__ = [
    "ADMMInfo",
    "ClosedFormJfProjection",
    "JfProjectionInfo",
    "admm_unit_modulus_qp",
    "ball_qp_from_eig",
    "crb_trace_derivatives",
    "jf_pack",
    "jf_unpack",
    "mm_unit_modulus_qp",
    "project_crb_set",
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
    b2q = 0.25 * b2
    for _ in range(max_iter):  # the sums as dot products (fewer Python-level calls)
        inv = 1.0 / (lam + mu)
        inv2 = inv * inv
        n2 = b2q @ inv2  # ||y(mu)||^2 (numpy scalar: inf/0 semantics as before)
        psi = float(1.0 / np.sqrt(n2) - inv_sqrtP)
        if abs(psi) <= 1e-13 * inv_sqrtP:
            break
        if psi < 0:
            lo = mu
        else:
            hi = mu
        dpsi = n2**-1.5 * float(b2q @ (inv2 * inv))
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


# ---------------------------------------------------------------------- (J_aux, f) projection (64)
def jf_pack(t: NDArray[np.complex128]) -> NDArray[np.float64]:
    """The 8 constrained real coordinates of ``t [6]`` (spec 6.2):
    ``[Re t1, Re t2, Re t4, Re t3, Im t3, Re t5, Im t5, Re t6]``."""
    return np.array([t[0].real, t[1].real, t[3].real, t[2].real, t[2].imag, t[4].real, t[4].imag, t[5].real])


def jf_unpack(x: NDArray[np.float64], t: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Inverse of :func:`jf_pack`; the unconstrained imaginary parts of f1, f2, f4, f6 come from ``t``."""
    f = np.array(t, dtype=np.complex128, copy=True)
    f[0] = x[0] + 1j * t[0].imag
    f[1] = x[1] + 1j * t[1].imag
    f[3] = x[2] + 1j * t[3].imag
    f[2] = x[3] + 1j * x[4]
    f[4] = x[5] + 1j * x[6]
    f[5] = x[7] + 1j * t[5].imag
    return f


def crb_trace_derivatives(
    x: NDArray[np.float64], a2: float, *, hessian: bool = True
) -> tuple[float, NDArray[np.float64] | None, NDArray[np.float64] | None]:
    """``h(x) = tr(A_s(x)^{-1})`` with its gradient and Hessian in the 8 packed coordinates.

    ``A_s(x) = a2 [[x0, x1], [x1, x2]] - P^T P / x7`` with ``P = [[x3, x5], [x4, x6]]`` (columns
    ``f3``, ``f5`` as real 2-vectors), i.e. the Schur complement of spec 4.1 (``a2 = |alpha|^2``).
    With ``B = A_s^{-1}``, ``E = B^2`` and ``A_j = dA_s/dx_j``:
    ``dh/dx_j = -tr(E A_j)`` and ``d2h/dx_j dx_k = 2 tr(B A_j B A_k B) - tr(E d2A_s/dx_j dx_k)``;
    the first Hessian term is ``Jac^T K Jac`` in the ``vech`` coordinates of ``A_s``.
    ``h`` is convex on the (convex) domain ``{x7 > 0, A_s(x) > 0}`` (``tr inv`` is convex and
    matrix-decreasing, ``A_s`` is matrix-concave).

    Args:
        x: ``[8]`` packed coordinates (:func:`jf_pack`); a2: ``|alpha|^2``.
        hessian: also return the Hessian.

    Returns:
        ``(h, grad [8], hess [8, 8])``; ``(inf, None, None)`` outside the domain.
    """
    a1, a12, a4, pr, pi, qr, qi, f6 = (float(v) for v in x)
    if not f6 > 0.0:
        return np.inf, None, None
    iv = 1.0 / f6
    Q11, Q12, Q22 = pr * pr + pi * pi, pr * qr + pi * qi, qr * qr + qi * qi
    A11, A12, A22 = a2 * a1 - Q11 * iv, a2 * a12 - Q12 * iv, a2 * a4 - Q22 * iv
    det = A11 * A22 - A12 * A12
    if not (det > 0.0 and A11 > 0.0 and np.isfinite(det)):
        return np.inf, None, None
    B11, B12, B22 = A22 / det, -A12 / det, A11 / det
    E11, E12, E22 = B11 * B11 + B12 * B12, B12 * (B11 + B22), B12 * B12 + B22 * B22
    iv2 = iv * iv
    jac = np.array(
        [
            [a2, 0.0, 0.0, -2.0 * pr * iv, -2.0 * pi * iv, 0.0, 0.0, Q11 * iv2],
            [0.0, a2, 0.0, -qr * iv, -qi * iv, -pr * iv, -pi * iv, Q12 * iv2],
            [0.0, 0.0, a2, 0.0, 0.0, -2.0 * qr * iv, -2.0 * qi * iv, Q22 * iv2],
        ]
    )
    grad = -(np.array([E11, 2.0 * E12, E22]) @ jac)
    if not hessian:
        return B11 + B22, grad, None
    # K_uv = 2 tr(B E_u B E_v B) for E_1 = e11, E_2 = e12 + e21, E_3 = e22, in closed form
    p, q, r = B11, B12, B22
    Ms = ((p * p, p * q, q * q), (2.0 * p * q, p * r + q * q, 2.0 * q * r), (q * q, q * r, r * r))
    K = np.array(
        [[2.0 * (m11 * p + m12 * q), 2.0 * (q * (m11 + m22) + m12 * (p + r)), 2.0 * (m12 * q + m22 * r)]
         for m11, m12, m22 in Ms]
    )  # fmt: skip
    hess = jac.T @ (K @ jac)
    # - tr(E d2A/dx_j dx_k): the quadratic-over-linear term P^T P / x7
    d = 2.0 * iv
    hess[3, 3] += d * E11
    hess[4, 4] += d * E11
    hess[5, 5] += d * E22
    hess[6, 6] += d * E22
    hess[3, 5] += d * E12
    hess[5, 3] += d * E12
    hess[4, 6] += d * E12
    hess[6, 4] += d * E12
    cross = (
        -2.0
        * iv2
        * np.array([pr * E11 + qr * E12, pi * E11 + qi * E12, pr * E12 + qr * E22, pi * E12 + qi * E22])
    )
    hess[3:7, 7] += cross
    hess[7, 3:7] += cross
    hess[7, 7] += 2.0 * iv2 * iv * (E11 * Q11 + 2.0 * E12 * Q12 + E22 * Q22)
    return B11 + B22, grad, hess


@dataclass(frozen=True)
class JfProjectionInfo:
    """Diagnostics of :func:`project_crb_set`: multiplier ``mu`` (scaled units), outer
    (multiplier) and total inner Newton iterations, final ``h - bound`` (scaled) and KKT residual
    ``||2 (x - t) + mu grad h|| / max(1, ||t||)`` (scaled)."""

    mu: float
    outer: int
    newton: int
    constraint_gap: float
    kkt_residual: float


def _solve_psd(A: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``A^{-1} b`` for a symmetric positive (semi)definite ``A``; least squares if singular."""
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, b, rcond=None)[0]


def _domain_point(t: NDArray[np.float64], a2: float) -> NDArray[np.float64]:
    """A point of the domain ``{x7 > 0, A_s(x) > 0}`` close to ``t``: if needed, the diagonal of
    the linear block is raised until ``a2 S`` is positive definite, then ``x7`` is doubled from
    ``max(t7, tiny)`` until ``A_s = a2 S - P^T P / x7`` is positive definite (``A_s -> a2 S``)."""
    x = t.copy()
    nt = max(float(np.max(np.abs(t))), 1e-300)
    lmin = float(np.linalg.eigvalsh(np.array([[x[0], x[1]], [x[1], x[2]]]))[0])
    if lmin < 1e-6 * nt:
        shift = 1e-6 * nt - lmin + 1e-3 * nt
        x[0] += shift
        x[2] += shift
    x[7] = max(x[7], 1e-12 * nt)
    for _ in range(200):
        if np.isfinite(crb_trace_derivatives(x, a2, hessian=False)[0]):
            break
        x[7] *= 2.0
    return x


def _kkt_newton(
    t: NDArray[np.float64],
    bound: float,
    a2: float,
    x: NDArray[np.float64],
    mu: float,
    tol: float,
    max_iter: int = 40,
) -> tuple[NDArray[np.float64], float, int] | None:
    """Primal-dual Newton on the KKT system ``2 (x - t) + mu grad h(x) = 0``, ``h(x) = bound``
    from ``(x, mu)`` (``x`` in the domain, ``mu > 0``), damped so that ``x`` stays in the domain,
    ``mu > 0`` and the scaled residual decreases. Returns ``(x, mu, iterations)`` or ``None``."""
    nt = max(1.0, float(np.linalg.norm(t)))
    h, g, H = crb_trace_derivatives(x, a2)
    if g is None or not mu > 0:
        return None
    K = np.zeros((9, 9))
    rhs = np.empty(9)
    for it in range(1, max_iter + 1):
        r = 2.0 * (x - t) + mu * g
        c = h - bound
        nr = float(np.linalg.norm(r)) / nt
        res = nr + abs(c) / bound
        if abs(c) <= tol * bound and nr <= 1e-12:
            return x, mu, it
        K[:8, :8] = mu * H
        K[np.arange(8), np.arange(8)] += 2.0
        K[:8, 8] = g
        K[8, :8] = g
        K[8, 8] = 0.0
        rhs[:8], rhs[8] = -r, -c
        try:
            d = np.linalg.solve(K, rhs)
        except np.linalg.LinAlgError:
            return None
        step = 1.0
        for _ in range(40):
            mun = mu + step * d[8]
            if mun > 0:
                xn = x + step * d[:8]
                hn, gn, Hn = crb_trace_derivatives(xn, a2)
                if gn is not None:
                    rn = 2.0 * (xn - t) + mun * gn
                    if float(np.linalg.norm(rn)) / nt + abs(hn - bound) / bound <= (1.0 - 1e-4 * step) * res:
                        break
            step *= 0.5
        else:
            return None
        x, mu, h, g, H = xn, mun, hn, gn, Hn
    return None


def project_crb_set(
    t: NDArray[np.float64],
    bound: float,
    a2: float = 1.0,
    *,
    mu0: float | None = None,
    x0: NDArray[np.float64] | None = None,
    tol: float = 1e-10,
    max_outer: int = 100,
    max_newton: int = 100,
) -> tuple[NDArray[np.float64], JfProjectionInfo]:
    """Euclidean projection of ``t [8]`` onto ``C = {x : x7 > 0, A_s(x) > 0, tr(A_s(x)^{-1}) <= bound}``.

    This is the (J_aux, f) SDP (64) of spec 6.2 without a solver: at the optimum ``J = A_s(f)``
    (``tr J^{-1}`` is operator-decreasing and the 4x4 LMI is, by Schur, ``J <= A_s(f)`` with
    ``f6 > 0``), so (64) is ``min ||x - t||^2`` over the convex set ``C`` (``h = tr A_s^{-1}`` is
    convex, see :func:`crb_trace_derivatives`). If ``t`` is in ``C`` it is returned unchanged.
    Otherwise the constraint is active and the KKT system is ``x = t - (mu/2) grad h(x)``,
    ``h(x) = bound``, ``mu > 0``. It is first solved by a damped primal-dual Newton iteration
    (9 x 9 KKT matrix, from the warm start ``(x0, mu0)`` if given, else from ``t`` or the nearest
    domain point, :func:`_domain_point`); any point it converges to is the projection (KKT
    points of a convex problem are optimal). If it fails, the safeguarded scalar search runs:
    ``x(mu)`` (the minimiser of ``||x - t||^2 + mu h(x)``, strictly
    convex with ``h -> inf`` at the domain boundary) is found by damped Newton from the previous
    ``x`` (backtracking keeps it in the domain), and ``h(x(mu))`` is decreasing in ``mu``:
    a safeguarded Newton iteration on ``1/h(x(mu)) = 1/bound`` (``dh/dmu = -g^T H^{-1} g`` from
    the inner Hessian) inside a bracket, with geometric expansion / bisection when the Newton
    step leaves it.

    Work in rescaled units (the caller divides ``t`` by ``s = max|t_i|`` and multiplies
    ``bound`` by ``s``; the constraint is homogeneous of degree -1).

    Args:
        t: ``[8]`` packed target (:func:`jf_pack`); bound: ``L eps`` in the units of ``t``;
        a2: ``|alpha|^2``; mu0, x0: optional warm start (a previous solution in the same
        rescaled units; used by the primal-dual Newton phase when ``x0`` is in the domain).
        tol: relative accuracy of ``h(x) = bound`` and of the inner Newton steps.

    Returns:
        ``(x, info)``.
    """
    t = np.asarray(t, dtype=np.float64)
    h_t, g_t, _ = crb_trace_derivatives(t, a2, hessian=False)
    if h_t <= bound:
        return t.copy(), JfProjectionInfo(0.0, 0, 0, h_t - bound, 0.0)
    nt = max(1.0, float(np.linalg.norm(t)))
    eye8 = np.eye(8)
    x = t.copy() if np.isfinite(h_t) else _domain_point(t, a2)
    newton = 0

    def inner(mu: float, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], float, float]:
        """Damped Newton for ``min ||x - t||^2 + mu h(x)``; returns ``(x, h, dh/dmu)``."""
        nonlocal newton
        h, g, Hh = crb_trace_derivatives(x, a2)
        q = float((x - t) @ (x - t)) + mu * h
        for _ in range(max_newton):
            newton += 1
            Hq = 2.0 * eye8 + mu * Hh
            r = 2.0 * (x - t) + mu * g
            dx = -_solve_psd(Hq, r)
            dec = -float(r @ dx)  # Newton decrement^2 (>= 0)
            step, accepted = 1.0, False
            for _ in range(60):
                xn = x + step * dx
                hn, gn, Hn = crb_trace_derivatives(xn, a2)
                if np.isfinite(hn):
                    qn = float((xn - t) @ (xn - t)) + mu * hn
                    if qn <= q - 0.25 * step * dec or step * float(np.max(np.abs(dx))) <= 1e-15 * nt:
                        accepted = True
                        break
                step *= 0.5
            if not accepted:
                break
            x, h, g, Hh, q = xn, hn, gn, Hn, qn
            if dec <= (tol * nt) ** 2 or step * float(np.max(np.abs(dx))) <= 1e-15 * nt:
                break
        Hq = 2.0 * eye8 + mu * Hh
        dh = -float(g @ _solve_psd(Hq, g))
        return x, h, dh

    # first guess: linearisation at t (x(mu) ~ t - (mu/2) g): h(t) - (mu/2)||g||^2 = bound
    if g_t is not None:
        mu = 2.0 * (h_t - bound) / max(float(g_t @ g_t), 1e-300)
    else:
        h0, g0, _ = crb_trace_derivatives(x, a2, hessian=False)
        mu = 2.0 * max(h0 - bound, bound) / max(float(g0 @ g0), 1e-300)
    if x0 is not None and mu0 is not None and mu0 > 0:
        res = _kkt_newton(t, bound, a2, np.asarray(x0, dtype=np.float64), float(mu0), tol)
        if res is not None:
            x1, mu1, it = res
            h, g, _ = crb_trace_derivatives(x1, a2, hessian=False)
            kkt = float(np.linalg.norm(2.0 * (x1 - t) + mu1 * g)) / nt
            return x1, JfProjectionInfo(mu1, 0, it, h - bound, kkt)
    if mu > 0:
        res = _kkt_newton(t, bound, a2, x, mu, tol)
        if res is not None:
            x, mu, it = res
            h, g, _ = crb_trace_derivatives(x, a2, hessian=False)
            kkt = float(np.linalg.norm(2.0 * (x - t) + mu * g)) / nt
            return x, JfProjectionInfo(mu, 0, it, h - bound, kkt)
    lo, hi = 0.0, np.inf
    x_lo = x_hi = None
    outer = 0
    h = np.inf
    for outer in range(1, max_outer + 1):  # noqa: B007
        x_start = x_hi if (x_hi is not None) else (x_lo if x_lo is not None else x)
        x, h, dh = inner(mu, x_start)
        if abs(h - bound) <= tol * bound:
            break
        if h > bound:
            lo, x_lo = mu, x
        else:
            hi, x_hi = mu, x
        # Newton on r(mu) = 1/h(x(mu)) - 1/bound (r increasing, concave for large mu)
        dr = -dh / (h * h)
        cand = mu + (1.0 / bound - 1.0 / h) / dr if dr > 0 else np.nan
        if np.isfinite(cand) and lo < cand < hi:
            mu_new = cand
        elif np.isfinite(hi):
            mu_new = np.sqrt(lo * hi) if lo > 0 else 0.5 * hi
        else:
            mu_new = 4.0 * mu
        if (np.isfinite(hi) and hi - lo <= 1e-15 * hi) or abs(mu_new - mu) <= 1e-13 * mu:
            break
        mu = mu_new
    h, g, _ = crb_trace_derivatives(x, a2, hessian=False)
    kkt = float(np.linalg.norm(2.0 * (x - t) + mu * g)) / nt if g is not None else np.inf
    return x, JfProjectionInfo(mu, outer, newton, h - bound, kkt)


class ClosedFormJfProjection:
    """Solver-free (J_aux, f) projection (64) with the interface of :class:`isac_gym.baselines.sdp.JfProjection`.

    ``project(t, bound, alpha)`` returns ``t`` when it is feasible (fast path of spec 6.2) and
    otherwise :func:`project_crb_set` of the packed, rescaled ``t`` (``s = max|t_i|``), warm
    started from the previous call's solution (the penalty method projects a slowly moving ``t``);
    ``J_aux = A_s(f)`` at the optimum. ``status`` is ``"fast_path"``, ``"closed_form"`` or
    ``"failed: ..."`` (KKT residual or constraint gap above ``1e-7``; ``f = t`` then).
    """

    def __init__(self, *, warm_start: bool = True) -> None:
        self.warm_start = warm_start
        self.calls = 0
        self.newton_iterations = 0
        self._warm: tuple[NDArray[np.float64], float] | None = None  # (x, mu) in unscaled units

    def project(
        self,
        t: NDArray[np.complex128],
        bound: float,
        alpha: complex = 1.0,
        *,
        fast_path: bool = True,
    ) -> tuple[NDArray[np.complex128], str]:
        """Project ``t`` ``[6]`` onto ``{f : tr(A_s(f)^{-1}) <= bound}``; returns ``(f, status)``.

        ``fast_path`` is accepted for interface compatibility: a feasible ``t`` is its own
        projection either way.
        """
        del fast_path
        tp = jf_pack(t)
        s = float(np.max(np.abs(tp)))
        if not (s > 0 and np.isfinite(s)):
            return np.array(t, dtype=np.complex128), "failed: t is zero or not finite"
        a2 = float(abs(alpha) ** 2)
        ts, bs = tp / s, bound * s
        h_t = crb_trace_derivatives(ts, a2, hessian=False)[0]
        if h_t <= bs:
            return np.array(t, dtype=np.complex128), "fast_path"
        x0 = mu0 = None
        if self.warm_start and self._warm is not None:
            x0, mu0 = self._warm[0] / s, self._warm[1] / s**3  # ||x - t||^2 ~ s^2, h ~ 1/s
        self.calls += 1
        x, info = project_crb_set(ts, bs, a2, x0=x0, mu0=mu0)
        self.newton_iterations += info.newton
        if not (abs(info.constraint_gap) <= 1e-7 * bs and info.kkt_residual <= 1e-7):
            self._warm = None
            return np.array(t, dtype=np.complex128), (
                f"failed: constraint gap {info.constraint_gap:.3g}, KKT residual {info.kkt_residual:.3g}"
            )
        self._warm = (x * s, info.mu * s**3)
        return jf_unpack(s * x, t), "closed_form"
