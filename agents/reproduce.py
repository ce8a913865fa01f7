"""Re-train the shipped checkpoints and measure them: ``isac reproduce``.

Each shipped checkpoint (package data ``isac_gym/agents/checkpoints/<name>/``, the repository's
``agents/checkpoints/``) is ``isac_gym.agents.train.train(...)`` with the arguments in
:data:`CHECKPOINTS` (hyperparameters from ``agents/hyperparams/<algo>.yml``, the scenario the id's
defaults). Training is seeded, so a re-run on the same library versions reproduces the weights up
to floating-point non-determinism of torch. The measurement is
:func:`isac_gym.agents.train.quick_eval`: mean per-step reward and metrics over 20 seeded episodes
(seeds 10000..10019, deterministic actions), against uniformly random actions on the same draws;
it writes ``eval.yaml`` next to the model.

Usage::

    isac reproduce                      # retrain every checkpoint, then measure it
    isac reproduce ppo_RydbergISAC-v0   # one of them
    isac reproduce --eval-only          # only re-measure the shipped ones
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .serialization import checkpoints_dir
from .train import load_policy, make_env_from_run, quick_eval, train

__all__ = ["CHECKPOINTS", "EVAL_EPISODES", "EVAL_SEED", "measure", "reproduce"]

#: run name -> keyword arguments of isac_gym.agents.train.train
CHECKPOINTS: dict[str, dict[str, Any]] = {
    "ppo_RydbergISAC-v0": {
        "env_id": "isac_env/RydbergISAC-v0",
        "algo": "ppo",
        "total_timesteps": 20_000,
        "seed": 0,
    },
    "ppo_RobustISAC-Continuous-v0": {
        "env_id": "isac_env/RobustISAC-Continuous-v0",
        "algo": "ppo",
        "total_timesteps": 20_000,
        "seed": 0,
    },
    "sac_RydbergISAC-v0": {
        "env_id": "isac_env/RydbergISAC-v0",
        "algo": "sac",
        "total_timesteps": 10_000,
        "seed": 0,
    },
    "ppo-lag_RobustISAC-Continuous-v0": {
        "env_id": "isac_env/RobustISAC-Continuous-v0",
        "algo": "ppo",
        "total_timesteps": 20_000,
        "seed": 0,
        "lagrangian": True,
        "lagrangian_kwargs": {"value": 1.0, "lr": 0.5, "budget": 0.0},
    },
}

EVAL_EPISODES = 20
EVAL_SEED = 10_000


def reproduce(name: str, run_dir: str | Path | None = None) -> Path:
    """Train checkpoint ``name`` into ``run_dir/<name>/`` (default: the shipped folder, replaced).

    Raises:
        ValueError: an unknown name (the message lists :data:`CHECKPOINTS`).
    """
    if name not in CHECKPOINTS:
        raise ValueError(f"unknown checkpoint {name!r}; shipped: {', '.join(CHECKPOINTS)}")
    kw = dict(CHECKPOINTS[name])
    return train(
        kw.pop("env_id"),
        kw.pop("algo"),
        run_dir=checkpoints_dir() if run_dir is None else Path(run_dir),
        run_name=name,
        overwrite=True,
        checkpoint_freq=0,
        progress_bar=True,
        **kw,
    )


def measure(run: Path, episodes: int = EVAL_EPISODES, save: bool = True) -> dict[str, Any]:
    """Agent vs random actions on the same seeded draws; written to ``<run>/eval.yaml`` if ``save``.

    ``episode``: per-step means over the training horizon (the agent refines its design from the
    feedback in its observation); ``first_decision``: the first action on each draw only
    (``horizon=1``), the one-shot protocol of ``isac_gym.agents.evaluate`` / ``isac compare``.
    """
    policy = load_policy(run)
    out: dict[str, Any] = {
        "episodes": episodes,
        "seeds": f"{EVAL_SEED}..{EVAL_SEED + episodes - 1}",
    }
    for label, overrides in (("episode", {}), ("first_decision", {"horizon": 1})):
        env = make_env_from_run(run, **overrides)
        agent = quick_eval(policy, env, n_episodes=episodes, seed=EVAL_SEED)
        random = quick_eval(None, env, n_episodes=episodes, seed=EVAL_SEED)
        out[label] = {
            "agent": {k: round(v, 6) for k, v in agent.items()},
            "random": {k: round(v, 6) for k, v in random.items()},
        }
    if save:
        (run / "eval.yaml").write_text(yaml.safe_dump(out, sort_keys=False))
    return out
