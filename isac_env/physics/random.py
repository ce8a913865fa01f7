"""Counter-based random numbers for a batch of sub-environments, on any torch device.

:class:`BatchGenerator` holds one independent stream per row (sub-environment) and draws arrays with
a leading batch axis ``[B, *size]`` in one vectorised call, on CPU or CUDA, with no global RNG state.
Its method names follow :class:`numpy.random.Generator` (``random``, ``uniform``, ``standard_normal``),
so the scenario samplers of :mod:`isac_env.physics` are written once and take either generator:

* an ``np.random.Generator`` draws one unbatched scenario (NumPy arrays, today's stream);
* a :class:`BatchGenerator` draws ``B`` scenarios at once, as torch tensors on its device in its
  precision (``dtype`` complex64 / complex128, real draws float32 / float64).

Stream of row ``i`` (SplitMix64, Steele, Lea & Flood 2014, with Stafford's "mix13" finalizer):

    key_i = mix(seed_i + gamma),   word_{i,j} = mix(key_i + (j + 1) gamma),   j = 0, 1, 2, ...

with ``gamma = 0x9E3779B97F4A7C15`` and ``mix(z)``: ``z ^= z >> 30; z *= 0xBF58476D1CE4E5B9;
z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31`` (logical shifts, arithmetic mod 2^64). The
generator keeps a per-row word counter ``j``; a draw of ``n`` words reads ``j .. j + n - 1`` and
advances it, so row ``i``'s numbers depend only on ``seed_i`` and the sequence of calls, never on
``B`` or on the other rows. Every row of one call consumes the same number of words. The hash is
computed with torch int64 ops (wrap-around multiplication, masked arithmetic shifts), vectorised
over rows and elements, identically on CPU and CUDA.

Conversions (per word ``w``):

* float64 uniform ``[0, 1)``: the top 53 bits, ``(w >>> 11) 2^-53`` (one word each);
* float32 uniform ``[0, 1)``: two 24-bit values per word, ``(w >>> 40) 2^-24`` then
  ``(w & 0xFFFFFF) 2^-24``;
* standard normals by Box-Muller, in (cos, sin) pairs: ``r = sqrt(-2 ln u1)`` with ``u1 in (0, 1]``,
  ``(r cos 2 pi u2, r sin 2 pi u2)``; float64 pairs use two words (53-bit uniforms), float32 pairs
  one word (24-bit uniforms; |z| is then truncated at 5.8, a probability of 6e-8). A complex
  ``CN(0, 1)`` draw (``standard_normal((..., 2))``) is thus ``r e^{j 2 pi u2} / sqrt(2)`` exactly;
* cosines of uniform phases (:func:`cos_uniform_phase`, the RAR polarization couplings): four
  16-bit phases per word on the grid ``2 pi k / 2^16``, looked up in a table.

Subsets: ``gen.rows(idx)`` is a view drawing for rows ``idx`` only (the vector env resets only its
done sub-envs), ``gen.reseed(idx, seeds)`` restarts rows; :func:`row_blocks` splits a large draw
into row blocks to bound memory without changing any row's numbers. ``get_state``/``set_state``
save and restore the per-row counters.

torch is imported only when a :class:`BatchGenerator` is built (``import isac_env.physics`` stays
torch-free). Helper functions :func:`batch_shape`, :func:`namespace_of` and :func:`as_field` let a
sampler treat both generator kinds alike: arrays carry the generator's batch axes ``[...]`` (none
for NumPy) and the sampler code is the same for both.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "BatchGenerator",
    "as_field",
    "batch_shape",
    "cos_uniform_phase",
    "is_batch_generator",
    "namespace_of",
    "row_blocks",
]

_U64 = 1 << 64


def _s64(x: int) -> int:
    """An unsigned 64-bit constant as the int64 with the same bits."""
    x %= _U64
    return x - _U64 if x >= 1 << 63 else x


_GAMMA = _s64(0x9E3779B97F4A7C15)
_C1 = _s64(0xBF58476D1CE4E5B9)
_C2 = _s64(0x94D049BB133111EB)
_MASK24 = (1 << 24) - 1


def _mix_int(z: int) -> int:
    """SplitMix64's finalizer on a Python int (reference for the tensor version; unsigned result)."""
    z %= _U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % _U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % _U64
    return z ^ (z >> 31)


