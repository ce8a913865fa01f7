"""Geometry, path loss and small-scale fading shared by both tasks.

RAR task: rar_isac spec sections 8.2-8.4. Robust task: robust_isac spec section 10.
Every sampler takes an explicit generator: an ``np.random.Generator`` (unbatched NumPy draws, the
reference stream) or a :class:`~isac_env.physics.random.BatchGenerator` (torch draws ``[B, ...]``,
one independent stream per row, on its device and in its precision). The sampler code is the same
for both; arrays carry the generator's batch axes ``[...]`` (none for NumPy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import abs2, as_real, expj, namespace, tall_matmul
from .arrays import steering_vector
from .random import batch_shape, cos_uniform_phase, is_batch_generator, namespace_of, row_blocks
from .units import db_to_lin

__all__ = [
    "complex_normal",
    "complex_normal_from_standard",
    "effective_channel",
    "path_loss",
    "phase_gain_quadratics",
    "rar_clustered_channel",
    "rician_channel",
]


def complex_normal(rng: Any, shape: tuple[int, ...], var: ArrayLike = 1.0) -> NDArray[np.complex128]:
    """i.i.d. circularly-symmetric complex Gaussian ``CN(0, var)`` samples of ``shape``.

    Draws ``rng.standard_normal((*shape, 2))`` and maps it with :func:`complex_normal_from_standard`.

    Args:
        rng: ``np.random.Generator`` (complex128 ``shape``) or ``BatchGenerator`` (``[B, *shape]``
            in its complex dtype; ``var`` then broadcasts against ``[B, *shape]``).
        shape: per-row shape of the draw.
        var: variance.
    """
    return complex_normal_from_standard(rng.standard_normal((*shape, 2)), var)


def complex_normal_from_standard(z: NDArray[np.float64], var: ArrayLike = 1.0) -> NDArray[np.complex128]:
    """``CN(0, var)`` samples ``sqrt(var / 2) (z[..., 0] + j z[..., 1])`` from standard normals.

    Lets a caller draw the randomness first (e.g. per generator) and fix the variance later.

    Args:
        z: float64 ``[..., 2]`` i.i.d. ``N(0, 1)`` (real, imaginary) pairs.
        var: variance, broadcastable to ``z.shape[:-1]``.

    Returns:
        complex128 ``z.shape[:-1]`` (NumPy); for a torch ``z`` the complex dtype of its precision.
    """
    xp = namespace(z)
    return xp.sqrt(as_real(var, xp, z) / 2.0) * (z[..., 0] + 1j * z[..., 1])


def path_loss(d_m: ArrayLike, exponent: ArrayLike, c0_db: float = -30.0) -> NDArray[np.float64]:
    """Large-scale power gain ``PL(d) = C0 (d / 1 m)^(-alpha)`` (linear, not dB).

    rar_isac spec section 8.3; robust_isac spec section 10 (``-30 - 10 alpha log10 d`` dB).
    NumPy (float64) or torch (the precision of ``d_m``, else of ``exponent``).
    """
    xp = namespace(d_m, exponent)
    like = d_m if namespace(d_m) is xp else exponent
    d = as_real(d_m, xp, like)
    return as_real(db_to_lin(c0_db), xp, d) * d ** (-as_real(exponent, xp, d))


def rician_channel(
    rng: Any,
    los: NDArray[np.complex128],
    k_factor: float,
    nlos_var: float,
    gain: Any = 1.0,
) -> NDArray[np.complex128]:
    """Rician channel ``gain * (sqrt(k/(k+1)) los + sqrt(1/(k+1)) nlos)``.

    Args:
        rng: ``np.random.Generator`` or ``BatchGenerator``.
        los: deterministic LoS component; with a ``BatchGenerator`` it carries the batch axes
            ``[B, ...]`` (the NLoS draw has the shape of ``los`` without them).
        k_factor: linear Rician factor; ``np.inf`` gives pure LoS, 0 pure Rayleigh.
        nlos_var: variance of the i.i.d. ``CN`` NLoS entries.
        gain: amplitude gain (``sqrt`` of the path loss), a scalar or broadcastable to ``los``.
    """
    if math.isinf(k_factor):
        return gain * los
    nlos = complex_normal(rng, tuple(los.shape[len(batch_shape(rng)) :]), nlos_var)
    return gain * (np.sqrt(k_factor / (k_factor + 1.0)) * los + np.sqrt(1.0 / (k_factor + 1.0)) * nlos)


def rar_clustered_channel(
    rng: Any,
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

    Args:
        rng: ``np.random.Generator`` (today's stream) or ``BatchGenerator`` (``B`` channels at once;
            the ``"mnkl"`` couplings then come from :func:`~isac_env.physics.random.cos_uniform_phase`).

    Returns:
        ``[..., n_rx, n_tx]`` with ``E|H_mn|^2 = 1``: complex128 (NumPy) or the generator's dtype.
    """
    xp = namespace_of(rng)
    bs = batch_shape(rng)
    p = num_clusters * num_rays
    centre_a = rng.uniform(-np.pi / 2, np.pi / 2, num_clusters)
    centre_d = rng.uniform(-np.pi / 2, np.pi / 2, num_clusters)
    th_a = centre_a[..., :, None] + rng.uniform(-ray_spread_rad, ray_spread_rad, (num_clusters, num_rays))
    th_d = centre_d[..., :, None] + rng.uniform(-ray_spread_rad, ray_spread_rad, (num_clusters, num_rays))
    delta = rng.uniform(0.0, max_delay_spread_s, ())
    tau = rng.uniform(0.0, delta[..., None], num_clusters)
    gains = (
        complex_normal(rng, (num_clusters, num_rays))
        * expj(xp, -2.0 * np.pi * carrier_hz * tau)[..., :, None]
    )
    gains = xp.reshape(gains, (*bs, p)) / np.sqrt(0.5 * p)
    arr = steering_vector(xp.reshape(th_a, (*bs, p)), n_rx).mT * gains[..., None, :]  # [..., M, P]
    dep = steering_vector(xp.reshape(th_d, (*bs, p)), n_tx).mT  # [..., Ntx, P]
    if polarization == "mnkl":
        return _polarized_paths(rng, arr, dep)
    if polarization == "mkl":
        cos_psi = xp.cos(2.0 * np.pi * rng.random((n_rx, p)))
        return (arr * cos_psi) @ dep.mT
    if polarization == "kl":
        cos_psi = xp.cos(2.0 * np.pi * rng.random(p))
        return (arr * cos_psi[..., None, :]) @ dep.mT
    raise ValueError(f"polarization must be one of 'mnkl', 'mkl', 'kl', got {polarization!r}")


