"""Episode length of the registered ids: the env's ``horizon``, not a Gymnasium ``TimeLimit``."""

from __future__ import annotations

import gymnasium as gym
import pytest

import isac_env  # noqa: F401  (registers the ids)
from isac_env.config import EnvConfig
from isac_env.registration import ENV_IDS
from tests.conftest import SMALL_RAR


def _episode_length(env: gym.Env, cap: int) -> int:
    env.reset(seed=0)
    for t in range(1, cap + 1):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            return t
    return cap + 1


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_no_time_limit_is_registered(env_id: str) -> None:
    assert gym.spec(env_id).max_episode_steps is None
    env = gym.make(env_id)
    assert env.unwrapped.env_config.horizon == EnvConfig().horizon
    wrappers = []
    e = env
    while isinstance(e, gym.Wrapper):
        wrappers.append(type(e).__name__)
        e = e.env
    assert "TimeLimit" not in wrappers
    env.close()


@pytest.mark.parametrize("horizon", [3, EnvConfig().horizon + 7])
def test_gym_make_horizon_sets_the_episode_length(horizon: int) -> None:
    """Shorter and longer than the default: a registered TimeLimit(50) would cut the longer one."""
    env = gym.make("isac_env/RydbergISAC-v0", horizon=horizon, **SMALL_RAR)
    env.action_space.seed(0)
    assert _episode_length(env, cap=horizon + 5) == horizon
    env.close()
