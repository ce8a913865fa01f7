"""Render modes of the single environments (issue 16, point 6)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import isac_env
from isac_env.envs.base import RENDER_MODES
from isac_env.physics import rar, robust
from isac_env.render import FRAME_HEIGHT, FRAME_WIDTH
from tests.conftest import SMALL_RAR

SMALL_ROBUST = {"num_ris": 4, "num_bs_antennas": 4, "mc_draws": 200}
IDS = sorted(i for i in gym.registry if i.startswith("isac_env/"))


def _kwargs(env_id: str) -> dict[str, Any]:
    return dict(SMALL_ROBUST) if "Robust" in env_id else dict(SMALL_RAR)


def _make(env_id: str, **kw: Any) -> gym.Env:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gym.make(env_id, **_kwargs(env_id), **kw)


def _rollout(env: gym.Env, seed: int, n: int, render: bool) -> list[Any]:
    """Observations and rewards of ``n`` steps with seeded actions (rendering after each call)."""
    obs, _ = env.reset(seed=seed)
    if render:
        env.render()
    env.action_space.seed(seed)
    out: list[Any] = [obs]
    for _ in range(n):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        if render:
            env.render()
        out += [obs, r, term, trunc, info["cost"]]
    return out


def test_ids_found():
    assert len(IDS) >= 7
    assert any("Robust" in i for i in IDS) and any("Rydberg" in i for i in IDS)


@pytest.mark.parametrize("env_id", IDS)
def test_rgb_array_frames(env_id):
    env = _make(env_id, render_mode="rgb_array")
    assert env.metadata["render_modes"] == list(RENDER_MODES)
    assert env.metadata["render_fps"] > 0
    env.reset(seed=3)
    f0 = env.render()
    assert isinstance(f0, np.ndarray) and f0.dtype == np.uint8
    assert f0.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)
    assert FRAME_HEIGHT % 2 == 0 and FRAME_WIDTH % 2 == 0  # video codecs need even sizes
    assert np.array_equal(env.render(), f0)  # rendering is a pure function of the state
    env.action_space.seed(0)
    env.step(env.action_space.sample())
    f1 = env.render()
    assert f1.shape == f0.shape and f1.dtype == np.uint8
    assert np.mean(np.any(f1 != f0, axis=-1)) > 0.01  # the design panels appear
    env.step(env.action_space.sample())
    f2 = env.render()
    assert not np.array_equal(f1, f2)  # a new design gives a new frame
    assert f2.std() > 10  # not blank
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_render_does_not_change_trajectory(env_id):
    a = _rollout(_make(env_id), seed=11, n=3, render=False)
    b = _rollout(_make(env_id, render_mode="rgb_array"), seed=11, n=3, render=True)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y)
        else:
            assert x == y


@pytest.mark.parametrize("env_id", ["isac_env/RydbergISAC-v0", "isac_env/RobustISAC-v0"])
def test_bad_render_mode_raises(env_id):
    with pytest.raises(ValueError, match="render_mode"):
        _make(env_id, render_mode="rgb")
    with pytest.raises(ValueError, match="render_mode"):
        _make(env_id, render_mode="ansi")


@pytest.mark.parametrize("env_id", ["isac_env/RydbergISAC-v0", "isac_env/RobustISAC-v0"])
def test_human_mode_headless(env_id):
    import matplotlib

    matplotlib.use("Agg")
    env = _make(env_id, render_mode="human")
    env.reset(seed=0)
    env.action_space.seed(0)
    env.step(env.action_space.sample())
    assert env.render() is None
    env.close()
    env.close()


def test_render_none_mode_returns_none():
    env = _make("isac_env/RydbergISAC-v0")
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert env.render() is None


def test_render_before_reset_raises():
    env = _make("isac_env/RobustISAC-v0", render_mode="rgb_array")
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.render()


@pytest.mark.parametrize("env_id", ["isac_env/RydbergISAC-v0", "isac_env/RobustISAC-v0"])
def test_check_env_with_render(env_id):
    import matplotlib

    matplotlib.use("Agg")
    env = _make(env_id, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped)


def test_record_video(tmp_path: Path):
    pytest.importorskip("moviepy")
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(
        _make("isac_env/RydbergISAC-v0", render_mode="rgb_array", horizon=4),
        str(tmp_path),
        episode_trigger=lambda ep: True,
        disable_logger=True,
    )
    env.reset(seed=0)
    env.action_space.seed(0)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        done = term or trunc
    env.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000


# --------------------------------------------------------------------------- physics of the patterns
def test_rydberg_bs_pattern_peaks_at_steered_angle():
    cfg = isac_env.config.RydbergISACConfig(**SMALL_RAR)
    s = rar.sample_scenario(cfg, np.random.default_rng(0))
    th0 = 0.3
    w = np.conj(isac_env.physics.arrays.steering_vector(th0, cfg.num_bs_antennas))  # a^T w maximal at th0
    W = np.stack([w, np.zeros_like(w)], axis=-1)
    grid = np.linspace(-np.pi / 2, np.pi / 2, 2001)
    pat = rar.beam_patterns(s, W, np.ones(cfg.num_ris), grid, grid)
    assert pat["bs"].shape == (2001, 2) and pat["ris"].shape == (2001, 2)
    assert abs(grid[np.argmax(pat["bs"][:, 0])] - th0) < 2e-3
    assert np.isclose(pat["bs"][:, 0].max(), cfg.num_bs_antennas)  # full array gain
    assert np.all(pat["bs"][:, 1] == 0.0)
    assert np.all(pat["ris"].sum(-1) <= cfg.num_ris + 1e-9)


def test_robust_bs_pattern_sees_target_like_sensing_model():
    cfg = isac_env.config.RobustISACConfig(**{k: v for k, v in SMALL_ROBUST.items() if k != "mc_draws"})
    s = robust.sample_scenario(cfg, np.random.default_rng(0))
    a_t = np.asarray(s.a)[0]  # sensing steering vector of target 1 (A_t = a a^H)
    W = np.stack([a_t, np.zeros_like(a_t)], axis=-1)
    theta = np.asarray(s.theta)
    pat = robust.beam_patterns(s, W, np.ones(cfg.num_ris), theta, np.array([-1.0]))
    # |a(theta_1)^H a(theta_1)|^2 / ||a||^2 = Nt
    assert np.isclose(pat["bs"][0, 0], cfg.num_bs_antennas)
    assert pat["bs"][1, 0] < cfg.num_bs_antennas