# Elements (cells x transmit elements x paths) of one block of the "mnkl" couplings: bounds the
# memory of the draw and keeps it in cache. A fixed constant, so the blocks (and with them a
# BatchGenerator's stream) depend on the configuration only, never on the batch size. On CUDA,
# where a cell's phases fill whole 64-bit words (n_tx P divisible by 4), all cells form one block
# (fewer kernel launches), which draws the same numbers.
_COUPLING_BLOCK = 1 << 16


def _polarized_paths(rng: Any, arr: NDArray[np.complex128], dep: NDArray[np.complex128]) -> Any:
    """``H[..., m, n] = sum_p cos(psi_mnp) arr[..., m, p] dep[..., n, p]`` with i.i.d. uniform ``psi``.

    The couplings ``cos(psi)`` ``[M, Ntx, P]`` per row are drawn in blocks of cells (the
    ``"mnkl"`` indexing of eq. (4)); NumPy draws the blocks' float32 uniforms in the order of
    one ``rng.random((M, Ntx, P), dtype=float32)`` call (its buffered 32-bit halves make
    consecutive calls continue one stream), so the numbers are today's. A ``BatchGenerator`` is
    also split into blocks of rows (:func:`~isac_env.physics.random.row_blocks`).
    """
    xp = namespace_of(rng)
    M, P = arr.shape[-2:]
    n_tx = dep.shape[-2]
    step = max(1, _COUPLING_BLOCK // (n_tx * P))
    if (n_tx * P) % 4 == 0 and is_batch_generator(rng) and rng.device.type == "cuda":
        step = M  # whole words of phases per cell: any blocking gives the same numbers; fewer launches
    parts = []
    if not isinstance(dep, np.ndarray):  # torch: contiguous rows make the products below faster
        arr, dep = arr.contiguous(), dep.contiguous()
    for g, rows in row_blocks(rng, step * n_tx * P):
        a, d = arr[rows], dep[rows]
        cells = [
            _coupled_sum(
                cos_uniform_phase(g, (min(M, m0 + step) - m0, n_tx, P), complex_=True),
                a[..., m0 : m0 + step, :],
                d,
            )
            for m0 in range(0, M, step)
        ]
        parts.append(cells[0] if len(cells) == 1 else xp.concat(cells, axis=-2))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


def _coupled_sum(cos_psi: Any, a: Any, d: Any) -> Any:
    """The contraction ``sum_p cos_psi[..., m, n, p] a[..., m, p] d[..., n, p]`` (real weights).

    One contraction of the path products ``Y = a_mp d_np``, two kernels: NumPy keeps today's two
    float64 ``einsum`` calls over ``Re Y`` and ``Im Y`` (float32 ``cos_psi``; bit for bit the
    historical numbers); torch (whose ``einsum`` does not mix real and complex operands) takes the
    couplings as complex (``cos psi + 0j``), multiplies in place and sums over ``p``, the fastest
    of the equivalent torch forms on CPU (``d`` contiguous).
    """
    Y = a[..., :, None, :] * d[..., None, :, :]
    if isinstance(cos_psi, np.ndarray):
        return np.einsum("...mnp,...mnp->...mn", cos_psi, Y.real) + 1j * np.einsum(
            "...mnp,...mnp->...mn", cos_psi, Y.imag
        )
    Y *= cos_psi  # a fresh temporary: no autograd graph to protect
    return Y.sum(-1)


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
        complex128 ``[..., K, M, Nt]`` (NumPy or torch, the inputs' dtype). Works for single-antenna
        users with ``M = 1``.
    """
    cascaded = phi[..., :, None] * H_BR  # [..., N, Nt]
    K, M, N = H_RU.shape[-3:]
    xp = namespace(H_RU)
    H = tall_matmul(xp, H_RU.reshape(*H_RU.shape[:-3], K * M, N), cascaded)  # one BLAS call per batch element
    return H_BU + H.reshape(*H.shape[:-2], K, M, H.shape[-1])


def phase_gain_quadratics(
    H_BU: NDArray[np.complex128],
    H_RU: NDArray[np.complex128],
    H_BR: NDArray[np.complex128],
    *,
    sum_users: bool = False,
) -> tuple[NDArray[np.complex128], NDArray[np.complex128], NDArray[np.float64]]:
    """Channel gains ``||H_eff,k(phi)||_F^2`` of (3) as quadratic forms in the RIS phases (rar spec 7.2).

    ``||H_BU,k + H_RU,k diag(phi) H_BR||_F^2 = phi^H A_k phi + Re{b_k^H phi} + c0_k`` for every ``phi``
    (not only unit-modulus ones), with

    * ``A_k = (H_RU,k^H H_RU,k) o conj(H_BR H_BR^H)`` (Hadamard product; Hermitian positive semidefinite),
    * ``b_k = 2 diag(H_RU,k^H H_BU,k H_BR^H)``, i.e. ``b_k,n = 2 sum_t (H_RU,k^H H_BU,k)_nt conj(H_BR,nt)``,
    * ``c0_k = ||H_BU,k||_F^2``.

    With ``sum_users`` the forms of the sum gain ``sum_k ||H_eff,k(phi)||_F^2`` (``sum_k A_k``,
    ``sum_k b_k``, ``sum_k c0_k``), computed with the K M receive rows stacked into one product
    (one ``[N, K M] @ [K M, N]`` BLAS call per batch element instead of K).

    Args:
        H_BU: ``[..., K, M, Nt]`` direct BS -> receiver channels.
        H_RU: ``[..., K, M, N]`` RIS -> receiver channels.
        H_BR: ``[..., N, Nt]`` BS -> RIS channel.
        sum_users: return the forms of the sum over users (no K axis).

    Returns:
        ``(A, b, c0)``: complex128 ``A [..., K, N, N]``, complex128 ``b [..., K, N]`` and float64
        ``c0 [..., K]`` (NumPy or torch, the inputs' precision); ``[..., N, N]``, ``[..., N]`` and
        ``[...]`` with ``sum_users``. Differentiable by torch autograd.
    """
    xp = namespace(H_RU, H_BU, H_BR)
    if sum_users:  # the sum over k: all K M receive rows as the rows of one "user"
        K, M, N = H_RU.shape[-3:]
        H_RU = xp.reshape(H_RU, (*H_RU.shape[:-3], 1, K * M, N))
        H_BU = xp.reshape(H_BU, (*H_BU.shape[:-3], 1, K * M, H_BU.shape[-1]))
    R = H_RU.mT.conj()  # [..., K, N, M] (torch: a lazy conjugate view)
    A = (R @ H_RU) * (H_BR @ H_BR.mT.conj()).conj()[..., None, :, :]
    b = 2.0 * xp.sum((R @ H_BU) * H_BR.conj()[..., None, :, :], axis=-1)
    c0 = xp.sum(abs2(H_BU), axis=(-2, -1))
    if sum_users:
        return A[..., 0, :, :], b[..., 0, :], c0[..., 0]
    return A, b, c0
