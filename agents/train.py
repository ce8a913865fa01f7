"""Train Stable-Baselines3 agents on isac-gym tasks; load them back as SB3-``predict`` policies.

Hyperparameters are data: ``agents/hyperparams/<algo>.yml`` in rl-baselines3-zoo's layout (one
entry per env id with ``n_timesteps``, ``policy``, ``n_envs``, ``normalize``, ``env_wrapper``,
``policy_kwargs`` as a string, ``lin_<x>`` schedules, ``noise_type``/``noise_std`` and the algorithm's
constructor arguments), so ``python -m rl_zoo3.train --algo ppo --env isac_env/RydbergISAC-v0
--gym-packages isac_env --conf-file agents/hyperparams/ppo.yml --env-kwargs obs_mode:"'effective'"``
reads the same files. rl-zoo3 takes environment arguments on its command line only, so the training
scenario of each id lives in ``agents/hyperparams/env_kwargs.yml``.

Each run writes, under ``<run_dir>/<run_name>/``:

* ``policy.pth`` (the final policy's ``state_dict``, tensors only) and, when ``normalize`` is on,
  ``vecnormalize.npz`` (plain arrays): the safe format, loaded by default by :func:`load_policy`
  without unpickling anything (see :mod:`isac_gym.agents.serialization`);
* ``model.zip`` (SB3's final model), ``checkpoints/model_<steps>_steps.zip`` (CheckpointCallback) and
  ``vecnormalize.pkl``: SB3's pickle-bearing formats, for SB3 / rl-zoo3 users; loading them runs
  unpickling and needs ``trust_checkpoint=True`` (CLI ``--trust-checkpoint``);
* ``config.yaml`` (safe YAML): algo, env id, resolved env kwargs and scenario, hyperparameters, seed,
  timesteps, Lagrangian settings, library versions, git commit, wall time and ``policy_spec`` (the
  policy's architecture and spaces as plain data);
* ``tb/``: TensorBoard events (and ``progress.csv``) with SB3's training curves, the physics metrics
  (``isac/sum_rate``, ``isac/crb_trace``, ``isac/power_w``, ``isac/cost``, ...; see
  :class:`isac_gym.agents.callbacks.PhysicsMetricsCallback`) and the multiplier (``lagrangian/*``).

Example:
    >>> from isac_gym.agents.train import train, load_policy, make_env_from_run
    >>> run = train("isac_env/RydbergISAC-v0", "ppo", total_timesteps=20_000, seed=0,
    ...             env_kwargs={"obs_mode": "effective"}, run_dir="runs")  # doctest: +SKIP
    >>> policy = load_policy(run)  # SB3 predict protocol  # doctest: +SKIP
    >>> env = make_env_from_run(run)  # same scenario/obs as in training  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import platform
import shutil
import subprocess
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from gymnasium import spaces

import isac_env  # registers the ids
from isac_env.wrappers import FlattenDictAction, RecordMetrics

from .serialization import (
    POLICY_FILE,
    VECNORM_FILE,
    load_safe_policy,
    load_vecnormalize,
    parse_kwargs_string,
    policy_spec,
    resolve_run_folder,
    resolve_wrapper,
    save_policy_weights,
    save_vecnormalize,
)

__all__ = [
    "ALGOS",
    "HYPERPARAMS_DIR",
    "checkpoint_kind",
    "convert_run",
    "default_env_kwargs",
    "env_name",
    "load_agent",
    "load_hyperparams",
    "load_policy",
    "load_run_config",
    "make_env",
    "make_env_from_run",
    "quick_eval",
    "run_name_for",
    "train",
]

#: algorithm name (lower case, as in rl-zoo3) -> SB3 class name
ALGOS: dict[str, str] = {"ppo": "PPO", "sac": "SAC", "td3": "TD3", "a2c": "A2C", "ddpg": "DDPG"}

HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"
ENV_KWARGS_FILE = "env_kwargs.yml"

#: Fallback entry for an env id missing from ``<algo>.yml`` (e.g. an id registered later).
_FALLBACK_HYPERPARAMS: dict[str, Any] = {
    "n_timesteps": 20000,
    "policy": "MlpPolicy",
    "policy_kwargs": "dict(net_arch=[64, 64])",
}

#: Hyperparameter keys consumed here (rl-zoo3's), the rest go to the algorithm's constructor.
_META_KEYS = ("n_timesteps", "n_envs", "normalize", "env_wrapper", "frame_stack", "callback")


# ---------------------------------------------------------------------------------------- names
def env_name(env_id: str) -> str:
    """``"isac_env/RydbergISAC-v0"`` -> ``"RydbergISAC-v0"`` (for file and run names)."""
    return env_id.rsplit("/", 1)[-1]


def run_name_for(algo: str, env_id: str, seed: int, *, lagrangian: bool = False) -> str:
    """Default run name: ``<algo>[-lag]_<EnvName>_seed<seed>``."""
    return f"{algo.lower()}{'-lag' if lagrangian else ''}_{env_name(env_id)}_seed{seed}"


def _check_algo(algo: str) -> str:
    a = algo.lower()
    if a not in ALGOS:
        raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {algo!r}")
    return a


def _algo_class(algo: str) -> type:
    import stable_baselines3

    return getattr(stable_baselines3, ALGOS[_check_algo(algo)])


# ------------------------------------------------------------------------------ hyperparameters
def _read_yaml(path: Path) -> dict[str, Any]:
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of env id -> settings")
    return data


def load_hyperparams(algo: str, env_id: str, path: str | Path | None = None) -> dict[str, Any]:
    """The rl-zoo3-style hyperparameter entry of ``env_id`` in ``<algo>.yml`` (a fresh copy).

    Args:
        algo: ``"ppo"``, ``"sac"``, ``"td3"``, ``"a2c"`` or ``"ddpg"``.
        env_id: registered id, e.g. ``"isac_env/RydbergISAC-v0"``.
        path: a YAML file to read instead of ``agents/hyperparams/<algo>.yml``.

    Returns:
        The raw entry (strings such as ``policy_kwargs`` and ``lin_3e-4`` unparsed); a generic
        fallback (MlpPolicy, 64x64, 20k steps) when the file has no entry for ``env_id``.
    """
    algo = _check_algo(algo)
    file = Path(path) if path is not None else HYPERPARAMS_DIR / f"{algo}.yml"
    data = _read_yaml(file) if file.exists() else {}
    entry = data.get(env_id)
    if entry is None:
        return dict(_FALLBACK_HYPERPARAMS)
    return dict(entry)


def default_env_kwargs(env_id: str, path: str | Path | None = None) -> dict[str, Any]:
    """The training scenario of ``env_id`` from ``agents/hyperparams/env_kwargs.yml`` (``{}`` if none)."""
    file = Path(path) if path is not None else HYPERPARAMS_DIR / ENV_KWARGS_FILE
    data = _read_yaml(file) if file.exists() else {}
    return dict(data.get(env_id) or {})


def _parse_kwargs(value: str, key: str) -> dict[str, Any]:
    """rl-zoo3's string form of a keyword dict (``"dict(net_arch=[64, 64])"``), parsed without ``eval``."""
    parsed = parse_kwargs_string(value)
    if not isinstance(parsed, dict):
        raise ValueError(f"{key} must describe a dict, got {value!r}")
    return parsed


