"""isac_gym.agents.l2o: the learning-to-optimize agent (design constraints, training, safe loading, CLI)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

import torch
from click.testing import CliRunner

import isac_env  # noqa: F401  (registers the ids)
from isac_gym.agents import l2o
from isac_gym.agents import train as tr
from isac_gym.agents.evaluate import EvalSet, evaluate_policies, parse_policy
from isac_gym.cli import main
from tests.conftest import SMALL_RAR

ENV = "isac_env/RydbergISAC-v0"
#: SMALL_RAR with a CRB threshold that designs can meet (at eps = 0.025 no design is feasible on it)
SMALL = {**SMALL_RAR, "crb_threshold": 0.3}
TINY_HP = {"n_train": 128, "n_val": 32, "batch_size": 32, "eval_freq": 20, "learning_rate": 3e-3}
FEATURES = [
    ("obs", "effective"),
    ("gram", "effective"),
    ("eig", "effective"),
    ("cascade", "full"),
    ("cascade+zf", "full"),
]


def _policy(features: str, obs_mode: str, seed: int = 0, **env_kw):
    env = gym.make(ENV, **{**SMALL, **env_kw, "obs_mode": obs_mode})
    task = env.unwrapped.task
    feat, _, zf = features.partition("+")
    hp = {**l2o.DEFAULT_HYPERPARAMS, "features": feat, "zf_basis": zf == "zf"}
    kw = l2o._policy_kwargs(l2o._layout(task), hp, -1.0)
    torch.manual_seed(seed)
    net = l2o.build_network(**kw)
    env.reset(seed=seed)
    net.set_target_constants(env.unwrapped.scenario)
    with torch.no_grad():  # a random network, not the initialisation's special point
        for p in net.parameters():
            p.add_(0.5 * torch.randn_like(p))
    return l2o.L2OPolicy(net, kw, env.observation_space, env.action_space), env


# ----------------------------------------------------------------------------- design constraints
@pytest.mark.parametrize(("features", "obs_mode"), FEATURES)
def test_design_meets_power_and_unit_modulus_exactly(features, obs_mode):
    policy, env = _policy(features, obs_mode)
    base = env.unwrapped
    rng = np.random.default_rng(1)
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        batch = np.stack([obs, 50.0 * rng.standard_normal(obs.shape).astype(np.float32), 0.0 * obs])
        for o in batch:
            p_max = float(base.scenario.P_max)
            W, phi = policy.design(o, p_max)
            assert np.sum(np.abs(W) ** 2) == pytest.approx(p_max, rel=1e-12)
            np.testing.assert_allclose(np.abs(phi), 1.0, rtol=0, atol=1e-14)
            action, _ = policy.predict(o, deterministic=True)
            assert env.action_space.contains(action)
            W_env, phi_env = base.task.decode(action, base.scenario.P_max)  # what the env plays
            np.testing.assert_array_equal(W_env, W)
            np.testing.assert_array_equal(phi_env, phi)
        # the torch design of training (float32) meets them too, batched
        net = policy.net
        W_t, phi_t = l2o._design(net, torch.from_numpy(batch), torch.tensor(p_max, dtype=torch.float32))
        power = (W_t.abs() ** 2).sum((-2, -1))
        torch.testing.assert_close(power, torch.full_like(power, p_max), rtol=1e-5, atol=0)
        torch.testing.assert_close(phi_t.abs(), torch.ones_like(phi_t.abs()), rtol=0, atol=1e-6)


def test_batched_predict_equals_single():
    policy, env = _policy("cascade", "full")
    obs = np.stack([env.reset(seed=s)[0] for s in range(3)])
    batched, _ = policy.predict(obs)
    for i in range(3):
        np.testing.assert_allclose(policy.predict(obs[i])[0], batched[i], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="observation must have shape"):
        policy.predict(obs[:, :-1])


def test_discrete_phase_ids_get_level_indices():
    policy, env = _policy("eig", "effective", phase_bits=2, phase_action="discrete")
    obs, _ = env.reset(seed=0)
    action, _ = policy.predict(obs)
    assert env.action_space.contains(action)
    _, phi = policy.design(obs, float(env.unwrapped.scenario.P_max))
    np.testing.assert_allclose(np.abs(phi), 1.0, atol=1e-14)
    np.testing.assert_allclose(phi**4, 1.0, atol=1e-12)  # on the 2-bit grid


def test_training_draws_never_are_evaluation_draws():
    """The spawn keys of the training/validation draws differ from EvalSet's children (i,)."""
    es = EvalSet(ENV, dict(SMALL), root_seed=0, n_draws=5)
    cfg = gym.make(ENV, **SMALL).unwrapped.config
    train = l2o.draw_scenarios(cfg, 5, 0, 0)
    env = es.make_env()
    for s in es.seeds:
        env.reset(seed=s)
        H = np.asarray(env.unwrapped.scenario.H_BR)
        assert not any(np.array_equal(H, np.asarray(train.H_BR)[i]) for i in range(5))


