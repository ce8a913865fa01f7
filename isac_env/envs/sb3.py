"""Stable-Baselines3 adapter: a Gymnasium ``VectorEnv`` seen as SB3's ``VecEnv``.

``SB3VecEnv(gym.make_vec(id, num_envs=B, autoreset_mode="SameStep"))`` lets SB3 algorithms
(PPO, SAC, ...) train on the native batched environments. SB3 expects same-step autoreset: a done
sub-env's returned observation is already the first one of its next episode and the last one is in
``infos[i]["terminal_observation"]``; ``infos[i]["TimeLimit.truncated"]`` marks time-outs so SB3
bootstraps their value. :class:`VecRecordMetrics` adds the per-episode metric means of
:class:`isac_env.wrappers.RecordMetrics` to any SB3 ``VecEnv`` (``isac_gym.agents.train`` uses both when it
trains on the native vector env). Needs the ``agents`` extra (stable-baselines3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from numpy.typing import NDArray

from isac_env.wrappers import EpisodeMetrics

try:
    from stable_baselines3.common.vec_env.base_vec_env import (
        VecEnv,
        VecEnvIndices,
        VecEnvStepReturn,
        VecEnvWrapper,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("isac_env.envs.sb3 needs stable-baselines3: pip install 'isac-gym[agents]'") from exc

__all__ = ["SB3VecEnv", "VecRecordMetrics", "vector_info_to_list"]


def vector_info_to_list(info: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's vector info (arrays + ``_key`` masks) -> one plain dict per sub-env."""
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get(f"_{key}", np.ones(num_envs, dtype=np.bool_))
        sub = vector_info_to_list(value, num_envs) if isinstance(value, dict) else None
        for i in np.flatnonzero(mask):
            out[i][key] = sub[i] if sub is not None else value[i]
    return out


class SB3VecEnv(VecEnv):
    """Wrap a Gymnasium ``VectorEnv`` with ``SAME_STEP`` autoreset as an SB3 ``VecEnv``.

    Args:
        venv: the vector env (e.g. ``gym.make_vec(id, num_envs=B, autoreset_mode="SameStep")``).

    Raises:
        ValueError: ``venv`` does not autoreset in the same step.
    """

    def __init__(self, venv: VectorEnv) -> None:
        mode = venv.metadata.get("autoreset_mode")
        if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.SAME_STEP.value):
            raise ValueError(
                f"SB3VecEnv needs autoreset_mode=SameStep (SB3's convention), got {mode!r}; "
                "create it with gym.make_vec(id, num_envs=B, autoreset_mode='SameStep')"
            )
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: Any = None

    def reset(self) -> NDArray:
        seeds = self._seeds
        seed: list[int | None] | None = None if all(s is None for s in seeds) else list(seeds)
        obs, info = self.venv.reset(seed=seed)
        self.reset_infos = vector_info_to_list(info, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: NDArray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        final_obs = info.pop("final_obs", None)
        final_info = info.pop("final_info", None)
        info.pop("_final_obs", None)
        info.pop("_final_info", None)
        infos = vector_info_to_list(info, self.num_envs)
        if final_info is not None:
            for i, fi in enumerate(vector_info_to_list(final_info, self.num_envs)):
                if dones[i]:
                    infos[i].update(fi)
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = final_obs[i]  # type: ignore[index]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    # The sub-envs are rows of one batched env: attributes are the vector env's own.
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


class VecRecordMetrics(VecEnvWrapper):
    """SB3 ``VecEnv`` wrapper: ``infos[i]["episode_metrics"]`` on the step that ends sub-env i's episode.

    The vector counterpart of :class:`isac_env.wrappers.RecordMetrics` (the same
    :class:`isac_env.wrappers.EpisodeMetrics` accumulator per sub-env): per-episode means of the
    scalar physics metrics plus ``"length"``.
    """

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self._episodes = [EpisodeMetrics() for _ in range(venv.num_envs)]

    def reset(self) -> NDArray:
        for ep in self._episodes:
            ep.clear()
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        for i, info in enumerate(infos):
            self._episodes[i].add(info)
            if dones[i]:
                info["episode_metrics"] = self._episodes[i].pop()
        return obs, rewards, dones, infos
