"""Env-steps/s of the native RydbergISAC vector env vs ``SyncVectorEnv`` of the same id, in one run.

For B in ``--sizes`` (default 1, 64, 1024) it times

* ``step-only``: a static episode longer than the run (no resets), the per-step cost;
* ``+resets (bank)``: the default horizon (50) with resets drawn from a :class:`ChannelBank`;
* ``+resets (draw)``: the default horizon with fresh scenario draws on every reset (measured for
  B <= ``--max-draw-b``, otherwise extrapolated from the measured single-draw time, marked ``~``).

It also prints the analytic FLOP count of one env step (the matrix products of the metrics) and
the fraction of this machine's complex128 matmul rate (measured here, ``n=1024`` ZGEMM) that the
native env's step-only rate reaches.

With ``--env-id isac_env/RobustISAC-v0`` (or ``-Continuous-v0``) it times the native
:class:`~isac_env.envs.vector.RobustISACVectorEnv` against ``SyncVectorEnv`` of
:class:`~isac_env.envs.robust.RobustISACEnv` instead (default size: Nt=16, K=2, T=2, N=16, 1000 Monte
Carlo draws per step; ``step-only`` and ``+resets`` with fresh scenario draws; no bank, no FLOP count:
the step is dominated by the Monte-Carlo estimators).

Usage::

    python benchmarks/vector_throughput.py            # Table-I size (K=3, M=35, N=100, Nt=6)
    python benchmarks/vector_throughput.py --quick    # CI size, a few seconds
    python benchmarks/vector_throughput.py --env-id isac_env/RobustISAC-Continuous-v0
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import SyncVectorEnv

import isac_env
from isac_env.bank import ChannelBank
from isac_env.config import RydbergISACConfig
from isac_env.envs.robust import RobustISACEnv
from isac_env.envs.rydberg import RydbergISACEnv
from isac_env.envs.vector import RobustISACVectorEnv, RydbergISACVectorEnv

TINY = {"num_users": 2, "num_cells": 4, "num_ris": 8, "num_bs_antennas": 4, "num_clusters": 2, "num_rays": 2}
ROBUST_TINY = {"num_bs_antennas": 4, "num_ris": 6, "mc_draws": 200}
LONG = 10**9  # horizon of the step-only runs


def flops_per_step(c: RydbergISACConfig) -> dict[str, int]:
    """Real FLOPs of one env step's maths (complex MAC = 8 real FLOPs, complex mult = 6).

    Terms: factored link gains ``H_BU W + H_RU (phi * (H_BR W))`` (``N Nt K + K M (N + Nt) K`` MACs,
    ``N K`` mults; the effective channel ``H_eff`` is not formed) and their energies (3 K M K);
    sensing vectors ``H_BR^T [phi h_rt, phi dh_rt]`` (2 N Nt MACs + 2 N mults); FIM Grams
    (9 Nt + 3 K Nt + 9 K MACs), the 17 Gram products and the CRB (~200); precoder decode (~8 Nt K).
    """
    K, M, N, Nt = c.num_users, c.num_cells, c.num_ris, c.num_bs_antennas
    terms = {
        "link gains (factored) + SINR": 8 * (N * Nt * K + K * M * (N + Nt) * K) + 6 * N * K + 3 * K * M * K,
        "sensing vectors": 8 * 2 * N * Nt + 6 * 2 * N,
        "FIM / CRB": 8 * (9 * Nt + 3 * K * Nt + 9 * K) + 6 * 17 + 200,
        "decode": 8 * Nt * K + 6 * N,
    }
    terms["total"] = sum(terms.values())
    return terms


def matmul_gflops(n: int = 1024, reps: int = 3) -> float:
    """Measured complex128 matmul rate (GFLOP/s, 8 n^3 FLOPs per product)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    A @ A
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        A @ A
        best = min(best, time.perf_counter() - t)
    return 8 * n**3 / best / 1e9


def time_steps(env, steps: int, actions: np.ndarray, seed: int = 0) -> float:
    """Env-steps/s over ``steps`` vector steps after one (untimed) reset and one warm-up step."""
    env.reset(seed=seed)
    env.step(actions[0])
    t = time.perf_counter()
    for k in range(steps):
        env.step(actions[k % len(actions)])
    return env.num_envs * steps / (time.perf_counter() - t)


