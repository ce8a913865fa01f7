"""isac_gym.agents.lagrangian: multiplier dual ascent, cost-shaped rewards, constrained PPO runs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import yaml

pytest.importorskip("stable_baselines3")

from stable_baselines3.common.env_util import make_vec_env

from isac_gym.agents import train as tr
from isac_gym.agents.lagrangian import LagrangeMultiplier, VecCostPenalty
from tests.conftest import SMALL_RAR


def test_multiplier_rises_above_budget_and_stays_nonnegative():
    lam = LagrangeMultiplier(value=0.5, lr=0.1, budget=1.0)
    values = [lam.update(3.0) for _ in range(3)]
    assert values == pytest.approx([0.7, 0.9, 1.1])
    for _ in range(50):
        assert lam.update(0.0) >= 0.0
    assert lam.value == 0.0
    capped = LagrangeMultiplier(value=1.0, lr=10.0, max_value=5.0)
    assert capped.update(100.0) == 5.0
    with pytest.raises(ValueError, match="lr"):
        LagrangeMultiplier(lr=-1.0)
    with pytest.raises(ValueError, match="mean_cost"):
        lam.update(float("nan"))


def test_vec_cost_penalty_shapes_reward():
    venv = make_vec_env(
        lambda: gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR, constraint_penalty=0.0), n_envs=2, seed=0
    )
    lam = LagrangeMultiplier(value=2.5)
    shaped = VecCostPenalty(venv, lam)
    shaped.reset()
    actions = np.stack([shaped.action_space.sample() for _ in range(2)])
    _, rewards, _, infos = shaped.step(actions)
    for r, info in zip(rewards, infos, strict=True):
        assert info["reward_unshaped"] == pytest.approx(info["metrics"]["sum_rate"])
        assert r == pytest.approx(info["metrics"]["sum_rate"] - 2.5 * info["cost"], rel=1e-5)
    shaped.close()


def test_lagrangian_ppo_run_learns_the_multiplier(tmp_path):
    # random designs violate the CRB heavily on this small scenario: lambda must go up
    run = tr.train(
        "isac_env/RydbergISAC-v0",
        "ppo",
        total_timesteps=48,
        seed=0,
        env_kwargs={**SMALL_RAR, "horizon": 4},
        hyperparams={"n_steps": 16, "batch_size": 16, "n_epochs": 1},
        run_dir=tmp_path,
        n_envs=1,
        progress_bar=False,
        lagrangian=True,
        lagrangian_kwargs={"value": 0.0, "lr": 0.01, "budget": 0.0},
        checkpoint_freq=0,
    )
    assert run.name == "ppo-lag_RydbergISAC-v0_seed0"
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["env_kwargs"]["constraint_penalty"] == 0.0
    hist = cfg["lagrangian"]["history"]
    assert len(hist) == 3
    lams = [h["lambda"] for h in hist]
    assert all(h["mean_cost"] > 0 for h in hist)
    assert lams == sorted(lams) and lams[0] > 0.0
    assert cfg["lagrangian"]["final"]["value"] == pytest.approx(lams[-1])
    header = (run / "tb" / "progress.csv").read_text().splitlines()[0].split(",")
    assert "lagrangian/lambda" in header and "lagrangian/mean_cost" in header
