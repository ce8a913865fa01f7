"""Communication metrics: SINR and rates.

RAR task: SINR (23) and sum utility (24) of the rar_isac spec, the energy-sum SINR over the M
cells of each Rydberg receiver. The MISO SINR of the robust task is the special case ``M = 1``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .rydberg import distortion_power

__all__ = ["link_gains", "rate_bps_hz", "sinr_from_gains", "sinr_rar", "sum_rate_bps_hz"]


def link_gains(H_eff: NDArray[np.complex128], W: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Per-cell received amplitudes ``G[..., k, m, i] = [H_k w_i]_m``.

    ``D_{b,k}`` is unitary, so ``||g_{k,i}|| = ||D_{b,k} H_k w_i|| = ||H_k w_i||`` (spec section 3).

    Args:
        H_eff: ``[..., K, M, Nt]``; W: ``[..., Nt, K]``.

    Returns:
        complex128 ``[..., K, M, K]``.
    """
    return H_eff @ W[..., None, :, :]


def sinr_from_gains(G: NDArray[np.complex128], noise: NDArray[np.float64]) -> NDArray[np.float64]:
    """SINR (23): ``||g_kk||^2 / (sum_{i != k} ||g_ki||^2 + noise_k)``.

    Args:
        G: ``[..., K, M, K]`` from :func:`link_gains`.
        noise: ``[..., K]`` total noise(+distortion) power in the denominator.

    Returns:
        float64 ``[..., K]``.
    """
    E = np.sum(G.real**2 + G.imag**2, axis=-2)  # [..., K, K] (user k, stream i)
    sig = np.diagonal(E, axis1=-2, axis2=-1)
    return sig / (np.sum(E, axis=-1) - sig + noise)


def sinr_rar(
    H_eff: NDArray[np.complex128],
    W: NDArray[np.complex128],
    sigma_q2: NDArray[np.float64],
    b: NDArray[np.complex128] | None = None,
    rsr_model: str = "linear",
) -> NDArray[np.float64]:
    """SINR of each RAR user (eq. (23)), optionally with the RSR-aware distortion (spec 3.1).

    Args:
        H_eff: ``[..., K, M, Nt]`` effective channels.
        W: ``[..., Nt, K]`` precoder (W).
        sigma_q2: ``[..., K]`` per-cell receiver noise power ``sigma_{q,k}^2``.
        b: ``[..., K, M]`` LO field, needed only for ``rsr_model="distortion"``.
        rsr_model: ``"linear"`` (paper-literal, LO drops out) or ``"distortion"``.

    Returns:
        float64 ``[..., K]`` linear SINR.
    """
    G = link_gains(H_eff, W)
    M = H_eff.shape[-2]
    noise = M * sigma_q2
    if rsr_model == "distortion":
        if b is None:
            raise ValueError("rsr_model='distortion' needs the LO field b")
        cell_power = np.sum(G.real**2 + G.imag**2, axis=-1) + sigma_q2[..., None]
        noise = noise + distortion_power(cell_power, b)
    elif rsr_model != "linear":
        raise ValueError(f"rsr_model must be 'linear' or 'distortion', got {rsr_model!r}")
    return sinr_from_gains(G, noise)


def rate_bps_hz(sinr: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-user rate ``log2(1 + SINR)`` in bit/s/Hz (divide by log2(e) for nats)."""
    return np.log2(1.0 + sinr)


def sum_rate_bps_hz(sinr: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum utility ``U_com`` (24) in bit/s/Hz: ``sum_k log2(1 + SINR_k)``; ``[...]``."""
    return np.sum(np.log2(1.0 + sinr), axis=-1)
