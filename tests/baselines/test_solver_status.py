"""cvxpy statuses in ``SolverResult.extra`` and the silenced "Solution may be inaccurate" warning."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from isac_gym.baselines.base import INACCURATE_WARNING, Solver, SolverResult, cvxpy_solve, solve_status_extra


class FakeProblem:
    """Stand-in for a ``cvxpy.Problem`` whose solve ends with ``status`` and, like cvxpy's
    ``Problem.unpack_results``, warns for an inaccurate one."""

    def __init__(self, status: str, other_warning: str | None = None) -> None:
        self._status = status
        self._other = other_warning
        self.status: str | None = None

    def solve(self, solver: str, **options: Any) -> None:
        del solver, options
        self.status = self._status
        if self._status.endswith("_inaccurate"):
            warnings.warn(
                "Solution may be inaccurate. Try another solver, adjusting the solver settings, "
                "or solve with verbose=True for more information.",
                stacklevel=2,
            )
        if self._other is not None:
            warnings.warn(self._other, UserWarning, stacklevel=2)


class TwoSolves(Solver):
    """A solver making one accurate and one inaccurate cvxpy solve (optionally a nested solver)."""

    name = "two_solves_test"

    def __init__(self, inner: Solver | None = None) -> None:
        self.inner = inner

    def solve(self, scenario: Any, *, rng: np.random.Generator, init: Any = None) -> SolverResult:
        statuses = [cvxpy_solve(FakeProblem(st), "FAKE") for st in ("optimal", "optimal_inaccurate")]
        if self.inner is not None:
            self.inner.solve(scenario, rng=rng)
        return SolverResult(
            W=np.ones((2, 1)), phi=None, objective=1.0, history={}, converged=True,
            stop_reason="converged", iterations=1, wall_time_s=0.0, feasible=True,
            extra={"seen": statuses},
        )  # fmt: skip


def _no_inaccurate_warning(rec: list[warnings.WarningMessage]) -> bool:
    return not any(INACCURATE_WARNING in str(w.message) for w in rec)


def test_inaccurate_status_is_returned_and_its_warning_silenced() -> None:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        status = cvxpy_solve(FakeProblem("optimal_inaccurate"), "FAKE")
    assert status == "optimal_inaccurate"
    assert _no_inaccurate_warning(rec)


def test_other_warnings_still_propagate() -> None:
    with pytest.warns(UserWarning, match="something else"):
        cvxpy_solve(FakeProblem("optimal_inaccurate", other_warning="something else"), "FAKE")


def test_the_fake_problem_warns_like_cvxpy_outside_cvxpy_solve() -> None:
    # the silencing above is cvxpy_solve's doing, not the fake's
    with pytest.warns(UserWarning, match=INACCURATE_WARNING):
        FakeProblem("optimal_inaccurate").solve("FAKE")


def test_solver_result_records_the_statuses_and_no_warning_escapes() -> None:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = TwoSolves().solve(None, rng=np.random.default_rng(0))
    assert _no_inaccurate_warning(rec)
    assert res.extra["seen"] == ["optimal", "optimal_inaccurate"]
    assert res.extra["cvxpy_solves"] == 2
    assert res.extra["n_inaccurate_solves"] == 1
    assert res.extra["cvxpy_statuses"] == {"optimal": 1, "optimal_inaccurate": 1}


def test_nested_solves_count_toward_the_caller_and_tallies_do_not_leak() -> None:
    rng = np.random.default_rng(0)
    res = TwoSolves(inner=TwoSolves()).solve(None, rng=rng)
    assert res.extra["cvxpy_statuses"] == {"optimal": 2, "optimal_inaccurate": 2}
    again = TwoSolves().solve(None, rng=rng)  # a fresh tally per call
    assert again.extra["n_inaccurate_solves"] == 1 and again.extra["cvxpy_solves"] == 2


def test_status_extra_counts_every_inaccurate_kind() -> None:
    extra = solve_status_extra(
        {"optimal": 3, "infeasible_inaccurate": 1, "optimal_inaccurate": 2, "error": 1}
    )
    assert extra["cvxpy_solves"] == 7 and extra["n_inaccurate_solves"] == 3
    assert list(extra["cvxpy_statuses"]) == sorted(extra["cvxpy_statuses"])


def test_a_solver_without_cvxpy_reports_zero_solves() -> None:
    from isac_env.config import RydbergISACConfig
    from isac_env.physics import rar
    from isac_gym.baselines import get_solver
    from tests.conftest import SMALL_RAR

    s = rar.sample_scenario(RydbergISACConfig(**SMALL_RAR), np.random.default_rng(0))
    res = get_solver("comm_only").solve(s, rng=np.random.default_rng(0))
    assert res.extra["cvxpy_solves"] == 0 and res.extra["n_inaccurate_solves"] == 0
    assert res.extra["cvxpy_statuses"] == {}


def test_a_real_cvxpy_solve_is_tallied() -> None:
    cp = pytest.importorskip("cvxpy")
    x = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x - np.array([1.0, 2.0]))), [cp.sum(x) <= 1.0])

    class Real(Solver):
        name = "real_cvxpy_test"

        def solve(self, scenario: Any, *, rng: np.random.Generator, init: Any = None) -> SolverResult:
            status = cvxpy_solve(prob, "CLARABEL")
            return SolverResult(
                W=np.ones((1, 1)), phi=None, objective=float(prob.value), history={},
                converged=True, stop_reason=status, iterations=1, wall_time_s=0.0, feasible=True,
            )  # fmt: skip

    res = Real().solve(None, rng=np.random.default_rng(0))
    assert res.extra["cvxpy_statuses"] == {res.stop_reason: 1}
    assert np.isclose(res.objective, 2.0, atol=1e-6)  # projection of (1, 2) onto sum <= 1
