"""Single-environment throughput of ``isac_env/RobustISAC-v0`` at the paper's default size.

Default size: Nt=16, K=2, T=2, N=16, b=2, 1000 Monte-Carlo error draws per step. Prints steps/s,
all measured in this one run, for

* ``RobustISAC-v0`` through ``gym.make`` (Gymnasium's wrappers) and unwrapped;
* ``RobustISAC-Continuous-v0`` through ``gym.make``;
* ``mc_method="effective"`` (``Nt``-dim effective-error draws) and ``"full"`` (draws of
  ``Delta h_d`` and ``Delta G_k``) instead of the default ``"projected"`` sampler (``K``-dim draws
  of ``W^H h_k``); all three sample the same distribution;
* the physics alone: ``robust.evaluate`` (MC outage + CRB failure + certification), and the MC and
  certification parts separately.

    python benchmarks/robust_env_throughput.py             # 3 s per measurement
    python benchmarks/robust_env_throughput.py --quick     # CI smoke run
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import isac_env  # noqa: F401  (registers the ids)
from isac_env.physics import robust


def _rate(fn: Callable[[], object], min_time: float) -> float:
    n, t0 = 0, time.perf_counter()
    while (dt := time.perf_counter() - t0) < min_time:
        fn()
        n += 1
    return n / dt


def _env_rate(env_id: str, seconds: float, unwrapped: bool = False, **kw: object) -> float:
    env = gym.make(env_id, **kw)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(64)]
    target = env.unwrapped if unwrapped else env
    i = [0]

    def step() -> None:
        target.step(actions[i[0] % 64])
        i[0] += 1

    return _rate(step, seconds)


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    p.add_argument("--mc-draws", type=int, default=1000)
    p.add_argument("--quick", action="store_true", help="0.3 s per measurement")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds = 0.3
    sec, D = args.seconds, args.mc_draws
    kw = {"mc_draws": D, "horizon": 10**9}
    res = {
        "RobustISAC-v0 (gym.make)": _env_rate("isac_env/RobustISAC-v0", sec, **kw),
        "RobustISAC-v0 (unwrapped)": _env_rate("isac_env/RobustISAC-v0", sec, unwrapped=True, **kw),
        "RobustISAC-Continuous-v0 (gym.make)": _env_rate("isac_env/RobustISAC-Continuous-v0", sec, **kw),
        "RobustISAC-v0 mc_method=effective (gym.make)": _env_rate(
            "isac_env/RobustISAC-v0", sec, mc_method="effective", **kw
        ),
        "RobustISAC-v0 mc_method=full (gym.make)": _env_rate(
            "isac_env/RobustISAC-v0", sec, mc_method="full", **kw
        ),
    }
    env = gym.make("isac_env/RobustISAC-v0").unwrapped
    env.reset(seed=0)
    s = env.scenario
    rng = np.random.default_rng(0)
    W = 1e-2 * (rng.standard_normal((16, 2)) + 1j * rng.standard_normal((16, 2)))
    v = np.exp(2j * np.pi * rng.integers(0, 4, 16) / 4)
    res["physics evaluate (calls/s)"] = _rate(lambda: robust.evaluate(s, W, v, rng, D), sec)
    res["physics rate_outage_mc (calls/s)"] = _rate(lambda: robust.rate_outage_mc(s, W, v, rng, D), sec)
    res["physics crb_failure_mc (calls/s)"] = _rate(lambda: robust.crb_failure_mc(s, W, rng, D), sec)
    res["physics certify (calls/s)"] = _rate(lambda: robust.certify(s, W, v), sec)
    print(f"RobustISAC throughput, default size (Nt=16, K=2, T=2, N=16, b=2), {D} MC draws per step")
    for k, val in res.items():
        print(f"  {k:45s} {val:9.1f} steps/s" if "calls" not in k else f"  {k:45s} {val:9.1f}")
    return res


if __name__ == "__main__":
    main()
