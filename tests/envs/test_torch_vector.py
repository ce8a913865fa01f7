"""Torch vector envs: equality with the NumPy vector env, autoreset, device draws, every id, banks.

The reference is the NumPy vector env (itself equal to B single envs, tests/envs/test_vector.py).
Both envs are fed the same channels (a shared :class:`ChannelBank`, or a batched scenario through
``reset(options={"scenario": ...})``) and the same actions; RobustISAC's Monte-Carlo error draws are
fed to the torch env from NumPy generators seeded like the reference's, so every output must agree:
to 1e-10 relative in complex128 and 1e-4 (relative to each quantity's scale) in complex64.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode

import isac_env
from isac_env.bank import ChannelBank, TorchChannelBank
from isac_env.config import RobustISACConfig, RydbergISACConfig
from isac_env.envs.vector import RobustISACVectorEnv, RydbergISACVectorEnv
from isac_env.physics import robust

torch = pytest.importorskip("torch")

from isac_env.envs.torch_vector import (  # noqa: E402
    TorchISACVectorEnv,
    TorchRobustISACVectorEnv,
    TorchRydbergISACVectorEnv,
)

TINY = {"num_users": 2, "num_cells": 4, "num_ris": 8, "num_bs_antennas": 4, "num_clusters": 2, "num_rays": 2}
ROBUST_TINY = {"num_bs_antennas": 4, "num_ris": 6, "mc_draws": 64}
RYDBERG_IDS = [
    "isac_env/RydbergISAC-v0",
    "isac_env/RydbergISAC-Discrete-v0",
    "isac_env/RydbergISAC-Quantized-v0",
]
ROBUST_IDS = ["isac_env/RobustISAC-v0", "isac_env/RobustISAC-Continuous-v0"]
MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]
#: dtype -> relative tolerance of the comparison with the complex128 NumPy reference
TOL = {torch.complex128: 1e-10, torch.complex64: 1e-4}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _small(env_id: str) -> dict:
    return dict(TINY) if "Rydberg" in env_id else dict(ROBUST_TINY)


# --------------------------------------------------------------------------- comparison helpers
def _close(got, want, rtol: float, what: str) -> None:
    """``got`` (tensor) equals ``want`` (NumPy) to ``rtol`` of the quantity's scale (max |want|)."""
    g = got.detach().cpu().numpy()
    w = np.asarray(want)
    assert g.shape == w.shape, (what, g.shape, w.shape)
    if w.dtype == np.bool_:
        np.testing.assert_array_equal(g, w, err_msg=what)
        return
    scale = float(np.max(np.abs(w))) if w.size else 0.0
    np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale + 1e-300, err_msg=what)


def _obs_close(got, want, rtol: float, what: str) -> None:
    assert got.dtype == torch.float32 and want.dtype == np.float32
    # float32 features of maths that agree to rtol: at most one float32 rounding more
    _close(got, want, max(rtol, 2.4e-7), what)


def _info_close(got: dict, want: dict, rtol: float, path: str = "info") -> None:
    """Same keys and masks; masked values equal to ``rtol``; unmasked rows zero in the torch info."""
    assert sorted(got) == sorted(want), (path, sorted(got), sorted(want))
    for key, w in want.items():
        g = got[key]
        if key.startswith("_"):
            assert g.dtype == torch.bool
            np.testing.assert_array_equal(g.cpu().numpy(), w, err_msg=f"{path}.{key}")
        elif isinstance(w, dict):
            _info_close(g, w, rtol, f"{path}.{key}")
        elif key == "final_obs":
            rows = want["_final_obs"]
            ref = np.stack([w[i] if rows[i] else np.zeros_like(g[0].cpu().numpy()) for i in range(len(w))])
            _obs_close(g, ref, rtol, f"{path}.{key}")
        else:
            mask = want[f"_{key}"]
            ref = np.where(mask.reshape(-1, *([1] * (np.ndim(w) - 1))), w, 0)
            _close(g, ref.astype(w.dtype), rtol, f"{path}.{key}")


