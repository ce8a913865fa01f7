"""isac_gym.agents.train: SB3 PPO/SAC/TD3 runs on tiny scenarios, run folders, reload, hyperparameter files."""

from __future__ import annotations

import inspect
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

pytest.importorskip("stable_baselines3")

import isac_env
from isac_gym.agents import train as tr
from tests.conftest import SMALL_RAR

TINY = {**SMALL_RAR, "horizon": 4}
TINY_HP = {
    "ppo": {"n_steps": 16, "batch_size": 16, "n_epochs": 1},
    "sac": {"learning_starts": 8, "batch_size": 8, "buffer_size": 100},
    "td3": {"learning_starts": 8, "batch_size": 8, "buffer_size": 100},
}


def _train(tmp_path: Path, algo: str, env_id: str = "isac_env/RydbergISAC-v0", **kw) -> Path:
    return tr.train(
        env_id,
        algo,
        total_timesteps=kw.pop("total_timesteps", 32),
        seed=kw.pop("seed", 0),
        env_kwargs=kw.pop("env_kwargs", TINY),
        hyperparams=kw.pop("hyperparams", TINY_HP[algo]),
        run_dir=tmp_path,
        n_envs=kw.pop("n_envs", 1),
        progress_bar=False,
        **kw,
    )


@pytest.mark.parametrize("algo", ["ppo", "sac", "td3"])
def test_train_writes_run_folder_and_reloads(tmp_path, algo):
    run = _train(tmp_path, algo, checkpoint_freq=16)
    assert run.name == f"{algo}_RydbergISAC-v0_seed0"
    assert (run / "model.zip").is_file()
    assert sorted(p.name for p in (run / "checkpoints").glob("*.zip")) == [
        "model_16_steps.zip",
        "model_32_steps.zip",
    ]
    events = list((run / "tb").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["algo"] == algo and cfg["env_id"] == "isac_env/RydbergISAC-v0" and cfg["seed"] == 0
    assert cfg["env_kwargs"]["num_ris"] == SMALL_RAR["num_ris"]
    assert "obs_mode" not in cfg["env_kwargs"]  # every id defaults to obs_mode="effective"
    assert cfg["scenario"]["config"]["num_ris"] == SMALL_RAR["num_ris"]
    assert cfg["hyperparams"]["n_timesteps"] == 32 and cfg["total_timesteps"] == 32
    assert {"stable_baselines3", "torch", "gymnasium", "isac_env"} <= set(cfg["versions"])
    assert cfg["wall_time_s"] >= 0

    policy = tr.load_policy(run)
    env = tr.make_env_from_run(run)
    assert env.unwrapped.env_config.obs_mode == "effective"
    obs, _ = env.reset(seed=5)
    action, _ = policy.predict(obs, deterministic=True)
    assert env.action_space.contains(action)
    _, _, _, _, info = env.step(action)
    assert np.isfinite(info["metrics"]["sum_rate"])
    # a checkpoint under <run>/checkpoints loads too
    ckpt = run / "checkpoints" / "model_16_steps.zip"
    assert type(tr.load_agent(ckpt, trust_checkpoint=True)).__name__ == algo.upper()


def test_physics_metrics_reach_tensorboard(tmp_path):
    run = _train(tmp_path, "ppo", checkpoint_freq=0)
    assert not (run / "checkpoints").exists()
    header = (run / "tb" / "progress.csv").read_text().splitlines()[0].split(",")
    for key in ("isac/sum_rate", "isac/crb_trace", "isac/power_w", "isac/cost", "isac/feasible"):
        assert key in header
    assert "isac_episode/sum_rate" in header


ROBUST_TINY = {"num_bs_antennas": 4, "num_ris": 4, "mc_draws": 32, "horizon": 4}


@pytest.mark.parametrize("env_id", isac_env.ENV_IDS)
def test_ppo_trains_on_every_registered_id(tmp_path, env_id):
    kw = ROBUST_TINY if "Robust" in env_id else TINY
    run = _train(tmp_path, "ppo", env_id, env_kwargs=kw, n_envs=2, total_timesteps=32, checkpoint_freq=0)
    cfg = tr.load_run_config(run)
    dict_action = gym.spec(env_id).kwargs.get("phase_action") == "discrete"
    assert cfg["vec_env"] == ("dummy" if dict_action else "native")
    env = tr.make_env_from_run(run)
    obs, _ = env.reset(seed=0)
    action, _ = tr.load_policy(run).predict(obs, deterministic=True)
    _, reward, _, _, info = env.step(action)
    assert np.isfinite(reward) and "metrics" in info


def test_dict_action_id_trains_through_flatten_wrapper(tmp_path):
    run = _train(tmp_path, "ppo", "isac_env/RydbergISAC-Discrete-v0", n_envs=2, checkpoint_freq=0)
    cfg = tr.load_run_config(run)
    assert cfg["env_wrapper"] == "isac_env.wrappers.FlattenDictAction"
    env = tr.make_env_from_run(run)
    assert isinstance(env.action_space, gym.spaces.Box)
    assert isinstance(env.unwrapped.action_space, gym.spaces.Dict)
    obs, _ = env.reset(seed=0)
    action, _ = tr.load_policy(run).predict(obs)
    env.step(action)


def test_native_vector_training_equals_dummy(tmp_path):
    """The native batched env and DummyVecEnv train on the same seeded draws: same rollouts, same metrics."""
    import pandas as pd

    runs = {}
    for mode in ("native", "dummy"):
        runs[mode] = _train(
            tmp_path / mode, "ppo", n_envs=3, total_timesteps=48, checkpoint_freq=0, vec_env=mode
        )
        assert tr.load_run_config(runs[mode])["vec_env"] == mode
    cfg = {m: tr.load_run_config(r) for m, r in runs.items()}
    assert cfg["native"]["scenario"] == cfg["dummy"]["scenario"]
    assert cfg["native"]["final_ep_rew_mean"] == pytest.approx(cfg["dummy"]["final_ep_rew_mean"], rel=1e-5)
    prog = {m: pd.read_csv(r / "tb" / "progress.csv") for m, r in runs.items()}
    for key in (
        "isac/sum_rate",
        "isac/crb_trace",
        "isac/cost",
        "isac_episode/sum_rate",
        "isac_episode/length",
    ):
        np.testing.assert_allclose(prog["native"][key], prog["dummy"][key], rtol=1e-5, err_msg=key)


def test_vec_env_choice():
    assert tr._vec_env_kind("auto", "isac_env/RydbergISAC-v0", None) == "native"
    assert tr._vec_env_kind("auto", "isac_env/RobustISAC-Continuous-v0", None) == "native"
    assert tr._vec_env_kind("auto", "isac_env/RydbergISAC-Discrete-v0", None) == "dummy"  # Dict action
    wrapper = "isac_env.wrappers.FlattenDictAction"
    assert tr._vec_env_kind("auto", "isac_env/RobustISAC-v0", wrapper) == "dummy"
    assert tr._vec_env_kind("dummy", "isac_env/RydbergISAC-v0", None) == "dummy"
    discrete = {**TINY, "phase_bits": 2, "phase_action": "discrete"}  # a Dict action via env kwargs
    assert tr._vec_env_kind("auto", "isac_env/RydbergISAC-v0", None, discrete) == "dummy"
    with pytest.raises(ValueError, match="Dict"):
        tr._vec_env_kind("native", "isac_env/RydbergISAC-Discrete-v0", None)
    with pytest.raises(ValueError, match="vec_env must be"):
        tr._vec_env_kind("subproc", "isac_env/RydbergISAC-v0", None)


def test_run_names_do_not_clobber(tmp_path):
    a = _train(tmp_path, "ppo", checkpoint_freq=0, total_timesteps=16)
    b = _train(tmp_path, "ppo", checkpoint_freq=0, total_timesteps=16)
    assert a != b and b.name == f"{a.name}_1"
    c = _train(tmp_path, "ppo", checkpoint_freq=0, total_timesteps=16, run_name=a.name, overwrite=True)
    assert c == a


def test_train_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="algo"):
        tr.train("isac_env/RydbergISAC-v0", "dqn", total_timesteps=8, run_dir=tmp_path)
    with pytest.raises(ValueError, match="total_timesteps"):
        tr.train("isac_env/RydbergISAC-v0", "ppo", total_timesteps=0, run_dir=tmp_path)
    with pytest.raises(ValueError, match="n_envs"):
        tr.train("isac_env/RydbergISAC-v0", "ppo", total_timesteps=8, n_envs=0, run_dir=tmp_path)


