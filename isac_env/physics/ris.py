"""RIS phase helpers: unit-modulus projection, b-bit quantization, polygon projection.

Phase convention: the RIS reflection vector ``phi`` (complex, ``|phi_n| = 1``). A b-bit RIS uses the
``2**b`` levels ``{0, 2pi/2**b, ...}`` (robust_isac spec eq. (1)).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "phase_levels",
    "phases_from_indices",
    "project_polygon",
    "project_unit_modulus",
    "quantize_indices",
    "quantize_phases",
]


def project_unit_modulus(x: ArrayLike) -> NDArray[np.complex128]:
    """Nearest unit-modulus vector: ``exp(j angle(x))`` elementwise (zeros map to 1)."""
    x = np.asarray(x, dtype=np.complex128)
    return np.exp(1j * np.angle(x))


def phase_levels(bits: int) -> NDArray[np.float64]:
    """The ``2**bits`` phase levels in radians, ``[0, 2pi)``."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    m = 2**bits
    return 2.0 * np.pi * np.arange(m) / m


def quantize_indices(phi: ArrayLike, bits: int) -> NDArray[np.int64]:
    """Index of the nearest b-bit level for each phase of ``phi`` (robust spec mapping (39)).

    Args:
        phi: complex array ``[...]`` (only the angle is used).
        bits: phase resolution b >= 1.

    Returns:
        int64 array ``[...]`` with values in ``0..2**bits-1``.
    """
    m = 2**bits
    ang = np.mod(np.angle(np.asarray(phi, dtype=np.complex128)), 2.0 * np.pi)
    return np.mod(np.floor(ang * m / (2.0 * np.pi) + 0.5), m).astype(np.int64)


def phases_from_indices(idx: ArrayLike, bits: int) -> NDArray[np.complex128]:
    """Unit-modulus phases ``exp(j 2 pi idx / 2**bits)`` for level indices ``idx``."""
    m = 2**bits
    return np.exp(2j * np.pi * np.asarray(idx, dtype=np.float64) / m)


def quantize_phases(phi: ArrayLike, bits: int) -> NDArray[np.complex128]:
    """Nearest point of the b-bit set ``V`` to each phase (mapping (39))."""
    return phases_from_indices(quantize_indices(phi, bits), bits)


def project_polygon(x: ArrayLike, bits: int) -> NDArray[np.complex128]:
    """Euclidean projection onto ``conv(V)``, the regular ``2**bits``-gon (robust spec (47)).

    For ``bits == 1`` the hull is the real segment ``[-1, 1]``.
    """
    x = np.asarray(x, dtype=np.complex128)
    m = 2**bits
    if m == 2:
        return np.clip(x.real, -1.0, 1.0).astype(np.complex128)
    sector = np.floor(m * np.mod(np.angle(x), 2.0 * np.pi) / (2.0 * np.pi))
    sector = np.minimum(sector, m - 1)
    rot = np.exp(1j * (2.0 * sector + 1.0) * np.pi / m)
    y = x * np.conj(rot)
    c, s = np.cos(np.pi / m), np.sin(np.pi / m)
    return rot * (np.minimum(y.real, c) + 1j * np.clip(y.imag, -s, s))
