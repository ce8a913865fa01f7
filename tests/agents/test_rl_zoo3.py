"""rl-baselines3-zoo reads agents/hyperparams/*.yml as they are: `rl_zoo3 train --gym-packages isac_env`.

Each test runs the zoo's own trainer in a subprocess (a tiny budget on a small scenario), then checks
that the zoo used our YAML entry unchanged and that the saved model acts in the same env.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("rl_zoo3")
pytest.importorskip("stable_baselines3")

import isac_env  # noqa: F401
from isac_gym.agents import train as tr

REPO = Path(__file__).resolve().parents[2]

#: (algo, env id, zoo hyperparameter overrides that shrink the run)
CASES = [
    ("ppo", "isac_env/RydbergISAC-v0", ["n_steps:16", "batch_size:16", "n_epochs:1"]),
    # Dict action: the YAML's env_wrapper (isac_env.wrappers.FlattenDictAction) is applied by the zoo
    ("td3", "isac_env/RobustISAC-v0", ["learning_starts:16", "batch_size:8"]),
    pytest.param(
        "sac",
        "isac_env/RydbergISAC-Discrete-v0",
        ["learning_starts:16", "batch_size:8"],
        marks=pytest.mark.slow,
    ),
]
SMALL = {
    "rydberg": ["num_ris:8", "num_users:2", "num_cells:4"],
    "robust": ["num_bs_antennas:4", "num_ris:6", "mc_draws:64"],
}


def _zoo_train(tmp_path: Path, algo: str, env_id: str, overrides: list[str]) -> Path:
    kind = "robust" if "Robust" in env_id else "rydberg"
    cmd = [
        sys.executable,
        "-m",
        "rl_zoo3.train",
        "--algo",
        algo,
        "--env",
        env_id,
        "--gym-packages",
        "isac_env",
        "--conf-file",
        str(REPO / "agents" / "hyperparams" / f"{algo}.yml"),
        "--env-kwargs",
        "obs_mode:'effective'",
        "horizon:4",
        *SMALL[kind],
        "--hyperparams",
        *overrides,
        "-n",
        "32",
        "--seed",
        "0",
        "--eval-freq",
        "-1",
        "--n-eval-envs",
        "1",
        "--device",
        "cpu",
        "-f",
        str(tmp_path),
    ]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    name = env_id.replace("/", "-")
    runs = sorted((tmp_path / algo).glob(f"{name}_*"))
    assert len(runs) == 1, list((tmp_path / algo).iterdir())
    return runs[0]


@pytest.mark.parametrize(
    ("algo", "env_id", "overrides"),
    CASES,
    ids=["ppo-RydbergISAC", "td3-RobustISAC-Dict", "sac-RydbergISAC-Discrete"],
)
def test_rl_zoo3_trains_from_our_hyperparams(tmp_path, algo, env_id, overrides):
    run = _zoo_train(tmp_path, algo, env_id, overrides)
    name = env_id.replace("/", "-")
    zoo_hp = dict(yaml.unsafe_load((run / name / "config.yml").read_text()))
    ours = tr.load_hyperparams(algo, env_id)
    changed = {o.split(":", 1)[0] for o in overrides}
    for key, val in ours.items():
        if key not in changed:
            assert zoo_hp[key] == val, key  # the zoo read our entry unchanged
    assert (run / f"{name}.zip").is_file()

    # the zoo's model acts in our env, built the way isac_gym.agents.train builds it (same wrappers)
    ekw = {"obs_mode": "effective", "horizon": 4}
    for kv in SMALL["robust" if "Robust" in env_id else "rydberg"]:
        k, v = kv.split(":")
        ekw[k] = int(v)
    env = tr.make_env(env_id, ekw, ours.get("env_wrapper"), record_metrics=False)
    model = getattr(__import__("stable_baselines3"), algo.upper()).load(run / f"{name}.zip", device="cpu")
    assert model.observation_space == env.observation_space
    assert model.action_space == env.action_space
    obs, _ = env.reset(seed=3)
    action, _ = model.predict(obs, deterministic=True)
    _, reward, _, _, info = env.step(action)
    assert np.isfinite(reward) and isinstance(info["metrics"], dict)