# ---------------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tr.train(
        ENV,
        "l2o",
        total_timesteps=120,
        seed=0,
        env_kwargs=SMALL,
        hyperparams=TINY_HP,
        run_dir=tmp_path_factory.mktemp("l2o"),
        progress_bar=False,
    )


def test_run_folder_layout(tiny_run):
    assert (tiny_run / "policy.pth").is_file()
    assert (tiny_run / "tb" / "progress.csv").is_file()
    assert any(p.name.startswith("events.out.tfevents") for p in (tiny_run / "tb").iterdir())
    assert sorted(p.name for p in (tiny_run / "checkpoints").iterdir()) == [
        f"l2o_{s}_steps.pth" for s in (120, 30, 60, 90)
    ]
    cfg = tr.load_run_config(tiny_run)
    assert cfg["algo"] == "l2o" and cfg["env_id"] == ENV and cfg["env_kwargs"]["obs_mode"] == "full"
    assert cfg["policy_spec"]["algo"] == "l2o" and cfg["policy_spec"]["kwargs"]["features"] == "cascade"
    assert cfg["steps_done"] == 120 and 0 < cfg["best_step"] <= 120
    header = (tiny_run / "tb" / "progress.csv").read_text().splitlines()[0].split(",")
    for key in ("train/loss", "train/sum_rate", "lagrangian/lambda", "val/sum_rate", "val/feasible_rate"):
        assert key in header


def test_tiny_training_beats_random_mrt_through_the_env(tiny_run, tmp_path):
    """Scored by the evaluation protocol (isac evaluate): held-out draws, one decision each."""
    import pandas as pd

    es = EvalSet(ENV, dict(SMALL), root_seed=123, n_draws=24)
    _, agent = parse_policy(str(tiny_run))
    pols = {"l2o": agent, "random_mrt": parse_policy("random_mrt")[1]}
    out = evaluate_policies(pols, es, tmp_path / "rows.csv", workers=1, progress=False)
    df = pd.read_csv(out)
    assert len(df) == 48
    m = df.groupby("policy")[["sum_rate", "feasible"]].mean()
    assert m.loc["l2o", "sum_rate"] > m.loc["random_mrt", "sum_rate"] + 1.0
    assert m.loc["l2o", "feasible"] >= m.loc["random_mrt", "feasible"]
    assert m.loc["l2o", "feasible"] >= 0.75  # 0.92 measured; random_mrt 0


def test_training_is_seeded(tmp_path):
    hp = {**TINY_HP, "n_train": 32, "n_val": 8, "eval_freq": 5}
    runs = [
        tr.train(ENV, "l2o", total_timesteps=10, env_kwargs=SMALL, hyperparams=hp, run_dir=tmp_path / str(i))
        for i in range(2)
    ]
    a, b = (torch.load(r / "policy.pth", weights_only=True) for r in runs)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------ save / load
