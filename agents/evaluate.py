"""Evaluation protocol: any policy with SB3's ``predict`` on a frozen set of seeded channel draws.

One protocol for learned agents and optimization baselines (DESIGN.md, "Evaluation"):

* :class:`EvalSet` freezes the draws: an env id, its ``gym.make`` keyword arguments, a root seed
  and a number of draws. Draw ``i`` resets the environment with the seed of the ``i``-th child of
  ``np.random.SeedSequence(root_seed).spawn(n_draws)``, so every policy, process and backend sees
  the same channels. The set is identified by a hash of its config and seeds and can be saved to
  / loaded from ``.json`` or ``.npz``.
* :func:`evaluate_policies` plays every policy on every draw (one decision per draw for the
  static tasks: the action predicted for the first observation; ``steps > 1`` plays longer), and
  appends tidy rows to a CSV file as trials complete: policy, env id, eval-set hash, trial, seed,
  the env keyword arguments, the task metrics, reward, constraint cost / feasibility, the decision
  latency (wall time of ``predict``; the only wall-clock time anywhere in isac-gym's results) and
  the gap to a reference policy on the same draw. A killed run resumes without lost or duplicated
  rows: the key of a row is ``(policy, eval_set, trial)`` and completed keys are skipped.

Policy randomness: before each draw the evaluator calls ``policy.reseed(seed)`` if the policy has
it, else replaces a ``policy.rng`` generator (e.g. :class:`baselines.policy.SolverPolicy`), with a
seed derived from the draw (:meth:`EvalSet.policy_seed`), so rows do not depend on which worker
played which draws before. SB3 agents are played with ``deterministic=True``.

Policies are given as *specs* (:class:`BaselineSpec`, :class:`AgentSpec`, :class:`RandomSpec`, or
any object with ``predict``) so that worker processes can rebuild them next to their own env copy.
Heavy dependencies (torch/SB3, cvxpy, pandas) are imported only when a spec or summary needs them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .parallel import run_tasks

__all__ = [
    "OBJECTIVES",
    "AgentSpec",
    "BaselineSpec",
    "EvalSet",
    "PolicySpec",
    "RandomPolicy",
    "RandomSpec",
    "ResultStore",
    "agent_scenario_kwargs",
    "episode_fields",
    "evaluate_policies",
    "parse_policy",
    "run_evaluation",
    "summarize",
    "task_objective",
]

#: Objective metric and sense (+1 maximise, -1 minimise) per env-id prefix; the gap to the
#: reference is ``sense * (reference - value)`` (>= 0 when the policy is worse than the reference).
OBJECTIVES: dict[str, tuple[str, int]] = {
    "isac_env/RydbergISAC": ("sum_rate", +1),
    "isac_env/RobustISAC": ("power_dbm", -1),
}

#: Columns every result row has, in this order (env keyword arguments and metrics follow).
BASE_COLUMNS: tuple[str, ...] = ("policy", "env_id", "eval_set", "trial", "seed")
KEY_COLUMNS: tuple[str, str, str] = ("policy", "eval_set", "trial")


def task_objective(env_id: str) -> tuple[str, int]:
    """``(metric name, sense)`` of the task behind ``env_id`` (see :data:`OBJECTIVES`).

    Raises:
        ValueError: no objective is registered for the id.
    """
    for prefix, obj in OBJECTIVES.items():
        if env_id.startswith(prefix):
            return obj
    raise ValueError(f"no objective registered for env id {env_id!r}; known prefixes: {list(OBJECTIVES)}")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _seed_int(ss: np.random.SeedSequence) -> int:
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def _plain(value: Any) -> Any:
    """JSON-friendly copy of an env keyword value (numpy scalars -> Python scalars)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# Evaluation set
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalSet:
    """A frozen set of seeded channel draws of one environment.

    Attributes:
        env_id: registered Gymnasium id, e.g. ``"isac_env/RydbergISAC-v0"``.
        env_kwargs: ``gym.make`` keyword arguments (JSON-serialisable scalars).
        root_seed: root of ``np.random.SeedSequence``; draw ``i`` uses its ``i``-th spawned child.
        n_draws: number of draws (trials).
        seeds: per-draw reset seeds (derived; not an argument).
    """

    env_id: str
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    root_seed: int = 0
    n_draws: int = 100
    seeds: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ValueError(f"env_id must be a non-empty string, got {self.env_id!r}")
        if isinstance(self.root_seed, bool) or not isinstance(self.root_seed, int | np.integer):
            raise ValueError(f"root_seed must be a non-negative integer, got {self.root_seed!r}")
        if self.root_seed < 0:
            raise ValueError(f"root_seed must be a non-negative integer, got {self.root_seed!r}")
        if (
            isinstance(self.n_draws, bool)
            or not isinstance(self.n_draws, int | np.integer)
            or self.n_draws < 1
        ):
            raise ValueError(f"n_draws must be a positive integer, got {self.n_draws!r}")
        kw = {str(k): _plain(v) for k, v in dict(self.env_kwargs).items()}
        _canonical(kw)  # raises TypeError for values that cannot be serialised
        object.__setattr__(self, "root_seed", int(self.root_seed))
        object.__setattr__(self, "n_draws", int(self.n_draws))
        object.__setattr__(self, "env_kwargs", MappingProxyType(dict(sorted(kw.items()))))
        children = np.random.SeedSequence(self.root_seed).spawn(self.n_draws)
        object.__setattr__(self, "seeds", tuple(_seed_int(c) for c in children))

    def config(self) -> dict[str, Any]:
        """The defining fields as plain JSON data (without the derived seeds)."""
        return {
            "env_id": self.env_id,
            "env_kwargs": dict(self.env_kwargs),
            "root_seed": self.root_seed,
            "n_draws": self.n_draws,
        }

    @property
    def hash(self) -> str:
        """16 hex digits of SHA-256 over the config and the per-draw seeds (stable across runs)."""
        payload = _canonical({"version": 1, **self.config(), "seeds": list(self.seeds)})
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def policy_seed(self, trial: int) -> int:
        """Seed for a policy's own randomness on draw ``trial`` (the draw's first child seed)."""
        return _seed_int(np.random.SeedSequence(self.root_seed, spawn_key=(trial, 0)))

    def make_env(self) -> Any:
        """``gym.make(env_id, **env_kwargs)`` (importing :mod:`isac_env` to register the ids)."""
        import gymnasium as gym

        import isac_env  # noqa: F401  (registers the ids)

        return gym.make(self.env_id, **dict(self.env_kwargs))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the set to ``path`` (``.json`` or ``.npz``; both store config, seeds and hash)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        doc = {**self.config(), "seeds": list(self.seeds), "hash": self.hash}
        if p.suffix == ".npz":
            np.savez(p, config=np.array(_canonical(doc)), seeds=np.array(self.seeds, dtype=np.uint64))
        elif p.suffix == ".json":
            p.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        else:
            raise ValueError(f"eval-set path must end in .json or .npz, got {p.name!r}")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EvalSet:
        """Read a set written by :meth:`save`; the stored seeds and hash are verified.

        Raises:
            ValueError: unknown suffix, or stored seeds/hash that do not match the config.
        """
        p = Path(path)
        if p.suffix == ".npz":
            with np.load(p) as data:
                doc = json.loads(str(data["config"]))
                seeds = [int(s) for s in data["seeds"]]
        elif p.suffix == ".json":
            doc = json.loads(p.read_text())
            seeds = [int(s) for s in doc["seeds"]]
        else:
            raise ValueError(f"eval-set path must end in .json or .npz, got {p.name!r}")
        es = cls(doc["env_id"], doc["env_kwargs"], doc["root_seed"], doc["n_draws"])
        if list(es.seeds) != seeds or es.hash != doc["hash"]:
            raise ValueError(
                f"{p}: stored seeds/hash do not match its config (file {doc['hash']}, recomputed {es.hash})"
            )
        return es


