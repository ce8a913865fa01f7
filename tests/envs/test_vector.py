"""Native vector envs: equality with B single envs, autoreset modes, channel bank, SB3 adapter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import isac_env
from isac_env.bank import ChannelBank
from isac_env.config import RydbergISACConfig
from isac_env.envs.vector import RydbergISACVectorEnv

TINY = {"num_users": 2, "num_cells": 4, "num_ris": 8, "num_bs_antennas": 4, "num_clusters": 2, "num_rays": 2}
RYDBERG_IDS = [i for i in isac_env.ENV_IDS if "Rydberg" in i]
MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]
VARIANTS = {
    "static": {},
    "gauss_markov": {"channel_dynamics": "gauss_markov", "gm_correlation": 0.7},
    "effective_gm_distortion": {
        "obs_mode": "effective",
        "channel_dynamics": "gauss_markov",
        "rsr_model": "distortion",
    },
}


def _assert_info_equal(got: dict, want: dict, path: str = "info") -> None:
    """Vector infos equal: same keys and masks; masked values equal to 1e-12 (lists vs arrays ok)."""
    assert sorted(got) == sorted(want), (path, sorted(got), sorted(want))
    for key, w in want.items():
        g = got[key]
        if key.startswith("_"):
            np.testing.assert_array_equal(g, w, err_msg=f"{path}.{key}")
        elif isinstance(w, dict):
            _assert_info_equal(g, w, f"{path}.{key}")
        else:
            mask = want[f"_{key}"]
            for i in np.flatnonzero(mask):
                gi, wi = np.asarray(g[i]), np.asarray(w[i])
                if wi.dtype == np.bool_:
                    assert gi.dtype == np.bool_ and np.array_equal(gi, wi), f"{path}.{key}[{i}]"
                else:
                    np.testing.assert_allclose(gi, wi, rtol=1e-12, atol=0, err_msg=f"{path}.{key}[{i}]")


def _assert_obs_equal(got: np.ndarray, want: np.ndarray) -> None:
    # float32 features of float64 maths that agree to 1e-12: equal up to one float32 rounding.
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1.2e-7, atol=1e-30)


def _rollout_pair(vec, ref, steps: int, seed: int) -> None:
    o1, i1 = vec.reset(seed=seed)
    o2, i2 = ref.reset(seed=seed)
    _assert_obs_equal(o1, o2)
    _assert_info_equal(i1, i2)
    vec.action_space.seed(seed)
    for _ in range(steps):
        a = vec.action_space.sample()
        o1, r1, te1, tr1, i1 = vec.step(a)
        o2, r2, te2, tr2, i2 = ref.step(a)
        _assert_obs_equal(o1, o2)
        np.testing.assert_allclose(r1, r2, rtol=1e-12, atol=1e-300)
        assert r1.dtype == np.float64 and te1.dtype == tr1.dtype == np.bool_
        np.testing.assert_array_equal(te1, te2)
        np.testing.assert_array_equal(tr1, tr2)
        final1, final2 = i1.pop("final_obs", None), i2.pop("final_obs", None)
        assert (final1 is None) == (final2 is None)
        if final2 is not None:
            for f1, f2 in zip(final1, final2, strict=True):
                assert (f1 is None) == (f2 is None)
                if f2 is not None:
                    _assert_obs_equal(f1, f2)
        _assert_info_equal(i1, i2)
        assert vec.observation_space.contains(o1)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("env_id", RYDBERG_IDS)
def test_vector_equals_single_envs(env_id, variant, mode):
    """B=3 seeds, horizon 3, 8 steps: two full episodes plus autoresets, vs SyncVectorEnv of B singles."""
    kw = dict(TINY, horizon=3, **VARIANTS[variant])
    vec = gym.make_vec(env_id, num_envs=3, autoreset_mode=mode, **kw)
    assert isinstance(vec, RydbergISACVectorEnv) and vec.metadata["autoreset_mode"] == mode
    ref = SyncVectorEnv([lambda: gym.make(env_id, **kw) for _ in range(3)], autoreset_mode=mode)
    _rollout_pair(vec, ref, steps=8, seed=11)


def test_vector_equals_plain_single_loop():
    """Within an episode: row i of the vector env is exactly the single env reset with seed + i."""
    B, seed = 4, 3
    vec = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=B, horizon=5, **TINY)
    singles = [gym.make("isac_env/RydbergISAC-v0", horizon=5, **TINY) for _ in range(B)]
    obs, _ = vec.reset(seed=seed)
    for i, env in enumerate(singles):
        o, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(obs[i], o)
        for name in ("H_BR", "H_RU", "H_BU", "b", "sigma_q2"):
            np.testing.assert_array_equal(
                getattr(vec.unwrapped.scenario, name)[i], getattr(env.unwrapped.scenario, name)
            )
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = rng.uniform(-1, 1, vec.action_space.shape).astype(np.float32)
        obs, rew, term, trunc, info = vec.step(a)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(a[i])
            _assert_obs_equal(obs[i], o)
            assert rew[i] == pytest.approx(r, rel=1e-12) and term[i] == te and trunc[i] == tr
            assert info["cost"][i] == pytest.approx(inf["cost"], rel=1e-12, abs=1e-300)
            np.testing.assert_allclose(info["metrics"]["sinr"][i], inf["metrics"]["sinr"], rtol=1e-12)
    assert trunc.all()


def test_disabled_mode_and_reset_mask():
    kw = dict(TINY, horizon=2)
    vec = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=3, autoreset_mode="Disabled", **kw)
    ref = SyncVectorEnv(
        [lambda: gym.make("isac_env/RydbergISAC-v0", **kw) for _ in range(3)], autoreset_mode="Disabled"
    )
    vec.reset(seed=0)
    ref.reset(seed=0)
    a = vec.action_space.sample()
    for _ in range(2):
        o1, *_, tr1, _ = vec.step(a)
        o2, *_, tr2, _ = ref.step(a)
    assert tr1.all() and tr2.all()
    with pytest.raises(RuntimeError, match="reset_mask"):
        vec.step(a)
    mask = np.array([True, False, True])
    o1, _ = vec.reset(options={"reset_mask": mask})
    o2, _ = ref.reset(options={"reset_mask": mask.copy()})
    _assert_obs_equal(o1, o2)
    mask = ~mask
    o1, _ = vec.reset(options={"reset_mask": mask})
    o2, _ = ref.reset(options={"reset_mask": mask.copy()})
    o1, r1, *_ = vec.step(a)
    o2, r2, *_ = ref.step(a)
    _assert_obs_equal(o1, o2)
    np.testing.assert_allclose(r1, r2, rtol=1e-12)


def test_seed_list_and_unseeded_reset():
    vec = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, **TINY)
    o1, _ = vec.reset(seed=[7, 9])
    single = gym.make("isac_env/RydbergISAC-v0", **TINY)
    np.testing.assert_array_equal(o1[1], single.reset(seed=9)[0])
    o2, _ = vec.reset()  # continues each sub-env's generator
    np.testing.assert_array_equal(o2[1], single.reset()[0])
    with pytest.raises(ValueError, match="length"):
        vec.reset(seed=[1, 2, 3])


def test_errors():
    with pytest.raises(ValueError, match="autoreset_mode"):
        RydbergISACVectorEnv(2, autoreset_mode="sometimes", **TINY)
    with pytest.raises(ValueError, match="num_envs"):
        RydbergISACVectorEnv(0, **TINY)
    with pytest.raises(TypeError, match="unknown argument"):
        RydbergISACVectorEnv(2, bogus=1)
    vec = RydbergISACVectorEnv(2, **TINY)
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(vec.action_space.sample())
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros((3, vec.single_action_space.shape[0])))
    bad = vec.action_space.sample()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vec.step(bad)


# --------------------------------------------------------------------------- channel bank
def test_channel_bank_roundtrip_and_hash(tmp_path):
    cfg = RydbergISACConfig(**TINY)
    bank = ChannelBank.generate(cfg, size=5, seed=2)
    again = ChannelBank.generate(cfg, size=5, seed=2)
    assert bank.content_hash == again.content_hash and len(bank) == 5
    assert ChannelBank.generate(cfg, size=5, seed=3).content_hash != bank.content_hash
    path = bank.save(tmp_path / "bank.npz")
    loaded = ChannelBank.load(path, expected_hash=bank.content_hash)
    assert loaded.content_hash == bank.content_hash and loaded.config == cfg and loaded.seed == 2
    np.testing.assert_array_equal(loaded[3].H_RU, bank.take([3]).H_RU[0])
    # entry i is the draw of SeedSequence(seed).spawn(size)[i]
    from isac_env.physics import rar

    ss = np.random.SeedSequence(2).spawn(5)[4]
    np.testing.assert_array_equal(bank[4].H_BU, rar.sample_scenario(cfg, np.random.default_rng(ss)).H_BU)
    with pytest.raises(ValueError, match="expected"):
        ChannelBank.load(path, expected_hash="0" * 64)
    data = dict(np.load(path))
    data["H_BR"] = data["H_BR"] * 2
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(ValueError, match="corrupt"):
        ChannelBank.load(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="another config"):
        gym.make("isac_env/RydbergISAC-v0", channel_bank=path, **{**TINY, "num_ris": 16})


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_vector_with_bank_equals_single_envs(tmp_path, mode):
    cfg = RydbergISACConfig(**TINY)
    path = ChannelBank.generate(cfg, size=4, seed=0).save(tmp_path / "b.npz")
    kw = dict(TINY, horizon=2, channel_bank=path)
    vec = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=3, autoreset_mode=mode, **kw)
    ref = SyncVectorEnv(
        [lambda: gym.make("isac_env/RydbergISAC-v0", **kw) for _ in range(3)], autoreset_mode=mode
    )
    _rollout_pair(vec, ref, steps=6, seed=5)
    bank = vec.unwrapped.channel_bank
    H = vec.unwrapped.scenario.H_RU
    assert all(any(np.array_equal(H[i], bank.arrays["H_RU"][j]) for j in range(len(bank))) for i in range(3))


# --------------------------------------------------------------------------- SB3
def test_sb3_adapter_and_ppo_smoke():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from isac_env.envs.sb3 import SB3VecEnv

    with pytest.raises(ValueError, match="SameStep"):
        SB3VecEnv(gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, **TINY))
    venv = SB3VecEnv(
        gym.make_vec("isac_env/RydbergISAC-v0", num_envs=4, autoreset_mode="SameStep", horizon=4, **TINY)
    )
    venv.seed(0)
    obs = venv.reset()
    assert obs.shape == (4, *venv.observation_space.shape)
    for t in range(4):
        obs, rew, done, infos = venv.step(np.stack([venv.action_space.sample() for _ in range(4)]))
        assert done.all() == (t == 3) and rew.dtype == np.float32
    assert all(i["TimeLimit.truncated"] and i["terminal_observation"].shape == obs.shape[1:] for i in infos)
    assert all("metrics" in i and "cost" in i for i in infos)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 64
