"""isac_env.wrappers: Dict-action flattening, Safety-Gymnasium cost step, metric recording."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import isac_env  # noqa: F401
from isac_env.wrappers import (
    FlattenDictAction,
    RecordMetrics,
    SafetyGymnasiumCost,
    SafetyGymnasiumToGymnasium,
    scalar_metrics,
)
from tests.conftest import SMALL_RAR

SMALL = {**SMALL_RAR, "horizon": 4, "obs_mode": "effective"}


def test_flatten_dict_action_plays_like_the_quantized_env():
    disc = FlattenDictAction(gym.make("isac_env/RydbergISAC-Discrete-v0", **SMALL))
    quant = gym.make("isac_env/RydbergISAC-Quantized-v0", **SMALL)
    assert isinstance(disc.action_space, spaces.Box)
    assert disc.action_space.shape == quant.action_space.shape
    disc.reset(seed=3)
    quant.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(4):
        a = rng.uniform(-1, 1, disc.action_space.shape).astype(np.float32)
        d = disc.action(a)
        assert disc.env.action_space.contains(d)
        _, r1, _, _, i1 = disc.step(a)
        _, r2, _, _, i2 = quant.step(a)
        assert r1 == pytest.approx(r2, rel=1e-9, abs=1e-12)
        assert i1["cost"] == pytest.approx(i2["cost"], rel=1e-9, abs=1e-12)


def test_flatten_dict_action_linear_and_circular_levels():
    x = np.array([-1.0, -0.51, 0.0, 0.49, 0.999, 1.0])
    lin = FlattenDictAction.to_levels(x, np.full(6, 4), circular=False)
    assert lin.tolist() == [0, 0, 2, 2, 3, 3]
    circ = FlattenDictAction.to_levels(
        np.array([0.0, 0.5, 1.0, -0.5, -1.0, 0.26]), np.full(6, 4), circular=True
    )
    assert circ.tolist() == [0, 1, 2, 3, 2, 1]


class _DictEnv(gym.Env):
    def __init__(self) -> None:
        self.action_space = spaces.Dict(
            {"a": spaces.Box(0.0, 10.0, (2,), np.float32), "k": spaces.Discrete(3, start=1)}
        )
        self.observation_space = spaces.Box(-1, 1, (1,), np.float32)
        self.last = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.last = action
        return np.zeros(1, np.float32), 0.0, False, False, {"cost": 0.5}


def test_flatten_dict_action_rescales_boxes_and_offsets_discrete():
    env = FlattenDictAction(_DictEnv())
    assert env.action_space.shape == (3,)
    d = env.action(np.array([-1.0, 1.0, 0.9], np.float32))
    np.testing.assert_allclose(d["a"], [0.0, 10.0])
    assert int(d["k"]) == 3
    with pytest.raises(ValueError, match="shape"):
        env.action(np.zeros(2))
    with pytest.raises(TypeError, match="Dict"):
        FlattenDictAction(gym.make("isac_env/RydbergISAC-v0", **SMALL))


@pytest.mark.parametrize("strip", [False, True])
def test_safety_gymnasium_cost_is_info_cost(strip):
    env = SafetyGymnasiumCost(gym.make("isac_env/RydbergISAC-v0", **SMALL), strip_penalty=strip)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(3):
        out = env.step(env.action_space.sample())
        assert len(out) == 6
        _, reward, cost, terminated, truncated, info = out
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        assert isinstance(cost, float) and cost == info["cost"]
        assert cost >= 0.0
        if strip:
            assert reward == pytest.approx(info["reward_terms"]["sum_rate"])
        else:
            assert reward == pytest.approx(sum(info["reward_terms"].values()))
    back = SafetyGymnasiumToGymnasium(SafetyGymnasiumCost(_DictEnv()))
    back.reset()
    assert len(back.step({"a": np.zeros(2, np.float32), "k": 1})) == 5


def test_safety_gymnasium_cost_needs_cost():
    class NoCost(_DictEnv):
        def step(self, action):
            return np.zeros(1, np.float32), 0.0, False, False, {}

    env = SafetyGymnasiumCost(NoCost())
    env.reset()
    with pytest.raises(ValueError, match="cost"):
        env.step({"a": np.zeros(2, np.float32), "k": 1})


def test_record_metrics_reports_episode_means():
    env = RecordMetrics(gym.make("isac_env/RydbergISAC-v0", **SMALL))
    env.reset(seed=1)
    env.action_space.seed(1)
    rates, costs = [], []
    for t in range(SMALL["horizon"]):
        _, _, _, truncated, info = env.step(env.action_space.sample())
        rates.append(info["metrics"]["sum_rate"])
        costs.append(info["cost"])
        assert ("episode_metrics" in info) == (t == SMALL["horizon"] - 1) == truncated
    ep = info["episode_metrics"]
    assert ep["sum_rate"] == pytest.approx(np.mean(rates))
    assert ep["cost"] == pytest.approx(np.mean(costs))
    assert ep["length"] == SMALL["horizon"]
    assert set(scalar_metrics(info)) >= {"sum_rate", "crb_trace", "power_w", "cost", "feasible"}


def test_wrappers_do_not_import_torch():
    code = "import sys, isac_env.wrappers; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
