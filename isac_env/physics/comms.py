"""Communication metrics: SINR and rates.

RAR task: SINR (23) and sum utility (24) of the rar_isac spec, the energy-sum SINR over the M
cells of each Rydberg receiver. The MISO SINR of the robust task is the special case ``M = 1``.

Every function takes NumPy arrays (complex128/float64, the reference) or torch tensors (CPU or
CUDA, complex64/complex128, differentiable by autograd); the dtypes below name the NumPy case.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._xp import namespace, tall_matmul
from .rydberg import distortion_power

__all__ = [
    "channel_covariances",
    "link_energies_from_covariances",
    "link_gains",
    "link_gains_factored",
    "rar_noise",
    "rate_bps_hz",
    "sinr_from_covariances",
    "sinr_from_energies",
    "sinr_from_gains",
    "sinr_rar",
    "sinr_rar_from_gains",
    "sum_rate_bps_hz",
]


def link_gains(H_eff: NDArray[np.complex128], W: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Per-cell received amplitudes ``G[..., k, m, i] = [H_k w_i]_m``.

    ``D_{b,k}`` is unitary, so ``||g_{k,i}|| = ||D_{b,k} H_k w_i|| = ||H_k w_i||`` (spec section 3).

    Args:
        H_eff: ``[..., K, M, Nt]``; W: ``[..., Nt, K]``.

    Returns:
        complex128 ``[..., K, M, K]``.
    """
    return H_eff @ W[..., None, :, :]


def link_gains_factored(
    H_BU: NDArray[np.complex128],
    H_RU: NDArray[np.complex128],
    H_BR: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    W: NDArray[np.complex128],
) -> NDArray[np.complex128]:
    """:func:`link_gains` of the RIS channel without forming ``H_eff`` (eqs. (3), (23)).

    Substituting ``H_eff,k = H_BU,k + H_RU,k diag(phi) H_BR`` (3) into ``G_k = H_eff,k W``:
    ``G_k = H_BU,k W + H_RU,k (phi ⊙ (H_BR W))``. The cost is ``K M (N + Nt) K + N Nt K`` complex
    MACs instead of ``K M N Nt + K M Nt K`` (about half for the Table-I size ``K = 3``, ``Nt = 6``);
    the result equals ``link_gains(effective_channel(H_BU, H_RU, H_BR, phi), W)`` up to summation
    order (relative differences ~1e-15).

    Args:
        H_BU: ``[..., K, M, Nt]`` direct BS -> receiver channels.
        H_RU: ``[..., K, M, N]`` RIS -> receiver channels.
        H_BR: ``[..., N, Nt]`` BS -> RIS channel.
        phi: ``[..., N]`` RIS reflection coefficients.
        W: ``[..., Nt, K']`` precoder (``K' = K`` streams).

    Returns:
        complex128 ``[..., K, M, K']`` with ``G[..., k, m, i] = [H_eff,k(phi) w_i]_m``.
    """
    K, M, N = H_RU.shape[-3:]
    Nt = H_BU.shape[-1]
    X = phi[..., :, None] * (H_BR @ W)  # [..., N, K']: diag(phi) H_BR W
    # (K M) x N and (K M) x Nt products: one BLAS call per batch element
    xp = namespace(H_RU)
    G = tall_matmul(xp, H_BU.reshape(*H_BU.shape[:-3], K * M, Nt), W) + tall_matmul(
        xp, H_RU.reshape(*H_RU.shape[:-3], K * M, N), X
    )
    return G.reshape(*G.shape[:-2], K, M, G.shape[-1])


def sinr_from_gains(G: NDArray[np.complex128], noise: NDArray[np.float64]) -> NDArray[np.float64]:
    """SINR (23): ``||g_kk||^2 / (sum_{i != k} ||g_ki||^2 + noise_k)``.

    Args:
        G: ``[..., K, M, K]`` from :func:`link_gains`.
        noise: ``[..., K]`` total noise(+distortion) power in the denominator.

    Returns:
        float64 ``[..., K]``.
    """
    return sinr_from_energies((G.real**2 + G.imag**2).sum(axis=-2), noise)


def sinr_from_energies(E: NDArray[np.float64], noise: NDArray[np.float64]) -> NDArray[np.float64]:
    """SINR (23) from the received energies ``E[..., k, i] = ||H_k w_i||^2`` ``[..., K, K]``.

    Args:
        E: ``[..., K, K]`` (user k, stream i); noise: ``[..., K]``.

    Returns:
        float64 ``[..., K]``: ``E_kk / (sum_{i != k} E_ki + noise_k)``.
    """
    sig = E.diagonal(0, -2, -1)
    return sig / (E.sum(axis=-1) - sig + noise)