# ----------------------------------------------------------------------------- hyperparameter files
@pytest.mark.parametrize("algo", ["ppo", "sac", "td3"])
def test_hyperparam_files_follow_rl_zoo_layout(algo):
    import stable_baselines3

    data = yaml.safe_load((tr.HYPERPARAMS_DIR / f"{algo}.yml").read_text())
    assert set(data) <= set(isac_env.ENV_IDS)
    cls = getattr(stable_baselines3, tr.ALGOS[algo])
    ctor = set(inspect.signature(cls.__init__).parameters)
    rl_zoo_keys = {"n_timesteps", "n_envs", "normalize", "env_wrapper", "noise_type", "noise_std", "policy"}
    for env_id, entry in data.items():
        assert "n_timesteps" in entry and "policy" in entry, env_id
        assert set(entry) <= ctor | rl_zoo_keys, (env_id, set(entry) - ctor - rl_zoo_keys)
        assert isinstance(entry.get("policy_kwargs", ""), str)  # rl-zoo3 evaluates the string
        action_space = gym.spec(env_id).kwargs.get("phase_action")
        if action_space == "discrete":
            assert entry.get("env_wrapper") == "isac_env.wrappers.FlattenDictAction"
    env_kwargs = yaml.safe_load((tr.HYPERPARAMS_DIR / "env_kwargs.yml").read_text())
    assert set(env_kwargs) <= set(isac_env.ENV_IDS)


