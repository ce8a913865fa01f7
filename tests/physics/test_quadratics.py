"""The phase quadratic forms of :mod:`isac_env.physics` equal the norms they expand, on NumPy and torch.

:func:`~isac_env.physics.channels.phase_gain_quadratics`:
``||H_eff,k(phi)||_F^2 = phi^H A_k phi + Re{b_k^H phi} + c0_k`` with ``H_eff`` from
:func:`~isac_env.physics.channels.effective_channel` (3); :func:`~isac_env.physics.sensing.phase_sensing_quadratics`:
``||v_t(phi)||^2``, ``||v_R(phi)||^2`` with ``V`` from :func:`~isac_env.physics.sensing.sensing_vectors` (15).
Checked on random (not only unit-modulus) phases, batched, at 1e-10 relative in complex128 (1e-4 in
complex64 for torch against NumPy), batch against loop, and torch autograd against the MM direction
``2 A phi + b`` (torch's ``phi.grad`` is ``2 d/dphi^*``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from isac_env import physics as P
from isac_env.physics.channels import effective_channel, phase_gain_quadratics
from isac_env.physics.sensing import phase_sensing_quadratics, sensing_vectors

B, K, M, N, NT = 3, 3, 4, 7, 5


def _c(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def _inputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Batched random channels with unequal scales (direct, cascaded and target terms all matter)."""
    rng = np.random.default_rng(seed)
    return {
        "H_BU": _c(rng, B, K, M, NT, scale=0.3),
        "H_RU": _c(rng, B, K, M, N, scale=1.7),
        "H_BR": _c(rng, B, N, NT, scale=0.8),
        "h_dt": _c(rng, B, NT, scale=0.5),
        "dh_dt": _c(rng, B, NT),
        "h_rt": _c(rng, B, N),
        "dh_rt": _c(rng, B, N, scale=2.0),
        # general complex phases (the identities hold for every phi) and unit-modulus ones
        "phi": np.concatenate([_c(rng, 2, N), np.exp(2j * np.pi * rng.random((1, N)))]),
    }


def _quad(A: Any, b: Any, c0: Any, phi: Any) -> Any:
    """``phi^H A phi + Re{b^H phi} + c0`` over the trailing axes (NumPy or torch, broadcast)."""
    return (
        (phi.conj()[..., None, :] @ (A @ phi[..., None]))[..., 0, 0].real + (b.conj() * phi).sum(-1).real + c0
    )


def _sq(x: Any, axes: tuple[int, ...]) -> Any:
    return (x.real**2 + x.imag**2).sum(axes)


def _close(got: Any, ref: Any, rtol: float) -> None:
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=rtol * np.abs(ref).max())


def _gain_check(d: dict[str, Any], rtol: float) -> None:
    A, b, c0 = phase_gain_quadratics(d["H_BU"], d["H_RU"], d["H_BR"])
    assert A.shape == (B, K, N, N) and b.shape == (B, K, N) and c0.shape == (B, K)
    As, bs, cs = phase_gain_quadratics(d["H_BU"], d["H_RU"], d["H_BR"], sum_users=True)
    assert As.shape == (B, N, N) and bs.shape == (B, N) and cs.shape == (B,)
    for phi in d["phi"]:  # one phase vector per batch element: [B, N]
        phis = phi[None, :] * (1 + 0 * d["H_BR"][:, :, 0])
        H = effective_channel(d["H_BU"], d["H_RU"], d["H_BR"], phis)  # [B, K, M, NT]
        gain = _sq(H, (-2, -1))  # [B, K]
        _close(_quad(A, b, c0, phis[:, None, :]), gain, rtol)
        _close(_quad(As, bs, cs, phis), gain.sum(-1), rtol)


def _sensing_check(d: dict[str, Any], rtol: float) -> None:
    A, b, c0 = phase_sensing_quadratics(d["H_BR"], d["h_dt"], d["h_rt"], d["dh_rt"])
    assert A.shape == (B, 2, N, N) and b.shape == (B, 2, N) and c0.shape == (B, 2)
    for phi in d["phi"]:
        phis = phi[None, :] * (1 + 0 * d["h_rt"])
        V = sensing_vectors(d["H_BR"], phis, d["h_dt"], d["h_rt"], d["dh_dt"], d["dh_rt"])  # [B, NT, 3]
        norms = _sq(V, (-2,))  # [B, 3]: v_t, v_B, v_R
        got = _quad(A, b, c0, phis[:, None, :])  # [B, 2]
        _close(got[:, 0], norms[:, 0], rtol)
        _close(got[:, 1], norms[:, 2], rtol)


def test_gain_quadratics_equal_effective_channel_gains_numpy() -> None:
    _gain_check(_inputs(), 1e-10)


def test_sensing_quadratics_equal_illumination_numpy() -> None:
    _sensing_check(_inputs(1), 1e-10)


