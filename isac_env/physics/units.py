"""Unit conversions: decibels, dBm and watts.

All functions are elementwise and accept scalars or arrays of any shape, NumPy (float64) or torch
(the tensor's precision, differentiable).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import as_real, namespace

__all__ = ["db_to_lin", "dbm_to_w", "lin_to_db", "w_to_dbm"]


def db_to_lin(x_db: ArrayLike | Any) -> NDArray[np.float64]:
    """Power ratio in dB -> linear power ratio, ``10**(x/10)``."""
    xp = namespace(x_db)
    return xp.pow(10.0, as_real(x_db, xp) / 10.0)


def lin_to_db(x: ArrayLike | Any) -> NDArray[np.float64]:
    """Linear power ratio -> dB, ``10 log10(x)`` (``-inf`` for 0)."""
    xp = namespace(x)
    x = as_real(x, xp)
    zero = x == 0
    out = xp.where(zero, -xp.inf, 10.0 * xp.log10(xp.where(zero, 1.0, x)))
    return out[()] if xp is np else out  # NumPy: a scalar for scalar input, as np.log10 gives


def dbm_to_w(p_dbm: ArrayLike | Any) -> NDArray[np.float64]:
    """Power in dBm -> watts (30 dBm = 1 W)."""
    xp = namespace(p_dbm)
    return db_to_lin(as_real(p_dbm, xp) - 30.0)


def w_to_dbm(p_w: ArrayLike | Any) -> NDArray[np.float64]:
    """Power in watts -> dBm."""
    return lin_to_db(p_w) + 30.0
