"""Pre-generated channel banks: draw scenarios once, replay them in every run.

A scenario draw at the paper's size costs tens of milliseconds (the clustered RAR channels of
:func:`~isac_env.physics.channels.rar_clustered_channel` need ``M N C R`` random couplings per
link), far more than an environment step. For long trainings a :class:`ChannelBank` draws ``S``
scenarios once, stores them stacked (``.npz``, content-hashed) and an environment created with
``channel_bank=bank_or_path`` replaces every reset's draw by a pick from the bank.

Seeding: scenario ``i`` of a bank is ``sample_scenario(config, default_rng(SeedSequence(seed)
.spawn(S)[i]))``, so a bank is a pure function of ``(kind, config, size, seed)`` and its
:attr:`ChannelBank.content_hash` identifies it across machines. An environment using a bank draws
the *index* ``rng.integers(S)`` from its own ``np_random`` on each reset; the episode's channels are
therefore a function of ``(bank hash, env seed)``. Episodes are i.i.d. uniform picks from a finite
set, so keep ``S`` large compared to the number of distinct channels an agent should see; Gauss-Markov
ageing (``channel_dynamics="gauss_markov"``) still draws fresh innovations from the env's generator.

Backends: a bank is stored and hashed as NumPy arrays (no Gymnasium or torch import);
:meth:`ChannelBank.to` converts it once for the torch vector environments
(``bank.to("torch", device="cuda", dtype=torch.complex64)`` gives a :class:`TorchChannelBank`, every
scenario stacked on the device, whose :meth:`~TorchChannelBank.take` gathers rows there), so one bank
feeds either backend. Scenario kinds are registered in :data:`KINDS` (RydbergISAC and RobustISAC).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .config import RobustISACConfig, RydbergISACConfig
from .physics import rar, robust

__all__ = ["KINDS", "ChannelBank", "ScenarioKind", "TorchChannelBank", "as_channel_bank"]


@dataclass(frozen=True)
class ScenarioKind:
    """How to draw, split and rebuild one scenario family.

    Attributes:
        config_cls: frozen config dataclass of the family (``config_cls(**fields)`` rebuilds it).
        scenario_cls: frozen scenario dataclass; its ``np.ndarray`` fields are banked, the others
            (e.g. ``rsr_model``) must be JSON-serialisable and equal across the bank.
        sample: ``sample(config, rng) -> scenario`` (unbatched).
    """

    config_cls: type
    scenario_cls: type
    sample: Callable[[Any, np.random.Generator], Any]


#: kind name -> :class:`ScenarioKind`; other tasks add themselves here.
KINDS: dict[str, ScenarioKind] = {
    "rydberg": ScenarioKind(RydbergISACConfig, rar.RydbergScenario, rar.sample_scenario),
    "robust": ScenarioKind(RobustISACConfig, robust.RobustScenario, robust.sample_scenario),
}


def _split(scenario: Any) -> tuple[dict[str, NDArray], dict[str, Any]]:
    arrays, static = {}, {}
    for f in dataclasses.fields(scenario):
        v = getattr(scenario, f.name)
        if isinstance(v, np.ndarray):
            arrays[f.name] = v
        else:
            static[f.name] = v
    return arrays, static


def _kind_of_config(config: Any) -> str:
    for name, kind in KINDS.items():
        if type(config) is kind.config_cls:
            return name
    raise TypeError(f"no channel-bank kind for config type {type(config).__name__}; known: {sorted(KINDS)}")


class ChannelBank:
    """``S`` stacked scenarios of one config, seeded, content-hashed, saved as ``.npz``.

    Build one with :meth:`generate` (or :meth:`from_scenarios`), persist it with :meth:`save` and
    reload it with :meth:`load`; pass the object or the path as ``channel_bank=`` to an environment
    (single or vector) of the same config.

    Attributes:
        kind: scenario family name (a key of :data:`KINDS`).
        config: the config every scenario was drawn with.
        seed: the root seed of :meth:`generate` (``None`` when built from given scenarios).
        arrays: stacked array fields, each ``[S, ...]`` (read-only).
        static: the non-array scenario fields (shared by all entries).
    """

    def __init__(
        self,
        kind: str,
        config: Any,
        arrays: dict[str, NDArray],
        static: dict[str, Any],
        seed: int | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
        if type(config) is not KINDS[kind].config_cls:
            raise TypeError(
                f"config must be a {KINDS[kind].config_cls.__name__}, got {type(config).__name__}"
            )
        sizes = {a.shape[0] for a in arrays.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise ValueError(f"bank arrays must share a non-empty leading axis, got sizes {sorted(sizes)}")
        self.kind = kind
        self.config = config
        self.seed = seed
        self.static = dict(static)
        self.arrays: dict[str, NDArray] = {}
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            a.flags.writeable = False
            self.arrays[name] = a
        self._size = sizes.pop()
        self._hash: str | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def generate(cls, config: Any, size: int, seed: int) -> ChannelBank:
        """Draw ``size`` scenarios; entry ``i`` uses ``SeedSequence(seed).spawn(size)[i]``.

        Args:
            config: scenario config (e.g. :class:`~isac_env.config.RydbergISACConfig`).
            size: number of scenarios S >= 1.
            seed: root seed (non-negative int).

        Returns:
            The bank; identical for identical ``(config, size, seed)`` on any machine.
        """
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
            raise ValueError(f"size must be an integer >= 1, got {size!r}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        kind = _kind_of_config(config)
        sample = KINDS[kind].sample
        children = np.random.SeedSequence(int(seed)).spawn(int(size))
        scenarios = [sample(config, np.random.default_rng(ss)) for ss in children]
        bank = cls.from_scenarios(config, scenarios)
        bank.seed = int(seed)
        return bank

    @classmethod
    def from_scenarios(cls, config: Any, scenarios: Sequence[Any]) -> ChannelBank:
        """Bank of the given unbatched scenarios (drawn with ``config``)."""
        if len(scenarios) == 0:
            raise ValueError("scenarios must not be empty")
        parts = [_split(s) for s in scenarios]
        static = parts[0][1]
        if any(p[1] != static for p in parts):
            raise ValueError("all scenarios of a bank must share their non-array fields")
        arrays = {n: np.stack([p[0][n] for p in parts]) for n in parts[0][0]}
        return cls(_kind_of_config(config), config, arrays, static)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return self._size

    def __getitem__(self, i: int) -> Any:
        """Scenario ``i`` (unbatched), bit-identical to the stored draw."""
        return KINDS[self.kind].scenario_cls(**{n: a[i] for n, a in self.arrays.items()}, **self.static)

    def take(self, idx: ArrayLike) -> Any:
        """Batched scenario ``[len(idx)]`` of entries ``idx`` (one gather per field)."""
        idx = np.asarray(idx, dtype=np.intp)
        return KINDS[self.kind].scenario_cls(**{n: a[idx] for n, a in self.arrays.items()}, **self.static)

    def draw_index(self, rng: np.random.Generator) -> int:
        """The index an environment picks on reset: ``rng.integers(len(self))``."""
        return int(rng.integers(self._size))

    def scenarios(self) -> Any:
        """Every entry as one scenario batched ``[S]`` (NumPy arrays, copies)."""
        return KINDS[self.kind].scenario_cls(**self.arrays, **self.static)

    def to(
        self, backend: str = "numpy", *, device: Any = None, dtype: Any = None
    ) -> ChannelBank | TorchChannelBank:
        """The bank for an array backend.

        Args:
            backend: ``"numpy"`` (this bank; complex128 only) or ``"torch"``.
            device: torch device (default ``"cpu"``).
            dtype: torch precision as a complex dtype, ``torch.complex64`` (default) or
                ``torch.complex128`` (complex fields get it, real fields float32 / float64).

        Returns:
            ``self`` for NumPy, else a :class:`TorchChannelBank` (one host-to-device copy).
        """
        if backend == "numpy":
            if dtype is not None and str(dtype).replace("torch.", "") not in (
                "complex128",
                "<class 'numpy.complex128'>",
            ):
                raise ValueError(f"a NumPy bank is complex128, got dtype={dtype!r}")
            return self
        if backend != "torch":
            raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
        return TorchChannelBank(self, device=device, dtype=dtype)

    def check_config(self, config: Any) -> None:
        """Raise ``ValueError`` unless ``config`` equals the bank's config."""
        if config != self.config:
            diff = {
                f.name: (getattr(self.config, f.name, None), getattr(config, f.name, None))
                for f in dataclasses.fields(self.config)
                if getattr(self.config, f.name, None) != getattr(config, f.name, None)
            }
            raise ValueError(
                f"channel_bank was drawn with another config; differing fields (bank, env): {diff}"
            )

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of kind, config, static fields and every array's name, dtype, shape and bytes."""
        if self._hash is None:
            h = hashlib.sha256()
            h.update(json.dumps(self._meta_core(), sort_keys=True).encode())
            for name in sorted(self.arrays):
                a = self.arrays[name]
                h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
                h.update(a.tobytes())
            self._hash = h.hexdigest()
        return self._hash

    def _meta_core(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": dataclasses.asdict(self.config), "static": self.static}

    def __repr__(self) -> str:
        return f"ChannelBank(kind={self.kind!r}, size={len(self)}, seed={self.seed}, hash={self.content_hash[:12]})"

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> str:
        """Write an uncompressed ``.npz`` (arrays plus a JSON ``__meta__`` entry); returns the path."""
        meta = {**self._meta_core(), "seed": self.seed, "content_hash": self.content_hash}
        path = os.fspath(path)
        with open(path, "wb") as fh:
            np.savez(fh, __meta__=np.array(json.dumps(meta)), **self.arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], expected_hash: str | None = None) -> ChannelBank:
        """Read a bank written by :meth:`save`, verifying its content hash.

        Raises:
            ValueError: the file's content does not match its stored hash or ``expected_hash``.
        """
        with np.load(os.fspath(path), allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            arrays = {n: data[n] for n in data.files if n != "__meta__"}
        kind = meta["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown bank kind {kind!r} in {path}; known: {sorted(KINDS)}")
        config = KINDS[kind].config_cls(**meta["config"])
        bank = cls(kind, config, arrays, meta["static"], meta.get("seed"))
        if bank.content_hash != meta["content_hash"]:
            raise ValueError(f"channel bank {path} is corrupt: content hash does not match its metadata")
        if expected_hash is not None and bank.content_hash != expected_hash:
            raise ValueError(f"channel bank {path} has hash {bank.content_hash}, expected {expected_hash}")
        return bank


class TorchChannelBank:
    """A :class:`ChannelBank` on a torch device: all ``S`` scenarios stacked there once.

    Made by :meth:`ChannelBank.to`. :meth:`take` gathers rows on the device (an index tensor in,
    a batched torch scenario out) and :meth:`draw_index` picks the indices of a reset from a
    :class:`~isac_env.physics.random.BatchGenerator` (``floor(u S)``, ``u`` each row's next float64
    uniform), so a torch environment resets from the bank without touching the host.

    Attributes:
        source: the NumPy bank (its ``kind``, ``config``, ``seed`` and ``content_hash`` are this bank's).
        scenario: every entry, one scenario batched ``[S]`` of torch tensors.
        device, dtype: where and in which precision the tensors live.
    """

    def __init__(self, source: ChannelBank, device: Any = None, dtype: Any = None) -> None:
        import torch

        self.source = source
        self.device = torch.device("cpu" if device is None else device)
        self.dtype = torch.complex64 if dtype is None else dtype
        if self.dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype!r}")
        self.scenario = source.scenarios().to("torch", device=self.device, dtype=self.dtype)

    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def config(self) -> Any:
        return self.source.config

    @property
    def content_hash(self) -> str:
        """The source bank's hash (the conversion is a pure function of it, device and dtype)."""
        return self.source.content_hash

    def __len__(self) -> int:
        return len(self.source)

    def __repr__(self) -> str:
        return f"TorchChannelBank({self.source!r}, device={self.device}, dtype={self.dtype})"

    def check_config(self, config: Any) -> None:
        """Raise ``ValueError`` unless ``config`` equals the bank's config."""
        self.source.check_config(config)

    def take(self, idx: Any) -> Any:
        """Batched scenario ``[len(idx)]`` of entries ``idx`` (an int64 tensor or a sequence)."""
        import copy

        import torch

        idx = torch.as_tensor(idx, dtype=torch.int64, device=self.device)
        out = copy.copy(self.scenario)  # the fields are already converted: no re-validation
        for f in dataclasses.fields(out):
            value = getattr(out, f.name)
            if isinstance(value, torch.Tensor):
                object.__setattr__(out, f.name, value.index_select(0, idx))
        return out

    def draw_index(self, gen: Any) -> Any:
        """Indices ``floor(u S)`` ``[B]`` (int64 on the device) from a :class:`BatchGenerator` (one
        float64 uniform per row)."""
        import torch

        u = gen.random(dtype=torch.float64)
        return torch.clamp((u * len(self)).to(torch.int64), max=len(self) - 1)

    def to(
        self, backend: str = "torch", *, device: Any = None, dtype: Any = None
    ) -> ChannelBank | TorchChannelBank:
        """This bank on another backend, device or precision (``self`` when nothing changes)."""
        import torch

        if backend == "numpy":
            return self.source.to("numpy", dtype=dtype)
        dev = self.device if device is None else torch.device(device)
        dt = self.dtype if dtype is None else dtype
        if dev == self.device and dt == self.dtype:
            return self
        return self.source.to(backend, device=dev, dtype=dt)


def as_channel_bank(bank: ChannelBank | str | os.PathLike[str] | None, config: Any) -> ChannelBank | None:
    """Normalise an env's ``channel_bank`` argument (object, path or ``None``) and check its config."""
    if bank is None:
        return None
    if isinstance(bank, str | os.PathLike):
        bank = ChannelBank.load(bank)
    if not isinstance(bank, ChannelBank):
        raise TypeError(f"channel_bank must be a ChannelBank, a path or None, got {type(bank).__name__}")
    bank.check_config(config)
    return bank