def _mix_(z: Any, tmp: Any) -> Any:
    """SplitMix64's finalizer in place on an int64 tensor (``tmp``: scratch of the same shape)."""
    import torch

    torch.bitwise_right_shift(z, 30, out=tmp)
    tmp &= (1 << 34) - 1  # logical shift: clear the sign-extended bits
    z ^= tmp
    z *= _C1
    torch.bitwise_right_shift(z, 27, out=tmp)
    tmp &= (1 << 37) - 1
    z ^= tmp
    z *= _C2
    torch.bitwise_right_shift(z, 31, out=tmp)
    tmp &= (1 << 33) - 1
    z ^= tmp
    return z


_RAMPS: dict[Any, Any] = {}


def _ramp(n: int, device: Any) -> Any:
    """int64 ``[n]`` ``(l + 1) gamma`` for ``l < n`` (mod 2^64), cached per device."""
    import torch

    r = _RAMPS.get(device)
    if r is None or r.shape[0] < n:
        r = torch.arange(1, max(n, 1 << 16) + 1, dtype=torch.int64, device=device)
        r *= _GAMMA
        _RAMPS[device] = r
    return r[:n]


def _size(size: int | Sequence[int] | None) -> tuple[int, ...]:
    if size is None:
        return ()
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    return tuple(int(s) for s in size)


