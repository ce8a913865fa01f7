"""Shipped checkpoints resolve by name (package data), from any working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from isac_gym.agents.serialization import checkpoints_dir, resolve_run_folder, shipped_checkpoint_names

pytest.importorskip("stable_baselines3")


def test_shipped_names_are_the_package_data_folders() -> None:
    names = shipped_checkpoint_names()
    assert {"ppo_RydbergISAC-v0", "sac_RydbergISAC-v0", "ppo_RobustISAC-Continuous-v0"} <= set(names)
    for n in names:
        assert (checkpoints_dir() / n / "config.yaml").is_file()
        assert resolve_run_folder(n) == checkpoints_dir() / n


def test_load_policy_by_name_outside_the_repo(tmp_path: Path) -> None:
    code = (
        "import gymnasium as gym, numpy as np, isac_env\n"
        "from isac_gym.agents.train import load_policy, make_env_from_run\n"
        "pol = load_policy('ppo_RydbergISAC-v0')\n"
        "env = make_env_from_run('ppo_RydbergISAC-v0', horizon=1)\n"
        "obs, _ = env.reset(seed=0)\n"
        "a, _ = pol.predict(obs, deterministic=True)\n"
        "assert env.action_space.contains(a.astype(env.action_space.dtype))\n"
        "_, r, *_ = env.step(a)\n"
        "assert np.isfinite(r)\n"
        "print('ok')\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().endswith("ok")


def test_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(FileNotFoundError, match="ppo_RydbergISAC-v0"):
        resolve_run_folder("ppo_NoSuchEnv-v0")


def test_an_existing_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ppo_RydbergISAC-v0").mkdir()
    assert resolve_run_folder("ppo_RydbergISAC-v0") == Path("ppo_RydbergISAC-v0")


def test_cli_policy_spec_by_name() -> None:
    from isac_gym.agents.evaluate import parse_policy

    label, spec = parse_policy("ppo_RydbergISAC-v0")
    assert label == "ppo_RydbergISAC-v0"
    assert Path(spec.path) == checkpoints_dir() / "ppo_RydbergISAC-v0"
