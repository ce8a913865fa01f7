"""Heuristic baselines of the robust RIS-ISAC task (robust_isac spec): what a robust-beamforming
engineer tries first, cvxpy-free.

``robust_gain_mrt`` / ``robust_gain_zf`` (:class:`RobustGainMRTSolver`, :class:`RobustGainZFSolver`):

1. RIS vector ``v``: the sum-gain phases of :func:`isac_gym.baselines.robust_ao.gain_v` (max
   ``sum_k ||hat h_k(v)||^2``, the AO's ``"gain"`` start, on the ``bits``-bit grid), and the
   all-ones vector as a second candidate. (The RIS does not enter the sensing model of this task:
   the CRB (10) depends on ``R_x`` only, so "gain to the target" is the precoder's business.)
2. Unit-norm stream directions ``d_k`` on the *estimated* effective channels ``hat h_k(v)``: MRT
   ``d_k = hat h_k / ||hat h_k||`` or ZF (:func:`isac_gym.baselines.heuristics.rzf_precoder` with
   ``reg = 0`` on the rows ``hat h_k^H``).
3. Power shares ``s_k`` (``sum_k s_k = 1``) from nominal SINR-target power control on the
   estimates: the solution of ``p_k |hat h_k^H d_k|^2 = gamma_k (sum_{j != k} p_j |hat h_k^H d_j|^2
   + sigma_k^2)`` (for ZF it is channel inversion), equal shares if it has no positive solution.
4. The total power ``P``: the smallest ``P`` in ``[p_min, p_max]`` with ``W = sqrt(P) [sqrt(s_k)
   d_k]`` certified by the safe approximation (:func:`isac_env.physics.robust.certify`, the
   configured restriction variant): batched bisection in dB (a 16-point grid refined 4 times,
   resolution ~1e-3 dB over the default 70 dB range), keeping the certified upper end. Every
   margin of (23)-(29) is ``P a - b`` with constant ``b`` (``sigma_k^2`` or ``tau_t``), so
   certification is monotone in ``P`` and the bisection finds the threshold.

The lowest certified power over the candidates is returned; if no candidate is certified at
``p_max`` the result is :meth:`~isac_gym.baselines.base.SolverResult.failed`. Outputs follow
:mod:`isac_gym.baselines.robust_ao` (``objective`` = power in W, ``phi = conj(v)``, the same metrics).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from isac_env.physics import robust as rb

from .base import InvalidProblemError, Solver, SolverResult, Stopwatch
from .heuristics import rzf_precoder
from .robust_ao import gain_v, robust_metrics

__all__ = [
    "RobustGainMRTSolver",
    "RobustGainZFSolver",
    "min_certified_power",
    "mrt_directions",
    "power_shares",
    "zf_directions",
]

_V_RULES = ("gain", "ones")


def mrt_directions(h: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """MRT stream directions ``d_k = h_k / ||h_k||`` for the column-form channels ``h`` ``[K, Nt]``
    (the receiver sees ``h_k^H w``); ``[Nt, K]``."""
    return (h / np.maximum(np.linalg.norm(h, axis=-1, keepdims=True), 1e-300)).T


def zf_directions(h: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Unit-norm ZF directions for ``h`` ``[K, Nt]``: ``h_j^H d_k = 0`` for ``j != k`` when
    ``K <= Nt`` (:func:`isac_gym.baselines.heuristics.rzf_precoder` on the rows ``h_k^H``); ``[Nt, K]``."""
    K = h.shape[0]
    return rzf_precoder(np.conj(h), float(K), 0.0)  # unit columns: power K


