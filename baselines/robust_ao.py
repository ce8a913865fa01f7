"""Reference policies of the robust RIS-ISAC paper: alternating optimization (robust_isac spec 5-8).

Algorithm 2 (spec 8) alternates

(a) the transmit-beamforming SDR (32) at fixed RIS vector ``v`` (:class:`isac_gym.baselines.sdr.TransmitSDP`),
    rank-one extraction by Gaussian randomization with the common power-scaling repair (spec 5);
(b) an RIS update at fixed ``W`` that enlarges the restriction margins, accepted only if the safe
    approximation still holds (so ``W`` stays feasible and the next SDP cannot need more power):

* ``"scheme1"`` -- SDR (38) of the margin-maximisation (33) + Gaussian randomization + nearest
  b-bit phase mapping (39) (spec 6);
* ``"continuous"`` -- the same without the mapping (the paper's continuous-phase curve);
* ``"scheme2"`` -- square-penalty GEMM, Algorithm 1 (spec 7, :mod:`isac_gym.baselines.gemm`);
* ``"random"`` -- no RIS update: random b-bit phases and the SDR precoder (one SDP).

(c) stop when ``|P^{(i+1)} - P^{(i)}| / P^{(i)} <= tol`` (1e-3 [A]) or after ``max_iter`` (30 [A]).

Registered as ``"robust_continuous"``, ``"robust_scheme1"``, ``"robust_scheme2"``,
``"robust_random"``; each ``solve`` takes an unbatched :class:`isac_env.physics.robust.RobustScenario`.

**RIS vector convention.** The algorithms work on the paper's ``v`` (``v^H = [e^{j theta_n}]``,
``Theta = diag(v^*)``); :class:`~isac_gym.baselines.base.SolverResult` carries the suite's reflection vector
``phi = conj(v)`` (``Theta = diag(phi)``, what ``env.unwrapped.encode_action`` expects), see
:func:`isac_env.physics.robust.phi_from_v`; ``result.extra["v"]`` keeps ``v``.

**Outputs.** ``W`` ``[Nt, K]`` (W, physical: the channels are noise-normalised, spec 10),
``objective`` = transmit power (W); ``feasible`` = the design is certified by the safe
approximation (:func:`isac_env.physics.robust.certify`, the configured restriction variant) **and**
its power is within the budget ``p_max_w`` (the SDR (32) has no power constraint, so a certified
design can need more than ``p_max``; it is returned as a design with ``feasible=False``). When no
start gives a solvable first SDP there is no design: ``W = phi = None``, ``objective = nan``,
``stop_reason`` ``"failed: ..."`` (:meth:`~isac_gym.baselines.base.SolverResult.failed`);
``metrics`` from :func:`isac_env.physics.robust.evaluate` with a Monte-Carlo generator spawned
from the ``rng`` (``outage`` per user, ``crb_failure`` per target, ...) plus ``power_w``,
``power_dbm``, ``certified``, ``max_outage``, ``max_crb_failure``, ``within_p_max``; ``history``
per AO iteration (entry 0 = the first SDP): ``power_w``, ``power_dbm`` (the iterate's power),
``best_power_w``, ``best_power_dbm`` (the power of the returned design if the AO stopped there: the
running minimum), ``sum_rate``, ``sum_margin``, ``ris_accepted``, ``sdp_time_s``, ``ris_time_s``.

**Monotonicity.** With a tight SDR, (32) at the new ``v`` can only lower the power. Gaussian
randomisation of a higher-rank SDR solution, followed by the power-scaling repair, is not tight, so
the iterate's power can rise (measured: on 5-6 % of draws at the default point, up to +10.7 dB on
one Scheme 1 draw; ``isac figure robust-fig5 --trials 100``). The solver therefore returns the
best iterate; ``best_power_*`` is non-increasing by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from isac_env.physics import robust as rb
from isac_env.physics import robust_design as rd
from isac_env.physics.ris import phases_from_indices, quantize_phases
from isac_env.physics.units import w_to_dbm

from .base import Solver, SolverResult, Stopwatch, trap_faults
from .gemm import GEMMOptions, gemm
from .sdr import RISPhaseSDP, TransmitSDP, extract_precoder

__all__ = [
    "RobustAOSolver",
    "RobustContinuousSolver",
    "RobustRandomSolver",
    "RobustScheme1Solver",
    "RobustScheme2Solver",
    "gain_v",
    "robust_metrics",
]

SCHEMES = ("continuous", "scheme1", "scheme2", "random")
INITS = ("gain", "ones", "random")


@dataclass
class _Transmit:
    W: NDArray[np.complex128] | None
    power: float
    status: str
    time_s: float
    info: dict[str, Any] = field(default_factory=dict)


def gain_v(s: rb.RobustScenario, bits: int) -> NDArray[np.complex128]:
    """The ``"gain"`` RIS start: phases of the principal eigenvector of the homogenised sum-gain
    matrix ``sum_k R_k(Phi_k = I)`` (max ``sum_k ||hat h_k(v)||^2`` over ``|bar v| = 1``, (34)),
    de-homogenised and mapped to the ``bits``-bit grid (``bits = 0``: continuous), ``[N]``."""
    N = s.dims["N"]
    eye = np.broadcast_to(
        np.eye(s.dims["Nt"], dtype=np.complex128), (s.dims["K"], s.dims["Nt"], s.dims["Nt"])
    )
    R, _ = rd.homogenized_quadratics(s.h_d_hat, s.G_hat, eye, np.zeros(s.dims["K"]))
    _, U = np.linalg.eigh(np.sum(R, axis=0))
    u = U[:, -1]
    v = np.exp(1j * np.angle(u[:N] / u[N]))
    return v if bits == 0 else quantize_phases(v, bits)


def robust_metrics(
    s: rb.RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    mc_rng: np.random.Generator,
    mc_draws: int,
    variant: str,
) -> dict[str, Any]:
    """The metrics of a robust solver's result: :func:`isac_env.physics.robust.evaluate` with
    ``mc_draws`` draws from ``mc_rng`` as plain floats / float lists, plus ``power_w``,
    ``power_dbm``, ``certified``, ``max_outage``, ``max_crb_failure``, ``within_p_max``."""
    P = float(rb.transmit_power_w(W))
    ev = rb.evaluate(s, W, v, mc_rng, mc_draws, variant=variant)
    metrics: dict[str, Any] = {
        k: (float(x) if np.ndim(x) == 0 else [float(y) for y in np.ravel(x)]) for k, x in ev.items()
    }
    metrics.update(
        power_w=P,
        power_dbm=float(w_to_dbm(P)),
        certified=bool(ev["certified"]),
        max_outage=float(np.max(ev["outage"])),
        max_crb_failure=float(np.max(ev["crb_failure"])),
        within_p_max=bool(P <= float(s.p_max_w)),
    )
    return metrics


class RobustAOSolver(Solver):
    """Algorithm 2 (AO) with a selectable RIS scheme (module docstring).

    Args:
        scheme: ``"continuous"``, ``"scheme1"``, ``"scheme2"`` or ``"random"``.
        bits: RIS phase resolution ``b`` (``2**b`` levels, eq. (1)); ignored by ``"continuous"``.
        variant: rate-outage restriction (``"la_full"``, ``"la_nt"``, ``"lb"``, ``"lc"``, ``"bti"``);
            ``None`` uses ``scenario.restriction`` (config default ``"la_full"``).
        max_iter: AO iteration cap ``I_max`` (30 [A]).
        tol: relative power change of the convergence test (1e-3 [A]).
        num_randomizations: Gaussian-randomization candidates of the transmit SDR (spec 5).
        ris_randomizations: candidates of the Scheme-1 / continuous SDR (200, A8).
        init: first RIS start, ``"gain"`` (phases of the principal eigenvector of the homogenised
            sum-gain matrix, i.e. max ``sum_k ||hat h_k(v)||^2``, mapped to the grid), ``"ones"`` or
            ``"random"``.
        restarts: further starts tried in order while the first SDP is infeasible (spec 8, step 1).
        mc_draws: Monte-Carlo draws of the reported outage / CRB-failure.
        gemm_options: Algorithm 1 parameters (``"scheme2"``).
        solvers: cvxpy solvers of the transmit SDR (32), in fallback order.
        ris_solvers: solvers of the Scheme-1 SDR (38); default ``("CLARABEL", "SCS")`` for
            ``N <= 16`` and ``("SCS", "CLARABEL")`` above: (38) has one ``(N+1)``-square Hermitian
            LMI, whose interior-point cost grows like ``N^6.5`` (spec 9); at ``N = 32`` Clarabel
            takes ~6x longer than SCS for the same optimum (1e-5 relative).
    """

    name: ClassVar[str] = "robust_ao"
    task: ClassVar[str] = "robust"

    def __init__(
        self,
        scheme: str = "scheme2",
        bits: int = 2,
        variant: str | None = None,
        max_iter: int = 30,
        tol: float = 1e-3,
        num_randomizations: int = 200,
        ris_randomizations: int = 200,
        init: str = "gain",
        restarts: tuple[str, ...] = ("ones", "random", "random"),
        mc_draws: int = 2000,
        gemm_options: GEMMOptions | None = None,
        solvers: tuple[str, ...] = ("CLARABEL", "SCS"),
        ris_solvers: tuple[str, ...] | None = None,
    ) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        if scheme != "continuous" and not 1 <= int(bits) <= 8:
            raise ValueError(f"bits must be in 1..8 for scheme {scheme!r}, got {bits}")
        for name in (init, *restarts):
            if name not in INITS:
                raise ValueError(f"init/restarts entries must be in {INITS}, got {name!r}")
        if max_iter < 0 or not tol > 0:
            raise ValueError("need max_iter >= 0 and tol > 0")
        self.scheme = scheme
        self.bits = 0 if scheme == "continuous" else int(bits)
        self.variant = variant
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.num_randomizations = int(num_randomizations)
        self.ris_randomizations = int(ris_randomizations)
        self.init = init
        self.restarts = tuple(restarts)
        self.mc_draws = int(mc_draws)
        self.gemm_options = gemm_options or GEMMOptions()
        self.solvers = tuple(solvers)
        self.ris_solvers = None if ris_solvers is None else tuple(ris_solvers)
        self._tx_cache: dict[tuple[Any, ...], TransmitSDP] = {}
        self._ris_cache: dict[tuple[int, int, bool], RISPhaseSDP] = {}

    # ------------------------------------------------------------------ building blocks
    def _variant(self, s: rb.RobustScenario) -> str:
        return s.restriction if self.variant is None else self.variant

    def transmit_sdp(self, s: rb.RobustScenario) -> TransmitSDP:
        """The cached SDR (32) for this scenario's size, thresholds and variant."""
        d = s.dims
        gamma = tuple(float(g) for g in np.ravel(s.gamma))
        key = (d["Nt"], d["K"], d["T"], gamma, self._variant(s))
        if key not in self._tx_cache:
            self._tx_cache[key] = TransmitSDP(
                d["Nt"], d["K"], d["T"], gamma, self._variant(s), solvers=self.solvers
            )
        return self._tx_cache[key]

    def _grid(self, v: NDArray[np.complex128]) -> NDArray[np.complex128]:
        return v if self.bits == 0 else quantize_phases(v, self.bits)

    def initial_v(self, s: rb.RobustScenario, kind: str, rng: np.random.Generator) -> NDArray[np.complex128]:
        """Initial RIS vector on the grid (continuous: unit modulus), ``[N]``."""
        N = s.dims["N"]
        if kind == "ones":
            return np.ones(N, dtype=np.complex128)
        if kind == "random":
            if self.bits == 0:
                return np.exp(2j * np.pi * rng.random(N))
            return phases_from_indices(rng.integers(0, 2**self.bits, N), self.bits)
        return gain_v(s, self.bits)

    def _transmit(
        self, s: rb.RobustScenario, v: NDArray[np.complex128], rng: np.random.Generator
    ) -> _Transmit:
        sw = Stopwatch()
        sol = self.transmit_sdp(s).solve(s, v)
        if not sol.ok:
            return _Transmit(None, float("nan"), sol.status, sw.elapsed(), dict(sol.extra))
        W, info = extract_precoder(s, v, sol.X, rng, self.num_randomizations, self._variant(s))
        info["relaxed_power_w"] = sol.value
        info["solver"] = sol.solver
        if W is None:
            return _Transmit(None, float("nan"), "randomization_failed", sw.elapsed(), info)
        return _Transmit(W, float(rb.transmit_power_w(W)), sol.status, sw.elapsed(), info)

    def _restriction_pieces(
        self, s: rb.RobustScenario, W: NDArray[np.complex128], v: NDArray[np.complex128]
    ) -> dict[str, Any]:
        """``v``-independent constants and norm-term coefficients of the restriction at ``(W, v)``."""
        variant = self._variant(s)
        t = rb.rate_restriction_terms(s, W, v)
        Nt, N = s.dims["Nt"], s.dims["N"]
        rho, split = float(np.ravel(s.rho_c)[0]), float(np.ravel(s.rho_split)[0])
        k = rb.restriction_constants(variant, rho, Nt + N * Nt, Nt, split)
        eta, nu = k["eta"], k["nu"]
        sig2 = np.asarray(s.sigma2, dtype=np.float64)
        se = np.sqrt(t["sigma_e2"])
        zeros = np.zeros_like(se)
        if variant in ("la_full", "la_nt"):
            const = sig2 + eta * t["lam_minus"]
        elif variant == "lb":
            const = sig2 + eta * t["interf"]
        elif variant == "lc":
            const = sig2 - t["trA"] + np.sqrt(2.0 * eta) * t["frobA"] + eta * t["lam_minus"]
        else:
            const = sig2 - t["trA"] + eta * t["lam_minus"]
        if variant == "bti":
            gemm_coef = (np.full_like(se, np.sqrt(2.0 * eta)), t["frobA"] ** 2, 2.0 * t["sigma_e2"])
            sdr = {
                "lin": np.full_like(se, np.sqrt(2.0)),
                "c_bti": float(np.sqrt(2.0 * eta)),
                "frob": t["frobA"],
            }
        else:
            gemm_coef = (np.sqrt(2.0) * nu * se, zeros, np.ones_like(se))
            sdr = {"lin": np.full_like(se, np.sqrt(2.0) * nu), "c_bti": 0.0, "frob": None}
        return {
            "const": const,
            "sigma_e2": t["sigma_e2"],
            "norm_u": t["norm_u"],
            "gemm": gemm_coef,
            "sdr": sdr,
        }

    def _ris_sdr(
        self,
        s: rb.RobustScenario,
        W: NDArray[np.complex128],
        v: NDArray[np.complex128],
        rng: np.random.Generator,
    ) -> tuple[NDArray[np.complex128], bool, dict[str, Any]]:
        """Scheme 1 / continuous: SDR (38), randomization, mapping (39), best feasible candidate."""
        p = self._restriction_pieces(s, W, v)
        Phi = rd.outage_phi(W, s.gamma)
        R, S = rd.homogenized_quadratics(s.h_d_hat, s.G_hat, Phi, p["sigma_e2"])
        K, N = s.dims["K"], s.dims["N"]
        bti = self._variant(s) == "bti"
        key = (N, K, bti)
        if key not in self._ris_cache:
            order = self.ris_solvers or (("CLARABEL", "SCS") if N <= 16 else ("SCS", "CLARABEL"))
            self._ris_cache[key] = RISPhaseSDP(N, K, bti=bti, solvers=order)
        xbar = np.maximum(p["norm_u"], 1e-12 * np.maximum(np.max(p["norm_u"]), 1e-300))
        sol = self._ris_cache[key].solve(
            R, S, p["const"], p["sdr"]["lin"], xbar, p["sdr"]["c_bti"], p["sdr"]["frob"]
        )
        info: dict[str, Any] = {"status": sol.status, "solver": sol.solver}
        if not sol.ok:
            return v, False, info
        lam, U = np.linalg.eigh(sol.X)
        lam = np.maximum(lam, 0.0)
        Q = self.ris_randomizations
        r = (rng.standard_normal((Q, N + 1)) + 1j * rng.standard_normal((Q, N + 1))) / np.sqrt(2.0)
        vb = np.concatenate([U[None, :, -1], r @ (U * np.sqrt(lam)).T], axis=0)  # [Q+1, N+1]
        cands = self._grid(np.exp(1j * np.angle(vb[:, :N] / vb[:, N:])))
        cert = rb.certify(s, W, cands, self._variant(s))
        ok = np.asarray(cert.certified)
        info["num_feasible"] = int(np.sum(ok))
        if not np.any(ok):
            return v, False, info
        score = np.where(ok, np.sum(cert.rate_margin, axis=-1), -np.inf)
        return cands[int(np.argmax(score))], True, info

    def _ris_gemm(
        self, s: rb.RobustScenario, W: NDArray[np.complex128], v: NDArray[np.complex128]
    ) -> tuple[NDArray[np.complex128], bool, dict[str, Any]]:
        """Scheme 2: Algorithm 1, then acceptance by the safe approximation (step 7)."""
        p = self._restriction_pieces(s, W, v)
        Phi = rd.outage_phi(W, s.gamma)
        a, b, c = p["gemm"]
        res = gemm(v, s.h_d_hat, s.G_hat, Phi, a, self.bits, b, c, self.gemm_options)
        info = {"gemm_iterations": res.iterations, "gemm_converged": res.converged}
        if bool(rb.certify(s, W, res.v, self._variant(s)).certified):
            return res.v, True, info
        return v, False, info

    # ------------------------------------------------------------------ Algorithm 2
    def solve(
        self,
        scenario: Any,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        """Run Algorithm 2 on one unbatched :class:`RobustScenario` (never raises on infeasibility).

        No first SDP solved at any start: :meth:`SolverResult.failed` (``W = None``, ``stop_reason``
        ``"failed: transmit SDP (32) infeasible at ..."``). A fault or an SDP failure later in the AO
        ends it at the best iterate so far (``stop_reason`` ``"error: ..."`` / ``"sdp_failed: ..."``).
        ``extra["solver_status"]`` lists the transmit SDP statuses, starts first.
        """
        s = scenario
        if not isinstance(s, rb.RobustScenario) or s.batch_shape != ():
            raise TypeError("solve expects an unbatched isac_env.physics.robust.RobustScenario")
        sw = Stopwatch()
        mc_rng = rng.spawn(1)[0]
        starts: list[NDArray[np.complex128]] = []
        if init is not None and init[1] is not None:
            starts.append(self._grid(rb.v_from_phi(init[1])))
        kinds = ("random",) if self.scheme == "random" else (self.init, *self.restarts)
        starts += [self.initial_v(s, kind, rng) for kind in kinds]
        tx, v = None, starts[0]
        statuses = []
        for v in starts:
            with trap_faults() as trap:
                tx = self._transmit(s, v, rng)
            if trap:  # a numerical fault at this start: try the next one
                tx = _Transmit(None, float("nan"), f"error: {trap.reason}", 0.0)
            statuses.append(tx.status)
            if tx.W is not None:
                break
        assert tx is not None
        keys = ("power_w", "power_dbm", "best_power_w", "best_power_dbm", "sum_rate", "sum_margin")
        hist: dict[str, list[float]] = {k: [] for k in keys}
        hist.update({"ris_accepted": [], "sdp_time_s": [], "ris_time_s": []})
        if tx.W is None:
            kind = "infeasible" if all(st == "infeasible" for st in statuses) else "not solved"
            return SolverResult.failed(
                f"transmit SDP (32) {kind} at {len(starts)} start(s): {', '.join(statuses)}",
                history=hist, wall_time_s=sw.elapsed(),
                extra={"starts_tried": len(statuses), "solver_status": statuses},
            )  # fmt: skip

        def record(
            W: NDArray[np.complex128], v: NDArray[np.complex128], t: _Transmit, acc: float, ris_t: float
        ) -> None:
            hist["power_w"].append(t.power)
            hist["power_dbm"].append(float(w_to_dbm(t.power)))
            best_w = min(t.power, hist["best_power_w"][-1]) if hist["best_power_w"] else t.power
            hist["best_power_w"].append(best_w)
            hist["best_power_dbm"].append(float(w_to_dbm(best_w)))
            hist["sum_rate"].append(float(np.sum(rb.rates(s, W, v))))
            hist["sum_margin"].append(float(np.sum(rb.rate_margin(s, W, v, self._variant(s)))))
            hist["ris_accepted"].append(acc)
            hist["sdp_time_s"].append(t.time_s)
            hist["ris_time_s"].append(ris_t)

        W, P = tx.W, tx.power
        n_starts = len(statuses)
        record(W, v, tx, float("nan"), 0.0)
        best = (W, v, P)
        stop, converged, it = "max_iter", False, 0
        gemm_iters: list[int] = []
        if self.scheme == "random":
            stop, converged = "single_sdp", True
        else:
            for it in range(1, self.max_iter + 1):
                ris_sw = Stopwatch()
                with trap_faults() as trap:  # a numerical fault ends the AO at the best iterate
                    if self.scheme == "scheme2":
                        v_new, acc, info = self._ris_gemm(s, W, v)
                        gemm_iters.append(info["gemm_iterations"])
                    else:
                        v_new, acc, info = self._ris_sdr(s, W, v, rng)
                    ris_t = ris_sw.elapsed()
                    tx = self._transmit(s, v_new, rng)
                if trap:
                    stop = f"error: RIS update / SDP at iteration {it}: {trap.reason}"
                    it -= 1
                    break
                statuses.append(tx.status)
                if tx.W is None:  # cannot happen in exact arithmetic: W is feasible at v_new
                    stop = f"sdp_failed: {tx.status}"
                    it -= 1
                    break
                rel = abs(tx.power - P) / P
                W, v, P = tx.W, v_new, tx.power
                record(W, v, tx, float(acc), ris_t)
                if P < best[2]:
                    best = (W, v, P)
                if rel <= self.tol:
                    stop, converged = "converged", True
                    break
        W, v, P = best
        metrics = robust_metrics(s, W, v, mc_rng, self.mc_draws, self._variant(s))
        return SolverResult(
            W=W, phi=rb.phi_from_v(v), objective=P, history=hist, converged=converged, stop_reason=stop,
            iterations=it, wall_time_s=sw.elapsed(), metrics=metrics,
            feasible=metrics["certified"] and metrics["within_p_max"],
            extra={
                "v": v, "scheme": self.scheme, "bits": self.bits, "variant": self._variant(s),
                "starts_tried": n_starts, "gemm_iterations": gemm_iters, "solver_status": statuses,
            },
        )  # fmt: skip


class RobustContinuousSolver(RobustAOSolver):
    """Algorithm 2 with continuous RIS phases (Scheme 1 without the mapping (39))."""

    name: ClassVar[str] = "robust_continuous"

    def __init__(self, **options: Any) -> None:
        options.pop("bits", None)
        super().__init__(scheme="continuous", bits=0, **options)


class RobustScheme1Solver(RobustAOSolver):
    """Algorithm 2 with RIS Scheme 1 (SDR (38) + randomization + nearest-phase mapping (39))."""

    name: ClassVar[str] = "robust_scheme1"

    def __init__(self, **options: Any) -> None:
        super().__init__(scheme="scheme1", **options)


class RobustScheme2Solver(RobustAOSolver):
    """Algorithm 2 with RIS Scheme 2 (square penalty + GEMM, Algorithm 1)."""

    name: ClassVar[str] = "robust_scheme2"

    def __init__(self, **options: Any) -> None:
        super().__init__(scheme="scheme2", **options)


class RobustRandomSolver(RobustAOSolver):
    """Random b-bit RIS phases (from ``rng``) and the SDR precoder (32): one SDP, no AO."""

    name: ClassVar[str] = "robust_random"
    heuristic: ClassVar[bool] = True  # the random floor counts as a heuristic (headroom baseline)

    def __init__(self, **options: Any) -> None:
        super().__init__(scheme="random", **options)
