"""Closed-form designs and simple heuristic baselines for the Rydberg task.

* :func:`bf_only_phases` -- the BF-only reflection of rar_isac spec 7.2 (also the common initial
  phi of every scheme, spec 6.0).
* :func:`mrt_precoder`, :func:`zf_precoder` -- per-user MRT and dominant-eigenmode ZF precoders.
* :class:`RandomMRTSolver`, :class:`RandomZFSolver` -- random RIS phases (drawn from ``rng``) with
  MRT / ZF precoding; they ignore the CRB constraint and report whether they happen to meet it
  (``feasible``: every constraint of (35), :func:`design_feasible`).

Every precoder is returned at full power ``||W||_F^2 = P_max`` (full power never lowers the sum
rate of (23) for a fixed direction, and lowers the CRB).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from isac_env.physics import RydbergScenario, effective_channels, evaluate

from .base import Solver, SolverResult, Stopwatch

__all__ = [
    "RandomMRTSolver",
    "RandomZFSolver",
    "bf_only_phases",
    "design_feasible",
    "full_power",
    "metrics_dict",
    "mrt_precoder",
    "zf_precoder",
]


def full_power(W: NDArray[np.complex128], P_max: float) -> NDArray[np.complex128]:
    """Scale ``W`` onto the power sphere ``||W||_F^2 = P_max`` (a zero ``W`` is returned as is)."""
    n2 = float(np.sum(np.abs(W) ** 2))
    return W if n2 <= 0 else W * np.sqrt(P_max / n2)


def metrics_dict(
    scenario: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
) -> dict[str, Any]:
    """``isac_env.physics.evaluate`` as plain Python floats (``sinr`` as a list)."""
    m = evaluate(scenario, W, phi)
    return {k: (np.asarray(v).tolist() if np.ndim(v) else float(v)) for k, v in m.items()}


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
    ``b = 2 sum_k diag(H_RU,k^H H_BU,k H_BR^H)``; maximised by the monotone MM
    ``phi <- exp(j angle(2 A phi + b))`` from ``exp(j angle(b))``.
    ``eigenvector``: ``phi = exp(j angle(u_max(A)))`` (direct link ignored; spec 13.1 variant).

    Returns:
        ``[N]`` unit-modulus phases.
    """
    s = scenario
    H_BR, H_RU, H_BU = np.asarray(s.H_BR), np.asarray(s.H_RU), np.asarray(s.H_BU)
    gram = np.einsum("kmn,kmp->np", H_RU.conj(), H_RU)  # sum_k H_RU,k^H H_RU,k
    A = gram * np.conj(H_BR @ H_BR.conj().T)
    if rule == "eigenvector":
        _, U = np.linalg.eigh(A)
        return np.exp(1j * np.angle(U[:, -1]))
    if rule != "sum_gain":
        raise ValueError(f"bf_rule must be 'sum_gain' or 'eigenvector', got {rule!r}")
    b = 2.0 * np.einsum("kmn,kmt,nt->n", H_RU.conj(), H_BU, H_BR.conj())
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


class _RandomPhaseSolver(Solver):
    precoder: staticmethod

    def solve(
        self,
        scenario: RydbergScenario,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        """Random phases ``phi_n = exp(j 2 pi u_n)``, ``u_n ~ U[0, 1)`` from ``rng``, then the
        closed-form precoder at full power. ``init`` is ignored."""
        sw = Stopwatch()
        N = scenario.dims["N"]
        phi = np.exp(2j * np.pi * rng.random(N))
        W = type(self).precoder(effective_channels(scenario, phi), float(scenario.P_max))
        m = metrics_dict(scenario, W, phi)
        feas = design_feasible(scenario, W, phi, m["crb_trace"])
        return SolverResult(
            W=W, phi=phi, objective=m["sum_rate"],
            history={"sum_rate": [m["sum_rate"]], "crb_trace": [m["crb_trace"]]},
            converged=True, stop_reason="closed_form", iterations=0, wall_time_s=sw.elapsed(),
            feasible=feas, metrics=m,
        )  # fmt: skip


class RandomMRTSolver(_RandomPhaseSolver):
    """Random RIS phases + per-user MRT (:func:`mrt_precoder`); ignores the CRB constraint."""

    name = "random_mrt"
    precoder = staticmethod(mrt_precoder)


class RandomZFSolver(_RandomPhaseSolver):
    """Random RIS phases + dominant-eigenmode ZF (:func:`zf_precoder`); ignores the CRB."""

    name = "random_zf"
    precoder = staticmethod(zf_precoder)
