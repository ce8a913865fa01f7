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
    "ndtri",
    "real_dtype",
    "to_backend",
]

_SCALARS = (bool, int, float, complex, str, np.generic)
#: argument types that never decide the namespace (an exact-type set lookup first: the hot path)
_NUMPY_SIDE = frozenset({np.ndarray, float, int, complex, bool, str, list, tuple, type(None), np.float64})
_NUMPY_SIDE_BASES = (*_SCALARS, np.ndarray, list, tuple)


def namespace(*xs: Any) -> Any:
    """The array namespace of the array arguments (``None``, Python and NumPy scalars ignored).

    Returns:
        :mod:`numpy` for NumPy arrays or when no argument is an array; ``array_api_compat.torch``
        when any argument is a torch tensor (NumPy arrays mixed with torch tensors are then
        treated as constants that the caller converts with :func:`asarray_like`).
    """
    for x in xs:
        if type(x) in _NUMPY_SIDE or isinstance(x, _NUMPY_SIDE_BASES):
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


def _is_single(dtype: Any) -> bool:
    """``True`` for a single-precision dtype (complex64 / float32) of NumPy or torch."""
    if type(dtype).__module__ == "torch":
        import torch

        return dtype in (torch.complex64, torch.float32)
    return np.dtype(dtype) in (np.dtype(np.complex64), np.dtype(np.float32))


def to_backend(x: Any, backend: str, *, device: Any = None, dtype: Any = None) -> Any:
    """One array (NumPy, torch or scalar) converted to ``backend`` (``"numpy"`` or ``"torch"``).

    The precision policy of the scenario ``.to()`` methods: ``dtype`` names the target precision
    as a complex dtype (NumPy's or torch's ``complex64`` / ``complex128``); complex inputs get it
    and real inputs (any non-complex dtype) the matching real dtype (``float32`` / ``float64``).
    ``dtype=None`` keeps the input's precision (float64 for integers and Python scalars).
    ``device`` (torch only; default: the tensor's own device, else ``"cpu"``). A tensor already of
    the target dtype and device is returned as is; NumPy inputs are copied into new tensors.
    Gradients are kept on a torch-to-torch conversion and dropped on a conversion to NumPy.
    """
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    if array_api_compat.is_torch_array(x):
        import torch

        is_complex = x.is_complex()
        single = _is_single(x.dtype if dtype is None else dtype)
        if backend == "numpy":
            arr = x.detach().cpu().resolve_conj().numpy()
            return _np_cast(arr, is_complex, single)
        if is_complex:
            tdt = torch.complex64 if single else torch.complex128
        else:
            tdt = torch.float32 if single else torch.float64
        return x.to(device=x.device if device is None else device, dtype=tdt)
    arr = np.asarray(x)
    is_complex = np.iscomplexobj(arr)
    single = _is_single(arr.dtype if dtype is None else dtype)
    arr = _np_cast(arr, is_complex, single)
    if backend == "numpy":
        return arr
    import torch

    return torch.from_numpy(np.array(arr, copy=True)).to(device="cpu" if device is None else device)


def _np_cast(arr: Any, is_complex: bool, single: bool) -> Any:
    """``arr`` as the NumPy complex or real dtype of the given precision (no copy when it already is)."""
    if is_complex:
        return arr.astype(np.complex64 if single else np.complex128, copy=False)
    return arr.astype(np.float32 if single else np.float64, copy=False)


def ndtri(xp: Any, p: Any) -> Any:
    """Standard normal quantile ``Phi^{-1}(p)`` of an array of the namespace (SciPy's ``ndtri`` for
    NumPy, ``torch.special.ndtri`` for torch; equal to rounding)."""
    if is_numpy(xp):
        from scipy import special

        return special.ndtri(p)
    import torch

    return torch.special.ndtri(p)


def as_real(value: Any, xp: Any, like: Any = None) -> Any:
    """``value`` as a real floating array of namespace ``xp``.

    NumPy: always float64 (the reference precision; ``np.asarray(value, dtype=float64)``).
    torch: the precision of ``like`` (default: of ``value`` itself; float64 for integers and
    non-tensors), on ``like``'s (or ``value``'s) device; a tensor of that dtype is returned as is.
    """
    if xp is np or is_numpy(xp):
        return np.asarray(value, dtype=np.float64)
    return asarray_like(value, value if like is None else like, xp=xp)


def as_complex(value: Any, xp: Any, like: Any = None) -> Any:
    """``value`` as a complex array of namespace ``xp`` (complex128 on NumPy; on torch the complex
    dtype of ``like``'s (default ``value``'s) precision), like :func:`as_real`."""
    if xp is np or is_numpy(xp):
        return np.asarray(value, dtype=np.complex128)
    return asarray_like(value, value if like is None else like, xp=xp, complex_=True)


def segment_sum(xp: Any, x: Any, starts: Any) -> Any:
    """Sums of consecutive segments of the last axis, ``out[..., i] = sum(x[..., starts[i]:starts[i+1]])``.

    ``starts`` is a NumPy int array (increasing, ``starts[0] = 0``, the last segment runs to the
    end). NumPy: ``np.add.reduceat`` (one call); torch: one sum per segment (differentiable).
    """
    if xp is np or is_numpy(xp):
        return np.add.reduceat(x, starts, axis=-1)
    bounds = [*starts.tolist(), x.shape[-1]]
    return xp.stack([xp.sum(x[..., bounds[i] : bounds[i + 1]], axis=-1) for i in range(len(starts))], axis=-1)


__all__ += ["as_complex", "as_real", "segment_sum"]


def as_param(value: Any, xp: Any, like: Any) -> Any:
    """A scalar parameter (``L``, ``sigma_r2``, ``alpha``, ...) ready for arithmetic with arrays of ``xp``.

    NumPy: returned unchanged (Python scalars, NumPy scalars and arrays all mix with NumPy arrays).
    torch: Python scalars and tensors pass through; anything else (NumPy 0-d or N-d arrays, lists)
    becomes a tensor on ``like``'s device with ``like``'s precision, complex if ``value`` is complex.
    """
    if xp is np or isinstance(value, (int, float, complex)) or array_api_compat.is_torch_array(value):
        return value
    return asarray_like(value, like, xp=xp, complex_=bool(np.iscomplexobj(value)))


__all__ += ["as_param"]


def expj(xp: Any, phase: Any) -> Any:
    """``exp(j phase)`` of a real array: NumPy ``np.exp(1j * phase)`` (complex128, bit for bit the
    complex exponential of the purely imaginary argument); torch ``complex(cos, sin)`` in the
    complex dtype of ``phase``'s precision (differentiable), several times faster on CPU than
    torch's complex ``exp``, which is not vectorised."""
    if is_numpy(xp):
        return np.exp(1j * phase)
    import torch

    return torch.complex(torch.cos(phase), torch.sin(phase))


__all__ += ["expj"]


def tall_matmul(xp: Any, A: Any, B: Any) -> Any:
    """``A @ B`` for a tall ``A`` ``[..., m, n]`` and a thin ``B`` ``[..., n, k]`` (``k`` small): the
    channel products ``H_RU @ X`` of the physics. NumPy: ``A @ B`` itself. torch on CPU:
    ``(B^T A^T)^T``, the same product, which torch's CPU kernels run 1.5-3x faster for these shapes
    (measured at ``m = 105``, ``n = 100``, ``k = 3..6``, batch 256); elsewhere ``A @ B``."""
    if is_numpy(xp) or A.device.type != "cpu":
        return A @ B
    return (B.mT @ A.mT).mT


__all__ += ["tall_matmul"]
