"""Common interface of the optimization baselines: :class:`Solver` and :class:`SolverResult`.

A solver reads one problem instance (for the Rydberg task a
:class:`isac_env.physics.RydbergScenario`; other tasks pass their own problem object) and
returns a design ``(W, phi)`` with its metrics and a per-iteration history. Solvers never raise
deep inside a sweep because an instance is hard: an infeasible or non-converged run returns a
result whose ``stop_reason`` says so and whose ``feasible`` flag is ``False``.

**Failed solves.** A solver that finds no design at all returns :meth:`SolverResult.failed`:
``W = phi = None`` (:attr:`SolverResult.solved` is ``False``), ``feasible=False``,
``objective = nan``, empty ``metrics`` and a ``stop_reason`` starting with ``"failed: "``. Such a
result is recorded, never scored (evaluation rows mark it unsolved). A returned design that merely
violates a constraint (e.g. Comm-only breaking the CRB) is not a failed solve: it has ``W`` and
``feasible=False``.

**Numerical faults.** The faults of the numerical libraries -- cvxpy ``SolverError``, the
``PanicException`` that Clarabel's Rust core raises (a ``BaseException``), numpy ``LinAlgError``,
``ArithmeticError`` (``FloatingPointError``, ``OverflowError``, ...) and ``ValueError`` -- are
recognised in one place, :func:`is_solver_fault`. Every cvxpy solve goes through
:func:`cvxpy_solve` (a fault becomes an ``"error: ..."`` status that the solver handles, e.g. by
keeping its best valid iterate), and every :meth:`Solver.solve` is wrapped at class creation so that
a fault escaping from it becomes a failed result (:func:`guard_solve`).

Conventions (DESIGN.md): ``W`` is the precoder ``[Nt, K]`` (complex128, watts in
``||W||_F^2``), ``phi`` the RIS reflection vector ``[N]`` (``|phi_n| = 1``) or ``None`` for a
system without RIS; randomness only through the ``rng`` argument.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FAILED_PREFIX",
    "INACCURATE_WARNING",
    "InvalidProblemError",
    "Solver",
    "SolverResult",
    "Stopwatch",
    "as_float_history",
    "cvxpy_solve",
    "describe_fault",
    "guard_solve",
    "is_inaccurate",
    "is_solver_fault",
    "require_unbatched",
    "solve_status_extra",
    "trap_faults",
]

#: prefix of the ``stop_reason`` of a failed solve (no design found)
FAILED_PREFIX = "failed: "
#: start of the ``UserWarning`` cvxpy emits for an ``*_inaccurate`` status (silenced in
#: :func:`cvxpy_solve`; the status is recorded instead, see :func:`solve_status_extra`)
INACCURATE_WARNING = "Solution may be inaccurate"
#: exceptions re-raised by every fault handler, whatever the library
_NEVER_CAUGHT = (KeyboardInterrupt, SystemExit, GeneratorExit)
#: faults of numpy / scipy / the solver numerics, caught by type
_NUMERIC_FAULTS: tuple[type[BaseException], ...] = (np.linalg.LinAlgError, ArithmeticError, ValueError)


class InvalidProblemError(ValueError):
    """A malformed problem instance (wrong type, batch shape, sizes): a caller's error, which
    :func:`is_solver_fault` does not count as a numerical fault, so it always propagates."""


def require_unbatched(scenario: Any) -> None:
    """Solvers take one problem instance.

    Raises:
        InvalidProblemError: ``scenario.batch_shape`` is not ``()``.
    """
    shape = getattr(scenario, "batch_shape", ())
    if shape != ():
        raise InvalidProblemError(f"solvers take an unbatched scenario, got batch shape {shape}")


def _panic_exception_type() -> type[BaseException] | None:
    """pyo3's ``PanicException`` class if its module is importable (it usually is not: pyo3 creates
    the class without registering ``pyo3_runtime`` in ``sys.modules``)."""
    try:
        from pyo3_runtime import PanicException  # type: ignore[import-not-found]
    except ImportError:
        return None
    return PanicException  # pragma: no cover - depends on the pyo3 build


_PANIC_TYPE = _panic_exception_type()


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic surfaced by pyo3 (Clarabel): ``pyo3_runtime.PanicException`` (a ``BaseException``)."""
    if _PANIC_TYPE is not None and isinstance(exc, _PANIC_TYPE):
        return True  # pragma: no cover - depends on the pyo3 build
    return any(cls.__name__ == "PanicException" for cls in type(exc).__mro__)


