"""Single-environment throughput of ``isac_env/RydbergISAC-v0`` at Table-I size.

Prints steps/s for (a) ``env.step`` through ``gym.make`` (with Gymnasium's wrappers), (b) the
unwrapped env, (c) episodes including ``reset`` (one channel draw per episode at the default
horizon) and (d) the same with resets from a pre-generated ``ChannelBank`` (``channel_bank=``, no
draw per reset; ``--bank-size`` draws), all measured in this one run.

    python benchmarks/env_throughput.py            # Table I, 5 s per measurement
    python benchmarks/env_throughput.py --quick    # CI-size smoke run
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import isac_env  # noqa: F401  (registers the ids)


def _rate(fn, min_time: float) -> float:
    n, t0 = 0, time.perf_counter()
    while (dt := time.perf_counter() - t0) < min_time:
        fn()
        n += 1
    return n / dt


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env-id", default="isac_env/RydbergISAC-v0")
    p.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    p.add_argument("--quick", action="store_true", help="tiny scenario and 0.3 s per measurement")
    p.add_argument("--bank-size", type=int, default=16, help="draws in the ChannelBank of (d)")
    args = p.parse_args(argv)
    kw = {}
    if args.quick:
        kw = {"num_ris": 8, "num_cells": 4, "num_clusters": 2, "num_rays": 2}
        args.seconds = 0.3
    env = gym.make(args.env_id, **kw)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [env.action_space.sample() for _ in range(64)]
    i = [0]

    def step_wrapped():
        env.step(actions[i[0] % 64])
        i[0] += 1

    u = env.unwrapped

    def step_unwrapped():
        u.step(actions[i[0] % 64])
        i[0] += 1

    horizon = u.env_config.horizon

    def episode():
        env.reset(seed=int(rng.integers(1 << 31)))
        for t in range(horizon):
            env.step(actions[t % 64])

    from isac_env.bank import ChannelBank

    bank = ChannelBank.generate(u.config, args.bank_size, seed=0)
    env_bank = gym.make(args.env_id, **kw, channel_bank=bank)

    def episode_bank():
        env_bank.reset(seed=int(rng.integers(1 << 31)))
        for t in range(horizon):
            env_bank.step(actions[t % 64])

    res = {
        "steps_per_s_make": _rate(step_wrapped, args.seconds),
        "steps_per_s_unwrapped": _rate(step_unwrapped, args.seconds),
        "steps_per_s_with_resets": _rate(episode, args.seconds) * horizon,
        "steps_per_s_bank_resets": _rate(episode_bank, args.seconds) * horizon,
    }
    t0 = time.perf_counter()
    n_reset = 5 if not args.quick else 2
    for s in range(n_reset):
        env.reset(seed=s)
    res["reset_ms"] = 1e3 * (time.perf_counter() - t0) / n_reset
    print(f"env: {args.env_id} {kw or '(Table I defaults)'}; horizon {horizon}")
    for k, v in res.items():
        print(f"{k:>24s}: {v:12.1f}")
    return res


if __name__ == "__main__":
    main()
