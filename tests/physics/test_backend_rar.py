"""The Rydberg task's physics on torch equals its NumPy reference, and autograd equals the Wirtinger
gradients of :mod:`isac_env.physics.gradients`.

Every converted public function of ``units``, ``arrays``, ``channels`` (the deterministic maps),
``comms``, ``rydberg``, ``sensing``, ``ris``, ``gradients`` and the metric section of ``rar`` is run
on NumPy (complex128, the reference) and on the same inputs as torch tensors: complex128 must agree
to 1e-10 relative and complex64 to 1e-4 (relative to each output's largest entry), and the torch
result keeps the input precision. Scenario-level: Table-I and small scenarios drawn with NumPy,
converted with ``RydbergScenario.to``.

Wirtinger convention: for a real ``f`` of complex ``z`` the hand-derived gradients are
``df/dz^*`` and torch's ``z.grad`` is ``2 df/dz^*`` (so that ``df = Re <z.grad, dz>``); checked here
on ``|z|^2`` and by finite differences.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from isac_env.config import RydbergISACConfig
from isac_env.physics import arrays, channels, comms, gradients, rar, ris, rydberg, sensing, units

from ..conftest import SMALL_RAR

torch = pytest.importorskip("torch")

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
PRECISIONS = [(torch.complex128, 1e-10), (torch.complex64, 1e-4)]
REAL = {torch.complex128: torch.float64, torch.complex64: torch.float32}
B, K, M, N, NT, T = 4, 3, 4, 8, 6, 2


# --------------------------------------------------------------------------- helpers
def _to_torch(x: Any, cdtype: Any, device: str = "cpu") -> Any:
    """NumPy arrays -> tensors of the precision of ``cdtype`` (recursively); scalars unchanged."""
    if isinstance(x, tuple):
        return tuple(_to_torch(v, cdtype, device) for v in x)
    if isinstance(x, np.ndarray):
        if np.iscomplexobj(x):
            dt = cdtype
        elif np.issubdtype(x.dtype, np.floating):
            dt = REAL[cdtype]
        else:
            dt = None
        return torch.as_tensor(np.array(x), dtype=dt, device=device)
    return x


def _np(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return tuple(_np(v) for v in x)
    if torch.is_tensor(x):
        return x.detach().cpu().resolve_conj().numpy()
    return x


def _assert_precision(got: Any, cdtype: Any) -> None:
    """Floating torch outputs keep the inputs' precision (no silent up- or down-cast)."""
    if isinstance(got, dict):
        for v in got.values():
            _assert_precision(v, cdtype)
    elif isinstance(got, (tuple, list)):
        for v in got:
            _assert_precision(v, cdtype)
    elif torch.is_tensor(got) and got.is_floating_point():
        assert got.dtype == REAL[cdtype]
    elif torch.is_tensor(got) and got.is_complex():
        assert got.dtype == cdtype


def _assert_agree(ref: Any, got: Any, rtol: float, name: str = "") -> None:
    """``|got - ref| <= rtol max|ref|`` over each output (``inf`` where NumPy has ``inf``)."""
    if isinstance(ref, dict):
        assert ref.keys() == got.keys(), name
        for k in ref:
            _assert_agree(ref[k], got[k], rtol, f"{name}.{k}")
        return
    if isinstance(ref, (tuple, list)):
        assert len(ref) == len(got), name
        for i, (r, g) in enumerate(zip(ref, got, strict=True)):
            _assert_agree(r, g, rtol, f"{name}[{i}]")
        return
    ref, got = np.asarray(ref), np.asarray(got)
    assert ref.shape == got.shape, (name, ref.shape, got.shape)
    if not np.issubdtype(ref.dtype, np.inexact):
        np.testing.assert_array_equal(got, ref, err_msg=name)
        return
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(got), fin, err_msg=f"{name}: inf pattern")
    np.testing.assert_array_equal(got[~fin], ref[~fin], err_msg=f"{name}: non-finite values")
    if fin.any():
        scale = np.max(np.abs(ref[fin]))
        err = np.max(np.abs(got[fin] - ref[fin]))
        assert err <= rtol * scale, f"{name}: max error {err:.3g} > {rtol:g} x {scale:.3g}"