def _is_cvxpy_solver_error(exc: BaseException) -> bool:
    """``cvxpy.error.SolverError`` (matched without importing cvxpy)."""
    return any(
        cls.__name__ == "SolverError" and cls.__module__.startswith("cvxpy") for cls in type(exc).__mro__
    )


def is_solver_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is a numerical fault that a solver turns into a failed result or status.

    True for cvxpy ``SolverError``, Clarabel's ``PanicException`` (a ``BaseException`` subclass,
    matched by class name since its module is not importable), numpy ``LinAlgError``,
    ``ArithmeticError`` and ``ValueError``; never for ``KeyboardInterrupt``, ``SystemExit`` or
    ``GeneratorExit``, nor for :class:`InvalidProblemError` or programming errors (``TypeError``,
    ``AttributeError``, ...).
    """
    if isinstance(exc, (*_NEVER_CAUGHT, InvalidProblemError)):
        return False
    return isinstance(exc, _NUMERIC_FAULTS) or _is_panic(exc) or _is_cvxpy_solver_error(exc)


def describe_fault(exc: BaseException, limit: int = 200) -> str:
    """One-line description ``"<Type>: <first line of the message>"`` (at most ``limit`` characters)."""
    msg = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {msg[0]}" if msg else type(exc).__name__
    return text[:limit]


class FaultTrap:
    """What :func:`trap_faults` caught: ``fault`` (the exception or ``None``) and ``reason``."""

    def __init__(self) -> None:
        self.fault: BaseException | None = None

    @property
    def reason(self) -> str:
        """:func:`describe_fault` of the caught fault (``""`` if none)."""
        return "" if self.fault is None else describe_fault(self.fault)

    def __bool__(self) -> bool:
        return self.fault is not None


@contextmanager
def trap_faults() -> Iterator[FaultTrap]:
    """Context manager that catches a solver fault (:func:`is_solver_fault`) into the yielded
    :class:`FaultTrap` instead of raising it; anything else (``KeyboardInterrupt``, ``TypeError``,
    ...) propagates. The one place where :mod:`baselines` catches numerical faults::

        with trap_faults() as trap:
            step()
        if trap:
            stop_reason = f"error: {trap.reason}"
    """
    trap = FaultTrap()
    try:
        yield trap
    except BaseException as exc:
        if not is_solver_fault(exc):
            raise
        trap.fault = exc


#: the cvxpy statuses of the solves made inside the innermost running :meth:`Solver.solve`
#: (``None`` outside any): :func:`cvxpy_solve` adds to it, :func:`guard_solve` opens it and
#: records it in ``SolverResult.extra``. A context variable, so threads and nested solves
#: each see their own tally.
_STATUS_TALLY: ContextVar[Counter[str] | None] = ContextVar("isac_cvxpy_status_tally", default=None)


def is_inaccurate(status: str) -> bool:
    """Whether a cvxpy status is one of the ``*_inaccurate`` ones (``"optimal_inaccurate"``,
    ``"infeasible_inaccurate"``, ``"unbounded_inaccurate"``)."""
    return status.endswith("_inaccurate")


def solve_status_extra(statuses: Mapping[str, int]) -> dict[str, Any]:
    """The ``SolverResult.extra`` entries that describe a solve's cvxpy statuses.

    Args:
        statuses: status -> number of cvxpy solves that returned it (``"error: ..."`` statuses
            are counted under ``"error"``).

    Returns:
        ``{"cvxpy_solves": total, "n_inaccurate_solves": count of *_inaccurate statuses,
        "cvxpy_statuses": {status: count}}`` (sorted by status).
    """
    counts = {k: int(v) for k, v in sorted(statuses.items())}
    return {
        "cvxpy_solves": sum(counts.values()),
        "n_inaccurate_solves": sum(v for k, v in counts.items() if is_inaccurate(k)),
        "cvxpy_statuses": counts,
    }


def cvxpy_solve(problem: Any, solver: str, **options: Any) -> str:
    """``problem.solve(solver=solver, **options)`` with the solver faults turned into a status.

    The single entry point of every cvxpy solve in :mod:`baselines`. After an ``"error: ..."``
    status the variables' values are stale (from an earlier solve) and must not be read.

    cvxpy's ``UserWarning`` "Solution may be inaccurate" is silenced here (only that warning, only
    around this solve): the status itself says so, and it is counted in the tally of the running
    :meth:`Solver.solve`, which :func:`guard_solve` records in ``SolverResult.extra``
    (``n_inaccurate_solves``, ``cvxpy_statuses``; :func:`solve_status_extra`).

    Returns:
        the cvxpy status (``"optimal"``, ``"optimal_inaccurate"``, ``"infeasible"``, ...;
        ``"None"`` if cvxpy set none) or, when the solve raised a fault (:func:`is_solver_fault`),
        ``"error: <solver>: <Type>: <message>"``; other exceptions propagate.
    """
    with trap_faults() as trap, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=INACCURATE_WARNING, category=UserWarning)
        problem.solve(solver=solver, **options)
    status = f"error: {solver}: {trap.reason}"[:240] if trap else str(problem.status)
    tally = _STATUS_TALLY.get()
    if tally is not None:
        tally["error" if trap else status] += 1
    return status


def as_float_history(history: Mapping[str, list[Any]]) -> dict[str, list[float]]:
    """Copy a history mapping with every entry converted to a plain ``list[float]``."""
    return {k: [float(x) for x in v] for k, v in history.items()}


@dataclass(frozen=True)
class SolverResult:
    """Outcome of one :meth:`Solver.solve` call.

    Attributes:
        W: precoder ``[Nt, K]`` complex128 (read-only copy), or ``None`` when the solver found no
            design (a failed solve, see :meth:`failed`).
        phi: RIS reflection vector ``[N]`` complex128 with ``|phi_n| = 1``; ``None`` for a system
            without RIS or a failed solve.
        objective: the solver's objective at the returned design (for the Rydberg task
            ``U_com`` (24) in bit/s/Hz, for the robust task the transmit power in W); ``nan`` for a
            failed solve.
        history: per-iteration traces, ``{name: [float, ...]}``. Every solver logs at least
            ``"sum_rate"`` (bit/s/Hz) and, where sensing is modelled, ``"crb_trace"`` (rad^2),
            one entry per outer iteration (entry 0 = the initial point).
        converged: ``True`` if the stopping rule fired (as opposed to the iteration cap or a
            failure).
        stop_reason: human-readable reason, e.g. ``"converged"``, ``"max_iter"``,
            ``"infeasible: ..."`` (a design that violates a constraint), ``"closed_form"``; a failed
            solve's starts with ``"failed: "`` (e.g. ``"failed: transmit SDP (32) infeasible ..."``,
            ``"failed: solver error: PanicException: ..."``).
        iterations: number of outer iterations performed.
        wall_time_s: wall-clock time of the solve (s).
        feasible: whether the returned design satisfies every constraint of the problem,
            the power budget included (within the solver's documented tolerance); ``False`` for
            a failed solve.
        metrics: metrics of the returned design computed by the physics core
            (``isac_env.physics.evaluate`` for the Rydberg task), plain floats / float lists;
            empty for a failed solve.
        extra: solver-specific diagnostics (final penalty parameters, best iteration, cvxpy
            ``solver_status``, ...). Every result of a :meth:`Solver.solve` also carries the cvxpy
            statuses of the solves it made (:func:`guard_solve`): ``cvxpy_solves`` (count),
            ``n_inaccurate_solves`` (how many ended ``*_inaccurate``) and ``cvxpy_statuses``
            (``{status: count}``); all zero / empty for a solver without cvxpy.
    """

    W: NDArray[np.complex128] | None
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
        if self.W is not None:
            W = np.array(self.W, dtype=np.complex128, copy=True)
            W.flags.writeable = False
            object.__setattr__(self, "W", W)
        elif self.feasible:
            raise ValueError("a result without a design (W is None) cannot be feasible")
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

    @property
    def solved(self) -> bool:
        """``True`` iff the solver returned a design (``W is not None``); ``False`` for a failed solve."""
        return self.W is not None

    @classmethod
    def failed(
        cls,
        reason: str,
        *,
        history: Mapping[str, list[Any]] | None = None,
        iterations: int = 0,
        wall_time_s: float = 0.0,
        extra: Mapping[str, Any] | None = None,
    ) -> SolverResult:
        """The result of a solve that found no design.

        Args:
            reason: why; ``"failed: "`` is prepended unless ``reason`` already starts with it.
            history: the traces logged before the failure (default: none).
            iterations: iterations performed; wall_time_s: time spent (s).
            extra: diagnostics (e.g. the cvxpy statuses).

        Returns:
            ``W = phi = None``, ``feasible=False``, ``converged=False``, ``objective = nan``,
            ``metrics = {}``.
        """
        stop = reason if reason.startswith(FAILED_PREFIX) else FAILED_PREFIX + reason
        return cls(
            W=None, phi=None, objective=float("nan"), history=dict(history or {}), converged=False,
            stop_reason=stop, iterations=iterations, wall_time_s=wall_time_s, feasible=False,
            metrics={}, extra=dict(extra or {}),
        )  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """Flat row of scalars for tidy result tables (no arrays, no history)."""
        row: dict[str, Any] = {
            "solved": self.solved,
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


SolveMethod = Callable[..., SolverResult]


def _non_finite_design(result: SolverResult) -> bool:
    return result.W is not None and not (
        np.all(np.isfinite(result.W)) and (result.phi is None or np.all(np.isfinite(result.phi)))
    )


def _with_statuses(result: SolverResult, statuses: Mapping[str, int]) -> SolverResult:
    """``result`` with the cvxpy status entries (:func:`solve_status_extra`) added to ``extra``."""
    return dataclasses.replace(result, extra={**result.extra, **solve_status_extra(statuses)})


def guard_solve(solve: SolveMethod) -> SolveMethod:
    """Wrap a :meth:`Solver.solve` so that it never raises on a hard instance.

    A solver fault (:func:`is_solver_fault`) escaping from ``solve`` becomes
    ``SolverResult.failed("solver error: <Type>: <message>")`` with ``extra["fault"]`` = the
    exception type name; a returned design with non-finite entries becomes
    ``SolverResult.failed("non-finite design")`` (no fake design is ever scored). Other exceptions
    (bad arguments, programming errors) propagate. Every returned result's ``extra`` records the
    statuses of the cvxpy solves made during the call (:func:`solve_status_extra`; a nested
    ``Solver.solve`` counts toward its caller's too). Applied automatically to every subclass's
    ``solve`` by :class:`Solver`; idempotent.
    """
    if getattr(solve, "__solver_guarded__", False):
        return solve

    @functools.wraps(solve)
    def guarded(self: Solver, *args: Any, **kwargs: Any) -> SolverResult:
        sw = Stopwatch()
        tally: Counter[str] = Counter()
        token = _STATUS_TALLY.set(tally)
        try:
            with trap_faults() as trap:
                result = solve(self, *args, **kwargs)
        finally:
            _STATUS_TALLY.reset(token)
            outer = _STATUS_TALLY.get()
            if outer is not None:
                outer.update(tally)
        if trap:
            result = SolverResult.failed(
                f"solver error: {trap.reason}",
                wall_time_s=sw.elapsed(),
                extra={"fault": type(trap.fault).__name__, "solver": self.name},
            )
        elif _non_finite_design(result):
            result = SolverResult.failed(
                "non-finite design",
                history=result.history, iterations=result.iterations, wall_time_s=result.wall_time_s,
                extra={**result.extra, "stop_reason_before": result.stop_reason},
            )  # fmt: skip
        return _with_statuses(result, tally)

    guarded.__solver_guarded__ = True  # type: ignore[attr-defined]
    return guarded


class Solver(ABC):
    """An optimization baseline: a deterministic map ``problem -> design`` given an ``rng``.

    Subclasses set the class attribute ``name`` (the registry name), ``task`` (``"rydberg"`` or
    ``"robust"``) and, for heuristic baselines, ``heuristic = True``, and implement :meth:`solve`. Options are constructor keyword arguments; a solver instance may cache
    problem-independent structures (e.g. a parametrised cvxpy problem) and is therefore not
    guaranteed to be thread-safe, but is safe to reuse sequentially.

    Every subclass's ``solve`` is wrapped by :func:`guard_solve` when the class is created, so a
    numerical fault that the solver does not handle itself still ends as a failed result.
    """

    name: ClassVar[str] = "solver"
    #: the task whose problem instances the solver takes: ``"rydberg"`` (a ``RydbergScenario``,
    #: rar_isac spec) or ``"robust"`` (a ``RobustScenario``, robust_isac spec); the default is the
    #: original Rydberg task, the robust solvers override it (``isac_gym.baselines.list_solvers(task=...)``)
    task: ClassVar[str] = "rydberg"
    #: ``True`` for the closed-form "what a wireless engineer tries first" baselines (the random
    #: floors included) against which a tier's headroom is measured; ``False`` for optimizers
    heuristic: ClassVar[bool] = False
    #: whether :mod:`isac_gym.agents.best_known` runs this solver on every draw of its reference
    #: (``isac_gym.agents.best_known.task_solvers``); ``False`` keeps a solver out of the reference
    best_known: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        solve = cls.__dict__.get("solve")
        if solve is not None and not getattr(solve, "__isabstractmethod__", False):
            cls.solve = guard_solve(solve)  # type: ignore[method-assign]

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
            A :class:`SolverResult`; never raises because an instance is infeasible or the
            numerics fail (then :meth:`SolverResult.failed`, or the best valid iterate with the
            reason recorded).
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Stopwatch:
    """Tiny wall-clock helper: ``sw = Stopwatch(); ...; sw.elapsed()`` (seconds)."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0
