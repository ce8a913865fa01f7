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
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
    "split_action",
    "wrap_phase_action",
]


def check_finite_action(a: ArrayLike, shape: tuple[int, ...], name: str = "action") -> NDArray[np.float64]:
    """Return ``a`` as float64 after checking its type, trailing shape and finiteness.

    Accepts bool, integer and floating arrays (or nested lists of them); strings, complex numbers,
    ``None`` and other objects are rejected.

    Raises:
        ValueError: not a real numeric array, wrong shape, or NaN/inf entries.
    """
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


def check_action(a: ArrayLike, shape: tuple[int, ...], name: str = "action") -> NDArray[np.float64]:
    """:func:`check_finite_action` with the exact ``shape`` (no extra leading axes).

    Raises:
        ValueError: wrong shape, or NaN/inf entries.
    """
    arr = check_finite_action(a, shape, name)
    if arr.ndim != len(shape):
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def cplx_features(x: ArrayLike, scale: ArrayLike, batch_ndim: int = 0) -> NDArray[np.float64]:
    """Observation features ``[Re, Im]`` of ``x / scale``, flattened over the trailing axes and clipped.

    Args:
        x: complex array ``[*batch, ...]``.
        scale: normalisation, broadcastable to ``x`` (e.g. the path-loss amplitude).
        batch_ndim: number of leading batch axes kept.

    Returns:
        float64 ``[*batch, 2 * size]`` in ``[-OBS_BOUND, OBS_BOUND]``: all real parts, then all
        imaginary parts (row-major).
    """
    z = np.asarray(np.divide(x, scale))
    shape = (*z.shape[:batch_ndim], -1)
    return np.clip(
        np.concatenate([z.real.reshape(shape), z.imag.reshape(shape)], axis=-1), -OBS_BOUND, OBS_BOUND
    )


#: precoder actions whose max-abs entry lies outside this range are first divided by it, so the
#: sum of squares can neither overflow nor underflow; well-scaled actions skip the division and
#: decode bit-identically to the plain formula.
_SAFE_PEAK = (1e-100, 1e100)


def decode_precoder(a: NDArray[np.float64], Nt: int, K: int, power_w: ArrayLike) -> NDArray[np.complex128]:
    """Box action ``[..., 2 Nt K]`` -> precoder ``W`` ``[..., Nt, K]`` with ``||W||_F^2 = power_w``.

    Scale-safe for every finite action: a row whose largest entry ``m = max |a_i|`` is outside
    ``[1e-100, 1e100]`` is decoded as ``a / m`` (the decode is scale-invariant), so no square
    overflows or underflows. An all-zero row decodes to the equal-power precoder.

    Args:
        a: finite float64 ``[..., 2 Nt K]`` (``[Re vec W, Im vec W]``, row-major ``Nt x K``).
        Nt, K: precoder dimensions.
        power_w: transmit power (W), broadcastable to ``a.shape[:-1]``.
    """
    a = np.asarray(a, dtype=np.float64)
    n = Nt * K
    peak = np.max(np.abs(a), axis=-1)
    rescale = (peak > 0.0) & ((peak < _SAFE_PEAK[0]) | (peak > _SAFE_PEAK[1]))
    if np.any(rescale):
        a = a / np.where(rescale, peak, 1.0)[..., None]
    W = (a[..., :n] + 1j * a[..., n:]).reshape(*a.shape[:-1], Nt, K)
    norm2 = np.einsum("...i,...i->...", a, a)
    zero = norm2 == 0.0
    scale = np.sqrt(np.asarray(power_w, dtype=np.float64) / (norm2 + zero))[..., None, None]
    if zero.any():  # all-zero action: equal power on every entry
        W = np.where(zero[..., None, None], 1.0 / np.sqrt(n), W)
    return W * scale


def encode_precoder(W: ArrayLike) -> NDArray[np.float64]:
    """Precoder ``[..., Nt, K]`` -> Box action ``[..., 2 Nt K]`` in ``[-1, 1]`` (max-abs scaled)."""
    W = np.asarray(W, dtype=np.complex128)
    flat = W.reshape(*W.shape[:-2], -1)
    a = np.concatenate([flat.real, flat.imag], axis=-1)
    peak = np.max(np.abs(a), axis=-1, keepdims=True)
    return a / np.where(peak > 0, peak, 1.0)