def test_hyperparam_preprocessing():
    kw = tr._preprocess(
        {
            "n_timesteps": 10,
            "n_envs": 2,
            "policy": "MlpPolicy",
            "learning_rate": "lin_1e-3",
            "policy_kwargs": "dict(net_arch=[8], activation_fn=nn.Tanh)",
            "noise_type": "normal",
            "noise_std": 0.3,
        },
        n_actions=3,
    )
    assert "n_timesteps" not in kw and "n_envs" not in kw and "noise_type" not in kw
    assert kw["learning_rate"](0.5) == pytest.approx(5e-4)
    assert kw["policy_kwargs"]["net_arch"] == [8]
    assert kw["action_noise"]._sigma == pytest.approx(np.full(3, 0.3))
    assert tr.load_hyperparams("ppo", "isac_env/NotThere-v0") == tr._FALLBACK_HYPERPARAMS


def test_hyperparam_overrides_and_normalize(tmp_path):
    run = _train(
        tmp_path,
        "ppo",
        hyperparams={**TINY_HP["ppo"], "normalize": "dict(norm_obs=True, norm_reward=True)"},
        checkpoint_freq=0,
    )
    assert (run / "vecnormalize.pkl").is_file()
    policy = tr.load_policy(run)
    assert hasattr(policy, "vecnorm")
    env = tr.make_env_from_run(run)
    obs, _ = env.reset(seed=0)
    action, _ = policy.predict(obs, deterministic=True)
    assert env.action_space.contains(action)


def test_short_ppo_training_beats_random_phases(tmp_path):
    """~2k PPO steps on a small scenario: fewer CRB violations and a higher reward than random designs.

    About 7 s on two shared cores, so it runs by default.
    """
    env_kwargs = {**SMALL_RAR, "horizon": 10}
    run = tr.train(
        "isac_env/RydbergISAC-v0",
        "ppo",
        total_timesteps=2048,
        seed=0,
        env_kwargs=env_kwargs,
        hyperparams={"n_steps": 128, "batch_size": 128, "learning_rate": 1e-3},
        run_dir=tmp_path,
        n_envs=4,
        progress_bar=False,
        checkpoint_freq=0,
    )
    env = tr.make_env_from_run(run)
    agent = tr.quick_eval(tr.load_policy(run), env, n_episodes=10, seed=1000)
    random = tr.quick_eval(None, env, n_episodes=10, seed=1000)
    assert agent["reward"] > random["reward"]
    assert agent["cost"] < random["cost"]
