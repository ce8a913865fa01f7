"""First-order ascent steps with Armijo backtracking, shared by the GD benchmark and the
phase-one feasibility search of FP-MM-ADMM (pure NumPy; the caller supplies objective and gradient).

Both steps *increase* ``objective`` (to decrease a function ``h``, pass ``-h`` and ``-grad h``).
Gradients are Wirtinger gradients w.r.t. the conjugate variable (``grad_{W^*}``, ``grad_{phi^*}``),
so the first-order change of a real objective along ``d`` is ``2 Re <grad, d>``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["armijo_ball_step", "armijo_circle_step"]


def _backtrack(
    objective: Callable[[NDArray[np.complex128]], float],
    x: NDArray[np.complex128],
    d: NDArray[np.complex128],
    value: float,
    mu: float,
    retract: Callable[[NDArray[np.complex128]], NDArray[np.complex128]],
    c: float,
    max_backtracks: int,
) -> tuple[NDArray[np.complex128], float]:
    """Armijo backtracking along ``retract(x + mu d)``, halving ``mu``; ``(x, value)`` if none passes."""
    for _ in range(max_backtracks):
        xn = retract(x + mu * d)
        new = objective(xn)
        if new >= value + c * 2.0 * float(np.real(np.vdot(d, xn - x))):
            return xn, new
        mu *= 0.5
    return x, value


def armijo_ball_step(
    objective: Callable[[NDArray[np.complex128]], float],
    W: NDArray[np.complex128],
    grad: NDArray[np.complex128],
    value: float,
    radius: float,
    init_step: float,
    c: float,
    max_backtracks: int,
) -> tuple[NDArray[np.complex128], float]:
    """Projected gradient step on the ball ``||W||_F <= radius``.

    ``W + mu grad`` projected radially onto the ball, from ``||mu grad||_F = init_step * radius``,
    halving ``mu`` until ``objective(W_new) >= value + c 2 Re<grad, W_new - W>`` (at most
    ``max_backtracks`` times). Returns ``(W_new, objective(W_new))``, or ``(W, value)`` when no
    step is accepted or the gradient vanishes.
    """
    gn = float(np.linalg.norm(grad))
    if not gn > 0:
        return W, value

    def project(Wn: NDArray[np.complex128]) -> NDArray[np.complex128]:
        nrm = float(np.linalg.norm(Wn))
        return Wn * (radius / nrm) if nrm > radius else Wn

    return _backtrack(objective, W, grad, value, init_step * radius / gn, project, c, max_backtracks)


def armijo_circle_step(
    objective: Callable[[NDArray[np.complex128]], float],
    phi: NDArray[np.complex128],
    grad: NDArray[np.complex128],
    value: float,
    init_move: float,
    c: float,
    max_backtracks: int,
) -> tuple[NDArray[np.complex128], float]:
    """Riemannian gradient step on the unit-modulus torus ``|phi_n| = 1``.

    Tangent direction ``xi = grad - Re{grad conj(phi)} phi``, retraction
    ``(phi + mu xi) / |phi + mu xi|`` from a largest entry move ``mu max|xi| = init_move`` (rad),
    Armijo as in :func:`armijo_ball_step`. Returns ``(phi_new, objective(phi_new))`` or
    ``(phi, value)``.
    """
    xi = grad - np.real(grad * np.conj(phi)) * phi
    xm = float(np.max(np.abs(xi)))
    if not xm > 0:
        return phi, value
    return _backtrack(objective, phi, xi, value, init_move / xm, lambda v: v / np.abs(v), c, max_backtracks)