def _step_pair(tv, nv, action, rtol: float, i: int) -> None:
    o1, r1, te1, tr1, i1 = tv.step(_to_torch(action, tv.device))
    o2, r2, te2, tr2, i2 = nv.step(action)
    _obs_close(o1, o2, rtol, f"obs step {i}")
    assert r1.dtype == tv.real_dtype and r1.device.type == tv.device.type
    _close(r1, r2, rtol, f"reward step {i}")
    np.testing.assert_array_equal(te1.cpu().numpy(), te2)
    np.testing.assert_array_equal(tr1.cpu().numpy(), tr2)
    _info_close(i1, i2, rtol, f"info step {i}")


def _to_torch(action, device):
    if isinstance(action, dict):
        return {k: torch.as_tensor(v, device=device) for k, v in action.items()}
    return torch.as_tensor(action, device=device)


def _feed_numpy_mc_draws(tv: TorchRobustISACVectorEnv, seeds: list[int]) -> None:
    """Make ``tv`` take its Monte-Carlo draws from NumPy generators seeded like the NumPy env's
    (row i from ``np_random(seeds[i])``, only the stepping rows draw), so both envs see equal draws."""
    gens = [seeding.np_random(s)[0] for s in seeds]
    c = tv.config

    def draws(scenario, step_idx, all_rows):
        rows = step_idx.cpu().numpy()
        sub = robust.draw_mc_rows(
            scenario.to("numpy")[rows], [gens[i] for i in rows], c.mc_draws, c.mc_method
        )
        sub = sub.to("torch", device=tv.device, dtype=tv.dtype)

        def full(x):
            out = x.new_zeros((x.shape[0], tv.num_envs, *x.shape[2:]))
            return out.index_copy(1, step_idx, x)

        return robust.MCDraws(method=sub.method, rate=tuple(full(x) for x in sub.rate), alpha=full(sub.alpha))

    tv._mc_draws = draws


def _pair(env_id: str, B: int, dtype, device: str, mode, **kw):
    """A torch and a NumPy vector env of ``env_id`` fed the same channels (bank of size 1 for every
    autoreset: both pick entry 0) and, for RobustISAC, the same Monte-Carlo draws."""
    kw = {**_small(env_id), "horizon": 2, **kw}
    bank = ChannelBank.generate(gym.make(env_id, **kw).unwrapped.config, 1, 11)
    if "Rydberg" in env_id:
        nv = gym.make_vec(env_id, num_envs=B, autoreset_mode=mode, channel_bank=bank, **kw)
    else:
        nv = gym.make_vec(env_id, num_envs=B, autoreset_mode=mode, **kw)
        nv._sample_rows = lambda rngs: bank.take([0] * len(rngs))  # resets from the bank too
    tv = gym.make_vec(
        env_id,
        num_envs=B,
        backend="torch",
        device=device,
        dtype=dtype,
        autoreset_mode=mode,
        channel_bank=bank,
        **kw,
    )
    return tv, nv, bank


def _rollout_equal(env_id: str, dtype, device: str, mode, steps: int = 5, **kw) -> None:
    B, seed = 3, 7
    tv, nv, _ = _pair(env_id, B, dtype, device, mode, **kw)
    cfg = nv.config
    start = ChannelBank.generate(cfg, B, 5).scenarios()  # distinct first channels per row
    if "Robust" in env_id:
        _feed_numpy_mc_draws(tv, [seed + i for i in range(B)])
    rtol = TOL[dtype]
    o1, i1 = tv.reset(seed=seed, options={"scenario": start})
    o2, i2 = nv.reset(seed=seed, options={"scenario": start})
    assert i1 == i2 == {}
    _obs_close(o1, o2, rtol, "reset obs")
    nv.action_space.seed(seed)
    for i in range(steps):
        _step_pair(tv, nv, nv.action_space.sample(), rtol, i)


# --------------------------------------------------------------------------- equality with NumPy
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("env_id", RYDBERG_IDS + ROBUST_IDS)
def test_torch_equals_numpy_complex128(env_id: str, mode: AutoresetMode) -> None:
    """Obs, rewards, truncations and infos over 5 steps with horizon 2 (two autoresets)."""
    _rollout_equal(env_id, torch.complex128, "cpu", mode)


