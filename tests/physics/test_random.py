"""Channel draws on any backend (physics/random.py and the samplers of rar.py, robust.py, channels.py).

* NumPy draws stay the historical stream: frozen checksums computed from the pre-backend sampler;
* the counter-based :class:`BatchGenerator`: reproducible, row i independent of B and of the other
  rows, views and reseeding, uniform/normal/phase moments and KS tests, CPU == CUDA;
* torch scenarios have the distribution of the NumPy ones (two-sample KS tests on per-draw
  statistics), carry the batch axis and the generator's precision, and row i does not depend on B.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from isac_env.config import RobustISACConfig, RydbergISACConfig
from isac_env.physics import rar, robust, rydberg
from isac_env.physics.random import _mix_int, _s64, cos_uniform_phase

from ..conftest import SMALL_RAR

SMALL = {"num_users": 2, "num_cells": 4, "num_ris": 8, "num_bs_antennas": 4, "num_clusters": 3, "num_rays": 4}
GAMMA = 0x9E3779B97F4A7C15

# --------------------------------------------------------------------------- NumPy: frozen stream
#: Values of the NumPy sampler before the backend rewrite (git 9118fb8, computed there): a draw,
#: one Gauss-Markov ageing step, (robust) three Monte-Carlo draws and the generator's next uniform.
#: Any change of the stream moves them by O(1); rtol 1e-12 only absorbs libm differences between
#: CPUs.
REFERENCE = {
    "rar_table1": ("rar", {}, 2024, [
        (-0.0020422177962369963 - 0.003715260697209503j), (0.0006270131216700298 - 0.0004009215699197512j),
        (5.990459036482645e-06 - 6.196295976715378e-06j), (0.00012169374335447723 - 0.00013819063074486295j),
        (2.288113197744691e-05 + 3.985103394744064e-05j), 7.351780599399195e-13, 0.48608611342818225,
        0.08536424948565882, (-0.003305507866963325 + 0.00045566491908746325j),
        (2.7364858417676383e-05 - 7.299843398853568e-06j), 0.28023499121136475,
    ]),
    "rar_mkl_los": ("rar", dict(SMALL, polarization="mkl", rar_los_k_factor=2.0), 5, [
        (0.0016888319393080268 - 0.00050037152118398j), (-0.002835869015895696 - 0.00020070123195988843j),
        (2.1662756845925836e-06 - 2.377842154147232e-06j), (-0.00013014867007323205 - 2.861658096040916e-05j),
        (-3.5854685056972554e-05 - 6.841195957451297e-05j), 9.683471715798267e-13, 1.2691104247858522,
        0.0006004018951754403, (-0.0040353819084880446 - 0.0015380802584789221j),
        (-0.00020197426625556355 - 0.00022728909783849697j), 0.047213476975560775,
    ]),
    "rar_kl_los_inf": ("rar", dict(SMALL, polarization="kl", rar_los_k_factor=math.inf, noise_calibration="per_user"), 6, [
        (0.002893653430538079 + 0j), (0.002857207610414099 - 0.0004578152979712993j),
        (-2.948857253923638e-06 + 1.5914701226320713e-05j), (-0.00012040253172626572 - 0.00013516376410382578j),
        (-5.157996089070314e-05 + 5.4975575997415164e-05j), 8.387792951797241e-13, 0.5392086213984811,
        0.0005358867312681469, (-0.0027179026195255696 - 0.002748797387434321j),
        (9.031075028379353e-05 - 3.977803470405664e-05j), 0.3548360546632444,
    ]),
    "rar_mnkl_odd": ("rar", dict(SMALL, num_cells=5, num_ris=7, num_rays=5), 7, [
        (-0.0005726851850050388 + 0.0014947955118649128j), (0.0039598865760971935 - 3.225338647263388e-05j),
        (1.0777104692711997e-05 - 7.693636612875867e-07j), (-3.728664610832974e-05 - 0.00024953478697976693j),
        (4.381291371404181e-05 - 5.576656474862286e-06j), 5.484736417073947e-13, 1.4093401429126966,
        0.0004021894690822604, (-0.0015433544561442559 - 0.001766071252121638j),
        (-7.701006182537807e-05 - 4.258467408904512e-05j), 0.9272804385754598,
    ]),
    "robust_default": ("robust", {}, 11, [
        (35.52204023037194 - 87.85916397295077j), (2.7657318875141237 + 0.9976896256536539j),
        (3.5492599527223367 - 0.3897285672378227j), 34.80599502716988,
        (-16.980362137638465 + 20.611871228507923j), -1.0674097452296039, 46.23640901283488,
        (-3.583840793726539 + 0.6039107393175034j), (23.03413547891612 - 10.444257284448536j),
        0.8594216942988893, -1.8438468071898353, 0.21199385037760987,
    ]),
    "robust_rician": ("robust", dict(rician_d=2.0, rician_r=math.inf, rician_g=3.0, csi_error_model="absolute"), 12, [
        (48.501452740063925 + 25.599974860752322j), (-4.301979809013192 - 0.3960778026827505j),
        (-8.547399702879607 + 2.232435617411452j), 41.68693834703353,
        (26.610474499115185 + 32.41954397977824j), 2.324313311464721, 25.208948136191427,
        (-6.143206259089985 + 2.1594917370516535j), (-1.2307599614931595 - 15.801870165255524j),
        0.26294300978721413, -0.3016052175094192, 0.285636726859018,
    ]),
}  # fmt: skip


def _rar_digest(c: RydbergISACConfig, seed: int) -> list:
    rng = np.random.default_rng(seed)
    s = rar.sample_scenario(c, rng)
    a = rar.age_scenario(s, c, rng, 0.9)
    return [
        s.H_RU.flat[0], s.H_RU.flat[-1], s.H_BU.flat[7], s.H_BR.flat[5], s.b.flat[3], s.sigma_q2[0],
        s.user_angles[-1], np.sum(np.abs(s.H_RU) ** 2), a.H_RU.flat[1], a.H_BR.flat[2], rng.random(),
    ]  # fmt: skip


def _robust_digest(c: RobustISACConfig, seed: int) -> list:
    rng = np.random.default_rng(seed)
    s = robust.sample_scenario(c, rng)
    a = robust.age_scenario(s, c, rng, 0.8)
    d = robust.draw_mc(a, rng, 3, "projected")
    return [
        s.h_d_hat.flat[0], s.G_hat.flat[-1], s.alpha_hat.flat[1], s.eps_d2[0], s.h_d_true.flat[3],
        s.user_pos.flat[1], s.target_pos.flat[2], a.G_hat.flat[5], a.alpha_true.flat[0], d.rate[0].flat[-1],
        d.alpha.flat[0], rng.random(),
    ]  # fmt: skip


@pytest.mark.parametrize("case", list(REFERENCE))
def test_numpy_draws_keep_the_historical_stream(case):
    kind, kw, seed, expected = REFERENCE[case]
    got = (
        _rar_digest(RydbergISACConfig(**kw), seed)
        if kind == "rar"
        else _robust_digest(RobustISACConfig(**kw), seed)
    )
    np.testing.assert_allclose(
        np.array(got, dtype=complex), np.array(expected, dtype=complex), rtol=1e-12, atol=0
    )


def test_numpy_scenarios_stay_unbatched_numpy():
    s = rar.sample_scenario(RydbergISACConfig(**SMALL_RAR), np.random.default_rng(0))
    assert isinstance(s.H_RU, np.ndarray) and s.H_RU.dtype == np.complex128 and s.batch_shape == ()
    assert isinstance(s.theta_B, np.ndarray) and s.theta_B.shape == () and s.obs_scale.dtype == np.float64
    r = robust.sample_scenario(RobustISACConfig(), np.random.default_rng(0))
    assert r.h_d_hat.dtype == np.complex128 and r.batch_shape == () and r.gamma.shape == (2,)


def test_numpy_phase_draw_is_float32_cos():
    u = np.random.default_rng(3).random((5, 7), dtype=np.float32)
    got = cos_uniform_phase(np.random.default_rng(3), (5, 7))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.cos(u * np.float32(2.0 * np.pi)))


# --------------------------------------------------------------------------- BatchGenerator
@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _gen(torch, seeds, **kw):
    from isac_env.physics.random import BatchGenerator

    return BatchGenerator(seeds, **kw)


def test_words_are_splitmix64(torch):
    """Row i's words are SplitMix64 seeded with ``mix(seed_i + gamma)`` (published test vector)."""
    state, out = 1234567, []
    for _ in range(3):
        state += GAMMA
        out.append(_mix_int(state))
    assert out == [6457827717110365317, 3203168211198807973, 9817491932198370423]
    seeds = [0, 1, 2**64 - 1, -5, 2**70 + 3]
    g = _gen(torch, seeds)
    both = torch.cat([g._words(4), g._words(2)], dim=1).tolist()  # a second call continues the stream
    for i, s in enumerate(seeds):
        key = _mix_int(s + GAMMA)
        assert both[i] == [_s64(_mix_int(key + (j + 1) * GAMMA)) for j in range(6)]
    assert g.counter.tolist() == [6] * len(seeds)


