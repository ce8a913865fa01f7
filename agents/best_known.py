"""The ``best_known`` reference: per draw, the best feasible design any registered solver found.

For one draw (trial) of an :class:`isac_gym.agents.evaluate.EvalSet`, :func:`build_trial` runs

1. every registered solver of the env's task (``isac_gym.baselines.list_solvers(task=...)``: ``"rydberg"``
   or ``"robust"``) with its default options and the trial's policy randomness
   (``np.random.default_rng(EvalSet.policy_seed(trial))``), i.e. exactly the design each solver's
   own evaluation row plays;
2. **restarts** of the strongest solvers from random starts (``init=(W0, phi0)``; ``W0`` complex
   Gaussian at full power, ``phi0`` uniform unit-modulus phases), drawn from
   ``SeedSequence(policy_seed).spawn(n_restarts)``: by default ``gd`` and ``fp_mm_admm`` from 3
   starts each for the Rydberg task, ``robust_scheme2`` from 2 random RIS starts for the robust task
   (:data:`DEFAULT_PLANS`);
3. a **polish** step: the same strongest solvers started at the incumbent (the best feasible design
   of steps 1-2), one round.

Every candidate design is played through the environment exactly as an evaluation row is
(``env.reset(seed)``, ``env.step(env.unwrapped.encode_action(W, phi))``, :func:`isac_gym.agents.evaluate._play`),
so its objective is the env's objective (``sum_rate`` bit/s/Hz, or ``power_dbm``) and its feasibility
the env's rule (``info["feasible"]``: zero constraint cost; for the robust task also
``metrics["certified"]``: the safe approximation certifies the played design). The winner is the
feasible candidate with the best objective (highest sum rate / lowest certified power); a draw with
no feasible candidate has no best_known design (its row is unsolved, its gaps NaN).

Cache (one per eval set, reused by ``isac evaluate``, ``isac compare`` and the figure sweeps):

* ``<cache_dir>/<eval_set_hash>.csv``: one row per trial (policy column ``best_known@<plan hash>``,
  so that a changed plan, e.g. a newly registered solver, is rebuilt instead of reused): ``winner``,
  ``objective``, ``feasible``, ``n_candidates``, ``n_feasible``, ``build_time_s`` (the honest cost:
  wall time of every solve and env evaluation of that draw), ``candidates`` (JSON ``{label:
  [objective, feasible, seconds]}``) and the plan (JSON). Written through
  :class:`isac_gym.agents.evaluate.ResultStore` (exclusive lock, resumable).
* ``<cache_dir>/<eval_set_hash>.npz``: plain arrays (``allow_pickle=False``), per trial ``t``
  ``<plan>_<t>_W`` / ``<plan>_<t>_phi`` (the played design, ``env.unwrapped.decode_action`` of the
  action) and ``<plan>_<t>_action`` (or ``<plan>_<t>_action__<key>`` for a dict action), the exact
  action, so a replay reproduces the objective bit for bit.

:class:`BestKnownSpec` is the policy spec ``best_known`` (``isac evaluate -p best_known``): it
builds the missing cache entries before the evaluation starts (:meth:`BestKnownSpec.prepare`) and
replays the cached action of each draw. Its rows report ``latency_s`` = the draw's build time (not
the replay's, which is in ``replay_latency_s``) and ``solver_stop_reason`` = ``"best_known: <winner>"``.

:func:`headroom` turns a summary table into the tier's headroom (best_known minus the best heuristic).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .evaluate import (
    EvalSet,
    InputError,
    ResultStore,
    _canonical,
    _get_env,
    _input_errors,
    _play,
    by_env_prefix,
    task_objective,
)
from .parallel import run_tasks

__all__ = [
    "BEST_KNOWN",
    "DEFAULT_PLANS",
    "BestKnownPlan",
    "BestKnownPolicy",
    "BestKnownSpec",
    "default_cache_dir",
    "ensure_best_known",
    "headroom",
    "is_heuristic",
    "load_best_known",
    "plan_for",
    "task_of",
]

#: policy label / reference name of the best-known reference
BEST_KNOWN = "best_known"
#: environment variable that sets the default cache folder
CACHE_ENV = "ISAC_BEST_KNOWN_DIR"

#: task per env-id prefix
TASKS: dict[str, str] = {"isac_env/RydbergISAC": "rydberg", "isac_env/RobustISAC": "robust"}


def task_of(env_id: str) -> str:
    """``"rydberg"`` or ``"robust"`` for an env id (see :data:`TASKS`).

    Raises:
        ValueError: no task is known for the id.
    """
    return str(by_env_prefix(TASKS, env_id, "best_known task"))


def is_heuristic(name: str) -> bool:
    """Whether ``name`` is a registered heuristic baseline (``Solver.heuristic``: the closed-form
    baselines and the random floors); ``False`` for any other label."""
    from isac_gym import baselines

    return name in baselines.list_solvers() and bool(baselines.solver_class_attr(name, "heuristic", False))


def task_solvers(task: str) -> tuple[str, ...]:
    """Sorted registered solver names of ``task`` (``isac_gym.baselines.list_solvers(task=...)``) that
    take part in the reference (class attribute ``Solver.best_known``, default ``True``)."""
    from isac_gym import baselines

    return tuple(
        n for n in baselines.list_solvers(task=task) if baselines.solver_class_attr(n, "best_known", True)
    )


@dataclass(frozen=True)
class BestKnownPlan:
    """What :func:`build_trial` runs on a draw.

    Attributes:
        task: ``"rydberg"`` or ``"robust"``.
        solvers: every solver run once with its defaults (the task's registered solvers).
        restart: solvers restarted from random starts.
        n_restarts: random starts per restarted solver.
        polish: solvers started once more at the incumbent (best feasible design so far).
    """

    task: str
    solvers: tuple[str, ...]
    restart: tuple[str, ...] = ()
    n_restarts: int = 0
    polish: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "task": self.task,
            "solvers": list(self.solvers),
            "restart": list(self.restart),
            "n_restarts": self.n_restarts,
            "polish": list(self.polish),
        }

    @property
    def hash(self) -> str:
        """8 hex digits of SHA-256 over :meth:`to_dict` (part of the cache's row keys)."""
        return hashlib.sha256(_canonical(self.to_dict()).encode()).hexdigest()[:8]


#: restarted / polished solvers and restarts per task (documented in the module docstring)
DEFAULT_PLANS: dict[str, tuple[tuple[str, ...], int]] = {
    "rydberg": (("gd", "fp_mm_admm"), 3),
    "robust": (("robust_scheme2",), 2),
}


def plan_for(env_id: str, n_restarts: int | None = None) -> BestKnownPlan:
    """The default plan of the env's task: every registered solver of the task, restarts and
    polish of :data:`DEFAULT_PLANS` (those registered), ``n_restarts`` overriding the default."""
    task = task_of(env_id)
    solvers = task_solvers(task)
    strong, default_n = DEFAULT_PLANS.get(task, ((), 0))
    strong = tuple(s for s in strong if s in solvers)
    n = default_n if n_restarts is None else int(n_restarts)
    if n < 0:
        raise ValueError(f"n_restarts must be >= 0, got {n_restarts!r}")
    return BestKnownPlan(task, solvers, strong, n, strong)


def default_cache_dir() -> Path:
    """``$ISAC_BEST_KNOWN_DIR`` if set, else ``results/best_known`` (relative to the working folder)."""
    return Path(os.environ.get(CACHE_ENV) or "results/best_known")


def _paths(cache_dir: str | os.PathLike[str], eval_hash: str) -> tuple[Path, Path]:
    d = Path(cache_dir)
    return d / f"{eval_hash}.csv", d / f"{eval_hash}.npz"


# ---------------------------------------------------------------------------------------------
# Worker side: one draw
# ---------------------------------------------------------------------------------------------
class _DesignPolicy:
    """Plays a fixed action (the encoded design of a candidate, or a stored action)."""

    def __init__(self, action: Any, result: Any = None) -> None:
        self.action = action
        self.last_result = result

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        return self.action, state


@dataclass(frozen=True)
class _BuildTask:
    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...]
    eval_hash: str
    trial: int
    seed: int
    policy_seed: int
    plan: BestKnownPlan


_SOLVERS: dict[str, Any] = {}


def _solver(name: str) -> Any:
    """A solver instance per worker process (built once, like a policy adapter's)."""
    if name not in _SOLVERS:
        from isac_gym.baselines import get_solver

        _SOLVERS[name] = get_solver(name)
    return _SOLVERS[name]


def _solve(name: str, scenario: Any, rng: np.random.Generator, init: Any = None) -> Any:
    """``solver.solve`` (the one place best_known calls a solver; tests count calls here)."""
    return _solver(name).solve(scenario, rng=rng, init=init)


def _random_start(env: Any, scenario: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random start ``(W0 [Nt, K] CN(0, 1) at full power, phi0 [N] uniform phases)``."""
    u = env.unwrapped
    task = getattr(u, "task", None)
    Nt, K, N = (int(getattr(task, a, None) or getattr(u, a)) for a in ("Nt", "K", "N"))
    W = rng.standard_normal((Nt, K)) + 1j * rng.standard_normal((Nt, K))
    p = getattr(scenario, "P_max", None)
    p = float(p) if p is not None else float(getattr(scenario, "p_max_w", 1.0))
    W *= np.sqrt(p) / np.linalg.norm(W)
    phi = np.exp(2j * np.pi * rng.random(N))
    return W.astype(np.complex128), phi


def _score(row: Mapping[str, Any], metric: str, sense: int) -> float | None:
    """``sense * objective`` of a played candidate if it is feasible by the env's rule (and, for the
    robust task, certified), else ``None``."""
    if not row.get("solved", True) or not row.get("feasible", False):
        return None
    if "certified" in row and not row["certified"]:
        return None
    value = float(row.get(metric, math.nan))
    return sense * value if math.isfinite(value) else None


def _action_arrays(action: Any) -> dict[str, np.ndarray]:
    if isinstance(action, Mapping):
        return {f"action__{k}": np.asarray(v) for k, v in action.items()}
    return {"action": np.asarray(action)}


def build_trial(task: _BuildTask) -> dict[str, Any]:
    """Run the plan on one draw (worker entry point); returns the cache row and the winner's arrays."""
    t_start = time.perf_counter()
    metric, sense = task_objective(task.env_id)
    env_kwargs = dict(task.env_kwargs)
    _, env = _get_env(None, task.env_id, env_kwargs)  # the env path of every baseline row
    u = env.unwrapped
    env.reset(seed=task.seed)
    plan = task.plan
    cands: dict[str, list[Any]] = {}
    best: dict[str, Any] = {"score": None}

    def consider(label: str, res: Any, t0: float) -> None:
        if not res.solved:
            cands[label] = [None, False, time.perf_counter() - t0]
            return
        action = u.encode_action(np.asarray(res.W), np.asarray(res.phi))
        row = _play(_DesignPolicy(action), env, task.seed, task.policy_seed, 1)
        score = _score(row, metric, sense)
        cands[label] = [float(row.get(metric, math.nan)), score is not None, time.perf_counter() - t0]
        if score is not None and (best["score"] is None or score > best["score"]):
            best.update(score=score, label=label, action=action, row=row, res=res)

    for name in plan.solvers:
        t0 = time.perf_counter()
        consider(name, _solve(name, u.scenario, np.random.default_rng(task.policy_seed)), t0)
    for name in plan.restart:
        for r, ss in enumerate(np.random.SeedSequence(task.policy_seed).spawn(plan.n_restarts)):
            t0 = time.perf_counter()
            rng = np.random.default_rng(ss)
            init = _random_start(env, u.scenario, rng)
            consider(f"{name}@restart{r + 1}", _solve(name, u.scenario, rng, init), t0)
    if best["score"] is not None:
        inc = best["res"]
        for name in plan.polish:
            t0 = time.perf_counter()
            init = (np.asarray(inc.W), np.asarray(inc.phi))
            res = _solve(name, u.scenario, np.random.default_rng(task.policy_seed), init)
            consider(f"{name}@polish", res, t0)
    out: dict[str, Any] = {
        "policy": f"{BEST_KNOWN}@{plan.hash}",
        "env_id": task.env_id,
        "eval_set": task.eval_hash,
        "trial": task.trial,
        "seed": task.seed,
        "policy_seed": task.policy_seed,
        "winner": best.get("label", ""),
        "objective": sense * best["score"] if best["score"] is not None else math.nan,
        "feasible": best["score"] is not None,
        "n_candidates": len(cands),
        "n_feasible": sum(1 for c in cands.values() if c[1]),
        "build_time_s": time.perf_counter() - t_start,
        "candidates": json.dumps({k: [v[0], v[1], round(v[2], 6)] for k, v in cands.items()}),
        "plan": _canonical(plan.to_dict()),
    }
    arrays: dict[str, np.ndarray] = {}
    if best["score"] is not None:
        W, phi = u.decode_action(best["action"])
        arrays = {"W": np.asarray(W), "phi": np.asarray(phi), **_action_arrays(best["action"])}
    return {"row": out, "arrays": arrays}


# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------
def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with _input_errors(f"best_known designs {path}"), np.load(path, allow_pickle=False) as data:
        return {k: np.asarray(data[k]) for k in data.files}


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Atomic rewrite (tmp file + ``os.replace``)."""
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **dict(arrays))
    os.replace(tmp, path)


def ensure_best_known(
    eval_sets: Iterable[EvalSet],
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    n_restarts: int | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Build the missing best_known entries of every draw of ``eval_sets`` (all sets in one pool).

    Returns:
        ``{eval set hash: cache csv path}``.

    Raises:
        ValueError: an env id without a task (:func:`task_of`).
        ResultsLockedError: another run is building the same cache file.
    """
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sets = {es.hash: es for es in eval_sets}
    stores: dict[str, ResultStore] = {}
    tasks: list[_BuildTask] = []
    try:
        for h, es in sets.items():
            plan = plan_for(es.env_id, n_restarts)
            csv_path, _ = _paths(root, h)
            stores[h] = store = ResultStore(csv_path)
            key = f"{BEST_KNOWN}@{plan.hash}"
            for trial, seed in enumerate(es.seeds):
                if (key, h, trial) in store:
                    continue
                env_kw = tuple(es.env_kwargs.items())
                tasks.append(_BuildTask(es.env_id, env_kw, h, trial, seed, es.policy_seed(trial), plan))
        arrays = {h: _read_npz(_paths(root, h)[1]) for h in {t.eval_hash for t in tasks}}
        for _, res in run_tasks(
            build_trial, tasks, backend=backend, workers=workers, address=address, progress=progress,
            desc="best_known",
        ):  # fmt: skip
            row = res["row"]
            h, prefix = row["eval_set"], f"{row['policy'].split('@', 1)[1]}_{row['trial']}_"
            if res["arrays"]:
                arrays[h].update({prefix + k: v for k, v in res["arrays"].items()})
                _write_npz(_paths(root, h)[1], arrays[h])  # the design first, then its row
            stores[h].append([row])
    finally:
        for st in stores.values():
            st.close()
    return {h: _paths(root, h)[0] for h in sets}


@dataclass(frozen=True)
class CachedDraw:
    """One cached best_known entry (see the module docstring)."""

    trial: int
    winner: str
    objective: float
    feasible: bool
    build_time_s: float
    W: np.ndarray | None = None
    phi: np.ndarray | None = None
    action: Any = None


def load_best_known(
    es: EvalSet, cache_dir: str | os.PathLike[str] | None = None, *, n_restarts: int | None = None
) -> dict[int, CachedDraw]:
    """The cached entries of ``es`` under the current plan, by trial (missing trials are absent).

    Raises:
        InputError: a cached row whose design is missing from the ``.npz`` (the message names it).
    """
    return _load(es.env_id, es.hash, cache_dir, n_restarts)


def _load(
    env_id: str, eval_hash: str, cache_dir: str | os.PathLike[str] | None, n_restarts: int | None
) -> dict[int, CachedDraw]:
    import pandas as pd

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    csv_path, npz_path = _paths(root, eval_hash)
    if not csv_path.exists():
        return {}
    plan = plan_for(env_id, n_restarts)
    ResultStore(csv_path, lock=False)  # validates the file (torn rows, key columns)
    with _input_errors(f"best_known cache {csv_path}"):
        df = pd.read_csv(csv_path, dtype={"policy": str, "eval_set": str, "winner": str})
    df = df[(df["policy"] == f"{BEST_KNOWN}@{plan.hash}") & (df["eval_set"] == eval_hash)]
    df = df.drop_duplicates(["trial"], keep="first")
    arrays = _read_npz(npz_path)
    out: dict[int, CachedDraw] = {}
    for r in df.itertuples():
        t = int(r.trial)
        feasible = str(r.feasible).strip().lower() in ("true", "1", "1.0")
        W = phi = action = None
        if feasible:
            pre = f"{plan.hash}_{t}_"
            if pre + "W" not in arrays:
                raise InputError(f"best_known cache {npz_path}: no design for trial {t} (delete {csv_path})")
            W, phi = arrays[pre + "W"], arrays[pre + "phi"]
            if pre + "action" in arrays:
                action = arrays[pre + "action"]
            else:
                keys = [k for k in arrays if k.startswith(pre + "action__")]
                action = {k[len(pre + "action__") :]: arrays[k] for k in keys}
        winner = "" if not isinstance(r.winner, str) else r.winner
        out[t] = CachedDraw(t, winner, float(r.objective), feasible, float(r.build_time_s), W, phi, action)
    return out


# ---------------------------------------------------------------------------------------------
# Policy spec
# ---------------------------------------------------------------------------------------------
class BestKnownPolicy:
    """Replays the cached best_known action of the current draw (:meth:`select_draw`)."""

    def __init__(self, cache_dir: str, n_restarts: int | None, env: Any) -> None:
        self.cache_dir = cache_dir
        self.n_restarts = n_restarts
        self.env = env
        self._tables: dict[str, dict[int, CachedDraw]] = {}
        self.current: CachedDraw | None = None
        self.last_result: Any = None

    def select_draw(self, env_id: str, eval_hash: str, trial: int) -> None:
        """Set the draw whose design :meth:`predict` plays.

        Raises:
            InputError: the cache has no entry for the draw (build it with :func:`ensure_best_known`).
        """
        from isac_gym.baselines.base import SolverResult

        if eval_hash not in self._tables:
            self._tables[eval_hash] = _load(env_id, eval_hash, self.cache_dir, self.n_restarts)
        entry = self._tables[eval_hash].get(trial)
        if entry is None:
            raise InputError(
                f"best_known cache {_paths(self.cache_dir, eval_hash)[0]} has no entry for trial {trial}; "
                "build it first (isac_gym.agents.best_known.ensure_best_known)"
            )
        self.current = entry
        if entry.feasible:
            self.last_result = SolverResult(
                W=entry.W, phi=entry.phi, objective=entry.objective, history={}, converged=True,
                stop_reason=f"{BEST_KNOWN}: {entry.winner}", iterations=0, wall_time_s=entry.build_time_s,
                feasible=True,
            )  # fmt: skip
        else:
            self.last_result = SolverResult.failed(
                f"{BEST_KNOWN}: no feasible design among the candidates", wall_time_s=entry.build_time_s
            )

    def row_overrides(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The draw's build time as ``latency_s`` (the cost of finding the design), the replay's
        wall time as ``replay_latency_s`` and the winning candidate."""
        assert self.current is not None
        return {
            "latency_s": self.current.build_time_s,
            "replay_latency_s": row.get("latency_s", math.nan),
            "best_known_winner": self.current.winner,
        }

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        from isac_gym.baselines.policy import placeholder_action

        if self.current is None:
            raise RuntimeError("BestKnownPolicy.predict before select_draw")
        if not self.current.feasible:
            return placeholder_action(self.env.action_space), state
        a = self.current.action
        return ({k: np.array(v) for k, v in a.items()} if isinstance(a, dict) else np.array(a)), state


@dataclass(frozen=True)
class BestKnownSpec:
    """The ``best_known`` policy: builds the cache (:meth:`prepare`) and replays it.

    Attributes:
        cache_dir: cache folder (default :func:`default_cache_dir`, resolved to an absolute path).
        n_restarts: random starts per restarted solver (default: :data:`DEFAULT_PLANS`).
    """

    cache_dir: str = field(default_factory=lambda: str(default_cache_dir().resolve()))
    n_restarts: int | None = None

    @property
    def key(self) -> str:
        return f"{BEST_KNOWN}:{self.cache_dir}:{self.n_restarts}"

    def prepare(
        self,
        eval_sets: Sequence[EvalSet],
        *,
        backend: str = "local",
        workers: int | None = None,
        address: str | None = None,
        progress: bool = True,
    ) -> None:
        """Build the missing cache entries of ``eval_sets`` (called by ``run_evaluation``)."""
        ensure_best_known(
            eval_sets, self.cache_dir, n_restarts=self.n_restarts, backend=backend, workers=workers,
            address=address, progress=progress,
        )  # fmt: skip

    def build(self, env: Any) -> BestKnownPolicy:
        return BestKnownPolicy(self.cache_dir, self.n_restarts, env)


# ---------------------------------------------------------------------------------------------
# Headroom
# ---------------------------------------------------------------------------------------------
def headroom(
    summary: Any, heuristics: Sequence[str], metric: str, best_known: str = BEST_KNOWN
) -> dict[str, Any]:
    """The tier's headroom from a :func:`isac_gym.agents.evaluate.summarize` table.

    ``best heuristic`` = the heuristic policy (labels ``heuristics``) with the best ``mean``
    objective (over its solved draws, as in the table). Maximised objectives (sum rate):
    ``headroom_pct = 100 (best_known - best heuristic) / best_known``. ``power_dbm`` (lower is
    better): ``headroom_db = best heuristic - best_known`` (dB) and ``headroom_pct =
    100 (1 - 10^(-headroom_db / 10))``, the share of the heuristic's power that best_known saves.

    Returns:
        ``{"best_heuristic", "best_heuristic_mean", "best_known_mean", "headroom_pct",
        "headroom_db"}`` (NaN / ``""`` where the table lacks best_known or a heuristic).
    """
    out: dict[str, Any] = {
        "best_heuristic": "",
        "best_heuristic_mean": math.nan,
        "best_known_mean": math.nan,
        "headroom_pct": math.nan,
        "headroom_db": math.nan,
    }
    rows = {str(r.policy): float(r.mean) for r in summary.itertuples()}
    minimise = metric == "power_dbm"
    if best_known in rows:
        out["best_known_mean"] = rows[best_known]
    cands = {p: v for p, v in rows.items() if p in heuristics and math.isfinite(v)}
    if cands:
        p = (min if minimise else max)(cands, key=cands.__getitem__)
        out.update(best_heuristic=p, best_heuristic_mean=cands[p])
    bk, bh = out["best_known_mean"], out["best_heuristic_mean"]
    if math.isfinite(bk) and math.isfinite(bh):
        if minimise:
            out["headroom_db"] = bh - bk
            out["headroom_pct"] = 100.0 * (1.0 - 10.0 ** (-(bh - bk) / 10.0))
        elif bk != 0:
            out["headroom_pct"] = 100.0 * (bk - bh) / bk
    return out


def headroom_line(h: Mapping[str, Any], metric: str) -> str:
    """One printable line of :func:`headroom`."""
    if not h["best_heuristic"]:
        return "headroom: - (no heuristic solver in the table)"
    if not math.isfinite(h["best_known_mean"]):
        return "headroom: - (no best_known row)"
    if metric == "power_dbm":
        return (
            f"headroom: {h['headroom_db']:.2f} dB ({h['headroom_pct']:.1f}% of the power) = best heuristic "
            f"{h['best_heuristic']} {h['best_heuristic_mean']:.3f} dBm - best_known {h['best_known_mean']:.3f} dBm"
        )
    return (
        f"headroom: {h['headroom_pct']:.1f}% = (best_known {h['best_known_mean']:.3f} - best heuristic "
        f"{h['best_heuristic']} {h['best_heuristic_mean']:.3f}) / best_known ({metric})"
    )
