"""Array-namespace helpers: one physics source for NumPy and torch (Python array API standard).

Every physics function gets its namespace from its array inputs, ``xp = namespace(H_RU, W, phi)``,
and then uses only array-API calls plus the few extensions collected here (``einsum``, ``angle``,
``abs2``, dtype and device helpers), so the same code runs on

* NumPy (the default and the reference): ``namespace`` returns the plain :mod:`numpy` module, whose
  main namespace follows the standard since NumPy 2.0, so the NumPy path pays no wrapper overhead and
  keeps today's results;
* torch (CPU or CUDA, complex64 or complex128, differentiable by autograd): ``array_api_compat.torch``.

Python scalars, ``None`` and NumPy scalars never decide the namespace: a torch tensor among the
inputs wins, and inputs with no array at all give NumPy. torch is imported only where a torch
tensor is passed (``array_api_compat`` inspects the object's type, it imports nothing).
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "abs2",
    "angle",
    "asarray_like",
    "complex_dtype",
    "device_of",
    "einsum",
    "is_numpy",
    "is_torch",
    "namespace",
    "real_dtype",
]

_SCALARS = (bool, int, float, complex, str, np.generic)


def namespace(*xs: Any) -> Any:
    """The array namespace of the array arguments (``None``, Python and NumPy scalars ignored).

    Returns:
        :mod:`numpy` for NumPy arrays or when no argument is an array; ``array_api_compat.torch``
        when any argument is a torch tensor (NumPy arrays mixed with torch tensors are then
        treated as constants that the caller converts with :func:`asarray_like`).
    """
    for x in xs:
        if x is None or isinstance(x, (*_SCALARS, np.ndarray, list, tuple)):
            continue
        if array_api_compat.is_torch_array(x):
            import array_api_compat.torch as xp_torch

            return xp_torch
        return array_api_compat.array_namespace(x)
    return np


def is_numpy(xp: Any) -> bool:
    """``True`` for NumPy (plain or ``array_api_compat.numpy``)."""
    return xp is np or array_api_compat.is_numpy_namespace(xp)


def is_torch(xp: Any) -> bool:
    """``True`` for ``array_api_compat.torch`` (or the torch module itself)."""
    return array_api_compat.is_torch_namespace(xp)


def device_of(x: Any) -> Any:
    """The device of an array (``"cpu"`` for NumPy arrays and scalars)."""
    if isinstance(x, _SCALARS) or x is None:
        return "cpu"
    return array_api_compat.device(x)


def real_dtype(xp: Any, x: Any) -> Any:
    """The real floating dtype that matches ``x``'s precision (float32 for complex64/float32,
    float64 otherwise, including integer and NumPy inputs)."""
    dt = getattr(x, "dtype", None)
    if dt in (xp.float32, xp.complex64):
        return xp.float32
    return xp.float64


def complex_dtype(xp: Any, x: Any) -> Any:
    """The complex dtype that matches ``x``'s precision (complex64 or complex128)."""
    return xp.complex64 if real_dtype(xp, x) == xp.float32 else xp.complex128


def asarray_like(value: Any, like: Any, *, xp: Any = None, dtype: Any = None, complex_: bool = False) -> Any:
    """``value`` (scalar, list, NumPy or backend array) as an array of ``like``'s namespace and device.

    Args:
        value: what to convert.
        like: a reference array (its namespace, device and precision are used).
        xp: the namespace, if already known (saves a lookup).
        dtype: explicit dtype; by default the real (or, with ``complex_``, complex) dtype of
            ``like``'s precision.
        complex_: pick the complex dtype of ``like``'s precision when ``dtype`` is None.
    """
    xp = namespace(like) if xp is None else xp
    if dtype is None:
        dtype = complex_dtype(xp, like) if complex_ else real_dtype(xp, like)
    if is_numpy(xp):
        return np.asarray(value, dtype=dtype)
    if array_api_compat.is_torch_array(value):
        return value.to(device=like.device, dtype=dtype)
    return xp.asarray(np.asarray(value), dtype=dtype, device=device_of(like))


def einsum(xp: Any, subscripts: str, *operands: Any) -> Any:
    """``einsum`` of the namespace (NumPy's and torch's; not part of the array API standard)."""
    if is_numpy(xp):
        return np.einsum(subscripts, *operands)
    import torch

    return torch.einsum(subscripts, *operands)


def angle(xp: Any, z: Any) -> Any:
    """Argument ``atan2(Im z, Re z)`` in ``(-pi, pi]`` (NumPy's ``angle``; real input gives 0 or pi)."""
    if is_numpy(xp):
        return np.angle(z)
    if not xp.isdtype(z.dtype, "complex floating"):
        return xp.atan2(xp.zeros_like(z), z)
    return xp.atan2(xp.imag(z), xp.real(z))


def abs2(z: Any) -> Any:
    """``|z|^2`` elementwise as a real array, without a square root (differentiable at 0)."""
    if array_api_compat.is_torch_array(z):
        return z.real**2 + z.imag**2 if z.is_complex() else z * z
    if np.iscomplexobj(z):
        return z.real**2 + z.imag**2
    return z * z
