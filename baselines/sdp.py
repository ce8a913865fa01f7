"""cvxpy models of the Rydberg baselines, each built once with ``cp.Parameter`` (DPP).

* :class:`JfProjection` -- the (J_aux, f) projection SDP (64) of rar_isac spec 6.2, with the
  no-solver fast path when ``f = t`` is already feasible (the default solver path uses the
  solver-free :class:`isac_gym.baselines.qp.ClosedFormJfProjection`; this model is the ``projection="cvxpy"``
  option, the all-cvxpy benchmark backend and the test reference).
* :class:`RadarCovarianceSDP` -- the radar-optimal transmit covariance at fixed phi used by the
  feasibility restoration (spec 6.7).
* :class:`BallQPModel`, :class:`PhiRelaxationModel` -- the W-QP (85) and the convex relaxation of
  the phi-surrogate (89) in cvxpy; used only by the ``subproblem_backend="cvxpy"`` variant of
  Algorithm 1 (benchmark ratio) and by the tests that check the closed forms.

All work in the scaled FIM units ``G_i = (2/sigma_r^2) F_i / L`` (spec 4.3), where the CRB
constraint reads ``tr(A_s(G)^{-1}) <= L eps``. cvxpy is imported lazily. Every solve goes through
:func:`isac_gym.baselines.base.cvxpy_solve`, so a solver fault (cvxpy ``SolverError``, Clarabel's
``PanicException``, ...) becomes a ``"failed: error: ..."`` status (the projection, the restoration)
or a cvxpy ``SolverError`` (the QP models, which have no status to return).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from isac_env.physics.gradients import trace_inv_schur

from . import require_cvxpy
from .base import cvxpy_solve
from .qp import jf_pack, jf_unpack

__all__ = ["BallQPModel", "JfProjection", "PhiRelaxationModel", "RadarCovarianceSDP", "jf_feasible"]

_SOLVER = "CLARABEL"


def _lmi(cp: Any, a2: Any, f: list[Any], J: Any) -> Any:
    """4x4 FIM LMI of (64): ``[[a2 Re[[f1,f2],[f2,f4]] - J, J_ta], [J_ta^T, f6 I]] >> 0``.

    ``f = [Re f1, Re f2, Re f4, Re f3, Im f3, Re f5, Im f5, f6]``; ``J_ta = [[Re f3, -Im f3],
    [Re f5, -Im f5]]`` (spec 4.1).
    """
    f1, f2, f4, f3r, f3i, f5r, f5i, f6 = f
    M = cp.bmat(
        [
            [a2 * f1 - J[0, 0], a2 * f2 - J[0, 1], f3r, -f3i],
            [a2 * f2 - J[1, 0], a2 * f4 - J[1, 1], f5r, -f5i],
            [f3r, f5r, f6, 0],
            [-f3i, -f5i, 0, f6],
        ]
    )
    return 0.5 * (M + M.T) >> 0


def _trace_inv_bound(cp: Any, J: Any, bound: Any) -> list[Any]:
    """``tr(J^{-1}) <= bound`` via ``[[Y, I], [I, J]] >> 0``, ``tr Y <= bound``."""
    Y = cp.Variable((2, 2), symmetric=True)
    S = cp.bmat([[Y, np.eye(2)], [np.eye(2), J]])
    return [0.5 * (S + S.T) >> 0, cp.trace(Y) <= bound]


_pack, _unpack = jf_pack, jf_unpack  # the 8 constrained real coordinates (spec 6.2)


def jf_feasible(t: NDArray[np.complex128], bound: float, alpha: complex = 1.0) -> bool:
    """Fast-path test of spec 6.2: ``t6 > 0``, ``A_s(t) > 0`` and ``tr(A_s(t)^{-1}) <= bound``."""
    if not t[5].real > 0:
        return False
    h, _ = trace_inv_schur(t, alpha)
    return bool(np.isfinite(h) and h <= bound)


class JfProjection:
    """The (J_aux, f) projection SDP (64): ``min_f sum_i |t_i - f_i|^2`` s.t. the FIM LMI and
    ``tr(J^{-1}) <= L eps`` (spec 6.2), built once; solved by Clarabel.

    Only the 8 real numbers ``Re f1, Re f2, Re f4, f3, f5, f6`` enter the constraint; the
    imaginary parts of ``f1, f2, f4, f6`` are copied from ``t``. The instance is rescaled by
    ``s = max |t_i|`` (the constraint is homogeneous: ``tr(A_s(f/s)^{-1}) <= s L eps``).
    """

    def __init__(self, solver: str = _SOLVER) -> None:
        cp = require_cvxpy()
        self._cp = cp
        self.solver = solver
        self.x = cp.Variable(8)
        J = cp.Variable((2, 2), symmetric=True)
        self.t = cp.Parameter(8)
        self.bound = cp.Parameter(nonneg=True)
        self.a2 = cp.Parameter(nonneg=True)
        cons = [_lmi(cp, self.a2, [self.x[i] for i in range(8)], J)]
        cons += _trace_inv_bound(cp, J, self.bound)
        self.problem = cp.Problem(cp.Minimize(cp.sum_squares(self.x - self.t)), cons)
        self.calls = 0

    def project(
        self,
        t: NDArray[np.complex128],
        bound: float,
        alpha: complex = 1.0,
        *,
        fast_path: bool = True,
    ) -> tuple[NDArray[np.complex128], str]:
        """Project ``t`` ``[6]`` onto ``{f : tr(A_s(f)^{-1}) <= bound}``.

        Returns:
            ``(f, status)`` with status ``"fast_path"``, the cvxpy status, or ``"failed: ..."``
            (then ``f = t``).
        """
        if fast_path and jf_feasible(t, bound, alpha):
            return np.array(t, dtype=np.complex128), "fast_path"
        tp = _pack(t)
        s = float(np.max(np.abs(tp)))
        self.t.value = tp / s
        self.bound.value = bound * s
        self.a2.value = float(abs(alpha) ** 2)
        self.calls += 1
        status = cvxpy_solve(self.problem, self.solver)
        if status.startswith("error") or self.x.value is None:
            return np.array(t, dtype=np.complex128), f"failed: {status}"
        return _unpack(s * np.asarray(self.x.value), t), status


class RadarCovarianceSDP:
    """``min tr CRB`` over the transmit covariance at fixed phi (spec 6.7), built once per Nt.

    ``min tr Y`` s.t. ``[[Y, I], [I, J]] >> 0``, ``LMI(G(R), J) >> 0`` with
    ``G_i = tr(hat A_i R)``, ``tr R <= 1``, ``R >> 0`` (Hermitian), in units where the power is
    normalised (``hat A_i`` are passed multiplied by ``P_max``).
    """

    def __init__(self, Nt: int, solver: str = _SOLVER) -> None:
        cp = require_cvxpy()
        self._cp = cp
        self.solver = solver
        self.Nt = Nt
        self.R = cp.Variable((Nt, Nt), hermitian=True)
        self.A = [cp.Parameter((Nt, Nt), complex=True) for _ in range(6)]
        G = [cp.trace(self.A[i] @ self.R) for i in range(6)]  # |alpha|^2 folded into A_1, A_2, A_4
        f = [cp.real(G[0]), cp.real(G[1]), cp.real(G[3]), cp.real(G[2]), cp.imag(G[2])]
        f += [cp.real(G[4]), cp.imag(G[4]), cp.real(G[5])]
        J = cp.Variable((2, 2), symmetric=True)
        Y = cp.Variable((2, 2), symmetric=True)
        S = cp.bmat([[Y, np.eye(2)], [np.eye(2), J]])
        cons = [_lmi(cp, 1.0, f, J), 0.5 * (S + S.T) >> 0, self.R >> 0]
        cons += [cp.real(cp.trace(self.R)) <= 1.0]
        self.problem = cp.Problem(cp.Minimize(cp.trace(Y)), cons)

    def solve(
        self, A_hat: NDArray[np.complex128], P_max: float, alpha: complex = 1.0
    ) -> tuple[NDArray[np.complex128] | None, str]:
        """Radar-optimal ``R_x`` ``[Nt, Nt]`` (watts) for the scaled matrices ``A_hat [6, Nt, Nt]``.

        The matrices are normalised by their largest spectral norm for conditioning.

        Returns:
            ``(R_x or None, status)``.
        """
        sc = float(np.max(np.linalg.norm(A_hat, ord=2, axis=(-2, -1)))) * P_max
        a2 = float(abs(alpha) ** 2)
        for i in range(6):
            self.A[i].value = A_hat[i] * P_max / sc * (a2 if i in (0, 1, 3) else 1.0)
        status = cvxpy_solve(self.problem, self.solver)
        if status.startswith("error"):
            return None, f"failed: {status}"
        if self.R.value is None:
            return None, status
        R = np.asarray(self.R.value) * P_max
        return 0.5 * (R + R.conj().T), status


class BallQPModel:
    """cvxpy form of the W-QP (85): ``min ||R w||^2 - Re{c^H w}`` s.t. ``||w||^2 <= P`` with
    ``Q = R^H R`` (``Q`` PSD; its square root is the DPP parameter)."""

    def __init__(self, n: int, solver: str = _SOLVER) -> None:
        cp = require_cvxpy()
        self._cp = cp
        self.solver = solver
        self.w = cp.Variable(n, complex=True)
        self.R = cp.Parameter((n, n), complex=True)
        self.c = cp.Parameter(n, complex=True)
        self.P = cp.Parameter(nonneg=True)
        obj = cp.sum_squares(self.R @ self.w) - cp.real(cp.conj(self.c) @ self.w)
        self.problem = cp.Problem(cp.Minimize(obj), [cp.sum_squares(self.w) <= self.P])

    def solve(self, Q: NDArray[np.complex128], c: NDArray[np.complex128], P: float) -> NDArray[np.complex128]:
        """``argmin`` of the ball-QP; ``Q`` must be PSD (negative eigenvalues are clipped)."""
        lam, U = np.linalg.eigh(0.5 * (Q + Q.conj().T))
        sc = max(float(lam.max()), 1e-300)
        self.R.value = (np.sqrt(np.clip(lam / sc, 0.0, None))[:, None] * U.conj().T).astype(np.complex128)
        # w = sqrt(P) v, ||v|| <= 1; objective / (P sc): ||R v||^2 - Re{(c / (sqrt(P) sc))^H v}
        self.c.value = c / (np.sqrt(P) * sc)
        self.P.value = 1.0
        status = cvxpy_solve(self.problem, self.solver)
        if status.startswith("error") or self.w.value is None:
            raise self._cp.error.SolverError(f"cvxpy ball-QP failed: {status}")
        return np.sqrt(P) * np.asarray(self.w.value)


class PhiRelaxationModel:
    """Convex relaxation of the phi-surrogate (89): ``min ||R phi||^2 - 2 Re{g^H phi}`` s.t.
    ``|phi_n| <= 1`` with ``D = R^H R``; the caller projects the result onto the unit circle."""

    def __init__(self, N: int, solver: str = _SOLVER) -> None:
        cp = require_cvxpy()
        self._cp = cp
        self.solver = solver
        self.phi = cp.Variable(N, complex=True)
        self.R = cp.Parameter((N, N), complex=True)
        self.g = cp.Parameter(N, complex=True)
        obj = cp.sum_squares(self.R @ self.phi) - 2.0 * cp.real(cp.conj(self.g) @ self.phi)
        self.problem = cp.Problem(cp.Minimize(obj), [cp.abs(self.phi) <= 1.0])

    def solve(self, D: NDArray[np.complex128], g: NDArray[np.complex128]) -> NDArray[np.complex128]:
        lam, U = np.linalg.eigh(0.5 * (D + D.conj().T))
        sc = max(float(lam.max()), 1e-300)
        self.R.value = (np.sqrt(np.clip(lam / sc, 0.0, None))[:, None] * U.conj().T).astype(np.complex128)
        self.g.value = g / sc
        status = cvxpy_solve(self.problem, self.solver)
        if status.startswith("error") or self.phi.value is None:
            raise self._cp.error.SolverError(f"cvxpy phi relaxation failed: {status}")
        return np.asarray(self.phi.value)
