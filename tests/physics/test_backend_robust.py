"""The robust task's physics on torch equals its NumPy reference (robust.py, robust_design.py).

Scenarios are drawn with NumPy (``robust.sample_scenario(RobustISACConfig(), default_rng(i))``) and
converted with ``RobustScenario.to``; every converted public function must agree with NumPy to 1e-10
relative in complex128 and 1e-4 in complex64, the Monte-Carlo estimators must agree given the same
draws, and autograd must pass finite-difference checks and equal the hand-derived GEMM gradient.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from isac_env.config import ROBUST_RESTRICTIONS, RobustISACConfig
from isac_env.physics import robust
from isac_env.physics import robust_design as rd

torch = pytest.importorskip("torch")

CFG = RobustISACConfig()
GRID = np.linspace(-1.4, 1.4, 29)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]
PRECISIONS = [(torch.complex128, 1e-10), (torch.complex64, 1e-4)]
REAL = {torch.complex128: torch.float64, torch.complex64: torch.float32}


def _design(s: robust.RobustScenario, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random phases and a zero-forcing precoder whose nominal SINRs sit just above the thresholds,
    so the outage estimators are neither 0 nor 1 (batched like the scenario)."""
    rng = np.random.default_rng(seed)
    N = s.G_hat.shape[-2]
    phi = np.exp(1j * rng.uniform(0.0, 2.0 * np.pi, (*s.batch_shape, N)))
    h = robust.effective_channels(s, robust.v_from_phi(phi))  # [..., K, Nt]
    W = np.linalg.pinv(np.conj(h))  # h_k^H w_j = delta_kj: SINR_k = gain_k^2 / sigma_k^2
    gain = np.sqrt(s.gamma * rng.uniform(1.0, 1.1, s.gamma.shape))
    return W * gain[..., None, :], phi


def _case(i: int) -> tuple[robust.RobustScenario, np.ndarray, np.ndarray]:
    if i < 2:
        s = robust.sample_scenario(CFG, np.random.default_rng(i))
    elif i == 2:
        s = robust.stack_scenarios([robust.sample_scenario(CFG, np.random.default_rng(j)) for j in (2, 3, 4)])
    else:  # K = 4 users: eigh(W^H W) is 4x4, where LAPACK builds may disagree on eigenvector signs
        i = 7  # (MKL's and OpenBLAS's do for this design; the symmetric square root is immune)
        s = robust.sample_scenario(RobustISACConfig(num_users=4, num_bs_antennas=8), np.random.default_rng(i))
    W, phi = _design(s, 10 + i)
    return s, W, phi


CASES = [0, 1, 2, 3]  # two unbatched Table-I scenarios, a batch of three, one with K = 4


def _crb_scale(s: robust.RobustScenario, W: np.ndarray) -> float:
    """A power scale of ``W`` at which some target's exact CRB-failure probability is in (0.05, 0.95)."""
    for scale in np.geomspace(1.0, 1e-3, 200):
        p = robust.crb_failure_exact(s, W * scale)
        if np.any((p > 0.05) & (p < 0.95)):
            return float(scale)
    raise AssertionError("no intermediate CRB failure")


