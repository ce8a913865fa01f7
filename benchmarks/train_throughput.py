"""Training throughput (env steps/s) of agents.train on the native vector env vs SB3's DummyVecEnv.

Each row trains the same algorithm, seed and scenario for ``--steps`` env steps with ``n_envs``
environments stepped either by the id's batched vector env (``vec_env="native"``) or by
``DummyVecEnv`` over single envs (``vec_env="dummy"``), and reports the wall time of
``model.learn`` (``config.yaml``'s ``steps_per_s``: environment stepping plus the algorithm's
updates). PPO's rollout is ``n_steps`` per env, so ``--steps`` is rounded up to whole rollouts.

Usage::

    python benchmarks/train_throughput.py                     # PPO, Table I, n_envs 4 16 64
    python benchmarks/train_throughput.py --n-envs 8 32 --steps 16384
    python benchmarks/train_throughput.py --quick             # tiny scenario (smoke run)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import tempfile
from pathlib import Path

import yaml

from isac_gym.agents.train import train

TINY = {"num_users": 2, "num_cells": 4, "num_ris": 8, "num_bs_antennas": 4, "num_clusters": 3, "num_rays": 4}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env-id", default="isac_env/RydbergISAC-v0")
    p.add_argument("--algo", default="ppo")
    p.add_argument("--n-envs", type=int, nargs="+", default=[4, 16, 64])
    p.add_argument("--steps", type=int, default=8192, help="env steps per run (default 8192)")
    p.add_argument("--n-steps", type=int, default=128, help="PPO rollout length per env (default 128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny scenario, n_envs 2 4, 256 steps")
    args = p.parse_args(argv)
    env_kwargs: dict = {}
    n_envs_list, steps = args.n_envs, args.steps
    if args.quick:
        env_kwargs, n_envs_list, steps = dict(TINY), [2, 4], 256
    if steps < 1 or min(n_envs_list) < 1:
        p.error("--steps and --n-envs must be >= 1")
    hp = {"n_steps": args.n_steps, "batch_size": 128} if args.algo == "ppo" else {}
    print(f"{args.algo} on {args.env_id} {env_kwargs or '(default scenario)'}; {steps} env steps per run")
    print(f"{'n_envs':>6s} {'native steps/s':>15s} {'dummy steps/s':>14s} {'native/dummy':>13s}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in n_envs_list:
            rate = {}
            for mode in ("native", "dummy"):
                run = train(
                    args.env_id,
                    args.algo,
                    total_timesteps=steps,
                    seed=args.seed,
                    env_kwargs=env_kwargs,
                    hyperparams=hp,
                    n_envs=n,
                    vec_env=mode,
                    run_dir=Path(tmp),
                    run_name=f"{mode}_{n}",
                    checkpoint_freq=0,
                    progress_bar=False,
                )
                rate[mode] = float(yaml.safe_load((run / "config.yaml").read_text())["steps_per_s"])
            print(
                f"{n:6d} {rate['native']:15.1f} {rate['dummy']:14.1f} {rate['native'] / rate['dummy']:13.2f}"
            )


if __name__ == "__main__":
    main()