def power_shares(
    h: NDArray[np.complex128],
    D: NDArray[np.complex128],
    gamma: NDArray[np.float64],
    sigma2: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Nominal SINR-target power control: ``p`` solving ``(diag(g) - Gamma F) p = Gamma sigma^2``
    with ``g_k = |h_k^H d_k|^2``, ``F_kj = |h_k^H d_j|^2`` (``j != k``), ``Gamma = diag(gamma)``
    (meets ``SINR_k = gamma_k`` exactly on the estimates), normalised to ``sum p = 1``; equal shares
    if the system has no positive solution (targets not jointly reachable). ``[K]``."""
    K = h.shape[0]
    A = np.abs(np.conj(h) @ D) ** 2  # [K, K]: |h_k^H d_j|^2
    g = np.diag(A).copy()
    F = A - np.diag(g)
    gam = np.asarray(gamma, dtype=np.float64)
    try:
        p = np.linalg.solve(np.diag(g) - gam[:, None] * F, gam * np.asarray(sigma2, dtype=np.float64))
    except np.linalg.LinAlgError:
        p = np.full(K, -1.0)
    if not (np.all(np.isfinite(p)) and np.all(p > 0)):
        return np.full(K, 1.0 / K)
    return p / np.sum(p)


def min_certified_power(
    s: rb.RobustScenario,
    W_unit: NDArray[np.complex128],
    v: NDArray[np.complex128],
    variant: str,
    *,
    grid: int = 16,
    rounds: int = 4,
) -> float:
    """Smallest total power ``P`` in ``[p_min_w, p_max_w]`` at which ``sqrt(P) W_unit``
    (``||W_unit||_F = 1``) is certified by :func:`isac_env.physics.robust.certify`, by batched
    bisection in dB (``grid`` points per round, ``rounds`` rounds; the certified upper end of the
    final bracket is returned); ``nan`` if not certified at ``p_max_w``."""
    lo_db, hi_db = 10.0 * np.log10(float(s.p_min_w)), 10.0 * np.log10(float(s.p_max_w))

    def certified(p_db: NDArray[np.float64]) -> NDArray[np.bool_]:
        Ws = np.sqrt(10.0 ** (p_db / 10.0))[:, None, None] * W_unit[None]
        return np.asarray(rb.certify(s, Ws, v, variant).certified)

    if not certified(np.array([hi_db]))[0]:
        return float("nan")
    if certified(np.array([lo_db]))[0]:
        return float(10.0 ** (lo_db / 10.0))
    frac = np.arange(1, grid + 1) / grid
    for _ in range(rounds):
        pts = lo_db + (hi_db - lo_db) * frac  # the last point is hi (certified)
        ok = certified(pts)
        j = int(np.argmax(ok))
        lo_db, hi_db = (pts[j - 1] if j > 0 else lo_db), pts[j]
    return float(10.0 ** (hi_db / 10.0))


class _RobustGainSolver(Solver):
    """Common solve of the robust heuristics (module docstring); subclasses set ``directions``.

    Args:
        bits: RIS phase resolution (``2**bits`` levels; ``0`` = continuous), as the AO solvers
            (default 2, the task's ``phase_bits``).
        variant: restriction variant (``None``: ``scenario.restriction``).
        v_rules: RIS candidates, a non-empty subset of ``("gain", "ones")``.
        mc_draws: Monte-Carlo draws of the reported metrics (as :mod:`isac_gym.baselines.robust_ao`).
    """

    task: ClassVar[str] = "robust"
    heuristic: ClassVar[bool] = True
    directions: staticmethod

    def __init__(
        self,
        bits: int = 2,
        variant: str | None = None,
        v_rules: tuple[str, ...] = _V_RULES,
        mc_draws: int = 2000,
    ) -> None:
        if not 0 <= int(bits) <= 8:
            raise ValueError(f"bits must be in 0..8, got {bits}")
        rules = tuple(v_rules)
        if not rules or any(r not in _V_RULES for r in rules):
            raise ValueError(f"v_rules must be a non-empty subset of {_V_RULES}, got {v_rules!r}")
        self.bits, self.variant, self.v_rules, self.mc_draws = int(bits), variant, rules, int(mc_draws)

    def solve(
        self,
        scenario: Any,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        """Closed-form design and the minimum certified power (module docstring); ``init`` unused,
        ``rng`` only seeds the Monte-Carlo metrics."""
        s = scenario
        if not isinstance(s, rb.RobustScenario) or s.batch_shape != ():
            raise InvalidProblemError("solve expects an unbatched isac_env.physics.robust.RobustScenario")
        sw = Stopwatch()
        variant = s.restriction if self.variant is None else self.variant
        best: tuple[float, NDArray[np.complex128], NDArray[np.complex128], str] | None = None
        tried: dict[str, float] = {}
        for rule in self.v_rules:
            v = gain_v(s, self.bits) if rule == "gain" else np.ones(s.dims["N"], np.complex128)
            h = rb.effective_channels(s, v)  # [K, Nt] estimates
            D = type(self).directions(h)
            W_unit = D * np.sqrt(power_shares(h, D, s.gamma, s.sigma2))[None, :]
            W_unit = W_unit / np.linalg.norm(W_unit)
            P = min_certified_power(s, W_unit, v, variant)
            tried[rule] = P
            if np.isfinite(P) and (best is None or P < best[0]):
                best = (P, np.sqrt(P) * W_unit, v, rule)
        if best is None:
            return SolverResult.failed(
                f"not certifiable within p_max = {float(s.p_max_w):.4g} W at RIS candidates {list(self.v_rules)}",
                wall_time_s=sw.elapsed(), extra={"variant": variant, "bits": self.bits},
            )  # fmt: skip
        P, W, v, rule = best
        metrics = robust_metrics(s, W, v, rng.spawn(1)[0], self.mc_draws, variant)
        return SolverResult(
            W=W, phi=rb.phi_from_v(v), objective=metrics["power_w"],
            history={"power_w": [metrics["power_w"]], "sum_rate": [float(np.sum(rb.rates(s, W, v)))]},
            converged=True, stop_reason="closed_form", iterations=0, wall_time_s=sw.elapsed(),
            feasible=metrics["certified"] and metrics["within_p_max"], metrics=metrics,
            extra={"v": v, "v_rule": rule, "bits": self.bits, "variant": variant, "power_by_rule": tried},
        )  # fmt: skip


class RobustGainMRTSolver(_RobustGainSolver):
    """Gain phases + MRT directions + minimum certified power: ``robust_gain_mrt``."""

    name: ClassVar[str] = "robust_gain_mrt"
    directions = staticmethod(mrt_directions)


class RobustGainZFSolver(_RobustGainSolver):
    """Gain phases + ZF directions + minimum certified power: ``robust_gain_zf``."""

    name: ClassVar[str] = "robust_gain_zf"
    directions = staticmethod(zf_directions)
