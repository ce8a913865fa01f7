"""Solver designs played through the env, and SolverPolicy with SB3's evaluate_policy."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import isac_env  # noqa: F401  (registers the ids)
from isac_gym import baselines
from isac_gym.baselines.policy import SolverPolicy

SMALL = {"num_ris": 16, "num_cells": 8, "num_clusters": 4, "num_rays": 5}


@pytest.mark.parametrize("name", ["fp_mm_admm", "random_zf"])
def test_env_metrics_equal_solver_metrics(name: str) -> None:
    env = gym.make("isac_env/RydbergISAC-v0", horizon=2, **SMALL)
    env.reset(seed=4)
    s = env.unwrapped.scenario
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = baselines.get_solver(name, **({"max_iter": 5} if name == "fp_mm_admm" else {})).solve(
            s, rng=np.random.default_rng(0)
        )
    action = env.unwrapped.encode_action(np.asarray(res.W), np.asarray(res.phi))
    _, _, _, _, info = env.step(action)
    m = info["metrics"]
    assert np.isclose(m["sum_rate"], res.metrics["sum_rate"], rtol=1e-5)
    assert np.isclose(m["crb_trace"], res.metrics["crb_trace"], rtol=1e-5)


def test_solver_policy_with_evaluate_policy() -> None:
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.evaluation import evaluate_policy

    env = gym.make("isac_env/RydbergISAC-v0", horizon=2, **SMALL)
    policy = SolverPolicy(baselines.get_solver("random_mrt"), env)
    mean, std = evaluate_policy(policy, env, n_eval_episodes=2, warn=False)
    assert np.isfinite(mean) and np.isfinite(std)
    assert policy.last_result is not None


def test_solver_policy_caches_per_scenario() -> None:
    env = gym.make("isac_env/RydbergISAC-v0", horizon=3, **SMALL)
    obs, _ = env.reset(seed=1)
    calls = []

    class Counting(baselines.Solver):
        name = "counting"

        def solve(self, scenario, *, rng, init=None):  # type: ignore[no-untyped-def]
            calls.append(1)
            return baselines.get_solver("random_zf").solve(scenario, rng=rng)

    policy = SolverPolicy(Counting(), env)
    a1, _ = policy.predict(obs)
    env.step(a1)
    a2, _ = policy.predict(obs)
    assert len(calls) == 1 and np.array_equal(np.asarray(a1), np.asarray(a2))
    env.reset(seed=2)
    policy.predict(obs)
    assert len(calls) == 2