def _cn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)


def _inputs(seed: int = 0) -> dict[str, Any]:
    """Random, moderately conditioned inputs with a leading batch axis ``B``."""
    rng = np.random.default_rng(seed)
    H_BU, H_RU, H_BR = _cn(rng, B, K, M, NT), _cn(rng, B, K, M, N), _cn(rng, B, N, NT) / np.sqrt(N)
    phi = np.exp(2j * np.pi * rng.random((B, N)))
    W = _cn(rng, B, NT, K)
    H = channels.effective_channel(H_BU, H_RU, H_BR, phi)
    h_dt, h_rt, dh_dt, dh_rt = _cn(rng, B, NT), _cn(rng, B, N), _cn(rng, B, NT), _cn(rng, B, N)
    V = sensing.sensing_vectors(H_BR, phi, h_dt, h_rt, dh_dt, dh_rt)
    S, S_R = gradients.sensing_jacobians(H_BR, h_rt, dh_rt)
    return {
        "H_BU": H_BU, "H_RU": H_RU, "H_BR": H_BR, "phi": phi, "W": W, "H": H,
        "G": comms.link_gains(H, W), "E": comms.link_energies_from_covariances(comms.channel_covariances(H), W),
        "Q": comms.channel_covariances(H), "sq": rng.uniform(0.5, 1.5, (B, K)), "b": 3.0 * _cn(rng, B, K, M),
        "noise": rng.uniform(1.0, 2.0, (B, K)), "sinr": rng.uniform(0.1, 10.0, (B, K)),
        "h_dt": h_dt, "h_rt": h_rt, "dh_dt": dh_dt, "dh_rt": dh_rt, "V": V, "S": S, "S_R": S_R,
        "F": sensing.fim_terms(V, W, 0.8), "R": W @ np.conj(np.swapaxes(W, -1, -2)),
        "theta": rng.uniform(-1.4, 1.4, (B, 5)), "grid": np.linspace(-1.5, 1.5, 13),
        "a": _cn(rng, B, T, NT), "da": _cn(rng, B, T, NT), "alpha_T": _cn(rng, B, T) + 1.0,
        "db": rng.uniform(-30.0, 30.0, (B, 7)), "pos": rng.uniform(0.1, 10.0, (B, 7)),
        "z": rng.standard_normal((B, 5, 2)), "dist": rng.uniform(5.0, 80.0, (B, 3)),
        "cos_psi": rng.uniform(-1.0, 1.0, (B, K, M)), "cell_power": rng.uniform(0.0, 20.0, (B, K, M)),
        "x": rng.normal(0.0, 1.0, (B, 3, N)) + 1j * rng.normal(0.0, 1.0, (B, 3, N)),
        "idx": rng.integers(0, 8, (B, N)), "gamma": _cn(rng, B, 6),
        "dF": _cn(rng, B, 6, N), "dFc": _cn(rng, B, 6, N),
    }  # fmt: skip


