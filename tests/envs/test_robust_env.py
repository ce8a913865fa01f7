"""RobustISAC-v0 and RobustISAC-Continuous-v0: API conformance, determinism, codecs, errors."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import isac_env
from isac_env.config import EnvConfig, RobustISACConfig
from isac_env.physics import ris
from isac_env.physics import robust as R

ROBUST_IDS = ["isac_env/RobustISAC-v0", "isac_env/RobustISAC-Continuous-v0"]
SMALL = {"num_bs_antennas": 4, "num_ris": 6, "mc_draws": 200}


def test_ids_registered():
    assert set(ROBUST_IDS) <= set(isac_env.ENV_IDS)
    isac_env.register_envs()  # idempotent


def _rollout(env_id: str, seed: int, steps: int = 6, **kw) -> list[float]:
    env = gym.make(env_id, **kw)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [float(np.sum(obs, dtype=np.float64))]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        m = info["metrics"]
        out += [float(np.sum(obs, dtype=np.float64)), r, *m["outage"], *m["crb_failure"]]
        if term or trunc:
            obs, _ = env.reset()
    return out


@pytest.mark.parametrize("env_id", ROBUST_IDS)
@pytest.mark.parametrize("dynamics", ["static", "gauss_markov"])
def test_determinism(env_id, dynamics):
    kw = dict(SMALL, horizon=4, channel_dynamics=dynamics)
    a = _rollout(env_id, 7, **kw)
    assert a == _rollout(env_id, 7, **kw)
    assert a != _rollout(env_id, 8, **kw)


def test_spaces_and_info_types():
    env = gym.make("isac_env/RobustISAC-v0")
    obs, info = env.reset(seed=0)
    assert info == {}
    # obs_mode="effective" (default): 2 K Nt + 4T + 2K + T scenario features + K + T + 3 tail;
    # "full": 2(K Nt + K N Nt) + 4T + 2K + T + K + T + 3
    assert obs.shape == (85,) and obs.dtype == np.float32
    assert gym.make("isac_env/RobustISAC-v0", obs_mode="full").observation_space.shape == (1109,)
    assert env.action_space["precoder"].shape == (2 * 16 * 2 + 1,)
    assert np.array_equal(env.action_space["phases"].nvec, [4] * 16)
    assert isinstance(env.unwrapped.scenario, R.RobustScenario)
    _, r, term, trunc, info = env.step(env.action_space.sample())
    assert isinstance(r, float) and term is False and trunc is False
    m = info["metrics"]
    for k in ("power_dbm", "power_w"):
        assert type(m[k]) is float
    assert type(m["certified"]) is bool
    for k in ("outage", "crb_failure", "rate_margin", "crb_margin"):
        assert isinstance(m[k], list) and all(type(x) is float for x in m[k])
    assert len(m["outage"]) == 2 and len(m["crb_failure"]) == 2
    assert type(info["cost"]) is float and type(info["feasible"]) is bool
    assert set(info["reward_terms"]) == {"power", "outage_penalty", "crb_penalty"}
    assert np.isclose(sum(info["reward_terms"].values()), r)
    assert np.isclose(info["reward_terms"]["power"], -m["power_dbm"] / 10)
    want_cost = sum(max(0, o - 0.05) for o in m["outage"]) + sum(max(0, f - 0.05) for f in m["crb_failure"])
    assert np.isclose(info["cost"], want_cost)
    assert np.isclose(
        info["reward_terms"]["outage_penalty"] + info["reward_terms"]["crb_penalty"], -10 * want_cost
    )


def test_effective_observation_mode():
    env = gym.make("isac_env/RobustISAC-Continuous-v0", **SMALL, obs_mode="effective")
    obs, _ = env.reset(seed=0)
    # 2 K Nt + 4T + 2K + T scenario features + K + T + 3 tail
    assert obs.shape == env.observation_space.shape == (2 * 2 * 4 + 8 + 4 + 2 + 2 + 2 + 3,)
    a = env.action_space.sample()
    a[17:] = 0.5
    o1, *_ = env.step(a)
    a[17:] = -0.5
    o2, *_ = env.step(a)
    assert not np.allclose(o1[:16], o2[:16])  # effective channel follows the played phases
    assert np.all(np.isfinite(o2)) and np.abs(o2).max() < 20


def test_observation_excludes_true_channels():
    env = gym.make("isac_env/RobustISAC-v0", **SMALL)
    env.reset(seed=1)
    s = env.unwrapped.scenario
    other = s.replace(h_d_true=2 * s.h_d_true, G_true=0 * s.G_true, alpha_true=3 * s.alpha_true)
    o1, _ = env.reset(seed=2, options={"scenario": s})
    o2, _ = env.reset(seed=2, options={"scenario": other})
    assert np.array_equal(o1, o2)
    o3, _ = env.reset(seed=2, options={"scenario": s.replace(h_d_hat=2 * s.h_d_hat)})
    assert not np.array_equal(o1, o3)


@pytest.mark.parametrize(
    ("env_id", "kw"),
    [
        ("isac_env/RobustISAC-v0", {}),
        ("isac_env/RobustISAC-v0", {"phase_bits": 3}),
        ("isac_env/RobustISAC-Continuous-v0", {}),
        ("isac_env/RobustISAC-Continuous-v0", {"phase_bits": 0}),
    ],
)
def test_encode_decode_roundtrip(env_id, kw):
    env = gym.make(env_id, **SMALL, **kw).unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))
    W *= np.sqrt(1e-3 / np.sum(np.abs(W) ** 2))  # 0 dBm, inside [-40, 30] dBm
    b = env.config.phase_bits
    phi = ris.phases_from_indices(rng.integers(0, 2**b, 6), b) if b else np.exp(1j * rng.uniform(-3, 3, 6))
    a = env.encode_action(W, phi)
    assert env.action_space.contains(
        {k: np.asarray(v, dtype=env.action_space[k].dtype) for k, v in a.items()}
        if isinstance(a, dict)
        else np.asarray(a, np.float32)
    )
    W2, phi2 = env.decode_action(a)
    assert np.allclose(W2, W) and np.allclose(phi2, phi)
    # the precoder direction part is scale-invariant; the power level clips to the range
    if isinstance(a, dict):
        a = {"precoder": np.concatenate([2 * a["precoder"][:-1], [5.0]]), "phases": a["phases"]}
    else:
        a = np.concatenate([2 * a[:16], [5.0], a[17:]])
    W3, _ = env.decode_action(a)
    assert np.isclose(np.sum(np.abs(W3) ** 2), 1.0)  # P_max = 30 dBm


@pytest.mark.parametrize("env_id", ROBUST_IDS)
def test_phases_stay_on_grid(env_id):
    env = gym.make(env_id, **SMALL, phase_bits=3).unwrapped
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(20):
        _, phi = env.decode_action(env.action_space.sample())
        idx = ris.quantize_indices(phi, 3)
        assert np.allclose(phi, ris.phases_from_indices(idx, 3))
    if env_id.endswith("Continuous-v0"):
        a = np.zeros(env.action_space.shape)
        a[17:] = np.linspace(-0.99, 0.99, 6)  # off-grid continuous phases get quantized
        _, phi = env.decode_action(a)
        assert np.allclose(phi, ris.quantize_phases(np.exp(1j * np.pi * a[17:]), 3))


def test_metrics_agree_with_physics():
    env = gym.make("isac_env/RobustISAC-v0", **SMALL, num_users=1).unwrapped
    env.reset(seed=3)
    s = env.scenario
    v = np.ones(6, complex)
    h = R.effective_channels(s, v)[0]
    w = (h / np.linalg.norm(h))[:, None]
    # scale to the rate-restriction boundary and the CRB restriction boundary, 1 dB above both
    beta_r = 1.0 / (R.rate_margin(s, w, v) + 1.0)[0]
    beta_c = np.max(s.tau / (R.crb_margin(s, w) + s.tau))
    W = w * np.sqrt(max(beta_r, beta_c) * 10**0.1)
    _, r, _, _, info = env.step(env.encode_action(W, R.phi_from_v(v)))
    m = info["metrics"]
    assert m["certified"] is True
    assert np.allclose(m["rate_margin"], R.rate_margin(s, W, v))
    assert np.allclose(m["crb_failure_exact"], R.crb_failure_exact(s, W))
    assert np.isclose(m["power_w"], np.sum(np.abs(W) ** 2))
    assert max(m["outage"]) <= 0.05 and info["cost"] == 0.0 and info["feasible"] is True
    assert np.isclose(r, -m["power_dbm"] / 10)


def test_static_and_aging_modes():
    env = gym.make("isac_env/RobustISAC-v0", **SMALL, horizon=3)
    env.reset(seed=0)
    s0 = env.unwrapped.scenario
    env.step(env.action_space.sample())
    assert env.unwrapped.scenario is s0
    env = gym.make("isac_env/RobustISAC-v0", **SMALL, horizon=3, channel_dynamics="gauss_markov")
    env.reset(seed=0)
    s0 = env.unwrapped.scenario
    _, _, _, trunc, _ = env.step(env.action_space.sample())
    s1 = env.unwrapped.scenario
    assert not trunc and not np.allclose(s0.h_d_hat, s1.h_d_hat)
    assert 0.5 < abs(np.vdot(s0.h_d_hat, s1.h_d_hat)) / (
        np.linalg.norm(s0.h_d_hat) * np.linalg.norm(s1.h_d_hat)
    )
    env.step(env.action_space.sample())
    _, _, _, trunc, _ = env.step(env.action_space.sample())
    assert trunc


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"rho_c": 2.0}, "rho_c"),
        ({"num_users": 0}, "num_users"),
        ({"restriction": "foo"}, "restriction"),
        ({"mc_draws": 0}, "mc_draws"),
        ({"horizon": 0}, "horizon"),
        ({"phase_action": "round"}, "phase_action"),
        ({"num_ris": 0}, "num_ris"),
    ],
)
def test_bad_config_raises(kw, match):
    with pytest.raises(ValueError, match=match):
        gym.make("isac_env/RobustISAC-v0", **kw)


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="unknown argument"):
        gym.make("isac_env/RobustISAC-v0", num_antennas=3)
    with pytest.raises(ValueError, match="phase_bits"):
        gym.make("isac_env/RobustISAC-v0", env_config=EnvConfig(phase_bits=3))
    with pytest.raises(ValueError, match="render_mode"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium warns about the unknown render mode first
        gym.make("isac_env/RobustISAC-v0", render_mode="bogus")
    env = gym.make("isac_env/RobustISAC-v0", config=RobustISACConfig(**SMALL))
    assert env.unwrapped.config.num_ris == 6


@pytest.mark.parametrize("env_id", ROBUST_IDS)
def test_bad_actions_raise(env_id):
    env = gym.make(env_id, **SMALL)
    env.reset(seed=0)
    good = env.action_space.sample()
    if isinstance(good, dict):
        bad = [
            {"precoder": good["precoder"][:-1], "phases": good["phases"]},
            {"precoder": np.full_like(good["precoder"], np.nan), "phases": good["phases"]},
            {"precoder": good["precoder"], "phases": np.full(6, 4)},
            {"precoder": good["precoder"], "phases": np.full(6, 0.5)},
            {"precoder": good["precoder"]},
            np.zeros(10),
        ]
    else:
        inf = good.copy()
        inf[0] = np.inf
        nan = good.copy()
        nan[-1] = np.nan
        bad = [good[:-1], inf, nan, good[None].repeat(2, 0), {"precoder": good}]
    for a in bad:
        with pytest.raises(ValueError):
            env.step(a)