def _draw_all(g, torch):
    return [
        g.random((3, 5)),
        g.random(7, dtype=torch.float32),
        g.uniform(-2.0, 3.0, (4,)),
        g.standard_normal((2, 3)),
        g.standard_normal(5, dtype=torch.float32),
        cos_uniform_phase(g, (9,)),
    ]


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_rows_depend_only_on_their_seed(torch, dtype):
    dt = getattr(torch, dtype)
    a = _draw_all(_gen(torch, [11, 12, 13, 14, 15], dtype=dt), torch)
    b = _draw_all(_gen(torch, [11, 12, 13, 14, 15], dtype=dt), torch)
    c = _draw_all(_gen(torch, [99, 13], dtype=dt), torch)  # other B, other neighbours
    for x, y, z in zip(a, b, c, strict=True):
        assert x.shape[0] == 5 and torch.equal(x, y)
        assert torch.equal(x[2], z[1])
        assert not torch.equal(x[0], x[1])
    real = torch.float32 if dtype == "complex64" else torch.float64  # the default real dtype
    assert a[0].dtype == real and a[2].dtype == real and a[3].dtype == real and a[1].dtype == torch.float32


def test_rows_views_and_reseed(torch):
    seeds = [5, 6, 7, 8, 9]
    g, ref = _gen(torch, seeds), _gen(torch, seeds)
    full = ref.random(4)
    assert torch.equal(g.rows(slice(1, 3)).random(4), full[1:3])
    assert torch.equal(g.rows(torch.tensor([0, 4])).random(4), full[[0, 4]])
    mask = torch.tensor([False, False, False, True, False])
    assert torch.equal(g.rows(mask).random(4), full[[3]])
    assert g.counter.tolist() == [2] * 5  # each row drew once: four float32 uniforms, two words
    nxt = ref.random(4)
    assert torch.equal(g.random(4), nxt)
    # a view of a view, and blocked row views as the samplers use them
    v = g.rows(torch.tensor([4, 2, 0])).rows(slice(0, 2))
    assert torch.equal(v.random(2), ref.rows(torch.tensor([4, 2])).random(2))
    # reseed restarts the chosen rows only
    state = g.get_state()
    g.reseed(torch.tensor([1, 3]), [100, 200])
    assert g.counter.tolist()[1] == 0 and g.counter.tolist()[3] == 0
    got = g.random(3)
    fresh = _gen(torch, [100, 200]).random(3)
    assert torch.equal(got[[1, 3]], fresh)
    g.set_state(state)
    assert torch.equal(g.random(3)[0], _replay(torch, seeds, 0))
    with pytest.raises(ValueError, match="seeds"):
        g.reseed(slice(0, 2), [1])


