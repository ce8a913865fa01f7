"""W&B tracking of ``train`` (rl-zoo3's ``--track`` route): wiring checked with a stand-in ``wandb``."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("stable_baselines3")

from click.testing import CliRunner
from stable_baselines3.common.callbacks import BaseCallback

from isac_gym.agents import train as tr
from isac_gym.cli import main
from tests.agents.test_train import TINY, TINY_HP


class _Run:
    def __init__(self, calls: dict[str, Any], **kw: Any) -> None:
        calls["init"] = kw
        self.calls = calls

    def finish(self) -> None:
        self.calls["finished"] = True


def _fake_wandb(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {"steps": 0}

    class WandbCallback(BaseCallback):
        def _on_step(self) -> bool:
            calls["steps"] += 1
            return True

    wandb = types.ModuleType("wandb")
    wandb.init = lambda **kw: _Run(calls, **kw)  # type: ignore[attr-defined]
    integration = types.ModuleType("wandb.integration")
    sb3 = types.ModuleType("wandb.integration.sb3")
    sb3.WandbCallback = WandbCallback  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    monkeypatch.setitem(sys.modules, "wandb.integration", integration)
    monkeypatch.setitem(sys.modules, "wandb.integration.sb3", sb3)
    return calls


def test_train_tracks_with_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_wandb(monkeypatch)
    run = tr.train(
        "isac_env/RydbergISAC-v0", "ppo", total_timesteps=16, env_kwargs=TINY, hyperparams=TINY_HP["ppo"],
        run_dir=tmp_path, n_envs=1, progress_bar=False, checkpoint_freq=0,
        wandb_project="isac-test", wandb_entity="lab",
    )  # fmt: skip
    init = calls["init"]
    assert init["project"] == "isac-test" and init["entity"] == "lab" and init["name"] == run.name
    assert init["sync_tensorboard"] is True and init["dir"] == str(run)
    assert init["config"]["env_id"] == "isac_env/RydbergISAC-v0" and init["config"]["algo"] == "ppo"
    assert calls["finished"] is True
    assert calls["steps"] == 16  # the SB3 callback saw every env step


def test_missing_wandb_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    with pytest.raises(ImportError, match=r"isac-gym\[track\]"):
        tr.train("isac_env/RydbergISAC-v0", "ppo", total_timesteps=16, run_dir=tmp_path, wandb_project="p")
    assert not any(tmp_path.iterdir())  # failed before any run folder was written
    res = CliRunner().invoke(
        main, ["train", "isac_env/RydbergISAC-v0", "--wandb-project", "p", "--run-dir", str(tmp_path)]
    )
    assert res.exit_code != 0 and "isac-gym[track]" in res.output