def wrap_phase_action(a: ArrayLike) -> NDArray[np.float64]:
    """Continuous phase action ``[...]`` wrapped into ``(-1, 1]`` (period 2), float64.

    Entries already in ``[-1, 1]`` are returned unchanged (bit-identical); the others are reduced
    with the exact ``fmod(a, 2)``, so ``exp(j pi a)`` stays finite for any finite ``a`` (``pi * 1e308``
    would overflow to ``inf``).
    """
    a = np.asarray(a, dtype=np.float64)
    big = np.abs(a) > 1.0
    if not np.any(big):
        return a
    r = np.fmod(a, 2.0)  # exact, in (-2, 2)
    r = np.where(r > 1.0, r - 2.0, np.where(r <= -1.0, r + 2.0, r))
    return np.where(big, r, a)


def decode_phases(a: ArrayLike, bits: int = 0, mode: str = "continuous") -> NDArray[np.complex128]:
    """Phase action -> unit-modulus RIS vector ``phi`` ``[..., N]``.

    Args:
        a: continuous action ``[..., N]`` (``mode`` "continuous"/"quantize") or integer level
            indices (``mode`` "discrete").
        bits: phase resolution b (``mode`` "discrete"/"quantize").
        mode: "continuous" (``exp(j pi a)``), "quantize" (nearest b-bit level of ``exp(j pi a)``)
            or "discrete" (``exp(j 2 pi a / 2**b)``).
    """
    if mode == "continuous":
        return np.exp(1j * np.pi * wrap_phase_action(a))
    if mode == "quantize":
        return phases_from_indices(quantize_indices(np.exp(1j * np.pi * wrap_phase_action(a)), bits), bits)
    if mode == "discrete":
        return phases_from_indices(a, bits)
    raise ValueError(f"mode must be 'continuous', 'quantize' or 'discrete', got {mode!r}")


def encode_phases(phi: ArrayLike, bits: int = 0, mode: str = "continuous") -> NDArray:
    """Inverse of :func:`decode_phases`: ``angle(phi)/pi`` in ``(-1, 1]`` or level indices (int64)."""
    phi = np.asarray(phi, dtype=np.complex128)
    if mode == "discrete":
        return quantize_indices(phi, bits)
    if mode == "quantize":
        return encode_phases(phases_from_indices(quantize_indices(phi, bits), bits))
    if mode == "continuous":
        return np.angle(phi) / np.pi
    raise ValueError(f"mode must be 'continuous', 'quantize' or 'discrete', got {mode!r}")


def split_action(
    action: Any, n_w: int, N: int, bits: int, phase_mode: str, batch_shape: tuple[int, ...] = ()
) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
    """Validate an env action and split it into its precoder part and the decoded RIS phases.

    Args:
        action: ``Box`` action ``[*batch, n_w + N]`` or, for ``phase_mode="discrete"``, a dict with
            ``"precoder"`` ``[*batch, n_w]`` and integer level indices ``"phases"`` ``[*batch, N]``.
        n_w: length of the precoder part (task-specific: e.g. ``2 Nt K`` or ``2 Nt K + 1``).
        N: number of RIS elements.
        bits: phase resolution b (``phase_mode`` "discrete"/"quantize").
        phase_mode: "continuous", "quantize" or "discrete" (see :func:`decode_phases`).
        batch_shape: expected leading axes.

    Returns:
        ``(a_w [*batch, n_w] float64, phi [*batch, N] complex128)``.

    Raises:
        ValueError: wrong structure or shape, non-finite entries, phase indices off the grid.
    """
    if phase_mode == "discrete":
        if not isinstance(action, dict) or set(action) != {"precoder", "phases"}:
            raise ValueError("action must be a dict with keys 'precoder' and 'phases'")
        a_w = check_action(action["precoder"], (*batch_shape, n_w), "action['precoder']")
        idx = check_action(action["phases"], (*batch_shape, N), "action['phases']")
        if np.any(idx != np.round(idx)) or np.any(idx < 0) or np.any(idx >= 2**bits):
            raise ValueError(f"action['phases'] must be integers in [0, {2**bits - 1}]")
        return a_w, decode_phases(idx, bits, "discrete")
    a = check_action(action, (*batch_shape, n_w + N), "action")
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
