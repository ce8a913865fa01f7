"""Registration of every isac-gym environment id (idempotent).

The Rydberg scenario tiers (``isac_env/RydbergISAC-Sparse-v0``, ...) come from
:data:`isac_env.scenarios.RYDBERG_TIERS`, which documents their physical choices; every id has the
native vector env as its ``vector_entry_point``.

**Backends of the vector envs.** ``gym.make_vec(id, num_envs=B)`` builds the NumPy vector env
(:mod:`isac_env.envs.vector`, the default and the reference, unchanged). The keyword set
``gym.make_vec(id, num_envs=B, backend="torch", device="cpu" | "cuda", dtype=torch.complex64)``
builds the task's torch vector env instead (:mod:`isac_env.envs.torch_vector`; ``dtype``
``torch.complex64`` by default or ``torch.complex128``), for every id: the vector entry point
dispatches on ``backend``, so the spec is the same for both and every other keyword (config
fields, ``autoreset_mode``, ``channel_bank``) means the same. torch is imported only for
``backend="torch"``.

**Episode length.** ``gym.spec(id).max_episode_steps`` is deliberately ``None``: every env truncates
its episodes itself at ``EnvConfig.horizon`` (default 50, shown by ``isac envs``), which
``gym.make(id, horizon=H)`` changes. Registering ``max_episode_steps=50`` would add Gymnasium's
``TimeLimit`` with that fixed value, which cuts a longer user horizon (``gym.make(id, horizon=100)``
would end after 50 steps). Read the length from ``env.unwrapped.env_config.horizon``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from .scenarios import RYDBERG_TIERS

__all__ = ["ENV_IDS", "register_envs"]

_RYDBERG_VEC = "isac_env.envs.vector:RydbergISACVectorEnv"
_ROBUST_VEC = "isac_env.envs.vector:RobustISACVectorEnv"

#: id -> (entry point, default kwargs, vector entry point or None)
ENV_SPECS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "isac_env/RydbergISAC-v0": ("isac_env.envs.rydberg:RydbergISACEnv", {}, _RYDBERG_VEC),
    "isac_env/RydbergISAC-Discrete-v0": (
        "isac_env.envs.rydberg:RydbergISACEnv",
        {"phase_bits": 2, "phase_action": "discrete"},
        _RYDBERG_VEC,
    ),
    "isac_env/RydbergISAC-Quantized-v0": (
        "isac_env.envs.rydberg:RydbergISACEnv",
        {"phase_bits": 2, "phase_action": "quantize"},
        _RYDBERG_VEC,
    ),
    "isac_env/RobustISAC-v0": (
        "isac_env.envs.robust:RobustISACEnv",
        {"phase_action": "discrete"},
        _ROBUST_VEC,
    ),
    "isac_env/RobustISAC-Continuous-v0": (
        "isac_env.envs.robust:RobustISACEnv",
        {"phase_action": "quantize"},
        _ROBUST_VEC,
    ),
}
ENV_SPECS.update(
    {
        tier.env_id: ("isac_env.envs.rydberg:RydbergISACEnv", dict(tier.kwargs), _RYDBERG_VEC)
        for tier in RYDBERG_TIERS
    }
)

ENV_IDS: tuple[str, ...] = tuple(ENV_SPECS)


def register_envs() -> None:
    """Register every id with Gymnasium; calling it again is a no-op."""
    for env_id, (entry, kwargs, vector_entry) in ENV_SPECS.items():
        if env_id in gym.registry:
            continue
        # Episode length is the env's own ``horizon`` (truncated inside the env), so no
        # TimeLimit wrapper is added (max_episode_steps=None, see the module docstring):
        # ``gym.make(id, horizon=H)`` changes it consistently, longer than 50 included.
        gym.register(
            id=env_id,
            entry_point=entry,
            kwargs=dict(kwargs),
            vector_entry_point=vector_entry,
            disable_env_checker=False,
        )