@pytest.mark.parametrize("obs_mode", ["full", "effective"])
@pytest.mark.parametrize("env_id", ["isac_env/RydbergISAC-v0", "isac_env/RobustISAC-v0"])
def test_torch_equals_numpy_complex64(env_id: str, obs_mode: str) -> None:
    _rollout_equal(env_id, torch.complex64, "cpu", AutoresetMode.NEXT_STEP, obs_mode=obs_mode)


@pytest.mark.parametrize("env_id", ["isac_env/RydbergISAC-v0", "isac_env/RobustISAC-Continuous-v0"])
def test_torch_equals_numpy_full_obs_and_distortion(env_id: str) -> None:
    extra = {"rsr_model": "distortion"} if "Rydberg" in env_id else {"mc_method": "effective"}
    _rollout_equal(env_id, torch.complex128, "cpu", AutoresetMode.SAME_STEP, obs_mode="full", **extra)


def test_partial_reset_mask_equals_numpy() -> None:
    """``autoreset_mode="Disabled"`` with ``reset(options={"reset_mask": ...})`` desynchronises the
    clocks; the rows that step and the rows that reset stay equal to the NumPy env."""
    env_id, B = "isac_env/RydbergISAC-v0", 3
    tv, nv, _ = _pair(env_id, B, torch.complex128, "cpu", AutoresetMode.DISABLED, horizon=3)
    tv.reset(seed=1)
    nv.reset(seed=1)
    nv.action_space.seed(0)
    _step_pair(tv, nv, nv.action_space.sample(), 1e-10, 0)
    mask = np.array([True, False, True])
    o1, _ = tv.reset(options={"reset_mask": torch.as_tensor(mask)})
    o2, _ = nv.reset(options={"reset_mask": mask})
    _obs_close(o1, o2, 1e-10, "partial reset obs")
    for i in range(1, 3):
        _step_pair(tv, nv, nv.action_space.sample(), 1e-10, i)
    with pytest.raises(RuntimeError, match="DISABLED"):
        tv.step(torch.as_tensor(nv.action_space.sample()))


@CUDA
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("env_id", ["isac_env/RydbergISAC-v0", "isac_env/RobustISAC-v0"])
def test_torch_equals_numpy_cuda(env_id: str, dtype) -> None:
    _rollout_equal(env_id, dtype, "cuda", AutoresetMode.SAME_STEP)


# --------------------------------------------------------------------------- device draws
def _rollout(env, seed, steps: int, actions: list):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions[:steps]:
        o, r, *_ = env.step(a)
        out += [o, r]
    return out


@pytest.mark.parametrize(
    ("env_id", "kw"),
    [
        ("isac_env/RydbergISAC-v0", {"channel_dynamics": "gauss_markov", "gm_correlation": 0.7}),
        ("isac_env/RydbergISAC-Discrete-v0", {}),
        ("isac_env/RobustISAC-v0", {"channel_dynamics": "gauss_markov"}),
    ],
)
def test_device_draws_reproducible_per_subenv_seed(env_id: str, kw: dict) -> None:
    """Sub-env i of a B-env with seeds ``[s_0, ..., s_{B-1}]`` equals a 1-env with seed ``s_i``
    (scenario draws, Gauss-Markov innovations, Monte-Carlo draws, autoresets), and a rerun with
    the same seeds repeats it exactly."""
    kw = {**_small(env_id), "horizon": 2, **kw}
    seeds = [101, 202, 303]
    big = gym.make_vec(env_id, num_envs=3, backend="torch", **kw)
    one = gym.make_vec(env_id, num_envs=1, backend="torch", **kw)
    big.action_space.seed(0)
    acts = [big.action_space.sample() for _ in range(4)]
    acts_t = [_to_torch(a, "cpu") for a in acts]
    row = 1
    acts_1 = [
        {k: v[row : row + 1] for k, v in a.items()} if isinstance(a, dict) else a[row : row + 1]
        for a in acts_t
    ]
    got = _rollout(big, seeds, 4, acts_t)
    ref = _rollout(one, [seeds[row]], 4, acts_1)
    for g, r in zip(got, ref, strict=True):
        torch.testing.assert_close(g[row : row + 1], r, rtol=0, atol=0)
    again = _rollout(big, seeds, 4, acts_t)
    for g, r in zip(got, again, strict=True):
        torch.testing.assert_close(g, r, rtol=0, atol=0)
    other = _rollout(big, [s + 1 for s in seeds], 1, acts_t)
    assert not torch.equal(other[0], got[0])


