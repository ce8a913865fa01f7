"""Native RobustISAC vector env: equality with B single envs (per-sub-env Monte-Carlo draws),
autoreset modes, errors, SB3 adapter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from isac_env.envs.vector import RobustISACVectorEnv

from .test_vector import _assert_info_equal, _assert_obs_equal, _rollout_pair

ROBUST_IDS = ["isac_env/RobustISAC-v0", "isac_env/RobustISAC-Continuous-v0"]
SMALL = {"num_bs_antennas": 4, "num_ris": 6, "mc_draws": 200}
MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]
VARIANTS = {
    "static": {},
    "gauss_markov": {"channel_dynamics": "gauss_markov", "gm_correlation": 0.7},
    "effective_gm_mc_effective": {
        "obs_mode": "effective",
        "channel_dynamics": "gauss_markov",
        "mc_method": "effective",
    },
    "mc_full_lc": {"mc_method": "full", "restriction": "lc"},
}


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("env_id", ROBUST_IDS)
def test_vector_equals_single_envs(env_id, variant, mode):
    """B=3 seeds, horizon 3, 8 steps: two full episodes plus autoresets, vs SyncVectorEnv of B singles."""
    kw = dict(SMALL, horizon=3, **VARIANTS[variant])
    vec = gym.make_vec(env_id, num_envs=3, autoreset_mode=mode, **kw)
    assert isinstance(vec, RobustISACVectorEnv) and vec.metadata["autoreset_mode"] == mode
    ref = SyncVectorEnv([lambda: gym.make(env_id, **kw) for _ in range(3)], autoreset_mode=mode)
    _rollout_pair(vec, ref, steps=8, seed=11)


def test_vector_equals_plain_single_loop():
    """B = 2 = K = T (a misaligned batch axis would broadcast silently): row i is the single env
    reset with seed + i, Monte-Carlo estimates included."""
    B, seed, H = 2, 3, 4
    kw = dict(SMALL, horizon=H)
    vec = gym.make_vec("isac_env/RobustISAC-Continuous-v0", num_envs=B, **kw)
    singles = [gym.make("isac_env/RobustISAC-Continuous-v0", **kw) for _ in range(B)]
    obs, _ = vec.reset(seed=seed)
    for i, env in enumerate(singles):
        o, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(obs[i], o)
        for name in ("h_d_hat", "G_hat", "alpha_hat", "h_d_true"):
            np.testing.assert_array_equal(
                getattr(vec.unwrapped.scenario, name)[i], getattr(env.unwrapped.scenario, name)
            )
    rng = np.random.default_rng(0)
    for _ in range(H):
        a = rng.uniform(-1, 1, vec.action_space.shape).astype(np.float32)
        a[:, 2 * 4 * 2] = rng.uniform(0.3, 1.0, B)  # powers where outages are neither 0 nor 1
        obs, rew, term, trunc, info = vec.step(a)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(a[i])
            _assert_obs_equal(obs[i], o)
            assert rew[i] == pytest.approx(r, rel=1e-12) and term[i] == te and trunc[i] == tr
            assert info["cost"][i] == pytest.approx(inf["cost"], rel=1e-12, abs=1e-300)
            m = info["metrics"]
            for key in ("outage", "crb_failure", "rate_margin", "crb_est", "rate_true"):
                np.testing.assert_allclose(m[key][i], inf["metrics"][key], rtol=1e-12, err_msg=key)
            assert bool(m["certified"][i]) is inf["metrics"]["certified"]
    assert trunc.all()


def test_disabled_mode_and_reset_mask():
    kw = dict(SMALL, horizon=2)
    env_id = "isac_env/RobustISAC-v0"
    vec = gym.make_vec(env_id, num_envs=3, autoreset_mode="Disabled", **kw)
    ref = SyncVectorEnv([lambda: gym.make(env_id, **kw) for _ in range(3)], autoreset_mode="Disabled")
    vec.reset(seed=0)
    ref.reset(seed=0)
    vec.action_space.seed(0)
    a = vec.action_space.sample()
    for _ in range(2):
        *_, tr1, _ = vec.step(a)
        *_, tr2, _ = ref.step(a)
    assert tr1.all() and tr2.all()
    with pytest.raises(RuntimeError, match="reset_mask"):
        vec.step(a)
    mask = np.array([True, False, True])
    o1, _ = vec.reset(options={"reset_mask": mask})
    o2, _ = ref.reset(options={"reset_mask": mask.copy()})
    _assert_obs_equal(o1, o2)
    o1, _ = vec.reset(options={"reset_mask": ~mask})
    o2, _ = ref.reset(options={"reset_mask": ~mask})
    o1, r1, *_, i1 = vec.step(a)
    o2, r2, *_, i2 = ref.step(a)
    _assert_obs_equal(o1, o2)
    np.testing.assert_allclose(r1, r2, rtol=1e-12)
    _assert_info_equal(i1, i2)


def test_errors_and_spaces():
    with pytest.raises(TypeError, match="unknown argument"):
        RobustISACVectorEnv(2, bogus=1)
    with pytest.raises(ValueError, match="render_mode"):
        RobustISACVectorEnv(2, render_mode="human", **SMALL)
    vec = RobustISACVectorEnv(2, phase_action="quantize", **SMALL)
    single = gym.make("isac_env/RobustISAC-Continuous-v0", **SMALL)
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(vec.action_space.sample())
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros((3, vec.single_action_space.shape[0])))
    bad = vec.action_space.sample()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vec.step(bad)


def test_sb3_adapter_and_ppo_smoke():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from isac_env.envs.sb3 import SB3VecEnv

    venv = SB3VecEnv(
        gym.make_vec(
            "isac_env/RobustISAC-Continuous-v0", num_envs=4, autoreset_mode="SameStep", horizon=4, **SMALL
        )
    )
    venv.seed(0)
    obs = venv.reset()
    assert obs.shape == (4, *venv.observation_space.shape)
    for t in range(4):
        obs, rew, done, infos = venv.step(np.stack([venv.action_space.sample() for _ in range(4)]))
        assert done.all() == (t == 3) and rew.dtype == np.float32
    assert all(i["TimeLimit.truncated"] and i["terminal_observation"].shape == obs.shape[1:] for i in infos)
    assert all("metrics" in i and "cost" in i and len(i["metrics"]["outage"]) == 2 for i in infos)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 64
