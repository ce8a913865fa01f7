"""Uniform linear array steering vectors and their angle derivatives.

Convention (rar_isac spec section 8.3, robust_isac spec section 2.1): half-wavelength ULA,
0-indexed elements ``n = 0..n_elem-1``,

    a(theta)[n] = exp(sign * j * pi * n * sin(theta)) / norm,

with ``sign = -1`` for the RAR paper (Liu et al.'s code) and ``sign = +1`` for the robust paper.
``norm`` is ``sqrt(n_elem)`` when ``normalize`` is true, else 1.
The derivative is ``da/dtheta = sign * j * pi * cos(theta) * n * a(theta)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import abs2, as_complex, as_real, expj, namespace

__all__ = ["array_pattern", "steering_vector", "steering_vector_derivative"]


def _phase_ramp(xp: Any, theta: ArrayLike, n_elem: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    theta = as_real(theta, xp)
    n = xp.arange(n_elem, dtype=theta.dtype, device=None if xp is np else theta.device)
    return theta[..., None], n


def steering_vector(
    theta: ArrayLike, n_elem: int, *, normalize: bool = False, sign: float = -1.0
) -> NDArray[np.complex128]:
    """ULA steering vector ``a(theta)``.

    Args:
        theta: angle(s) in radians, any shape ``[...]`` (NumPy or torch; a float32 tensor gives
            complex64).
        n_elem: number of array elements.
        normalize: divide by ``sqrt(n_elem)`` (BS side in the RAR paper).
        sign: sign of the phase progression (-1: RAR paper, +1: robust paper).

    Returns:
        complex ``[..., n_elem]`` (complex128 on NumPy).
    """
    xp = namespace(theta)
    th, n = _phase_ramp(xp, theta, n_elem)
    a = expj(xp, sign * np.pi * n * xp.sin(th))  # = exp(j sign pi n sin(theta)), fast on torch
    if normalize:
        a = a / np.sqrt(n_elem)
    return a


def steering_vector_derivative(
    theta: ArrayLike, n_elem: int, *, normalize: bool = False, sign: float = -1.0
) -> NDArray[np.complex128]:
    """Angle derivative ``da(theta)/dtheta``, complex ``[..., n_elem]`` (per radian; NumPy or torch)."""
    xp = namespace(theta)
    th, n = _phase_ramp(xp, theta, n_elem)
    a = steering_vector(th[..., 0], n_elem, normalize=normalize, sign=sign)
    return 1j * sign * np.pi * xp.cos(th) * n * a


def array_pattern(
    theta: ArrayLike, weights: ArrayLike, *, normalize: bool = False, sign: float = -1.0
) -> NDArray[np.float64]:
    """Far-field power pattern of an array with element excitations ``weights``.

    ``P[..., i, s] = |a(theta_i)^T w_s|^2`` with ``a`` from :func:`steering_vector` (plain
    transpose; the Hermitian form ``|a(theta)^H w|^2`` is the same call with ``-sign``, since
    ``conj(a(theta; sign)) = a(theta; -sign)``).

    Args:
        theta: angle grid (rad), ``[A]`` (or broadcastable against the batch as ``[..., A]``);
            a NumPy grid is converted to the backend of ``weights``.
        weights: excitations ``[..., n_elem, S]`` (e.g. a precoder ``W`` ``[..., Nt, K]``: one
            pattern per stream), any amplitude unit ``u``.
        normalize: use the ``1/sqrt(n_elem)``-normalised steering vector.
        sign: phase-progression sign of :func:`steering_vector`.

    Returns:
        real ``[..., A, S]`` in ``u^2`` (W for a precoder in sqrt(W)), NumPy (float64) or torch.
    """
    xp = namespace(weights)
    w = as_complex(weights, xp)
    a = steering_vector(as_real(theta, xp, w), w.shape[-2], normalize=normalize, sign=sign)  # [..., A, n]
    return abs2(a @ w)  # [..., A, S]