class BatchGenerator:
    """Independent counter-based random streams, one per row of a batch, as torch tensors.

    Args:
        seeds: one integer per row (any Python/NumPy ints; taken mod 2^64), e.g. the sub-environments'
            seeds. Equal seeds give equal streams.
        device: torch device of the draws (default CPU).
        dtype: complex dtype of the scenarios drawn with this generator, ``torch.complex64``
            (default) or ``torch.complex128``; real draws default to the matching float32 / float64.

    Attributes:
        key: int64 ``[B]`` per-row stream keys; counter: int64 ``[B]`` words consumed per row.

    Every draw returns ``[B, *size]``; see the module docstring for the stream. ``rows(idx)`` draws for
    a subset of rows (advancing only theirs), ``reseed(idx, seeds)`` restarts a subset.
    """

    def __init__(self, seeds: Any, device: Any = None, dtype: Any = None) -> None:
        import torch

        self.device = torch.device("cpu" if device is None else device)
        self.dtype = torch.complex64 if dtype is None else dtype
        if self.dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {self.dtype}")
        self.real_dtype = torch.float32 if self.dtype == torch.complex64 else torch.float64
        self.key = _keys(seeds, self.device)
        self.counter = torch.zeros_like(self.key)
        self._parent: BatchGenerator | None = None  # set for a view on an index tensor
        self._idx: Any = None

    # ------------------------------------------------------------------ construction and state
    @classmethod
    def from_seed(cls, seed: int, num_rows: int, device: Any = None, dtype: Any = None) -> BatchGenerator:
        """``num_rows`` streams from one seed (row seeds ``np.random.SeedSequence(seed).generate_state``)."""
        seeds = np.random.SeedSequence(seed).generate_state(num_rows, dtype=np.uint64)
        return cls([int(s) for s in seeds], device=device, dtype=dtype)

    @property
    def num_rows(self) -> int:
        """``B``, the number of rows (streams)."""
        return int((self._idx if self._parent is not None else self.key).shape[0])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """``(B,)``: the leading axes of every draw."""
        return (self.num_rows,)

    @property
    def xp(self) -> Any:
        """The array namespace of the draws (``array_api_compat.torch``)."""
        import array_api_compat.torch as xp_torch

        return xp_torch

    def _view(self, key: Any, counter: Any, parent: BatchGenerator | None, idx: Any) -> BatchGenerator:
        view = object.__new__(BatchGenerator)
        view.device, view.dtype, view.real_dtype = self.device, self.dtype, self.real_dtype
        view.key, view.counter, view._parent, view._idx = key, counter, parent, idx
        return view

    def rows(self, idx: Any) -> BatchGenerator:
        """A view that draws for rows ``idx`` only (slice, index tensor/list or bool mask).

        Draws from the view return ``[len(idx), *size]``, equal to the corresponding rows of a draw
        from the whole generator, and advance only those rows' counters (in this generator). A
        slice gives a view sharing ``key``/``counter`` memory; an index gathers and scatters back.
        """
        import torch

        if isinstance(idx, slice) and self._parent is None:
            return self._view(self.key[idx], self.counter[idx], None, None)
        if self._parent is not None:  # compose with this view's own index
            parent, base = self._parent, self._idx
        else:
            parent, base = self, torch.arange(self.key.shape[0], device=self.device)
        sel = base[idx] if isinstance(idx, slice) else base[torch.as_tensor(idx, device=self.device)]
        return self._view(None, None, parent, sel)

    def reseed(self, idx: Any, seeds: Any) -> None:
        """Restart rows ``idx`` (slice, index tensor/list or bool mask) from new ``seeds`` (one per
        selected row, counters back to 0); the other rows are untouched."""
        import torch

        key, counter = self._state()
        sel = idx if isinstance(idx, slice) else torch.as_tensor(idx, device=self.device)
        n = int(torch.ones_like(key)[sel].sum())
        keys = _keys(seeds, self.device)
        if keys.shape[0] != n:
            raise ValueError(f"{n} rows selected but {keys.shape[0]} seeds given")
        key[sel] = keys
        counter[sel] = 0
        self._store(key, counter)

    def get_state(self) -> dict[str, Any]:
        """``{"key", "counter"}``: int64 ``[B]`` copies (of the selected rows for a view)."""
        key, counter = self._state()
        return {"key": key.clone(), "counter": counter.clone()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` (same rows)."""
        self._store(state["key"].to(self.device).clone(), state["counter"].to(self.device).clone())

    def _state(self) -> tuple[Any, Any]:
        if self._parent is None:
            return self.key, self.counter
        return self._parent.key[self._idx], self._parent.counter[self._idx]

    def _store(self, key: Any, counter: Any) -> None:
        if self._parent is None:
            self.key.copy_(key)
            self.counter.copy_(counter)
        else:
            self._parent.key[self._idx] = key
            self._parent.counter[self._idx] = counter

    # ------------------------------------------------------------------ raw words
    def _words(self, n: int) -> Any:
        """int64 ``[B, n]``: the next ``n`` 64-bit words of every row (counters advance by ``n``)."""
        import torch

        key, counter = self._state()
        base = counter * _GAMMA + key  # key + j gamma, j = the row's counter (int64 wraps mod 2^64)
        z = _ramp(n, self.device)[None, :] + base[:, None]  # key + (j + 1 + l) gamma, l < n
        if self._parent is None:
            self.counter += n
        else:
            self._parent.counter[self._idx] = counter + n
        return _mix_(z, torch.empty_like(z))

    def _real(self, dtype: Any) -> Any:
        import torch

        if dtype is None:
            return self.real_dtype
        if dtype in (torch.float32, np.float32, "float32") or dtype is np.dtype(np.float32):
            return torch.float32
        if dtype in (torch.float64, np.float64, "float64", float) or dtype is np.dtype(np.float64):
            return torch.float64
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")

    def _uniform_bits(self, n: int, dtype: Any, open_low: bool = False) -> Any:
        """``[B, n]`` uniforms in ``[0, 1)`` (or ``(0, 1]`` with ``open_low``) of ``dtype``."""
        import torch

        B = self.num_rows
        if dtype == torch.float64:
            w = self._words(n)
            torch.bitwise_right_shift(w, 11, out=w)
            w &= (1 << 53) - 1
            if open_low:
                w += 1
            u = w.to(torch.float64)
            u *= 2.0**-53
            return u
        nw = (n + 1) // 2
        w = self._words(nw)
        bits = torch.empty((B, nw, 2), dtype=torch.int64, device=self.device)
        torch.bitwise_right_shift(w, 40, out=bits[..., 0])
        bits[..., 0] &= _MASK24
        torch.bitwise_and(w, _MASK24, out=bits[..., 1])
        if open_low:
            bits += 1
        u = bits.reshape(B, 2 * nw)[:, :n].to(torch.float32)
        u *= 2.0**-24
        return u

    # ------------------------------------------------------------------ NumPy-like draws
    def random(self, size: int | Sequence[int] | None = None, dtype: Any = None) -> Any:
        """Uniform ``[0, 1)`` of shape ``[B, *size]`` (float64 from 53 bits, float32 from 24 bits).

        Args:
            size: per-row shape (``None`` or ``()``: one number per row).
            dtype: float32 or float64 (torch or NumPy dtype); default the generator's real dtype.
        """
        shape = _size(size)
        n = math.prod(shape)
        return self._uniform_bits(n, self._real(dtype)).reshape(self.num_rows, *shape)

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: int | Sequence[int] | None = None) -> Any:
        """``low + (high - low) U[0, 1)``, ``[B, *size]`` in the real dtype.

        ``low`` and ``high`` are scalars or tensors broadcastable to ``[B, *size]`` (per-row bounds
        need their trailing axes, e.g. ``high[:, None]`` for ``size = (C,)``).
        """
        u = self.random(size)
        return low + (high - low) * u

    def standard_normal(self, size: int | Sequence[int] | None = None, dtype: Any = None) -> Any:
        """i.i.d. ``N(0, 1)`` of shape ``[B, *size]`` (Box-Muller pairs along the flattened row)."""
        import torch

        shape = _size(size)
        n = math.prod(shape)
        dt = self._real(dtype)
        npair = (n + 1) // 2
        u = self._uniform_bits(2 * npair, dt, open_low=True).reshape(self.num_rows, npair, 2)
        u1, u2 = u[..., 0], u[..., 1]  # u1 in (0, 1]: log(u1) finite
        r = torch.sqrt(-2.0 * torch.log(u1))
        ang = u2 * (2.0 * math.pi)
        z = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], dim=-1)
        return z.reshape(self.num_rows, 2 * npair)[:, :n].reshape(self.num_rows, *shape)

    def __repr__(self) -> str:
        return f"BatchGenerator(rows={self.num_rows}, device={self.device}, dtype={self.dtype})"


def _keys(seeds: Any, device: Any) -> Any:
    """int64 ``[B]`` stream keys ``mix(seed + gamma)`` of the seeds."""
    import torch

    flat = [int(s) for s in np.ravel(np.asarray(seeds, dtype=object))]
    return torch.tensor(
        [_s64(_mix_int(s + 0x9E3779B97F4A7C15)) for s in flat], dtype=torch.int64, device=device
    )


# ---------------------------------------------------------------------- helpers for samplers
_PHASE_BITS = 16
_COS_TABLES: dict[Any, Any] = {}


def _cos_table(device: Any, dtype: Any) -> Any:
    """``cos(2 pi k / 2^16)`` for ``k = 0 .. 2^16 - 1`` in ``dtype`` (real or complex), cached."""
    import torch

    key = (str(device), dtype)
    t = _COS_TABLES.get(key)
    if t is None:
        k = np.arange(1 << _PHASE_BITS, dtype=np.float64)
        t = torch.as_tensor(np.cos(2.0 * np.pi * k / (1 << _PHASE_BITS)), dtype=dtype, device=device)
        _COS_TABLES[key] = t
    return t


def _phase_index(w: Any, n: int) -> Any:
    """int32 ``[B, n]``: the 16-bit pieces of the words ``w`` ``[B, ceil(n / 4)]`` as ``0 .. 2^16 - 1``
    (little-endian order: bits 0-15 of a word first)."""
    import torch

    B, nw = w.shape
    try:
        return w.view(torch.uint16).reshape(B, 4 * nw)[:, :n].to(torch.int32)
    except (RuntimeError, TypeError):  # pragma: no cover - a build without uint16 conversions
        k = w.view(torch.int16).reshape(B, 4 * nw)[:, :n].to(torch.int32)
        return k.bitwise_and_(0xFFFF)


def cos_uniform_phase(rng: Any, size: int | Sequence[int], *, complex_: bool = False) -> Any:
    """``cos(psi)`` for i.i.d. uniform phases ``psi``, ``[*batch, *size]``.

    * ``np.random.Generator``: ``np.cos(rng.random(size, dtype=np.float32) * np.float32(2 pi))``,
      float32 (24-bit uniforms; the historical stream of the RAR sampler, kept bit for bit).
    * :class:`BatchGenerator`: ``psi = 2 pi k / 2^16`` with ``k`` uniform on ``{0, ..., 2^16 - 1}``
      (the four 16-bit pieces of each word, bits 0-15 first), looked up in a table of ``cos`` in
      the generator's real dtype (its complex dtype, ``cos psi + 0j``, with ``complex_``: saves a
      type promotion when the couplings multiply complex arrays). A phase uniform on this grid has
      the moments ``E cos^n psi`` of the continuous uniform phase for every ``n < 2^16`` (in
      particular ``E cos psi = 0`` and ``E cos^2 psi = 1/2`` exactly); the grid spacing, ``9.6e-5``
      rad, is far below any physical resolution. Four draws per word and no transcendental
      function make it several times cheaper than ``cos`` of float32 uniforms, which matters for
      the ``M N P`` polarization couplings of the RAR channel.
    """
    if not isinstance(rng, BatchGenerator):
        return np.cos(rng.random(size, dtype=np.float32) * np.float32(2.0 * np.pi))
    import torch

    shape = _size(size)
    n = math.prod(shape)
    k = _phase_index(rng._words((n + 3) // 4), n)
    table = _cos_table(rng.device, rng.dtype if complex_ else rng.real_dtype)
    return torch.index_select(table, 0, k.reshape(-1)).reshape(rng.num_rows, *shape)


def is_batch_generator(rng: Any) -> bool:
    """``True`` for a :class:`BatchGenerator` (or a row view of one)."""
    return isinstance(rng, BatchGenerator)


def batch_shape(rng: Any) -> tuple[int, ...]:
    """Leading axes of the generator's draws: ``()`` for ``np.random.Generator``, ``(B,)`` batched."""
    return rng.batch_shape if isinstance(rng, BatchGenerator) else ()


def namespace_of(rng: Any) -> Any:
    """Array namespace of the generator's draws: :mod:`numpy` or ``array_api_compat.torch``."""
    return rng.xp if isinstance(rng, BatchGenerator) else np


def as_field(rng: Any, value: Any, *, complex_: bool = False) -> Any:
    """A constant (Python/NumPy scalar or array, the same for every row) as a scenario field.

    NumPy generator: ``value`` is returned unchanged (the scenario dataclasses convert it, as before).
    :class:`BatchGenerator`: a tensor on its device, in its real dtype (complex dtype for complex
    values or with ``complex_``; bools stay bool), broadcast to ``[B, *value.shape]`` (a view).
    """
    if not isinstance(rng, BatchGenerator):
        return value
    import torch

    t = torch.as_tensor(np.asarray(value), device=rng.device)
    if t.is_complex() or complex_:
        t = t.to(rng.dtype)
    elif t.dtype != torch.bool:
        t = t.to(rng.real_dtype)
    return torch.broadcast_to(t, (rng.num_rows, *t.shape))


def row_blocks(rng: Any, per_row: int, budget: int | None = None) -> Iterator[tuple[Any, Any]]:
    """Split a large draw into blocks of rows to bound memory: yields ``(generator, index)``.

    ``per_row`` is the number of elements one row's draw holds. A NumPy generator yields
    ``(rng, Ellipsis)`` once; a :class:`BatchGenerator` yields row views ``rng.rows(slice)`` with
    the matching ``slice`` so that ``x[index]`` selects the block's rows of a batched array. Draws
    of row ``i`` do not depend on the blocking, so the result equals one unblocked draw.

    Args:
        budget: elements per block (default ``2^18`` on CPU, temporaries of about a level-2 cache,
            and ``2^27`` on CUDA).
    """
    if not isinstance(rng, BatchGenerator):
        yield rng, Ellipsis
        return
    if budget is None:
        budget = (1 << 27) if rng.device.type == "cuda" else (1 << 18)
    B = rng.num_rows
    step = max(1, budget // max(per_row, 1))
    if step >= B:
        yield rng, slice(None)
        return
    for start in range(0, B, step):
        sl = slice(start, min(B, start + step))
        yield rng.rows(sl), sl