def _schedule(value: Any) -> Any:
    """``"lin_<x>"`` -> linear schedule from x to 0 (rl-zoo3); numbers pass through."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value.split("_", 1)[1])

        def lin(progress_remaining: float) -> float:
            return progress_remaining * start

        return lin
    if isinstance(value, str):
        return float(value)
    return value


def _wrapper_specs(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    """rl-zoo3's ``env_wrapper`` (str, {name: kwargs} or a list of these) -> [(name, kwargs)].

    Names must be registered in :data:`isac_gym.agents.serialization.WRAPPERS` (checked here, before any
    environment is built); nothing is imported by name.
    """
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item.values())), dict | None):
            name, kw = next(iter(item.items()))
            out.append((name, dict(kw or {})))
        else:
            raise ValueError(
                f"env_wrapper entries must be 'module.Class' or {{'module.Class': kwargs}}, got {item!r}"
            )
    for name, _ in out:
        resolve_wrapper(name)
    return out


def _preprocess(hp: Mapping[str, Any], n_actions: int) -> dict[str, Any]:
    """rl-zoo3 entry -> constructor kwargs of the SB3 algorithm (meta keys removed)."""
    kw = {k: v for k, v in hp.items() if k not in _META_KEYS}
    for key in ("policy_kwargs", "replay_buffer_kwargs"):
        if isinstance(kw.get(key), str):
            kw[key] = _parse_kwargs(kw[key], key)
    for key in ("learning_rate", "clip_range", "clip_range_vf"):
        if key in kw:
            kw[key] = _schedule(kw[key])
    noise_type = kw.pop("noise_type", None)
    noise_std = float(kw.pop("noise_std", 0.1))
    if noise_type is not None:
        from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

        mean, sigma = np.zeros(n_actions), noise_std * np.ones(n_actions)
        if noise_type.strip() == "normal":
            kw["action_noise"] = NormalActionNoise(mean, sigma)
        elif noise_type.strip() == "ornstein-uhlenbeck":
            kw["action_noise"] = OrnsteinUhlenbeckActionNoise(mean, sigma)
        else:
            raise ValueError(f"noise_type must be 'normal' or 'ornstein-uhlenbeck', got {noise_type!r}")
    return kw


def _normalize_kwargs(normalize: Any, gamma: float | None) -> dict[str, Any] | None:
    if normalize in (None, False):
        return None
    kw: dict[str, Any] = {}
    if isinstance(normalize, str):
        kw = _parse_kwargs(normalize, "normalize")
    if gamma is not None:
        kw["gamma"] = gamma
    return kw


# ---------------------------------------------------------------------------------- environments
def make_env(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    env_wrapper: Any = None,
    *,
    record_metrics: bool = True,
) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)`` plus the rl-zoo3 ``env_wrapper`` chain.

    A ``Dict`` action space left after the wrappers is flattened with
    :class:`isac_env.wrappers.FlattenDictAction` (SB3 cannot act in ``Dict`` spaces).
    ``record_metrics`` adds :class:`isac_env.wrappers.RecordMetrics` (per-episode metric means).
    """
    env = gym.make(env_id, **dict(env_kwargs or {}))
    for name, kw in _wrapper_specs(env_wrapper):
        env = resolve_wrapper(name)(env, **kw)
    if isinstance(env.action_space, spaces.Dict):
        env = FlattenDictAction(env)
    if record_metrics:
        env = RecordMetrics(env)
    return env


