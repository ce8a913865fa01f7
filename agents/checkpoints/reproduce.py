"""Re-train the shipped checkpoints of ``agents/checkpoints/`` and measure them.

Usage (from the repository root)::

    python agents/checkpoints/reproduce.py                      # every checkpoint
    python agents/checkpoints/reproduce.py ppo_RydbergISAC-v0   # one of them
    python agents/checkpoints/reproduce.py --eval-only          # only re-measure the shipped ones
    python agents/checkpoints/reproduce.py --eval-only --episodes 2 --no-save   # smoke run

Each checkpoint is ``isac_gym.agents.train.train(...)`` with the arguments in :data:`CHECKPOINTS` (the
hyperparameters are the ``agents/hyperparams/<algo>.yml`` entries, the scenario the id's
``agents/hyperparams/env_kwargs.yml`` entry: the papers' defaults with ``obs_mode="effective"``).
Training is seeded, so a re-run on the same library versions reproduces the weights up to
floating-point non-determinism of torch. The measurement is :func:`isac_gym.agents.train.quick_eval`: mean
per-step reward and metrics over 20 seeded episodes (seeds 10000..10019, deterministic actions),
against uniformly random actions on the same draws; it writes ``eval.yaml`` next to the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from isac_gym.agents.train import load_policy, make_env_from_run, quick_eval, train  # noqa: E402

HERE = Path(__file__).resolve().parent

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


def reproduce(name: str) -> Path:
    """Train checkpoint ``name`` into ``agents/checkpoints/<name>/`` (replacing it)."""
    kw = dict(CHECKPOINTS[name])
    return train(
        kw.pop("env_id"),
        kw.pop("algo"),
        run_dir=HERE,
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


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[*CHECKPOINTS, []], help="checkpoints (default: all)")
    parser.add_argument("--eval-only", action="store_true", help="measure the shipped checkpoints only")
    parser.add_argument("--episodes", type=int, default=EVAL_EPISODES, help="seeded evaluation episodes")
    parser.add_argument("--no-save", action="store_true", help="print the measurement, leave eval.yaml as is")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be >= 1")
    for name in args.names or list(CHECKPOINTS):
        run = HERE / name if args.eval_only else reproduce(name)
        print(name, yaml.safe_dump(measure(run, args.episodes, not args.no_save), sort_keys=False), sep="\n")


if __name__ == "__main__":
    main()