# ---------------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------------
@runtime_checkable
class Predictor(Protocol):
    """SB3's ``PolicyPredictor`` protocol (``stable_baselines3.common.type_aliases``)."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[Any, Any]: ...


class PolicySpec(Protocol):
    """A picklable recipe for a predictor bound to an environment instance."""

    key: str

    def build(self, env: Any) -> Predictor: ...


class RandomPolicy:
    """Uniform random actions from the env's action space (a sanity floor for comparisons).

    ``reseed(seed)`` is called by the evaluator before each draw, so its actions depend only on
    the draw, not on the process that plays it.
    """

    def __init__(self, action_space: Any) -> None:
        self.action_space = action_space

    def reseed(self, seed: int) -> None:
        """Reset the action sampler's generator."""
        self.action_space.seed(int(seed))

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[Any, Any]:
        return self.action_space.sample(), state


@dataclass(frozen=True)
class RandomSpec:
    """Spec of :class:`RandomPolicy`."""

    key: str = "random"

    def build(self, env: Any) -> Predictor:
        return RandomPolicy(env.action_space)


@dataclass(frozen=True)
class BaselineSpec:
    """A registered optimization baseline (``baselines.get_solver(name, **options)``) as a policy.

    Built with ``baselines.policy.SolverPolicy(solver, env)``, which solves the env's current
    scenario in ``predict`` and returns ``env.unwrapped.encode_action(W, phi)``.
    """

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        return f"baseline:{self.name}:{_canonical(dict(self.options))}"

    def build(self, env: Any) -> Predictor:
        from baselines import get_solver
        from baselines.policy import SolverPolicy

        return SolverPolicy(get_solver(self.name, **dict(self.options)), env)


