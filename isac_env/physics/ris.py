"""RIS phase helpers: unit-modulus projection, b-bit quantization, polygon projection.

Phase convention: the RIS reflection vector ``phi`` (complex, ``|phi_n| = 1``). A b-bit RIS uses the
``2**b`` levels ``{0, 2pi/2**b, ...}`` (robust_isac spec eq. (1)).

The array functions take NumPy arrays (complex128, the reference) or torch tensors (the complex
dtype of the input's precision); :func:`phase_levels` returns NumPy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import angle, as_complex, as_real, namespace

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
    xp = namespace(x)
    return xp.exp(1j * angle(xp, as_complex(x, xp)))


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
    xp = namespace(phi)
    m = 2**bits
    ang = xp.remainder(angle(xp, as_complex(phi, xp)), 2.0 * np.pi)
    return xp.astype(xp.remainder(xp.floor(ang * m / (2.0 * np.pi) + 0.5), m), xp.int64)


def phases_from_indices(idx: ArrayLike, bits: int) -> NDArray[np.complex128]:
    """Unit-modulus phases ``exp(j 2 pi idx / 2**bits)`` for level indices ``idx`` (complex128)."""
    xp = namespace(idx)
    m = 2**bits
    return xp.exp(2j * np.pi * as_real(idx, xp) / m)


def quantize_phases(phi: ArrayLike, bits: int) -> NDArray[np.complex128]:
    """Nearest point of the b-bit set ``V`` to each phase (mapping (39)); same dtype as ``phi`` on torch."""
    xp = namespace(phi)
    q = phases_from_indices(quantize_indices(phi, bits), bits)
    return q if xp is np else xp.astype(q, as_complex(phi, xp).dtype)


def project_polygon(x: ArrayLike, bits: int) -> NDArray[np.complex128]:
    """Euclidean projection onto ``conv(V)``, the regular ``2**bits``-gon (robust spec (47)).

    For ``bits == 1`` the hull is the real segment ``[-1, 1]``.
    """
    xp = namespace(x)
    x = as_complex(x, xp)
    m = 2**bits
    if m == 2:
        return xp.astype(xp.clip(xp.real(x), -1.0, 1.0), x.dtype)
    sector = xp.floor(m * xp.remainder(angle(xp, x), 2.0 * np.pi) / (2.0 * np.pi))
    sector = xp.minimum(sector, float(m - 1))
    rot = xp.exp(1j * (2.0 * sector + 1.0) * np.pi / m)
    y = x * xp.conj(rot)
    c, s = float(np.cos(np.pi / m)), float(np.sin(np.pi / m))
    return rot * (xp.minimum(xp.real(y), c) + 1j * xp.clip(xp.imag(y), -s, s))
