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
  rows: the key of a row is ``(policy, eval_set, trial)`` and completed keys are skipped. A run
  holds an exclusive lock on its CSV (:class:`ResultStore`), so a concurrent run on the same file
  refuses to start; duplicate keys already in a file are reported and counted once.
* Failed solves are recorded, not scored: a solver adapter whose ``last_result`` is a failed solve
  (``SolverResult.solved`` false: no design) gives a row with ``solved=False``, NaN objective,
  metrics, reward and cost, ``feasible=False`` and the reason in ``solver_stop_reason``.
  :func:`summarize` averages the objective over solved draws only and reports the feasibility
  rate over all draws (a failed solve is infeasible).
* Malformed user files (eval sets, result CSVs, channel banks, agent folders) raise
  :class:`InputError` (a ``ValueError``) whose message names the file.

Policy randomness: before each draw the evaluator calls ``policy.reseed(seed)`` if the policy has
it, else replaces a ``policy.rng`` generator (e.g. :class:`isac_gym.baselines.policy.SolverPolicy`), with a
seed derived from the draw (:meth:`EvalSet.policy_seed`), so rows do not depend on which worker
played which draws before. SB3 agents are played with ``deterministic=True``.

Policies are given as *specs* (:class:`BaselineSpec`, :class:`AgentSpec`, :class:`RandomSpec`, or
any object with ``predict``) so that worker processes can rebuild them next to their own env copy.
Heavy dependencies (torch/SB3, cvxpy, pandas) are imported only when a spec or summary needs them.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import pickle
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .parallel import run_tasks
from .serialization import resolve_run_folder, shipped_checkpoint_names

__all__ = [
    "OBJECTIVES",
    "AgentSpec",
    "BaselineSpec",
    "DuplicateRowsWarning",
    "EvalSet",
    "InputError",
    "PolicySpec",
    "RandomPolicy",
    "RandomSpec",
    "ResultStore",
    "ResultsLockedError",
    "agent_scenario_kwargs",
    "bool_column",
    "dedupe_rows",
    "episode_fields",
    "evaluate_policies",
    "mean_ci95",
    "parquet_paths",
    "parse_policy",
    "relative_gap",
    "run_evaluation",
    "split_lists",
    "summarize",
    "task_objective",
    "top_user_share",
    "write_parquet",
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

#: Exceptions that reading a malformed user file raises (beyond ``ValueError`` / ``OSError``);
#: :func:`_input_errors` turns them into :class:`InputError` naming the file.
_PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    KeyError,
    TypeError,
    EOFError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
    csv.Error,
    UnicodeDecodeError,
)


class InputError(ValueError):
    """A user-supplied file or argument is malformed (the message names the file).

    The ``isac`` command line reports it as a one-line ``isac: error: ...`` with exit code 2.
    """


class ResultsLockedError(InputError):
    """Another process holds the exclusive lock of a results CSV (see :class:`ResultStore`)."""


class DuplicateRowsWarning(UserWarning):
    """A results CSV holds several rows with the same ``(policy, eval_set, trial)`` key."""


def _describe(exc: BaseException) -> str:
    """``"Type: message"`` on one line (``KeyError('x')`` -> ``"missing field 'x'"``)."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "missing field"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, InputError) else f"{type(exc).__name__}: {text}"


@contextlib.contextmanager
def _input_errors(what: str, extra: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Re-raise the parse errors of reading a user file (:data:`_PARSE_ERRORS` plus ``extra``, e.g.
    ``yaml.YAMLError``) as :class:`InputError` whose message starts with ``what`` (names the file)."""
    try:
        yield
    except InputError:
        raise
    except (*_PARSE_ERRORS, *extra) as exc:
        raise InputError(f"{what}: {_describe(exc)}") from exc


def task_objective(env_id: str) -> tuple[str, int]:
    """``(metric name, sense)`` of the task behind ``env_id`` (see :data:`OBJECTIVES`).

    Raises:
        ValueError: no objective is registered for the id.
    """
    return by_env_prefix(OBJECTIVES, env_id, "objective")