def _np(x: Any) -> Any:
    """torch tensor(s) -> NumPy (nested dicts / tuples / dataclasses)."""
    if dataclasses.is_dataclass(x):
        return {f.name: _np(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(_np(v) for v in x)
    if torch.is_tensor(x):
        return x.detach().cpu().resolve_conj().numpy()
    return x


def _assert_agree(ref: Any, got: Any, rtol: float, name: str = "") -> None:
    """Elementwise ``|got - ref| <= rtol (|ref| + max|ref|)``, recursively; bools and strings exactly."""
    if isinstance(ref, dict):
        assert ref.keys() == got.keys(), name
        for k in ref:
            _assert_agree(ref[k], got[k], rtol, f"{name}[{k}]")
        return
    if isinstance(ref, tuple):
        for i, (a, b) in enumerate(zip(ref, got, strict=True)):
            _assert_agree(a, b, rtol, f"{name}[{i}]")
        return
    if isinstance(ref, str):
        assert ref == got, name
        return
    ref, got = np.asarray(ref), np.asarray(got)
    assert got.shape == ref.shape, name
    if ref.dtype == bool:
        np.testing.assert_array_equal(got, ref, err_msg=name)
        return
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale, err_msg=name)


def _assert_precision(x: Any, dtype: Any, device: str) -> None:
    """Every tensor output lives on ``device`` in ``dtype``'s precision (complex or real)."""
    if isinstance(x, dict):
        for v in x.values():
            _assert_precision(v, dtype, device)
    elif isinstance(x, tuple):
        for v in x:
            _assert_precision(v, dtype, device)
    elif dataclasses.is_dataclass(x):
        _assert_precision({f.name: getattr(x, f.name) for f in dataclasses.fields(x)}, dtype, device)
    elif torch.is_tensor(x):
        assert x.device.type == device
        if x.dtype != torch.bool:
            assert x.dtype == (dtype if x.is_complex() else REAL[dtype])
    else:
        assert isinstance(x, str), type(x)


def _to(x: np.ndarray, device: str, dtype: Any) -> Any:
    return torch.from_numpy(np.asarray(x)).to(device=device, dtype=dtype)


# --------------------------------------------------------------------------- every public function
def _functions() -> dict[str, Any]:
    """``name -> f(s, W, v, phi)``: every converted public function of robust and robust_design."""
    f: dict[str, Any] = {
        "v_from_phi": lambda s, W, v, phi: robust.v_from_phi(phi),
        "phi_from_v": lambda s, W, v, phi: robust.phi_from_v(v),
        "link_angles": lambda s, W, v, phi: robust.link_angles(CFG, s),
        "beam_patterns": lambda s, W, v, phi: robust.beam_patterns(s, W, phi, GRID, GRID + 0.05),
        "cascaded_effective_channel": lambda s, W, v, phi: robust.cascaded_effective_channel(
            s.h_d_true, s.G_true, v
        ),
        "effective_channels": lambda s, W, v, phi: robust.effective_channels(s, v),
        "effective_channels_true": lambda s, W, v, phi: robust.effective_channels(s, v, true=True),
        "sinr_miso": lambda s, W, v, phi: robust.sinr_miso(robust.effective_channels(s, v), W, s.sigma2),
        "sinr": lambda s, W, v, phi: robust.sinr(s, W, v),
        "sinr_true": lambda s, W, v, phi: robust.sinr(s, W, v, true=True),
        "rates": lambda s, W, v, phi: robust.rates(s, W, v),
        "rates_true": lambda s, W, v, phi: robust.rates(s, W, v, true=True),
        "sensing_gains": lambda s, W, v, phi: robust.sensing_gains(s, W),
        "crb": lambda s, W, v, phi: robust.crb(s, W),
        "crb_true": lambda s, W, v, phi: robust.crb(s, W, true=True),
        "effective_error_variance": lambda s, W, v, phi: robust.effective_error_variance(s, v),
        "rate_restriction_terms": lambda s, W, v, phi: robust.rate_restriction_terms(s, W, v),
        "crb_margin": lambda s, W, v, phi: robust.crb_margin(s, W),
        "crb_failure_exact": lambda s, W, v, phi: robust.crb_failure_exact(s, W),
        "outage_phi": lambda s, W, v, phi: rd.outage_phi(W, s.gamma),
        "sensing_gain_matrices": lambda s, W, v, phi: rd.sensing_gain_matrices(s.a, s.da),
        "crb_restriction_coefficient": lambda s, W, v, phi: rd.crb_restriction_coefficient(
            s.alpha_hat, s.sigma_alpha2, s.rho_s[..., None]
        ),
        "homogenized_quadratics": lambda s, W, v, phi: rd.homogenized_quadratics(
            s.h_d_hat, s.G_hat, rd.outage_phi(W, s.gamma), robust.effective_error_variance(s, v)
        ),
        "gemm_objective": lambda s, W, v, phi: rd.gemm_objective(v, *_gemm_args(s, W, v)),
        "gemm_gradient": lambda s, W, v, phi: rd.gemm_gradient(v, *_gemm_args(s, W, v)),
        "gemm_initial_step": lambda s, W, v, phi: rd.gemm_initial_step(s.G_hat, rd.outage_phi(W, s.gamma)),
    }
    for var in ROBUST_RESTRICTIONS:
        f[f"rate_margin_{var}"] = lambda s, W, v, phi, var=var: robust.rate_margin(s, W, v, var)
        f[f"certify_{var}"] = lambda s, W, v, phi, var=var: robust.certify(s, W, v, var)
    return f


def _gemm_args(s: robust.RobustScenario, W: Any, v: Any) -> tuple[Any, ...]:
    """Arguments of the BTI form of the GEMM objective (``a``, ``b``, ``c`` all nontrivial)."""
    t = robust.rate_restriction_terms(s, W, v)
    return (
        s.h_d_hat,
        s.G_hat,
        rd.outage_phi(W, s.gamma),
        0.7 + 0.0 * t["sigma_e2"],
        t["frobA"] ** 2,
        2.0 * t["sigma_e2"],
    )


FUNCTIONS = _functions()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("dtype", "rtol"), PRECISIONS)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_agrees_with_numpy(name: str, case: int, dtype: Any, rtol: float, device: str) -> None:
    s, W, phi = _case(case)
    v = robust.v_from_phi(phi)
    st = s.to("torch", device=device, dtype=dtype)
    f = FUNCTIONS[name]
    ref = f(s, W, v, phi)
    got = f(st, _to(W, device, dtype), _to(v, device, dtype), _to(phi, device, dtype))
    _assert_precision(got, dtype, device)
    _assert_agree(_np(ref), _np(got), rtol, name)


