"""Unit conversions: decibels, dBm and watts.

All functions are elementwise and accept scalars or arrays of any shape.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["db_to_lin", "dbm_to_w", "lin_to_db", "w_to_dbm"]


def db_to_lin(x_db: ArrayLike) -> NDArray[np.float64]:
    """Power ratio in dB -> linear power ratio, ``10**(x/10)``."""
    return np.power(10.0, np.asarray(x_db, dtype=np.float64) / 10.0)


def lin_to_db(x: ArrayLike) -> NDArray[np.float64]:
    """Linear power ratio -> dB, ``10 log10(x)`` (``-inf`` for 0)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(x, dtype=np.float64))


def dbm_to_w(p_dbm: ArrayLike) -> NDArray[np.float64]:
    """Power in dBm -> watts (30 dBm = 1 W)."""
    return db_to_lin(np.asarray(p_dbm, dtype=np.float64) - 30.0)


def w_to_dbm(p_w: ArrayLike) -> NDArray[np.float64]:
    """Power in watts -> dBm."""
    return lin_to_db(p_w) + 30.0
