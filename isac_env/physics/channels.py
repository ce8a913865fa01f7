"""Geometry, path loss and small-scale fading shared by both tasks.

RAR task: rar_isac spec sections 8.2-8.4. Robust task: robust_isac spec section 10.
Every sampler takes an explicit ``np.random.Generator``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .arrays import steering_vector
from .units import db_to_lin

__all__ = [
    "complex_normal",
    "complex_normal_from_standard",
    "effective_channel",
    "path_loss",
    "rar_clustered_channel",
    "rician_channel",
]


def complex_normal(
    rng: np.random.Generator, shape: tuple[int, ...], var: ArrayLike = 1.0
) -> NDArray[np.complex128]:
    """i.i.d. circularly-symmetric complex Gaussian ``CN(0, var)`` samples of ``shape``.

    Draws ``rng.standard_normal((*shape, 2))`` and maps it with :func:`complex_normal_from_standard`.
    """
    return complex_normal_from_standard(rng.standard_normal((*shape, 2)), var)


def complex_normal_from_standard(z: NDArray[np.float64], var: ArrayLike = 1.0) -> NDArray[np.complex128]:
    """``CN(0, var)`` samples ``sqrt(var / 2) (z[..., 0] + j z[..., 1])`` from standard normals.

    Lets a caller draw the randomness first (e.g. per generator) and fix the variance later.

    Args:
        z: float64 ``[..., 2]`` i.i.d. ``N(0, 1)`` (real, imaginary) pairs.
        var: variance, broadcastable to ``z.shape[:-1]``.

    Returns:
        complex128 ``z.shape[:-1]``.
    """
    return np.sqrt(np.asarray(var, dtype=np.float64) / 2.0) * (z[..., 0] + 1j * z[..., 1])


def path_loss(d_m: ArrayLike, exponent: ArrayLike, c0_db: float = -30.0) -> NDArray[np.float64]:
    """Large-scale power gain ``PL(d) = C0 (d / 1 m)^(-alpha)`` (linear, not dB).

    rar_isac spec section 8.3; robust_isac spec section 10 (``-30 - 10 alpha log10 d`` dB).
    """
    d = np.asarray(d_m, dtype=np.float64)
    return db_to_lin(c0_db) * d ** (-np.asarray(exponent, dtype=np.float64))


def rician_channel(
    rng: np.random.Generator,
    los: NDArray[np.complex128],
    k_factor: float,
    nlos_var: float,
    gain: float = 1.0,
) -> NDArray[np.complex128]:
    """Rician channel ``gain * (sqrt(k/(k+1)) los + sqrt(1/(k+1)) nlos)``.

    Args:
        rng: random generator.
        los: deterministic LoS component (any shape).
        k_factor: linear Rician factor; ``np.inf`` gives pure LoS, 0 pure Rayleigh.
        nlos_var: variance of the i.i.d. ``CN`` NLoS entries.
        gain: amplitude gain (``sqrt`` of the path loss).
    """
    if np.isinf(k_factor):
        return gain * los
    nlos = complex_normal(rng, los.shape, nlos_var)
    return gain * (np.sqrt(k_factor / (k_factor + 1.0)) * los + np.sqrt(1.0 / (k_factor + 1.0)) * nlos)


def rar_clustered_channel(
    rng: np.random.Generator,
    n_rx: int,
    n_tx: int,
    *,
    num_clusters: int,
    num_rays: int,
    ray_spread_rad: float,
    carrier_hz: float,
    max_delay_spread_s: float,
    polarization: str,
) -> NDArray[np.complex128]:
    """Unit-power clustered channel seen by an M-cell Rydberg receiver (rar_isac spec eq. (4), 8.4).

    ``[H]_{m,n} = (1/sqrt(0.5 C R)) sum_{c,r} alpha_{c,r} e^{-j 2 pi f tau_c} cos(psi) e^{-j pi m sin
    theta^A} e^{-j pi n sin theta^D}`` with ``alpha ~ CN(0,1)``, cluster centres ``U(-90, 90) deg``,
    ray offsets ``U(-spread, spread)``, ``tau_c ~ U(0, Delta)``, ``Delta ~ U(0, max)`` and the
    dipole-polarization coupling ``cos(psi)``, ``psi ~ U[0, 2pi)``, indexed per

    * ``"mnkl"``: cell, transmit element and path (the paper's literal indexing, default);
    * ``"mkl"``: cell and path (one plane wave per path);
    * ``"kl"``: path only.

    Path loss is applied by the caller.

    Returns:
        complex128 ``[n_rx, n_tx]`` with ``E|H_mn|^2 = 1``.
    """
    p = num_clusters * num_rays
    centre_a = rng.uniform(-np.pi / 2, np.pi / 2, num_clusters)
    centre_d = rng.uniform(-np.pi / 2, np.pi / 2, num_clusters)
    th_a = (
        centre_a[:, None] + rng.uniform(-ray_spread_rad, ray_spread_rad, (num_clusters, num_rays))
    ).ravel()
    th_d = (
        centre_d[:, None] + rng.uniform(-ray_spread_rad, ray_spread_rad, (num_clusters, num_rays))
    ).ravel()
    delta = rng.uniform(0.0, max_delay_spread_s)
    tau = rng.uniform(0.0, delta, num_clusters)
    gains = complex_normal(rng, (num_clusters, num_rays)) * np.exp(-2j * np.pi * carrier_hz * tau)[:, None]
    gains = gains.ravel() / np.sqrt(0.5 * p)
    arr = steering_vector(th_a, n_rx).T * gains  # [M, P]
    dep = steering_vector(th_d, n_tx).T  # [Ntx, P]
    if polarization == "mnkl":
        # float32 draws: the M*N*P couplings dominate the sampling cost; 1e-7 precision suffices.
        u = rng.random((n_rx, n_tx, p), dtype=np.float32)
        cos_psi = np.cos(u * np.float32(2.0 * np.pi))
        Y = arr[:, None, :] * dep[None, :, :]
        return np.einsum("mnp,mnp->mn", cos_psi, Y.real) + 1j * np.einsum("mnp,mnp->mn", cos_psi, Y.imag)
    if polarization == "mkl":
        cos_psi = np.cos(2.0 * np.pi * rng.random((n_rx, p)))
        return (arr * cos_psi) @ dep.T
    if polarization == "kl":
        cos_psi = np.cos(2.0 * np.pi * rng.random(p))
        return (arr * cos_psi) @ dep.T
    raise ValueError(f"polarization must be one of 'mnkl', 'mkl', 'kl', got {polarization!r}")


def effective_channel(
    H_BU: NDArray[np.complex128],
    H_RU: NDArray[np.complex128],
    H_BR: NDArray[np.complex128],
    phi: NDArray[np.complex128],
) -> NDArray[np.complex128]:
    """Effective downlink channel ``H_eff,k(phi) = H_BU,k + H_RU,k diag(phi) H_BR`` (rar spec eq. (3)).

    Args:
        H_BU: ``[..., K, M, Nt]`` direct BS -> receiver channels.
        H_RU: ``[..., K, M, N]`` RIS -> receiver channels.
        H_BR: ``[..., N, Nt]`` BS -> RIS channel.
        phi: ``[..., N]`` RIS reflection coefficients.

    Returns:
        complex128 ``[..., K, M, Nt]``. Works for single-antenna users with ``M = 1``.
    """
    cascaded = phi[..., :, None] * H_BR  # [..., N, Nt]
    K, M, N = H_RU.shape[-3:]
    H = H_RU.reshape(*H_RU.shape[:-3], K * M, N) @ cascaded  # one BLAS call per batch element
    return H_BU + H.reshape(*H.shape[:-2], K, M, H.shape[-1])