# name -> (function, argument names); a name in _SCALARS is passed as that Python scalar
_SCALARS = {"L": 10.0, "sigma_r2": 0.01, "alpha": 0.8, "M": M, "snr": 10.0, "rsr": 5.0, "pmax": 2.0}
FUNCTIONS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "units.db_to_lin": (units.db_to_lin, ("db",)),
    "units.lin_to_db": (units.lin_to_db, ("pos",)),
    "units.dbm_to_w": (units.dbm_to_w, ("db",)),
    "units.w_to_dbm": (units.w_to_dbm, ("pos",)),
    "arrays.steering_vector": (lambda th: arrays.steering_vector(th, NT), ("theta",)),
    "arrays.steering_vector_normalized": (
        lambda th: arrays.steering_vector(th, NT, normalize=True, sign=1.0),
        ("theta",),
    ),
    "arrays.steering_vector_derivative": (lambda th: arrays.steering_vector_derivative(th, NT), ("theta",)),
    "arrays.array_pattern": (arrays.array_pattern, ("grid", "W")),
    "channels.complex_normal_from_standard": (
        lambda z, v: channels.complex_normal_from_standard(z, v),
        ("z", "noise_row"),
    ),
    "channels.path_loss": (lambda d: channels.path_loss(d, 2.7, -30.0), ("dist",)),
    "channels.effective_channel": (channels.effective_channel, ("H_BU", "H_RU", "H_BR", "phi")),
    "comms.link_gains": (comms.link_gains, ("H", "W")),
    "comms.link_gains_factored": (comms.link_gains_factored, ("H_BU", "H_RU", "H_BR", "phi", "W")),
    "comms.sinr_from_gains": (comms.sinr_from_gains, ("G", "noise")),
    "comms.sinr_from_energies": (comms.sinr_from_energies, ("E", "noise")),
    "comms.channel_covariances": (comms.channel_covariances, ("H",)),
    "comms.link_energies_from_covariances": (comms.link_energies_from_covariances, ("Q", "W")),
    "comms.sinr_from_covariances": (comms.sinr_from_covariances, ("Q", "W", "noise")),
    "comms.sinr_rar": (comms.sinr_rar, ("H", "W", "sq")),
    "comms.sinr_rar_distortion": (lambda H, W, s, b: comms.sinr_rar(H, W, s, b, "distortion"), ("H", "W", "sq", "b")),
    "comms.rar_noise": (lambda G, s, b: comms.rar_noise(G, s, b, "distortion"), ("G", "sq", "b")),
    "comms.sinr_rar_from_gains": (comms.sinr_rar_from_gains, ("G", "sq")),
    "comms.rate_bps_hz": (comms.rate_bps_hz, ("sinr",)),
    "comms.sum_rate_bps_hz": (comms.sum_rate_bps_hz, ("sinr",)),
    "rydberg.lo_phase_alignment": (rydberg.lo_phase_alignment, ("b",)),
    "rydberg.rar_readout": (lambda H, W, b: rydberg.rar_readout(H, W[..., 0], b, 0.1 * b), ("H", "W", "b")),
    "rydberg.reference_signal_energy": (rydberg.reference_signal_energy, ("H_BU", "H_RU", "H_BR", "pmax")),
    "rydberg.calibrate_noise_common": (lambda e: rydberg.calibrate_noise(e, M, 10.0, False), ("sq",)),
    "rydberg.calibrate_noise_per_user": (lambda e: rydberg.calibrate_noise(e, M, 10.0, True), ("sq",)),
    "rydberg.calibrate_lo_amplitude": (rydberg.calibrate_lo_amplitude, ("sq", "noise", "cos_psi", "rsr")),
    "rydberg.distortion_power": (rydberg.distortion_power, ("cell_power", "b")),
    "sensing.sensing_vectors": (sensing.sensing_vectors, ("H_BR", "phi", "h_dt", "h_rt", "dh_dt", "dh_rt")),
    "sensing.target_response": (sensing.target_response, ("V",)),
    "sensing.fim_terms": (sensing.fim_terms, ("V", "W", "alpha")),
    "sensing.fim_terms_alpha1": (sensing.fim_terms, ("V", "W")),
    "sensing.sensing_gram": (sensing.sensing_gram, ("V",)),
    "sensing.fim_terms_from_gram": (
        lambda V, W, a: sensing.fim_terms_from_gram(sensing.sensing_gram(V), V, W, a),
        ("V", "W", "alpha"),
    ),
    "sensing.fim_terms_from_covariance": (sensing.fim_terms_from_covariance, ("V", "R", "alpha")),
    "sensing.fim_terms_map": (lambda V, a: sensing.fim_terms_map(sensing.sensing_gram(V), a), ("V", "alpha")),
    "sensing.fim_terms_from_map": (
        lambda V, W, a: sensing.fim_terms_from_map(sensing.fim_terms_map(sensing.sensing_gram(V), a), V, W),
        ("V", "W", "alpha"),
    ),
    "sensing.fim_matrices": (sensing.fim_matrices, ("V", "alpha")),
    "sensing.schur_fim": (sensing.schur_fim, ("F", "alpha")),
    "sensing.crb_from_terms": (sensing.crb_from_terms, ("F", "L", "sigma_r2", "alpha")),
    "sensing.crb_trace_from_terms": (sensing.crb_trace_from_terms, ("F", "L", "sigma_r2", "alpha")),
    "sensing.doa_crb_known_alpha": (sensing.doa_crb_known_alpha, ("a", "da", "R", "alpha_T", "L", "sigma_r2")),
    "sensing.sensing_gain": (sensing.sensing_gain, ("a", "da", "R")),
    "ris.project_unit_modulus": (ris.project_unit_modulus, ("x",)),
    "ris.quantize_indices": (lambda x: ris.quantize_indices(x, 3), ("x",)),
    "ris.phases_from_indices": (lambda i: ris.phases_from_indices(i, 3), ("idx",)),
    "ris.quantize_phases": (lambda x: ris.quantize_phases(x, 2), ("x",)),
    "ris.project_polygon_1bit": (lambda x: ris.project_polygon(x, 1), ("x",)),
    "ris.project_polygon_3bit": (lambda x: ris.project_polygon(x, 3), ("x",)),
    "gradients.sensing_jacobians": (gradients.sensing_jacobians, ("H_BR", "h_rt", "dh_rt")),
    "gradients.fim_terms_phi_gradients": (gradients.fim_terms_phi_gradients, ("V", "S", "S_R", "W", "alpha")),
    "gradients.real_part_gradient": (gradients.real_part_gradient, ("gamma", "dF", "dFc")),
    "gradients.trace_inv_schur": (gradients.trace_inv_schur, ("F", "alpha")),
    "gradients.rar_noise_power": (lambda G, s, b: gradients.rar_noise_power(G, s, b, "distortion"), ("G", "sq", "b")),
    "gradients.sum_rate_gradients_from_channels": (
        gradients.sum_rate_gradients_from_channels,
        ("H", "H_RU", "H_BR", "W", "noise"),
    ),
}  # fmt: skip


