"""Agent folders load without running code: policy.pth + config.yaml + vecnormalize.npz, no pickle, no eval.

A malicious pickle (an object whose ``__reduce__`` creates a marker file) is planted in ``model.zip``'s
``data`` and in ``vecnormalize.pkl``; the default load (``load_policy`` and ``isac evaluate -p``) must
not execute it, and the explicit ``trust_checkpoint=True`` route shows the plant is live.
"""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("stable_baselines3")

from click.testing import CliRunner

from isac_gym.agents import train as tr
from isac_gym.agents.serialization import WRAPPERS, parse_kwargs_string, resolve_wrapper
from isac_gym.cli import main
from tests.agents.test_train import TINY_HP, _train
from tests.conftest import SMALL_RAR

HYPERPARAMS = Path(tr.__file__).resolve().parent / "hyperparams"
CHECKPOINTS = Path(tr.__file__).resolve().parent / "checkpoints"


class _Marker:
    """Unpickling this object creates the file ``path`` (stands for arbitrary code)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def _plant_zip(zip_path: Path, marker: Path) -> None:
    """Replace one ``data`` entry of an SB3 zip by a serialized :class:`_Marker` (SB3 unpickles it on load)."""
    with zipfile.ZipFile(zip_path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    data = json.loads(members["data"])
    payload = base64.b64encode(pickle.dumps(_Marker(marker))).decode()
    data["policy_class"] = {":type:": "<class 'type'>", ":serialized:": payload}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)


def _plant_pkl(run: Path, marker: Path) -> None:
    (run / "vecnormalize.pkl").write_bytes(pickle.dumps(_Marker(marker)))


@pytest.fixture(scope="module")
def norm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny PPO run with observation normalization (vecnormalize.npz + .pkl)."""
    hp = {**TINY_HP["ppo"], "normalize": "dict(norm_obs=True, norm_reward=False)"}
    return _train(tmp_path_factory.mktemp("norm"), "ppo", hyperparams=hp, checkpoint_freq=0)


def _copy(run: Path, dest: Path) -> Path:
    return Path(shutil.copytree(run, dest / run.name))


def _trusted(fn: object, *args: object, **kwargs: object) -> None:
    """Call a trusted load whose planted pickle breaks it somewhere after running (errors ignored)."""
    try:
        fn(*args, **kwargs)  # type: ignore[operator]
    except Exception:
        pass


def _evaluate(run: Path, out: Path, *extra: str) -> object:
    sets = [f"--set={k}={v}" for k, v in SMALL_RAR.items()]
    args = ["evaluate", "--quick", *sets, "-p", f"x={run}", "--workers", "1", "--out", str(out), *extra]
    return CliRunner().invoke(main, args)


# ------------------------------------------------------------------------------- malicious pickle
def test_malicious_pickles_in_a_safe_run_folder_are_not_executed(norm_run, tmp_path):
    run = _copy(norm_run, tmp_path)
    zip_marker, pkl_marker = tmp_path / "zip_ran", tmp_path / "pkl_ran"
    _plant_zip(run / "model.zip", zip_marker)
    _plant_pkl(run, pkl_marker)

    policy = tr.load_policy(run)
    env = tr.make_env_from_run(run)
    obs, _ = env.reset(seed=0)
    action, _ = policy.predict(obs, deterministic=True)
    assert env.action_space.contains(action)
    assert hasattr(policy, "vecnorm")  # normalization came from vecnormalize.npz

    res = _evaluate(run, tmp_path / "rows.csv")
    assert res.exit_code == 0, res.output
    assert "x" in set(pd.read_csv(tmp_path / "rows.csv")["policy"])  # the agent did play
    assert not zip_marker.exists() and not pkl_marker.exists()

    # the plant is live: the explicit trusted route unpickles it
    _trusted(tr.load_agent, run / "model.zip", trust_checkpoint=True)
    assert zip_marker.exists()


def test_sb3_only_folder_needs_trust_checkpoint(norm_run, tmp_path):
    run = _copy(norm_run, tmp_path)
    (run / "policy.pth").unlink()
    (run / "vecnormalize.npz").unlink()
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    del cfg["policy_spec"]
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    zip_marker, pkl_marker = tmp_path / "zip_ran", tmp_path / "pkl_ran"
    _plant_zip(run / "model.zip", zip_marker)
    _plant_pkl(run, pkl_marker)

    for target in (run, run / "model.zip"):
        with pytest.raises(ValueError, match="--trust-checkpoint") as err:
            tr.load_policy(target)
        assert "arbitrary code" in str(err.value) and "\n" not in str(err.value)
    res = _evaluate(run, tmp_path / "rows.csv")
    assert res.exit_code != 0 and "--trust-checkpoint" in res.output
    assert not zip_marker.exists() and not pkl_marker.exists()

    _trusted(tr.load_policy, run, trust_checkpoint=True)  # explicit trust: the zip is unpickled
    assert zip_marker.exists()