def by_env_prefix(table: Mapping[str, Any], env_id: str, what: str) -> Any:
    """The value of the first key of ``table`` that ``env_id`` starts with.

    Raises:
        ValueError: no key matches (the message names ``what`` and the known prefixes).
    """
    for prefix, value in table.items():
        if env_id.startswith(prefix):
            return value
    raise ValueError(f"no {what} registered for env id {env_id!r}; known prefixes: {list(table)}")


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
            InputError: unknown suffix, a truncated or unparsable file, a missing or ill-typed field,
                or stored seeds/hash that do not match the config (the message names the file).
            OSError: the file cannot be read.
        """
        p = Path(path)
        if p.suffix not in (".npz", ".json"):
            raise InputError(f"eval set {p}: the path must end in .json or .npz")
        with _input_errors(f"eval set {p}"):
            if p.suffix == ".npz":
                with np.load(p, allow_pickle=False) as data:
                    doc = json.loads(str(data["config"]))
                    raw_seeds = list(data["seeds"])
            else:
                doc = json.loads(p.read_text())
                raw_seeds = doc["seeds"] if isinstance(doc, dict) else []
            if not isinstance(doc, dict):
                raise InputError(f"eval set {p}: expected a JSON object, got {type(doc).__name__}")
            seeds = [int(s) for s in raw_seeds]
            if not isinstance(doc.get("env_kwargs"), dict):
                raise InputError(f"eval set {p}: env_kwargs must be a mapping")
            es = cls(doc["env_id"], doc["env_kwargs"], doc["root_seed"], doc["n_draws"])
            stored_hash = doc["hash"]
        if list(es.seeds) != seeds or es.hash != stored_hash:
            raise InputError(
                f"eval set {p}: stored seeds/hash do not match its config "
                f"(file {stored_hash}, recomputed {es.hash})"
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
    """A registered optimization baseline (``isac_gym.baselines.get_solver(name, **options)``) as a policy.

    Built with ``isac_gym.baselines.policy.SolverPolicy(solver, env)``, which solves the env's current
    scenario in ``predict`` and returns ``env.unwrapped.encode_action(W, phi)``.
    """

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        return f"baseline:{self.name}:{_canonical(dict(self.options))}"

    def build(self, env: Any) -> Predictor:
        from isac_gym.baselines import get_solver
        from isac_gym.baselines.policy import SolverPolicy

        return SolverPolicy(get_solver(self.name, **dict(self.options)), env)


@dataclass(frozen=True)
class AgentSpec:
    """A trained stable-baselines3 agent: a run/checkpoint directory (or its ``model.zip``).

    Loaded with :func:`isac_gym.agents.train.load_policy` (applies the run's saved observation
    normalization) and played on the env built like the run's (its ``env_wrapper`` chain and its
    episode settings such as ``obs_mode``), with the *scenario* of the eval set. If the run's
    scenario makes the spaces differ from the eval set's, :meth:`build` raises ``ValueError``.

    By default only the run's safe format loads (``policy.pth`` + ``config.yaml``, nothing unpickled);
    ``trust_checkpoint=True`` allows an SB3 ``.zip`` (unpickling can run arbitrary code).
    """

    path: str
    trust_checkpoint: bool = False

    @property
    def key(self) -> str:
        return f"agent:{Path(self.path).resolve()}"

    @property
    def env_key(self) -> str:
        return self.key

    def run_config(self) -> dict[str, Any]:
        """The run's ``config.yaml``.

        Raises:
            InputError: the file is not valid YAML, not a mapping, or has an ill-typed ``env_id`` /
                ``env_kwargs`` (the message names the file).
            FileNotFoundError: the folder has no ``config.yaml``.
        """
        import yaml

        from isac_gym.agents.train import load_run_config

        p = Path(self.path)
        file = (p.parent if p.suffix == ".zip" else p) / "config.yaml"
        with _input_errors(f"agent config {file}", (yaml.YAMLError,)):
            cfg = load_run_config(self.path)
        if not isinstance(cfg, dict):
            raise InputError(f"agent config {file}: expected a mapping, got {type(cfg).__name__}")
        if not isinstance(cfg.get("env_id", ""), str):
            raise InputError(f"agent config {file}: env_id must be a string")
        if not isinstance(cfg.get("env_kwargs") or {}, dict):
            raise InputError(f"agent config {file}: env_kwargs must be a mapping")
        return cfg

    def make_env(self, env_id: str, env_kwargs: Mapping[str, Any]) -> Any:
        """The run's env (wrappers, episode settings) on the eval set's scenario."""
        from isac_gym.agents.train import make_env

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
        from isac_gym.agents.train import load_policy

        policy = load_policy(self.path, trust_checkpoint=self.trust_checkpoint)
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


def parse_policy(text: str, *, trust_checkpoint: bool = False) -> tuple[str, Any]:
    """Parse a CLI policy argument into ``(label, spec)``.

    Forms: ``random``; ``best_known`` (:class:`isac_gym.agents.best_known.BestKnownSpec`, the cached
    best feasible design per draw); a registered baseline name (``fp_mm_admm``); a checkpoint path (``.zip`` or a
    directory); any of these prefixed with ``label=`` to choose the row label. A checkpoint must
    have the safe format (``policy.pth``) unless ``trust_checkpoint`` (``--trust-checkpoint``) allows
    unpickling an SB3 ``.zip``; this is checked here, before any work starts.

    Raises:
        ValueError: neither a baseline name nor an existing checkpoint; an SB3 zip without
            ``trust_checkpoint``.
    """
    label, sep, spec_text = text.partition("=")
    if not sep:
        label, spec_text = "", text
    spec_text = spec_text.strip()
    if spec_text == "random":
        spec: Any = RandomSpec()
        default = "random"
    elif spec_text == "best_known":
        from .best_known import BestKnownSpec

        spec, default = BestKnownSpec(), "best_known"
    elif Path(spec_text).exists() or spec_text in shipped_checkpoint_names():
        from isac_gym.agents.train import checkpoint_kind

        spec_text = str(resolve_run_folder(spec_text))  # a shipped checkpoint by name

        try:
            checkpoint_kind(spec_text, trust_checkpoint=trust_checkpoint)
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from None
        spec = AgentSpec(spec_text, trust_checkpoint=trust_checkpoint)
        p = Path(spec_text)
        default = p.stem if p.is_file() and p.stem != "model" else (p if p.is_dir() else p.parent).name
    else:
        from isac_gym.baselines import list_solvers

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
        _POLICY_CACHE[ck] = _build_policy(spec, env)
    return _POLICY_CACHE[ck]


def _build_policy(spec: Any, env: Any) -> Any:
    """``spec.build(env)``; for a checkpoint folder (a spec with ``path``), a corrupt or unreadable
    file (torch's ``RuntimeError``, a bad zip or pickle, a missing entry...) becomes an
    :class:`InputError` naming the folder. Errors that already name it propagate unchanged."""
    path = getattr(spec, "path", None)
    if path is None:
        return spec.build(env)
    try:
        return spec.build(env)
    except InputError:
        raise
    except (*_PARSE_ERRORS, RuntimeError) as exc:
        if isinstance(exc, ValueError) and str(path) in str(exc):
            raise
        raise InputError(f"agent {path}: cannot load the checkpoint ({_describe(exc)})") from exc


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


def _solved(policy: Any) -> bool:
    """Whether the policy's last decision is a design: ``False`` only for a solver adapter whose
    ``last_result`` is a failed solve (``SolverResult.solved`` false; results without the property
    count as solved)."""
    res = getattr(policy, "last_result", None)
    return res is None or bool(getattr(res, "solved", True))


def _solver_extras(policy: Any) -> dict[str, Any]:
    """Diagnostics of a solver adapter's last solve (``{}`` for policies without ``last_result``):
    ``solver_feasible``, ``solver_iterations``, ``solver_stop_reason`` and, for solvers that count
    their cvxpy solves (``SolverResult.extra["n_inaccurate_solves"]``), ``solver_inaccurate_solves``
    (how many of the solve's convex subproblems ended ``*_inaccurate``)."""
    res = getattr(policy, "last_result", None)
    if res is None:
        return {}
    out: dict[str, Any] = {
        "solver_feasible": bool(res.feasible),
        "solver_iterations": int(res.iterations),
        "solver_stop_reason": str(res.stop_reason),
    }
    n_inaccurate = (getattr(res, "extra", None) or {}).get("n_inaccurate_solves")
    if n_inaccurate is not None:
        out["solver_inaccurate_solves"] = int(n_inaccurate)
    return out


def top_user_share(metrics: Mapping[str, Any]) -> float | None:
    """``max_k rate_k / sum_k rate_k`` of the per-user rates ``metrics["rate"]`` (Rydberg task; 1 means
    one user carries the whole sum rate); NaN for a zero sum rate, ``None`` without per-user rates."""
    rate = metrics.get("rate")
    if rate is None or np.ndim(rate) != 1:
        return None
    r = np.asarray(rate, dtype=float)
    total = float(np.sum(r))
    return float(np.max(r) / total) if total > 0 and np.all(np.isfinite(r)) else math.nan


def _play(policy: Any, env: Any, seed: int, policy_seed: int, steps: int) -> dict[str, Any]:
    """Play ``policy`` on the draw ``seed`` for up to ``steps`` decisions; returns the row's values.

    A draw on which any decision was a failed solve (see :func:`_solved`) is *unsolved*: the env was
    stepped with the adapter's placeholder action, so its metrics, reward and cost are recorded as
    NaN and ``feasible`` as ``False`` (``solved=False``; ``solver_stop_reason`` says why).
    """
    if hasattr(policy, "reseed"):
        policy.reseed(policy_seed)
    elif isinstance(getattr(policy, "rng", None), np.random.Generator):
        policy.rng = np.random.default_rng(policy_seed)  # e.g. isac_gym.baselines.policy.SolverPolicy
    obs, _ = env.reset(seed=seed)
    latencies: list[float] = []
    rewards: list[float] = []
    info: dict[str, Any] = {}
    solved = True
    for _ in range(steps):
        t0 = time.perf_counter()
        action, _state = policy.predict(obs, deterministic=True)
        latencies.append(time.perf_counter() - t0)
        solved = solved and _solved(policy)
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(float(reward))
        if terminated or truncated:
            break
    row: dict[str, Any] = _flat_metrics(info.get("metrics", {}))
    share = top_user_share(info.get("metrics", {}))
    if share is not None:
        row["top_user_share"] = share
    row.update(
        reward=float(np.mean(rewards)),
        cost=float(info.get("cost", math.nan)),
        feasible=bool(info.get("feasible", False)),
        solved=solved,
        steps=len(rewards),
        latency_s=float(np.mean(latencies)),
    )
    if not solved:  # the placeholder action's scores are not the policy's: record none of them
        row.update(dict.fromkeys(info.get("metrics", {}), math.nan))
        if "top_user_share" in row:
            row["top_user_share"] = math.nan
        row.update(reward=math.nan, cost=math.nan, feasible=False)
    row.update(_solver_extras(policy))
    return row


def relative_gap(gap: float, reference: float | None, metric: str, sense: int) -> float:
    """The gap as a fraction: ``gap / |reference|`` for a maximised objective; for ``power_dbm`` (a
    gap in dB) the relative power excess ``10^(gap / 10) - 1``; NaN otherwise or without a reference."""
    if reference is None or not math.isfinite(gap):
        return math.nan
    if sense > 0:
        return gap / abs(reference) if reference != 0.0 else math.nan
    if metric == "power_dbm":
        return 10.0 ** (gap / 10.0) - 1.0
    return math.nan


def _run_trial(task: _TrialTask) -> list[dict[str, Any]]:
    """Play every policy of ``task`` on its draw; returns the tidy rows (worker entry point)."""
    env_kwargs = dict(task.env_kwargs)
    metric, sense = task_objective(task.env_id)
    results: dict[str, dict[str, Any]] = {}
    for label, spec in task.policies:
        env_key, env = _get_env(spec, task.env_id, env_kwargs)
        policy = _get_policy(spec, env_key, env)
        if hasattr(policy, "select_draw"):  # replays a stored per-draw design (best_known)
            policy.select_draw(task.env_id, task.eval_hash, task.trial)
        results[label] = _play(policy, env, task.seed, task.policy_seed, task.steps)
        if hasattr(policy, "row_overrides"):
            results[label].update(policy.row_overrides(results[label]))
    ref_value = task.reference_value  # NaN when the stored reference row is unsolved
    if task.reference is not None and task.reference in results:
        ref = results[task.reference]
        ref_value = float(ref[metric]) if ref["solved"] else math.nan
    rows = []
    for label, res in results.items():
        value = float(res.get(metric, math.nan)) if res["solved"] else math.nan
        # the gap needs a design on both sides (NaN when the policy or the reference is unsolved)
        gap = sense * (ref_value - value) if ref_value is not None else math.nan
        rel = relative_gap(gap, ref_value, metric, sense)
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

    Opening a store takes an exclusive, non-blocking ``fcntl.flock`` on the sidecar file
    ``<path>.lock`` (holding the writer's pid) for as long as it is open, so two runs cannot
    interleave rows in one file: the second raises :class:`ResultsLockedError` at once. Close the
    store (or use it as a context manager) to release the lock; the kernel releases it when a
    process dies, so a killed run never leaves a stale lock. The sidecar file itself stays.

    An existing file is checked as it is indexed: a torn last line (a run killed mid-write) is
    dropped, while a CSV without the key columns, a row with the wrong number of fields elsewhere or
    an unparsable trial raises :class:`InputError` naming the file and line. Rows repeating a key
    already seen are counted in :attr:`duplicates` and reported with a
    :class:`DuplicateRowsWarning`; the first row of each key is the one used (never double-counted).
    :meth:`append` writes and fsyncs whole trials at once. New columns (e.g. a policy that reports
    solver diagnostics) extend the header by rewriting the file atomically.

    Args:
        path: the CSV file (created on the first :meth:`append`).
        lock: take the exclusive lock (``False``: read-only use, e.g. inspecting a file).
        row_key: further columns that tell apart the rows of one trial (e.g. ``("iteration",)`` for
            per-iteration traces); a duplicate repeats the trial key *and* these.

    Raises:
        ResultsLockedError: another process holds the lock.
        InputError: the existing file is malformed (see above).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, lock: bool = True, row_key: Sequence[str] = ()
    ) -> None:
        self.path = Path(path)
        self.row_key = tuple(row_key)
        self.header: list[str] = []
        self.keys: set[tuple[str, str, int]] = set()
        #: number of rows whose key repeats an earlier row's (ignored; see the class docstring)
        self.duplicates = 0
        self._values: dict[tuple[str, str, int], dict[str, str]] = {}
        self._lock_fh: Any = None
        self._closed = False
        if lock:
            self._acquire_lock()
        try:
            if self.path.exists() and self.path.stat().st_size > 0:
                self._repair()
                self._index()
        except BaseException:
            self.close()
            raise
        if self.duplicates:
            warnings.warn(
                DuplicateRowsWarning(
                    f"{self.path}: {self.duplicates} duplicate row(s) (same policy, eval_set, trial); "
                    "the first row of each key is used"
                ),
                stacklevel=2,
            )

    @property
    def lock_path(self) -> Path:
        """The sidecar lock file, ``<path>.lock``."""
        return self.path.with_name(self.path.name + ".lock")

    def _acquire_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.lock_path, "a+")  # held open (locked) while the store is
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:  # BlockingIOError: someone else holds it
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise ResultsLockedError(
                f"{self.path} is being written by another run (pid {holder}, lock file {self.lock_path}); "
                "wait for it to finish or write to another file"
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._lock_fh = fh

    def close(self) -> None:
        """Release the lock (idempotent). The store can still be read, not appended to."""
        self._closed = True
        if self._lock_fh is not None:
            self._lock_fh.close()  # closing the descriptor releases the flock
            self._lock_fh = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repair(self) -> None:
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)

    def _index(self) -> None:
        with _input_errors(f"results file {self.path}"), open(self.path, newline="") as fh:
            reader = csv.reader(fh)
            self.header = next(reader, [])
            missing = [c for c in (*KEY_COLUMNS, *self.row_key) if c not in self.header]
            if missing:
                raise InputError(
                    f"results file {self.path}: no {', '.join(repr(c) for c in missing)} column "
                    f"(header: {','.join(self.header)[:80]}); not a results CSV of isac-gym"
                )
            width = len(self.header)
            seen: set[tuple[Any, ...]] = set()
            for fields in reader:
                if not fields:  # a blank line (csv.DictReader and pandas skip them too)
                    continue
                if len(fields) != width:
                    raise InputError(
                        f"results file {self.path}, line {reader.line_num}: {len(fields)} fields, "
                        f"the header has {width} (a torn or corrupt row; remove or repair it)"
                    )
                r = dict(zip(self.header, fields, strict=True))
                try:
                    key = (r["policy"], r["eval_set"], int(r["trial"]))
                except ValueError as exc:
                    raise InputError(
                        f"results file {self.path}, line {reader.line_num}: trial {r['trial']!r} "
                        "is not an integer"
                    ) from exc
                full = (*key, *(r[c] for c in self.row_key))
                if full in seen:
                    self.duplicates += 1
                    continue
                seen.add(full)
                self.keys.add(key)
                self._values.setdefault(key, r)

    def get(self, policy: str, eval_set: str, trial: int, column: str) -> str | None:
        """Stored value of ``column`` in a row, or ``None``."""
        r = self._values.get((policy, eval_set, trial))
        return None if r is None else r.get(column)

    def __contains__(self, key: tuple[str, str, int]) -> bool:
        return key in self.keys

    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append ``rows`` (one trial) and flush them to disk.

        Raises:
            RuntimeError: the store was closed (its lock released).
        """
        if self._closed:
            raise RuntimeError(f"ResultStore({self.path}) is closed")
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
# Parquet copies of the CSV files (long format for the per-user / per-target lists)
# ---------------------------------------------------------------------------------------------
#: columns that identify a row in the long tables, where the CSV has them
_LONG_KEYS: tuple[str, ...] = (*KEY_COLUMNS, "figure", "x", "variant", "iteration", "scheme")


def list_entity(metric: str) -> str:
    """What the entries of a list metric index: ``"target"`` for the sensing metrics (``crb_*``,
    one per target of the robust task), else ``"user"`` (``rate``, ``sinr``, ``outage``, ...)."""
    return "target" if metric.startswith("crb") else "user"


def parquet_paths(csv_path: str | os.PathLike[str]) -> dict[str, Path]:
    """The Parquet files written next to ``csv_path`` (``<stem>`` = its name without ``.csv``):
    ``{"wide": <stem>.parquet, "user": <stem>_per_user.parquet, "target": <stem>_per_target.parquet}``."""
    p = Path(csv_path)
    stem = p.name[: -len(".csv")] if p.name.endswith(".csv") else p.name
    return {
        "wide": p.with_name(f"{stem}.parquet"),
        "user": p.with_name(f"{stem}_per_user.parquet"),
        "target": p.with_name(f"{stem}_per_target.parquet"),
    }


def _json_list(v: Any) -> list[float] | None:
    if not isinstance(v, str) or not v.startswith("["):
        return None
    try:
        out = json.loads(v)
    except ValueError:
        return None
    return [float(x) for x in out] if isinstance(out, list) else None


def _str_or_null(v: Any) -> Any:
    return v if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def split_lists(df: Any) -> tuple[Any, dict[str, Any]]:
    """Split a results frame into its scalar columns and long tables of its list columns.

    A list column is one whose non-empty cells are all JSON lists (how :class:`ResultStore` writes a
    per-user / per-target metric). Returns ``(wide, {"user": long, "target": long})``: ``wide`` is
    ``df`` without the list columns (object columns of mixed types as strings, all-bool ones as
    nullable booleans); each long table has the key columns of ``df`` (those of ``policy``,
    ``eval_set``, ``trial``, ``figure``, ``x``, ``variant``, ``iteration``, ``scheme`` present),
    then ``metric`` (the column name), ``user`` / ``target`` (the 0-based list index; see
    :func:`list_entity`) and ``value`` (float64): one row per row of ``df``, list column and entry.
    An entity without list columns has no table (absent from the dict)."""
    import pandas as pd

    list_cols = []
    for c in df.columns:
        col = df[c]
        if col.dtype.kind in "biufcM":
            continue
        vals = col.dropna()
        if len(vals) and all(_json_list(v) is not None for v in vals):
            list_cols.append(c)
    keys = [c for c in _LONG_KEYS if c in df.columns and c not in list_cols]
    long: dict[str, list[dict[str, Any]]] = {}
    for c in list_cols:
        entity = list_entity(str(c))
        for key_vals, cell in zip(df[keys].itertuples(index=False, name=None), df[c], strict=True):
            values = _json_list(cell)
            for i, v in enumerate(values or ()):
                long.setdefault(entity, []).append(
                    {**dict(zip(keys, key_vals, strict=True)), "metric": str(c), entity: i, "value": v}
                )
    wide = df.drop(columns=list_cols)
    for c in wide.columns:
        col = wide[c]
        if col.dtype == object:
            vals = col.dropna()
            if len(vals) and all(isinstance(v, bool | np.bool_) for v in vals):
                wide[c] = col.astype("boolean")
            else:
                wide[c] = col.map(_str_or_null)
    tables = {}
    for entity, recs in long.items():
        t = pd.DataFrame(recs, columns=[*keys, "metric", entity, "value"])
        tables[entity] = t.astype({entity: "int64", "value": "float64"})
    return wide, tables


def write_parquet(csv_path: str | os.PathLike[str]) -> dict[str, Path]:
    """Write Parquet copies of a CSV written by isac-gym (results rows, summary or figure tables).

    The CSV stays the primary, backward-compatible file; next to it (:func:`parquet_paths`):

    * ``<stem>.parquet``: the CSV's rows and scalar columns, with the types pandas reads from the CSV
      (``policy`` and ``eval_set`` as strings), without the list columns;
    * ``<stem>_per_user.parquet`` / ``<stem>_per_target.parquet``, only where the CSV has list
      columns (JSON lists such as ``rate``, ``sinr``, ``crb_est``): long tables, one row per
      (row key, metric, entry): ``policy, eval_set, trial[, figure, x, variant, iteration],
      metric, user | target, value`` (see :func:`split_lists`); no cell holds a list.

    Stale long tables of an earlier write are removed; every file is written to a temporary name
    and renamed. Without pyarrow (or pandas) nothing is written and ``{}`` is returned.

    Returns:
        ``{"wide": path[, "user": path][, "target": path]}`` of the files written.
    """
    try:
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - the experiments extra is not installed
        return {}
    src = Path(csv_path)
    paths = parquet_paths(src)
    with _input_errors(f"results file {src}"):
        df = pd.read_csv(src, dtype={"policy": str, "eval_set": str})
    wide, tables = split_lists(df)
    written: dict[str, Path] = {}
    for name, frame in (("wide", wide), *tables.items()):
        tmp = paths[name].with_name(paths[name].name + ".tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, paths[name])
        written[name] = paths[name]
    for name in ("user", "target"):
        if name not in written:
            paths[name].unlink(missing_ok=True)
    return written


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
        out_path: CSV file; created or resumed. Parquet copies are (re)written next to it at the
            end (:func:`write_parquet`: ``<stem>.parquet`` plus long ``<stem>_per_user.parquet`` /
            ``<stem>_per_target.parquet`` tables of the list metrics).
        reference: label of the reference policy for the ``gap`` column (``None``: no gap).
        steps: decisions per draw (1 = the action for the first observation).
        backend, workers, address: see :func:`isac_gym.agents.parallel.run_tasks`.
        progress: tqdm progress bar.
        desc: progress-bar label.

    Returns:
        ``Path(out_path)``.

    Raises:
        ValueError: bad ``steps``/``reference`` or duplicate policy labels.
        ResultsLockedError: another process is writing ``out_path``.
        InputError: ``out_path`` or a ``channel_bank`` file of an eval set is malformed, or an agent
            checkpoint cannot be loaded (the message names the file).
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

    with ResultStore(out_path) as store:  # exclusive: a concurrent run on out_path fails here
        tasks: list[_TrialTask] = []
        banks: set[str] = set()
        items = [(item, {}) if isinstance(item, EvalSet) else (item[0], dict(item[1])) for item in eval_sets]
        for _, spec in specs:  # e.g. best_known: build its per-draw cache first (one pool, all sets)
            if hasattr(spec, "prepare"):
                for es, _ in items:
                    _check_channel_bank(es.env_kwargs, banks)
                spec.prepare(
                    [es for es, _ in items], backend=backend, workers=workers, address=address,
                    progress=progress,
                )  # fmt: skip
        for es, extra in items:
            if reference is not None:
                task_objective(es.env_id)  # fail early for an env without an objective
            _check_channel_bank(es.env_kwargs, banks)
            for trial, seed in enumerate(es.seeds):
                todo = tuple((lab, s) for lab, s in specs if (lab, es.hash, trial) not in store)
                if not todo:
                    continue
                ref_value = None
                if reference is not None and all(lab != reference for lab, _ in todo):
                    ref_value = _stored_float(store, reference, es.hash, trial, "objective")
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
        if store.path.exists():  # still under the lock: no other run is appending
            write_parquet(store.path)
    return Path(out_path)


def _stored_float(store: ResultStore, policy: str, eval_set: str, trial: int, column: str) -> float | None:
    """A stored numeric cell (``None`` if absent or empty; ``"nan"`` -> NaN, e.g. an unsolved row)."""
    text = store.get(policy, eval_set, trial, column)
    if text in (None, ""):
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise InputError(
            f"results file {store.path}: {column} of ({policy}, {eval_set}, trial {trial}) is not a number: "
            f"{text!r}"
        ) from exc


def _check_channel_bank(env_kwargs: Mapping[str, Any], checked: set[str]) -> None:
    """Load a ``channel_bank`` path of an eval set once, up front, so that a truncated or corrupt
    ``.npz`` is an :class:`InputError` naming the file, not a worker crash."""
    bank = env_kwargs.get("channel_bank")
    if not isinstance(bank, str | os.PathLike) or str(bank) in checked:
        return
    from isac_env.bank import ChannelBank

    with _input_errors(f"channel bank {bank}"):
        ChannelBank.load(bank)
    checked.add(str(bank))


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
    (``rel_gap = gap / |reference|`` for maximised objectives; NaN unless both are solved), and
    ``solved`` (``False`` for a failed solve, whose scores are NaN). Baseline adapters that expose
    ``last_result`` add ``solver_feasible``, ``solver_iterations``, ``solver_stop_reason`` and
    (solvers counting their cvxpy solves) ``solver_inaccurate_solves``.

    Next to the CSV, Parquet copies are written (see :func:`write_parquet`).

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


def mean_ci95(values: Any) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t confidence interval of the finite ``values``.

    The interval is :func:`scipy.stats.t.interval` at the sample mean with the standard error
    :func:`scipy.stats.sem` (``n - 1`` degrees of freedom). Non-finite values are dropped first.

    Returns:
        ``(mean, half-width)``: ``(nan, nan)`` without values, ``(x, nan)`` for one value and a
        half-width of 0 when all values are equal.
    """
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    mean = float(np.mean(x))
    if len(x) < 2:
        return mean, math.nan
    from scipy import stats

    sem = float(stats.sem(x))
    if sem == 0.0:
        return mean, 0.0
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=mean, scale=sem)
    return mean, float(hi - lo) / 2.0