def _args(names: tuple[str, ...], data: dict[str, Any]) -> list[Any]:
    out = []
    for n in names:
        if n in _SCALARS:
            out.append(_SCALARS[n])
        elif n == "noise_row":
            out.append(data["noise"][:, :1])
        else:
            out.append(data[n])
    return out


def _call(name: str, data: dict[str, Any]) -> Any:
    fn, names = FUNCTIONS[name]
    return fn(*_args(names, data))


# --------------------------------------------------------------------------- function level
@pytest.mark.parametrize(("cdtype", "rtol"), PRECISIONS, ids=["c128", "c64"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_numpy_equals_torch(name: str, cdtype: Any, rtol: float) -> None:
    data = _inputs()
    ref = _call(name, data)
    got = _call(name, {k: _to_torch(v, cdtype) for k, v in data.items()})
    if name != "ris.phases_from_indices":  # integer input: no precision to keep (complex128)
        _assert_precision(got, cdtype)
    _assert_agree(_np(ref), _np(got), rtol, name)


SCALAR_FUNCTIONS = ["sensing.crb_from_terms", "sensing.crb_trace_from_terms", "sensing.doa_crb_known_alpha"]


@pytest.mark.parametrize("kind", ["python", "numpy0d", "tensor"])
@pytest.mark.parametrize("name", SCALAR_FUNCTIONS)
def test_scalar_parameters_any_form(name: str, kind: str) -> None:
    """``L``, ``sigma_r2`` and ``alpha`` may be Python scalars, NumPy 0-d arrays or (0-d) tensors."""
    data = _inputs(1)
    ref = _call(name, data)
    wrap = {
        "python": float,
        "numpy0d": lambda v: np.asarray(v, dtype=np.float64),
        "tensor": lambda v: torch.tensor(v, dtype=torch.float64),
    }[kind]
    tdata = {k: _to_torch(v, torch.complex128) for k, v in data.items()}
    fn, names = FUNCTIONS[name]
    args = [wrap(_SCALARS[n]) if n in _SCALARS else _args((n,), tdata)[0] for n in names]
    _assert_agree(ref, _np(fn(*args)), 1e-10, name)


def test_terms_from_grams_unchanged_by_the_backend_neutral_sum() -> None:
    """``fim_terms`` (segment sums of the Gram products) equals the dense 81x6 coefficient form."""
    data = _inputs(2)
    V, W = data["V"], data["W"]
    G0 = np.conj(np.swapaxes(V, -1, -2)) @ V
    U = np.swapaxes(W, -1, -2) @ V
    G1 = np.conj(np.swapaxes(U, -1, -2)) @ U
    dense = np.einsum(
        "...a,...b,abi->...i", G0.reshape(B, 9), G1.reshape(B, 9), sensing._GRAM_C.reshape(9, 9, 6)
    )
    np.testing.assert_allclose(sensing.fim_terms(V, W), dense, rtol=1e-14, atol=1e-14 * np.abs(dense).max())


# --------------------------------------------------------------------------- scenario level
def _scenarios(config: RydbergISACConfig, seeds: tuple[int, ...]) -> list[rar.RydbergScenario]:
    return [rar.sample_scenario(config, np.random.default_rng(i)) for i in seeds]


def _design(s: rar.RydbergScenario, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random full-power precoder and random phases, batched like the scenario."""
    rng = np.random.default_rng(seed)
    d = s.dims
    W = _cn(rng, *s.batch_shape, d["Nt"], d["K"])
    W *= np.sqrt(np.asarray(s.P_max)[..., None, None]) / np.linalg.norm(W, axis=(-2, -1), keepdims=True)
    return W, np.exp(2j * np.pi * rng.random((*s.batch_shape, d["N"])))


def _scenario_metrics(s: rar.RydbergScenario, W: Any, phi: Any) -> dict[str, Any]:
    grid_bs, grid_ris = np.linspace(-1.5, 1.5, 31), np.linspace(-1.5, 1.5, 17)
    out = dict(rar.evaluate(s, W, phi))
    out["crb"] = rar.crb(s, W, phi)
    out["sum_rate_fn"] = rar.sum_rate(s, W, phi)
    out["H_eff"] = rar.effective_channels(s, phi)
    out["V"] = rar.sensing_vectors_of(s, phi)
    out["scales"] = rar.observation_scales(s)
    out["beams"] = rar.beam_patterns(s, W, phi, grid_bs, grid_ris)
    out["sum_rate_gradients"] = gradients.sum_rate_gradients(s, W, phi)
    out["crb_trace_gradients"] = gradients.crb_trace_gradients(s, W, phi)
    return out


CONFIGS = {
    "table1": RydbergISACConfig(),
    "small": RydbergISACConfig(**SMALL_RAR),
    "small_distortion": RydbergISACConfig(**SMALL_RAR, rsr_model="distortion"),
}


def _check_scenario_agreement(cfg_name: str, batched: bool, cdtype: Any, rtol: float, device: str) -> None:
    scs = _scenarios(CONFIGS[cfg_name], (0, 1, 2))
    s = rar.stack_scenarios(scs) if batched else scs[0]
    W, phi = _design(s, 7)
    ref = _scenario_metrics(s, W, phi)
    st = s.to("torch", device=device, dtype=cdtype)
    got = _scenario_metrics(st, _to_torch(W, cdtype, device), _to_torch(phi, cdtype, device))
    _assert_precision(got, cdtype)
    _assert_agree(_np(ref), _np(got), rtol, cfg_name)


@pytest.mark.parametrize(("cdtype", "rtol"), PRECISIONS, ids=["c128", "c64"])
@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("cfg_name", sorted(CONFIGS))
def test_scenario_metrics_numpy_equals_torch(cfg_name: str, batched: bool, cdtype: Any, rtol: float) -> None:
    _check_scenario_agreement(cfg_name, batched, cdtype, rtol, "cpu")


@CUDA
@pytest.mark.parametrize(("cdtype", "rtol"), PRECISIONS, ids=["c128", "c64"])
@pytest.mark.parametrize("cfg_name", ["table1", "small_distortion"])
def test_scenario_metrics_numpy_equals_torch_cuda(cfg_name: str, cdtype: Any, rtol: float) -> None:
    _check_scenario_agreement(cfg_name, True, cdtype, rtol, "cuda")


@CUDA
@pytest.mark.parametrize(("cdtype", "rtol"), PRECISIONS, ids=["c128", "c64"])
def test_functions_numpy_equal_torch_cuda(cdtype: Any, rtol: float) -> None:
    data = _inputs()
    tdata = {k: _to_torch(v, cdtype, "cuda") for k, v in data.items()}
    for name in sorted(FUNCTIONS):
        got = _call(name, tdata)
        _assert_agree(_np(_call(name, data)), _np(got), rtol, name)


def test_to_round_trip_is_exact_and_sets_dtypes() -> None:
    s = rar.stack_scenarios(_scenarios(CONFIGS["small_distortion"], (3, 4)))
    t = s.to("torch", dtype=torch.complex128)
    assert t.backend == "torch" and t.rsr_model == "distortion" and t.batch_shape == (2,)
    back = t.to("numpy")
    assert back.backend == "numpy"
    for f in rar._ARRAY_FIELDS:
        a, b = getattr(s, f), getattr(back, f)
        assert a.dtype == b.dtype and a.shape == b.shape, f
        np.testing.assert_array_equal(b, a, err_msg=f)
        assert not b.flags.writeable
    c64 = s.to("torch", dtype=torch.complex64)
    for f in rar._ARRAY_FIELDS:
        v = getattr(c64, f)
        assert v.dtype == (torch.complex64 if np.iscomplexobj(getattr(s, f)) else torch.float32), f
    # NumPy dtypes name the precision too; torch -> torch changes it; indexing keeps tensors
    assert s.to("torch", dtype=np.complex64).H_BR.dtype == torch.complex64
    assert c64.to("torch", dtype=torch.complex128).L.dtype == torch.float64
    assert torch.is_tensor(t[1].H_RU) and t[1].batch_shape == ()
    np.testing.assert_array_equal(t[1].H_RU.numpy(), s[1].H_RU)
    restacked = rar.stack_scenarios([t[0], t[1]])
    np.testing.assert_array_equal(restacked.to("numpy").b, s.b)


# --------------------------------------------------------------------------- autograd
def _autograd(
    f: Callable[..., Any], st: rar.RydbergScenario, W: np.ndarray, phi: np.ndarray
) -> tuple[Any, Any, Any]:
    Wt = torch.tensor(W, dtype=torch.complex128, requires_grad=True)
    pt = torch.tensor(phi, dtype=torch.complex128, requires_grad=True)
    val = f(st, Wt, pt)
    val.sum().backward()
    return val.detach().numpy(), Wt.grad.numpy(), pt.grad.numpy()


def test_torch_grad_is_twice_the_conjugate_wirtinger_derivative() -> None:
    z = torch.tensor([1.0 + 2.0j, -0.5j], dtype=torch.complex128, requires_grad=True)
    (z.abs() ** 2).sum().backward()  # d|z|^2 / dz^* = z
    np.testing.assert_allclose(z.grad.numpy(), 2.0 * z.detach().numpy(), rtol=1e-15)


@pytest.mark.parametrize("cfg_name", ["table1", "small"])
def test_autograd_equals_hand_wirtinger_gradients(cfg_name: str) -> None:
    s = rar.stack_scenarios(_scenarios(CONFIGS[cfg_name], (5, 6)))
    W, phi = _design(s, 11)
    st = s.to("torch", dtype=torch.complex128)
    # sum rate: the hand form is in nats with the (linear-model) noise fixed
    U, gW, gphi = gradients.sum_rate_gradients(s, W, phi)
    val, aW, aphi = _autograd(lambda *a: rar.sum_rate(*a) * np.log(2.0), st, W, phi)
    np.testing.assert_allclose(val, U, rtol=1e-12)
    np.testing.assert_allclose(aW, 2.0 * gW, rtol=1e-8, atol=1e-8 * np.abs(gW).max())
    np.testing.assert_allclose(aphi, 2.0 * gphi, rtol=1e-8, atol=1e-8 * np.abs(gphi).max())
    # tr CRB
    h, gW, gphi = gradients.crb_trace_gradients(s, W, phi)
    assert np.all(np.isfinite(h))
    val, aW, aphi = _autograd(rar.crb_trace, st, W, phi)
    np.testing.assert_allclose(val, h, rtol=1e-12)
    np.testing.assert_allclose(aW, 2.0 * gW, rtol=1e-8, atol=1e-8 * np.abs(gW).max())
    np.testing.assert_allclose(aphi, 2.0 * gphi, rtol=1e-8, atol=1e-8 * np.abs(gphi).max())


@pytest.mark.parametrize("metric", ["sum_rate", "crb_trace", "sum_rate_distortion"])
def test_autograd_matches_finite_differences(metric: str) -> None:
    """``f(z + t dz) - f(z - t dz) = 2 t Re<z.grad, dz> + O(t^3)`` along random directions."""
    cfg = CONFIGS["small_distortion" if metric.endswith("distortion") else "small"]
    s = _scenarios(cfg, (8,))[0]
    W, phi = _design(s, 12)
    fn = rar.crb_trace if metric == "crb_trace" else rar.sum_rate
    st = s.to("torch", dtype=torch.complex128)
    _, aW, aphi = _autograd(fn, st, W, phi)
    rng = np.random.default_rng(3)
    for _ in range(3):
        dW, dphi = _cn(rng, *W.shape), _cn(rng, *phi.shape)
        t = 1e-6 * np.linalg.norm(W) / np.linalg.norm(dW)
        f_plus = float(fn(s, W + t * dW, phi + t * dphi))
        f_minus = float(fn(s, W - t * dW, phi - t * dphi))
        fd = (f_plus - f_minus) / (2.0 * t)
        pred = np.real(np.vdot(aW, dW) + np.vdot(aphi, dphi))
        assert fd == pytest.approx(pred, rel=1e-5, abs=1e-9 * abs(f_plus))


def test_gradients_stay_finite_next_to_a_singular_fim() -> None:
    """A batch with one singular design (W = 0: tr CRB = inf, SINR = 0): the gradient of the finite
    entries is finite everywhere and zero for the singular one (the where guards)."""
    s = rar.stack_scenarios(_scenarios(CONFIGS["small"], (9, 10)))
    W, phi = _design(s, 13)
    W[1] = 0.0
    st = s.to("torch", dtype=torch.complex128)
    Wt = torch.tensor(W, requires_grad=True)
    pt = torch.tensor(phi, requires_grad=True)
    tr = rar.crb_trace(st, Wt, pt)
    crb = rar.crb(st, Wt, pt)
    assert torch.isfinite(tr[0]) and torch.isinf(tr[1]) and torch.isinf(crb[1]).all()
    fin = torch.isfinite(tr)
    loss = torch.where(fin, tr, 0.0).sum() + torch.where(torch.isfinite(crb), crb, 0.0).sum()
    loss = loss + rar.sum_rate(st, Wt, pt).sum()
    loss.backward()
    assert torch.isfinite(Wt.grad).all() and torch.isfinite(pt.grad).all()
    assert torch.count_nonzero(Wt.grad[0]) > 0


def test_numpy_scenario_fields_stay_numpy_after_torch_use() -> None:
    """Converting does not touch the NumPy scenario (read-only copies; torch gets its own)."""
    s = _scenarios(CONFIGS["small"], (0,))[0]
    t = s.to("torch", dtype=torch.complex128)
    t.H_BR.mul_(0.0)
    assert np.abs(s.H_BR).max() > 0 and not s.H_BR.flags.writeable


def test_dataclass_fields_cover_every_array_field() -> None:
    names = {f.name for f in dataclasses.fields(rar.RydbergScenario)}
    assert set(rar._ARRAY_FIELDS) == names - {"rsr_model"}
