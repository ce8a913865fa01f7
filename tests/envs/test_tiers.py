"""Scenario tiers (issue 11): registered ids, both env checkers, vector env == single envs, and the
tier configs differ from Table I exactly as :mod:`isac_env.scenarios` documents."""

from __future__ import annotations

import dataclasses
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import isac_env
from isac_env.config import RydbergISACConfig
from isac_env.envs.vector import RydbergISACVectorEnv
from isac_env.scenarios import RYDBERG_TIERS
from tests.envs.test_vector import _rollout_pair

TIER_IDS = [t.env_id for t in RYDBERG_TIERS]
#: small arrays that keep every tier's channel-model fields (polarization, clusters, eps)
SMALL = {"num_users": 2, "num_cells": 4, "num_ris": 8, "num_bs_antennas": 4, "num_rays": 3}


def test_tiers_registered_with_vector_entry_point():
    assert len(TIER_IDS) >= 1
    for env_id in TIER_IDS:
        assert env_id in isac_env.ENV_IDS
        spec = gym.spec(env_id)
        assert spec.vector_entry_point == "isac_env.envs.vector:RydbergISACVectorEnv"
        assert spec.entry_point == "isac_env.envs.rydberg:RydbergISACEnv"
    assert "isac_env/RydbergISAC-v0" in isac_env.ENV_IDS
    assert dict(gym.spec("isac_env/RydbergISAC-v0").kwargs) == {}  # Table I stays the default id


@pytest.mark.parametrize("tier", RYDBERG_TIERS, ids=lambda t: t.env_id)
def test_tier_config_differs_from_table_i_as_documented(tier):
    """The env's config equals Table I except for the documented fields, which really change."""
    cfg = gym.make(tier.env_id).unwrapped.config
    table_i = RydbergISACConfig()
    differ = {f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != getattr(table_i, f.name)}
    assert differ == set(tier.kwargs)
    for key, value in tier.kwargs.items():
        assert getattr(cfg, key) == value
    assert cfg.polarization == "mkl"  # one polarization per path (not the paper's per-element index)
    assert cfg.num_clusters <= 3 < table_i.num_clusters
    if "crb_threshold" in tier.kwargs:
        assert 0.005 <= cfg.crb_threshold <= 0.04  # a point of the paper's Fig. 4c sweep


def test_tier_channels_are_low_rank_unlike_table_i():
    """The documented physics: one polarization per path and one cluster give an RAR channel
    H_RU,k of low numerical rank; Table I's per-element polarization makes it full rank."""

    def eff_rank(env_id: str) -> float:
        env = gym.make(env_id)
        ranks = []
        for seed in range(3):
            env.reset(seed=seed)
            s = np.linalg.svd(env.unwrapped.scenario.H_RU, compute_uv=False)  # [K, min(M, N)]
            ranks.append(np.mean(np.sum(s > 1e-2 * s[:, :1], axis=-1)))
        return float(np.mean(ranks))

    r_tight = eff_rank("isac_env/RydbergISAC-SparseTight-v0")
    r_table = eff_rank("isac_env/RydbergISAC-v0")
    assert r_table >= 30 and r_tight <= 0.5 * r_table, (r_tight, r_table)


@pytest.mark.parametrize("env_id", TIER_IDS)
def test_gymnasium_env_checker(env_id):
    env = gym.make(env_id, horizon=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker's warnings are failures here
        gym_check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", TIER_IDS)
def test_sb3_env_checker(env_id):
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make(env_id, horizon=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_checker.check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=lambda m: m.value)
@pytest.mark.parametrize("env_id", TIER_IDS)
def test_vector_equals_single_envs_on_tier(env_id, mode):
    """B=3, horizon 3, 8 steps (autoresets included) vs SyncVectorEnv of 3 single tier envs; the tier's
    own channel model (polarization, clusters, eps) is kept, only the array sizes are reduced."""
    kw = dict(SMALL, horizon=3)
    vec = gym.make_vec(env_id, num_envs=3, autoreset_mode=mode, **kw)
    assert isinstance(vec, RydbergISACVectorEnv)
    tier = next(t for t in RYDBERG_TIERS if t.env_id == env_id)
    for key, value in tier.kwargs.items():
        assert getattr(vec.unwrapped.config, key) == value
    ref = SyncVectorEnv([lambda: gym.make(env_id, **kw) for _ in range(3)], autoreset_mode=mode)
    _rollout_pair(vec, ref, steps=8, seed=5)


@pytest.mark.parametrize("env_id", TIER_IDS)
def test_vector_equals_single_envs_full_size(env_id):
    """At the tier's full (Table-I) size: row i of the vector env is the single env reset with seed + i."""
    B, seed = 2, 4
    vec = gym.make_vec(env_id, num_envs=B, horizon=2)
    singles = [gym.make(env_id, horizon=2) for _ in range(B)]
    obs, _ = vec.reset(seed=seed)
    for i, env in enumerate(singles):
        o, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(obs[i], o)
        for name in ("H_BR", "H_RU", "H_BU", "b", "sigma_q2"):
            np.testing.assert_array_equal(
                getattr(vec.unwrapped.scenario, name)[i], getattr(env.unwrapped.scenario, name)
            )
    a = np.random.default_rng(0).uniform(-1, 1, vec.action_space.shape).astype(np.float32)
    obs, rew, _, _, info = vec.step(a)
    for i, env in enumerate(singles):
        o, r, _, _, inf = env.step(a[i])
        np.testing.assert_allclose(obs[i], o, rtol=1.2e-7, atol=1e-30)
        assert rew[i] == pytest.approx(r, rel=1e-12)
        assert info["cost"][i] == pytest.approx(inf["cost"], rel=1e-12, abs=1e-300)
