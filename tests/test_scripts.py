"""Tiny-budget smoke runs of every script: benchmarks/, experiments/ and agents/checkpoints/reproduce.py.

Each script runs as a user would start it (a fresh ``python`` process from the repository root) with
its smallest options, and must exit 0 and print its table. The expensive ones (Table-I solves, the
all-cvxpy backend, checkpoint evaluation) are marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from isac_gym.experiments.figures import FIGURES
from tests.conftest import SMALL_RAR  # a small RydbergISAC scenario (the swept field is left out)

REPO = Path(__file__).resolve().parents[1]

SMALL_ROBUST = {"mc_draws": 64}  # fewer BS antennas make most draws infeasible


def run_script(args: list[str], timeout: float = 600) -> str:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    res = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert res.returncode == 0, f"{args}: rc {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


SCRIPTS = [
    (["benchmarks/env_throughput.py", "--quick"], "steps_per_s"),
    (["benchmarks/train_throughput.py", "--quick"], "native/dummy"),
    pytest.param(["benchmarks/vector_throughput.py", "--quick"], "native", marks=pytest.mark.slow),
    (["benchmarks/robust_env_throughput.py", "--quick", "--mc-draws", "64"], "steps/s"),
    (["benchmarks/robust_solver_time.py", "--trials", "1", "--n-values", "4"], "scheme2"),
    (
        [
            "-m",
            "isac_gym.cli",
            "trend-check",
            "robust",
            "--trials",
            "1",
            "--n-values",
            "4",
            "--schemes",
            "scheme2",
            "--workers",
            "1",
        ],
        "paired over",
    ),
    pytest.param(["benchmarks/solver_time.py", "--quick"], "cvxpy", marks=pytest.mark.slow),
    (
        ["-m", "isac_gym.cli", "trend-check", "rar", "--trials", "1", "--max-iter", "2", "--workers", "1"],
        "Proposed - GD",
    ),
    # the batched gradient solver against GD on 4 tiny draws and an 8-trial sweep point (issue 14)
    (["benchmarks/batched_solver.py", "--quick"], "sweep point"),
    # measures the shipped checkpoints without rewriting their eval.yaml
    (["agents/checkpoints/reproduce.py", "--eval-only", "--episodes", "1", "--no-save"], "first_decision"),
]


@pytest.mark.parametrize(
    ("args", "expect"), SCRIPTS, ids=lambda a: " ".join(a[:4]) if isinstance(a, list) else None
)
def test_script_smoke(args: list[str], expect: str) -> None:
    out = run_script(args)
    assert expect in out, out[-2000:]


def _figure_args(name: str, out_dir: Path) -> list[str]:
    fig = FIGURES[name]
    if fig.env_id.startswith("isac_env/Rydberg"):
        small, schemes = SMALL_RAR, []
    else:
        small, schemes = SMALL_ROBUST, ["--schemes", "Scheme 2"]  # GEMM: the fast robust scheme
    sets = [a for k, v in small.items() if k != fig.x for a in ("--set", f"{k}={v}")]
    return ["--quick", "--trials", "1", "--workers", "1", "--out-dir", str(out_dir), *sets, *schemes]


#: one figure script per paper in the default run; every script is a one-line call of `isac figure`
FAST_FIGURES = ("rar-fig3b", "robust-fig2")


@pytest.mark.parametrize(
    "name", [n if n in FAST_FIGURES else pytest.param(n, marks=pytest.mark.slow) for n in sorted(FIGURES)]
)
def test_figure_script_smoke(tmp_path: Path, name: str) -> None:
    """``python -m isac_gym.experiments.<name>`` (the thin per-figure scripts) writes the figure's CSV and PNG."""
    module = "experiments." + name.replace("-", "_")
    run_script(["-m", module, *_figure_args(name, tmp_path)])
    assert (tmp_path / f"{name}.csv").stat().st_size > 0
    assert (tmp_path / f"{name}.png").stat().st_size > 0


def test_fp_vs_gd_smoke() -> None:
    """``benchmarks/fp_vs_gd.py --quick`` prints its three tables, the FP surrogate is tight at the
    probed point, and the first iterations of the short and long runs coincide."""
    out = run_script(["benchmarks/fp_vs_gd.py", "--quick"])
    for head in ("[1] Iterations", "[2] Warm starts", "[3] phi-block", "(c) Riemannian on L=U-Psi"):
        assert head in out, out[-2000:]
    assert "identical on 2/2 draws" in out, out[-2000:]
    tight = float(out.split("(tightness) max ")[1].split()[0])
    assert tight < 1e-9, out[-2000:]


#: the torch-backend scripts (skipped without torch): tiny PPO runs and the throughput benchmark
_PPO = ["examples/ppo_torch.py", "--num-steps", "8"]
_RAR_SMALL = [a for k, v in SMALL_RAR.items() for a in ("--set", f"{k}={v}")]
_ROBUST = ["--set", "num_bs_antennas=4", "--set", "num_ris=6", "--set", "mc_draws=32"]
TORCH_SCRIPTS = [
    ([*_PPO, "--total-steps", "256", "--num-envs", "8", *_RAR_SMALL], "sum_rate"),
    (
        [*_PPO, "--env-id", "isac_env/RobustISAC-v0", "--total-steps", "128", "--num-envs", "4", *_ROBUST],
        "dbm",
    ),
    (["benchmarks/torch_throughput.py", "--quick"], "roofline"),
]


@pytest.mark.parametrize(("args", "expect"), TORCH_SCRIPTS, ids=["ppo", "ppo_robust", "torch_throughput"])
def test_torch_script_smoke(args: list[str], expect: str) -> None:
    pytest.importorskip("torch")
    out = run_script(args)
    assert expect in out, out[-2000:]
    if args[0] == "examples/ppo_torch.py":  # every iteration logged a finite sum rate / power and feasibility
        import math

        rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
        ok = all(math.isfinite(float(r[4])) and 0.0 <= float(r[5]) <= 1.0 for r in rows)
        assert rows and ok, out[-2000:]


def test_channel_draw_smoke() -> None:
    """benchmarks/channel_draw.py: NumPy and batched torch draw times of both tasks (tiny configs)."""
    pytest.importorskip("torch")
    out = run_script(["benchmarks/channel_draw.py", "--quick"])
    assert "ms/env" in out and out.count("torch") >= 8, out[-2000:]
