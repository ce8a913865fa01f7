"""Channel-draw time per env: NumPy (one scenario per call) against torch batched draws.

Times ``rar.sample_scenario`` at Table-I size (K=3, M=35, N=100, Nt=6, P=460 paths, the paper's
``"mnkl"`` polarization, whose ``M N P`` couplings dominate) and ``robust.sample_scenario``:

* ``numpy``: one draw per call from an ``np.random.Generator`` (the reference stream), ms per draw;
* ``torch``: one call draws ``B`` scenarios from a
  :class:`~isac_env.physics.random.BatchGenerator` (one counter-based stream per row) on
  ``--device``, for B in ``--batch`` and both precisions (complex64 / complex128), ms per env;

and prints the NumPy/torch ratio. Each figure is the median of ``--reps`` timed calls after one
warm-up call; CPU threads are torch's default unless ``--threads`` is given (NumPy's BLAS is not
involved in the draw).

Usage::

    python benchmarks/channel_draw.py                      # Table I, CPU, B = 16, 64, 256
    python benchmarks/channel_draw.py --threads 1          # single-threaded torch
    python benchmarks/channel_draw.py --device cuda        # on a GPU (adds B = 1024, 4096)
    python benchmarks/channel_draw.py --quick              # tiny scenario, a few seconds (CI)

Timings depend on the machine's load: measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch

from isac_env.config import RobustISACConfig, RydbergISACConfig
from isac_env.physics import rar, robust
from isac_env.physics.random import BatchGenerator

TINY_RAR = {
    "num_users": 2,
    "num_cells": 4,
    "num_ris": 8,
    "num_bs_antennas": 4,
    "num_clusters": 2,
    "num_rays": 2,
}
TINY_ROBUST = {"num_bs_antennas": 4, "num_ris": 6}


def _median_s(fn: Callable[[], Any], reps: int, sync: Callable[[], None]) -> float:
    fn()
    sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, nargs="+", default=None, help="batch sizes B of the torch draws")
    p.add_argument("--reps", type=int, default=3, help="timed calls per figure (median)")
    p.add_argument("--numpy-reps", type=int, default=10, help="timed NumPy draws (median)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--quick", action="store_true", help="tiny scenarios, B = 4, 8, one rep (smoke run)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if args.quick:
        kinds = {
            "rar": (rar, RydbergISACConfig(**TINY_RAR)),
            "robust": (robust, RobustISACConfig(**TINY_ROBUST)),
        }
        batches, args.reps, args.numpy_reps = args.batch or [4, 8], 1, 2
    else:
        kinds = {"rar": (rar, RydbergISACConfig()), "robust": (robust, RobustISACConfig())}
        batches = args.batch or ([16, 64, 256] + ([1024, 4096] if device.type == "cuda" else []))
    print(f"device {device}, torch threads {torch.get_num_threads()}, reps {args.reps} (median)")
    rows: list[dict[str, Any]] = []
    for name, (mod, cfg) in kinds.items():
        rng = np.random.default_rng(0)
        t_np = _median_s(partial(mod.sample_scenario, cfg, rng), args.numpy_reps, lambda: None) * 1e3
        print(f"\n{name}: {'Table I' if not args.quick else 'tiny'} config")
        print(f"{'backend':>8s} {'dtype':>10s} {'B':>6s} {'ms/env':>9s} {'numpy/torch':>12s}")
        print(f"{'numpy':>8s} {'complex128':>10s} {1:6d} {t_np:9.2f} {1.0:12.2f}")
        rows.append({"kind": name, "backend": "numpy", "dtype": "complex128", "B": 1, "ms_per_env": t_np})
        for dtype in (torch.complex64, torch.complex128):
            for B in batches:
                gen = BatchGenerator(list(range(B)), device=device, dtype=dtype)
                t = _median_s(partial(mod.sample_scenario, cfg, gen), args.reps, sync) * 1e3 / B
                dt = str(dtype).removeprefix("torch.")
                print(f"{'torch':>8s} {dt:>10s} {B:6d} {t:9.2f} {t_np / t:12.2f}")
                rows.append({"kind": name, "backend": "torch", "dtype": dt, "B": B, "ms_per_env": t})
    return rows


if __name__ == "__main__":
    main()
