"""Common interface of the optimization baselines: :class:`Solver` and :class:`SolverResult`.

A solver reads one problem instance (for the Rydberg task a
:class:`isac_env.physics.RydbergScenario`; other tasks pass their own problem object) and
returns a design ``(W, phi)`` with its metrics and a per-iteration history. Solvers never raise
deep inside a sweep because an instance is hard: an infeasible or non-converged run returns a
result whose ``stop_reason`` says so and whose ``feasible`` flag is ``False``.

Conventions (DESIGN.md): ``W`` is the precoder ``[Nt, K]`` (complex128, watts in
``||W||_F^2``), ``phi`` the RIS reflection vector ``[N]`` (``|phi_n| = 1``) or ``None`` for a
system without RIS; randomness only through the ``rng`` argument.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["Solver", "SolverResult", "Stopwatch", "as_float_history"]


def as_float_history(history: Mapping[str, list[Any]]) -> dict[str, list[float]]:
    """Copy a history mapping with every entry converted to a plain ``list[float]``."""
    return {k: [float(x) for x in v] for k, v in history.items()}


@dataclass(frozen=True)
class SolverResult:
    """Outcome of one :meth:`Solver.solve` call.

    Attributes:
        W: precoder ``[Nt, K]`` complex128 (read-only copy).
        phi: RIS reflection vector ``[N]`` complex128 with ``|phi_n| = 1``, or ``None``.
        objective: the solver's objective at the returned design (for the Rydberg task
            ``U_com`` (24) in bit/s/Hz); ``-inf`` if no design could be evaluated.
        history: per-iteration traces, ``{name: [float, ...]}``. Every solver logs at least
            ``"sum_rate"`` (bit/s/Hz) and, where sensing is modelled, ``"crb_trace"`` (rad^2),
            one entry per outer iteration (entry 0 = the initial point).
        converged: ``True`` if the stopping rule fired (as opposed to the iteration cap or a
            failure).
        stop_reason: human-readable reason, e.g. ``"converged"``, ``"max_iter"``,
            ``"infeasible: ..."``, ``"closed_form"``.
        iterations: number of outer iterations performed.
        wall_time_s: wall-clock time of the solve (s).
        feasible: whether the returned design satisfies every constraint of the problem
            (within the solver's documented tolerance).
        metrics: metrics of the returned design computed by the physics core
            (``isac_env.physics.evaluate`` for the Rydberg task), plain floats / float lists.
        extra: solver-specific diagnostics (final penalty parameters, best iteration, ...).
    """

    W: NDArray[np.complex128]
    phi: NDArray[np.complex128] | None
    objective: float
    history: Mapping[str, list[float]]
    converged: bool
    stop_reason: str
    iterations: int
    wall_time_s: float
    feasible: bool
    metrics: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        W = np.array(self.W, dtype=np.complex128, copy=True)
        W.flags.writeable = False
        object.__setattr__(self, "W", W)
        if self.phi is not None:
            phi = np.array(self.phi, dtype=np.complex128, copy=True)
            phi.flags.writeable = False
            object.__setattr__(self, "phi", phi)
        object.__setattr__(self, "history", MappingProxyType(as_float_history(self.history)))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        object.__setattr__(self, "objective", float(self.objective))
        object.__setattr__(self, "iterations", int(self.iterations))
        object.__setattr__(self, "wall_time_s", float(self.wall_time_s))
        object.__setattr__(self, "converged", bool(self.converged))
        object.__setattr__(self, "feasible", bool(self.feasible))

    def summary(self) -> dict[str, Any]:
        """Flat row of scalars for tidy result tables (no arrays, no history)."""
        row: dict[str, Any] = {
            "objective": self.objective,
            "converged": self.converged,
            "stop_reason": self.stop_reason,
            "iterations": self.iterations,
            "wall_time_s": self.wall_time_s,
            "feasible": self.feasible,
        }
        for k, v in self.metrics.items():
            if np.ndim(v) == 0:
                row[k] = float(v)
        return row


class Solver(ABC):
    """An optimization baseline: a deterministic map ``problem -> design`` given an ``rng``.

    Subclasses set the class attribute ``name`` (the registry name) and implement
    :meth:`solve`. Options are constructor keyword arguments; a solver instance may cache
    problem-independent structures (e.g. a parametrised cvxpy problem) and is therefore not
    guaranteed to be thread-safe, but is safe to reuse sequentially.
    """

    name: ClassVar[str] = "solver"

    @abstractmethod
    def solve(
        self,
        scenario: Any,
        *,
        rng: np.random.Generator,
        init: tuple[NDArray[np.complex128], NDArray[np.complex128] | None] | None = None,
    ) -> SolverResult:
        """Solve one problem instance.

        Args:
            scenario: the problem instance (unbatched), e.g. a ``RydbergScenario``.
            rng: the only source of randomness (random restarts, random phases, ...).
            init: optional warm start ``(W [Nt, K], phi [N] or None)``; solvers that have no
                use for it ignore it.

        Returns:
            A :class:`SolverResult`; never raises because an instance is infeasible.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Stopwatch:
    """Tiny wall-clock helper: ``sw = Stopwatch(); ...; sw.elapsed()`` (seconds)."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0