def _vec_env_kind(
    vec_env: str, env_id: str, env_wrapper: Any, env_kwargs: Mapping[str, Any] | None = None
) -> str:
    """Resolve ``train(vec_env=...)`` to ``"native"`` or ``"dummy"`` (see :func:`train`).

    The action space is read off an env built with ``env_kwargs`` (``phase_action`` /
    ``phase_bits`` given there can turn a Box-action id into a Dict-action one).
    """
    if vec_env not in ("auto", "native", "dummy"):
        raise ValueError(f"vec_env must be 'auto', 'native' or 'dummy', got {vec_env!r}")
    if vec_env == "dummy":
        return "dummy"
    spec = gym.spec(env_id)
    reason = None
    if spec.vector_entry_point is None:
        reason = "it has no vector entry point"
    elif env_wrapper is not None:
        reason = f"its hyperparameters name an env_wrapper ({env_wrapper!r}) for single envs"
    else:
        probe = gym.make(env_id, **dict(env_kwargs or {}))
        if isinstance(probe.action_space, spaces.Dict):
            reason = "its action space is a Dict (train it through FlattenDictAction, vec_env='dummy')"
        probe.close()
    if reason is None:
        return "native"
    if vec_env == "native":
        raise ValueError(f"vec_env='native' is not available for {env_id}: {reason}")
    return "dummy"


def _native_vec_env(env_id: str, env_kwargs: Mapping[str, Any], n_envs: int, seed: int) -> Any:
    """``gym.make_vec`` (native batched env, same-step autoreset) as an SB3 ``VecEnv`` with episode stats."""
    from stable_baselines3.common.vec_env import VecMonitor

    from isac_env.envs.sb3 import SB3VecEnv, VecRecordMetrics

    vec = gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode="SameStep",
        **dict(env_kwargs),
    )
    venv = VecRecordMetrics(VecMonitor(SB3VecEnv(vec)))
    venv.seed(seed)  # sub-env i: seed + i, as make_vec_env seeds single envs
    return venv


def _probe_env(venv: Any) -> Any:
    """The object holding ``config`` / ``env_config`` under SB3 VecEnv wrappers (a sub-env or the vector env)."""
    v = venv
    while True:
        if hasattr(v, "envs"):
            return v.envs[0]
        if hasattr(v, "env_config"):
            return v
        inner = getattr(v, "venv", None)
        if inner is None:
            return None
        v = inner


