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

cvxpy is imported lazily, only by the code paths that need it (the (J, f) projection SDP, the
feasibility restoration and the all-cvxpy benchmark backend); a missing cvxpy raises an
``ImportError`` that names the ``baselines`` extra.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .base import Solver, SolverResult

__all__ = ["Solver", "SolverResult", "get_solver", "list_solvers", "register_solver"]

SolverFactory = Callable[..., Solver]

_REGISTRY: dict[str, SolverFactory | str] = {
    "fp_mm_admm": "baselines.fp_mm_admm:FPMMADMMSolver",
    "comm_only": "baselines.fp_mm_admm:CommOnlySolver",
    "bf_only": "baselines.fp_mm_admm:BFOnlySolver",
    "gd": "baselines.gd:GDSolver",
    "random_mrt": "baselines.heuristics:RandomMRTSolver",
    "random_zf": "baselines.heuristics:RandomZFSolver",
    # robust RIS-ISAC task (robust_isac spec 5-8, issue 5)
    "robust_continuous": "baselines.robust_ao:RobustContinuousSolver",
    "robust_scheme1": "baselines.robust_ao:RobustScheme1Solver",
    "robust_scheme2": "baselines.robust_ao:RobustScheme2Solver",
    "robust_random": "baselines.robust_ao:RobustRandomSolver",
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


def list_solvers() -> list[str]:
    """Sorted names of the registered solvers."""
    return sorted(_REGISTRY)


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
