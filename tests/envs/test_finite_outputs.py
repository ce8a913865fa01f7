"""No non-finite value reaches obs, reward, cost or info (issue 15, deliverable 2): the findings."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import isac_env
from isac_env import codecs
from isac_env.envs.base import COST_CAP

RAR = {"num_users": 2, "num_cells": 3, "num_ris": 4, "num_bs_antennas": 3, "num_clusters": 2, "num_rays": 2}
ROB = {"num_users": 2, "num_ris": 4, "num_bs_antennas": 3, "num_targets": 2, "mc_draws": 32}


def _small(env_id: str) -> dict:
    return ROB if "Robust" in env_id else RAR


def _finite(x) -> bool:
    if isinstance(x, dict):
        return all(_finite(v) for v in x.values())
    return bool(np.all(np.isfinite(np.asarray(x, dtype=np.float64))))


def _action(env, mag: float, phase: float | None = None, seed: int = 0, level: float = 0.3):
    """An action of ``env``: precoder direction ``mag`` times a fixed random direction, phases
    ``phase`` (Box spaces; random if None), robust power level ``level``."""
    space = env.unwrapped.single_action_space if hasattr(env.unwrapped, "num_envs") else env.action_space
    task = env.unwrapped.task
    robust = type(task).__name__ == "RobustTask"
    n_dir = task.n_w - 1 if robust else task.n_w
    rng = np.random.default_rng(seed)
    if isinstance(space, gym.spaces.Dict):
        pre = rng.uniform(-1, 1, space["precoder"].shape)
        pre[:n_dir] *= mag
        if robust:
            pre[-1] = level
        return {"precoder": pre, "phases": rng.integers(0, space["phases"].nvec)}
    a = rng.uniform(-1, 1, space.shape)
    a[:n_dir] *= mag
    if robust:
        a[n_dir] = level
    if phase is not None:
        a[task.n_w :] = phase
    return a


def _decode_reference(a, Nt, K, power_w):
    """The plain (pre-issue-15) decode formula."""
    n = Nt * K
    W = (a[..., :n] + 1j * a[..., n:]).reshape(*a.shape[:-1], Nt, K)
    return W * np.sqrt(power_w / np.einsum("...i,...i->...", a, a))[..., None, None]


# --------------------------------------------------------------------------- codecs
def test_decode_precoder_bit_identical_for_well_scaled_actions():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (50, 2 * 4 * 3)) * 10.0 ** rng.uniform(-90, 90, (50, 1))
    np.testing.assert_array_equal(codecs.decode_precoder(a, 4, 3, 2.5), _decode_reference(a, 4, 3, 2.5))


@pytest.mark.parametrize("mag", [1e200, 1e-160, 1e-300, 5e-324, 1.7e308])
def test_decode_precoder_scale_safe(mag):
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, 24)
    a[3] = 1.0  # a known max-abs entry, so a * mag / mag is exact up to one rounding
    ref = codecs.decode_precoder(a, 4, 3, 2.0)
    W = codecs.decode_precoder(a * mag, 4, 3, 2.0)
    assert np.all(np.isfinite(W))
    assert np.sum(np.abs(W) ** 2) == pytest.approx(2.0, rel=1e-12)
    if mag >= 1e-300:  # below, a * mag loses digits (subnormals) but stays a valid direction
        np.testing.assert_allclose(W, ref, rtol=1e-12, atol=1e-15)


def test_decode_phases_wraps_before_the_exponential():
    a = np.array([1e308, -1e308, 3.5, -2.75, 1e17 + 2.0, 7.0])
    phi = codecs.decode_phases(a)
    assert np.all(np.isfinite(phi)) and np.allclose(np.abs(phi), 1.0)
    # 1e308 and 1e17 + 2 are even integers, 3.5 = -0.5 (mod 2), -2.75 = -0.75, 7 = 1 (mod 2)
    np.testing.assert_allclose(phi, np.exp(1j * np.pi * np.array([0, 0, -0.5, -0.75, 0, 1])), atol=1e-15)
    inside = np.linspace(-1, 1, 101)
    np.testing.assert_array_equal(codecs.decode_phases(inside), np.exp(1j * np.pi * inside))
    q = codecs.decode_phases(np.array([1e308, 3.0]), bits=2, mode="quantize")
    np.testing.assert_allclose(q, [1.0, -1.0], atol=1e-15)


@pytest.mark.parametrize(
    "bad", [np.array(["0.5"] * 3), np.array([1j, 0, 0]), [None, 1.0, 2.0], [[1.0], [1.0, 2.0]]]
)
def test_non_numeric_actions_rejected(bad):
    with pytest.raises(ValueError, match="action"):
        codecs.check_action(bad, (3,))


# --------------------------------------------------------------------------- envs
@pytest.mark.parametrize("env_id", isac_env.ENV_IDS)
@pytest.mark.parametrize("mag", [1e200, 1e-160, 1e-300, 1.7e308])
def test_extreme_precoder_magnitudes_give_the_unit_scale_result(env_id, mag):
    env = gym.make(env_id, **_small(env_id))
    env.reset(seed=0)
    _, r1, _, _, _ = env.step(_action(env, 1.0))
    env.reset(seed=0)
    obs, r2, _, _, info2 = env.step(_action(env, mag))
    assert np.all(np.isfinite(obs)) and np.isfinite(r2) and np.isfinite(info2["cost"])
    assert _finite(info2["metrics"]) and _finite(info2["reward_terms"])
    if "Rydberg" in env_id:  # the decode is scale-invariant: same design, same reward
        assert r2 == pytest.approx(r1, rel=1e-9, abs=1e-9)
    else:  # same power level and direction; the Monte Carlo draws repeat after the reset
        assert info2["metrics"]["power_dbm"] == pytest.approx(0.3 * 35 - 5, abs=1e-9)
        assert r2 == pytest.approx(r1, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    "env_id", [i for i in isac_env.ENV_IDS if "Discrete" not in i and i != "isac_env/RobustISAC-v0"]
)
@pytest.mark.parametrize("phase", [1e308, -1e308, 1e-320])
def test_huge_phase_actions_are_finite(env_id, phase):
    env = gym.make(env_id, **_small(env_id))
    env.reset(seed=0)
    obs, r, _, _, info = env.step(_action(env, 1.0, phase=phase))
    assert np.all(np.isfinite(obs)) and np.isfinite(r) and _finite(info["metrics"])


@pytest.mark.parametrize("env_id", isac_env.ENV_IDS)
def test_vector_env_extreme_actions_finite(env_id):
    vec = gym.make_vec(env_id, num_envs=3, **_small(env_id))
    vec.reset(seed=0)
    acts = [_action(vec, m, seed=i) for i, m in enumerate([1e200, 1e-300, 1.0])]
    if isinstance(vec.single_action_space, gym.spaces.Dict):
        batch = {k: np.stack([a[k] for a in acts]) for k in ("precoder", "phases")}
    else:
        batch = np.stack(acts)
        batch[0, -1] = 1e308
    obs, r, _, _, info = vec.step(batch)
    assert np.all(np.isfinite(obs)) and np.all(np.isfinite(r))
    assert np.all(np.isfinite(info["cost"]))
    assert all(np.all(np.isfinite(v)) for k, v in info["metrics"].items() if not k.startswith("_"))


def test_robust_power_floor_is_p_min():
    """W = 0 used to be floored at -2970 dBm (reward +259); the floor is p_min_dbm."""
    env = gym.make("isac_env/RobustISAC-v0", **ROB)
    env.reset(seed=0)
    task = env.unwrapped.task
    s = env.unwrapped.scenario
    W = np.zeros((task.Nt, task.K), complex)
    m = task.metrics(s, W, np.ones(task.N, complex), task.draw(s, np.random.default_rng(0)))
    assert m["power_dbm"] == task.config.p_min_dbm == -40.0
    assert m["power_w"] == 0.0
    r, _, _ = task.reward(m)
    assert np.isfinite(r) and r <= -task.config.p_min_dbm / 10 == 4.0
    assert np.all(m["crb_est"] == pytest.approx((1 + COST_CAP) * task.config.crb_threshold))
    assert _finite({k: v for k, v in m.items() if k != "certified"})
    assert np.all(np.isfinite(task.observe_tail(s, m)))


@pytest.mark.parametrize("env_id", ["isac_env/RobustISAC-v0", "isac_env/RobustISAC-Continuous-v0"])
@pytest.mark.parametrize("mag", [1e-160, 1e-300, 5e-324])
def test_tiny_robust_precoder(env_id, mag):
    """A tiny precoder direction used to raise LinAlgError (inf/NaN W in eigh)."""
    env = gym.make(env_id, **ROB)
    env.reset(seed=0)
    _, r_ref, _, _, i_ref = env.step(_action(env, 1.0))
    env.reset(seed=0)  # same scenario and Monte-Carlo generator state
    _, r, _, _, info = env.step(_action(env, mag))
    assert np.isfinite(r) and _finite({k: v for k, v in info["metrics"].items() if k != "certified"})
    assert info["metrics"]["power_dbm"] == pytest.approx(i_ref["metrics"]["power_dbm"], abs=1e-9)
    if mag >= 1e-300:  # 5e-324 * U(-1, 1) keeps only a few bits of the direction
        assert r == pytest.approx(r_ref, rel=1e-9)


def test_robust_rate_threshold_smallest_allowed_is_finite():
    env = gym.make("isac_env/RobustISAC-v0", rate_threshold=1e-6, **ROB)
    env.reset(seed=0)
    obs, r, _, _, info = env.step(env.action_space.sample())
    assert np.all(np.isfinite(obs)) and np.isfinite(r) and np.isfinite(info["cost"])
    with pytest.raises(ValueError, match="rate_threshold"):
        gym.make("isac_env/RobustISAC-v0", rate_threshold=1e-100)


def test_singular_fim_is_capped_in_metrics_cost_and_obs():
    """A design with an infinite CRB gives the documented cap, never inf/NaN (also for lambda = 0)."""
    for lam in (10.0, 0.0):
        env = gym.make("isac_env/RydbergISAC-v0", constraint_penalty=lam, **RAR)
        env.reset(seed=0)
        task, s = env.unwrapped.task, env.unwrapped.scenario
        m = task.metrics(s, np.zeros((task.Nt, task.K), complex), np.ones(task.N, complex))
        assert m["crb_trace"] == pytest.approx((1 + COST_CAP) * task.config.crb_threshold)
        assert m["crb_violation"] == COST_CAP
        assert _finite(m)
        r, _, cost = task.reward(m)
        assert cost == COST_CAP and np.isfinite(r) and r == pytest.approx(m["sum_rate"] - lam * COST_CAP)
        tail = task.observe_tail(s, m)
        assert np.all(np.isfinite(tail)) and tail[task.K] == pytest.approx(np.log10(1 + COST_CAP))


def test_smallest_crb_threshold_gives_finite_bounded_cost():
    env = gym.make("isac_env/RydbergISAC-v0", crb_threshold=1e-12, **RAR)
    env.reset(seed=0)
    obs, r, _, _, info = env.step(env.action_space.sample())
    assert 0 < info["cost"] <= COST_CAP and np.isfinite(r) and np.all(np.isfinite(obs))
    with pytest.raises(ValueError, match="crb_threshold"):
        gym.make("isac_env/RydbergISAC-v0", crb_threshold=5e-324)


def test_largest_distance_gives_finite_obs():
    env = gym.make("isac_env/RydbergISAC-v0", d_ru_m=1e5, d_br_m=1e5, **RAR)
    obs, _ = env.reset(seed=0)
    assert np.all(np.isfinite(obs))
    obs, r, _, _, info = env.step(env.action_space.sample())
    assert np.all(np.isfinite(obs)) and np.isfinite(r) and _finite(info["metrics"])
    with pytest.raises(ValueError, match="d_ru_m"):
        gym.make("isac_env/RydbergISAC-v0", d_ru_m=1e300)


def test_target_at_the_bs_rejected():
    # p_R = 50 (sin 45, cos 45); the target 50 m back along the same line sits at the BS
    with pytest.raises(ValueError, match="d_br_m"):
        gym.make("isac_env/RydbergISAC-v0", d_rt_m=50.0, theta_r_rad=-np.pi / 4, **RAR)


@pytest.mark.parametrize("env_id", isac_env.ENV_IDS)
def test_unknown_reset_option_names_the_key(env_id):
    env = gym.make(env_id, **_small(env_id))
    with pytest.raises(ValueError, match="bogus"):
        env.reset(options={"bogus": 1})
    with pytest.raises(TypeError, match="options"):
        env.unwrapped.reset(options="scenario")
    vec = gym.make_vec(env_id, num_envs=2, **_small(env_id))
    with pytest.raises(ValueError, match="bogus"):
        vec.reset(options={"bogus": 1})
    obs, _ = vec.reset(seed=0, options={"reset_mask": np.array([True, True])})
    assert np.all(np.isfinite(obs))


def test_vector_env_rejects_bad_actions_on_autoreset_rows():
    vec = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, horizon=1, **RAR)
    vec.reset(seed=0)
    a = vec.action_space.sample()
    vec.step(a)  # every sub-env is done: the next step resets them all
    bad = a.astype(np.float64)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vec.step(bad)


# --------------------------------------------------------------------------- documented ranges
@pytest.mark.parametrize("env_id", [i for i in isac_env.ENV_IDS if "Rydberg" in i])
def test_rydberg_reward_range(env_id):
    lam = 3.0
    env = gym.make(env_id, constraint_penalty=lam, crb_threshold=1e-9, **RAR)
    env.reset(seed=0)
    for i in range(20):
        a = _action(env, [1.0, 1e-200, 1e250][i % 3], seed=i)
        _, r, _, _, info = env.step(a)
        u = info["metrics"]["sum_rate"]
        assert 0.0 <= info["cost"] <= COST_CAP
        assert -lam * COST_CAP <= r <= u + 1e-12
        assert r == pytest.approx(u - lam * info["cost"])


@pytest.mark.parametrize("env_id", [i for i in isac_env.ENV_IDS if "Robust" in i])
def test_robust_reward_range(env_id):
    env = gym.make(env_id, **ROB)
    env.reset(seed=0)
    c = env.unwrapped.config
    cmax = c.num_users * (1 - c.rho_c) + c.num_targets * (1 - c.rho_s)
    lo, hi = -c.p_max_dbm / 10 - 10.0 * cmax, -c.p_min_dbm / 10
    assert (lo, hi) == pytest.approx((-41.0, 4.0))
    for i, level in enumerate([-1e300, -1.0, 0.0, 1.0, 1e300, -5.0]):
        _, r, _, _, info = env.step(_action(env, 1.0, seed=i, level=level))
        assert 0.0 <= info["cost"] <= cmax + 1e-12
        assert lo - 1e-12 <= r <= hi + 1e-12
        assert c.p_min_dbm <= info["metrics"]["power_dbm"] <= c.p_max_dbm + 1e-9
