"""RIS Scheme 2 of the robust RIS-ISAC paper: square penalty + GEMM (robust_isac spec section 7).

Algorithm 1 (spec 7.6): with ``W`` fixed, maximise the square-penalty objective
``F_lambda(v) = f(v) + lambda ||v||^2`` (40) over the product of polygons ``P^N = conv(V)^N`` by an
inexact MM whose surrogate (41)-(42) is maximised by ONE accelerated projected-gradient step
(43)-(46) per MM iteration; the step size follows the ascent condition (48) by backtracking, the
penalty grows geometrically until the iterate sits on the vertices (the b-bit phases), which are
finally mapped by (39) and accepted only if the safe approximation still holds.

The objective and its gradient come from :mod:`isac_env.physics.robust_design`, the projection
from :func:`isac_env.physics.ris.project_polygon`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from isac_env.physics import robust_design as rd
from isac_env.physics.ris import project_polygon, quantize_phases

__all__ = ["GEMMOptions", "GEMMResult", "gemm"]


@dataclass(frozen=True)
class GEMMOptions:
    """Parameters of Algorithm 1 (spec 7.6; [A] where the paper gives none).

    Attributes:
        lambda0: initial penalty, in units of ``L0 = 1 / mu_0`` (spec 7.5); small, so that the
            first iterates can leave the start vertex before the penalty pushes them back to the grid.
        growth: penalty growth factor ``kappa_lambda`` in [1.1, 2].
        lambda_max: penalty cap, in units of ``L0`` (``2 lambda >= L_f`` makes ``F_lambda`` convex,
            so its maxima over ``P^N`` lie at vertices).
        tol: ``epsilon_G``: stop when ``||v^{k+1} - v^k|| <= tol sqrt(N)`` and ``min |v_n| >= 1 - 1e-6``.
        max_iter: ``I_G``.
        max_backtrack: halvings of ``mu`` per iteration before the step is taken anyway.
    """

    lambda0: float = 1e-3
    growth: float = 1.5
    lambda_max: float = 10.0
    tol: float = 1e-5
    max_iter: int = 200
    max_backtrack: int = 40

    def __post_init__(self) -> None:
        if not 1.0 <= self.growth <= 10.0:
            raise ValueError(f"growth must be in [1, 10], got {self.growth}")
        if self.lambda0 < 0 or self.lambda_max < self.lambda0:
            raise ValueError("need 0 <= lambda0 <= lambda_max")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")


@dataclass
class GEMMResult:
    """Outcome of :func:`gemm`.

    Attributes:
        v: the mapped (39) point on the b-bit grid ``[N]`` (not yet checked for feasibility).
        iterations: MM iterations run.
        converged: the stopping rule fired (else the iteration cap).
        objective: history of ``f(v^k)`` (without penalty), one entry per iterate incl. ``v^0``.
        min_modulus: ``min_n |v_n|`` of the last iterate before the mapping.
    """

    v: NDArray[np.complex128]
    iterations: int
    converged: bool
    objective: list[float] = field(default_factory=list)
    min_modulus: float = 1.0


def gemm(
    v0: NDArray[np.complex128],
    h_d_hat: NDArray[np.complex128],
    G_hat: NDArray[np.complex128],
    Phi: NDArray[np.complex128],
    lin_coef: NDArray[np.float64],
    bits: int,
    lin_offset: NDArray[np.float64] | float = 0.0,
    lin_scale: NDArray[np.float64] | float = 1.0,
    options: GEMMOptions | None = None,
) -> GEMMResult:
    """Algorithm 1: GEMM for the RIS vector at fixed ``W`` (through ``Phi``).

    Args:
        v0: start ``[N]`` on the grid ``V^N``.
        h_d_hat, G_hat: estimated direct ``[K, Nt]`` and cascaded ``[K, N, Nt]`` channels.
        Phi: ``[K, Nt, Nt]`` matrices (15) of the current precoder.
        lin_coef, lin_offset, lin_scale: the norm-term coefficients of
            :func:`isac_env.physics.robust_design.gemm_objective` ``[K]``.
        bits: phase resolution ``b >= 1``.
        options: algorithm parameters.

    Returns:
        :class:`GEMMResult` with the mapped grid point.
    """
    o = options or GEMMOptions()
    args = (h_d_hat, G_hat, Phi, lin_coef, lin_offset, lin_scale)
    N = v0.shape[-1]
    mu = float(rd.gemm_initial_step(G_hat, Phi))
    L0 = 1.0 / mu
    lam = o.lambda0 * L0
    lam_max = o.lambda_max * L0
    v = np.asarray(v0, dtype=np.complex128).copy()
    v_prev = v.copy()
    beta = 1.0
    hist = [float(rd.gemm_objective(v, *args))]
    converged = False
    it = 0
    for k in range(1, o.max_iter + 1):
        it = k
        beta_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * beta**2))  # (45)
        alpha = (beta - 1.0) / beta_next  # (46)
        beta = beta_next
        z = v + alpha * (v - v_prev)  # (44)
        fz = float(rd.gemm_objective(z, *args))
        gz = rd.gemm_gradient(z, *args)  # (49)
        for _ in range(o.max_backtrack):
            v_new = project_polygon(z + mu * (gz + 2.0 * lam * v), bits)  # (43), (47)
            d = v_new - z
            lower = fz + float(np.real(np.vdot(gz, d))) - float(np.vdot(d, d).real) / (2.0 * mu)
            if float(rd.gemm_objective(v_new, *args)) >= lower - 1e-12 * abs(lower):  # (48)
                break
            mu *= 0.5
        v_prev, v = v, v_new
        hist.append(float(rd.gemm_objective(v, *args)))
        lam = min(o.growth * lam, lam_max)
        if np.linalg.norm(v - v_prev) <= o.tol * np.sqrt(N) and np.min(np.abs(v)) >= 1.0 - 1e-6:
            converged = True
            break
    return GEMMResult(
        v=quantize_phases(v, bits),
        iterations=it,
        converged=converged,
        objective=hist,
        min_modulus=float(np.min(np.abs(v))),
    )