def robust_main(args: argparse.Namespace) -> None:
    """Native RobustISAC vector env vs ``SyncVectorEnv`` of single envs, step-only and +resets."""
    kw: dict[str, object] = {**gym.spec(args.env_id).kwargs, **(ROBUST_TINY if args.quick else {})}
    steps = args.steps or (20 if args.quick else 50)
    H = args.horizon
    proto = RobustISACEnv(**kw)
    c = proto.config
    print(f"env: {args.env_id}, config: Nt={c.num_bs_antennas} K={c.num_users} T={c.num_targets} N={c.num_ris}"
          f" b={c.phase_bits}, {c.mc_draws} MC draws ({c.mc_method})")  # fmt: skip
    print(f"cores: {len(os.sched_getaffinity(0))}, numpy {np.__version__}")
    rows = []
    for B in args.sizes:
        native_proto = RobustISACVectorEnv(B, **kw)
        native_proto.action_space.seed(1)
        actions = [native_proto.action_space.sample() for _ in range(4)]

        def native(horizon: int, B: int = B) -> RobustISACVectorEnv:
            return RobustISACVectorEnv(B, horizon=horizon, **kw)

        def sync(horizon: int, B: int = B) -> SyncVectorEnv:
            fns: list[Callable[[], RobustISACEnv]] = [lambda: RobustISACEnv(horizon=horizon, **kw)] * B
            return SyncVectorEnv(fns)

        sync_steps = max(2, min(steps, 1024 // B))
        r = {"B": B}
        r["native step"] = time_steps(native(LONG), steps, actions)
        r["sync step"] = time_steps(sync(LONG), sync_steps, actions)
        r["native +draw"] = time_steps(native(H), max(steps, H + 1), actions)
        rows.append(r)
        print(
            f"B={B:5d}: native {r['native step']:9.0f} /s (sync {r['sync step']:7.0f},"
            f" x{r['native step'] / r['sync step']:.1f}) | +resets {r['native +draw']:9.0f} /s",
            flush=True,
        )
    print("\n| B | native step-only | Sync step-only | speed-up | native +resets (draw) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['B']} | {r['native step']:,.0f} | {r['sync step']:,.0f} "
            f"| {r['native step'] / r['sync step']:.1f}x | {r['native +draw']:,.0f} |"
        )
    print(f"(horizon {H} for +resets; env-steps/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--env-id",
        default="isac_env/RydbergISAC-v0",
        choices=[i for i in isac_env.ENV_IDS if i in ("isac_env/RydbergISAC-v0",) or "Robust" in i],
        help="RydbergISAC-v0 (default, Table-I size) or a RobustISAC id",
    )
    ap.add_argument("--quick", action="store_true", help="tiny config and few steps (CI)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024])
    ap.add_argument(
        "--steps", type=int, default=None, help="timed native steps per run (default 200, quick 50)"
    )
    ap.add_argument("--horizon", type=int, default=50, help="episode length of the +resets runs")
    ap.add_argument("--bank-size", type=int, default=64)
    ap.add_argument("--max-draw-b", type=int, default=64, help="largest B for measured no-bank resets")
    args = ap.parse_args()
    if "Robust" in args.env_id:
        robust_main(args)
        return
    cfg = RydbergISACConfig(**TINY) if args.quick else RydbergISACConfig()
    steps = args.steps or (50 if args.quick else 200)
    H = args.horizon

    print(f"config: {'TINY ' + str(TINY) if args.quick else 'Table I (K=3, M=35, N=100, Nt=6)'}")
    print(f"cores: {len(os.sched_getaffinity(0))}, numpy {np.__version__}")
    t = time.perf_counter()
    bank = ChannelBank.generate(cfg, size=args.bank_size, seed=0)
    draw_s = (time.perf_counter() - t) / args.bank_size
    print(f"scenario draw: {draw_s * 1e3:.2f} ms each (bank of {args.bank_size}: {bank!r})")
    fl = flops_per_step(cfg)
    gf = matmul_gflops(512 if args.quick else 1024)
    print("FLOPs per env step: " + ", ".join(f"{k} {v:,}" for k, v in fl.items()))
    print(f"measured complex128 matmul: {gf:.1f} GFLOP/s")

    rng = np.random.default_rng(1)
    rows = []
    for B in args.sizes:
        proto = RydbergISACVectorEnv(B, cfg)
        actions = rng.uniform(-1, 1, (4, *proto.action_space.shape)).astype(np.float32)

        def native(horizon: int, use_bank: bool, B: int = B) -> RydbergISACVectorEnv:
            return RydbergISACVectorEnv(B, cfg, horizon=horizon, channel_bank=bank if use_bank else None)

        def sync(horizon: int, use_bank: bool, B: int = B) -> SyncVectorEnv:
            fns: list[Callable[[], RydbergISACEnv]] = [
                lambda: RydbergISACEnv(cfg, horizon=horizon, channel_bank=bank if use_bank else None)
            ] * B
            return SyncVectorEnv(fns)

        sync_steps = max(2, min(steps, 4096 // B))
        r = {"B": B}
        r["native step"] = time_steps(native(LONG, True), steps, actions)
        r["sync step"] = time_steps(sync(LONG, True), sync_steps, actions)
        r["native +bank"] = time_steps(native(H, True), max(steps, 2 * H), actions)
        r["sync +bank"] = time_steps(sync(H, True), max(sync_steps, H + 1), actions)
        if B <= args.max_draw_b:
            r["native +draw"] = time_steps(native(H, False), max(steps, H + 1), actions)
            r["draw est"] = False
        else:  # per env step: step cost + one draw per horizon
            r["native +draw"] = 1.0 / (1.0 / r["native step"] + draw_s / H)
            r["draw est"] = True
        rows.append(r)
        print(
            f"B={B:5d}: native {r['native step']:10.0f} /s (sync {r['sync step']:8.0f}, x{r['native step'] / r['sync step']:.1f})"
            f" | +resets bank {r['native +bank']:10.0f} (sync {r['sync +bank']:8.0f}, x{r['native +bank'] / r['sync +bank']:.1f})"
            f" | +resets draw {'~' if r['draw est'] else ''}{r['native +draw']:.0f}",
            flush=True,
        )

    print("\n| B | native step-only | Sync step-only | speed-up | native +resets (bank) | Sync +resets (bank) | speed-up "
          "| native +resets (draw) | GFLOP/s (step-only) | % of matmul |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        g = r["native step"] * fl["total"] / 1e9
        draw = f"{'~' if r['draw est'] else ''}{r['native +draw']:,.0f}"
        print(
            f"| {r['B']} | {r['native step']:,.0f} | {r['sync step']:,.0f} | {r['native step'] / r['sync step']:.1f}x "
            f"| {r['native +bank']:,.0f} | {r['sync +bank']:,.0f} | {r['native +bank'] / r['sync +bank']:.1f}x "
            f"| {draw} | {g:.2f} | {100 * g / gf:.1f}% |"
        )
    print(f"(horizon {H} for +resets; '~' = extrapolated from the {draw_s * 1e3:.1f} ms draw; env-steps/s)")


if __name__ == "__main__":
    main()
