"""Env-steps/s of the torch vector env against the NumPy native vector env, with the memory roofline.

For B in ``--sizes`` (default 64, 1024, 8192; Table-I size K=3, M=35, N=100, Nt=6) it times, with
random actions drawn once before the timing,

* ``numpy``: ``gym.make_vec(id, num_envs=B)`` (the NumPy native vector env, complex128);
* ``torch``: ``gym.make_vec(id, num_envs=B, backend="torch", device=..., dtype=complex64)``;

each ``step-only`` (one static episode longer than the run: the per-step cost) and ``+resets``
(horizon ``--horizon``, default 50, resets drawn from a :class:`~isac_env.bank.ChannelBank`: on the
device for torch, a full episode plus its autoreset step timed), and prints the torch/NumPy ratios.

Memory roofline: one env step reads at least the RIS-receiver channels ``H_RU`` (``K M N`` complex
entries, 84 KB per env in complex64, 168 KB in complex128), the largest array of the state. The
bandwidth is measured in the same run, single-threaded, as a large NumPy copy (bytes read plus
written over the time), so ``roofline = bandwidth / bytes(H_RU per env)`` env-steps/s, and each rate
is printed as a fraction of the roofline of its precision. It also times one batched scenario draw
on the device (``rar.sample_scenario`` with a :class:`~isac_env.physics.random.BatchGenerator`)
against the NumPy draw, per env.

Usage::

    python benchmarks/torch_throughput.py                  # Table I, CPU, B = 64, 1024, 8192
    python benchmarks/torch_throughput.py --quick          # tiny config, a few seconds (CI)
    python benchmarks/torch_throughput.py --device cuda    # GPU: B = 2^10 ... 2^18 (NumPy up to 8192)

Timings depend on the machine's load: measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import isac_env  # noqa: F401  (registers the ids)
from isac_env.bank import ChannelBank
from isac_env.config import RydbergISACConfig
from isac_env.physics import rar
from isac_env.physics.random import BatchGenerator

TINY = {"num_users": 2, "num_cells": 4, "num_ris": 8, "num_bs_antennas": 4, "num_clusters": 2, "num_rays": 2}
LONG = 10**9  # horizon of the step-only runs


def memory_bandwidth(nbytes: int, reps: int = 5) -> float:
    """Single-thread memory bandwidth (bytes/s): a NumPy copy of ``nbytes`` (read + write), best of ``reps``."""
    a = np.ones(nbytes // 8)
    b = np.empty_like(a)
    np.copyto(b, a)
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def h_ru_bytes(cfg: RydbergISACConfig, itemsize: int) -> int:
    """Bytes of ``H_RU`` per env (``K M N`` complex entries of ``itemsize`` bytes)."""
    return cfg.num_users * cfg.num_cells * cfg.num_ris * itemsize


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(env: Any, actions: list[Any], steps: int, device: torch.device | None, min_time: float) -> float:
    """Env-steps/s over at least ``steps`` vector steps (more until ``min_time`` s) after one untimed
    reset and warm-up step; ``device`` is synchronised around the timing (torch)."""
    env.reset(seed=0)
    env.step(actions[0])
    if device is not None:
        sync(device)
    n, t = 0, time.perf_counter()
    while n < steps or time.perf_counter() - t < min_time:
        env.step(actions[n % len(actions)])
        n += 1
        if device is not None and n % 8 == 0:
            sync(device)
    if device is not None:
        sync(device)
    return env.num_envs * n / (time.perf_counter() - t)


def draw_times(cfg: RydbergISACConfig, B: int, device: torch.device, dtype: Any) -> tuple[float, float]:
    """Seconds per env of one batched device draw of ``B`` scenarios and of one NumPy draw."""
    gen = BatchGenerator(list(range(B)), device=device, dtype=dtype)
    rar.sample_scenario(cfg, gen.rows(slice(0, 1)))  # warm-up
    sync(device)
    t = time.perf_counter()
    rar.sample_scenario(cfg, gen)
    sync(device)
    t_torch = (time.perf_counter() - t) / B
    rng = np.random.default_rng(0)
    n = 2 if cfg.num_ris > 50 else 8
    t = time.perf_counter()
    for _ in range(n):
        rar.sample_scenario(cfg, rng)
    return t_torch, (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env-id", default="isac_env/RydbergISAC-v0")
    ap.add_argument("--quick", action="store_true", help="tiny config and few steps (CI)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", choices=["complex64", "complex128"], default="complex64")
    ap.add_argument("--sizes", type=int, nargs="+", default=None)
    ap.add_argument("--numpy-max-b", type=int, default=8192, help="largest B timed for the NumPy env")
    ap.add_argument("--steps", type=int, default=None, help="least timed steps per step-only run")
    ap.add_argument("--min-time", type=float, default=None, help="least seconds per step-only run")
    ap.add_argument("--horizon", type=int, default=50, help="episode length of the +resets runs")
    ap.add_argument("--bank-size", type=int, default=None)
    ap.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's, one per core)"
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    dtype = getattr(torch, args.dtype)
    sizes = args.sizes or (
        [8, 64] if args.quick else [2**10, 2**14, 2**16, 2**18] if cuda else [64, 1024, 8192]
    )
    steps = args.steps or (5 if args.quick else 20)
    min_time = args.min_time if args.min_time is not None else (0.2 if args.quick else 2.0)
    H = 4 if args.quick and args.horizon == 50 else args.horizon
    kw: dict[str, Any] = dict(TINY) if args.quick else {}
    cfg = gym.make(args.env_id, **kw).unwrapped.config
    bank = ChannelBank.generate(cfg, args.bank_size or (8 if args.quick else 64), seed=0)

    bw = memory_bandwidth((64 if args.quick else 512) << 20)
    itemsize = 8 if dtype == torch.complex64 else 16
    b_t, b_np = h_ru_bytes(cfg, itemsize), h_ru_bytes(cfg, 16)
    roof_t, roof_np = bw / b_t, bw / b_np
    dev_name = torch.cuda.get_device_name(device) if cuda else f"CPU ({len(os.sched_getaffinity(0))} cores)"
    print(
        f"env: {args.env_id}, config: {'TINY ' + str(TINY) if args.quick else 'Table I (K=3, M=35, N=100, Nt=6)'}"
    )
    print(
        f"device: {dev_name}; torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}"
    )
    print(f"single-thread memory bandwidth (NumPy copy, read + write): {bw / 1e9:.1f} GB/s")
    print(
        f"H_RU per env: {b_t / 1e3:.1f} kB ({args.dtype}), {b_np / 1e3:.1f} kB (complex128) -> roofline "
        f"{roof_t:,.0f} env-steps/s ({args.dtype}), {roof_np:,.0f} (complex128)"
    )
    t_draw, t_np_draw = draw_times(cfg, 8 if args.quick else 64, device, dtype)
    print(
        f"scenario draw: {t_draw * 1e3:.2f} ms per env (torch, batched on {device.type}, {args.dtype}), "
        f"{t_np_draw * 1e3:.2f} ms (NumPy, one at a time)"
    )

    rows = []
    for B in sizes:
        make_t = lambda horizon, B=B: gym.make_vec(  # noqa: E731
            args.env_id, num_envs=B, backend="torch", device=device, dtype=dtype,
            horizon=horizon, channel_bank=bank, **kw,
        )  # fmt: skip
        env = make_t(LONG)
        space = env.action_space
        space.seed(1)
        acts_np = [space.sample() for _ in range(4)]
        acts_t = [
            {k: torch.as_tensor(v, device=device) for k, v in a.items()}
            if isinstance(a, dict)
            else torch.as_tensor(a, device=device)
            for a in acts_np
        ]
        r: dict[str, Any] = {"B": B}
        r["torch step"] = timed(env, acts_t, steps, device, min_time)
        del env
        r["torch +resets"] = timed(make_t(H), acts_t, H + 1, device, 0.0)
        if B <= args.numpy_max_b:
            make_n = lambda horizon, B=B: gym.make_vec(  # noqa: E731
                args.env_id, num_envs=B, horizon=horizon, channel_bank=bank, **kw
            )
            r["numpy step"] = timed(make_n(LONG), acts_np, max(2, steps // 4), None, min_time)
            r["numpy +resets"] = timed(make_n(H), acts_np, H + 1, None, 0.0)
        if cuda:
            torch.cuda.empty_cache()
        rows.append(r)
        np_part = (
            f" | numpy {r['numpy step']:10,.0f} /s, +resets {r['numpy +resets']:10,.0f} /s"
            f" | x{r['torch step'] / r['numpy step']:.1f} / x{r['torch +resets'] / r['numpy +resets']:.1f}"
            if "numpy step" in r
            else ""
        )
        print(
            f"B={B:7d}: torch {r['torch step']:12,.0f} /s, +resets {r['torch +resets']:12,.0f} /s{np_part}",
            flush=True,
        )

    print(
        f"\n| B | torch {args.dtype} step-only | torch +resets (bank) | NumPy step-only | NumPy +resets (bank) "
        f"| ratio step-only | ratio +resets | torch / roofline | NumPy / roofline |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "numpy step" in r:
            np_cols = (
                f"{r['numpy step']:,.0f} | {r['numpy +resets']:,.0f} | {r['torch step'] / r['numpy step']:.1f}x "
                f"| {r['torch +resets'] / r['numpy +resets']:.1f}x"
            )
            np_roof = f"{r['numpy step'] / roof_np:.1%}"
        else:
            np_cols, np_roof = "- | - | - | -", "-"
        print(
            f"| {r['B']} | {r['torch step']:,.0f} | {r['torch +resets']:,.0f} | {np_cols} "
            f"| {r['torch step'] / roof_t:.1%} | {np_roof} |"
        )
    print(
        f"(env-steps/s; +resets: horizon {H}, one episode and its autoreset step timed; roofline: "
        f"{bw / 1e9:.1f} GB/s over H_RU per env, {roof_t:,.0f} /s in {args.dtype}, {roof_np:,.0f} /s in complex128; "
        "device time only for torch on CUDA)"
    )


if __name__ == "__main__":
    main()