def channel_covariances(H_eff: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Per-user channel Gram matrices ``Q_k = H_k^H H_k`` ``[..., K, Nt, Nt]`` (Hermitian PSD).

    For fixed ``phi`` they turn every received energy into an ``Nt x Nt`` quadratic form,
    ``||H_k w_i||^2 = w_i^H Q_k w_i`` (:func:`link_energies_from_covariances`); ``D_{b,k}`` is
    unitary and drops out (spec section 3).

    Args:
        H_eff: ``[..., K, M, Nt]`` effective channels.

    Returns:
        complex128 ``[..., K, Nt, Nt]``.
    """
    return H_eff.mT.conj() @ H_eff


def link_energies_from_covariances(
    Q: NDArray[np.complex128], W: NDArray[np.complex128]
) -> NDArray[np.float64]:
    """Received energies ``E[..., k, i] = w_i^H Q_k w_i = ||H_k w_i||^2`` ``[..., K, K]``.

    Equal (up to rounding) to ``sum_m |link_gains(H, W)[..., k, m, i]|^2`` with
    ``Q = channel_covariances(H)``; costs ``K^2 Nt^2`` instead of ``K^2 M Nt`` MACs.

    Args:
        Q: ``[..., K, Nt, Nt]`` from :func:`channel_covariances`.
        W: ``[..., Nt, K]`` precoder (extra leading axes broadcast against ``Q``'s).

    Returns:
        float64 ``[..., K, K]`` (user k, stream i).
    """
    QW = Q @ W[..., None, :, :]  # [..., K, Nt, K]: Q_k w_i
    return (W.conj()[..., None, :, :] * QW).sum(axis=-2).real


def sinr_from_covariances(
    Q: NDArray[np.complex128], W: NDArray[np.complex128], noise: NDArray[np.float64]
) -> NDArray[np.float64]:
    """SINR (23) from the channel Gram matrices ``Q_k = H_k^H H_k`` (fixed ``phi``).

    Equals :func:`sinr_from_gains` of ``link_gains(H, W)`` with the same ``noise``; useful when
    many precoders are evaluated at one ``phi``. ``noise`` must not depend on ``W`` (true for
    ``rsr_model="linear"``, where it is ``M sigma_q,k^2``).

    Args:
        Q: ``[..., K, Nt, Nt]`` from :func:`channel_covariances`.
        W: ``[..., Nt, K]`` precoder; noise: ``[..., K]`` denominator noise.

    Returns:
        float64 ``[..., K]`` linear SINR.
    """
    return sinr_from_energies(link_energies_from_covariances(Q, W), noise)


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
    return sinr_rar_from_gains(link_gains(H_eff, W), sigma_q2, b, rsr_model)


def rar_noise(
    G: NDArray[np.complex128],
    sigma_q2: NDArray[np.float64],
    b: NDArray[np.complex128] | None = None,
    rsr_model: str = "linear",
) -> NDArray[np.float64]:
    """Denominator noise of SINR (23): ``M sigma_q,k^2``, plus the readout distortion ``Delta_k``
    (spec 3.1) at the link gains for ``rsr_model="distortion"``.

    Args:
        G: ``[..., K, M, K]`` link gains (:func:`link_gains` or :func:`link_gains_factored`).
        sigma_q2: ``[..., K]`` per-cell receiver noise power.
        b: ``[..., K, M]`` LO field, needed only for ``rsr_model="distortion"``.
        rsr_model: ``"linear"`` or ``"distortion"``.

    Returns:
        float64 ``[..., K]``.
    """
    noise = G.shape[-2] * sigma_q2
    if rsr_model == "linear":
        return noise
    if rsr_model != "distortion":
        raise ValueError(f"rsr_model must be 'linear' or 'distortion', got {rsr_model!r}")
    if b is None:
        raise ValueError("rsr_model='distortion' needs the LO field b")
    cell_power = (G.real**2 + G.imag**2).sum(axis=-1) + sigma_q2[..., None]
    return noise + distortion_power(cell_power, b)


def sinr_rar_from_gains(
    G: NDArray[np.complex128],
    sigma_q2: NDArray[np.float64],
    b: NDArray[np.complex128] | None = None,
    rsr_model: str = "linear",
) -> NDArray[np.float64]:
    """SINR (23) of each RAR user from its link gains ``G`` ``[..., K, M, K]`` (see :func:`sinr_rar`).

    Returns:
        float64 ``[..., K]`` linear SINR.
    """
    return sinr_from_gains(G, rar_noise(G, sigma_q2, b, rsr_model))


def rate_bps_hz(sinr: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-user rate ``log2(1 + SINR)`` in bit/s/Hz (divide by log2(e) for nats)."""
    return namespace(sinr).log2(1.0 + sinr)


def sum_rate_bps_hz(sinr: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum utility ``U_com`` (24) in bit/s/Hz: ``sum_k log2(1 + SINR_k)``; ``[...]``."""
    return rate_bps_hz(sinr).sum(axis=-1)
