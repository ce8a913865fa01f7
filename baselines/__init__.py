"""Optimization baselines of isac-gym and their registry.

``get_solver(name, **options)`` builds a solver by name; ``list_solvers()`` lists the names;
``register_solver(name, factory)`` adds one (other modules, e.g. the robust task's solvers, call
it at import time or lazily via a ``"module:attr"`` string).

Built-in names (Rydberg task, rar_isac spec sections 6-7):

* ``"fp_mm_admm"`` Algorithm 1 (FP + MM + ADMM penalty-dual decomposition), "Proposed".
* ``"comm_only"`` Algorithm 1 without the CRB constraint (upper bound).
* ``"bf_only"`` phi fixed to the sum-channel-gain maximiser, W by Algorithm 1.
* ``"gd"`` projected / Riemannian gradient ascent on a penalised objective.
* ``"random_mrt"``, ``"random_zf"`` random RIS phases with MRT / ZF precoding.
* ``"best_user_mrt"``, ``"user_select_zf"`` CRB-repaired heuristics (``heuristic = True``):
  one user by MRT; greedy user selection + regularised ZF (:mod:`isac_gym.baselines.heuristics`).
* ``"batched_gd"``, ``"batched_comm_only"``, ``"batched_bf_only"`` the batched gradient solvers on
  the torch backend (:mod:`isac_gym.baselines.batched`; torch needed): every draw of a batch (and
  several starts per draw) at once, ``solve_batch(scenarios)`` besides the per-draw ``solve``.

Robust task (robust_isac spec): ``"robust_continuous"``, ``"robust_scheme1"``, ``"robust_scheme2"``,
``"robust_random"`` (Algorithm 2 and its random floor, :mod:`isac_gym.baselines.robust_ao`) and the
heuristics ``"robust_gain_mrt"``, ``"robust_gain_zf"`` (gain phases, MRT / ZF directions, the
minimum power the safe approximation certifies; :mod:`isac_gym.baselines.robust_heuristics`).

Every solver class carries ``task`` (``"rydberg"`` / ``"robust"``, filter with
``list_solvers(task=...)``) and ``heuristic`` (``True`` for the closed-form baselines and the random
floors, against which a tier's headroom is measured); :func:`solver_class_attr` reads them
without building the solver.

cvxpy is imported lazily, only by the code paths that need it (the (J, f) projection SDP, the
feasibility restoration and the all-cvxpy benchmark backend); a missing cvxpy raises an
``ImportError`` that names the ``baselines`` extra.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .base import Solver, SolverResult

__all__ = [
    "TASKS",
    "Solver",
    "SolverResult",
    "get_solver",
    "list_solvers",
    "register_solver",
    "solver_class_attr",
]

SolverFactory = Callable[..., Solver]
#: the tasks of :attr:`Solver.task`
TASKS = ("rydberg", "robust")

_REGISTRY: dict[str, SolverFactory | str] = {
    "fp_mm_admm": "isac_gym.baselines.fp_mm_admm:FPMMADMMSolver",
    "comm_only": "isac_gym.baselines.fp_mm_admm:CommOnlySolver",
    "bf_only": "isac_gym.baselines.fp_mm_admm:BFOnlySolver",
    "gd": "isac_gym.baselines.gd:GDSolver",
    "random_mrt": "isac_gym.baselines.heuristics:RandomMRTSolver",
    "random_zf": "isac_gym.baselines.heuristics:RandomZFSolver",
    "best_user_mrt": "isac_gym.baselines.heuristics:BestUserMRTSolver",
    "user_select_zf": "isac_gym.baselines.heuristics:UserSelectZFSolver",
    # batched gradient solvers on the torch backend (issue 14): all draws of a batch at once
    "batched_gd": "isac_gym.baselines.batched:BatchedGDSolver",
    "batched_comm_only": "isac_gym.baselines.batched:BatchedCommOnlySolver",
    "batched_bf_only": "isac_gym.baselines.batched:BatchedBFOnlySolver",
    # robust RIS-ISAC task (robust_isac spec 5-8, issue 5)
    "robust_continuous": "isac_gym.baselines.robust_ao:RobustContinuousSolver",
    "robust_scheme1": "isac_gym.baselines.robust_ao:RobustScheme1Solver",
    "robust_scheme2": "isac_gym.baselines.robust_ao:RobustScheme2Solver",
    "robust_random": "isac_gym.baselines.robust_ao:RobustRandomSolver",
    "robust_gain_mrt": "isac_gym.baselines.robust_heuristics:RobustGainMRTSolver",
    "robust_gain_zf": "isac_gym.baselines.robust_heuristics:RobustGainZFSolver",
}


def register_solver(name: str, factory: SolverFactory | str, *, overwrite: bool = False) -> None:
    """Register a solver factory under ``name``.

    Args:
        name: registry key used by ``get_solver`` and the CLI.
        factory: a callable ``factory(**options) -> Solver`` (usually the class), or a lazy
            ``"package.module:attr"`` string resolved on first use.
        overwrite: allow replacing an existing entry.

    Raises:
        ValueError: if ``name`` is taken and ``overwrite`` is False.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"solver name must be a non-empty string, got {name!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"solver {name!r} is already registered (pass overwrite=True)")
    _REGISTRY[name] = factory


def list_solvers(task: str | None = None) -> list[str]:
    """Sorted names of the registered solvers, all of them or those of one ``task``.

    Args:
        task: ``None`` (every solver), ``"rydberg"`` or ``"robust"``: keep the solvers whose factory
            has that ``task`` class attribute (:class:`~isac_gym.baselines.base.Solver`; resolving a lazy
            entry imports its module, never cvxpy). A factory without the attribute (a plain
            callable) is kept only for ``task=None``.

    Raises:
        ValueError: an unknown ``task``.
    """
    if task is None:
        return sorted(_REGISTRY)
    if task not in TASKS:
        raise ValueError(f"task must be None or one of {TASKS}, got {task!r}")
    return sorted(n for n, e in _REGISTRY.items() if getattr(_resolve(e), "task", None) == task)


def solver_class_attr(name: str, attr: str, default: Any = None) -> Any:
    """A class attribute (``"task"``, ``"heuristic"``, ...) of the registered factory ``name``,
    without building a solver (``default`` for a plain-callable factory)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown solver {name!r}; registered: {', '.join(list_solvers())}")
    return getattr(_resolve(_REGISTRY[name]), attr, default)


def _resolve(entry: SolverFactory | str) -> SolverFactory:
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        return getattr(importlib.import_module(module), attr)
    return entry


def get_solver(name: str, **options: Any) -> Solver:
    """Build the solver registered as ``name`` with constructor ``options``.

    Raises:
        ValueError: unknown name (the message lists the registered ones).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown solver {name!r}; registered: {', '.join(list_solvers())}")
    return _resolve(_REGISTRY[name])(**options)


def require_cvxpy() -> Any:
    """Import and return ``cvxpy``, or raise an ``ImportError`` naming the ``baselines`` extra."""
    try:
        import cvxpy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "this solver path needs cvxpy; install the optional dependencies with "
            "`pip install isac-gym[baselines]`"
        ) from exc
    return cvxpy
