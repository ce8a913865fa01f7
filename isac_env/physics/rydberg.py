"""Rydberg atomic receiver (RAR): LO reference, phase alignment, noise, SNR/RSR calibration.

rar_isac spec sections 2.2, 3.1, 8.5, 8.6. Fields are in Rabi-frequency units with the common
physical scale absorbed by the SNR calibration.

Array functions take NumPy arrays (complex128/float64, the reference) or torch tensors (complex64/
complex128, differentiable); the dtypes below name the NumPy case.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import angle, as_real, einsum, namespace
from .units import db_to_lin

__all__ = [
    "calibrate_lo_amplitude",
    "calibrate_noise",
    "distortion_power",
    "lo_phase_alignment",
    "quantum_shot_noise_var",
    "rar_readout",
    "reference_signal_energy",
]


def quantum_shot_noise_var(T_i_s: float, T_r_s: float, N_a: float) -> float:
    """Quantum shot noise variance ``sigma_S^2 = 4 pi^2 / (T_i T_r N_a)`` in (rad/s)^2 (eq. (8)).

    Documentation value only: in simulation the receiver noise is set by the SNR calibration.
    """
    return float(4.0 * np.pi**2 / (T_i_s * T_r_s * N_a))


def lo_phase_alignment(b: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Diagonal of ``D_{b,k} = diag(e^{-j angle b_{k,m}})`` (eq. (10)); ``[..., K, M]`` complex."""
    xp = namespace(b)
    return xp.exp(-1j * angle(xp, b))


def rar_readout(
    H_eff: NDArray[np.complex128],
    x: NDArray[np.complex128],
    b: NDArray[np.complex128],
    n: NDArray[np.complex128],
) -> NDArray[np.float64]:
    """Magnitude-only RAR output ``y_k = |H_k x + b_k + n_k|`` (eq. (7)).

    Args:
        H_eff: ``[..., K, M, Nt]``; x: ``[..., Nt]``; b, n: ``[..., K, M]``.

    Returns:
        float64 ``[..., K, M]`` (Rabi units).
    """
    xp = namespace(H_eff, x)
    return xp.abs(einsum(xp, "...kmn,...n->...km", H_eff, x) + b + n)


def reference_signal_energy(
    H_BU: NDArray[np.complex128],
    H_RU: NDArray[np.complex128],
    H_BR: NDArray[np.complex128],
    p_max_w: ArrayLike,
) -> NDArray[np.float64]:
    """Per-user W- and phi-independent received energy (spec section 8.6).

    ``E_sig,k = (P_max/N_t) (||H_BU,k||_F^2 + sum_n ||H_RU,k[:, n]||^2 ||H_BR[n, :]||^2)``, i.e. the
    mean received energy under the isotropic covariance ``(P_max/N_t) I`` and uniformly random RIS
    phases.

    Returns:
        float64 ``[..., K]``.
    """
    xp = namespace(H_BR)
    n_t = H_BR.shape[-1]
    ris_col = xp.sum(xp.abs(H_RU) ** 2, axis=-2)  # [..., K, N]
    br_row = xp.sum(xp.abs(H_BR) ** 2, axis=-1)  # [..., N]
    e = xp.sum(xp.abs(H_BU) ** 2, axis=(-2, -1)) + xp.sum(ris_col * br_row[..., None, :], axis=-1)
    return as_real(p_max_w, xp, e)[..., None] / n_t * e


def calibrate_noise(
    e_sig_k: NDArray[np.float64], M: int, snr_db: ArrayLike, per_user: bool
) -> NDArray[np.float64]:
    """Receiver noise power from the SNR definition (104) (spec section 8.6).

    Common (paper-literal, default): ``sigma_q^2 = sum_k E_sig,k / (K M SNR)`` for every user.
    Per-user alternative: ``sigma_q,k^2 = E_sig,k / (M SNR)``.

    Returns:
        float64 ``[..., K]``.
    """
    xp = namespace(e_sig_k)
    snr = as_real(db_to_lin(snr_db), xp, e_sig_k)[..., None]
    if per_user:
        return e_sig_k / (M * snr)
    K = e_sig_k.shape[-1]
    common = xp.sum(e_sig_k, axis=-1, keepdims=True) / (K * M * snr)
    return common * xp.ones_like(e_sig_k)  # a fresh array of e_sig_k's shape (exact)


def calibrate_lo_amplitude(
    e_sig_k: NDArray[np.float64],
    sigma_q2: NDArray[np.float64],
    cos_psi_b: NDArray[np.float64],
    rsr_db: ArrayLike,
) -> NDArray[np.float64]:
    """LO amplitude ``c_b`` from the RSR definition (105) (spec section 8.6).

    ``c_b^2 = RSR (sum_k E_sig,k + M sum_k sigma_q,k^2) / sum_{k,m} cos^2 psi_{k,m,b}``.

    Args:
        e_sig_k: ``[..., K]``; sigma_q2: ``[..., K]``; cos_psi_b: ``[..., K, M]``.

    Returns:
        float64 ``[...]``.
    """
    xp = namespace(e_sig_k)
    M = cos_psi_b.shape[-1]
    num = xp.sum(e_sig_k, axis=-1) + M * xp.sum(sigma_q2, axis=-1)
    return xp.sqrt(as_real(db_to_lin(rsr_db), xp, num) * num / xp.sum(cos_psi_b**2, axis=(-2, -1)))


def distortion_power(cell_power: NDArray[np.float64], b: NDArray[np.complex128]) -> NDArray[np.float64]:
    """Second-order (RSR-aware) readout distortion ``Delta_k`` (spec section 3.1).

    ``Delta_k = sum_m min(P_{u,k,m}^2 / (4 |b_{k,m}|^2), P_{u,k,m})`` in the complex-power units
    of the SINR (23), where ``P_{u,k,m}`` is the received signal-plus-noise power of cell m.

    Args:
        cell_power: ``[..., K, M]`` per-cell received power ``P_u``.
        b: ``[..., K, M]`` LO field.

    Returns:
        float64 ``[..., K]``.
    """
    xp = namespace(cell_power)
    b2 = xp.abs(b) ** 2
    pos = b2 > 0  # the denominator is never zero, so no floating-point warnings to silence
    d = xp.where(pos, cell_power**2 / (4.0 * xp.where(pos, b2, 1.0)), cell_power)
    return xp.minimum(d, cell_power).sum(axis=-1)