@dataclass(frozen=True)
class AgentSpec:
    """A trained stable-baselines3 agent: a run/checkpoint directory (or its ``model.zip``).

    Loaded with :func:`agents.train.load_policy` (applies the run's saved observation
    normalization) and played on the env built like the run's (its ``env_wrapper`` chain and its
    episode settings such as ``obs_mode``), with the *scenario* of the eval set. If the run's
    scenario makes the spaces differ from the eval set's, :meth:`build` raises ``ValueError``.
    """

    path: str

    @property
    def key(self) -> str:
        return f"agent:{Path(self.path).resolve()}"

    @property
    def env_key(self) -> str:
        return self.key

    def run_config(self) -> dict[str, Any]:
        """The run's ``config.yaml``."""
        from agents.train import load_run_config

        return load_run_config(self.path)

    def make_env(self, env_id: str, env_kwargs: Mapping[str, Any]) -> Any:
        """The run's env (wrappers, episode settings) on the eval set's scenario."""
        from agents.train import make_env

        cfg = self.run_config()
        if cfg.get("env_id") not in (None, env_id):
            raise ValueError(f"agent {self.path} was trained on {cfg['env_id']}, not on {env_id}")
        kw = {k: v for k, v in dict(cfg.get("env_kwargs") or {}).items() if k in episode_fields()}
        kw.update(env_kwargs)
        return make_env(env_id, kw, cfg.get("env_wrapper"), record_metrics=False)

    def incompatibility(self, env_id: str, env_kwargs: Mapping[str, Any]) -> str | None:
        """Why the agent cannot play ``env_id`` with ``env_kwargs`` (spaces differ from those of its
        training scenario), or ``None``. Builds the two envs only; no torch import."""
        train_env = self.make_env(env_id, agent_scenario_kwargs(self.path))
        eval_env = self.make_env(env_id, env_kwargs)
        try:
            for name in ("observation_space", "action_space"):
                want, got = getattr(train_env, name), getattr(eval_env, name)
                if want != got:
                    return f"its {name} {want} differs from the evaluation env's {got}"
            return None
        finally:
            train_env.close()
            eval_env.close()

    def build(self, env: Any) -> Predictor:
        from agents.train import load_policy

        policy = load_policy(self.path)
        for name in ("observation_space", "action_space"):
            want, got = getattr(policy, name), getattr(env, name)
            if want != got:
                raise ValueError(
                    f"agent {self.path}: {name} {want} does not match the evaluation env's {got}; "
                    "evaluate on the scenario it was trained on (see scenario_kwargs in its config.yaml)"
                )
        return policy


