"""Registry and SolverResult contract."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from isac_gym import baselines
from isac_gym.baselines.base import Solver, SolverResult


def test_list_solvers_contains_builtins() -> None:
    names = baselines.list_solvers()
    for name in ("fp_mm_admm", "comm_only", "bf_only", "gd", "random_mrt", "random_zf"):
        assert name in names


def test_unknown_solver_lists_names() -> None:
    with pytest.raises(ValueError, match="fp_mm_admm"):
        baselines.get_solver("nope")


def test_register_custom_solver() -> None:
    class Dummy(Solver):
        name = "dummy_test_solver"

        def solve(self, scenario, *, rng, init=None):  # type: ignore[no-untyped-def]
            return SolverResult(
                W=np.zeros((2, 1)), phi=None, objective=0.0, history={"sum_rate": [0.0]},
                converged=True, stop_reason="closed_form", iterations=0, wall_time_s=0.0,
                feasible=True,
            )  # fmt: skip

    baselines.register_solver("dummy_test_solver", Dummy)
    with pytest.raises(ValueError, match="already registered"):
        baselines.register_solver("dummy_test_solver", Dummy)
    res = baselines.get_solver("dummy_test_solver").solve(None, rng=np.random.default_rng(0))
    assert res.W.dtype == np.complex128 and not res.W.flags.writeable
    assert res.summary()["stop_reason"] == "closed_form"
    baselines._REGISTRY.pop("dummy_test_solver")


def test_import_baselines_does_not_import_cvxpy() -> None:
    code = "import baselines, sys; assert 'cvxpy' not in sys.modules and 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
