"""The papers' figures as data, plus thin compute (cached, resumable, parallel) and plot code.

Every figure of both papers is one :class:`Figure` in :data:`FIGURES`:

* ``kind="sweep"``: the x-axis is a scenario field (``gym.make`` keyword) swept over ``values``;
  at each value every scheme (a registered baseline played through
  :func:`isac_gym.agents.evaluate.run_evaluation`, i.e. the same SB3-``predict`` protocol as the agents)
  runs on ``trials`` seeded channel draws, the same draws for every scheme.
* ``kind="trace"``: per-iteration history of a solver (``SolverResult.history``) on ``trials``
  draws, for a few scenario variants (convergence figures).

Computation appends tidy rows to ``<out_dir>/<sweep>.rows.csv`` as trials complete (figures that
share a computation, e.g. the robust paper's power / run time / feasibility vs N, share ``sweep``
and its rows); re-running a command computes only the missing rows. Plotting reads the rows of
the current eval sets and writes ``<out_dir>/<name>.csv`` (the plotted table: mean, 95% CI,
feasibility rate, latency per scheme and x) and ``<out_dir>/<name>.png``. Every CSV gets Parquet
copies next to it (:func:`isac_gym.agents.evaluate.write_parquet`): ``<name>.parquet`` and, for the rows
files, ``<sweep>.rows.parquet`` plus the long tables ``<sweep>.rows_per_user.parquet`` /
``<sweep>.rows_per_target.parquet`` (``policy, eval_set, trial, figure, x, metric, user | target,
value``) of the per-user / per-target metrics that the CSV holds as JSON lists.

Seeds: the draws of trial ``i`` at every x value come from ``SeedSequence(seed).spawn(trials)[i]``,
identical on every backend and for every scheme.

Other env ids (``env_id=`` / ``isac figure NAME --env ID``): a figure can run on another registered
id of the same task (e.g. a scenario tier); every point is then ``gym.make(ID, **fixed, x=value)``,
i.e. the id's registered keyword arguments plus the figure's fixed ones and its x value (a scheme
with its own env id, the robust paper's Continuous curve, keeps it). Its files carry the id:
``<name>@<EnvName>.csv`` / ``.png`` and ``<sweep>@<EnvName>.rows.csv``.

Batched schemes (``batched=True``, sweeps only; issue 14): the schemes with a batched counterpart in
:mod:`isac_gym.baselines.batched` (:data:`BATCHED_SOLVERS`: GD, Comm-only, BF-only with its fixed
phases) solve all draws of a point at once (:class:`BatchedSpec`, split over the workers), and every
row then replays its draw's design; FP-MM-ADMM ("Proposed") stays per draw. The rows and the files
carry ``-batched`` (``<sweep>-batched.rows.csv``, ``<name>-batched.csv`` / ``.png``) so that they
never mix with the per-draw schemes' rows; a row's ``latency_s`` is the batched solve's time per
draw. Designs are cached per eval set in ``<out_dir>/batched-cache/``.

best_known (``best_known=True`` / ``--best-known``, sweeps only; opt-in because it runs every solver
of the task plus restarts on every draw, several times a scheme's cost): adds the ``best_known`` curve
(:mod:`isac_gym.agents.best_known`, cached per eval set) and the columns ``gap_to_best_known_mean`` /
``rel_gap_to_best_known_pct`` to the table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from isac_gym.agents.evaluate import (
    BaselineSpec,
    EvalSet,
    ResultStore,
    bool_column,
    dedupe_rows,
    mean_ci95,
    run_evaluation,
    write_parquet,
)
from isac_gym.agents.parallel import run_tasks

__all__ = [
    "BATCHED_SOLVERS",
    "FIGURES",
    "PAPER_TRIALS",
    "QUICK_TRIALS",
    "BatchedSpec",
    "Figure",
    "Scheme",
    "compute",
    "env_name",
    "estimate_cpu_seconds",
    "figure_table",
    "make_figure",
    "plot",
]

#: Monte-Carlo trials per point in the papers (rar_isac spec 8.7; the robust paper's count was lost,
#: its spec asks for >= 100: the same 1000 is used).
PAPER_TRIALS = 1000
#: Trials per point with ``--quick``.
QUICK_TRIALS = 2

RYDBERG = "isac_env/RydbergISAC-v0"
ROBUST = "isac_env/RobustISAC-v0"
ROBUST_CONT = "isac_env/RobustISAC-Continuous-v0"


@dataclass(frozen=True)
class Scheme:
    """One curve: a registered baseline, optionally on another env id / with extra env kwargs."""

    label: str
    solver: str
    env_id: str | None = None
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """A paper figure as data.

    Attributes:
        name: CLI name, e.g. ``"rar-fig4a"``.
        title: caption-like title.
        env_id: environment of the schemes (a scheme may override it).
        kind: ``"sweep"`` or ``"trace"``.
        x: swept ``gym.make`` keyword (sweeps only).
        values: x values (the spec's ranges, containing the quoted points).
        quick_values: x values with ``--quick``.
        schemes: the curves.
        fixed: ``gym.make`` keywords fixed for the whole figure (e.g. ``rsr_model="distortion"``).
        y: plotted column: a metric (``"sum_rate"``, ``"power_dbm"``), ``"feasible"`` (rate) or
            ``"latency_s"`` (run time), or for traces a ``SolverResult.history`` key.
        agg: ``"mean"`` over all draws, ``"feasible_mean"`` over draws the scheme solved feasibly
            (the robust paper averages power over feasible realizations), or ``"rate"``.
        xlabel, ylabel: axis labels.
        reference: scheme label whose value on the same draw defines the ``gap`` column.
        sweep: name of the computation (rows file); figures with equal ``sweep`` share rows.
        variants: for traces: ``(label, env kwargs)`` scenario variants, one curve per scheme each.
        logy: logarithmic y axis.
    """

    name: str
    title: str
    env_id: str
    kind: str
    schemes: tuple[Scheme, ...]
    y: str
    ylabel: str
    x: str | None = None
    values: tuple[Any, ...] = ()
    quick_values: tuple[Any, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    agg: str = "mean"
    xlabel: str = ""
    reference: str | None = None
    sweep: str = ""
    variants: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    logy: bool = False

    @property
    def rows_name(self) -> str:
        return self.sweep or self.name


RAR_SCHEMES = (
    Scheme("Proposed", "fp_mm_admm"),
    Scheme("Comm-only", "comm_only"),
    Scheme("BF-only", "bf_only"),
    Scheme("GD", "gd"),
)
ROBUST_SCHEMES = (
    Scheme("Continuous", "robust_continuous", env_id=ROBUST_CONT),
    Scheme("Scheme 1", "robust_scheme1"),
    Scheme("Scheme 2", "robust_scheme2"),
)
#: robust paper, RIS sizes of Figs. 2-4, 6, 7 (feasibility knee near N ~ 34)
ROBUST_N = (4, 8, 16, 24, 32, 40, 48, 56, 64)


def _rar_sweep(
    name: str, x: str, values: Sequence[Any], quick: Sequence[Any], xlabel: str, title: str, **fixed: Any
) -> Figure:
    return Figure(
        name=name,
        title=title,
        env_id=RYDBERG,
        kind="sweep",
        x=x,
        values=tuple(values),
        quick_values=tuple(quick),
        schemes=RAR_SCHEMES,
        fixed=fixed,
        y="sum_rate",
        ylabel="U_com (bit/s/Hz)",
        xlabel=xlabel,
        reference="Proposed",
    )


def _robust(
    name: str,
    title: str,
    y: str,
    ylabel: str,
    agg: str,
    delta2: float,
    schemes: tuple[Scheme, ...],
    logy: bool = False,
) -> Figure:
    return Figure(
        name=name,
        title=title,
        env_id=ROBUST,
        kind="sweep",
        x="num_ris",
        values=ROBUST_N,
        quick_values=(8, 32),
        schemes=schemes,
        fixed={"csi_error_delta2": delta2},
        y=y,
        ylabel=ylabel,
        xlabel="N (RIS elements)",
        agg=agg,
        sweep=f"robust-vs-N-delta2-{delta2:g}",
        logy=logy,
    )


_FIGS: list[Figure] = [
    Figure(
        name="rar-fig3b",
        title="Rydberg ISAC, Fig. 3b: convergence of Algorithm 1 (U_com vs outer iteration)",
        env_id=RYDBERG,
        kind="trace",
        schemes=(Scheme("Proposed", "fp_mm_admm"),),
        variants=(("default", {}), ("N=60", {"num_ris": 60}), ("K=5", {"num_users": 5})),
        y="sum_rate",
        ylabel="U_com (bit/s/Hz)",
        xlabel="outer iteration",
    ),
    _rar_sweep(
        "rar-fig4a", "snr_db", range(5, 35, 5), (15, 25), "SNR (dB)", "Rydberg ISAC, Fig. 4a: U_com vs SNR"
    ),
    _rar_sweep(
        "rar-fig4b",
        "num_ris",
        range(20, 140, 20),
        (20, 100),
        "N (RIS elements)",
        "Rydberg ISAC, Fig. 4b: U_com vs N",
    ),
    _rar_sweep(
        "rar-fig4c",
        "crb_threshold",
        [round(0.005 * i, 3) for i in range(1, 9)],
        (0.015, 0.025),
        "CRB threshold eps (rad^2)",
        "Rydberg ISAC, Fig. 4c: U_com vs eps",
    ),
    _rar_sweep(
        "rar-fig5a",
        "num_cells",
        (5, 15, 25, 35, 45),
        (15, 35),
        "M (vapor cells per RAR)",
        "Rydberg ISAC, Fig. 5a: U_com vs M",
    ),
    _rar_sweep(
        "rar-fig5b",
        "rsr_db",
        [2.5 * i for i in range(9)],
        (5.0, 10.0),
        "RSR (dB)",
        "Rydberg ISAC, Fig. 5b: U_com vs RSR (distortion model, spec A1)",
        rsr_model="distortion",
    ),
    _rar_sweep(
        "rar-fig5c", "num_users", range(1, 7), (3, 5), "K (users)", "Rydberg ISAC, Fig. 5c: U_com vs K"
    ),
    _robust(
        "robust-fig2",
        "Robust ISAC, Fig. 2: transmit power vs N (delta^2 = 0.01)",
        "power_dbm",
        "transmit power (dBm)",
        "feasible_mean",
        0.01,
        ROBUST_SCHEMES,
    ),
    _robust(
        "robust-fig3",
        "Robust ISAC, Fig. 3: transmit power vs N (delta^2 = 0.05)",
        "power_dbm",
        "transmit power (dBm)",
        "feasible_mean",
        0.05,
        ROBUST_SCHEMES,
    ),
    _robust(
        "robust-fig4",
        "Robust ISAC, Fig. 4: run time vs N (Scheme 1 vs Scheme 2)",
        "latency_s",
        "run time (s)",
        "mean",
        0.01,
        ROBUST_SCHEMES[1:],
        logy=True,
    ),
    Figure(
        name="robust-fig5",
        title="Robust ISAC, Fig. 5: transmit power vs AO iteration",
        env_id=ROBUST,
        kind="trace",
        schemes=ROBUST_SCHEMES,
        variants=(("delta2=0.01", {"csi_error_delta2": 0.01}),),
        # the power of the design the AO holds after each iteration (its best iterate; the raw
        # iterate power is in the rows as power_dbm and can rise where the SDR is not tight)
        y="best_power_dbm",
        ylabel="transmit power, best design so far (dBm)",
        xlabel="AO iteration",
    ),
    _robust(
        "robust-fig6",
        "Robust ISAC, Fig. 6: feasibility rate vs N (delta^2 = 0.01)",
        "feasible",
        "feasibility rate",
        "rate",
        0.01,
        ROBUST_SCHEMES,
    ),
    _robust(
        "robust-fig7",
        "Robust ISAC, Fig. 7: feasibility rate vs N (delta^2 = 0.05)",
        "feasible",
        "feasibility rate",
        "rate",
        0.05,
        ROBUST_SCHEMES,
    ),
]

#: Every figure of both papers by CLI name.
FIGURES: dict[str, Figure] = {f.name: f for f in _FIGS}


#: Rough CPU seconds of one trial (draw) of one scheme at one point, by env id of the figure, measured
#: on a 2-core machine: the Rydberg sweeps about 2.5 CPU-s per trial-point for their 4 schemes, the
#: robust ones about 3.5 CPU-s per draw for their 3 schemes at N = 8 (see :func:`estimate_cpu_seconds`).
CPU_S_PER_SCHEME_TRIAL: dict[str, float] = {RYDBERG: 2.5 / 4, ROBUST: 3.5 / 3}
#: RIS size at which the robust cost above was measured (the estimate scales it linearly in N)
_ROBUST_COST_N = 8


def _robust_n(fig: Figure, value: Any, overrides: Mapping[str, Any]) -> int:
    if fig.x == "num_ris" and value is not None:
        return int(value)
    from isac_env.config import RobustISACConfig

    return int(overrides.get("num_ris", RobustISACConfig().num_ris))


def estimate_cpu_seconds(
    name: str,
    *,
    trials: int,
    quick: bool = False,
    schemes: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> float:
    """A rough estimate of the CPU seconds that computing figure ``name`` from scratch takes.

    ``points x schemes x trials x`` :data:`CPU_S_PER_SCHEME_TRIAL` of the figure's task; for the
    robust task the per-trial cost is scaled by ``N / 8`` at each point (``N`` the swept
    ``num_ris`` or the scenario's). Cached rows, the best_known curve and the scenario's other
    sizes are not taken into account: an order of magnitude, for deciding whether to start.

    Raises:
        ValueError: unknown figure or scheme.
    """
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    fig = FIGURES[name]
    ov = dict(overrides or {})
    n_schemes = len(_select(fig, schemes))
    cost = CPU_S_PER_SCHEME_TRIAL.get(fig.env_id, CPU_S_PER_SCHEME_TRIAL[RYDBERG])
    points: Sequence[Any] = (
        (fig.quick_values if quick else fig.values) if fig.kind == "sweep" else [None] * len(fig.variants)
    )
    total = 0.0
    for value in points:
        scale = _robust_n(fig, value, ov) / _ROBUST_COST_N if fig.env_id == ROBUST else 1.0
        total += n_schemes * trials * cost * scale
    return total


# ---------------------------------------------------------------------------------------------
# compute
# ---------------------------------------------------------------------------------------------
def _select(fig: Figure, schemes: Sequence[str] | None) -> tuple[Scheme, ...]:
    if not schemes:
        return fig.schemes
    known = {s.label: s for s in fig.schemes}
    bad = [s for s in schemes if s not in known]
    if bad:
        raise ValueError(f"{fig.name}: unknown scheme(s) {bad}; known: {list(known)}")
    return tuple(known[s] for s in schemes)


def _check_overrides(fig: Figure, overrides: Mapping[str, Any]) -> None:
    if fig.x is not None and fig.x in overrides:
        raise ValueError(f"{fig.name} sweeps {fig.x!r}; it cannot also be overridden")


BEST_KNOWN = "best_known"


def env_name(env_id: str) -> str:
    """The id without its namespace, as output file names carry it: ``"isac_env/RobustISAC-v0"`` ->
    ``"RobustISAC-v0"`` (``NAME@<EnvName>.*`` of ``isac figure --env`` and ``isac compare``)."""
    return env_id.rsplit("/", 1)[-1]


def env_suffix(fig: Figure, env_id: str | None) -> str:
    """``"@<EnvName>"`` (:func:`env_name`) for a run on another id than the figure's, else ``""``."""
    if env_id is None or env_id == fig.env_id:
        return ""
    return "@" + env_name(env_id)


def check_env(fig: Figure, env_id: str | None) -> None:
    """``env_id`` must be a registered id of the figure's task (same id prefix before ``-``).

    Raises:
        ValueError: unregistered id or another task.
    """
    if env_id is None:
        return
    import gymnasium as gym

    import isac_env  # noqa: F401

    if env_id not in gym.registry:
        raise ValueError(f"{fig.name}: env id {env_id!r} is not registered")
    family = fig.env_id.split("-", 1)[0]
    if env_id.split("-", 1)[0] != family:
        raise ValueError(f"{fig.name} is a figure of {family}; {env_id!r} is another task")


def rows_path(
    fig: Figure, out_dir: str | os.PathLike[str], env_id: str | None = None, batched: bool = False
) -> Path:
    """The rows CSV of a figure's computation (on ``env_id``, default the figure's own; with
    ``batched`` and a scheme that has a batched counterpart, ``<sweep>...-batched.rows.csv``)."""
    return Path(out_dir) / f"{fig.rows_name}{env_suffix(fig, env_id)}{batched_suffix(fig, batched)}.rows.csv"


def eval_plan(
    fig: Figure,
    *,
    trials: int,
    seed: int = 0,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    schemes: Sequence[str] | None = None,
    env_id: str | None = None,
) -> list[tuple[Scheme, EvalSet, dict[str, Any]]]:
    """``(scheme, eval set, extra columns)`` for every scheme and point of a figure (on ``env_id``
    instead of ``fig.env_id`` for the schemes without their own id)."""
    overrides = dict(overrides or {})
    _check_overrides(fig, overrides)
    check_env(fig, env_id)
    fig_env = env_id or fig.env_id
    plan = []
    for sch in _select(fig, schemes):
        env_id = sch.env_id or fig_env
        if fig.kind == "sweep":
            assert fig.x is not None
            for v in fig.quick_values if quick else fig.values:
                kw = {**fig.fixed, **sch.env_kwargs, **overrides, fig.x: v}
                plan.append((sch, EvalSet(env_id, kw, seed, trials), {"figure": fig.rows_name, "x": v}))
        else:
            for vlabel, vkw in fig.variants:
                kw = {**fig.fixed, **sch.env_kwargs, **vkw, **overrides}
                plan.append(
                    (sch, EvalSet(env_id, kw, seed, trials), {"figure": fig.rows_name, "variant": vlabel})
                )
    return plan


@dataclass(frozen=True)
class _TraceTask:
    scheme: str
    solver: str
    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...]
    eval_hash: str
    trial: int
    seed: int
    policy_seed: int
    extra: tuple[tuple[str, Any], ...]


def _trace_trial(task: _TraceTask) -> list[dict[str, Any]]:
    """Solve one draw and return one row per outer iteration of the solver's history."""
    import gymnasium as gym

    import isac_env  # noqa: F401
    from isac_gym.baselines import get_solver

    env = gym.make(task.env_id, **dict(task.env_kwargs))
    env.reset(seed=task.seed)
    res = get_solver(task.solver).solve(env.unwrapped.scenario, rng=np.random.default_rng(task.policy_seed))
    env.close()
    hist = {k: list(v) for k, v in res.history.items()}
    # A solver that stopped before its first iteration (e.g. an infeasible first SDP) still gets one
    # row (iteration 0, NaN history, its stop reason): the trial is recorded, so a resumed run does
    # not recompute it and the table's ``n`` counts only draws with a value.
    n_it = max(1, max((len(v) for v in hist.values()), default=0))
    rows = []
    for it in range(n_it):
        row: dict[str, Any] = {
            "policy": task.scheme,
            "env_id": task.env_id,
            "eval_set": task.eval_hash,
            "trial": task.trial,
            "seed": task.seed,
            **dict(task.extra),
            **dict(task.env_kwargs),
            "iteration": it,
        }
        for k, v in hist.items():
            row[k] = float(v[it]) if it < len(v) else math.nan
        row.update(
            solved=bool(getattr(res, "solved", True)),
            solver_feasible=res.feasible,
            solver_stop_reason=res.stop_reason,
        )
        rows.append(row)
    return rows


def compute(
    fig: Figure,
    out_dir: str | os.PathLike[str],
    *,
    trials: int,
    seed: int = 0,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    schemes: Sequence[str] | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    env_id: str | None = None,
    best_known: bool = False,
    best_known_dir: str | os.PathLike[str] | None = None,
    best_known_restarts: int | None = None,
    batched: bool = False,
) -> Path:
    """Compute (or resume) the rows of a figure; returns the rows CSV path.

    ``env_id``: run on another registered id (see the module docstring). ``best_known``: also the
    ``best_known`` policy on every point (sweeps; cache in ``best_known_dir``, default
    :func:`isac_gym.agents.best_known.default_cache_dir`; ``best_known_restarts`` random starts per restarted
    solver). ``batched``: the schemes of :data:`BATCHED_SOLVERS` solve all draws of a point at once
    (sweeps; see the module docstring)."""
    out = rows_path(fig, out_dir, env_id, batched)
    plan = eval_plan(
        fig, trials=trials, seed=seed, quick=quick, overrides=overrides, schemes=schemes, env_id=env_id
    )
    if fig.kind == "sweep":
        # one evaluation per env id, all points at once (keeps every worker busy)
        by_env: dict[str, list[tuple[Scheme, EvalSet, dict[str, Any]]]] = {}
        for item in plan:
            by_env.setdefault(item[1].env_id, []).append(item)
        for env_id, items in by_env.items():
            pols: dict[str, Any] = {s.label: _scheme_spec(s, batched, out_dir) for s, _, _ in items}
            if best_known:
                from isac_gym.agents.best_known import BestKnownSpec, default_cache_dir

                bk_dir = Path(best_known_dir) if best_known_dir is not None else default_cache_dir()
                pols[BEST_KNOWN] = BestKnownSpec(str(bk_dir.resolve()), best_known_restarts)
            sets: dict[str, tuple[EvalSet, dict[str, Any]]] = {es.hash: (es, ex) for _, es, ex in items}
            ref = fig.reference if fig.reference in pols else None
            run_evaluation(
                pols,
                list(sets.values()),
                out,
                reference=ref,
                backend=backend,
                workers=workers,
                address=address,
                progress=progress,
                desc=f"{fig.name} [{env_id.split('/')[-1]}]",
            )
        return out
    # exclusive: a concurrent run on the same rows file fails here; one row per solver iteration
    with ResultStore(out, row_key=("iteration",)) as store:
        _trace_rows(
            store, plan, backend=backend, workers=workers, address=address, progress=progress, desc=fig.name
        )
        if store.path.exists():  # under the lock; sweeps get theirs from run_evaluation
            write_parquet(store.path)
    return out


def _trace_rows(
    store: ResultStore,
    plan: Sequence[tuple[Scheme, EvalSet, dict[str, Any]]],
    *,
    backend: str,
    workers: int | None,
    address: str | None,
    progress: bool,
    desc: str,
) -> None:
    """Solve the plan's missing trace trials and append their rows to ``store``."""
    tasks = [
        _TraceTask(
            sch.label,
            sch.solver,
            es.env_id,
            tuple(es.env_kwargs.items()),
            es.hash,
            t,
            s,
            es.policy_seed(t),
            tuple(ex.items()),
        )
        for sch, es, ex in plan
        for t, s in enumerate(es.seeds)
        if (sch.label, es.hash, t) not in store
    ]
    for _, rows in run_tasks(
        _trace_trial,
        tasks,
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
        desc=desc,
    ):
        store.append(rows)


# ---------------------------------------------------------------------------------------------
# batched schemes (issue 14): all draws of a sweep point at once
# ---------------------------------------------------------------------------------------------
#: per-draw scheme solver -> its batched counterpart (:mod:`isac_gym.baselines.batched`), used by sweeps
#: with ``batched=True``; FP-MM-ADMM ("Proposed", the paper's algorithm) has none and runs per draw
BATCHED_SOLVERS: dict[str, str] = {
    "gd": "batched_gd",
    "comm_only": "batched_comm_only",
    "bf_only": "batched_bf_only",
}
#: draws per batched task at most (an eval set is split into at least ``workers`` tasks)
BATCHED_CHUNK = 256


def batched_suffix(fig: Figure, batched: bool) -> str:
    """``"-batched"`` for a batched sweep of a figure with a scheme in :data:`BATCHED_SOLVERS`, else ``""``."""
    if not batched or fig.kind != "sweep":
        return ""
    return "-batched" if any(s.solver in BATCHED_SOLVERS for s in fig.schemes) else ""


def _scheme_spec(sch: Scheme, batched: bool, out_dir: str | os.PathLike[str]) -> Any:
    """The policy spec of a sweep's scheme: :class:`BatchedSpec` for a batched scheme, else
    :class:`~isac_gym.agents.evaluate.BaselineSpec`."""
    if batched and sch.solver in BATCHED_SOLVERS:
        name = BATCHED_SOLVERS[sch.solver]
        return BatchedSpec(name, str((Path(out_dir) / "batched-cache" / name).resolve()))
    return BaselineSpec(sch.solver)


def _batched_cache_file(
    cache_dir: str, solver: str, options: tuple[tuple[str, Any], ...], eval_hash: str
) -> Path:
    """``<cache_dir>/<eval hash>-<tag>.npz``; the tag hashes the solver's settings (its options and
    defaults), so that changed settings are solved anew instead of replaying stale designs."""
    import hashlib
    import json

    from isac_gym.baselines import get_solver

    settings = {"solver": solver, **vars(get_solver(solver, **dict(options)))}
    tag = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return Path(cache_dir) / f"{eval_hash}-{tag}.npz"


@dataclass(frozen=True)
class BatchedSpec:
    """A batched solver as a sweep policy: :meth:`prepare` solves the draws of every eval set at once
    (:func:`isac_gym.baselines.batched.solve_env_draws`, split over the workers) and caches the designs;
    :meth:`build` replays them, one draw per row (:class:`BatchedReplayPolicy`).

    Attributes:
        solver: registered batched solver (``"batched_gd"``, ...); options: its constructor keywords.
        cache_dir: folder of the per-eval-set caches ``<eval hash>-<settings tag>.npz`` (absolute).
    """

    solver: str
    cache_dir: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        return f"batched:{self.solver}:{sorted(self.options)}:{self.cache_dir}"

    def cache_file(self, eval_hash: str) -> Path:
        return _batched_cache_file(self.cache_dir, self.solver, self.options, eval_hash)

    def prepare(
        self,
        eval_sets: Sequence[EvalSet],
        *,
        backend: str = "local",
        workers: int | None = None,
        address: str | None = None,
        progress: bool = True,
    ) -> None:
        """Solve the eval sets without a cache file (called by ``run_evaluation`` before the rows)."""
        from isac_gym.agents.parallel import default_workers
        from isac_gym.baselines.batched import EnvDraws, solve_env_draws

        todo = [
            es for es in {es.hash: es for es in eval_sets}.values() if not self.cache_file(es.hash).exists()
        ]
        n_workers = workers or default_workers()
        tasks, owner = [], []
        for es in todo:
            n_chunks = max(n_workers, math.ceil(es.n_draws / BATCHED_CHUNK))
            size = math.ceil(es.n_draws / n_chunks)
            for lo in range(0, es.n_draws, size):
                idx = range(lo, min(es.n_draws, lo + size))
                tasks.append(
                    EnvDraws(
                        self.solver,
                        self.options,
                        es.env_id,
                        tuple(es.env_kwargs.items()),
                        tuple(es.seeds[i] for i in idx),
                        tuple(es.policy_seed(i) for i in idx),
                    )
                )
                owner.append((es, lo))
        done: dict[str, dict[int, list[dict[str, Any]]]] = {es.hash: {} for es in todo}
        for i, out in run_tasks(
            solve_env_draws, tasks, backend=backend, workers=workers, address=address, progress=progress,
            desc=f"batched {self.solver}",
        ):  # fmt: skip
            es, lo = owner[i]
            done[es.hash][lo] = out["results"]
            if sum(len(v) for v in done[es.hash].values()) == es.n_draws:  # every chunk of the set
                rows = [r for _, chunk in sorted(done[es.hash].items()) for r in chunk]
                _write_batched_cache(self.cache_file(es.hash), rows)

    def build(self, env: Any) -> BatchedReplayPolicy:
        return BatchedReplayPolicy(self, env)


def _write_batched_cache(path: Path, rows: list[dict[str, Any]]) -> None:
    """Per-draw designs (``W``, ``phi``; zeros for a failed solve) and the other result fields as JSON."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    solved = np.array([r["W"] is not None for r in rows])
    ref = next((r for r in rows if r["W"] is not None), None)
    shape_W = np.shape(ref["W"]) if ref is not None else (0, 0)
    shape_phi = np.shape(ref["phi"]) if ref is not None else (0,)
    W = np.stack([r["W"] if r["W"] is not None else np.zeros(shape_W, complex) for r in rows])
    phi = np.stack([r["phi"] if r["phi"] is not None else np.zeros(shape_phi, complex) for r in rows])
    meta = [{k: v for k, v in r.items() if k not in ("W", "phi")} for r in rows]
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, W=W, phi=phi, solved=solved, meta=np.array(json.dumps(meta, default=float)))
    os.replace(tmp, path)


def _read_batched_cache(path: Path) -> list[Any]:
    """The :class:`~isac_gym.baselines.base.SolverResult` of every draw of a cache file."""
    import json

    from isac_gym.agents.evaluate import InputError
    from isac_gym.baselines.batched import result_from_dict

    try:
        with np.load(path, allow_pickle=False) as data:
            W, phi, solved = data["W"], data["phi"], data["solved"]
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"batched cache {path}: cannot be read ({exc}); delete it to recompute") from exc
    return [
        result_from_dict({**m, "W": W[i] if solved[i] else None, "phi": phi[i] if solved[i] else None})
        for i, m in enumerate(meta)
    ]


class BatchedReplayPolicy:
    """Plays the cached batched design of the draw set by :meth:`select_draw` (SB3's ``predict``).

    ``last_result`` is the draw's :class:`~isac_gym.baselines.base.SolverResult` (so the rows get the
    solver's verdicts, and a failed solve is marked unsolved); :meth:`row_overrides` records the
    batched solve's time per draw as ``latency_s`` and the replay's as ``replay_latency_s``.
    """

    def __init__(self, spec: BatchedSpec, env: Any) -> None:
        self.spec = spec
        self.env = env
        self._tables: dict[str, list[Any]] = {}
        self.last_result: Any = None

    def select_draw(self, env_id: str, eval_hash: str, trial: int) -> None:
        del env_id
        if eval_hash not in self._tables:
            path = self.spec.cache_file(eval_hash)
            if not path.exists():
                from isac_gym.agents.evaluate import InputError

                raise InputError(f"batched cache {path} is missing; BatchedSpec.prepare builds it")
            self._tables[eval_hash] = _read_batched_cache(path)
        self.last_result = self._tables[eval_hash][trial]

    def row_overrides(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"latency_s": self.last_result.wall_time_s, "replay_latency_s": row.get("latency_s", math.nan)}

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        from isac_gym.baselines.policy import placeholder_action

        del observation, episode_start, deterministic
        if self.last_result is None:
            raise RuntimeError("BatchedReplayPolicy.predict before select_draw")
        target = self.env.unwrapped
        if not self.last_result.solved:
            return placeholder_action(target.action_space), state
        return target.encode_action(np.asarray(self.last_result.W), np.asarray(self.last_result.phi)), state


# ---------------------------------------------------------------------------------------------
# tables and plots
# ---------------------------------------------------------------------------------------------
def figure_table(
    fig: Figure,
    rows: Any,
    plan: Sequence[tuple[Scheme, EvalSet, dict[str, Any]]],
    best_known: bool = False,
) -> Any:
    """The plotted table of a figure from its rows (only rows of the plan's eval sets).

    With ``best_known`` (sweeps): the ``best_known`` rows of the plan's eval sets are a scheme of
    the table too, and every row gets ``gap_to_best_known_mean`` (``sense * (best_known -
    objective)`` on the same draw, over the draws where both are solved) and
    ``rel_gap_to_best_known_pct`` (in %; for power the relative power excess).

    Aggregation follows :func:`isac_gym.agents.evaluate.summarize` (the first row per key; failed solves,
    ``solved`` false, are recorded but never scored; means and 95% Student-t CIs by
    :func:`isac_gym.agents.evaluate.mean_ci95`).

    Sweeps: one row per (scheme, x) with ``n`` (all draws), ``n_solved``, ``solved_rate``,
    ``n_used``, ``mean``, ``ci95`` of ``fig.y``, ``feasible_rate``, ``env_feasible_rate``,
    ``latency_s`` (mean) and ``gap_mean``. A metric ``fig.y`` is averaged over the solved draws
    (``agg="mean"``) or over the draws the scheme solved feasibly (``agg="feasible_mean"``); the
    ``"feasible"`` rate and the run time ``"latency_s"`` over all draws (a failed solve counts as
    infeasible). ``feasible_rate`` is the solver's own verdict where the rows have one
    (``solver_feasible``: the Rydberg solvers accept tr CRB <= eps (1 + 1e-3), the robust ones a
    certified design) and drives ``agg``; ``env_feasible_rate`` applies the environment's rule
    (``info["feasible"]``: zero constraint cost) to every policy alike, agents included; ``n_used``
    counts the values behind ``mean``. Traces: one row per (variant, scheme, iteration) with the
    mean and CI of ``fig.y`` over the solved draws (histories shorter than the longest are extended
    with their last value: the solver had stopped).
    """
    import pandas as pd

    wanted = {(s.label, es.hash) for s, es, _ in plan}
    if best_known and fig.kind == "sweep":
        wanted |= {(BEST_KNOWN, es.hash) for _, es, _ in plan}
    rows = rows.astype({"policy": str, "eval_set": str})
    df = rows[[(p, h) in wanted for p, h in zip(rows["policy"], rows["eval_set"], strict=True)]]
    out = []
    if fig.kind == "sweep":
        from isac_gym.agents.evaluate import _gap_to_best_known

        df = dedupe_rows(df)
        bk_gap = _gap_to_best_known(df, BEST_KNOWN) if best_known else None
        for (sch, x), g in df.groupby(["policy", "x"], sort=False):
            solved = bool_column(g, "solved", True)
            verdict = "solver_feasible" if "solver_feasible" in g else "feasible"
            feas = bool_column(g, verdict, False) & solved
            env_feas = bool_column(g, "feasible", False) & solved if "feasible" in g else feas
            if fig.y == "feasible":
                vals = feas.astype(float)
            elif fig.y == "latency_s":
                vals = g["latency_s"].astype(float).to_numpy()
            else:
                vals = g[fig.y].astype(float).to_numpy()[feas if fig.agg == "feasible_mean" else solved]
            mean, ci = mean_ci95(vals)
            gaps = g["gap"].astype(float).to_numpy()[solved] if "gap" in g else np.array([])
            gap_mean, _ = mean_ci95(gaps)
            bk_cols: dict[str, float] = {}
            if best_known:
                bk_cols = {"gap_to_best_known_mean": math.nan, "rel_gap_to_best_known_pct": math.nan}
                if bk_gap is not None:
                    bk_cols["gap_to_best_known_mean"] = mean_ci95(bk_gap[0].loc[g.index].to_numpy())[0]
                    rel = mean_ci95(bk_gap[1].loc[g.index].to_numpy())[0]
                    bk_cols["rel_gap_to_best_known_pct"] = 100.0 * rel
            out.append(
                {
                    "scheme": sch,
                    fig.x: x,
                    "n": len(g),
                    "n_solved": int(solved.sum()),
                    "solved_rate": float(np.mean(solved)),
                    "n_used": int(np.isfinite(vals).sum()),
                    "mean": mean,
                    "ci95": ci,
                    "feasible_rate": float(np.mean(feas)),
                    "env_feasible_rate": float(np.mean(env_feas)),
                    "latency_s": float(g["latency_s"].astype(float).mean()),
                    "gap_mean": gap_mean,
                    **bk_cols,
                }
            )
        tab = pd.DataFrame(out)
        order = {s.label: i for i, s in enumerate(fig.schemes)}
        order[BEST_KNOWN] = len(order)
        if len(tab):
            tab = tab.sort_values(["scheme", fig.x], key=lambda c: c.map(order) if c.name == "scheme" else c)
        return tab.reset_index(drop=True)
    y = fig.y
    if y not in df.columns and y == "power_dbm" and "power_w" in df.columns:
        df = df.assign(power_dbm=10 * np.log10(df["power_w"].astype(float).clip(lower=1e-300)) + 30)
    if y not in df.columns:
        raise ValueError(f"{fig.name}: the solver history has no {y!r} (columns: {list(df.columns)})")
    # a failed solve's history is not a design's: its draw is recorded (n counts only values)
    df = df.assign(**{y: df[y].astype(float).where(bool_column(df, "solved", True))})
    for (variant, sch), g in df.groupby(["variant", "policy"], sort=False):
        piv = g.pivot_table(index="trial", columns="iteration", values=y, aggfunc="first", dropna=False)
        piv = piv.ffill(axis=1).to_numpy(dtype=float)
        for it in range(piv.shape[1]):
            col = piv[:, it]
            mean, ci = mean_ci95(col)
            out.append(
                {
                    "variant": variant,
                    "scheme": sch,
                    "iteration": it,
                    "n": int(np.isfinite(col).sum()),
                    "mean": mean,
                    "ci95": ci,
                }
            )
    return pd.DataFrame(out)


#: which way is better, per plotted quantity (stated on the y axis)
BETTER: dict[str, str] = {
    "sum_rate": "higher",
    "feasible": "higher",
    "power_dbm": "lower",
    "best_power_dbm": "lower",
    "latency_s": "lower",
}


def _n_text(ns: Any) -> str:
    """``"n = 100 draws per point"`` (``"n = 98-100 ..."`` where points differ)."""
    ns = [int(v) for v in np.asarray(ns, dtype=float) if np.isfinite(v)]
    if not ns:
        return "no draws"
    lo, hi = min(ns), max(ns)
    return f"n = {hi if lo == hi else f'{lo}-{hi}'} draw{'s' if hi != 1 else ''} per point"


def plot(fig: Figure, table: Any, path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Draw the figure's table to a PNG (matplotlib, Agg backend); ``title`` defaults to ``fig.title``.

    The title states the number of draws per point (``n``; traces: draws per curve), the y label which
    way is better (:data:`BETTER`). Sweeps (but the feasibility-rate figures, whose y is that rate):
    a point where the scheme's design is infeasible on some draws (``feasible_rate < 1``) is drawn
    hollow and labelled with its feasibility rate (a power figure averages over the feasible draws
    only: such a point rests on fewer draws)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    f, ax = plt.subplots(figsize=(5.8, 4.3), dpi=120)
    markers = "osd^v<>p"
    n_note = "no draws"
    hollow = False
    if fig.kind == "sweep":
        labels = [s.label for s in fig.schemes]
        if len(table) and (table["scheme"] == BEST_KNOWN).any():
            labels.append(BEST_KNOWN)
        mark_feas = fig.y != "feasible" and len(table) > 0 and "feasible_rate" in table
        for i, sch in enumerate(labels):
            t = table[table["scheme"] == sch] if len(table) else table
            if not len(t):
                continue
            ci = np.nan_to_num(t["ci95"].to_numpy(dtype=float))
            x = t[fig.x].to_numpy()
            y = t["mean"].to_numpy(dtype=float)
            line = ax.errorbar(x, y, yerr=ci, marker=markers[i % 8], capsize=3, label=sch)
            if not mark_feas:
                continue
            color = line[0].get_color()
            feas = t["feasible_rate"].to_numpy(dtype=float)
            bad = feas < 1.0
            if bad.any():
                hollow = True
                ax.plot(
                    x[bad], y[bad], linestyle="none", marker=markers[i % 8], ms=8,
                    color=color, mfc="white", mec=color, mew=1.5, zorder=3,
                )  # fmt: skip
                for xi, yi, fi in zip(x[bad], y[bad], feas[bad], strict=True):
                    if np.isfinite(yi):
                        ax.annotate(
                            f"{100 * fi:.0f}%", (xi, yi), xytext=(4, 4), textcoords="offset points",
                            fontsize=6, color=color,
                        )  # fmt: skip
        if len(table) and "n" in table:
            n_note = _n_text(table["n"])
    else:
        pairs = [(v, s.label) for s in fig.schemes for v, _ in fig.variants]
        for i, (variant, sch) in enumerate(pairs):
            if not len(table):
                break
            t = table[(table["variant"] == variant) & (table["scheme"] == sch)]
            if not len(t):
                continue
            lab = sch if len(fig.variants) == 1 else f"{sch}, {variant}"
            ax.plot(
                t["iteration"], t["mean"], marker=markers[i % 8], markevery=max(1, len(t) // 10), label=lab
            )
        if len(table) and "n" in table:
            n_max = table.groupby(["variant", "scheme"])["n"].max()
            n_note = _n_text(n_max).replace("per point", "per curve")
    ax.set_xlabel(fig.xlabel)
    better = BETTER.get(fig.y)
    ax.set_ylabel(f"{fig.ylabel}; {better} is better" if better else fig.ylabel, fontsize=9)
    if fig.logy:
        ax.set_yscale("log")
    ax.set_title(f"{title or fig.title}\n{n_note}, mean ± 95% CI", fontsize=8)
    ax.grid(True, alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    if hollow:
        handles.append(Line2D([], [], linestyle="none", marker="o", mfc="white", mec="0.3", mew=1.5))
        names.append("hollow: feasible on < 100% of draws\n(label: feasible rate)")
    if handles:
        ax.legend(handles, names, fontsize=7)
    f.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    f.savefig(p)
    plt.close(f)
    return p


def make_figure(
    name: str,
    out_dir: str | os.PathLike[str] = "results/figures",
    *,
    trials: int | None = None,
    seed: int = 0,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    schemes: Sequence[str] | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    env_id: str | None = None,
    best_known: bool = False,
    best_known_dir: str | os.PathLike[str] | None = None,
    best_known_restarts: int | None = None,
    batched: bool = False,
) -> tuple[Path, Path, Any]:
    """Compute (resuming) and plot one figure.

    Args:
        name: a key of :data:`FIGURES`.
        out_dir: output folder.
        trials: draws per point (default :data:`PAPER_TRIALS`, or :data:`QUICK_TRIALS` with ``quick``).
        seed: root seed of the draws.
        quick: CI mode: ``quick_values`` only and few trials.
        overrides: ``gym.make`` keywords applied to every point (not the swept one).
        schemes: subset of the scheme labels (default: all).
        backend, workers, address: see :func:`isac_gym.agents.parallel.run_tasks`.
        progress: progress bars.
        env_id: run on this registered id of the figure's task instead of ``fig.env_id`` (files
            ``<name>@<EnvName>.*``).
        best_known, best_known_dir, best_known_restarts: add the best_known curve and gaps (sweeps;
            see :func:`compute`).
        batched: solve the schemes of :data:`BATCHED_SOLVERS` batched (sweeps; files
            ``<name>-batched.*``, see the module docstring).

    Returns:
        ``(table csv, png, table DataFrame)``.

    Raises:
        ValueError: unknown figure or scheme, an override of the swept field, an unregistered
            ``env_id`` or one of another task, ``best_known`` for a trace figure.
    """
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    fig = FIGURES[name]
    n = trials if trials is not None else (QUICK_TRIALS if quick else PAPER_TRIALS)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"trials must be a positive integer, got {n!r}")
    if best_known and fig.kind != "sweep":
        raise ValueError(f"{name} is a convergence trace; best_known applies to sweeps only")
    rows_csv = compute(
        fig,
        out_dir,
        trials=n,
        seed=seed,
        quick=quick,
        overrides=overrides,
        schemes=schemes,
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
        env_id=env_id,
        best_known=best_known,
        best_known_dir=best_known_dir,
        best_known_restarts=best_known_restarts,
        batched=batched,
    )
    import pandas as pd

    plan = eval_plan(
        fig, trials=n, seed=seed, quick=quick, overrides=overrides, schemes=schemes, env_id=env_id
    )
    rows = pd.read_csv(rows_csv, dtype={"policy": str, "eval_set": str})
    table = figure_table(fig, rows, plan, best_known=best_known)
    stem = f"{name}{env_suffix(fig, env_id)}{batched_suffix(fig, batched)}"
    csv_path = Path(out_dir) / f"{stem}.csv"
    table.to_csv(csv_path, index=False)
    write_parquet(csv_path)
    title = fig.title if env_id in (None, fig.env_id) else f"{fig.title} [{env_id}]"
    if batched_suffix(fig, batched):
        labels = ", ".join(s.label for s in _select(fig, schemes) if s.solver in BATCHED_SOLVERS)
        title = f"{title} [batched: {labels}]"
    png = plot(fig, table, Path(out_dir) / f"{stem}.png", title)
    return csv_path, png, table