# --------------------------------------------------------------------------- Monte-Carlo estimators
def _estimator_tol(dtype: Any, num_draws: int) -> float:
    """complex128: the same draws give the same indicators; complex64: a sample within float32
    rounding of the threshold may flip, allow two per entry."""
    return 0.0 if dtype == torch.complex128 else 2.0 / num_draws


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("dtype", "rtol"), PRECISIONS)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["effective", "full"])
def test_from_draws_estimators_agree_given_the_same_draws(
    method: str, case: int, dtype: Any, rtol: float, device: str
) -> None:
    s, W, phi = _case(case)
    v = robust.v_from_phi(phi)
    D = 400
    draws = robust.draw_mc(s, np.random.default_rng(7), D, method, robust.mc_batch_shape(s, W, v, method))
    st = s.to("torch", device=device, dtype=dtype)
    dt = draws.to("torch", device=device, dtype=dtype)
    Wt, vt = _to(W, device, dtype), _to(v, device, dtype)
    out = robust.rate_outage_from_draws(s, W, v, draws.rate, method)
    assert 0.0 < out.max() and out.min() < 1.0  # the check is not vacuous
    tol = _estimator_tol(dtype, D)
    got = robust.rate_outage_from_draws(st, Wt, vt, dt.rate, method)
    _assert_precision(got, dtype, device)
    np.testing.assert_allclose(_np(got), out, rtol=0, atol=tol)
    c = _crb_scale(s, W)
    fail = robust.crb_failure_from_draws(s, W * c, draws.alpha)
    assert 0.0 < fail.max() and fail.min() < 1.0
    np.testing.assert_allclose(
        _np(robust.crb_failure_from_draws(st, Wt * c, dt.alpha)), fail, rtol=0, atol=tol
    )
    ref = robust.evaluate_draws(s, W, v, draws)
    got = robust.evaluate_draws(st, Wt, vt, dt)
    _assert_precision(got, dtype, device)
    got = _np(got)
    for k in ("outage", "crb_failure", "outage_violation", "crb_violation"):
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=tol, err_msg=k)
    _assert_agree({k: x for k, x in ref.items() if k not in ("outage", "crb_failure")},
                  {k: x for k, x in got.items() if k not in ("outage", "crb_failure")}, rtol)  # fmt: skip


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES)
def test_projected_estimator_given_the_same_draws(case: int, device: str) -> None:
    """``"projected"`` draws ``g_k = W^H hat h_k + L_W z_k`` with the symmetric square root
    ``L_W = (W^H W)^(1/2)`` from ``eigh(W^H W)``: it does not depend on the eigenvectors' phases (which
    differ between LAPACK builds, e.g. OpenBLAS and MKL, for K >= 3), so with the same draws the
    backends agree exactly, K = 4 included."""
    s, W, phi = _case(case)
    v = robust.v_from_phi(phi)
    D = 20_000
    draws = robust.draw_mc(
        s, np.random.default_rng(8), D, "projected", robust.mc_batch_shape(s, W, v, "projected")
    )
    out = robust.rate_outage_from_draws(s, W, v, draws.rate, "projected")
    st, dt = s.to("torch", device=device), draws.to("torch", device=device)
    Wt, vt = _to(W, device, torch.complex128), _to(v, device, torch.complex128)
    got = _np(robust.rate_outage_from_draws(st, Wt, vt, dt.rate, "projected"))
    np.testing.assert_array_equal(got, out)
    # and the estimator really depends only on the distribution: "effective" samples the same SINRs
    eff = robust.rate_outage_mc(s, W, v, np.random.default_rng(9), D, "effective")
    se = np.sqrt(np.maximum(eff * (1.0 - eff), 1.0 / D) / D)
    assert np.all(np.abs(got - eff) <= 6.0 * np.sqrt(2.0) * se)