# --------------------------------------------------------------------------------------- config
def _plain(x: Any) -> Any:
    """Convert to YAML-safe plain Python (tuples -> lists, numpy scalars -> Python, dataclasses -> dicts)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _plain(dataclasses.asdict(x))
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, float) and math.isnan(x):
        return None
    if x is None or isinstance(x, bool):
        return x
    for typ in (int, float, str):  # exact builtins (e.g. torch's TorchVersion is a str subclass)
        if isinstance(x, typ):
            return typ(x)
    return repr(x)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "isac_env": isac_env.__version__}
    for mod in ("stable_baselines3", "torch", "gymnasium", "numpy", "scipy"):
        try:
            out[mod] = importlib.import_module(mod).__version__
        except Exception:  # pragma: no cover - optional
            out[mod] = "unavailable"
    return out


def _git_commit() -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None


def _scenario_of(env: Any) -> dict[str, Any]:
    if env is None:
        return {}
    base = env.unwrapped
    out: dict[str, Any] = {}
    for attr in ("config", "env_config"):
        val = getattr(base, attr, None)
        if dataclasses.is_dataclass(val):
            out[attr] = _plain(val)
    return out


def _unique_dir(path: Path, overwrite: bool) -> Path:
    if overwrite:
        if path.exists():
            shutil.rmtree(path)
        return path
    if not path.exists() or not any(path.iterdir()):
        return path
    i = 1
    while (path.parent / f"{path.name}_{i}").exists():
        i += 1
    return path.parent / f"{path.name}_{i}"


# ------------------------------------------------------------------------------------------ train
def train(
    env_id: str,
    algo: str = "ppo",
    *,
    total_timesteps: int | None = None,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    hyperparams: Mapping[str, Any] | None = None,
    run_dir: str | Path = "runs",
    n_envs: int | None = None,
    progress_bar: bool = True,
    lagrangian: bool = False,
    lagrangian_kwargs: Mapping[str, Any] | None = None,
    run_name: str | None = None,
    checkpoint_freq: int | None = None,
    overwrite: bool = False,
    hyperparams_file: str | Path | None = None,
    device: str = "cpu",
    num_threads: int | None = 1,
    vec_env: str = "auto",
    verbose: int = 0,
    wandb_project: str | None = None,
    wandb_entity: str | None = None,
) -> Path:
    """Train an SB3 agent on an isac-gym task and save the run next to its config.

    Args:
        env_id: registered id (``Dict``-action ids are played through
            :class:`isac_env.wrappers.FlattenDictAction`).
        algo: ``"ppo"``, ``"sac"``, ``"td3"`` (also ``"a2c"``, ``"ddpg"``), or ``"l2o"``: a network
            trained through the torch physics on batches of channel draws (Rydberg ids;
            :func:`isac_gym.agents.l2o.train_l2o`, hyperparameters in ``agents/hyperparams/l2o.yml``,
            ``total_timesteps`` = gradient steps; ``n_envs``, ``vec_env``, ``lagrangian`` and
            ``wandb_project`` do not apply to it).
        total_timesteps: environment steps; ``None`` uses the entry's ``n_timesteps``.
        seed: seeds the model (SB3 ``seed=``) and sub-env ``i`` with ``seed + i``.
        env_kwargs: ``gym.make`` keyword arguments, merged over the id's training scenario in
            ``agents/hyperparams/env_kwargs.yml`` (e.g. ``{"num_ris": 16}``).
        hyperparams: overrides merged over the YAML entry (rl-zoo3 syntax, e.g.
            ``{"learning_rate": "lin_1e-3", "policy_kwargs": "dict(net_arch=[32])"}``).
        run_dir: parent folder of the run.
        n_envs: parallel environments; ``None`` uses the entry's ``n_envs`` (default 1).
        progress_bar: SB3's tqdm/rich progress bar.
        lagrangian: constrained training: reward ``r - lambda * info["cost"]`` with ``lambda`` learned
            by dual ascent (:mod:`isac_gym.agents.lagrangian`); the env's fixed ``constraint_penalty`` is set to
            0 unless given in ``env_kwargs``.
        lagrangian_kwargs: :class:`isac_gym.agents.lagrangian.LagrangeMultiplier` fields: ``value`` (initial
            lambda, default 1), ``lr`` (0.05), ``budget`` (per-step mean cost, 0), ``max_value`` (1000).
        run_name: folder name; default :func:`run_name_for` (algo, env name, seed).
        checkpoint_freq: save a checkpoint every this many total env steps; ``None``: 4 per run;
            ``0``: none (only the final ``model.zip``).
        overwrite: replace an existing run folder (otherwise a ``_<n>`` suffix is added).
        hyperparams_file: read this YAML instead of ``agents/hyperparams/<algo>.yml``.
        device: torch device (``"cpu"`` is fastest for these MLPs).
        num_threads: ``torch.set_num_threads`` for the run (process-wide; small MLPs run fastest
            single-threaded, and extra threads thrash on a shared machine); ``None`` leaves it.
        vec_env: how the ``n_envs`` environments are stepped: ``"native"`` (the id's batched
            :mod:`isac_env.envs.vector` env, one array computation for all of them, through
            :class:`isac_env.envs.sb3.SB3VecEnv`), ``"dummy"`` (SB3's ``DummyVecEnv`` over ``n_envs``
            single envs) or ``"auto"`` (native when the id has a vector entry point, a ``Box``
            action and no ``env_wrapper``, else dummy). Both give sub-env ``i`` the reset seed
            ``seed + i`` and the same physics; the trajectories differ only in float rounding.
        verbose: SB3 verbosity (1 also prints the logs to stdout).
        wandb_project: track the run with Weights & Biases, rl-zoo3's route (``--track``): a
            ``wandb.init(project=..., entity=wandb_entity, name=<run name>, config=<config.yaml>,
            sync_tensorboard=True, dir=<run>)`` before training, so W&B mirrors the run's TensorBoard
            scalars (SB3's logs and the ``physics/*`` metrics), plus ``wandb``'s SB3
            ``WandbCallback``; needs the ``track`` extra (``pip install 'isac-gym[track]'``). ``None``
            (default): no tracking and no ``wandb`` import.
        wandb_entity: W&B entity (team or user) of ``wandb_project``.

    Returns:
        The run folder (holding ``model.zip`` and ``config.yaml``).

    Raises:
        ValueError: unknown algo, non-positive ``total_timesteps``/``n_envs``, an action space
            the algorithm cannot use, or ``vec_env="native"`` where the id has no usable native
            vector env.
        ImportError: ``wandb_project`` without ``wandb`` installed (names the ``track`` extra).
    """
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import VecNormalize

    from .callbacks import PhysicsMetricsCallback
    from .lagrangian import LagrangeMultiplier, LagrangianCallback, VecCostPenalty

    if isinstance(algo, str) and algo.lower() == "l2o":
        return _train_l2o(
            env_id, total_timesteps=total_timesteps, seed=seed, env_kwargs=env_kwargs,
            hyperparams=hyperparams, run_dir=run_dir, n_envs=n_envs, progress_bar=progress_bar,
            lagrangian=lagrangian, run_name=run_name, checkpoint_freq=checkpoint_freq, overwrite=overwrite,
            hyperparams_file=hyperparams_file, device=device, num_threads=num_threads, vec_env=vec_env,
            verbose=verbose, wandb_project=wandb_project,
        )  # fmt: skip
    algo = _check_algo(algo)
    wandb = _import_wandb() if wandb_project is not None else None
    if num_threads is not None:
        import torch

        torch.set_num_threads(int(num_threads))
    hp = load_hyperparams(algo, env_id, hyperparams_file)
    hp.update(dict(hyperparams or {}))
    if total_timesteps is None:
        total_timesteps = int(float(hp.get("n_timesteps", _FALLBACK_HYPERPARAMS["n_timesteps"])))
    if n_envs is None:
        n_envs = int(hp.get("n_envs", 1))
    if int(total_timesteps) < 1:
        raise ValueError(f"total_timesteps must be >= 1, got {total_timesteps}")
    if int(n_envs) < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    total_timesteps, n_envs = int(total_timesteps), int(n_envs)
    hp["n_timesteps"], hp["n_envs"] = total_timesteps, n_envs

    ekw = default_env_kwargs(env_id)
    ekw.update(dict(env_kwargs or {}))
    if lagrangian:
        ekw.setdefault("constraint_penalty", 0.0)
    env_wrapper = hp.get("env_wrapper")

    name = run_name or run_name_for(algo, env_id, seed, lagrangian=lagrangian)
    run = _unique_dir(Path(run_dir) / name, overwrite)
    run.mkdir(parents=True, exist_ok=True)

    vec_kind = _vec_env_kind(vec_env, env_id, env_wrapper, ekw)
    if vec_kind == "native":
        venv = _native_vec_env(env_id, ekw, n_envs, seed)
    else:
        venv = make_vec_env(lambda: make_env(env_id, ekw, env_wrapper), n_envs=n_envs, seed=seed)
    if not isinstance(venv.action_space, spaces.Box):
        raise ValueError(f"{algo} needs a Box action space, {env_id} gives {venv.action_space}")
    multiplier: LagrangeMultiplier | None = None
    if lagrangian:
        multiplier = LagrangeMultiplier(**dict(lagrangian_kwargs or {}))
        venv = VecCostPenalty(venv, multiplier)
    norm_kw = _normalize_kwargs(hp.get("normalize"), hp.get("gamma"))
    if norm_kw is not None:
        venv = VecNormalize(venv, **norm_kw)

    kwargs = _preprocess(hp, int(np.prod(venv.action_space.shape)))
    policy = kwargs.pop("policy", "MlpPolicy")
    model = _algo_class(algo)(policy, venv, seed=seed, device=device, verbose=verbose, **kwargs)
    formats = ["tensorboard", "csv"] + (["stdout"] if verbose else [])
    model.set_logger(configure(str(run / "tb"), formats))

    callbacks: list[Any] = [PhysicsMetricsCallback()]
    if checkpoint_freq is None:
        checkpoint_freq = max(total_timesteps // 4, 1)
    if checkpoint_freq > 0:
        callbacks.append(
            CheckpointCallback(
                save_freq=max(checkpoint_freq // n_envs, 1),
                save_path=str(run / "checkpoints"),
                name_prefix="model",
                save_vecnormalize=True,
            )
        )
    lag_cb: LagrangianCallback | None = None
    if multiplier is not None:
        lag_cb = LagrangianCallback(multiplier, min_steps=1, verbose=verbose)
        callbacks.append(lag_cb)

    scenario = _scenario_of(_probe_env(venv))
    config: dict[str, Any] = {
        "algo": algo,
        "env_id": env_id,
        "env_name": env_name(env_id),
        "run_name": run.name,
        "seed": seed,
        "total_timesteps": total_timesteps,
        "n_envs": n_envs,
        "vec_env": vec_kind,
        "env_kwargs": _plain(ekw),
        "env_wrapper": _plain(env_wrapper),
        "hyperparams": _plain(hp),
        "lagrangian": None if multiplier is None else {"initial": multiplier.as_dict()},
        "scenario": scenario,
        "observation_space": repr(venv.observation_space),
        "action_space": repr(venv.action_space),
        "device": device,
        "versions": _versions(),
        "git_commit": _git_commit(),
    }
    _write_config(run, config)
    tracker = None
    if wandb is not None:
        tracker = wandb.init(
            project=wandb_project, entity=wandb_entity, name=run.name, config=_plain(config),
            sync_tensorboard=True, dir=str(run),
        )  # fmt: skip
        from wandb.integration.sb3 import WandbCallback

        callbacks.append(WandbCallback(verbose=verbose))

    t0 = time.perf_counter()
    try:
        model.learn(
            total_timesteps=total_timesteps, callback=CallbackList(callbacks), progress_bar=progress_bar
        )
    finally:
        if tracker is not None:
            tracker.finish()
    wall = time.perf_counter() - t0
    model.save(run / "model.zip")  # SB3's format (pickles inside), for SB3 / rl-zoo3 users
    vecnorm = venv if isinstance(venv, VecNormalize) else None
    if vecnorm is not None:
        vecnorm.save(str(run / "vecnormalize.pkl"))
    config["policy_spec"] = _save_safe(run, algo, model.policy, vecnorm)
    config["wall_time_s"] = round(wall, 2)
    config["steps_per_s"] = round(total_timesteps / max(wall, 1e-9), 1)
    if multiplier is not None and lag_cb is not None:
        config["lagrangian"]["final"] = multiplier.as_dict()
        config["lagrangian"]["history"] = [
            {"timesteps": t, "mean_cost": float(c), "lambda": float(v)} for t, c, v in lag_cb.history
        ]
    ep = list(model.ep_info_buffer or [])
    if ep:
        config["final_ep_rew_mean"] = float(np.mean([e["r"] for e in ep]))
    _write_config(run, config)
    venv.close()
    return run


def _train_l2o(
    env_id: str,
    *,
    n_envs: int | None,
    lagrangian: bool,
    vec_env: str,
    wandb_project: str | None,
    **kwargs: Any,
) -> Path:
    """``train(env_id, "l2o", ...)``: :func:`isac_gym.agents.l2o.train_l2o` (``total_timesteps`` counts
    gradient steps); the SB3-only options are refused rather than ignored."""
    refused = {
        "n_envs": n_envs is not None,
        "lagrangian": bool(lagrangian),
        "vec_env": vec_env != "auto",
        "wandb_project": wandb_project is not None,
    }
    bad = [k for k, v in refused.items() if v]
    if bad:
        raise ValueError(
            f"algo l2o does not take {', '.join(bad)} (it trains on batches of channel draws, with its own "
            "CRB multiplier; see isac_gym.agents.l2o)"
        )
    from .l2o import train_l2o

    return train_l2o(env_id, **kwargs)


def _import_wandb() -> Any:
    """The ``wandb`` module, or an ImportError that names the ``track`` extra."""
    try:
        import wandb
    except ImportError as exc:
        raise ImportError(
            "W&B tracking (wandb_project / --wandb-project) needs wandb: pip install 'isac-gym[track]'"
        ) from exc
    return wandb


def _save_safe(run: Path, algo: str, policy: Any, vecnorm: Any) -> dict[str, Any] | None:
    """Write ``policy.pth`` (+ ``vecnormalize.npz``) and return the ``policy_spec`` for config.yaml.

    A policy whose constructor keywords are not plain data / registered classes cannot be stored
    safely: it gets no ``policy.pth`` (a warning says so) and loads only with ``trust_checkpoint=True``.
    """
    try:
        spec = policy_spec(policy, algo, _algo_class(algo).policy_aliases)
    except ValueError as exc:
        warnings.warn(
            f"{run}: no safe {POLICY_FILE} written ({exc}); the run loads only with trust_checkpoint=True",
            stacklevel=3,
        )
        return None
    save_policy_weights(policy, run / POLICY_FILE)
    spec["vecnormalize"] = None
    if vecnorm is not None:
        save_vecnormalize(vecnorm, run / VECNORM_FILE)
        spec["vecnormalize"] = VECNORM_FILE
    return spec


def _write_config(run: Path, config: Mapping[str, Any]) -> None:
    with open(run / "config.yaml", "w") as f:
        yaml.safe_dump(_plain(config), f, sort_keys=False, default_flow_style=False)


# ------------------------------------------------------------------------------------------ load
def _run_folder(path: str | Path) -> Path:
    p = resolve_run_folder(path)
    return p.parent if p.suffix == ".zip" else p


def load_run_config(path: str | Path) -> dict[str, Any]:
    """``config.yaml`` of a run (``path``: the run folder or its ``model.zip``), read with safe YAML.

    Raises:
        FileNotFoundError: no ``config.yaml``.
        ValueError: the file is not valid YAML or not a mapping (the message names the file).
    """
    file = _run_folder(path) / "config.yaml"
    if not file.exists():
        raise FileNotFoundError(f"no config.yaml in {file.parent}")
    try:
        with open(file) as f:
            cfg = yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file}: invalid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{file}: expected a mapping of run settings, got {type(cfg).__name__}")
    return cfg


def _untrusted(what: Path, run: Path) -> ValueError:
    hint = (
        f"; {run} has a safe policy.pth, load the folder instead"
        if (run / POLICY_FILE).exists()
        else "; convert it once with isac_gym.agents.train.convert_run(..., trust_checkpoint=True)"
    )
    return ValueError(
        f"{what}: refusing to load an SB3 checkpoint: unpickling its data can run arbitrary code. "
        "Pass trust_checkpoint=True (CLI: --trust-checkpoint) only for files you trust" + hint
    )


def _safe_spec(run: Path) -> dict[str, Any] | None:
    """The ``policy_spec`` of a run folder's config.yaml (``None`` if the run has no safe format)."""
    if not (run / "config.yaml").exists():
        return None
    spec = load_run_config(run).get("policy_spec")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError(f"{run / 'config.yaml'}: policy_spec must be a mapping")
    return spec


def checkpoint_kind(path: str | Path, *, trust_checkpoint: bool = False) -> str:
    """How :func:`load_agent` would load ``path``: ``"safe"`` (policy.pth) or ``"sb3"`` (trusted zip).

    Cheap (reads config.yaml only; no torch): lets callers fail before any work starts.

    Raises:
        FileNotFoundError: neither format is there.
        ValueError: only an SB3 ``.zip`` is there and ``trust_checkpoint`` is False, or config.yaml
            is invalid.
    """
    p = resolve_run_folder(path)
    if p.suffix != ".zip":
        spec = _safe_spec(p)
        if spec is not None:
            weights = p / str(spec.get("weights", POLICY_FILE))
            if not weights.is_file():
                raise FileNotFoundError(f"no policy weights at {weights}")
            return "safe"
        p = p / "model.zip"
    if not p.exists():
        raise FileNotFoundError(
            f"no {POLICY_FILE} (with a policy_spec in config.yaml) or model.zip at {p.parent}"
        )
    if not trust_checkpoint:
        raise _untrusted(p, p.parent)
    return "sb3"


def load_agent(path: str | Path, *, device: str = "cpu", trust_checkpoint: bool = False) -> Any:
    """Load the agent of a run folder, by default through the safe format only.

    A run folder with ``policy.pth`` and a ``policy_spec`` in ``config.yaml`` (what :func:`train`
    writes) loads without unpickling anything: the SB3 policy (a ``BasePolicy``, with SB3's
    ``predict``) is rebuilt from the spec and its weights are read with ``torch.load(weights_only=True)``.
    ``model.zip`` is not touched.

    An SB3 ``.zip`` (a folder with only ``model.zip``, or a ``.zip`` path such as a checkpoint under
    ``<run>/checkpoints/``) is loaded with SB3's ``.load()``, which unpickles and can run arbitrary
    code, so it needs ``trust_checkpoint=True``; it returns the SB3 algorithm object.

    Raises:
        ValueError: an SB3 zip without ``trust_checkpoint``; an invalid config.yaml or policy.pth
            (the message names the file); an unknown algorithm.
        FileNotFoundError: no loadable file.
    """
    p = resolve_run_folder(path)
    kind = checkpoint_kind(p, trust_checkpoint=trust_checkpoint)
    if kind == "safe":
        spec = _safe_spec(p)
        assert spec is not None
        cfg_file = p / "config.yaml"
        algo = spec.get("algo")
        if algo == "l2o":  # a network trained through the physics (isac_gym.agents.l2o), same safe format
            from .l2o import load_l2o_policy

            weights = p / str(spec.get("weights", POLICY_FILE))
            return load_l2o_policy(spec, weights, config_file=cfg_file, device=device)
        if not isinstance(algo, str) or algo.lower() not in ALGOS:
            raise ValueError(f"{cfg_file}: policy_spec algo must be one of {sorted(ALGOS)}, got {algo!r}")
        return load_safe_policy(
            spec,
            p / str(spec.get("weights", POLICY_FILE)),
            _algo_class(algo).policy_aliases,
            config_file=cfg_file,
            device=device,
        )
    zip_path = p if p.suffix == ".zip" else p / "model.zip"
    cfg = load_run_config(zip_path.parent) if (zip_path.parent / "config.yaml").exists() else {}
    algo = cfg.get("algo")
    if algo is None:  # a checkpoint under <run>/checkpoints/
        parent_cfg = zip_path.parent.parent / "config.yaml"
        if parent_cfg.exists():
            algo = load_run_config(zip_path.parent.parent).get("algo")
    if algo is None:
        raise ValueError(f"cannot tell the algorithm of {zip_path}: no config.yaml next to it")
    return _algo_class(algo).load(zip_path, device=device)


class _NormalizedPolicy:
    """SB3 model + saved VecNormalize statistics, exposing ``predict`` on raw observations."""

    def __init__(self, model: Any, vecnorm: Any) -> None:
        self.model = model
        self.vecnorm = vecnorm
        self.observation_space = model.observation_space
        self.action_space = model.action_space

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        obs = self.vecnorm.normalize_obs(observation)
        return self.model.predict(obs, state, episode_start, deterministic)


def _load_vecnorm(path: Path, model: Any, kind: str) -> Any:
    """Observation normalization of a run: ``vecnormalize.npz`` (safe) or, trusted only, ``.pkl``."""
    run = _run_folder(path)
    if kind == "safe":
        spec = _safe_spec(run) or {}
        name = spec.get("vecnormalize")
        if name is None:
            return None
        if name != VECNORM_FILE:
            raise ValueError(
                f"{run / 'config.yaml'}: policy_spec vecnormalize must be {VECNORM_FILE!r} or null"
            )
        return load_vecnormalize(run / VECNORM_FILE, model.observation_space)
    if (run / VECNORM_FILE).exists():
        return load_vecnormalize(run / VECNORM_FILE, model.observation_space)
    pkl = run / "vecnormalize.pkl"
    if not pkl.exists():
        return None
    import pickle

    with open(pkl, "rb") as f:  # trusted path only (checkpoint_kind checked trust_checkpoint)
        vecnorm = pickle.load(f)
    vecnorm.training = False
    return vecnorm


def load_policy(path: str | Path, *, device: str = "cpu", trust_checkpoint: bool = False) -> Any:
    """A policy with SB3's ``predict(obs, state, episode_start, deterministic)`` for a run folder.

    ``path`` is a run folder, its ``model.zip``, or the name of a shipped checkpoint
    (``load_policy("ppo_RydbergISAC-v0")``; :func:`isac_gym.agents.serialization.resolve_run_folder`).

    The policy of :func:`load_agent` (safe by default; an SB3 ``.zip`` needs ``trust_checkpoint=True``),
    or a thin wrapper that applies the run's saved observation normalization first
    (``vecnormalize.npz``; a ``vecnormalize.pkl`` is read only on the trusted zip route).
    Observations come from :func:`make_env_from_run`.

    Raises:
        ValueError / FileNotFoundError: see :func:`load_agent`; an invalid ``vecnormalize.npz``.
    """
    p = resolve_run_folder(path)
    kind = checkpoint_kind(p, trust_checkpoint=trust_checkpoint)
    model = load_agent(p, device=device, trust_checkpoint=trust_checkpoint)
    vecnorm = _load_vecnorm(p, model, kind)
    if vecnorm is not None and getattr(vecnorm, "norm_obs", False):
        return _NormalizedPolicy(model, vecnorm)
    return model


def convert_run(path: str | Path, *, trust_checkpoint: bool = False, device: str = "cpu") -> Path:
    """Add the safe format (``policy.pth``, ``vecnormalize.npz``, ``policy_spec``) to an SB3 run folder.

    Loads ``<path>/model.zip`` (and ``vecnormalize.pkl``) with SB3/pickle, so the files must be
    trusted: ``trust_checkpoint=True`` is required. ``model.zip`` stays. Afterwards the folder
    loads through :func:`load_policy` without unpickling.

    Returns:
        The run folder.

    Raises:
        ValueError: ``trust_checkpoint`` is False, or the policy cannot be stored safely.
    """
    run = Path(path)
    zip_path = run / "model.zip"
    if not trust_checkpoint:
        raise _untrusted(zip_path, run)
    model = load_agent(zip_path, device=device, trust_checkpoint=True)
    cfg = load_run_config(run)
    vecnorm = _load_vecnorm(zip_path, model, "sb3")
    spec = policy_spec(model.policy, cfg["algo"], _algo_class(cfg["algo"]).policy_aliases)
    save_policy_weights(model.policy, run / POLICY_FILE)
    spec["vecnormalize"] = None
    if vecnorm is not None:
        save_vecnormalize(vecnorm, run / VECNORM_FILE)
        spec["vecnormalize"] = VECNORM_FILE
    cfg["policy_spec"] = spec
    _write_config(run, cfg)
    return run


def make_env_from_run(path: str | Path, *, record_metrics: bool = False, **env_overrides: Any) -> gym.Env:
    """The environment a run was trained on (same id, scenario kwargs and wrappers).

    ``env_overrides`` change ``gym.make`` kwargs (e.g. ``horizon=1``); changing the observation or
    action shapes (``num_ris``, ``obs_mode``...) makes the policy unusable on it. Wrappers come from
    the registry :data:`isac_gym.agents.serialization.WRAPPERS` only.

    Raises:
        ValueError: an invalid config.yaml (no ``env_id``, an unregistered ``env_wrapper``...).
    """
    cfg = load_run_config(path)
    file = _run_folder(path) / "config.yaml"
    if not isinstance(cfg.get("env_id"), str):
        raise ValueError(f"{file}: env_id must be a string, got {cfg.get('env_id')!r}")
    kw = cfg.get("env_kwargs") or {}
    if not isinstance(kw, dict):
        raise ValueError(f"{file}: env_kwargs must be a mapping")
    kw = dict(kw)
    kw.update(env_overrides)
    try:
        _wrapper_specs(cfg.get("env_wrapper"))  # registered names only, checked before building anything
    except ValueError as exc:
        raise ValueError(f"{file}: {exc}") from None
    return make_env(cfg["env_id"], kw, cfg.get("env_wrapper"), record_metrics=record_metrics)


def quick_eval(
    policy: Any,
    env: gym.Env,
    *,
    n_episodes: int = 5,
    seed: int = 0,
    deterministic: bool = True,
) -> dict[str, float]:
    """Mean per-step reward and scalar metrics of ``policy`` over seeded episodes (a sanity check).

    ``policy=None`` plays uniformly random actions (seeded). Episode ``i`` is reset with
    ``seed + i``, so two policies see the same channel draws. This is not the evaluation protocol
    of :mod:`isac_gym.agents.evaluate`; it is a quick number for tests and checkpoint READMEs.
    """
    from isac_env.wrappers import scalar_metrics

    sums: dict[str, float] = {}
    n = 0
    env.action_space.seed(seed)
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed + i)
        done = False
        while not done:
            if policy is None:
                action = env.action_space.sample()
            else:
                action, _ = policy.predict(obs, deterministic=deterministic)
            obs, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            vals = {"reward": float(reward), **scalar_metrics(info)}
            for k, v in vals.items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
    return {k: v / max(n, 1) for k, v in sums.items()}