def bool_column(df: Any, column: str, default: bool) -> np.ndarray:
    """A boolean column of result rows as read back from CSV (``True``/``"true"``/``1``/``"1.0"`` are
    true); ``default`` for a missing column and for empty cells (rows written before it existed)."""
    if column not in df:
        return np.full(len(df), default, dtype=bool)
    col = df[column]
    text = col.astype(str).str.strip().str.lower()
    empty = col.isna().to_numpy() | text.isin(("", "nan", "none")).to_numpy()
    return np.where(empty, default, text.isin(("true", "1", "1.0")).to_numpy())


def dedupe_rows(df: Any) -> Any:
    """The first row of each ``(policy, eval_set, trial)`` key (all rows if a key column is missing)."""
    if all(c in df for c in KEY_COLUMNS):
        return df.drop_duplicates(list(KEY_COLUMNS), keep="first")
    return df


def summarize(df: Any, by: Sequence[str] = ("policy",), metric: str = "objective") -> Any:
    """Per-group table of result rows (the first row per ``(policy, eval_set, trial)`` key).

    ``n`` counts every draw, ``n_solved`` the draws with a design (``solved``; failed solves are
    recorded, not scored) and ``solved_rate = n_solved / n``. ``mean`` and ``ci95`` (95% Student-t
    CI, :func:`mean_ci95`) of ``metric`` are over the solved draws only; ``feasible_rate`` is over
    *all* draws (a failed solve counts as infeasible); ``gap_mean`` / ``gap_ci95`` over the draws
    where both the policy and the reference are solved (``rel_gap_pct``: the mean ``rel_gap`` in %,
    for ``power_dbm`` the relative power excess); latency over all draws.

    Further columns where the rows allow them: ``top_user_share`` (mean over solved draws of
    ``max_k rate_k / sum_rate``, Rydberg task); and, where the rows hold a ``best_known`` policy
    (:mod:`isac_gym.agents.best_known`) and an ``env_id`` column, the gap of every policy to it on the same
    draw, whatever the reference: ``gap_to_best_known_mean`` / ``gap_to_best_known_ci95`` (``sense *
    (best_known - objective)``, bit/s/Hz or dB, >= 0 when worse) and ``rel_gap_to_best_known_pct``
    (in %; for ``power_dbm`` the relative power excess), over the draws where both are solved.

    Args:
        df: a ``pandas.DataFrame`` of result rows (e.g. ``pandas.read_csv(out_path)``).
        by: grouping columns.
        metric: the column to average (default: the task objective).

    Returns:
        ``pandas.DataFrame`` with columns ``[*by, n, n_solved, solved_rate, mean, ci95,
        feasible_rate, latency_ms, latency_ms_median, gap_mean, gap_ci95, rel_gap_pct]`` (plus the
        optional columns above) in the order the groups first appear.
    """
    import pandas as pd

    df = dedupe_rows(df)
    bk_gap = _gap_to_best_known(df)
    out = []
    for keys, g in df.groupby(list(by), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        solved = bool_column(g, "solved", True)
        vals = g[metric].astype(float).to_numpy()[solved]
        gaps = g["gap"].astype(float).to_numpy()[solved] if "gap" in g else np.array([])
        feas = bool_column(g, "feasible", False) & solved
        lat = g["latency_s"].astype(float).to_numpy() * 1e3
        mean, ci = mean_ci95(vals)
        gap_mean, gap_ci = mean_ci95(gaps)
        rel = g["rel_gap"].astype(float).to_numpy()[solved] if "rel_gap" in g else np.array([])
        extra: dict[str, Any] = {"rel_gap_pct": 100.0 * mean_ci95(rel)[0]}
        if "top_user_share" in g:
            extra["top_user_share"] = mean_ci95(g["top_user_share"].astype(float).to_numpy()[solved])[0]
        if bk_gap is not None:
            bg = bk_gap[0].loc[g.index].to_numpy()
            m, c = mean_ci95(bg)
            extra.update(
                gap_to_best_known_mean=m,
                gap_to_best_known_ci95=c,
                rel_gap_to_best_known_pct=100.0 * mean_ci95(bk_gap[1].loc[g.index].to_numpy())[0],
            )
        out.append(
            {
                **dict(zip(by, keys, strict=True)),
                "n": len(g),
                "n_solved": int(solved.sum()),
                "solved_rate": float(np.mean(solved)),
                "mean": mean,
                "ci95": ci,
                "feasible_rate": float(np.mean(feas)),
                "latency_ms": float(np.mean(lat)),
                "latency_ms_median": float(np.median(lat)),
                "gap_mean": gap_mean,
                "gap_ci95": gap_ci,
                **extra,
            }
        )
    return pd.DataFrame(out)


def _gap_to_best_known(df: Any, label: str = "best_known") -> tuple[Any, Any] | None:
    """Per row: ``(gap, relative gap)`` to the ``label`` row of the same ``(eval_set, trial)`` (NaN
    where either is unsolved), as ``pandas.Series`` on ``df``'s index; ``None`` if ``df`` has no
    ``label`` rows or no ``env_id`` / ``objective`` column."""
    import pandas as pd

    if not {"policy", "eval_set", "trial", "env_id", "objective"} <= set(df.columns):
        return None
    is_bk = (df["policy"] == label).to_numpy()
    if not is_bk.any():
        return None
    value = df["objective"].astype(float).where(bool_column(df, "solved", True))
    bk = df[is_bk].assign(_v=value[is_bk])
    ref = {(str(h), int(t)): v for h, t, v in zip(bk["eval_set"], bk["trial"], bk["_v"], strict=True)}
    gaps, rels = [], []
    for env_id, h, t, v in zip(df["env_id"], df["eval_set"], df["trial"], value, strict=True):
        r = ref.get((str(h), int(t)), math.nan)
        metric, sense = task_objective(str(env_id))
        gap = sense * (r - v)
        gaps.append(gap)
        rels.append(relative_gap(gap, r, metric, sense) if math.isfinite(r) else math.nan)
    return pd.Series(gaps, index=df.index), pd.Series(rels, index=df.index)
