"""Failed solves are recorded, not scored (issue 15): the failed-solve contract of the baselines.

* a solver that finds no design returns ``SolverResult.failed`` (``W = phi = None``, ``solved``
  False, ``feasible`` False, ``objective`` NaN, no metrics, ``stop_reason`` ``"failed: ..."``);
* ``feasible`` accounts for the power budget;
* solver faults (Clarabel's ``PanicException``, a ``BaseException``; cvxpy ``SolverError``; numpy
  ``LinAlgError``) never escape from ``solve``;
* ``SolverPolicy`` plays a valid placeholder action for a failed solve.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("cvxpy")

from isac_env.config import RobustISACConfig, RydbergISACConfig
from isac_env.physics import robust as rb
from isac_env.physics.rar import sample_scenario, stack_scenarios
from isac_gym import baselines
from isac_gym.baselines import get_solver
from isac_gym.baselines.base import (
    InvalidProblemError,
    Solver,
    SolverResult,
    cvxpy_solve,
    is_solver_fault,
    trap_faults,
)
from isac_gym.baselines.fp_mm_admm import FPMMADMMSolver
from isac_gym.baselines.heuristics import RandomMRTSolver, design_feasible, mrt_precoder
from isac_gym.baselines.policy import SolverPolicy, placeholder_action
from isac_gym.baselines.robust_ao import RobustAOSolver

ROBUST = ("robust_continuous", "robust_scheme1", "robust_scheme2", "robust_random")
FAST = {"num_randomizations": 20, "ris_randomizations": 20, "mc_draws": 200, "max_iter": 3}
TINY_ROBUST = {"num_ris": 4, "num_bs_antennas": 4}
TINY_RAR = {"num_ris": 8, "num_cells": 4, "num_users": 2, "num_bs_antennas": 4}


class PanicException(BaseException):
    """Stand-in for ``pyo3_runtime.PanicException`` (what Clarabel raises on a Rust panic)."""


PanicException.__module__ = "pyo3_runtime"


@pytest.fixture(autouse=True)
def _quiet_solvers():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        yield


def _robust(seed: int = 0, **cfg) -> rb.RobustScenario:
    return rb.sample_scenario(RobustISACConfig(**{**TINY_ROBUST, **cfg}), np.random.default_rng(seed))


def _rar(seed: int = 0, **cfg):
    return sample_scenario(RydbergISACConfig(**{**TINY_RAR, **cfg}), np.random.default_rng(seed))


def _assert_failed(res: SolverResult) -> None:
    assert not res.solved and res.W is None and res.phi is None
    assert not res.feasible and not res.converged
    assert res.stop_reason.startswith("failed: "), res.stop_reason
    assert np.isnan(res.objective) and dict(res.metrics) == {}
    row = res.summary()
    assert row["solved"] is False and row["feasible"] is False and np.isnan(row["objective"])


# --------------------------------------------------------------------------- SolverResult
def test_failed_result_helper() -> None:
    res = SolverResult.failed("no design", iterations=2, wall_time_s=0.5, extra={"solver_status": ["x"]})
    _assert_failed(res)
    assert res.stop_reason == "failed: no design" and res.iterations == 2 and res.wall_time_s == 0.5
    assert res.extra["solver_status"] == ["x"] and dict(res.history) == {}
    assert SolverResult.failed("failed: twice").stop_reason == "failed: twice"  # no double prefix
    with pytest.raises(ValueError, match="cannot be feasible"):
        SolverResult(
            W=None, phi=None, objective=0.0, history={}, converged=True, stop_reason="x",
            iterations=0, wall_time_s=0.0, feasible=True,
        )  # fmt: skip


def test_solved_result_summary_says_solved() -> None:
    s = _rar()
    res = get_solver("random_mrt").solve(s, rng=np.random.default_rng(0))
    assert res.solved and res.summary()["solved"] is True


def test_fault_classification() -> None:
    import cvxpy as cp

    for exc in (
        PanicException("index out of bounds"),
        cp.error.SolverError("x"),
        np.linalg.LinAlgError("singular"),
        FloatingPointError("overflow"),
        ZeroDivisionError(),
        ValueError("nan"),
    ):
        assert is_solver_fault(exc), exc
    for exc in (KeyboardInterrupt(), SystemExit(), GeneratorExit(), TypeError(), InvalidProblemError("x")):
        assert not is_solver_fault(exc), exc
    with trap_faults() as trap:
        raise PanicException("boom")
    assert trap and trap.reason == "PanicException: boom"
    with pytest.raises(KeyboardInterrupt), trap_faults():
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- robust: infeasible instances
@pytest.mark.parametrize("name", ROBUST)
def test_robust_infeasible_instance_is_a_failed_solve(name: str) -> None:
    # rate_threshold = 20 bit/s/Hz with 4 antennas: the transmit SDR (32) is infeasible at every start
    res = get_solver(name, **FAST).solve(_robust(0, rate_threshold=20.0), rng=np.random.default_rng(0))
    _assert_failed(res)
    assert res.stop_reason.startswith("failed: transmit SDP (32) infeasible"), res.stop_reason
    assert res.extra["solver_status"] and all(st == "infeasible" for st in res.extra["solver_status"])


def test_robust_feasible_accounts_for_p_max() -> None:
    s = _robust(3, num_bs_antennas=8, num_ris=6)
    solver = get_solver("robust_random", **FAST)
    ok = solver.solve(s, rng=np.random.default_rng(0))
    assert ok.solved and ok.metrics["certified"] and ok.metrics["within_p_max"] and ok.feasible
    # the same certified design under a budget below its power: a design, but not feasible
    tight = s.replace(p_max_w=np.asarray(0.5 * ok.metrics["power_w"]))
    res = solver.solve(tight, rng=np.random.default_rng(0))
    assert res.solved and res.metrics["certified"]
    assert not res.metrics["within_p_max"] and not res.feasible
    np.testing.assert_allclose(res.W, ok.W)


# --------------------------------------------------------------------------- faults never escape
@pytest.mark.parametrize("exc", [PanicException("index out of bounds"), np.linalg.LinAlgError("singular")])
def test_cvxpy_fault_becomes_a_status(monkeypatch, exc: BaseException) -> None:
    import cvxpy as cp

    def boom(self, *args, **kwargs):
        raise exc

    monkeypatch.setattr(cp.Problem, "solve", boom)
    x = cp.Variable()
    status = cvxpy_solve(cp.Problem(cp.Minimize(x), [x >= 0]), "CLARABEL")
    assert status == f"error: CLARABEL: {type(exc).__name__}: {exc}"


@pytest.mark.parametrize("exc", [PanicException("index out of bounds"), np.linalg.LinAlgError("singular")])
def test_robust_solver_fault_in_every_sdp_is_a_failed_solve(monkeypatch, exc: BaseException) -> None:
    import cvxpy as cp

    def boom(self, *args, **kwargs):
        raise exc

    monkeypatch.setattr(cp.Problem, "solve", boom)
    res = get_solver("robust_scheme2", **FAST).solve(_robust(3), rng=np.random.default_rng(0))
    _assert_failed(res)
    assert type(exc).__name__ in res.stop_reason and "not solved" in res.stop_reason
    assert all(st.startswith("error: ") for st in res.extra["solver_status"])


def test_robust_fault_mid_ao_returns_the_best_valid_iterate(monkeypatch) -> None:
    def boom(self, *args, **kwargs):
        raise np.linalg.LinAlgError("Eigenvalues did not converge")

    monkeypatch.setattr(RobustAOSolver, "_ris_gemm", boom)
    s = _robust(3, num_bs_antennas=8, num_ris=6)
    res = get_solver("robust_scheme2", **FAST).solve(s, rng=np.random.default_rng(0))
    assert res.solved and res.feasible and res.iterations == 0
    assert res.stop_reason.startswith("error: ") and "LinAlgError" in res.stop_reason
    assert len(res.history["power_w"]) == 1


def test_loose_eps_does_not_kill_fp_mm_admm() -> None:
    # eps = 1e20: the (J, f) projection falls back to the Clarabel SDP, which panicked on this scaling
    s = _rar(0, num_ris=16, num_cells=8, num_users=3, num_bs_antennas=6).replace(eps=np.asarray(1e20))
    res = get_solver("fp_mm_admm", max_iter=3).solve(s, rng=np.random.default_rng(0))
    assert res.solved and res.feasible and np.isfinite(res.objective)
    if res.extra["sdp_failures"]:
        assert res.extra["sdp_last_failure"].startswith("failed: ")


def test_projection_panic_is_recorded_and_the_run_continues(monkeypatch) -> None:
    import cvxpy as cp

    def boom(self, *args, **kwargs):
        raise PanicException("index out of bounds")

    monkeypatch.setattr(cp.Problem, "solve", boom)
    s = _rar(1, crb_threshold=0.5)
    res = FPMMADMMSolver(projection="cvxpy", max_iter=3).solve(s, rng=np.random.default_rng(0))
    assert res.solved and res.iterations == 3
    assert res.extra["sdp_failures"] > 0
    assert res.extra["sdp_last_failure"] == "failed: error: CLARABEL: PanicException: index out of bounds"


def test_fp_mm_admm_fault_mid_run_keeps_the_iterates_so_far(monkeypatch) -> None:
    calls = {"n": 0}
    original = FPMMADMMSolver._phi_update

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise np.linalg.LinAlgError("Eigenvalues did not converge")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FPMMADMMSolver, "_phi_update", flaky)
    res = get_solver("fp_mm_admm", max_iter=5).solve(_rar(2, crb_threshold=0.5), rng=np.random.default_rng(0))
    assert res.solved and res.iterations == 1
    assert "error at iteration 2: LinAlgError" in res.stop_reason
    assert {len(v) for v in res.history.values()} == {2}


@pytest.mark.parametrize(
    "exc", [PanicException("index out of bounds"), np.linalg.LinAlgError("SVD did not converge")]
)
def test_fault_escaping_a_solver_becomes_a_failed_result(monkeypatch, exc: BaseException) -> None:
    def boom(H, P):
        raise exc

    monkeypatch.setattr(RandomMRTSolver, "precoder", staticmethod(boom))
    res = get_solver("random_mrt").solve(_rar(), rng=np.random.default_rng(0))
    _assert_failed(res)
    assert res.stop_reason == f"failed: solver error: {type(exc).__name__}: {exc}"
    assert res.extra["fault"] == type(exc).__name__ and res.extra["solver"] == "random_mrt"


def test_guard_lets_interrupts_and_caller_errors_through() -> None:
    class Raiser(Solver):
        name = "raiser_test"

        def __init__(self, exc: BaseException) -> None:
            self.exc = exc

        def solve(self, scenario, *, rng, init=None):  # type: ignore[no-untyped-def]
            raise self.exc

    for exc in (KeyboardInterrupt(), TypeError("bad"), InvalidProblemError("batched")):
        with pytest.raises(type(exc)):
            Raiser(exc).solve(None, rng=np.random.default_rng(0))
    with pytest.raises(InvalidProblemError, match="unbatched"):
        batched = stack_scenarios([_rar(0), _rar(1)])
        get_solver("fp_mm_admm").solve(batched, rng=np.random.default_rng(0))


def test_non_finite_design_is_a_failed_result(monkeypatch) -> None:
    monkeypatch.setattr(
        RandomMRTSolver, "precoder", staticmethod(lambda H, P: np.full((H.shape[-1], H.shape[0]), np.nan))
    )
    res = get_solver("random_mrt").solve(_rar(), rng=np.random.default_rng(0))
    _assert_failed(res)
    assert res.stop_reason == "failed: non-finite design"


# --------------------------------------------------------------------------- Rydberg feasibility
def test_rydberg_feasible_accounts_for_p_max(monkeypatch) -> None:
    s = _rar().replace(eps=np.asarray(1e20))  # the CRB cannot bind
    ok = get_solver("random_mrt").solve(s, rng=np.random.default_rng(0))
    assert ok.solved and ok.feasible
    monkeypatch.setattr(RandomMRTSolver, "precoder", staticmethod(lambda H, P: 2.0 * mrt_precoder(H, P)))
    res = get_solver("random_mrt").solve(s, rng=np.random.default_rng(0))
    assert res.solved and not res.feasible
    W, phi = np.asarray(ok.W), np.asarray(ok.phi)
    crb = ok.metrics["crb_trace"]
    assert design_feasible(s, W, phi, crb)
    assert not design_feasible(s, 1.01 * W, phi, crb)  # over the power budget
    assert not design_feasible(s, W, 1.01 * phi, crb)  # off the unit circle
    assert not design_feasible(s, W, phi, np.inf)


def test_every_registered_solver_is_guarded() -> None:
    for name in baselines.list_solvers():
        solver = get_solver(name)
        assert getattr(type(solver).solve, "__solver_guarded__", False), name


# --------------------------------------------------------------------------- SolverPolicy
class _AlwaysFails(Solver):
    name = "always_fails_test"

    def solve(self, scenario, *, rng, init=None):  # type: ignore[no-untyped-def]
        return SolverResult.failed("test: no design")


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("isac_env/RobustISAC-v0", TINY_ROBUST),
        ("isac_env/RobustISAC-Continuous-v0", TINY_ROBUST),
        ("isac_env/RydbergISAC-v0", {"num_ris": 8, "num_cells": 4}),
        ("isac_env/RydbergISAC-Discrete-v0", {"num_ris": 8, "num_cells": 4}),
    ],
)
def test_solver_policy_plays_a_placeholder_for_a_failed_solve(env_id: str, kwargs: dict) -> None:
    gym = pytest.importorskip("gymnasium")
    import isac_env  # noqa: F401  (registers the ids)

    env = gym.make(env_id, horizon=2, **kwargs)
    obs, _ = env.reset(seed=0)
    policy = SolverPolicy(_AlwaysFails(), env)
    action, state = policy.predict(obs)
    assert state is None and env.action_space.contains(action)
    assert policy.last_result is not None and not policy.last_result.solved
    again, _ = policy.predict(obs)
    if isinstance(action, dict):
        assert action.keys() == again.keys()
        for k in action:
            np.testing.assert_array_equal(action[k], again[k])
            assert not np.any(action[k])
    else:
        np.testing.assert_array_equal(action, again)
        assert not np.any(action)
    env.step(action)  # a valid action of the space
    env.close()


def test_solver_policy_failed_solve_through_evaluate_policy() -> None:
    gym = pytest.importorskip("gymnasium")
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.evaluation import evaluate_policy

    import isac_env  # noqa: F401

    # (SB3's DummyVecEnv does not step Dict actions, so the Box-action id)
    env = gym.make("isac_env/RobustISAC-Continuous-v0", horizon=2, **TINY_ROBUST)
    policy = SolverPolicy(_AlwaysFails(), env)
    mean, _ = evaluate_policy(policy, env, n_eval_episodes=1, warn=False)
    assert np.isfinite(mean) and not policy.last_result.solved
    env.close()


def test_placeholder_action_of_each_space_kind() -> None:
    spaces = pytest.importorskip("gymnasium").spaces
    box = spaces.Box(0.5, 2.0, (3,), np.float32)
    a = placeholder_action(box)
    assert box.contains(a) and np.all(a == 0.5)
    md = spaces.MultiDiscrete([3, 4], start=[1, 2])
    assert md.contains(placeholder_action(md)) and list(placeholder_action(md)) == [1, 2]
    tup = spaces.Tuple((spaces.Discrete(3), spaces.MultiBinary(2)))
    assert tup.contains(placeholder_action(tup))
    with pytest.raises(TypeError, match="no placeholder"):
        placeholder_action(spaces.Text(5))