def test_bank_resets_drawn_on_device() -> None:
    """With a bank, every reset row holds one of the bank's entries (picked on the device), and the
    picks vary across sub-envs and episodes."""
    cfg = RydbergISACConfig(**TINY)
    bank = ChannelBank.generate(cfg, 5, 3)
    env = TorchRydbergISACVectorEnv(8, config=cfg, channel_bank=bank, horizon=1, dtype=torch.complex128)
    env.reset(seed=0)
    ref = torch.tensor(np.array(bank.arrays["H_RU"]))
    seen = set()
    for _ in range(6):
        H = env.scenario.H_RU
        match = (H[:, None] == ref[None]).flatten(2).all(-1)  # [B, S]
        assert torch.all(match.sum(-1) == 1)
        seen.update(match.float().argmax(-1).tolist())
        env.step(torch.zeros(env.action_space.shape))
        env.step(torch.zeros(env.action_space.shape))  # NEXT_STEP: this one resets
    assert len(seen) >= 3


# --------------------------------------------------------------------------- every id, API checks
@pytest.mark.parametrize("env_id", isac_env.ENV_IDS)
def test_every_id_constructs_and_steps(env_id: str) -> None:
    kw = {**_small(env_id), "horizon": 2}
    env = gym.make_vec(env_id, num_envs=4, backend="torch", device="cpu", dtype=torch.complex64, **kw)
    assert isinstance(env, TorchISACVectorEnv)
    ref = gym.make_vec(env_id, num_envs=4, **kw)
    assert env.single_observation_space == ref.single_observation_space
    assert env.single_action_space == ref.single_action_space
    assert env.observation_space == ref.observation_space and env.action_space == ref.action_space
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, *env.single_observation_space.shape) and obs.dtype == torch.float32
    env.action_space.seed(0)
    for _ in range(3):
        obs, rew, term, trunc, info = env.step(_to_torch(env.action_space.sample(), "cpu"))
        assert obs.dtype == torch.float32 and rew.dtype == torch.float32
        assert term.dtype == trunc.dtype == torch.bool and rew.shape == term.shape == trunc.shape == (4,)
        assert env.observation_space.contains(obs.numpy())
        assert torch.isfinite(rew).all()
        if info:
            assert set(info) == {"metrics", "_metrics", "reward_terms", "_reward_terms", "cost", "_cost",
                                 "feasible", "_feasible"}  # fmt: skip
            total = sum(v for k, v in info["reward_terms"].items() if not k.startswith("_"))
            torch.testing.assert_close(total, rew, rtol=1e-5, atol=1e-4)


def test_vector_env_api_checks() -> None:
    """The checks of Gymnasium's env checker that apply to a vector env: reset determinism per
    seed, step determinism, returned data not reused, spaces, metadata, seeding lists, errors."""
    kw = {**TINY, "horizon": 3}
    env = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, backend="torch", **kw)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert env.num_envs == 2 and env.single_action_space.shape == env.action_space.shape[1:]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(env.action_space.shape))
    o1, _ = env.reset(seed=3)
    o2, _ = env.reset(seed=3)
    torch.testing.assert_close(o1, o2, rtol=0, atol=0)
    a = torch.as_tensor(env.action_space.sample())
    s1 = env.step(a)
    env.reset(seed=3)
    s2 = env.step(a)
    for x, y in zip(s1[:4], s2[:4], strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    kept = s2[0].clone()
    env.step(a)
    torch.testing.assert_close(s2[0], kept, rtol=0, atol=0)  # returned tensors are not reused
    o3, _ = env.reset(seed=[3, None])
    torch.testing.assert_close(o3[0], o1[0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="length"):
        env.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="reset option"):
        env.reset(options={"bad": 1})
    with pytest.raises(ValueError, match="shape"):
        env.step(torch.zeros((2, 3)))
    with pytest.raises(ValueError, match="real numeric"):
        env.step(torch.zeros(env.action_space.shape, dtype=torch.complex64))
    env.step(torch.full(env.action_space.shape, float("nan")))  # values unchecked by default
    checked = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, backend="torch", check_actions=True, **kw)
    checked.reset(seed=0)
    with pytest.raises(ValueError, match="NaN"):
        checked.step(torch.full(env.action_space.shape, float("nan")))
    disc = gym.make_vec(
        "isac_env/RobustISAC-v0", num_envs=2, backend="torch", check_actions=True, **ROBUST_TINY
    )
    disc.reset(seed=0)
    bad = _to_torch(disc.action_space.sample(), "cpu")
    bad["phases"][0, 0] = 4
    with pytest.raises(ValueError, match="integers"):
        disc.step(bad)


