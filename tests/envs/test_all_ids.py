"""Gymnasium's and SB3's env checkers on every registered id."""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest

import isac_env

# SB3 does not support Dict action spaces; its checker says so, which is expected for the
# discrete-phase variants.
ALLOWED_WARNINGS = ("action space is not based off a numpy array", "Dict or Tuple space")


def _unexpected(records):
    return [str(r.message) for r in records if not any(a in str(r.message) for a in ALLOWED_WARNINGS)]


def test_every_task_is_registered():
    assert {i.split("/")[1].split("-")[0] for i in isac_env.ENV_IDS} == {"RydbergISAC", "RobustISAC"}


@pytest.mark.parametrize("env_id", isac_env.ENV_IDS)
def test_gymnasium_check_env(env_id):
    from gymnasium.utils.env_checker import check_env

    env = gym.make(env_id, horizon=5)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    assert not _unexpected(rec), _unexpected(rec)


@pytest.mark.parametrize("env_id", isac_env.ENV_IDS)
def test_sb3_check_env(env_id):
    from stable_baselines3.common.env_checker import check_env

    env = gym.make(env_id, horizon=5)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        check_env(env, warn=True)
    assert not _unexpected(rec), _unexpected(rec)
