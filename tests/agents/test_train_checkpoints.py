"""The checkpoints shipped in agents/checkpoints/ load and act validly on their env id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("stable_baselines3")

import isac_env
from isac_gym.agents import train as tr

CHECKPOINT_DIR = Path(tr.__file__).resolve().parent / "checkpoints"
SHIPPED = sorted(p.parent for p in CHECKPOINT_DIR.glob("*/model.zip"))


def test_default_rydberg_checkpoint_is_shipped():
    names = {p.name for p in SHIPPED}
    assert "ppo_RydbergISAC-v0" in names


@pytest.mark.parametrize("run", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoint_loads_and_predicts_valid_actions(run):
    assert (run / "model.zip").stat().st_size < 2_500_000
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["env_id"] in isac_env.ENV_IDS
    assert run.name == f"{cfg['algo']}{'-lag' if cfg.get('lagrangian') else ''}_{tr.env_name(cfg['env_id'])}"
    policy = tr.load_policy(run)
    env = tr.make_env_from_run(run, horizon=3)
    assert policy.observation_space.shape == env.observation_space.shape
    obs, _ = env.reset(seed=123)
    for _ in range(3):
        action, _ = policy.predict(obs, deterministic=True)
        assert env.action_space.contains(action)
        obs, reward, _, _, info = env.step(action)
        assert np.isfinite(reward) and np.isfinite(info["cost"])
    # batched predict (VecEnv-style) works too
    batch, _ = policy.predict(np.stack([obs, obs]), deterministic=True)
    assert batch.shape == (2, *env.action_space.shape)
