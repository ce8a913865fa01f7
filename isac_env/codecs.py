"""Pure action <-> design codecs shared by the environments, the vector env and the baselines.

A baseline encodes its solution with the same functions the environment decodes with, so a design
played through an environment yields exactly the metrics the baseline computed.

Precoder part (``Box(-1, 1)`` of size ``2 Nt K``): ``a = [Re vec(W), Im vec(W)]`` (row-major
``Nt x K``). The decode is scale-invariant: ``W`` is rescaled to the requested transmit power
``||W||_F^2 = power_w``; an all-zero vector decodes to the equal-power precoder
``sqrt(power_w / (Nt K))``. Any finite value is accepted (nothing is clipped), whatever its
magnitude (1e-300 and 1e300 decode like 1): see :func:`decode_precoder`.

Phase part: continuous ``phi = exp(j pi a)`` (2-periodic in ``a``, wrapped into ``(-1, 1]`` before
the exponential so any finite ``a`` is valid; encode returns
``angle(phi)/pi`` in ``(-1, 1]``); discrete ``phi = exp(j 2 pi i / 2**b)`` for level indices ``i``;
``quantize`` maps a continuous ``a`` to the nearest b-bit level.

Observation helpers: :func:`cplx_features` (``[Re, Im]`` of a normalised complex array, clipped to
``[-OBS_BOUND, OBS_BOUND]``), shared by every environment's observation encoder.
All functions accept leading batch axes.

Backends: every function takes NumPy arrays (the reference: float64/complex128, results unchanged)
or torch tensors (CPU or CUDA; the result keeps the tensor's device and precision, float32 actions
decode to complex64 designs). On torch nothing synchronises with the host unless asked: the value
checks of :func:`check_finite_action` / :func:`split_action` (finiteness, phase indices on the grid)
need one device-to-host transfer each and run only with ``check_values=True``; shapes and dtypes are
always checked.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .physics._xp import angle, einsum, is_numpy, namespace
from .physics.ris import phases_from_indices, quantize_indices

#: Observations are clipped to [-OBS_BOUND, OBS_BOUND] (normalised features are O(1); the bound only
#: matters for degenerate designs, e.g. log10 of an infinite CRB).
OBS_BOUND = 100.0

__all__ = [
    "OBS_BOUND",
    "action_space",
    "check_action",
    "check_finite_action",
    "cplx_features",
    "decode_phases",
    "decode_precoder",
    "encode_phases",
    "encode_precoder",
    "power_floor",
    "split_action",
    "wrap_phase_action",
]


def _is_tensor(a: Any) -> bool:
    """``True`` for a torch tensor (never imports torch)."""
    return array_api_compat.is_torch_array(a)


def _check_tensor_action(a: Any, shape: tuple[int, ...], name: str, check_values: bool, dtype: Any) -> Any:
    """torch branch of :func:`check_finite_action` (same checks; values only with ``check_values``)."""
    import torch

    if a.is_complex():
        raise ValueError(f"{name} must be a real numeric tensor of shape {shape}, got dtype {a.dtype}")
    if dtype is None:
        dtype = a.dtype if a.is_floating_point() else torch.float64
    arr = a.to(dtype)
    if tuple(arr.shape[arr.ndim - len(shape) :]) != shape or arr.ndim < len(shape):
        raise ValueError(f"{name} must have shape {shape} (trailing), got {tuple(arr.shape)}")
    if check_values and not bool(torch.isfinite(arr).all()):
        raise ValueError(f"{name} contains NaN or inf entries")
    return arr


def check_finite_action(
    a: ArrayLike,
    shape: tuple[int, ...],
    name: str = "action",
    *,
    check_values: bool = True,
    dtype: Any = None,
) -> NDArray[np.float64]:
    """Return ``a`` as float64 after checking its type, trailing shape and finiteness.

    Accepts bool, integer and floating arrays (or nested lists of them); strings, complex numbers,
    ``None`` and other objects are rejected. A torch tensor stays a tensor on its device, as
    ``dtype`` (default: its own floating dtype, float64 for integer and bool tensors); its
    finiteness is checked only with ``check_values=True`` (one host synchronisation).

    Raises:
        ValueError: not a real numeric array, wrong shape, or NaN/inf entries.
    """
    if _is_tensor(a):
        return _check_tensor_action(a, shape, name, check_values, dtype)
    try:
        arr0 = np.asarray(a)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array of shape {shape}, got {type(a).__name__}") from None
    if arr0.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array of shape {shape}, got dtype {arr0.dtype}")
    arr = arr0.astype(np.float64, copy=False)
    if arr.shape[arr.ndim - len(shape) :] != shape or arr.ndim < len(shape):
        raise ValueError(f"{name} must have shape {shape} (trailing), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf entries")
    return arr


def check_action(
    a: ArrayLike,
    shape: tuple[int, ...],
    name: str = "action",
    *,
    check_values: bool = True,
    dtype: Any = None,
) -> NDArray[np.float64]:
    """:func:`check_finite_action` with the exact ``shape`` (no extra leading axes).

    Raises:
        ValueError: wrong shape, or NaN/inf entries.
    """
    arr = check_finite_action(a, shape, name, check_values=check_values, dtype=dtype)
    if arr.ndim != len(shape):
        raise ValueError(f"{name} must have shape {shape}, got {tuple(arr.shape)}")
    return arr


def cplx_parts(x: ArrayLike, scale: ArrayLike, batch_ndim: int = 0) -> list[Any]:
    """``[Re, Im]`` of ``x / scale``, each flattened over the trailing axes (not clipped): the two
    halves of :func:`cplx_features`, for callers that concatenate several feature blocks at once.

    Returns:
        two real arrays ``[*batch, size]`` (float64 for NumPy, the tensor's real dtype for torch).
    """
    xp = namespace(x, scale)
    z = np.asarray(np.divide(x, scale)) if is_numpy(xp) else x / scale
    shape = (*z.shape[:batch_ndim], -1)
    return [xp.reshape(xp.real(z), shape), xp.reshape(xp.imag(z), shape)]


def cplx_features(x: ArrayLike, scale: ArrayLike, batch_ndim: int = 0) -> NDArray[np.float64]:
    """Observation features ``[Re, Im]`` of ``x / scale``, flattened over the trailing axes and clipped.

    Args:
        x: complex array ``[*batch, ...]`` (NumPy or torch).
        scale: normalisation, broadcastable to ``x`` (e.g. the path-loss amplitude).
        batch_ndim: number of leading batch axes kept.

    Returns:
        real ``[*batch, 2 * size]`` in ``[-OBS_BOUND, OBS_BOUND]`` (float64 for NumPy, the tensor's real
        dtype for torch): all real parts, then all imaginary parts (row-major).
    """
    xp = namespace(x, scale)
    return xp.clip(xp.concat(cplx_parts(x, scale, batch_ndim), axis=-1), -OBS_BOUND, OBS_BOUND)


def power_floor(xp: Any, x: Any) -> float:
    """Floor of a power (W) inside a logarithm: 1e-300 (float64) or, for float32 tensors, the smallest
    normal float32 (1.2e-38 W, -349 dBm), where 1e-300 would round to 0."""
    return 1e-300 if is_numpy(xp) or x.dtype != xp.float32 else float(np.finfo(np.float32).tiny)


#: precoder actions whose max-abs entry lies outside this range are first divided by it, so the
#: sum of squares can neither overflow nor underflow; well-scaled actions skip the division and
#: decode bit-identically to the plain formula.
_SAFE_PEAK = (1e-100, 1e100)
#: the same range for float32 actions (torch): squares of up to 1e8 entries stay finite and normal
_SAFE_PEAK_32 = (1e-15, 1e15)


def _fmod(xp: Any, a: Any, d: float) -> Any:
    """Exact ``fmod(a, d)`` (sign of ``a``; not in the array API standard)."""
    if is_numpy(xp):
        return np.fmod(a, d)
    import torch

    return torch.fmod(a, d)


def _as_real_tensor(a: Any, like: Any) -> Any:
    """A torch action ``a`` as a floating tensor (``like``'s real dtype when ``a`` is not floating)."""
    if a.is_floating_point():
        return a
    import torch

    dt = like.dtype if _is_tensor(like) and like.is_floating_point() else torch.float64
    return a.to(dt)


def decode_precoder(a: NDArray[np.float64], Nt: int, K: int, power_w: ArrayLike) -> NDArray[np.complex128]:
    """Box action ``[..., 2 Nt K]`` -> precoder ``W`` ``[..., Nt, K]`` with ``||W||_F^2 = power_w``.

    Scale-safe for every finite action: a row whose largest entry ``m = max |a_i|`` is outside
    ``[1e-100, 1e100]`` (``[1e-15, 1e15]`` for float32 tensors) is decoded as ``a / m`` (the decode is
    scale-invariant), so no square overflows or underflows. An all-zero row decodes to the
    equal-power precoder. On torch the rescaling and the zero case are branch-free (no host sync).

    Args:
        a: finite real ``[..., 2 Nt K]`` (``[Re vec W, Im vec W]``, row-major ``Nt x K``): NumPy
            (cast to float64) or torch (float32 gives complex64 ``W``, float64 complex128).
        Nt, K: precoder dimensions.
        power_w: transmit power (W), broadcastable to ``a.shape[:-1]``.

    Returns:
        ``W`` complex ``[..., Nt, K]`` (complex128 for NumPy).
    """
    xp = namespace(a, power_w)
    numpy = is_numpy(xp)
    if numpy:
        a = np.asarray(a, dtype=np.float64)
        pw = np.asarray(power_w, dtype=np.float64)
        lo, hi = _SAFE_PEAK
    else:
        a = _as_real_tensor(a, power_w)
        pw = (
            power_w.to(a.dtype)
            if _is_tensor(power_w)
            else xp.asarray(power_w, dtype=a.dtype, device=a.device)
        )
        lo, hi = _SAFE_PEAK_32 if a.dtype == xp.float32 else _SAFE_PEAK
    n = Nt * K
    peak = xp.max(xp.abs(a), axis=-1)
    rescale = (peak > 0.0) & ((peak < lo) | (peak > hi))
    if not numpy:  # branch-free: dividing by 1 is exact
        a = a / xp.where(rescale, peak, xp.ones_like(peak))[..., None]
    elif rescale.any():
        a = a / np.where(rescale, peak, 1.0)[..., None]
    W = xp.reshape(a[..., :n] + 1j * a[..., n:], (*a.shape[:-1], Nt, K))
    norm2 = einsum(xp, "...i,...i->...", a, a)
    zero = norm2 == 0.0
    scale = xp.sqrt(pw / (norm2 + zero))[..., None, None]
    if not numpy:
        W = xp.where(zero[..., None, None], xp.full_like(W, 1.0 / np.sqrt(n)), W)
    elif zero.any():  # all-zero action: equal power on every entry
        W = np.where(zero[..., None, None], 1.0 / np.sqrt(n), W)
    return W * scale


def encode_precoder(W: ArrayLike) -> NDArray[np.float64]:
    """Precoder ``[..., Nt, K]`` -> Box action ``[..., 2 Nt K]`` in ``[-1, 1]`` (max-abs scaled).

    NumPy (float64) or torch (the real dtype of ``W``)."""
    xp = namespace(W)
    if is_numpy(xp):
        W = np.asarray(W, dtype=np.complex128)
    flat = xp.reshape(W, (*W.shape[:-2], -1))
    a = xp.concat([xp.real(flat), xp.imag(flat)], axis=-1)
    peak = xp.max(xp.abs(a), axis=-1, keepdims=True)
    return a / xp.where(peak > 0, peak, xp.ones_like(peak))


def wrap_phase_action(a: ArrayLike) -> NDArray[np.float64]:
    """Continuous phase action ``[...]`` wrapped into ``(-1, 1]`` (period 2), float64 (NumPy) or the
    tensor's dtype (torch).

    Entries already in ``[-1, 1]`` are returned unchanged (bit-identical); the others are reduced
    with the exact ``fmod(a, 2)``, so ``exp(j pi a)`` stays finite for any finite ``a`` (``pi * 1e308``
    would overflow to ``inf``). NumPy skips the reduction when no entry needs it; torch always
    computes it (no host sync).
    """
    xp = namespace(a)
    if is_numpy(xp):
        a = np.asarray(a, dtype=np.float64)
    big = xp.abs(a) > 1.0
    if is_numpy(xp) and not np.any(big):
        return a
    r = _fmod(xp, a, 2.0)  # exact, in (-2, 2)
    r = xp.where(r > 1.0, r - 2.0, xp.where(r <= -1.0, r + 2.0, r))
    return xp.where(big, r, a)


def _exp_j_pi(xp: Any, a: Any) -> Any:
    """``exp(j pi a)`` of a real array: NumPy's complex ``exp`` (the reference, unchanged); on torch
    ``cos + j sin`` of ``pi a`` (the same values, about 10x faster than torch's complex ``exp`` on CPU)."""
    if is_numpy(xp):
        return np.exp(1j * np.pi * a)
    import torch

    theta = np.pi * a
    return torch.complex(torch.cos(theta), torch.sin(theta))


def _match_precision(xp: Any, phi: Any, a: Any) -> Any:
    """torch: ``phi`` in the complex dtype of ``a``'s precision (the level helpers may return complex128)."""
    if is_numpy(xp) or not a.is_floating_point():
        return phi
    want = xp.complex64 if a.dtype == xp.float32 else xp.complex128
    return phi if phi.dtype == want else phi.to(want)


def decode_phases(a: ArrayLike, bits: int = 0, mode: str = "continuous") -> NDArray[np.complex128]:
    """Phase action -> unit-modulus RIS vector ``phi`` ``[..., N]``.

    Args:
        a: continuous action ``[..., N]`` (``mode`` "continuous"/"quantize") or integer level
            indices (``mode`` "discrete"); NumPy (complex128 result) or torch (complex64 for float32
            ``a``, complex128 otherwise).
        bits: phase resolution b (``mode`` "discrete"/"quantize").
        mode: "continuous" (``exp(j pi a)``), "quantize" (nearest b-bit level of ``exp(j pi a)``)
            or "discrete" (``exp(j 2 pi a / 2**b)``).
    """
    xp = namespace(a)
    if mode == "continuous":
        return _exp_j_pi(xp, wrap_phase_action(a))
    if mode == "quantize":
        phi = phases_from_indices(quantize_indices(_exp_j_pi(xp, wrap_phase_action(a)), bits), bits)
        return _match_precision(xp, phi, a)
    if mode == "discrete":
        return _match_precision(xp, phases_from_indices(a, bits), a)
    raise ValueError(f"mode must be 'continuous', 'quantize' or 'discrete', got {mode!r}")


def encode_phases(phi: ArrayLike, bits: int = 0, mode: str = "continuous") -> NDArray:
    """Inverse of :func:`decode_phases`: ``angle(phi)/pi`` in ``(-1, 1]`` or level indices (int64)."""
    xp = namespace(phi)
    if is_numpy(xp):
        phi = np.asarray(phi, dtype=np.complex128)
    if mode == "discrete":
        return quantize_indices(phi, bits)
    if mode == "quantize":
        return encode_phases(phases_from_indices(quantize_indices(phi, bits), bits))
    if mode == "continuous":
        return angle(xp, phi) / np.pi
    raise ValueError(f"mode must be 'continuous', 'quantize' or 'discrete', got {mode!r}")


def split_action(
    action: Any,
    n_w: int,
    N: int,
    bits: int,
    phase_mode: str,
    batch_shape: tuple[int, ...] = (),
    *,
    check_values: bool = True,
    dtype: Any = None,
) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
    """Validate an env action and split it into its precoder part and the decoded RIS phases.

    Args:
        action: ``Box`` action ``[*batch, n_w + N]`` or, for ``phase_mode="discrete"``, a dict with
            ``"precoder"`` ``[*batch, n_w]`` and integer level indices ``"phases"`` ``[*batch, N]``
            (NumPy arrays / lists, or torch tensors).
        n_w: length of the precoder part (task-specific: e.g. ``2 Nt K`` or ``2 Nt K + 1``).
        N: number of RIS elements.
        bits: phase resolution b (``phase_mode`` "discrete"/"quantize").
        phase_mode: "continuous", "quantize" or "discrete" (see :func:`decode_phases`).
        batch_shape: expected leading axes.
        check_values: torch only: also check finiteness and that phase indices lie on the grid
            (one host synchronisation each); NumPy inputs are always checked.
        dtype: torch only: real dtype the action is cast to (e.g. ``torch.float32`` for a complex64
            environment); default the tensor's own floating dtype (float64 for integers).

    Returns:
        ``(a_w [*batch, n_w] float64, phi [*batch, N] complex128)`` for NumPy; torch tensors of the
        action's (or ``dtype``'s) precision on the action's device for torch.

    Raises:
        ValueError: wrong structure or shape, non-finite entries, phase indices off the grid.
    """
    kw = {"check_values": check_values, "dtype": dtype}
    if phase_mode == "discrete":
        if not isinstance(action, dict) or set(action) != {"precoder", "phases"}:
            raise ValueError("action must be a dict with keys 'precoder' and 'phases'")
        a_w = check_action(action["precoder"], (*batch_shape, n_w), "action['precoder']", **kw)
        idx = check_action(action["phases"], (*batch_shape, N), "action['phases']", **kw)
        if is_numpy(namespace(idx)) or check_values:
            bad = (idx != idx.round()) | (idx < 0) | (idx >= 2**bits)
            if bool(bad.any()):
                raise ValueError(f"action['phases'] must be integers in [0, {2**bits - 1}]")
        return a_w, decode_phases(idx, bits, "discrete")
    a = check_action(action, (*batch_shape, n_w + N), "action", **kw)
    return a[..., :n_w], decode_phases(a[..., n_w:], bits, phase_mode)


def action_space(n_w: int, N: int, bits: int, phase_mode: str) -> Any:
    """The Gymnasium action space that :func:`split_action` reads.

    ``Box(-1, 1, (n_w + N,), float32)`` for continuous or quantized phases;
    ``Dict(precoder=Box(-1, 1, (n_w,)), phases=MultiDiscrete([2**bits] * N))`` for discrete phases.
    Gymnasium is imported here, not at module import, so the codecs stay usable without it.
    """
    from gymnasium import spaces

    if phase_mode == "discrete":
        return spaces.Dict(
            {
                "precoder": spaces.Box(-1.0, 1.0, (n_w,), np.float32),
                "phases": spaces.MultiDiscrete(np.full(N, 2**bits, dtype=np.int64)),
            }
        )
    return spaces.Box(-1.0, 1.0, (n_w + N,), np.float32)