def _replay(torch, seeds, row):
    r = _gen(torch, seeds)
    r.random(4), r.random(4)
    r.rows(torch.tensor([4, 2])).random(2)
    return r.random(3)[row]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_moments_grid_and_ks(torch, dtype):
    dt = getattr(torch, dtype)
    u = _gen(torch, [1, 2]).random(100_000, dtype=dt)
    bits = 24 if dtype == "float32" else 53
    x = u.double().numpy().ravel()
    assert x.min() >= 0.0 and x.max() < 1.0
    assert np.all(np.floor(x * 2.0**bits) == x * 2.0**bits)  # on the 2^-bits grid
    n = x.size
    assert abs(x.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(x.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / n)
    assert stats.kstest(x, "uniform").pvalue > 1e-3
    lo, hi = torch.tensor([[-1.0], [2.0]], dtype=u.dtype), torch.tensor([[1.0], [5.0]], dtype=u.dtype)
    w = _gen(torch, [3, 4]).uniform(lo, hi, (1000,))
    assert w.shape == (2, 1000) and bool((w[0] >= -1).all() and (w[0] < 1).all() and (w[1] >= 2).all())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_normal_moments_and_ks(torch, dtype):
    z = _gen(torch, [7, 8, 9]).standard_normal((50_001,), dtype=getattr(torch, dtype))
    assert z.shape == (3, 50_001) and z.dtype == getattr(torch, dtype)
    x = z.double().numpy()
    n = x.size
    assert abs(x.mean()) < 5 / math.sqrt(n) and abs(x.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(stats.kurtosis(x.ravel())) < 5 * math.sqrt(24 / n)
    assert stats.kstest(x.ravel(), "norm").pvalue > 1e-3
    pairs = x[:, :50_000].reshape(3, -1, 2)  # the two members of a Box-Muller pair are uncorrelated
    assert abs(np.corrcoef(pairs[..., 0].ravel(), pairs[..., 1].ravel())[0, 1]) < 5 / math.sqrt(n / 2)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_cos_uniform_phase_has_the_arcsine_law(torch, dtype):
    g = _gen(torch, [1, 2], dtype=getattr(torch, dtype))
    c = cos_uniform_phase(g, (3, 20_001))
    assert c.shape == (2, 3, 20_001) and c.dtype == g.real_dtype
    x = c.double().numpy().ravel()
    n = x.size
    assert abs(x.mean()) < 5 * math.sqrt(0.5 / n) and abs(np.mean(x**2) - 0.5) < 5 * math.sqrt(0.125 / n)
    assert stats.kstest(x, lambda t: 0.5 + np.arcsin(np.clip(t, -1, 1)) / np.pi).pvalue > 1e-3
    k = np.round(np.arccos(np.clip(x, -1, 1)) / (2 * np.pi) * 2**16)  # on the 2^-16-turn grid
    np.testing.assert_allclose(np.cos(2 * np.pi * k / 2**16), x, atol=1e-6)


def test_cuda_draws_equal_cpu_draws(torch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    seeds = [1, 2, 3]
    cpu = _draw_all(_gen(torch, seeds, dtype=torch.complex128), torch)
    gpu = _draw_all(_gen(torch, seeds, device="cuda", dtype=torch.complex128), torch)
    for x, y in zip(cpu, gpu, strict=True):
        assert y.device.type == "cuda"
        np.testing.assert_allclose(y.cpu().numpy(), x.numpy(), rtol=1e-12, atol=1e-12)
    c = RydbergISACConfig(**SMALL)
    s = rar.sample_scenario(c, _gen(torch, seeds, device="cuda", dtype=torch.complex128))
    ref = rar.sample_scenario(c, _gen(torch, seeds, dtype=torch.complex128))
    assert s.H_RU.device.type == "cuda" and s.H_RU.shape == (3, 2, 4, 8)
    for name in ("H_RU", "H_BU", "H_BR", "b", "sigma_q2"):  # same streams, cells in one block on CUDA
        np.testing.assert_allclose(getattr(s, name).cpu().numpy(), getattr(ref, name).numpy(), rtol=1e-9)


# --------------------------------------------------------------------------- torch scenarios
def test_empty_batch(torch):
    g = _gen(torch, [1, 2, 3])
    none = g.rows(torch.tensor([], dtype=torch.int64))
    s = rar.sample_scenario(RydbergISACConfig(**SMALL), none)
    r = robust.sample_scenario(RobustISACConfig(num_bs_antennas=4, num_ris=6), none)
    assert s.H_RU.shape == (0, 2, 4, 8) and r.G_hat.shape == (0, 2, 6, 4)
    assert g.counter.tolist() == [0, 0, 0]


def test_batched_rar_scenario_fields(torch):
    g = _gen(torch, [1, 2, 3], dtype=torch.complex64)
    s = rar.sample_scenario(RydbergISACConfig(**SMALL), g)
    for name in rar._ARRAY_FIELDS:
        x = getattr(s, name)
        assert isinstance(x, torch.Tensor) and x.shape[0] == 3, name
        assert x.dtype in (torch.complex64, torch.float32), name
    assert s.H_RU.shape == (3, 2, 4, 8) and s.b.dtype == torch.complex64 and s.sigma_q2.dtype == torch.float32
    e = rydberg.reference_signal_energy(s.H_BU, s.H_RU, s.H_BR, s.P_max)  # calibration holds per row
    torch.testing.assert_close(s.sigma_q2[:, 0], e.sum(-1) / (2 * 4 * 10**2.5), rtol=1e-5, atol=0)
    one = s[1]
    assert one.H_RU.shape == (2, 4, 8) and one.batch_shape == ()


@pytest.mark.parametrize("polarization", ["mnkl", "mkl", "kl"])
def test_batched_row_does_not_depend_on_batch(torch, polarization):
    c = RydbergISACConfig(**SMALL, polarization=polarization, rar_los_k_factor=1.5)
    big = rar.sample_scenario(c, _gen(torch, [3, 4, 5], dtype=torch.complex128))
    one = rar.sample_scenario(c, _gen(torch, [4], dtype=torch.complex128))
    for name in ("H_RU", "H_BU", "H_BR", "b", "sigma_q2", "user_angles"):
        torch.testing.assert_close(getattr(big, name)[1], getattr(one, name)[0], rtol=1e-12, atol=1e-18)


def _ks(a, b):
    return stats.ks_2samp(np.asarray(a), np.asarray(b)).pvalue


def _rar_stats(s) -> dict:
    """Per-draw statistics ``[n]`` of a batched NumPy or torch RAR scenario."""
    H_RU, H_BU, H_BR = (np.asarray(s.H_RU), np.asarray(s.H_BU), np.asarray(s.H_BR))
    e = rydberg.reference_signal_energy(H_BU, H_RU, H_BR, np.asarray(s.P_max))
    return {
        "|H_RU[0,0,0]|": np.abs(H_RU[:, 0, 0, 0]),
        "||H_RU||^2": np.sum(np.abs(H_RU) ** 2, axis=(1, 2, 3)),
        "|H_BU[1,2,3]|": np.abs(H_BU[:, 1, 2, 3]),
        "arg H_BU[0,0,0]": np.angle(H_BU[:, 0, 0, 0]),
        "|H_BR[3,1]|": np.abs(H_BR[:, 3, 1]),
        "sigma_q2": np.asarray(s.sigma_q2)[:, 0],
        "E_sig,0": e[:, 0],
        "|b[1,2]|": np.abs(np.asarray(s.b)[:, 1, 2]),
        "user_angle": np.asarray(s.user_angles)[:, 0],
    }


@pytest.mark.parametrize(
    ("kw", "dtype"),
    [({}, "complex64"), ({}, "complex128"), ({"polarization": "mkl", "rar_los_k_factor": 2.0}, "complex64")],
)
def test_torch_rar_draws_have_the_numpy_distribution(torch, kw, dtype):
    c = RydbergISACConfig(**SMALL, **kw)
    n = 400
    rng = np.random.default_rng(123)
    ref = _rar_stats(rar.stack_scenarios([rar.sample_scenario(c, rng) for _ in range(n)]))
    got = _rar_stats(rar.sample_scenario(c, _gen(torch, range(n), dtype=getattr(torch, dtype))).to("numpy"))
    p = {k: _ks(got[k], ref[k]) for k in ref}
    assert min(p.values()) > 1e-3, p


def _robust_stats(s) -> dict:
    h = np.asarray(s.h_d_hat)
    return {
        "|h_d[0,0]|": np.abs(h[:, 0, 0]),
        "||G||^2": np.sum(np.abs(np.asarray(s.G_hat)) ** 2, axis=(1, 2, 3)),
        "|alpha[0]|": np.abs(np.asarray(s.alpha_hat)[:, 0]),
        "eps_d2": np.asarray(s.eps_d2)[:, 1],
        "|dh[0,1]|": np.abs(np.asarray(s.h_d_true)[:, 0, 1] - h[:, 0, 1]),
        "user_x": np.asarray(s.user_pos)[:, 0, 0],
        "target_y": np.asarray(s.target_pos)[:, 1, 1],
        "theta": np.asarray(s.theta)[:, 0],
        "arg H_BR[0,0]": np.angle(np.asarray(s.H_BR)[:, 0, 0]),
    }


@pytest.mark.parametrize("kw", [{}, {"rician_d": 2.0, "rician_g": 1.0}])
def test_torch_robust_draws_have_the_numpy_distribution(torch, kw):
    c = RobustISACConfig(num_bs_antennas=4, num_ris=6, **kw)
    n = 400
    rng = np.random.default_rng(321)
    ref = _robust_stats(robust.stack_scenarios([robust.sample_scenario(c, rng) for _ in range(n)]))
    got = _robust_stats(robust.sample_scenario(c, _gen(torch, range(n), dtype=torch.complex128)).to("numpy"))
    p = {k: _ks(got[k], ref[k]) for k in ref}
    assert min(p.values()) > 1e-3, p


def test_ks_checks_can_fail(torch):
    """The statistics above separate a 10% change of the channel power (the tests can fail)."""
    c = RydbergISACConfig(**SMALL)
    n = 400
    ref = _rar_stats(
        rar.stack_scenarios([rar.sample_scenario(c, np.random.default_rng(i)) for i in range(n)])
    )
    s = rar.sample_scenario(c, _gen(torch, range(n), dtype=torch.complex128))
    got = _rar_stats(s.replace(H_RU=s.H_RU * math.sqrt(1.1)).to("numpy"))
    assert _ks(got["||H_RU||^2"], ref["||H_RU||^2"]) < 1e-3


def test_torch_ageing(torch):
    c = RydbergISACConfig(**SMALL, rician_factor=3.0)
    g = _gen(torch, [1, 2], dtype=torch.complex128)
    s = rar.sample_scenario(c, g)
    same = rar.age_scenario(s, c, g, 1.0)
    torch.testing.assert_close(same.H_RU, s.H_RU)
    torch.testing.assert_close(same.H_BR, s.H_BR)
    new = rar.age_scenario(s, c, g, 0.5)
    assert new.H_RU.shape == s.H_RU.shape and not torch.allclose(new.H_RU, s.H_RU)
    assert torch.equal(new.b, s.b) and torch.equal(new.sigma_q2, s.sigma_q2)
    rc = RobustISACConfig(num_bs_antennas=4, num_ris=6, rician_d=1.0)
    r = robust.sample_scenario(rc, g)
    r1 = robust.age_scenario(r, rc, g, 1.0)
    torch.testing.assert_close(r1.h_d_hat, r.h_d_hat)
    torch.testing.assert_close(r1.G_hat, r.G_hat)
    assert r1.h_d_hat.dtype == torch.complex128 and r1.batch_shape == (2,)


@pytest.mark.parametrize("method", ["projected", "effective", "full"])
def test_batched_mc_draws(torch, method):
    """``draw_mc`` with a BatchGenerator: ``[D, B, ...]``, row i from stream i (as draw_mc_rows)."""
    c = RobustISACConfig(num_bs_antennas=4, num_ris=6)
    g = _gen(torch, [1, 2, 3], dtype=torch.complex128)
    s = robust.sample_scenario(c, g)
    state = g.get_state()
    d = robust.draw_mc(s, g, 5, method)
    assert d.alpha.shape == (5, 3, 2, 2) and all(x.shape[:2] == (5, 3) for x in d.rate)
    g.set_state(state)
    d_rows = robust.draw_mc_rows(s, g, 5, method)
    assert all(torch.equal(x, y) for x, y in zip(d.rate, d_rows.rate, strict=True)) and torch.equal(
        d.alpha, d_rows.alpha
    )
    g.set_state(state)
    one = robust.draw_mc(s[1:2], g.rows(torch.tensor([1])), 5, method)
    assert torch.equal(one.alpha[:, 0], d.alpha[:, 1])
    with pytest.raises(ValueError):
        robust.draw_mc_rows(s[:2], g, 5, method)


def test_batched_error_draws_have_their_variances(torch):
    c = RobustISACConfig(num_bs_antennas=4, num_ris=6)
    g = _gen(torch, [4, 5], dtype=torch.complex128)
    s = robust.sample_scenario(c, g)
    D = 4000
    dh, dG = robust.draw_csi_errors(s, g, D)
    assert dh.shape == (D, 2, 2, 4) and dG.shape == (D, 2, 2, 6, 4)
    torch.testing.assert_close((dh.abs() ** 2).mean(dim=(0, 3)), s.eps_d2, rtol=0.1, atol=0)
    torch.testing.assert_close((dG.abs() ** 2).mean(dim=(0, 3, 4)), s.eps_G2, rtol=0.1, atol=0)
    v = torch.exp(1j * torch.arange(6, dtype=torch.float64))
    e = robust.draw_effective_errors(s, v, g, D)
    torch.testing.assert_close(
        (e.abs() ** 2).mean(dim=(0, 3)), robust.effective_error_variance(s, v), rtol=0.1, atol=0
    )
    a = robust.draw_alpha_errors(s, g, D)
    torch.testing.assert_close((a.abs() ** 2).mean(dim=0), s.sigma_alpha2, rtol=0.1, atol=0)