def episode_fields() -> frozenset[str]:
    """``gym.make`` keywords that set episode/interface settings (:class:`isac_env.EnvConfig`),
    as opposed to scenario fields that change the channels."""
    from dataclasses import fields

    from isac_env.config import EnvConfig

    return frozenset(f.name for f in fields(EnvConfig))


def agent_scenario_kwargs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The scenario keywords a run was trained with (its ``env_kwargs`` minus episode settings)."""
    cfg = AgentSpec(str(path)).run_config()
    return {k: v for k, v in dict(cfg.get("env_kwargs") or {}).items() if k not in episode_fields()}


@dataclass(frozen=True)
class _FixedSpec:
    """An already-built predictor (pickled to worker processes as is)."""

    predictor: Any

    @property
    def key(self) -> str:
        return f"fixed:{id(self.predictor)}"

    def build(self, env: Any) -> Predictor:
        return self.predictor


def parse_policy(text: str) -> tuple[str, Any]:
    """Parse a CLI policy argument into ``(label, spec)``.

    Forms: ``random``; a registered baseline name (``fp_mm_admm``); a checkpoint path (``.zip`` or a
    directory); any of these prefixed with ``label=`` to choose the row label.

    Raises:
        ValueError: neither a baseline name nor an existing checkpoint.
    """
    label, sep, spec_text = text.partition("=")
    if not sep:
        label, spec_text = "", text
    spec_text = spec_text.strip()
    if spec_text == "random":
        spec: Any = RandomSpec()
        default = "random"
    elif Path(spec_text).exists():
        spec = AgentSpec(spec_text)
        p = Path(spec_text)
        default = p.stem if p.is_file() and p.stem != "model" else (p if p.is_dir() else p.parent).name
    else:
        from baselines import list_solvers

        if spec_text not in list_solvers():
            raise ValueError(
                f"policy {spec_text!r} is neither 'random', a registered baseline "
                f"({', '.join(list_solvers())}) nor an existing checkpoint path"
            )
        spec, default = BaselineSpec(spec_text), spec_text
    return (label.strip() or default), spec


def _as_spec(policy: Any) -> Any:
    if hasattr(policy, "build") and hasattr(policy, "key"):
        return policy
    if isinstance(policy, Predictor):
        return _FixedSpec(policy)
    raise TypeError(f"policy must be a spec (with build/key) or have predict(), got {type(policy).__name__}")


# ---------------------------------------------------------------------------------------------
# Worker side: one trial = every (missing) policy on one draw
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TrialTask:
    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...]
    eval_hash: str
    trial: int
    seed: int
    policy_seed: int
    policies: tuple[tuple[str, Any], ...]
    reference: str | None
    reference_value: float | None
    steps: int
    extra: tuple[tuple[str, Any], ...]


_ENV_CACHE: dict[str, Any] = {}
_POLICY_CACHE: dict[tuple[str, str], Any] = {}


def _get_env(spec: Any, env_id: str, env_kwargs: dict[str, Any]) -> tuple[str, Any]:
    recipe = getattr(spec, "env_key", "plain")
    key = _canonical([recipe, env_id, env_kwargs])
    if key not in _ENV_CACHE:
        if len(_ENV_CACHE) >= 8:  # sweeps visit many configs; keep memory bounded
            for k in list(_ENV_CACHE):
                _ENV_CACHE.pop(k).close()
            _POLICY_CACHE.clear()
        import gymnasium as gym

        import isac_env  # noqa: F401

        if hasattr(spec, "make_env"):
            _ENV_CACHE[key] = spec.make_env(env_id, env_kwargs)
        else:
            _ENV_CACHE[key] = gym.make(env_id, **env_kwargs)
    return key, _ENV_CACHE[key]


def _get_policy(spec: Any, env_key: str, env: Any) -> Any:
    if isinstance(spec, _FixedSpec):
        return spec.predictor
    ck = (spec.key, env_key)
    if ck not in _POLICY_CACHE:
        _POLICY_CACHE[ck] = spec.build(env)
    return _POLICY_CACHE[ck]


def _flat_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        if isinstance(v, list | tuple | np.ndarray):
            out[k] = json.dumps([float(x) for x in np.ravel(v)])
        elif isinstance(v, bool | np.bool_):
            out[k] = bool(v)
        elif isinstance(v, int | float | np.number):
            out[k] = float(v)
        else:
            out[k] = str(v)
    return out


def _solver_extras(policy: Any) -> dict[str, Any]:
    res = getattr(policy, "last_result", None)
    if res is None:
        return {}
    return {
        "solver_feasible": bool(res.feasible),
        "solver_iterations": int(res.iterations),
        "solver_stop_reason": str(res.stop_reason),
    }


def _play(policy: Any, env: Any, seed: int, policy_seed: int, steps: int) -> dict[str, Any]:
    if hasattr(policy, "reseed"):
        policy.reseed(policy_seed)
    elif isinstance(getattr(policy, "rng", None), np.random.Generator):
        policy.rng = np.random.default_rng(policy_seed)  # e.g. baselines.policy.SolverPolicy
    obs, _ = env.reset(seed=seed)
    latencies: list[float] = []
    rewards: list[float] = []
    info: dict[str, Any] = {}
    for _ in range(steps):
        t0 = time.perf_counter()
        action, _state = policy.predict(obs, deterministic=True)
        latencies.append(time.perf_counter() - t0)
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(float(reward))
        if terminated or truncated:
            break
    row: dict[str, Any] = _flat_metrics(info.get("metrics", {}))
    row.update(
        reward=float(np.mean(rewards)),
        cost=float(info.get("cost", math.nan)),
        feasible=bool(info.get("feasible", False)),
        steps=len(rewards),
        latency_s=float(np.mean(latencies)),
    )
    row.update(_solver_extras(policy))
    return row


def _run_trial(task: _TrialTask) -> list[dict[str, Any]]:
    """Play every policy of ``task`` on its draw; returns the tidy rows (worker entry point)."""
    env_kwargs = dict(task.env_kwargs)
    metric, sense = task_objective(task.env_id)
    results: dict[str, dict[str, Any]] = {}
    for label, spec in task.policies:
        env_key, env = _get_env(spec, task.env_id, env_kwargs)
        policy = _get_policy(spec, env_key, env)
        results[label] = _play(policy, env, task.seed, task.policy_seed, task.steps)
    ref_value = task.reference_value
    if task.reference is not None and task.reference in results:
        ref_value = float(results[task.reference][metric])
    rows = []
    for label, res in results.items():
        value = float(res.get(metric, math.nan))
        gap = sense * (ref_value - value) if ref_value is not None else math.nan
        rel = gap / abs(ref_value) if ref_value not in (None, 0.0) and sense > 0 else math.nan
        row = {
            "policy": label,
            "env_id": task.env_id,
            "eval_set": task.eval_hash,
            "trial": task.trial,
            "seed": task.seed,
            **dict(task.extra),
            **env_kwargs,
            "objective": value,
            "reference": task.reference or "",
            "gap": gap,
            "rel_gap": rel,
            **res,
        }
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Incremental, resumable CSV store
# ---------------------------------------------------------------------------------------------
class ResultStore:
    """Append-only CSV of tidy rows keyed by ``(policy, eval_set, trial)``.

    Opening an existing file drops a torn last line (a run killed mid-write) and indexes the keys
    already present; :meth:`append` writes and fsyncs whole trials at once. New columns (e.g. a
    policy that reports solver diagnostics) extend the header by rewriting the file atomically.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.header: list[str] = []
        self.keys: set[tuple[str, str, int]] = set()
        self._values: dict[tuple[str, str, int], dict[str, str]] = {}
        if self.path.exists() and self.path.stat().st_size > 0:
            self._repair()
            self._index()

    def _repair(self) -> None:
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)

    def _index(self) -> None:
        with open(self.path, newline="") as fh:
            reader = csv.DictReader(fh)
            self.header = list(reader.fieldnames or [])
            for r in reader:
                key = (r["policy"], r["eval_set"], int(r["trial"]))
                self.keys.add(key)
                self._values[key] = r

    def get(self, policy: str, eval_set: str, trial: int, column: str) -> str | None:
        """Stored value of ``column`` in a row, or ``None``."""
        r = self._values.get((policy, eval_set, trial))
        return None if r is None else r.get(column)

    def __contains__(self, key: tuple[str, str, int]) -> bool:
        return key in self.keys

    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append ``rows`` (one trial) and flush them to disk."""
        if not rows:
            return
        new_cols = [c for r in rows for c in r if c not in self.header]
        new_cols = list(dict.fromkeys(new_cols))
        if new_cols:
            self._extend_header(new_cols)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.header, restval="", extrasaction="raise")
            if fh.tell() == 0:
                w.writeheader()
            for r in rows:
                w.writerow({k: _cell(v) for k, v in r.items()})
            fh.flush()
            os.fsync(fh.fileno())
        for r in rows:
            key = (str(r["policy"]), str(r["eval_set"]), int(r["trial"]))
            self.keys.add(key)
            self._values[key] = {k: _cell(v) for k, v in r.items()}

    def _extend_header(self, new_cols: list[str]) -> None:
        old = self.header
        self.header = old + new_cols
        if not old or not self.path.exists():
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with open(self.path, newline="") as src, open(tmp, "w", newline="") as dst:
            reader = csv.DictReader(src)
            w = csv.DictWriter(dst, fieldnames=self.header, restval="")
            w.writeheader()
            for r in reader:
                w.writerow(r)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.path)


def _cell(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return repr(float(v))
    return v


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------
def run_evaluation(
    policies: Mapping[str, Any] | Sequence[tuple[str, Any]],
    eval_sets: Iterable[EvalSet | tuple[EvalSet, Mapping[str, Any]]],
    out_path: str | os.PathLike[str],
    *,
    reference: str | None = None,
    steps: int = 1,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    desc: str = "evaluate",
) -> Path:
    """Evaluate policies on several eval sets into one CSV (the engine behind sweeps).

    Args:
        policies: ``{label: spec or predictor}`` (or a sequence of pairs). The reference, if any,
            must be one of them.
        eval_sets: eval sets, optionally paired with extra constant columns for their rows
            (e.g. ``{"figure": "rar-fig4a", "x": 15.0}``).
        out_path: CSV file; created or resumed.
        reference: label of the reference policy for the ``gap`` column (``None``: no gap).
        steps: decisions per draw (1 = the action for the first observation).
        backend, workers, address: see :func:`agents.parallel.run_tasks`.
        progress: tqdm progress bar.
        desc: progress-bar label.

    Returns:
        ``Path(out_path)``.

    Raises:
        ValueError: bad ``steps``/``reference`` or duplicate policy labels.
    """
    pairs = list(policies.items()) if isinstance(policies, Mapping) else list(policies)
    labels = [lab for lab, _ in pairs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"policy labels must be unique, got {labels}")
    if reference is not None and reference not in labels:
        raise ValueError(f"reference {reference!r} is not one of the policies {labels}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    specs = [(lab, _as_spec(p)) for lab, p in pairs]
    # the reference plays first so its value is known for the gaps of the same trial
    specs.sort(key=lambda p: p[0] != reference)

    store = ResultStore(out_path)
    tasks: list[_TrialTask] = []
    for item in eval_sets:
        es, extra = (item, {}) if isinstance(item, EvalSet) else (item[0], dict(item[1]))
        if reference is not None:
            task_objective(es.env_id)  # fail early for an env without an objective
        for trial, seed in enumerate(es.seeds):
            todo = tuple((lab, s) for lab, s in specs if (lab, es.hash, trial) not in store)
            if not todo:
                continue
            ref_value = None
            if reference is not None and all(lab != reference for lab, _ in todo):
                stored = store.get(reference, es.hash, trial, "objective")
                ref_value = float(stored) if stored not in (None, "") else None
            tasks.append(
                _TrialTask(
                    env_id=es.env_id,
                    env_kwargs=tuple(es.env_kwargs.items()),
                    eval_hash=es.hash,
                    trial=trial,
                    seed=seed,
                    policy_seed=es.policy_seed(trial),
                    policies=todo,
                    reference=reference,
                    reference_value=ref_value,
                    steps=steps,
                    extra=tuple(extra.items()),
                )
            )
    for _, rows in run_tasks(
        _run_trial, tasks, backend=backend, workers=workers, address=address, progress=progress, desc=desc
    ):
        store.append(rows)
    return Path(out_path)


def evaluate_policies(
    policies: Mapping[str, Any],
    eval_set: EvalSet,
    out_path: str | os.PathLike[str],
    *,
    reference: str | None = None,
    steps: int = 1,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> Path:
    """Run every policy on every draw of ``eval_set``; rows are appended to ``out_path`` (CSV).

    Each draw resets the env with the draw's seed, so all policies face identical channels. For the
    static tasks one decision is made per draw (``steps=1``). Per row: the task metrics
    (``info["metrics"]``), ``reward``, ``cost``, ``feasible``, ``latency_s`` (wall time of
    ``predict``, mean over the draw's decisions), ``objective`` (the task's objective metric, see
    :data:`OBJECTIVES`) and ``gap = sense * (reference - objective)`` on the same draw
    (``rel_gap = gap / |reference|`` for maximised objectives). Baseline adapters that expose
    ``last_result`` add ``solver_feasible``, ``solver_iterations`` and ``solver_stop_reason``.

    A re-run with the same ``out_path`` computes only the missing ``(policy, eval_set, trial)``
    rows, so an interrupted evaluation resumes without lost or duplicated rows.

    Args:
        policies: ``{label: spec}`` with specs from :func:`parse_policy` / :class:`BaselineSpec` /
            :class:`AgentSpec` / :class:`RandomSpec`, or any object with SB3's ``predict`` (it must
            be picklable for a multi-process backend, and is used as is, not rebound to a worker's
            env; baseline adapters should be given as :class:`BaselineSpec`).
        eval_set: the frozen draws.
        out_path: CSV file.
        reference: label of the reference policy (``None``: no gap columns are computed).
        steps: decisions per draw.
        backend: ``"local"`` (process pool; ``workers=1`` runs in-process) or ``"ray"``.
        workers: parallel workers (default: usable CPUs).
        address: Ray cluster address (``None``: a local Ray instance).
        progress: show a progress bar.

    Returns:
        ``Path(out_path)``.
    """
    return run_evaluation(
        policies,
        [eval_set],
        out_path,
        reference=reference,
        steps=steps,
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
    )


def _ci95(x: np.ndarray) -> float:
    n = len(x)
    if n < 2:
        return math.nan
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1) * np.std(x, ddof=1) / math.sqrt(n))


def summarize(df: Any, by: Sequence[str] = ("policy",), metric: str = "objective") -> Any:
    """Per-group table: mean and 95% CI (Student t over draws) of ``metric`` and the gap,
    feasibility rate, mean and median decision latency, number of draws.

    Args:
        df: a ``pandas.DataFrame`` of result rows (e.g. ``pandas.read_csv(out_path)``).
        by: grouping columns.
        metric: the column to average (default: the task objective).

    Returns:
        ``pandas.DataFrame`` with columns ``[*by, n, mean, ci95, feasible_rate, latency_ms,
        latency_ms_median, gap_mean, gap_ci95]`` in the order the groups first appear.
    """
    import pandas as pd

    out = []
    for keys, g in df.groupby(list(by), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        vals = g[metric].astype(float).to_numpy()
        fin = vals[np.isfinite(vals)]
        gaps = g["gap"].astype(float).to_numpy() if "gap" in g else np.array([])
        gaps = gaps[np.isfinite(gaps)]
        feas = g["feasible"].astype(str).str.lower().eq("true").to_numpy()
        lat = g["latency_s"].astype(float).to_numpy() * 1e3
        out.append(
            {
                **dict(zip(by, keys, strict=True)),
                "n": len(g),
                "mean": float(np.mean(fin)) if len(fin) else math.nan,
                "ci95": _ci95(fin),
                "feasible_rate": float(np.mean(feas)),
                "latency_ms": float(np.mean(lat)),
                "latency_ms_median": float(np.median(lat)),
                "gap_mean": float(np.mean(gaps)) if len(gaps) else math.nan,
                "gap_ci95": _ci95(gaps),
            }
        )
    return pd.DataFrame(out)