def test_trusted_zip_route_reads_the_pickled_vecnormalize(norm_run, tmp_path):
    run = _copy(norm_run, tmp_path)
    (run / "vecnormalize.npz").unlink()
    marker = tmp_path / "pkl_ran"
    _plant_pkl(run, marker)
    with pytest.raises(ValueError, match=r"vecnormalize\.npz"):  # the safe route never reads the pickle
        tr.load_policy(run)
    assert not marker.exists()
    _trusted(tr.load_policy, run / "model.zip", trust_checkpoint=True)  # the trusted route falls back to it
    assert marker.exists()


# ------------------------------------------------------------------------------- safe == SB3
def _obs_batch(run: Path, n: int = 6) -> np.ndarray:
    env = tr.make_env_from_run(run)
    obs = [env.reset(seed=s)[0] for s in range(n // 2)]
    env.observation_space.seed(0)
    obs += [env.observation_space.sample() for _ in range(n - n // 2)]
    return np.stack(obs)


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_safe_load_acts_like_sb3_load(tmp_path, algo):
    run = _train(tmp_path, algo, checkpoint_freq=0)
    safe = tr.load_policy(run)
    sb3 = tr.load_policy(run / "model.zip", trust_checkpoint=True)
    assert type(sb3).__name__ == algo.upper() and type(safe).__name__ != algo.upper()
    assert safe.observation_space == sb3.observation_space and safe.action_space == sb3.action_space
    obs = _obs_batch(run)
    np.testing.assert_array_equal(
        safe.predict(obs, deterministic=True)[0], sb3.predict(obs, deterministic=True)[0]
    )
    for o in obs[:2]:
        np.testing.assert_array_equal(
            safe.predict(o, deterministic=True)[0], sb3.predict(o, deterministic=True)[0]
        )


def test_safe_normalization_equals_vecnormalize(norm_run, tmp_path):
    from stable_baselines3.common.vec_env import VecNormalize

    safe = tr.load_policy(norm_run)
    legacy_run = _copy(norm_run, tmp_path)
    (legacy_run / "vecnormalize.npz").unlink()  # the trusted zip route then reads SB3's vecnormalize.pkl
    sb3 = tr.load_policy(legacy_run / "model.zip", trust_checkpoint=True)
    assert isinstance(sb3.vecnorm, VecNormalize)
    obs = _obs_batch(norm_run)
    np.testing.assert_array_equal(safe.vecnorm.normalize_obs(obs), sb3.vecnorm.normalize_obs(obs))
    np.testing.assert_array_equal(
        safe.predict(obs, deterministic=True)[0], sb3.predict(obs, deterministic=True)[0]
    )


@pytest.mark.parametrize("name", sorted(p.parent.name for p in CHECKPOINTS.glob("*/model.zip")))
def test_shipped_checkpoints_have_the_safe_format(name):
    run = CHECKPOINTS / name
    assert (run / "policy.pth").is_file()
    assert tr.checkpoint_kind(run) == "safe"
    spec = tr.load_run_config(run)["policy_spec"]
    assert spec["algo"] == tr.load_run_config(run)["algo"] and spec["policy"] == "MlpPolicy"


# ------------------------------------------------------------------------------- bad files
def test_corrupt_policy_pth_and_invalid_config_are_one_line_value_errors(norm_run, tmp_path):
    run = _copy(norm_run, tmp_path)
    (run / "policy.pth").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"policy\.pth") as err:
        tr.load_policy(run)
    assert "\n" not in str(err.value)

    run2 = _copy(norm_run, tmp_path / "b")
    (run2 / "config.yaml").write_text("algo: [ppo\n")
    with pytest.raises(ValueError, match=r"config\.yaml") as err:
        tr.load_policy(run2)
    assert "\n" not in str(err.value)

    for key, value in (("policy", "builtins.eval"), ("algo", "os")):
        run3 = _copy(norm_run, tmp_path / f"c_{key}")
        cfg = yaml.safe_load((run3 / "config.yaml").read_text())
        cfg["policy_spec"][key] = value
        (run3 / "config.yaml").write_text(yaml.safe_dump(cfg))
        with pytest.raises(ValueError, match=r"config\.yaml"):
            tr.load_policy(run3)
    run4 = _copy(norm_run, tmp_path / "d")
    cfg = yaml.safe_load((run4 / "config.yaml").read_text())
    cfg["policy_spec"]["kwargs"]["activation_fn"] = "os.system"
    (run4 / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="not an allowed class"):
        tr.load_policy(run4)


def test_corrupt_vecnormalize_npz_is_a_value_error(norm_run, tmp_path):
    run = _copy(norm_run, tmp_path)
    (run / "vecnormalize.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=r"vecnormalize\.npz"):
        tr.load_policy(run)


# ------------------------------------------------------------------------------- policy_kwargs parser
def _yaml_strings() -> list[str]:
    out = []
    for file in sorted(HYPERPARAMS.glob("*.yml")):
        for entry in (yaml.safe_load(file.read_text()) or {}).values():
            for key in ("policy_kwargs", "replay_buffer_kwargs", "normalize"):
                if isinstance(entry, dict) and isinstance(entry.get(key), str):
                    out.append(entry[key])
    return [*sorted(set(out)), tr._FALLBACK_HYPERPARAMS["policy_kwargs"]]


@pytest.mark.parametrize("text", _yaml_strings())
def test_parser_accepts_every_hyperparams_string(text):
    parsed = parse_kwargs_string(text)
    assert isinstance(parsed, dict) and "net_arch" in parsed


def test_parser_values():
    import torch

    got = parse_kwargs_string(
        "dict(net_arch=dict(pi=[64, 64], vf=[64]), log_std_init=-0.5, activation_fn=nn.Tanh, "
        "optimizer_class=th.optim.Adam, squash=th.nn.ReLU, x={'a': (1, +2.5)}, y=None, z=True)"
    )
    assert got == {
        "net_arch": {"pi": [64, 64], "vf": [64]},
        "log_std_init": -0.5,
        "activation_fn": torch.nn.Tanh,
        "optimizer_class": torch.optim.Adam,
        "squash": torch.nn.ReLU,
        "x": {"a": (1, 2.5)},
        "y": None,
        "z": True,
    }
    assert parse_kwargs_string("dict(activation_fn=torch.nn.ReLU)")["activation_fn"] is torch.nn.ReLU


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "dict(a=__import__('os').system('true'))",
        "th.serialization.os",
        "torch.load",
        "nn.ReLU.__class__",
        "nn.ReLU()",
        "nn.Module",
        "open('x', 'w')",
        "dict(**{'a': 1})",
        "dict({'a': 1})",
        "(lambda: 1)()",
        "[x for x in (1, 2)]",
        "1 + 2",
        "-True",
        "'a'.join([])",
        "os",
        "dict(net_arch=[64,",
        "b'bytes'",
        "{1, 2}",
        "f'{1}'",
    ],
)
def test_parser_rejects_code(text):
    with pytest.raises(ValueError):
        parse_kwargs_string(text)


def test_hyperparams_with_code_are_rejected_by_train(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ValueError, match="not allowed"):
        _train(
            tmp_path, "ppo", hyperparams={**TINY_HP["ppo"], "policy_kwargs": f"dict(a=open('{marker}', 'w'))"}
        )
    assert not marker.exists()


# ------------------------------------------------------------------------------- wrappers
def test_wrapper_registry_covers_the_hyperparams():
    for file in HYPERPARAMS.glob("*.yml"):
        for entry in (yaml.safe_load(file.read_text()) or {}).values():
            for name, _ in tr._wrapper_specs((entry or {}).get("env_wrapper")):
                assert name in WRAPPERS
    assert resolve_wrapper("isac_env.wrappers.FlattenDictAction").__name__ == "FlattenDictAction"


@pytest.mark.parametrize("spec", ["os.system", {"subprocess.call": {"args": "true"}}, ["builtins.exec"], 3])
def test_unknown_wrapper_name_is_rejected(spec):
    with pytest.raises(ValueError, match=r"isac_env\.wrappers\.FlattenDictAction|env_wrapper"):
        tr.make_env("isac_env/RydbergISAC-v0", SMALL_RAR, spec)


def test_unknown_wrapper_in_run_config_is_rejected(norm_run, tmp_path):
    run = _copy(norm_run, tmp_path)
    marker = tmp_path / "ran"
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["env_wrapper"] = {"builtins.open": {"file": str(marker), "mode": "w"}}
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="allowed") as err:
        tr.make_env_from_run(run)
    assert "config.yaml" in str(err.value) and "isac_env.wrappers.FlattenDictAction" in str(err.value)
    res = _evaluate(run, tmp_path / "rows.csv")
    assert res.exit_code != 0
    assert not marker.exists()
