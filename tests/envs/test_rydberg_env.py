"""RydbergISAC-v0 and its variants: API conformance, determinism, codecs, errors."""

from __future__ import annotations

import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import isac_env
from isac_env import physics as P

from ..conftest import SMALL_RAR

RYDBERG_IDS = [i for i in isac_env.ENV_IDS if "Rydberg" in i]


def _rollout(env_id: str, seed: int, steps: int = 6, **kw) -> list[float]:
    env = gym.make(env_id, **kw)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [float(np.sum(obs, dtype=np.float64))]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        out += [float(np.sum(obs, dtype=np.float64)), r, info["metrics"]["crb_trace"]]
        if term or trunc:
            obs, _ = env.reset()
    return out


def test_same_seed_same_rollout_across_processes():
    kw = dict(SMALL_RAR, horizon=3, channel_dynamics="gauss_markov")
    here = _rollout("isac_env/RydbergISAC-v0", 42, **kw)
    code = (
        "import json, isac_env; from tests.envs.test_rydberg_env import _rollout; "
        f"print(json.dumps(_rollout('isac_env/RydbergISAC-v0', 42, **{kw!r})))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    assert json.loads(res.stdout.strip().splitlines()[-1]) == here
    assert _rollout("isac_env/RydbergISAC-v0", 43, **kw) != here


def test_pickle_roundtrip():
    env = gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR)
    env.reset(seed=0)
    clone = pickle.loads(pickle.dumps(env))
    a = env.action_space.sample()
    r1 = env.step(a)[1]
    r2 = clone.step(a)[1]
    assert r1 == r2


@pytest.mark.parametrize("env_id", RYDBERG_IDS)
def test_encode_decode_roundtrip_and_metrics(env_id, rng):
    env = gym.make(env_id, **SMALL_RAR)
    env.reset(seed=1)
    u = env.unwrapped
    a = env.action_space.sample()
    W, phi = u.decode_action(a)
    assert P.transmit_power_w(W) == pytest.approx(u.scenario.P_max)
    np.testing.assert_allclose(np.abs(phi), 1.0)
    W2, phi2 = u.decode_action(u.encode_action(W, phi))
    np.testing.assert_allclose(W2, W, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(phi2, phi, atol=1e-12)
    _, r, _, _, info = env.step(u.encode_action(W, phi))
    m = P.evaluate(u.scenario, W, phi)
    assert info["metrics"]["sum_rate"] == pytest.approx(float(m["sum_rate"]), rel=1e-12)
    assert info["metrics"]["crb_trace"] == pytest.approx(float(m["crb_trace"]), rel=1e-10)
    assert sum(info["reward_terms"].values()) == pytest.approx(r)
    assert isinstance(info["cost"], float) and isinstance(info["feasible"], bool)


def test_quantized_phases_on_grid():
    env = gym.make("isac_env/RydbergISAC-Quantized-v0", **SMALL_RAR)
    env.reset(seed=0)
    _, phi = env.unwrapped.decode_action(env.action_space.sample())
    k = np.angle(phi) / (2 * np.pi / 4)
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)


def test_penalty_and_cost(rng):
    env = gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR, crb_threshold=1e-9, constraint_penalty=2.0)
    env.reset(seed=0)
    _, r, _, _, info = env.step(env.action_space.sample())
    assert info["cost"] > 0 and not info["feasible"]
    assert r == pytest.approx(info["metrics"]["sum_rate"] - 2.0 * info["cost"])


def test_horizon_truncation_and_static_channel():
    # obs_mode="full": the CSI features are the channels themselves, constant in a static episode
    # (the default "effective" features depend on the last played phases)
    env = gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR, horizon=3, obs_mode="full")
    obs0, _ = env.reset(seed=0)
    H0 = env.unwrapped.scenario.H_RU.copy()
    flags = []
    for _ in range(3):
        obs, _, term, trunc, _ = env.step(env.action_space.sample())
        flags.append((term, trunc))
    assert flags == [(False, False), (False, False), (False, True)]
    np.testing.assert_array_equal(env.unwrapped.scenario.H_RU, H0)
    n_csi = env.unwrapped._n_csi
    np.testing.assert_array_equal(obs[:n_csi], obs0[:n_csi])


def test_gauss_markov_changes_channel():
    env = gym.make(
        "isac_env/RydbergISAC-v0", **SMALL_RAR, channel_dynamics="gauss_markov", gm_correlation=0.5
    )
    env.reset(seed=0)
    H0 = env.unwrapped.scenario.H_RU.copy()
    env.step(env.action_space.sample())
    assert not np.allclose(env.unwrapped.scenario.H_RU, H0)


def test_observation_is_order_one():
    env = gym.make("isac_env/RydbergISAC-v0")
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and 0.1 < np.std(obs) < 10
    env2 = gym.make("isac_env/RydbergISAC-v0", obs_mode="effective", **SMALL_RAR)
    obs2, _ = env2.reset(seed=0)
    env2.action_space.seed(0)
    obs2, *_ = env2.step(env2.action_space.sample())
    assert env2.observation_space.contains(obs2) and 0.1 < np.std(obs2) < 10


def test_replay_given_scenario():
    env = gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR)
    env.reset(seed=0)
    s = env.unwrapped.scenario
    env.reset(seed=5, options={"scenario": s})
    assert env.unwrapped.scenario is s


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"num_users": 0}, "num_users"),
        ({"snr_db": float("nan")}, "snr_db"),
        ({"crb_threshold": -1.0}, "crb_threshold"),
        ({"polarization": "xyz"}, "polarization"),
        ({"horizon": 0}, "horizon"),
        ({"channel_dynamics": "fast"}, "channel_dynamics"),
        ({"gm_correlation": 1.5}, "gm_correlation"),
        ({"phase_bits": 9}, "phase_bits"),
    ],
)
def test_bad_config_raises_naming_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        gym.make("isac_env/RydbergISAC-v0", **kwargs)


def test_unknown_kwarg_raises():
    with pytest.raises(TypeError, match="num_userz"):
        gym.make("isac_env/RydbergISAC-v0", num_userz=3)


@pytest.mark.parametrize("bad", ["shape", "nan", "inf"])
def test_bad_actions_raise(bad):
    env = gym.make("isac_env/RydbergISAC-v0", **SMALL_RAR)
    env.reset(seed=0)
    a = env.action_space.sample()
    if bad == "shape":
        a = a[:-1]
    else:
        a[3] = np.nan if bad == "nan" else np.inf
    with pytest.raises(ValueError, match="action"):
        env.step(a)


def test_bad_discrete_actions_raise():
    env = gym.make("isac_env/RydbergISAC-Discrete-v0", **SMALL_RAR)
    env.reset(seed=0)
    a = env.action_space.sample()
    a["phases"] = a["phases"].copy()
    a["phases"][0] = 7
    with pytest.raises(ValueError, match="phases"):
        env.step(a)
    with pytest.raises(ValueError, match="dict"):
        env.step(np.zeros(3))


def test_module_prefixed_make_in_fresh_process():
    """``gym.make("isac_env:isac_env/RydbergISAC-v0")`` imports the package and finds the id."""
    code = (
        "import gymnasium as gym; "
        "env = gym.make('isac_env:isac_env/RydbergISAC-v0', num_ris=8, num_cells=4, num_clusters=2, num_rays=2); "
        "print(env.reset(seed=0)[0].shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("(")