def test_make_vec_backend_keywords() -> None:
    """``backend="numpy"`` (default) is the unchanged NumPy env; ``"torch"`` the torch one; the NumPy
    backend refuses devices and precisions it does not have."""
    kw = dict(TINY)
    assert type(gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, **kw)) is RydbergISACVectorEnv
    np_env = gym.make_vec("isac_env/RobustISAC-v0", num_envs=2, backend="numpy", device="cpu", **ROBUST_TINY)
    assert type(np_env) is RobustISACVectorEnv
    t = gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, backend="torch", dtype=torch.complex128, **kw)
    assert type(t) is TorchRydbergISACVectorEnv and t.dtype == torch.complex128
    assert t.real_dtype == torch.float64 and t.device == torch.device("cpu")
    r = gym.make_vec("isac_env/RobustISAC-Continuous-v0", num_envs=2, backend="torch", **ROBUST_TINY)
    assert type(r) is TorchRobustISACVectorEnv and r.dtype == torch.complex64
    with pytest.raises(ValueError, match="backend"):
        gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, backend="jax", **kw)
    with pytest.raises(ValueError, match="CPU"):
        gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, device="cuda", **kw)
    with pytest.raises(ValueError, match="complex128"):
        gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, dtype=np.complex64, **kw)
    with pytest.raises(ValueError, match="dtype"):
        gym.make_vec("isac_env/RydbergISAC-v0", num_envs=2, backend="torch", dtype=torch.float32, **kw)


# --------------------------------------------------------------------------- banks
@pytest.mark.parametrize("kind", ["rydberg", "robust"])
def test_channel_bank_to_torch(kind: str) -> None:
    cfg = RydbergISACConfig(**TINY) if kind == "rydberg" else RobustISACConfig(**ROBUST_TINY)
    bank = ChannelBank.generate(cfg, 4, 0)
    assert bank.to("numpy") is bank
    tb = bank.to("torch", dtype=torch.complex128)
    assert isinstance(tb, TorchChannelBank) and len(tb) == 4 and tb.content_hash == bank.content_hash
    assert tb.to("torch", dtype=torch.complex128) is tb and tb.to("numpy") is bank
    idx = [3, 0, 3]
    got, want = tb.take(torch.tensor(idx)), bank.take(idx)
    for name in bank.arrays:
        np.testing.assert_array_equal(getattr(got, name).numpy(), getattr(want, name), err_msg=name)
    t64 = bank.to("torch", dtype=torch.complex64)
    first = next(n for n, a in bank.arrays.items() if np.iscomplexobj(a))
    assert getattr(t64.take([0]), first).dtype == torch.complex64
    from isac_env.physics.random import BatchGenerator

    picks = tb.draw_index(BatchGenerator(list(range(1000)), dtype=torch.complex128))
    assert picks.dtype == torch.int64 and int(picks.min()) == 0 and int(picks.max()) == 3
    counts = torch.bincount(picks, minlength=4).numpy()
    assert np.all(np.abs(counts - 250) < 5 * np.sqrt(250 * 0.75))  # uniform: within 5 sigma


def _to_meta(env: TorchISACVectorEnv) -> None:
    """Move the env's device state to the ``meta`` device: any host read of a tensor value
    (``.item()``, ``bool(t)``, ``float(t)``, ``.cpu()``) then raises."""
    from isac_env.envs.torch_vector import _tensor_fields, _with_fields

    meta = torch.device("meta")
    sc = env.scenario
    env._scenario = _with_fields(sc, {n: getattr(sc, n).to(meta) for n in _tensor_fields(sc)})
    env._phi_prev, env._features, env._obs = (x.to(meta) for x in (env._phi_prev, env._features, env._obs))
    env._gen.key, env._gen.counter, env._gen.device = env._gen.key.to(meta), env._gen.counter.to(meta), meta
    env.device = meta