def test_forms_are_hermitian_psd_and_batch_equals_loop() -> None:
    d = _inputs(2)
    A, b, c0 = phase_gain_quadratics(d["H_BU"], d["H_RU"], d["H_BR"])
    As, bs, cs = phase_gain_quadratics(d["H_BU"], d["H_RU"], d["H_BR"], sum_users=True)
    Sa, Sb, Sc = phase_sensing_quadratics(d["H_BR"], d["h_dt"], d["h_rt"], d["dh_rt"])
    for Q in (A, As, Sa):
        np.testing.assert_allclose(Q, np.conj(np.swapaxes(Q, -1, -2)), rtol=0, atol=1e-12 * np.abs(Q).max())
        assert np.linalg.eigvalsh(Q).min() >= -1e-10 * np.abs(Q).max()
    # the summed forms are the sums of the per-user ones
    for got, ref in ((As, A.sum(-3)), (bs, b.sum(-2)), (cs, c0.sum(-1))):
        _close(got, ref, 1e-12)
    np.testing.assert_array_equal(Sb[:, 1], 0)
    np.testing.assert_array_equal(Sc[:, 1], 0)
    for i in range(B):
        one = phase_gain_quadratics(d["H_BU"][i], d["H_RU"][i], d["H_BR"][i])
        for got, ref in zip(one, (A[i], b[i], c0[i]), strict=True):
            _close(got, ref, 1e-13)
        one = phase_gain_quadratics(d["H_BU"][i], d["H_RU"][i], d["H_BR"][i], sum_users=True)
        for got, ref in zip(one, (As[i], bs[i], cs[i]), strict=True):
            _close(got, ref, 1e-13)
        # unbatched target constants with a batched H_BR broadcast like the batched ones
        one = phase_sensing_quadratics(d["H_BR"][i], d["h_dt"][i], d["h_rt"][i], d["dh_rt"][i])
        for got, ref in zip(one, (Sa[i], Sb[i], Sc[i]), strict=True):
            _close(got, ref, 1e-13)
    Sa0, Sb0, Sc0 = phase_sensing_quadratics(d["H_BR"], d["h_dt"][0], d["h_rt"][0], d["dh_rt"][0])
    assert Sa0.shape == (B, 2, N, N) and Sb0.shape == (B, 2, N) and Sc0.shape == (B, 2)
    _close(Sc0[:, 0], np.full(B, np.sum(np.abs(d["h_dt"][0]) ** 2)), 1e-13)


def test_gain_quadratics_on_a_scenario(small_rar_config, rng) -> None:
    """Unbatched scenario shapes: the summed form is the scenario's sum gain at any phases."""
    s = P.sample_scenario(small_rar_config, rng)
    A, b, c0 = phase_gain_quadratics(s.H_BU, s.H_RU, s.H_BR, sum_users=True)
    phi = np.exp(2j * np.pi * rng.random(s.H_BR.shape[0]))
    gain = np.sum(np.abs(P.effective_channels(s, phi)) ** 2)
    np.testing.assert_allclose(_quad(A, b, c0, phi), gain, rtol=1e-10)


# --------------------------------------------------------------------------- torch
torch_params = [("complex128", 1e-10), ("complex64", 1e-4)]


def _to_torch(d: dict[str, np.ndarray], dtype: str) -> dict[str, Any]:
    torch = pytest.importorskip("torch")
    return {k: torch.as_tensor(v).to(getattr(torch, dtype)) for k, v in d.items()}


@pytest.mark.parametrize(("dtype", "rtol"), torch_params)
def test_torch_forms_equal_norms_and_numpy(dtype: str, rtol: float) -> None:
    torch = pytest.importorskip("torch")
    d = _inputs(3)
    t = _to_torch(d, dtype)
    if dtype == "complex128":
        _gain_check(t, 1e-10)
        _sensing_check(t, 1e-10)
    cdt = getattr(torch, dtype)
    rdt = torch.float64 if dtype == "complex128" else torch.float32
    for kw in ({}, {"sum_users": True}):
        ref = phase_gain_quadratics(d["H_BU"], d["H_RU"], d["H_BR"], **kw)
        got = phase_gain_quadratics(t["H_BU"], t["H_RU"], t["H_BR"], **kw)
        for g, r, dt in zip(got, ref, (cdt, cdt, rdt), strict=True):
            assert g.dtype == dt
            _close(g.numpy(), r, rtol)
    ref = phase_sensing_quadratics(d["H_BR"], d["h_dt"], d["h_rt"], d["dh_rt"])
    got = phase_sensing_quadratics(t["H_BR"], t["h_dt"], t["h_rt"], t["dh_rt"])
    for g, r, dt in zip(got, ref, (cdt, cdt, rdt), strict=True):
        assert g.dtype == dt
        _close(g.numpy(), r, rtol)


def test_torch_autograd_gives_the_mm_direction() -> None:
    """``phi.grad`` of the sum gain (through ``effective_channel``) is ``2 (sum_k A_k) phi + sum_k b_k``,
    the direction of the MM step ``phi <- exp(j angle(2 A phi + b))``; likewise for ``||v_t||^2``."""
    torch = pytest.importorskip("torch")
    t = _to_torch(_inputs(4), "complex128")
    A, b, _ = phase_gain_quadratics(t["H_BU"], t["H_RU"], t["H_BR"], sum_users=True)
    Sa, Sb, _ = phase_sensing_quadratics(t["H_BR"], t["h_dt"], t["h_rt"], t["dh_rt"])
    phi = t["phi"][0].expand(B, N).clone().requires_grad_(True)
    _sq(effective_channel(t["H_BU"], t["H_RU"], t["H_BR"], phi), (-3, -2, -1)).sum().backward()
    with torch.no_grad():
        _close(phi.grad.numpy(), (2.0 * (A @ phi[..., None])[..., 0] + b).numpy(), 1e-10)
    phi.grad = None
    V = sensing_vectors(t["H_BR"], phi, t["h_dt"], t["h_rt"], t["dh_dt"], t["dh_rt"])
    _sq(V[..., 0], (-1,)).sum().backward()
    with torch.no_grad():
        _close(phi.grad.numpy(), (2.0 * (Sa[:, 0] @ phi[..., None])[..., 0] + Sb[:, 0]).numpy(), 1e-10)