@pytest.mark.parametrize("method", ["effective", "full"])
def test_mc_with_a_numpy_generator_equals_numpy(method: str) -> None:
    """A torch scenario with a NumPy generator takes NumPy's stream: the same estimates."""
    s, W, phi = _case(2)
    v = robust.v_from_phi(phi)
    st = s.to("torch")
    Wt, vt = torch.from_numpy(W), torch.from_numpy(v)
    ref = robust.rate_outage_mc(s, W, v, np.random.default_rng(3), 300, method)
    np.testing.assert_array_equal(
        _np(robust.rate_outage_mc(st, Wt, vt, np.random.default_rng(3), 300, method)), ref
    )
    ref = robust.crb_failure_mc(s, W, np.random.default_rng(4), 300)
    np.testing.assert_array_equal(_np(robust.crb_failure_mc(st, Wt, np.random.default_rng(4), 300)), ref)
    ref = robust.evaluate(s, W, v, np.random.default_rng(5), 300, method)
    got = _np(robust.evaluate(st, Wt, vt, np.random.default_rng(5), 300, method))
    for k in ("outage", "crb_failure", "certified"):
        np.testing.assert_array_equal(got[k], ref[k])
    _assert_agree(ref, got, 1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_mc_with_a_batch_generator_has_the_numpy_distribution(device: str) -> None:
    """A ``BatchGenerator`` draws on the device; the estimates match NumPy's within MC error."""
    from isac_env.physics.random import BatchGenerator

    s, W, phi = _case(2)  # a batch of three
    v = robust.v_from_phi(phi)
    st = s.to("torch", device=device)
    Wt, vt = _to(W, device, torch.complex128), _to(v, device, torch.complex128)
    D = 20_000
    gen = BatchGenerator.from_seed(0, s.batch_shape[0], device=device, dtype=torch.complex128)
    for method in ("projected", "effective"):
        ref = robust.rate_outage_mc(s, W, v, np.random.default_rng(5), D, method)
        got = robust.rate_outage_mc(st, Wt, vt, gen, D, method)
        assert got.device.type == device
        se = np.sqrt(np.maximum(ref * (1.0 - ref), 1.0 / D) / D)
        assert np.all(np.abs(_np(got) - ref) <= 6.0 * np.sqrt(2.0) * se), (method, got, ref)
    c = _crb_scale(s, W)  # the CRB failure against its exact value (spec 4.4)
    exact = robust.crb_failure_exact(s, W * c)
    got = _np(robust.crb_failure_mc(st, Wt * c, gen, D))
    se = np.sqrt(np.maximum(exact * (1.0 - exact), 1.0 / D) / D)
    assert np.all(np.abs(got - exact) <= 6.0 * se)


# --------------------------------------------------------------------------- scenario conversion
def test_to_round_trip_is_exact_and_sets_the_precision() -> None:
    s = robust.sample_scenario(CFG, np.random.default_rng(0))
    st = s.to("torch")
    back = st.to("numpy")
    for n in robust._ARRAY_FIELDS:
        x, y, t = getattr(s, n), getattr(back, n), getattr(st, n)
        assert torch.is_tensor(t) and t.dtype == (torch.complex128 if np.iscomplexobj(x) else torch.float64)
        assert isinstance(y, np.ndarray) and y.dtype == x.dtype and not y.flags.writeable
        np.testing.assert_array_equal(y, x)
    s32 = s.to("torch", dtype=torch.complex64)
    for n in robust._ARRAY_FIELDS:
        assert getattr(s32, n).dtype == (torch.complex64 if np.iscomplexobj(getattr(s, n)) else torch.float32)
    assert s32.to("numpy").h_d_hat.dtype == np.complex64
    assert s32.to("numpy", dtype=np.complex128).h_d_hat.dtype == np.complex128
    assert s32.to("torch", dtype=torch.complex128).eps.dtype == torch.float64
    assert st.restriction == s.restriction and st.batch_shape == s.batch_shape and st.dims == s.dims


def test_torch_scenario_fields_follow_h_d_hat() -> None:
    """A scenario built from tensors converts its non-tensor fields to h_d_hat's device/precision."""
    s = robust.sample_scenario(CFG, np.random.default_rng(0))
    fields = {n: getattr(s, n) for n in robust._ARRAY_FIELDS}
    fields["h_d_hat"] = torch.tensor(np.array(s.h_d_hat), dtype=torch.complex64)
    t = robust.RobustScenario(**fields, restriction=s.restriction)
    assert t.G_hat.dtype == torch.complex64 and t.eps.dtype == torch.float32 and t.L.dtype == torch.float32
    h = fields["h_d_hat"]
    assert robust.RobustScenario(**{**fields, "h_d_hat": h}).h_d_hat is h  # kept, not copied


def test_torch_batching_equals_numpy_batching() -> None:
    ss = [robust.sample_scenario(CFG, np.random.default_rng(i)) for i in range(3)]
    ref = robust.stack_scenarios(ss)
    got = robust.stack_scenarios([s.to("torch") for s in ss])
    for n in robust._ARRAY_FIELDS:
        np.testing.assert_array_equal(_np(getattr(got, n)), getattr(ref, n))
        np.testing.assert_array_equal(_np(getattr(got[1], n)), getattr(ss[1], n))


def test_mcdraws_to_round_trip() -> None:
    s = robust.sample_scenario(CFG, np.random.default_rng(0))
    d = robust.draw_mc(s, np.random.default_rng(1), 50, "full")
    t = d.to("torch", dtype=torch.complex64)
    assert t.method == "full" and t.num_draws == 50 and t.alpha.dtype == torch.float32
    back = d.to("torch").to("numpy")
    for a, b in zip((*d.rate, d.alpha), (*back.rate, back.alpha), strict=True):
        assert b.dtype == np.float64
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- autograd
def _grad_inputs(device: str = "cpu") -> tuple[robust.RobustScenario, Any, Any]:
    s, W, phi = _case(1)
    theta = np.angle(phi)
    st = s.to("torch", device=device)
    return (
        st,
        _to(W, device, torch.complex128).requires_grad_(),
        _to(theta, device, torch.float64).requires_grad_(),
    )


def _v(theta: Any) -> Any:
    return robust.v_from_phi(torch.exp(1j * theta))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("variant", ROBUST_RESTRICTIONS)
def test_rate_margin_gradient_passes_finite_differences(variant: str, device: str) -> None:
    st, W, theta = _grad_inputs(device)
    assert torch.autograd.gradcheck(lambda W, th: robust.rate_margin(st, W, _v(th), variant), (W, theta))


@pytest.mark.parametrize("device", DEVICES)
def test_rates_crb_and_error_variance_gradients_pass_finite_differences(device: str) -> None:
    st, W, theta = _grad_inputs(device)
    assert torch.autograd.gradcheck(lambda W, th: robust.rates(st, W, _v(th)).sum(), (W, theta))
    assert torch.autograd.gradcheck(lambda W, th: robust.sinr(st, W, _v(th)), (W, theta))
    assert torch.autograd.gradcheck(lambda W: robust.crb_margin(st, W), (W,))
    assert torch.autograd.gradcheck(lambda W: robust.crb(st, W), (W,))
    v = _v(theta).detach().requires_grad_()  # complex input: Wirtinger check of gradcheck
    assert torch.autograd.gradcheck(lambda v: robust.effective_error_variance(st, v), (v,))
    assert torch.autograd.gradcheck(lambda W, v: robust.rate_margin(st, W, v), (W, v))


def test_learning_loss_gradient_is_finite_and_descends() -> None:
    """Power + certification penalty (the L2O loss): one gradient step on W lowers it."""
    st, W, theta = _grad_inputs()

    def loss(W: Any, th: Any) -> Any:
        rm = robust.rate_margin(st, W, _v(th))
        cm = robust.crb_margin(st, W)
        pen = torch.relu(-rm).sum() + torch.relu(-cm / st.tau).sum()
        return robust.transmit_power_w(W) * 1e3 + pen

    L = loss(W, theta)
    gW, gth = torch.autograd.grad(L, (W, theta))
    assert torch.isfinite(gW).all() and torch.isfinite(gth).all() and gW.abs().sum() > 0
    with torch.no_grad():
        L2 = loss(W - 1e-9 * gW / gW.abs().max(), theta - 1e-9 * gth / gth.abs().max())
    assert L2 < L


@pytest.mark.parametrize("case", CASES)
def test_autograd_equals_the_hand_derived_gemm_gradient(case: int) -> None:
    """``gemm_gradient`` (49) is ``2 df/dv^*``, which is torch's ``v.grad`` of ``gemm_objective``."""
    s, W, phi = _case(case)
    st = s.to("torch")
    Wt = torch.from_numpy(W)
    v = torch.from_numpy(robust.v_from_phi(phi)).requires_grad_()
    args = _gemm_args(st, Wt, v.detach())
    rd.gemm_objective(v, *args).sum().backward()
    ref = rd.gemm_gradient(v.detach(), *args)
    np.testing.assert_allclose(_np(v.grad), _np(ref), rtol=1e-10, atol=1e-10 * float(ref.abs().max()))
