"""Gymnasium wrappers for isac-gym environments: action flattening, safe-RL cost step, metric recording.

Pure NumPy/Gymnasium (no torch): usable from any RL library.

* :class:`FlattenDictAction` lets continuous-action agents (SB3's PPO/SAC/TD3, which do not accept
  ``Dict`` action spaces) play the ``Dict``-action tasks (``RydbergISAC-Discrete-v0``,
  ``RobustISAC-v0``): a flat ``Box(-1, 1)`` whose integer parts are quantized onto the discrete levels.
* :class:`SafetyGymnasiumCost` gives safe-RL libraries the Safety-Gymnasium step
  ``(obs, reward, cost, terminated, truncated, info)`` with ``cost = info["cost"]``; the inverse is
  :class:`SafetyGymnasiumToGymnasium`.
* :class:`RecordMetrics` accumulates ``info["metrics"]`` and ``info["cost"]`` over an episode and
  reports the per-episode means in ``info["episode_metrics"]`` on the episode's last step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

__all__ = [
    "EpisodeMetrics",
    "FlattenDictAction",
    "RecordMetrics",
    "SafetyGymnasiumCost",
    "SafetyGymnasiumToGymnasium",
    "scalar_metrics",
]

#: ``Dict`` keys whose integer levels are phases on a circle (``level i <-> angle 2 pi i / n``).
CIRCULAR_KEYS: tuple[str, ...] = ("phases", "phase", "ris_phases")


class FlattenDictAction(gym.ActionWrapper):
    """Expose a ``Dict`` action space as one flat ``Box(-1, 1, (D,), float32)``.

    The flat vector is the concatenation of one block per ``Dict`` entry, ``Box`` entries first and
    integer entries after them (each group in the space's key order), or in the order of ``keys``.
    For the isac-gym tasks this is ``[precoder, phases]``, the layout of their ``Box`` variants:

    * ``Box`` entry of shape ``s``: ``prod(s)`` values; entries already in ``[-1, 1]`` pass through,
      other bounded boxes are mapped affinely from ``[-1, 1]`` onto ``[low, high]``.
    * ``MultiDiscrete(nvec)`` / ``Discrete(n)`` entry: one value per integer. For *circular* keys
      (default: ``"phases"``, the RIS phase levels ``phi = exp(j 2 pi i / n)``) the value ``a`` is read as
      the continuous phase ``exp(j pi a)`` of the ``Box`` variants and mapped to the nearest level,
      ``i = round(n (pi a mod 2 pi) / (2 pi)) mod n``: with this wrapper ``RydbergISAC-Discrete-v0``
      plays exactly like ``RydbergISAC-Quantized-v0``. Other integer entries are binned linearly,
      ``i = min(floor(n (a + 1) / 2), n - 1)``.

    Values outside ``[-1, 1]`` are clipped first (SB3 clips too; phases are 2-periodic anyway).

    Args:
        env: environment with a ``Dict`` action space of ``Box`` / ``MultiDiscrete`` / ``Discrete``.
        circular_keys: ``Dict`` keys decoded as circular phase levels.
        keys: explicit block order (every key of the ``Dict`` exactly once).

    Example:
        >>> env = FlattenDictAction(gym.make("isac_env/RydbergISAC-Discrete-v0", obs_mode="effective"))
        >>> env.action_space  # doctest: +SKIP
        Box(-1.0, 1.0, (136,), float32)
    """

    def __init__(
        self,
        env: gym.Env,
        circular_keys: Sequence[str] = CIRCULAR_KEYS,
        keys: Sequence[str] | None = None,
    ) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, spaces.Dict):
            raise TypeError(f"FlattenDictAction needs a Dict action space, got {type(space).__name__}")
        if keys is None:
            boxes = [k for k, v in space.spaces.items() if isinstance(v, spaces.Box)]
            keys = boxes + [k for k in space.spaces if k not in boxes]
        elif sorted(keys) != sorted(space.spaces):
            raise ValueError(
                f"keys must list every action key once: {sorted(space.spaces)}, got {list(keys)}"
            )
        self.keys = tuple(keys)
        self._blocks: list[tuple[str, spaces.Space, int, int]] = []
        start = 0
        for key in self.keys:
            sub = space.spaces[key]
            if isinstance(sub, spaces.Box):
                if not (np.all(np.isfinite(sub.low)) and np.all(np.isfinite(sub.high))):
                    raise ValueError(f"action_space[{key!r}] must be a bounded Box")
                size = int(np.prod(sub.shape))
            elif isinstance(sub, spaces.MultiDiscrete):
                size = int(np.prod(sub.nvec.shape))
            elif isinstance(sub, spaces.Discrete):
                size = 1
            else:
                raise TypeError(
                    f"action_space[{key!r}] must be Box, MultiDiscrete or Discrete, got {type(sub).__name__}"
                )
            self._blocks.append((key, sub, start, start + size))
            start += size
        self.circular_keys = tuple(circular_keys)
        self.action_space = spaces.Box(-1.0, 1.0, (start,), np.float32)

    def action(self, action: NDArray[np.floating]) -> dict[str, Any]:
        """Flat ``[-1, 1]`` vector -> ``Dict`` action of the wrapped environment."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError("action must be finite")
        a = np.clip(a, -1.0, 1.0)
        out: dict[str, Any] = {}
        for key, sub, lo, hi in self._blocks:
            x = a[lo:hi]
            if isinstance(sub, spaces.Box):
                low, high = sub.low.astype(np.float64).ravel(), sub.high.astype(np.float64).ravel()
                if np.all(low == -1.0) and np.all(high == 1.0):
                    y = x
                else:
                    y = low + (x + 1.0) * 0.5 * (high - low)
                out[key] = y.reshape(sub.shape).astype(sub.dtype)
                continue
            if isinstance(sub, spaces.MultiDiscrete):
                n = sub.nvec.astype(np.int64).ravel()
                start = sub.start.astype(np.int64).ravel()
            else:
                n = np.array([sub.n], dtype=np.int64)
                start = np.array([sub.start], dtype=np.int64)
            idx = self.to_levels(x, n, circular=key in self.circular_keys)
            if isinstance(sub, spaces.MultiDiscrete):
                out[key] = (idx + start).reshape(sub.nvec.shape).astype(sub.dtype)
            else:
                out[key] = np.int64(idx[0] + start[0])
        return out

    @staticmethod
    def to_levels(x: NDArray[np.float64], n: NDArray[np.int64], *, circular: bool) -> NDArray[np.int64]:
        """Map values in ``[-1, 1]`` to integer levels ``0..n-1`` (see the class docstring)."""
        if circular:
            ang = np.mod(np.pi * x, 2.0 * np.pi)
            return np.mod(np.floor(ang * n / (2.0 * np.pi) + 0.5), n).astype(np.int64)
        return np.minimum(np.floor(n * (x + 1.0) * 0.5), n - 1).astype(np.int64)


class SafetyGymnasiumCost(gym.Wrapper):
    """Safety-Gymnasium's step convention: ``step`` returns ``(obs, reward, cost, terminated, truncated, info)``.

    ``cost`` is ``info["cost"]`` (the environment's total constraint violation, 0 when feasible) as a
    float; ``info`` is passed through unchanged. This mirrors Safety-Gymnasium's
    ``Gymnasium2SafetyGymnasium`` wrapper, so safe-RL libraries built on that convention (OmniSafe,
    FSRL, ...) can consume isac-gym tasks. The result is *not* a standard Gymnasium env any more: do
    not put Gymnasium wrappers on top of it (wrap the inner env instead).

    Args:
        env: an isac-gym environment (or any env with ``info["cost"]``).
        strip_penalty: if True, the returned reward excludes the environment's own penalty terms
            (the entries of ``info["reward_terms"]`` whose name ends with ``"_penalty"``), i.e. the
            pure task reward that safe-RL algorithms expect alongside the cost. Equivalent to making
            the env with ``constraint_penalty=0``.

    Raises:
        ValueError: in ``step`` if ``info`` has no ``"cost"``.
    """

    def __init__(self, env: gym.Env, *, strip_penalty: bool = False) -> None:
        super().__init__(env)
        self.strip_penalty = bool(strip_penalty)

    def step(  # type: ignore[override]
        self, action: Any
    ) -> tuple[Any, float, float, bool, bool, dict[str, Any]]:
        """Step the env and return the Safety-Gymnasium 6-tuple."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "cost" not in info:
            raise ValueError("info has no 'cost': SafetyGymnasiumCost needs an env that reports it")
        reward = float(reward)
        if self.strip_penalty:
            terms = info.get("reward_terms", {})
            reward -= float(sum(v for k, v in terms.items() if k.endswith("_penalty")))
        return obs, reward, float(info["cost"]), bool(terminated), bool(truncated), info


class SafetyGymnasiumToGymnasium(gym.Wrapper):
    """Inverse of :class:`SafetyGymnasiumCost`: a 6-tuple env back to the Gymnasium 5-tuple, cost in ``info``."""

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and move ``cost`` into ``info["cost"]``."""
        obs, reward, cost, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info["cost"] = float(cost)
        return obs, reward, terminated, truncated, info


def scalar_metrics(info: dict[str, Any]) -> dict[str, float]:
    """The scalar entries of an isac-gym step ``info``: ``info["metrics"]`` scalars, ``cost``, ``feasible``.

    List-valued metrics (per-user rates, SINRs) are skipped; booleans become 0.0/1.0.
    """
    out: dict[str, float] = {}
    for key, val in info.get("metrics", {}).items():
        if isinstance(val, bool | int | float | np.floating | np.integer | np.bool_):
            out[key] = float(val)
    if "cost" in info:
        out["cost"] = float(info["cost"])
    if "feasible" in info:
        out["feasible"] = float(bool(info["feasible"]))
    return out


class EpisodeMetrics:
    """Running per-episode means of :func:`scalar_metrics` (one accumulator per (sub-)environment).

    ``add(info)`` each step; ``pop()`` on the last step returns the means plus ``"length"`` and
    starts a new episode. Shared by :class:`RecordMetrics` and the SB3 vector wrapper
    :class:`isac_env.envs.sb3.VecRecordMetrics`, so both report the same numbers.
    """

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._count = 0

    def clear(self) -> None:
        """Forget the current episode."""
        self._sums, self._count = {}, 0

    def add(self, info: dict[str, Any]) -> None:
        """Accumulate one step's scalar metrics."""
        for key, val in scalar_metrics(info).items():
            self._sums[key] = self._sums.get(key, 0.0) + val
        self._count += 1

    def pop(self) -> dict[str, float]:
        """The episode's means (and ``"length"``); resets the accumulator."""
        ep = {k: v / max(self._count, 1) for k, v in self._sums.items()}
        ep["length"] = float(self._count)
        self.clear()
        return ep


class RecordMetrics(gym.Wrapper):
    """Record the per-episode means of the scalar physics metrics.

    On the step that ends an episode (terminated or truncated), ``info["episode_metrics"]`` holds
    the mean over the episode of every scalar of :func:`scalar_metrics` (``sum_rate``, ``crb_trace``,
    ``power_w``, ..., ``cost``, ``feasible``) plus ``"length"``. Like Gymnasium's
    ``RecordEpisodeStatistics``, it sits on a single environment.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._episode = EpisodeMetrics()

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env and the episode accumulators."""
        self._episode.clear()
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; add ``info["episode_metrics"]`` on the last step of an episode."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._episode.add(info)
        if terminated or truncated:
            info = dict(info)
            info["episode_metrics"] = self._episode.pop()
        return obs, reward, terminated, truncated, info