@pytest.mark.parametrize("dynamics", ["static", "gauss_markov"])
@pytest.mark.parametrize("env_id", RYDBERG_IDS)
def test_step_has_no_host_sync(env_id: str, dynamics: str) -> None:
    """A step (decode, metrics, reward, ageing with device draws, observation, infos, autoreset
    with fresh scenario draws) never reads a tensor value on the host: it runs on the ``meta`` device."""
    env = gym.make_vec(env_id, num_envs=3, backend="torch", horizon=2, channel_dynamics=dynamics, **TINY)
    env.reset(seed=0)
    _to_meta(env)
    env.action_space.seed(0)
    for _ in range(2):  # the second step truncates
        obs, rew, *_, info = env.step(_to_torch(env.action_space.sample(), "meta"))
    assert obs.device.type == rew.device.type == info["metrics"]["sum_rate"].device.type == "meta"
    obs, *_ = env.step(_to_torch(env.action_space.sample(), "meta"))  # autoreset: device draws
    assert obs.device.type == env.scenario.H_RU.device.type == "meta"
    assert obs.shape == (3, *env.single_observation_space.shape)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("mode", ["continuous", "quantize", "discrete"])
def test_codecs_torch_equal_numpy(mode: str, dtype) -> None:
    """The codecs on torch tensors decode like NumPy (scale-safe precoders incl. an all-zero row and
    extreme scales, wrapped phases, grid phases) and encode back to the same design."""
    from isac_env import codecs

    rng = np.random.default_rng(0)
    Nt, K, N, bits = 3, 2, 5, 2
    n_w = 2 * Nt * K
    a = rng.uniform(-3, 3, (6, n_w + N))
    big = 1e30 if dtype == torch.float64 else 1e18  # outside the float32 safe range (1e15)
    a[1, :n_w] *= big
    a[2, :n_w] /= big
    a[3, :n_w] = 0.0
    a[4, n_w:] *= 1e6  # phases far outside [-1, 1]
    if mode == "discrete":
        action = {"precoder": a[:, :n_w], "phases": rng.integers(0, 2**bits, (6, N))}
        taction = {k: torch.as_tensor(v) for k, v in action.items()}
    else:
        action = a if dtype == torch.float64 else a.astype(np.float32).astype(np.float64)
        taction = torch.as_tensor(action)
    rtol = 1e-12 if dtype == torch.float64 else 2e-5
    aw, phi = codecs.split_action(action, n_w, N, bits, mode, (6,))
    taw, tphi = codecs.split_action(taction, n_w, N, bits, mode, (6,), dtype=dtype)
    assert taw.dtype == dtype and tphi.dtype == (
        torch.complex128 if dtype == torch.float64 else torch.complex64
    )
    np.testing.assert_allclose(tphi.numpy(), phi, rtol=rtol, atol=rtol)
    p = np.linspace(0.5, 2.0, 6)
    W = codecs.decode_precoder(aw, Nt, K, p)
    tW = codecs.decode_precoder(taw, Nt, K, torch.as_tensor(p, dtype=dtype))
    np.testing.assert_allclose(tW.numpy(), W, rtol=rtol, atol=rtol * np.abs(W).max())
    np.testing.assert_allclose((tW.abs() ** 2).sum((-2, -1)).numpy(), p, rtol=rtol)
    # encode -> decode is the identity (full power, grid phases)
    tW2 = codecs.decode_precoder(codecs.encode_precoder(tW), Nt, K, torch.as_tensor(p, dtype=dtype))
    torch.testing.assert_close(tW2, tW, rtol=10 * rtol, atol=10 * rtol)
    enc = codecs.encode_phases(tphi, bits, mode)
    torch.testing.assert_close(
        codecs.decode_phases(enc, bits, mode).to(tphi.dtype), tphi, rtol=rtol, atol=rtol
    )