def test_save_load_predict_round_trip_unpickles_nothing(tiny_run, tmp_path, monkeypatch):
    run = Path(shutil.copytree(tiny_run, tmp_path / tiny_run.name))
    marker = tmp_path / "ran"

    class Marker:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (run / "model.zip").write_bytes(pickle.dumps(Marker()))  # must never be read
    (run / "vecnormalize.pkl").write_bytes(pickle.dumps(Marker()))

    def no_pickle(*a, **k):
        raise AssertionError("pickle used while loading an l2o run")

    real_load = torch.load

    def weights_only_load(*a, **k):
        assert k.get("weights_only") is True
        return real_load(*a, **k)

    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(torch, "load", weights_only_load)
    assert tr.checkpoint_kind(run) == "safe"
    policy = tr.load_policy(run)
    assert isinstance(policy, l2o.L2OPolicy)
    monkeypatch.undo()
    assert not marker.exists()

    env = tr.make_env_from_run(run)
    assert policy.observation_space == env.observation_space and policy.action_space == env.action_space
    # the reloaded network equals the best checkpoint's weights: same actions as a fresh build + state dict
    state = torch.load(run / "policy.pth", weights_only=True)
    kw = tr.load_run_config(run)["policy_spec"]["kwargs"]
    net = l2o.build_network(**kw)
    net.load_state_dict(state)
    fresh = l2o.L2OPolicy(net, kw, env.observation_space, env.action_space)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        np.testing.assert_array_equal(policy.predict(obs)[0], fresh.predict(obs)[0])


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s["kwargs"].update(net_arch="[64]"), "net_arch"),
        (lambda s: s["kwargs"].update(features="os.system"), "features"),
        (lambda s: s["kwargs"].pop("K"), "kwargs"),
        (lambda s: s.update(policy="MlpPolicy"), "L2OPolicy"),
        (lambda s: s["kwargs"].update(net_arch=[7, 7]), "policy.pth"),
    ],
)
def test_malformed_spec_is_a_value_error(tiny_run, tmp_path, edit, match):
    run = Path(shutil.copytree(tiny_run, tmp_path / tiny_run.name))
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    edit(cfg["policy_spec"])
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match=match):
        tr.load_policy(run)


def test_spec_without_later_optional_keys_loads(tiny_run, tmp_path):
    run = Path(shutil.copytree(tiny_run, tmp_path / tiny_run.name))
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["policy_spec"]["kwargs"].pop("zf_basis") is False
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert tr.load_policy(run).layout["zf_basis"] is False


def test_corrupt_weights_are_a_value_error(tiny_run, tmp_path):
    run = Path(shutil.copytree(tiny_run, tmp_path / tiny_run.name))
    (run / "policy.pth").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=r"policy\.pth"):
        tr.load_policy(run)


# ------------------------------------------------------------------------------------- options
def test_refuses_sb3_only_options_and_other_tasks(tmp_path):
    with pytest.raises(ValueError, match="lagrangian"):
        tr.train(ENV, "l2o", total_timesteps=1, env_kwargs=SMALL, lagrangian=True, run_dir=tmp_path)
    with pytest.raises(ValueError, match="n_envs"):
        tr.train(ENV, "l2o", total_timesteps=1, env_kwargs=SMALL, n_envs=2, run_dir=tmp_path)
    with pytest.raises(ValueError, match="Rydberg"):
        tr.train("isac_env/RobustISAC-Continuous-v0", "l2o", total_timesteps=1, run_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown l2o hyperparameters"):
        tr.train(ENV, "l2o", total_timesteps=1, env_kwargs=SMALL, hyperparams={"nope": 1}, run_dir=tmp_path)
    with pytest.raises(ValueError, match="obs_mode='effective'"):
        tr.train(
            ENV, "l2o", total_timesteps=1, env_kwargs=SMALL, hyperparams={"features": "eig"}, run_dir=tmp_path
        )


def test_hyperparams_file_entries_are_valid():
    data = yaml.safe_load(l2o.HYPERPARAMS_FILE.read_text())
    for env_id in data:
        assert env_id in gym.registry
        l2o._check_hyperparams(l2o.load_l2o_hyperparams(env_id))


def test_cli_train_l2o_smoke(tmp_path):
    args = ["train", ENV, "--algo", "l2o", "--timesteps", "6", "--run-dir", str(tmp_path), "--no-progress"]
    args += [f"--set={k}={v}" for k, v in SMALL.items()]
    args += ["--hp", "n_train=16", "--hp", "n_val=4", "--hp", "batch_size=8", "--hp", "eval_freq=3"]
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    run = Path(res.output.strip().splitlines()[-1])
    assert (run / "policy.pth").is_file() and tr.load_run_config(run)["steps_done"] == 6
    res = CliRunner().invoke(main, [*args[:3], "l2o", "--lagrangian", *args[4:]], catch_exceptions=False)
    assert res.exit_code != 0 and "lagrangian" in res.output
