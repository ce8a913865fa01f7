"""Batched gradient solvers of the Rydberg task on the torch backend (issue 14, point 3).

All draws of a batch, and several starts per draw, are solved at once: every row ``(draw, start)``
of a batch carries its own design and optimizer state, and one autograd pass through the torch
physics (:func:`isac_env.physics.rar.sum_rate`, :func:`isac_env.physics.rar.crb_trace`) gives the
gradients of all rows. Rows never interact (the loss is a sum of per-row terms and every update is
elementwise), so a draw's result does not depend on the other draws of its batch:
``solve_batch([s_1, ..., s_B], rngs=[r_1, ..., r_B])`` equals ``[solve(s_i, rng=r_i) for i]`` up to
the rounding of the batched products.

Problem (35) of the rar_isac spec: ``max U_com(W, phi)`` s.t. ``tr CRB(W, phi) <= eps``,
``||W||_F^2 <= P_max``, ``|phi_n| = 1``. Parametrisation (constraints hold by construction):

* ``W = sqrt(P_max) V / ||V||_F`` on the power sphere (full power never lowers ``U_com`` and lowers
  the CRB); ``V`` is renormalised to ``||V||_F = 1`` after every step (retraction);
* ``phi = exp(j theta)`` on the unit-modulus torus, ``theta`` in rad.

Ascent on the augmented Lagrangian (Powell-Hestenes-Rockafellar, inequality form), ``U`` in nats,
``g = ln(tr CRB / eps)`` (the constraint ``g <= 0`` in logarithmic form)::

    L_rho(W, phi; lam) = U - (rho / 2) ([lam / rho + g]_+^2 - (lam / rho)^2)

by Riemannian Adam with a cosine-decayed step: Adam on ``theta`` (the torus) and on ``V`` with its
Euclidean gradient projected on the sphere's tangent space (without the projection the radial part
of the gradient, large because the CRB falls and the rate rises with power, swamps Adam's
normalised steps). Every ``al_every`` steps the multiplier is updated, ``lam <- [lam + rho g]_+``,
and ``rho`` doubles (up to ``rho_max``) when the violation ``max(g, -lam / rho)`` did not halve.
Multi-start with screening: ``starts`` starts per draw run ``screen_iters`` steps, then the ``keep``
of each draw with the highest augmented Lagrangian at that step continue (ranking by the best
feasible objective so far instead kept starts that were feasible early in worse basins: measured
on small draws, 78% of draws >= GD against 90%).
Objective and constraint come from :mod:`isac_env.physics` only; their gradients are torch
autograd's.

The augmented Lagrangian aims at ``eps (1 - margin)``. Each row keeps its best iterate that meets
``tr CRB <= eps (1 + feas_tol)`` (the best-feasible rule of the per-draw solvers; half the tolerance
in complex64) and, for draws where no iterate does, the one of least ``tr CRB``. A draw's
result is the best of its starts, re-evaluated in complex128 NumPy (:func:`metrics_dict`), returned
at exactly full power and unit modulus.

Starts per draw (``starts``): 0) the gain-maximising phases of the heuristics
(:func:`~isac_gym.baselines.heuristics.gain_phases`; BF-only: :func:`bf_only_phases`) with MRT
(:func:`~isac_gym.baselines.heuristics.mrt_precoder`), or ``init``; 1..) random phases and a random
complex Gaussian ``V`` from the draw's ``rng``. Starts are built per draw in NumPy (a few ms).

Variants: :class:`BatchedGDSolver` (``"batched_gd"``: joint ``(W, phi)``),
:class:`BatchedCommOnlySolver` (``"batched_comm_only"``: no CRB term, CRB only reported),
:class:`BatchedBFOnlySolver` (``"batched_bf_only"``: phases fixed at the BF-only phases, ``W`` only).

Device and precision: ``device`` ``"cpu"`` (default), ``"cuda"`` or ``"auto"``; ``dtype``
``"complex128"`` (default, the reference precision) or ``"complex64"`` (about twice as fast; the
returned design is still re-evaluated and reported in complex128). torch is imported lazily; a solve
runs with ``num_threads`` torch threads (1 by default) and restores torch's setting after it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray

from isac_env.physics.rar import RydbergScenario, crb_trace, effective_channels, stack_scenarios, sum_rate

from .base import InvalidProblemError, Solver, SolverResult, Stopwatch, require_unbatched, trap_faults
from .heuristics import (
    bf_only_phases,
    design_feasible,
    full_power,
    gain_phases,
    is_feasible,
    metrics_dict,
    mrt_precoder,
)

__all__ = [
    "BatchedAscentSolver",
    "BatchedBFOnlySolver",
    "BatchedCommOnlySolver",
    "BatchedGDSolver",
    "EnvDraws",
    "ascent_objective",
    "augmented_lagrangian",
    "result_from_dict",
    "result_to_dict",
    "solve_env_draws",
]

_LN2 = math.log(2.0)
_DTYPES = ("complex128", "complex64")


def augmented_lagrangian(U: Any, h: Any, eps: Any, lam: Any, rho: Any) -> Any:
    """``L = U - (rho / 2) ([lam / rho + g]_+^2 - (lam / rho)^2)``, ``g = ln(h / eps)`` (per row).

    ``g <= 0`` is the CRB constraint ``h <= eps`` in logarithmic form: the same feasible set, with a
    penalty gradient that stays of the order of ``U``'s even far from feasibility (a start with
    ``tr CRB = 20 eps`` has ``g = 3``, not 19).

    Args:
        U: sum rate in nats ``[R]``; h: ``tr CRB`` (rad^2) ``[R]``; eps: threshold ``[R]``;
        lam: multipliers ``[R]`` (>= 0); rho: penalty weights ``[R]`` (> 0). torch tensors.

    Returns:
        ``[R]``; equals ``U`` where the constraint is inactive with ``lam = 0``.
    """
    import torch

    g = torch.log(h / eps)
    shifted = torch.clamp(lam / rho + g, min=0.0)
    return U - 0.5 * rho * (shifted**2 - (lam / rho) ** 2)


def ascent_objective(
    s: RydbergScenario, V: Any, theta: Any, lam: Any, rho: Any, *, sensing: bool = True
) -> Any:
    """The per-row objective that the batched solvers ascend, from the torch physics.

    ``W = sqrt(P_max) V`` (``V`` ``[R, Nt, K]`` of unit Frobenius norm), ``phi = exp(j theta)``
    (``theta`` ``[R, N]`` rad), ``U = ln 2 * sum_rate`` (nats, :func:`isac_env.physics.rar.sum_rate`),
    ``h = crb_trace`` (rad^2, :func:`isac_env.physics.rar.crb_trace`).

    Args:
        s: torch scenario with batch axis ``[R]``; lam, rho: ``[R]`` multipliers and penalty weights.
        sensing: ``False`` (Comm-only): the objective is ``U`` alone.

    Returns:
        ``(L, U, h)``, each ``[R]``: ``L`` = :func:`augmented_lagrangian` (or ``U``), differentiable
        w.r.t. ``V`` and ``theta``.
    """
    import torch

    rdt = theta.dtype
    W = V * torch.sqrt(s.P_max.to(rdt))[..., None, None].to(V.dtype)
    phi = torch.polar(torch.ones_like(theta), theta).to(V.dtype)
    U = sum_rate(s, W, phi).to(rdt) * _LN2
    h = crb_trace(s, W, phi).to(rdt)
    L = augmented_lagrangian(U, h, s.eps.to(rdt), lam, rho) if sensing else U
    return L, U, h


@dataclasses.dataclass
class _Start:
    """Start designs of one draw: ``W [S, Nt, K]`` (full power), ``phi [S, N]`` (unit modulus)."""

    W: NDArray[np.complex128]
    phi: NDArray[np.complex128]


class BatchedAscentSolver(Solver):
    """Batched Adam ascent on the augmented Lagrangian of problem (35) (see the module docstring).

    Args:
        starts: starts per draw (>= 1): the heuristic start plus ``starts - 1`` random ones (4).
        keep: starts per draw kept after the screening (1, at most ``starts``); screen_iters: steps
            before the screening (40; no screening when ``keep == starts``).
        iters: Adam steps in all (250).
        lr_phi: initial step of the phases (rad, 0.1); lr_w: initial step of ``V`` on the unit
            sphere (0.1); both decay by a cosine to ``lr_final`` times their initial value (0.02).
        betas: Adam's ``(beta1, beta2)`` ((0.9, 0.9): a short memory, since the penalty's scale
            changes with the multiplier updates); adam_eps: Adam's epsilon (1e-10).
        rho0: initial penalty weight (1); rho_max: its cap (1e5); al_every: steps between
            multiplier updates (20).
        feas_tol: relative CRB tolerance of a feasible design (1e-3, as the per-draw solvers).
        margin: the augmented Lagrangian aims at ``tr CRB <= eps (1 - margin)`` (1e-3), so that the
            iterates, which oscillate around the threshold they aim at, fall within the tolerance.
        tol: a draw is ``converged`` when its best objective rose by less than ``tol`` (relative)
            over the last multiplier block (1e-4); the run still does all ``iters`` steps.
        bf_rule: BF-only phase rule (``"sum_gain"`` / ``"eigenvector"``) of the BF-only variant.
        device: ``"cpu"`` (default), ``"cuda"``, ``"auto"`` (CUDA when available) or a torch device.
        dtype: ``"complex128"`` (default) or ``"complex64"`` (or the torch dtype).
        chunk_mb: rows (draws x starts) per autograd pass such that the rows' ``H_RU`` take about
            this many MB (20; at least one draw per pass): a larger batch is solved in consecutive
            chunks, with the same results. Small chunks keep the per-pass buffers below glibc's
            mmap threshold (32 MB): larger ones were measured to spend a third of the time in the
            kernel (page faults of freshly mapped buffers) for no gain.
        num_threads: torch's intra-op threads during a solve (1; set for the call and restored
            after it; ``None`` keeps torch's setting). The products here are small per draw; on the
            2-core test machine, shared with other jobs, 2 threads ran 13x slower than 1 (OpenMP
            threads waiting for descheduled peers), so parallelism belongs to processes (the figure
            sweeps split a point over workers).

    ``solve(scenario, rng=...)`` solves one draw; :meth:`solve_batch` solves many at once. Both return
    :class:`~isac_gym.baselines.base.SolverResult` objects: ``objective`` = ``U_com`` (bit/s/Hz) of
    the returned design, ``metrics`` from :func:`isac_env.physics.evaluate` (complex128 NumPy),
    ``history`` of the winning start at every multiplier update (entry 0 = the start): ``sum_rate``,
    ``crb_trace``, ``best_sum_rate`` (best feasible so far, NaN before the first), ``lambda``,
    ``rho``; ``iterations`` = Adam steps; ``wall_time_s`` = the batch's time divided by its draws;
    ``extra``: ``start`` (winning start), ``best_iteration``, ``starts``, ``batch_size``,
    ``batch_wall_time_s``, ``device``, ``dtype``.
    """

    name = "batched_gd"
    sensing: bool = True
    optimize_phi: bool = True

    def __init__(
        self,
        *,
        starts: int = 4,
        keep: int = 1,
        screen_iters: int = 40,
        iters: int = 250,
        lr_phi: float = 0.1,
        lr_w: float = 0.1,
        lr_final: float = 0.02,
        betas: tuple[float, float] = (0.9, 0.9),
        adam_eps: float = 1e-10,
        rho0: float = 1.0,
        rho_max: float = 1e5,
        al_every: int = 20,
        feas_tol: float = 1e-3,
        margin: float = 1e-3,
        tol: float = 1e-4,
        bf_rule: str = "sum_gain",
        device: Any = "cpu",
        dtype: Any = "complex128",
        chunk_mb: float = 20.0,
        num_threads: int | None = 1,
    ) -> None:
        if int(starts) < 1:
            raise ValueError(f"starts must be >= 1, got {starts}")
        if not 1 <= int(keep) <= int(starts):
            raise ValueError(f"keep must be in [1, starts], got {keep}")
        if int(screen_iters) < 0:
            raise ValueError(f"screen_iters must be >= 0, got {screen_iters}")
        if int(iters) < 1:
            raise ValueError(f"iters must be >= 1, got {iters}")
        if int(al_every) < 1:
            raise ValueError(f"al_every must be >= 1, got {al_every}")
        if not (lr_phi > 0 and lr_w > 0 and 0 < lr_final <= 1):
            raise ValueError("lr_phi and lr_w must be > 0 and lr_final in (0, 1]")
        if not (rho0 > 0 and rho_max >= rho0):
            raise ValueError("rho0 must be > 0 and rho_max >= rho0")
        if bf_rule not in ("sum_gain", "eigenvector"):
            raise ValueError(f"bf_rule must be 'sum_gain' or 'eigenvector', got {bf_rule!r}")
        if num_threads is not None and int(num_threads) < 1:
            raise ValueError(f"num_threads must be None or >= 1, got {num_threads}")
        if not chunk_mb > 0:
            raise ValueError(f"chunk_mb must be > 0, got {chunk_mb}")
        name = str(dtype).replace("torch.", "")
        if name not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")
        self.starts, self.iters, self.al_every = int(starts), int(iters), int(al_every)
        self.keep, self.screen_iters = int(keep), int(screen_iters)
        self.lr_phi, self.lr_w, self.lr_final = float(lr_phi), float(lr_w), float(lr_final)
        self.betas, self.adam_eps = (float(betas[0]), float(betas[1])), float(adam_eps)
        self.rho0, self.rho_max = float(rho0), float(rho_max)
        self.feas_tol, self.tol, self.bf_rule = float(feas_tol), float(tol), bf_rule
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin must be in [0, 1), got {margin}")
        self.margin = float(margin)
        self.device, self.dtype_name, self.chunk_mb = device, name, float(chunk_mb)
        self.num_threads = None if num_threads is None else int(num_threads)

    # ------------------------------------------------------------------ public API
    def solve(
        self,
        scenario: RydbergScenario,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        """Solve one draw (a batch of one; see :meth:`solve_batch`). ``rng`` draws the random starts;
        ``init = (W, phi)`` replaces the heuristic start (``phi`` ignored by BF-only)."""
        require_unbatched(scenario)
        return self._solve_rows([scenario], [rng], [init])[0]

    def solve_batch(
        self,
        scenarios: Sequence[RydbergScenario] | RydbergScenario,
        *,
        rngs: Sequence[np.random.Generator] | None = None,
        seed: int = 0,
        inits: Sequence[tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None] | None = None,
    ) -> list[SolverResult]:
        """Solve every draw of a batch at once; one result per draw, in order.

        Args:
            scenarios: unbatched scenarios (NumPy or torch), or one scenario with a batch axis ``[B]``.
                Draws of different sizes are grouped and solved group by group.
            rngs: one generator per draw for its random starts; default
                ``np.random.default_rng(c)`` for the children ``c`` of ``SeedSequence(seed).spawn(B)``.
            seed: root seed of the default ``rngs``.
            inits: optional per-draw warm starts ``(W, phi)`` (or ``None``), as ``solve``'s ``init``.

        Returns:
            ``list[SolverResult]`` of length ``B``. A numerical fault in a batched pass falls back to
            per-draw :meth:`solve` calls for that group (each guarded as usual; their random starts
            continue the generators where the failed pass left them).
        """
        items = _as_list(scenarios)
        B = len(items)
        if rngs is None:
            rngs = [np.random.default_rng(c) for c in np.random.SeedSequence(seed).spawn(B)]
        if len(rngs) != B:
            raise ValueError(f"got {len(rngs)} rngs for {B} scenarios")
        inits = list(inits) if inits is not None else [None] * B
        if len(inits) != B:
            raise ValueError(f"got {len(inits)} inits for {B} scenarios")
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, s in enumerate(items):
            groups.setdefault((tuple(s.H_RU.shape), tuple(s.H_BR.shape), s.rsr_model), []).append(i)
        out: list[SolverResult | None] = [None] * B
        for idx in groups.values():
            with trap_faults() as trap:
                res = self._solve_rows(
                    [items[i] for i in idx], [rngs[i] for i in idx], [inits[i] for i in idx]
                )
            if trap:  # a fault of the batched pass: per-draw solves, each with its own fault handling
                res = [self.solve(items[i], rng=rngs[i], init=inits[i]) for i in idx]
            for i, r in zip(idx, res, strict=True):
                out[i] = r
        return [r for r in out if r is not None]

    # ------------------------------------------------------------------ starts
    def _phases(self, s: RydbergScenario) -> NDArray[np.complex128]:
        """Heuristic start phases (and the fixed phases of BF-only)."""
        if not self.optimize_phi:
            return bf_only_phases(s, self.bf_rule)
        return gain_phases(s)

    def _starts(
        self,
        s: RydbergScenario,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None,
    ) -> _Start:
        P = float(s.P_max)
        d = s.dims
        Nt, K, N = d["Nt"], d["K"], d["N"]
        fixed = self._phases(s)
        if init is not None and init[1] is not None and self.optimize_phi:
            phi0 = np.exp(1j * np.angle(np.asarray(init[1], dtype=np.complex128)))
        else:
            phi0 = fixed
        if init is not None:
            W0 = full_power(np.asarray(init[0], dtype=np.complex128), P)
        else:
            W0 = mrt_precoder(np.asarray(effective_channels(s, phi0)), P)
        Ws, phis = [W0], [phi0]
        for _ in range(self.starts - 1):
            Wr = rng.standard_normal((Nt, K)) + 1j * rng.standard_normal((Nt, K))
            Ws.append(full_power(Wr, P))
            phis.append(np.exp(2j * np.pi * rng.random(N)) if self.optimize_phi else fixed)
        return _Start(W=np.stack(Ws), phi=np.stack(phis))

    # ------------------------------------------------------------------ the batched run
    def _torch_setup(self) -> tuple[Any, Any, Any]:
        import torch

        dev = self.device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        dev = torch.device(dev)
        cdt = getattr(torch, self.dtype_name)
        rdt = torch.float64 if cdt == torch.complex128 else torch.float32
        return dev, cdt, rdt

    def _solve_rows(
        self,
        scenarios: list[RydbergScenario],
        rngs: Sequence[np.random.Generator],
        inits: Sequence[Any],
    ) -> list[SolverResult]:
        with _torch_threads(self.num_threads):
            return self._solve_rows_threads(scenarios, rngs, inits)

    def _solve_rows_threads(
        self,
        scenarios: list[RydbergScenario],
        rngs: Sequence[np.random.Generator],
        inits: Sequence[Any],
    ) -> list[SolverResult]:
        sw = Stopwatch()
        np_scen = [s if s.backend == "numpy" else s.to("numpy") for s in scenarios]
        for s in np_scen:
            if s.batch_shape != ():
                raise InvalidProblemError(f"expected unbatched scenarios, got batch shape {s.batch_shape}")
        starts = [self._starts(s, r, i) for s, r, i in zip(np_scen, rngs, inits, strict=True)]
        B, S = len(np_scen), self.starts
        dev, cdt, rdt = self._torch_setup()
        stacked = stack_scenarios(np_scen).to("torch", device=dev, dtype=cdt)
        W0 = np.concatenate([st.W for st in starts])  # [B S, Nt, K], rows ordered (draw, start)
        phi0 = np.concatenate([st.phi for st in starts])
        row_bytes = stacked.H_RU[0].numel() * stacked.H_RU.element_size()
        per_chunk = max(1, int(self.chunk_mb * 1e6 / row_bytes) // S)  # draws per autograd pass
        outs: list[dict[str, Any]] = []
        for lo in range(0, B, per_chunk):
            hi = min(B, lo + per_chunk)
            rows = slice(lo * S, hi * S)
            draw = np.repeat(np.arange(hi - lo), S)
            outs.append(self._run_chunk(stacked[lo:hi], draw, W0[rows], phi0[rows], dev, cdt, rdt))
        run = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
        elapsed = sw.elapsed()
        return [self._result(i, np_scen[i], run, S, B, elapsed, dev) for i in range(B)]

    def _run_chunk(
        self,
        stacked: RydbergScenario,
        draw: NDArray[np.int64],
        W0: NDArray[np.complex128],
        phi0: NDArray[np.complex128],
        dev: Any,
        cdt: Any,
        rdt: Any,
    ) -> dict[str, NDArray[Any]]:
        """Adam ascent of the rows (``draw[r]`` = draw of row ``r`` in ``stacked``, rows of a draw
        consecutive) from ``(W0, phi0)``; returns NumPy arrays indexed by row."""
        import torch

        R, S, T = len(draw), self.starts, self.iters
        b1, b2 = self.betas
        n_rec = T // self.al_every + 1 + (T % self.al_every > 0)
        draw_t = torch.as_tensor(draw, device=dev)
        s = stacked[draw_t]
        rid = torch.arange(R, device=dev)  # original row of each active row
        eps = s.eps.to(rdt)
        target = eps * (1.0 - self.margin)  # the AL's threshold, inside the feasible set
        s = s.replace(eps=target.to(s.eps.dtype))
        # the best-feasible test; in single precision with half the tolerance, so that the design
        # stays feasible when re-evaluated in complex128
        accept = eps * (1.0 + (self.feas_tol if rdt == torch.float64 else 0.5 * self.feas_tol))
        V = torch.as_tensor(W0, device=dev).to(cdt)
        V = V / torch.linalg.vector_norm(V, dim=(-2, -1), keepdim=True)
        theta = torch.as_tensor(np.angle(phi0), device=dev).to(rdt)
        st = {
            "V": V, "theta": theta, "eps": target, "accept": accept,
            "lam": torch.zeros(R, device=dev, dtype=rdt),
            "rho": torch.full((R,), self.rho0, device=dev, dtype=rdt),
            "viol_prev": torch.full((R,), math.inf, device=dev, dtype=rdt),
            "mV": torch.zeros_like(torch.view_as_real(V)), "vV": torch.zeros_like(torch.view_as_real(V)),
            "mT": torch.zeros_like(theta), "vT": torch.zeros_like(theta),
            "best_prev": torch.full((R,), -math.inf, device=dev, dtype=rdt),
        }  # fmt: skip
        # records of every row, kept after a row is dropped by the screening
        rec = {
            "best_U": torch.full((R,), -math.inf, device=dev, dtype=rdt),
            "best_it": torch.full((R,), -1, device=dev, dtype=torch.int64),
            "best_V": V.clone(), "best_T": theta.clone(),
            "low_h": torch.full((R,), math.inf, device=dev, dtype=rdt),
            "low_V": V.clone(), "low_T": theta.clone(),
            "conv": torch.zeros(R, dtype=torch.bool, device=dev),
            "steps": torch.zeros(R, dtype=torch.int64, device=dev),
        }  # fmt: skip
        hist = {
            k: torch.full((R, n_rec), math.nan, device=dev, dtype=rdt)
            for k in ("sum_rate", "crb_trace", "best_sum_rate", "lambda", "rho")
        }
        k_rec = 0
        for t in range(T + 1):
            Vg = st["V"].detach().requires_grad_(True)
            Tg = st["theta"].detach().requires_grad_(self.optimize_phi)
            loss, U, h = ascent_objective(s, Vg, Tg, st["lam"], st["rho"], sensing=self.sensing)
            Ud, hd = U.detach().to(rdt), h.detach()
            finite = torch.isfinite(Ud) & torch.isfinite(hd)
            # bookkeeping at the current iterate (before its step)
            ok = finite & (hd <= st["accept"]) if self.sensing else finite
            bU = rec["best_U"][rid]
            better = ok & (Ud > bU)
            rec["best_U"][rid] = torch.where(better, Ud, bU)
            rec["best_it"][rid] = torch.where(better, torch.full_like(rid, t), rec["best_it"][rid])
            rec["best_V"][rid] = torch.where(better[:, None, None], st["V"], rec["best_V"][rid])
            rec["best_T"][rid] = torch.where(better[:, None], st["theta"], rec["best_T"][rid])
            lh = rec["low_h"][rid]
            lower = finite & (hd < lh)
            rec["low_h"][rid] = torch.where(lower, hd, lh)
            rec["low_V"][rid] = torch.where(lower[:, None, None], st["V"], rec["low_V"][rid])
            rec["low_T"][rid] = torch.where(lower[:, None], st["theta"], rec["low_T"][rid])
            rec["steps"][rid] = t
            block = t % self.al_every == 0 or t == T
            if block:
                bU = rec["best_U"][rid]
                hist["sum_rate"][rid, k_rec] = Ud / _LN2
                hist["crb_trace"][rid, k_rec] = hd
                hist["best_sum_rate"][rid, k_rec] = torch.where(torch.isfinite(bU), bU / _LN2, torch.nan)
                hist["lambda"][rid, k_rec] = st["lam"]
                hist["rho"][rid, k_rec] = st["rho"]
                k_rec += 1
                if t > 0:
                    gain = bU - st["best_prev"]
                    rec["conv"][rid] = torch.isfinite(bU) & (gain <= self.tol * torch.abs(bU))
                    if self.sensing:  # multiplier and penalty updates (PHR)
                        g = torch.where(finite, torch.log(hd / st["eps"]), torch.zeros_like(hd))
                        lam, rho = st["lam"], st["rho"]
                        viol = torch.maximum(g, -lam / rho).abs()
                        st["lam"] = torch.clamp(lam + rho * g, min=0.0)
                        grow = viol > 0.5 * st["viol_prev"]
                        st["rho"] = torch.where(grow, torch.clamp(2.0 * rho, max=self.rho_max), rho)
                        st["viol_prev"] = viol
                st["best_prev"] = bU.clone()
            if t == T:
                break
            loss = torch.where(finite, loss, torch.zeros_like(loss))
            params = [Vg, Tg] if self.optimize_phi else [Vg]
            grads = torch.autograd.grad(loss.sum(), params)
            frac = 0.5 * (1.0 + math.cos(math.pi * t / T))
            scale = self.lr_final + (1.0 - self.lr_final) * frac
            corr1, corr2 = 1.0 - b1 ** (t + 1), 1.0 - b2 ** (t + 1)
            with torch.no_grad():
                gV = torch.nan_to_num(grads[0])  # Riemannian gradient on the sphere ||V||_F = 1:
                gV = gV - torch.real(torch.sum(gV.conj() * st["V"], dim=(-2, -1), keepdim=True)) * st["V"]
                gV = torch.view_as_real(gV)
                st["mV"].mul_(b1).add_(gV, alpha=1.0 - b1)
                st["vV"].mul_(b2).addcmul_(gV, gV, value=1.0 - b2)
                step = (st["mV"] / corr1) / (torch.sqrt(st["vV"] / corr2) + self.adam_eps)
                V = st["V"] + self.lr_w * scale * torch.view_as_complex(step.contiguous())
                st["V"] = V / torch.linalg.vector_norm(V, dim=(-2, -1), keepdim=True)
                if self.optimize_phi:
                    gT = torch.nan_to_num(grads[1])
                    st["mT"].mul_(b1).add_(gT, alpha=1.0 - b1)
                    st["vT"].mul_(b2).addcmul_(gT, gT, value=1.0 - b2)
                    upd = (st["mT"] / corr1) / (torch.sqrt(st["vT"] / corr2) + self.adam_eps)
                    st["theta"] = st["theta"] + self.lr_phi * scale * upd
            if t + 1 == self.screen_iters and self.keep < S:  # successive halving: keep the best starts
                with torch.no_grad():
                    Lv = augmented_lagrangian(Ud, hd, st["eps"], st["lam"], st["rho"]) if self.sensing else Ud
                    # rows of a draw are consecutive, all active here
                    score = torch.nan_to_num(Lv, nan=-torch.inf).reshape(-1, S)
                    top = torch.topk(score, self.keep, dim=1).indices
                    sel = (top + S * torch.arange(score.shape[0], device=dev)[:, None]).reshape(-1)
                    sel = torch.sort(sel).values
                rid = rid[sel]
                s = s[sel]
                st = {k: v[sel] for k, v in st.items()}
        has = torch.isfinite(rec["best_U"])
        out_V = torch.where(has[:, None, None], rec["best_V"], rec["low_V"])
        out_T = torch.where(has[:, None], rec["best_T"], rec["low_T"])

        def host(x: Any) -> NDArray[Any]:
            return x.detach().cpu().numpy()

        P_all = host(stacked.P_max).astype(np.float64)[draw]
        return {
            "W": host(out_V).astype(np.complex128) * np.sqrt(P_all)[:, None, None],
            "theta": host(out_T).astype(np.float64),
            "score": host(rec["best_U"]).astype(np.float64),
            "has_feasible": host(has),
            "low_h": host(rec["low_h"]).astype(np.float64),
            "best_it": host(rec["best_it"]),
            "converged": host(rec["conv"]),
            "steps": host(rec["steps"]),
            **{f"hist_{k}": _ffill(host(v).astype(np.float64)) for k, v in hist.items()},
        }

    # ------------------------------------------------------------------ results
    def _result(
        self,
        i: int,
        s: RydbergScenario,
        run: dict[str, NDArray[Any]],
        S: int,
        B: int,
        elapsed: float,
        dev: Any,
    ) -> SolverResult:
        rows = np.arange(i * S, (i + 1) * S)
        has = run["has_feasible"][rows]
        score = run["score"][rows]
        if self.sensing and not has.any():
            # no feasible iterate: the start whose least-CRB iterate has the smallest CRB
            key = -run["low_h"][rows]
        else:
            key = np.where(has, score, -np.inf) if self.sensing else score
        j = int(np.argmax(np.nan_to_num(key, nan=-np.inf)))
        r = rows[j]
        W = full_power(run["W"][r], float(s.P_max))
        phi = np.exp(1j * run["theta"][r])
        m = metrics_dict(s, W, phi)
        feasible = design_feasible(s, W, phi, m["crb_trace"], self.feas_tol)
        converged = bool(run["converged"][r])
        reason = "converged" if converged else "max_iter"
        if self.sensing and not has[j]:
            reason = (
                f"infeasible: no iterate met tr CRB <= eps(1+{self.feas_tol:g}) "
                f"(least {m['crb_trace']:.4g} > {float(s.eps):g}); {reason}"
            )
        elif self.sensing and not is_feasible(m["crb_trace"], float(s.eps), self.feas_tol):
            reason = f"infeasible after complex128 re-evaluation (tr CRB {m['crb_trace']:.4g}); {reason}"
        hist = {k[5:]: list(run[k][r]) for k in run if k.startswith("hist_")}
        return SolverResult(
            W=W, phi=phi, objective=m["sum_rate"], history=hist, converged=converged,
            stop_reason=reason, iterations=int(run["steps"][r]), wall_time_s=elapsed / B, feasible=feasible,
            metrics=m,
            extra={
                "start": j, "best_iteration": int(run["best_it"][r]), "starts": S, "batch_size": B,
                "batch_wall_time_s": elapsed, "device": str(dev), "dtype": self.dtype_name,
            },
        )  # fmt: skip


class BatchedGDSolver(BatchedAscentSolver):
    """Joint ``(W, phi)`` ascent with the CRB constraint (the batched counterpart of ``"gd"``)."""

    name = "batched_gd"
    #: not yet part of best_known: its cached references (and the README's tier tables) were measured
    #: without it; it beats GD on 99% of Table-I draws, so adding it will raise best_known
    best_known = False
    sensing = True
    optimize_phi = True


class BatchedCommOnlySolver(BatchedAscentSolver):
    """``max U_com`` over ``(W, phi)`` without the CRB constraint (counterpart of ``"comm_only"``);
    the CRB is reported, ``feasible`` checks it as for the other solvers."""

    name = "batched_comm_only"
    best_known = False  # see BatchedGDSolver
    sensing = False
    optimize_phi = True


class BatchedBFOnlySolver(BatchedAscentSolver):
    """Phases fixed at :func:`~isac_gym.baselines.heuristics.bf_only_phases` (option ``bf_rule``), ``W``
    by the batched ascent with the CRB constraint (counterpart of ``"bf_only"``)."""

    name = "batched_bf_only"
    best_known = False  # see BatchedGDSolver
    sensing = True
    optimize_phi = False


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` inside the block and restored after (``None``: unchanged)."""
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    if old == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _ffill(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Forward-fill NaN along the last axis (a screened-out row keeps its last recorded values)."""
    out = a.copy()
    for k in range(1, out.shape[-1]):
        gap = np.isnan(out[..., k])
        out[..., k] = np.where(gap, out[..., k - 1], out[..., k])
    return out


def _as_list(scenarios: Sequence[RydbergScenario] | RydbergScenario) -> list[RydbergScenario]:
    """A batched scenario ``[B]`` (or a list of unbatched ones) as a list of unbatched scenarios."""
    if isinstance(scenarios, RydbergScenario):
        shape = scenarios.batch_shape
        if len(shape) != 1:
            raise InvalidProblemError(f"a batched scenario must have one batch axis, got {shape}")
        return [scenarios[i] for i in range(shape[0])]
    items = list(scenarios)
    for s in items:
        if not isinstance(s, RydbergScenario):
            raise InvalidProblemError(f"expected RydbergScenario objects, got {type(s).__name__}")
    return items


# ---------------------------------------------------------------------------------------------
# draws of an environment, solved as one batch (figure sweeps, benchmarks)
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class EnvDraws:
    """A picklable task: solve the draws ``env.reset(seed=s)`` of ``env_id`` as one batch.

    Attributes:
        solver: registered name of a batched solver (``"batched_gd"``, ...); options: its
            constructor keywords as ``(key, value)`` pairs.
        env_id, env_kwargs: the environment (``gym.make(env_id, **dict(env_kwargs))``).
        seeds: reset seed of each draw; policy_seeds: the seed of each draw's ``rng``
            (``np.random.default_rng(policy_seed)``, as the evaluation's per-draw solver policy gets).
    """

    solver: str
    options: tuple[tuple[str, Any], ...]
    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...]
    seeds: tuple[int, ...]
    policy_seeds: tuple[int, ...]


def solve_env_draws(task: EnvDraws) -> dict[str, Any]:
    """Draw ``task``'s scenarios through the environment and solve them in one :meth:`solve_batch`.

    The scenario of a draw is ``env.unwrapped.scenario`` after ``env.reset(seed=seed)``, the one the
    evaluation's per-draw policies see. Module-level and deterministic given the task, so
    :func:`isac_gym.agents.parallel.run_tasks` can run chunks of an eval set on several workers.

    Returns:
        ``{"results": [result_to_dict(r), ...], "draw_s": wall time of the resets, "solve_s": wall
        time of the batched solve, "draw_cpu_s", "solve_cpu_s": their CPU times (this process)}``
        (plain, picklable data).
    """
    import gymnasium as gym

    import isac_env  # noqa: F401  (registers the ids)

    from . import get_solver

    sw, cpu0 = Stopwatch(), time.process_time()
    env = gym.make(task.env_id, **dict(task.env_kwargs))
    scenarios = []
    for seed in task.seeds:
        env.reset(seed=int(seed))
        scenarios.append(env.unwrapped.scenario)
    env.close()
    draw_s, cpu1 = sw.elapsed(), time.process_time()
    solver = get_solver(task.solver, **dict(task.options))
    if not hasattr(solver, "solve_batch"):
        raise ValueError(f"solver {task.solver!r} has no solve_batch")
    rngs = [np.random.default_rng(int(ps)) for ps in task.policy_seeds]
    results = solver.solve_batch(scenarios, rngs=rngs)
    return {
        "results": [result_to_dict(r) for r in results],
        "draw_s": draw_s,
        "solve_s": sw.elapsed() - draw_s,
        "draw_cpu_s": cpu1 - cpu0,
        "solve_cpu_s": time.process_time() - cpu1,
    }


def result_to_dict(result: SolverResult) -> dict[str, Any]:
    """A :class:`SolverResult` as plain data (arrays, floats, lists, dicts): picklable, and JSON-able
    apart from ``W`` / ``phi``. Inverse: :func:`result_from_dict`."""
    return {
        "W": None if result.W is None else np.array(result.W),
        "phi": None if result.phi is None else np.array(result.phi),
        "objective": result.objective,
        "history": {k: list(v) for k, v in result.history.items()},
        "converged": result.converged,
        "stop_reason": result.stop_reason,
        "iterations": result.iterations,
        "wall_time_s": result.wall_time_s,
        "feasible": result.feasible,
        "metrics": dict(result.metrics),
        "extra": dict(result.extra),
    }


def result_from_dict(data: dict[str, Any]) -> SolverResult:
    """The :class:`SolverResult` of :func:`result_to_dict`'s output."""
    return SolverResult(**data)
