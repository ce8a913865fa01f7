"""``SolverResult.metrics["power_dbm"]`` of the Rydberg solvers matches the env's ``info["metrics"]``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import isac_env  # noqa: F401  (registers the ids)
from isac_gym.baselines import get_solver
from isac_gym.baselines.heuristics import metrics_dict
from tests.conftest import SMALL_RAR


@pytest.mark.parametrize("name", ["comm_only", "random_mrt", "best_user_mrt"])
def test_solver_power_dbm_equals_the_envs(name: str) -> None:
    env = gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR)
    env.reset(seed=3)
    u = env.unwrapped
    res = get_solver(name).solve(u.scenario, rng=np.random.default_rng(0))
    assert res.solved and "power_dbm" in res.metrics
    W, phi = np.asarray(res.W), np.asarray(res.phi)
    env_m = u.task.metrics(u.scenario, W, phi)  # what info["metrics"] reports for this design
    assert res.metrics["power_dbm"] == float(env_m["power_dbm"])
    _, _, _, _, info = env.step(u.encode_action(W, phi))  # through the action codec (float32)
    assert res.metrics["power_dbm"] == pytest.approx(float(info["metrics"]["power_dbm"]), abs=1e-4)
    env.close()


def test_power_dbm_follows_the_power_of_the_design() -> None:
    env = gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR)
    env.reset(seed=1)
    u = env.unwrapped
    W = np.ones((u.Nt, u.K), dtype=np.complex128)
    phi = np.ones(u.N, dtype=np.complex128)
    full, tenth = metrics_dict(u.scenario, W, phi), metrics_dict(u.scenario, W / np.sqrt(10.0), phi)
    assert full["power_dbm"] == pytest.approx(10.0 * np.log10(u.Nt * u.K) + 30.0)
    assert full["power_dbm"] - tenth["power_dbm"] == pytest.approx(10.0)
    env.close()
