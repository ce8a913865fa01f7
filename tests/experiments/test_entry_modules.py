"""``python -m isac_gym.experiments.<figure module>``: a standalone command with its own usage line."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(
    p.stem for p in (ROOT / "experiments").glob("*_fig*.py") if p.stem.startswith(("rar_", "robust_"))
)


def test_every_figure_has_an_entry_module() -> None:
    from isac_gym.experiments.figures import FIGURES

    assert {m.replace("_", "-") for m in MODULES} == set(FIGURES)


@pytest.mark.parametrize("module", ["rar_fig4a", "robust_fig5"])
def test_help_shows_the_module_as_the_program(module: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", f"isac_gym.experiments.{module}", "-h"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    usage = res.stdout.splitlines()[0]
    assert usage == f"Usage: python -m isac_gym.experiments.{module} [OPTIONS]"
    assert "--trials" in res.stdout and "--quick" in res.stdout and "NAME" not in res.stdout
    assert f"isac figure {module.replace('_', '-')}" in res.stdout


def test_refusal_exit_code_in_a_real_process(tmp_path: pathlib.Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "isac_gym.experiments.rar_fig4a", "--workers", "1", "--out-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert res.returncode == 2 and "isac: error:" in res.stderr and "--trials N" in res.stderr
