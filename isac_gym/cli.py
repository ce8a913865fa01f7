"""``isac``: the isac-gym command line (click).

Commands::

    isac envs                       registered ids with their default settings
    isac train ENV_ID               train an SB3 agent (isac_gym.agents.train.train)
    isac evaluate -p POLICY ...     run policies on a frozen eval set, rows to CSV
    isac compare [--quick]          agents vs baselines: table (mean +- 95% CI, feasibility,
                                    latency, gap to the reference), CSV and PNG
    isac figure NAME [--quick]      reproduce a paper figure (CSV + PNG); `isac figure list`

Only click is imported at start-up; numpy/gymnasium load when a command runs, torch only when a
command needs an agent (``train``, or an agent checkpoint among the policies).

Errors in what the user gave (a malformed results CSV, eval set, channel bank, agent folder; a
results file another run is writing) are reported as one line, ``isac: error: <message naming the
file>``, with exit code 2 and no traceback; anything else (a bug) keeps its traceback. Set
``ISAC_DEBUG=1`` to see the traceback of a reported error too.
"""

from __future__ import annotations

import csv
import math
import os
import pickle
import sys
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

__all__ = ["main"]

DEFAULT_ENV = "isac_env/RydbergISAC-v0"
DEFAULT_BASELINES = (
    "fp_mm_admm", "bf_only", "gd", "comm_only", "best_user_mrt", "user_select_zf", "random_mrt",
)  # fmt: skip
#: ``isac compare`` defaults per env-id prefix (first match): baselines (those registered are used;
#: the reference is ``best_known`` unless ``--reference`` / ``--no-best-known``, then the first).
COMPARE_BASELINES: dict[str, tuple[str, ...]] = {
    "isac_env/RydbergISAC": DEFAULT_BASELINES,
    "isac_env/RobustISAC-Continuous": ("robust_continuous", "robust_gain_mrt", "robust_gain_zf", "robust_random"),
    "isac_env/RobustISAC": ("robust_scheme1", "robust_scheme2", "robust_gain_mrt", "robust_gain_zf", "robust_random"),
}  # fmt: skip
#: the best-known reference (``isac_gym.agents.best_known``): policy label and default ``--reference``
BEST_KNOWN = "best_known"
QUICK_DRAWS = 2


def parse_value(text: str) -> Any:
    """``"8"`` -> 8, ``"0.5"``/``"inf"`` -> float, ``"true"``/``"false"`` -> bool, else the string."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_sets(items: tuple[str, ...], what: str = "--set") -> dict[str, Any]:
    """``("num_ris=8", "rsr_model=distortion")`` -> ``{"num_ris": 8, "rsr_model": "distortion"}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=what)
        out[key.strip()] = parse_value(val)
    return out


_trust_checkpoint_option = click.option(
    "--trust-checkpoint",
    is_flag=True,
    help=(
        "Allow agent checkpoints that exist only as SB3 .zip / vecnormalize.pkl: loading them unpickles, "
        "which can run arbitrary code (only for files you trust)."
    ),
)


def _backend_options(f: Any) -> Any:
    f = click.option("--address", default=None, help="Ray cluster address (default: start a local Ray).")(f)
    f = click.option(
        "--workers", type=click.IntRange(min=1), default=None, help="Parallel workers (default: usable CPUs)."
    )(f)
    f = click.option(
        "--backend",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="local process pool or Ray.",
    )(f)
    return f


class IsacError(click.ClickException):
    """A user-facing error: printed as one line ``isac: error: <message>``, exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))

    def show(self, file: Any = None) -> None:
        click.echo(f"isac: error: {self.format_message()}", err=True, file=file)


def _message(exc: BaseException) -> str:
    """The user-facing text of an error (for Ray's ``RayTaskError(<class>)``, that of its ``.cause``)."""
    cause = getattr(exc, "cause", None)
    err = cause if isinstance(cause, BaseException) else exc
    return str(err) or type(err).__name__


def _fail(exc: Exception) -> None:
    raise IsacError(_message(exc)) from exc


def _input_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a bad user input (file or argument), not a bug: ``ValueError`` (incl.
    :class:`isac_gym.agents.evaluate.InputError`, JSON and pandas parse errors), ``OSError`` and the parse
    errors of the stdlib / YAML readers."""
    types: list[type[BaseException]] = [
        ValueError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        csv.Error,
        pickle.UnpicklingError,
    ]
    yaml = sys.modules.get("yaml")
    if yaml is not None:
        types.append(yaml.YAMLError)
    return tuple(types)


@contextmanager
def _reported_errors() -> Iterator[None]:
    """The top-level handler of every command: input errors (:func:`_input_error_types`) become an
    :class:`IsacError`; click's own exceptions and everything else propagate unchanged. isac's
    warnings (:class:`isac_gym.agents.evaluate.DuplicateRowsWarning`) print as one ``isac: warning:`` line."""
    with warnings.catch_warnings():
        original = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: Any = None,
            line: str | None = None,
        ) -> None:
            # isac's own warnings (duplicate result rows) as one line; every other one as usual
            ev = sys.modules.get("isac_gym.agents.evaluate")
            if ev is not None and issubclass(category, ev.DuplicateRowsWarning):
                click.echo(f"isac: warning: {message}", err=True)
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield
        except click.ClickException:
            raise
        except _input_error_types() as exc:
            if os.environ.get("ISAC_DEBUG"):
                raise
            raise IsacError(_message(exc)) from exc


class _IsacGroup(click.Group):
    """The ``isac`` group: runs every command under :func:`_reported_errors`."""

    def invoke(self, ctx: click.Context) -> Any:
        with _reported_errors():
            return super().invoke(ctx)


@click.group(cls=_IsacGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="isac-gym", prog_name="isac")
def main() -> None:
    """isac-gym: RIS-aided ISAC environments, baselines, agents and the papers' figures."""


# ----------------------------------------------------------------------------------------- envs
def space_str(space: Any) -> str:
    """Compact description of a Gymnasium space (``MultiDiscrete`` as ``n x levels``)."""
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        return "Dict(" + ", ".join(f"{k}: {space_str(v)}" for k, v in space.spaces.items()) + ")"
    if isinstance(space, spaces.MultiDiscrete):
        nvec = space.nvec.ravel()
        if len(set(nvec.tolist())) == 1:
            return f"MultiDiscrete({len(nvec)} x {int(nvec[0])} levels)"
    if isinstance(space, spaces.Box):
        lo, hi = space.low.ravel(), space.high.ravel()
        if lo.size and (lo == lo[0]).all() and (hi == hi[0]).all():
            return f"Box({lo[0]:g}, {hi[0]:g}, {space.shape}, {space.dtype})"
    return str(space)


def _phase_description(env: Any) -> str:
    """How an env's action sets the RIS phases: its effective phase mode (``task.phase_mode``),
    not the raw ``phase_action`` field, which is ignored with continuous phases (``phase_bits=0``)."""
    task = getattr(env, "task", None)
    mode = getattr(task, "phase_mode", None)
    bits = int(getattr(getattr(task, "env_config", None), "phase_bits", 0) or 0)
    if mode is None:
        return "n/a"
    if mode == "continuous":
        return "continuous (phase_bits=0, Box action)"
    if mode == "discrete":
        return f"discrete {bits}-bit grid (phase_action=discrete, MultiDiscrete phase indices)"
    return f"continuous Box action quantized to a {bits}-bit grid (phase_action=quantize)"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def envs(as_json: bool) -> None:
    """List the registered environment ids with their default settings."""
    import dataclasses
    import json

    import gymnasium as gym

    from isac_env.registration import ENV_IDS

    doc = {}
    for env_id in ENV_IDS:
        env = gym.make(env_id)
        u = env.unwrapped
        episode = dataclasses.asdict(u.env_config) if hasattr(u, "env_config") else {}
        doc[env_id] = {
            "registered_kwargs": dict(gym.spec(env_id).kwargs),
            "action_space": space_str(env.action_space),
            "observation_shape": list(env.observation_space.shape or ()),
            "phases": _phase_description(u),
            "horizon": episode.get("horizon"),
            "max_episode_steps": gym.spec(env_id).max_episode_steps,
            "scenario": dataclasses.asdict(u.config) if hasattr(u, "config") else {},
            "episode": episode,
        }
        env.close()
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    for env_id, d in doc.items():
        click.secho(env_id, bold=True)
        if d["registered_kwargs"]:
            click.echo(f"  registered kwargs: {d['registered_kwargs']}")
        click.echo(f"  action: {d['action_space']}")
        click.echo(f"  phases: {d['phases']}")
        click.echo(f"  observation: Box{tuple(d['observation_shape'])}")
        if d["horizon"] is not None:
            click.echo(
                f"  episode: {d['horizon']} steps (the env's horizon; gym.make(id, horizon=H) sets it;"
                " no TimeLimit)"
            )
        for title in ("scenario", "episode"):
            # phase_action has no effect with continuous phases (phase_bits=0): not listed then
            items = [
                f"{k}={v}"
                for k, v in d[title].items()
                if not (title == "episode" and k == "phase_action" and d["phases"].startswith("continuous"))
            ]
            click.echo(f"  {title} defaults:")
            line = "   "
            for it in items:
                if len(line) + len(it) > 100:
                    click.echo(line)
                    line = "   "
                line += " " + it
            click.echo(line)


# ---------------------------------------------------------------------------------------- train
@main.command()
@click.argument("env_id")
@click.option(
    "--algo",
    default="ppo",
    help="ppo, sac, td3 (also a2c, ddpg); l2o: a network trained through the torch physics (Rydberg ids).",
)
@click.option(
    "--timesteps", type=click.IntRange(min=1), default=None, help="Default: the YAML entry's n_timesteps."
)
@click.option("--seed", type=int, default=0)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="gym.make keyword (repeatable).")
@click.option("--hp", "hps", multiple=True, metavar="KEY=VALUE", help="Hyperparameter override (repeatable).")
@click.option("--run-dir", type=click.Path(file_okay=False), default="runs")
@click.option("--n-envs", type=click.IntRange(min=1), default=None)
@click.option(
    "--vec-env",
    type=click.Choice(["auto", "native", "dummy"]),
    default="auto",
    show_default=True,
    help="native: the id's batched vector env; dummy: SB3 DummyVecEnv; auto: native where possible.",
)
@click.option("--lagrangian", is_flag=True, help="Lagrangian constrained training on info['cost'].")
@click.option("--progress/--no-progress", default=True)
@click.option(
    "--wandb-project",
    default=None,
    help="Track with Weights & Biases (rl-zoo3's --track route; needs the 'track' extra).",
)
@click.option("--wandb-entity", default=None, help="W&B team or user of --wandb-project.")
def train(
    env_id: str,
    algo: str,
    timesteps: int | None,
    seed: int,
    sets: tuple[str, ...],
    hps: tuple[str, ...],
    run_dir: str,
    n_envs: int | None,
    vec_env: str,
    lagrangian: bool,
    progress: bool,
    wandb_project: str | None = None,
    wandb_entity: str | None = None,
) -> None:
    """Train an SB3 agent (or, with --algo l2o, a learning-to-optimize network) on ENV_ID; prints the run
    folder (model.zip or policy.pth, config.yaml, tb/). For l2o, --timesteps counts gradient steps."""
    from isac_gym.agents.train import train as _train

    hp = {k: (str(v) if isinstance(v, str) else v) for k, v in parse_sets(hps, "--hp").items()}
    try:
        run = _train(
            env_id,
            algo,
            total_timesteps=timesteps,
            seed=seed,
            env_kwargs=parse_sets(sets),
            hyperparams=hp or None,
            run_dir=run_dir,
            n_envs=n_envs,
            vec_env=vec_env,
            progress_bar=progress,
            lagrangian=lagrangian,
            wandb_project=wandb_project,
            wandb_entity=wandb_entity,
        )
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        _fail(exc)
    click.echo(str(run))


# ------------------------------------------------------------------------------------- evaluate
def _table(summary: Any, objective: str, reference: str | None, *, color: bool = False) -> str:
    """Text table of :func:`isac_gym.agents.evaluate.summarize` output (a :class:`rich.table.Table`).

    Plain and stable unless ``color``: the header line, a rule of ``─``, one line per policy, columns
    separated by two spaces, no line wrapped (the console is as wide as the table); ``color`` adds
    ANSI styles (bold header), which ``click.echo`` strips when the output is not a terminal.

    Where some policy has failed solves (``solved_rate < 1``), a ``solved`` column gives
    ``n_solved/n`` and the objective is marked as the mean over the solved draws.
    """

    def pm(m: float, c: float) -> str:
        if not math.isfinite(m):
            return "-"
        return f"{m:.3f} ± {c:.3f}" if math.isfinite(c) else f"{m:.3f}"

    partial = "solved_rate" in summary and bool((summary["solved_rate"] < 1).any())
    bk = "gap_to_best_known_mean" in summary and reference != BEST_KNOWN
    share = "top_user_share" in summary
    pct = "rel_gap_pct" in summary and reference is not None
    head = ["policy", "n", *(["solved"] if partial else [])]
    head += [
        f"{objective} ({'95% CI, solved draws' if partial else '95% CI'})",
        "feasible",
        "latency ms",
        f"gap to {reference or '-'}",
        *(["gap %"] if pct else []),
        *(["gap to best_known"] if bk else []),
        *(["top-user share"] if share else []),
    ]

    def num(v: float, fmt: str) -> str:
        return format(v, fmt) if math.isfinite(v) else "-"

    body = [
        [
            str(r.policy),
            str(r.n),
            *([f"{r.n_solved}/{r.n}"] if partial else []),
            pm(r.mean, r.ci95),
            f"{100 * r.feasible_rate:.0f}%",
            f"{r.latency_ms:.3g}",
            pm(r.gap_mean, r.gap_ci95) if reference else "-",
            *([num(r.rel_gap_pct, ".1f")] if pct else []),
            *([pm(r.gap_to_best_known_mean, r.gap_to_best_known_ci95)] if bk else []),
            *([num(r.top_user_share, ".2f")] if share else []),
        ]
        for r in summary.itertuples()
    ]
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True,
        header_style="bold" if color else "", highlight=False,
    )  # fmt: skip
    for i, h in enumerate(head):
        table.add_column(Text(h), justify="right" if i == 1 else "left", no_wrap=True)
    for b in body:
        table.add_row(*(Text(c) for c in b))  # Text: no markup in policy labels
    widths = [max([len(h), *(len(b[i]) for b in body)]) for i, h in enumerate(head)]
    buf = io.StringIO()
    console = Console(
        file=buf, width=sum(widths) + 3 * len(widths) + 4, force_terminal=color, no_color=not color,
        color_system="standard" if color else None, highlight=False, emoji=False, legacy_windows=False,
    )  # fmt: skip
    console.print(table)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines() if line.strip())


def _run_and_report(
    pols: dict[str, Any],
    es: Any,
    out: Path,
    reference: str | None,
    steps: int,
    backend: str,
    workers: int | None,
    address: str | None,
) -> Any:
    import pandas as pd

    from isac_gym.agents.evaluate import evaluate_policies, summarize, task_objective

    try:
        evaluate_policies(
            pols, es, out, reference=reference, steps=steps, backend=backend, workers=workers, address=address
        )
    except (ValueError, TypeError, FileNotFoundError) as exc:
        _fail(exc)
    rows = pd.read_csv(out, dtype={"policy": str, "eval_set": str})  # a hash may look numeric
    rows = rows[(rows["eval_set"] == es.hash) & rows["policy"].isin(list(pols))]
    order = {p: i for i, p in enumerate(pols)}
    rows = rows.sort_values("policy", key=lambda c: c.map(order), kind="stable")
    summary = summarize(rows)
    metric, _ = task_objective(es.env_id)
    click.echo(
        f"{es.env_id} {dict(es.env_kwargs) or '(default scenario)'}, {es.n_draws} draws, eval set {es.hash}"
    )
    click.echo(_table(summary, metric, reference, color=sys.stdout.isatty()))
    if BEST_KNOWN in pols:
        from isac_gym.agents.best_known import headroom, headroom_line

        h = headroom(summary, _heuristic_labels(pols), metric)
        click.echo(headroom_line(h, metric))
        for k, v in h.items():
            summary[k] = v
    return summary


def _heuristic_labels(pols: dict[str, Any]) -> list[str]:
    """Labels of the heuristic baselines among ``pols`` (``Solver.heuristic``)."""
    from isac_gym.agents.best_known import is_heuristic

    return [
        lab
        for lab, spec in pols.items()
        if is_heuristic(getattr(spec, "name", "")) and not getattr(spec, "options", ())
    ]


def _reference(
    pols: dict[str, Any],
    reference: str | None,
    fallback: str | None,
    bk_dir: str | None,
    restarts: int | None,
) -> str | None:
    """Resolve ``--reference``: ``none`` -> no gaps; ``best_known`` (the default) adds the
    best_known policy (cache ``bk_dir``) to ``pols`` unless a policy has that label; else a label."""
    ref = reference if reference is not None else (BEST_KNOWN if fallback is None else fallback)
    if ref.lower() == "none":
        return None
    if ref == BEST_KNOWN and BEST_KNOWN not in pols:
        pols[BEST_KNOWN] = _best_known_spec(bk_dir, restarts)
    if ref not in pols:
        raise click.BadParameter(f"{ref!r} is not among the policies {list(pols)}", param_hint="--reference")
    return ref


def _best_known_spec(bk_dir: str | None, restarts: int | None) -> Any:
    from isac_gym.agents.best_known import BestKnownSpec, default_cache_dir

    return BestKnownSpec(str(Path(bk_dir or default_cache_dir()).resolve()), restarts)


def _best_known_options(f: Any) -> Any:
    f = click.option(
        "--best-known-restarts",
        type=click.IntRange(min=0),
        default=None,
        help="Random starts per restarted solver in best_known (default: gd, fp_mm_admm x 3; robust_scheme2 x 2).",
    )(f)
    f = click.option(
        "--best-known-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="best_known cache folder (default: $ISAC_BEST_KNOWN_DIR or results/best_known).",
    )(f)
    return f


def _eval_set(env_id: str, sets: dict[str, Any], draws: int, seed: int, eval_set_file: str | None) -> Any:
    from isac_gym.agents.evaluate import EvalSet

    try:
        if eval_set_file:
            return EvalSet.load(eval_set_file)
        return EvalSet(env_id, sets, seed, draws)
    except (ValueError, TypeError, OSError) as exc:
        _fail(exc)


@main.command()
@click.option("--env", "env_id", default=DEFAULT_ENV)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="gym.make keyword (repeatable).")
@click.option(
    "-p",
    "--policy",
    "policies",
    multiple=True,
    required=True,
    metavar="[LABEL=]SPEC",
    help="A baseline name, 'random' or an agent checkpoint (run folder / .zip); repeatable.",
)
@click.option("--draws", type=click.IntRange(min=1), default=100, help="Channel draws in the eval set.")
@click.option("--quick", is_flag=True, help=f"{QUICK_DRAWS} draws.")
@click.option("--seed", type=click.IntRange(min=0), default=0, help="Root seed of the eval set.")
@click.option(
    "--eval-set",
    "eval_set_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Load the eval set from a .json/.npz file (overrides --env/--set/--draws/--seed).",
)
@click.option(
    "--save-eval-set", type=click.Path(dir_okay=False), default=None, help="Write the eval set (.json/.npz)."
)
@click.option(
    "--reference",
    default=None,
    help="Reference of the gaps: best_known (default; its rows are added), a policy label, or none.",
)
@click.option("--steps", type=click.IntRange(min=1), default=1, help="Decisions per draw.")
@click.option(
    "--out", type=click.Path(dir_okay=False), default="results/evaluate.csv", help="Rows CSV (resumed)."
)
@_trust_checkpoint_option
@_best_known_options
@_backend_options
def evaluate(
    env_id: str,
    sets: tuple[str, ...],
    policies: tuple[str, ...],
    draws: int,
    quick: bool,
    seed: int,
    eval_set_file: str | None,
    save_eval_set: str | None,
    reference: str | None,
    steps: int,
    out: str,
    backend: str,
    workers: int | None,
    address: str | None,
    trust_checkpoint: bool = False,
    best_known_dir: str | None = None,
    best_known_restarts: int | None = None,
) -> None:
    """Run policies on a frozen set of seeded channel draws; rows are appended to --out.

    The gaps are to ``best_known`` (the best feasible design of every solver of the task, with
    restarts, cached per eval set; see isac_gym.agents.best_known) unless --reference names another policy
    or ``none``."""
    from isac_gym.agents.evaluate import parse_policy

    es = _eval_set(env_id, parse_sets(sets), QUICK_DRAWS if quick else draws, seed, eval_set_file)
    if save_eval_set:
        es.save(save_eval_set)
    pols: dict[str, Any] = {}
    for text in policies:
        try:
            label, spec = parse_policy(text, trust_checkpoint=trust_checkpoint)
        except ValueError as exc:
            _fail(exc)
        if label in pols:
            raise click.BadParameter(
                f"duplicate policy label {label!r} (use LABEL=SPEC)", param_hint="--policy"
            )
        pols[label] = spec
    if best_known_dir and BEST_KNOWN in pols:
        pols[BEST_KNOWN] = _best_known_spec(best_known_dir, best_known_restarts)
    ref = _reference(pols, reference, None, best_known_dir, best_known_restarts)
    _run_and_report(pols, es, Path(out), ref, steps, backend, workers, address)
    click.echo(f"rows: {out}")


# -------------------------------------------------------------------------------------- compare
def shipped_checkpoints(env_id: str) -> list[Path]:
    """Shipped agent checkpoints for ``env_id``: ``agents/checkpoints/<algo>_<EnvName>/model.zip``."""
    from isac_gym.agents.serialization import checkpoints_dir, shipped_checkpoint_names
    from isac_gym.experiments.figures import env_name

    name = env_name(env_id)
    return [checkpoints_dir() / n for n in shipped_checkpoint_names() if n.endswith(f"_{name}")]


#: axis label per objective: quantity, unit and which way is better
OBJECTIVE_LABELS = {
    "sum_rate": "sum rate U_com (bit/s/Hz), higher is better",
    "power_dbm": "transmit power (dBm), lower is better",
}
#: which way is better per objective (the arrow above the compare plot)
OBJECTIVE_BETTER = {"sum_rate": "higher", "power_dbm": "lower"}


def _compare_plot(summary: Any, objective: str, path: Path, title: str) -> None:
    """Dot plot of mean ± 95% CI per policy and a log bar chart of the decision latency.

    Markers: filled, feasible on every draw; hollow, feasible on some draws only; hollow red with a
    red CI, feasible on none. The feasibility rate (and ``n_solved/n`` below 100% solved) is the
    right-hand tick label of each row, outside the data area. The x axis spans the CIs (no bars
    from zero: a dBm value has no zero), an arrow above it says which way is better and a dashed
    line marks ``best_known`` where it is a row; the title gives the draws per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.lines import Line2D

    n = len(summary)
    fig, (a1, a2) = plt.subplots(
        1, 2, figsize=(10.5, 1.9 + 0.42 * n), dpi=120, gridspec_kw={"width_ratios": [2.4, 1]}, sharey=True
    )
    y = np.arange(n)[::-1]
    mean = summary["mean"].to_numpy(dtype=float)
    ci = np.nan_to_num(summary["ci95"].to_numpy(dtype=float))
    feas = summary["feasible_rate"].to_numpy(dtype=float)
    for yi, m, c, f in zip(y, mean, ci, feas, strict=True):
        color = "C3" if f <= 0 else "C0"
        a1.errorbar(
            m, yi, xerr=c, fmt="o", ms=7, capsize=4, color=color, mec=color, mew=1.5,
            mfc=color if f >= 1 else "white",
        )  # fmt: skip
    ok = np.isfinite(mean)
    if ok.any():
        lo, hi = float(np.min(mean[ok] - ci[ok])), float(np.max(mean[ok] + ci[ok]))
        pad = 0.06 * (hi - lo or 1.0)
        a1.set_xlim(lo - pad, hi + pad)
    policies = [str(p) for p in summary["policy"]]
    if BEST_KNOWN in policies and np.isfinite(mean[policies.index(BEST_KNOWN)]):
        a1.axvline(mean[policies.index(BEST_KNOWN)], color="0.5", ls="--", lw=1, zorder=0)
    notes = []
    for r in summary.itertuples():
        note = f"{100 * r.feasible_rate:.0f}% feasible"
        if getattr(r, "solved_rate", 1.0) < 1:
            note += f", {r.n_solved}/{r.n} solved"
        notes.append(note)
    a1.set_ylim(-0.6, n - 0.4)
    right = a1.twinx()
    right.set_ylim(a1.get_ylim())
    right.set_yticks(y, notes, fontsize=7)
    right.tick_params(axis="y", length=0)
    a1.set_xlabel(OBJECTIVE_LABELS.get(objective, objective) + "; mean ± 95% CI", fontsize=8)
    a1.set_yticks(y, policies, fontsize=8)
    better = OBJECTIVE_BETTER.get(objective)
    if better:
        start, end = ((0.30, 1.0), (0.0, 1.0)) if better == "lower" else ((0.70, 1.0), (1.0, 1.0))
        a1.annotate(
            "", xy=end, xytext=start, xycoords="axes fraction", textcoords="axes fraction",
            arrowprops={"arrowstyle": "-|>", "color": "0.25", "lw": 1.2},
            annotation_clip=False,
        )  # fmt: skip
        a1.annotate(
            f"{better} is better", ((start[0] + end[0]) / 2, 1.0), xycoords="axes fraction",
            xytext=(0, 4), textcoords="offset points", ha="center", va="bottom", fontsize=8,
            color="0.25", annotation_clip=False,
        )  # fmt: skip
    handles = [
        Line2D([], [], ls="none", marker="o", color="C0", label="feasible on every draw"),
        Line2D([], [], ls="none", marker="o", color="C0", mfc="white", mew=1.5, label="on some draws"),
        Line2D([], [], ls="none", marker="o", color="C3", mfc="white", mew=1.5, label="on none"),
    ]
    if BEST_KNOWN in policies:
        handles.append(Line2D([], [], color="0.5", ls="--", lw=1, label=BEST_KNOWN))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    a2.barh(y, summary["latency_ms"].to_numpy(dtype=float), color="C1")
    a2.set_xscale("log")
    a2.set_xlabel("decision latency (ms, log); lower is better", fontsize=8)
    for a in (a1, a2):
        a.grid(True, axis="x", alpha=0.3)
        a.tick_params(axis="x", labelsize=8)
    n_draws = int(summary["n"].max()) if n else 0
    fig.suptitle(f"{title}\n{n_draws} draw{'s' if n_draws != 1 else ''} per policy", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


@main.command()
@click.option("--env", "env_id", default=DEFAULT_ENV)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="gym.make keyword (default: the shipped agent's training scenario, else the default).",
)
@click.option(
    "--agent",
    "agents",
    multiple=True,
    metavar="[LABEL=]PATH",
    help="Agent checkpoint(s) (default: the shipped ones for --env).",
)
@click.option("--no-agents", is_flag=True, help="Baselines only.")
@click.option(
    "--baselines",
    default=None,
    help="Comma-separated baseline names (default for RydbergISAC: " + ",".join(DEFAULT_BASELINES) + ").",
)
@click.option(
    "--reference",
    default=None,
    help="Reference of the gaps: best_known (default), a policy label, or none.",
)
@click.option(
    "--no-best-known",
    is_flag=True,
    help="Leave out best_known (no solves beyond the listed policies); the reference is then the first baseline.",
)
@click.option("--draws", type=click.IntRange(min=1), default=100)
@click.option("--quick", is_flag=True, help=f"{QUICK_DRAWS} draws.")
@click.option("--seed", type=click.IntRange(min=0), default=0)
@click.option("--out-dir", type=click.Path(file_okay=False), default="results/compare")
@_trust_checkpoint_option
@_best_known_options
@_backend_options
def compare(
    env_id: str,
    sets: tuple[str, ...],
    agents: tuple[str, ...],
    no_agents: bool,
    baselines: str | None,
    reference: str | None,
    draws: int,
    quick: bool,
    seed: int,
    out_dir: str,
    backend: str,
    workers: int | None,
    address: str | None,
    trust_checkpoint: bool = False,
    no_best_known: bool = False,
    best_known_dir: str | None = None,
    best_known_restarts: int | None = None,
) -> None:
    """Agents vs baselines on identical channel draws: table, rows CSV, summary CSV and PNG.

    Files in --out-dir, per env (EnvName = the id without its namespace, as `isac figure --env`):
    <EnvName>_<evalset>.rows.csv (one row per policy and draw), compare@<EnvName>.csv (the table)
    and compare@<EnvName>.png, each CSV with Parquet copies next to it (<stem>.parquet; the rows'
    per-user / per-target metrics as long tables <stem>_per_user.parquet / _per_target.parquet).

    best_known (every solver of the task with restarts, cached per eval set) is a row and the
    default reference; the headroom line (best_known vs the best heuristic) is printed and written
    to compare@<EnvName>.csv (columns best_heuristic, headroom_pct, headroom_db)."""
    from isac_gym.agents.evaluate import agent_scenario_kwargs, parse_policy, task_objective, write_parquet
    from isac_gym.baselines import list_solvers
    from isac_gym.experiments.figures import env_name

    pols: dict[str, Any] = {}
    agent_texts = [] if no_agents else (list(agents) or [str(p) for p in shipped_checkpoints(env_id)])
    scenario = parse_sets(sets)
    for text in agent_texts:
        try:
            label, spec = parse_policy(text, trust_checkpoint=trust_checkpoint)
        except ValueError as exc:
            _fail(exc)
        pols[label] = spec
    if not sets and agent_texts and not agents:
        # shipped checkpoints: evaluate on the scenario they were trained on
        first = next(iter(pols.values()))
        scenario = agent_scenario_kwargs(first.path)
        if scenario:
            click.echo(f"scenario of the shipped agent {Path(first.path).name}: {scenario}")
    if baselines is None:
        names = next((v for k, v in COMPARE_BASELINES.items() if env_id.startswith(k)), ())
        names = tuple(n for n in names if n in list_solvers())
        if not names:
            raise click.BadParameter(
                f"no default baselines for {env_id}; pass --baselines", param_hint="--env"
            )
    else:
        names = tuple(b.strip() for b in baselines.split(",") if b.strip())
    for label, spec in list(pols.items()):
        why = spec.incompatibility(env_id, scenario)
        if why and agents:
            _fail(ValueError(f"agent {label}: {why}"))
        if why:  # a shipped agent trained on another scenario: leave it out, say so
            click.echo(f"skipping shipped agent {label}: {why}", err=True)
            del pols[label]
    for name in names:
        try:
            label, spec = parse_policy(name)
        except ValueError as exc:
            _fail(exc)
        pols[label] = spec
    if not no_best_known and BEST_KNOWN not in pols:
        pols[BEST_KNOWN] = _best_known_spec(best_known_dir, best_known_restarts)
    fallback = (names[0] if names else None) if no_best_known else None
    if no_best_known and reference == BEST_KNOWN:
        raise click.BadParameter("--reference best_known with --no-best-known", param_hint="--reference")
    if fallback is None and no_best_known:
        raise click.BadParameter("no baseline to use as the reference", param_hint="--reference")
    reference = _reference(pols, reference, fallback, best_known_dir, best_known_restarts)
    es = _eval_set(env_id, scenario, QUICK_DRAWS if quick else draws, seed, None)
    out = Path(out_dir)
    name = env_name(env_id)
    rows_csv = out / f"{name}_{es.hash}.rows.csv"
    summary = _run_and_report(pols, es, rows_csv, reference, 1, backend, workers, address)
    table_csv, png = out / f"compare@{name}.csv", out / f"compare@{name}.png"
    summary.to_csv(table_csv, index=False)
    parquet = write_parquet(table_csv).get("wide")
    metric, _ = task_objective(env_id)
    scen = f" {dict(es.env_kwargs)}" if es.env_kwargs else ""
    _compare_plot(summary, metric, png, f"{env_id}{scen}")
    click.echo(
        f"rows: {rows_csv}\ntable: {table_csv}"
        + (f" (+ {parquet.name})" if parquet else "")
        + f"\nplot: {png}"
    )


# --------------------------------------------------------------------------------------- figure
#: an estimate above this many seconds needs an explicit ``--trials`` (or ``--yes``)
FIGURE_CONFIRM_S = 600.0


def _duration(seconds: float) -> str:
    """``"42 s"``, ``"12 min"`` or ``"4.2 h"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _figure_estimate(
    names: list[str],
    trials: int | None,
    quick: bool,
    schemes: list[str] | None,
    overrides: dict[str, Any],
    workers: int | None,
    yes: bool,
) -> None:
    """Print the estimated run time of the figures; refuse one above :data:`FIGURE_CONFIRM_S` when
    ``--trials`` was not given (the paper's 1000 trials run for hours) unless ``--yes``."""
    from isac_gym.agents.parallel import default_workers
    from isac_gym.experiments.figures import PAPER_TRIALS, QUICK_TRIALS, estimate_cpu_seconds

    n = trials if trials is not None else (QUICK_TRIALS if quick else PAPER_TRIALS)
    w = workers or default_workers()
    try:
        cpu = sum(
            estimate_cpu_seconds(x, trials=n, quick=quick, schemes=schemes, overrides=overrides)
            for x in names
        )
    except ValueError as exc:
        _fail(exc)
    wall = cpu / w
    click.echo(
        f"{', '.join(names) if len(names) <= 3 else f'{len(names)} figures'}: {n} trials per point, "
        f"estimated {_duration(wall)} on {w} worker(s) (~{cpu:.0f} CPU-s; cached rows are skipped)",
        err=True,
    )
    if trials is None and not yes and wall > FIGURE_CONFIRM_S:
        raise IsacError(
            f"the default {n} trials per point would take about {_duration(wall)}; "
            "pass --trials N (e.g. --trials 20), --quick, or --yes to run it anyway"
        )


def figure_script(name: str, prog_name: str) -> click.Command:
    """``isac figure NAME`` as a standalone command (the ``python -m isac_gym.experiments.<module>``
    wrappers): the same options without the NAME argument, usage ``<prog_name> [OPTIONS]``."""
    from isac_gym.experiments.figures import FIGURES

    params = [p for p in figure.params if p.name != "name"]

    def run(**kwargs: Any) -> None:
        with _reported_errors():
            figure.callback(name=name, **kwargs)  # type: ignore[misc]

    title = FIGURES[name].title if name in FIGURES else name
    return click.Command(
        prog_name,
        callback=run,
        params=params,
        help=f"{title}.\n\nSame as `isac figure {name} [OPTIONS]`: writes CSV + PNG, resumes cached rows.",
        context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    )


def run_figure_script(name: str, module: str, argv: list[str] | None = None) -> int:
    """Entry point of ``python -m <module>`` for figure ``name``; returns the exit code."""
    prog = f"python -m {module}"
    try:
        figure_script(name, prog).main(args=argv, prog_name=prog, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


@main.command()
@click.argument("name")
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Draws per point (paper: 1000).")
@click.option("--quick", is_flag=True, help="CI mode: two x values, 2 trials (unless --trials).")
@click.option("--seed", type=click.IntRange(min=0), default=0)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="gym.make keyword for every point.")
@click.option("--schemes", default=None, help="Comma-separated subset of the curves.")
@click.option(
    "--env",
    "env_id",
    default=None,
    help="Run on another registered id of the figure's task (e.g. a tier); files get an @<EnvName> suffix.",
)
@click.option(
    "--best-known",
    "best_known",
    is_flag=True,
    help="Add the best_known curve and gaps to it (sweeps; costly: every solver of the task + restarts per draw).",
)
@click.option("--out-dir", type=click.Path(file_okay=False), default="results/figures")
@click.option(
    "--batched",
    is_flag=True,
    help="Sweeps: solve GD, Comm-only and BF-only for all draws of a point at once on the torch backend "
    "(isac_gym.baselines.batched); files get a -batched suffix; FP-MM-ADMM stays per draw.",
)
@click.option(
    "--yes",
    is_flag=True,
    help="Run even when the estimated time of the default trials exceeds 10 min.",
)
@_best_known_options
@_backend_options
def figure(
    name: str,
    trials: int | None,
    quick: bool,
    seed: int,
    sets: tuple[str, ...],
    schemes: str | None,
    out_dir: str,
    backend: str,
    workers: int | None,
    address: str | None,
    env_id: str | None = None,
    best_known: bool = False,
    best_known_dir: str | None = None,
    best_known_restarts: int | None = None,
    yes: bool = False,
    batched: bool = False,
) -> None:
    """Reproduce a paper figure (NAME, or 'list' / 'all'); writes CSV + PNG, resumes cached rows.

    Prints the estimated run time first; without --trials (the paper's 1000 per point) a run
    estimated above 10 minutes is refused unless --yes.

    --env ID runs the sweep on another registered id of the figure's task: each point is
    gym.make(ID, **fixed, x=value), and the files are NAME@<EnvName>.csv / .png."""
    from isac_gym.experiments.figures import FIGURES, PAPER_TRIALS, make_figure

    if name == "list":
        for f in FIGURES.values():
            pts = (
                f"{f.x} in {list(f.values)}"
                if f.kind == "sweep"
                else f"variants {[v for v, _ in f.variants]}"
            )
            click.echo(
                f"{f.name:12s} {f.title}\n{'':12s} {pts}; schemes: {', '.join(s.label for s in f.schemes)}"
            )
        click.echo(f"(paper: --trials {PAPER_TRIALS}; --quick for a smoke run)")
        return
    names = list(FIGURES) if name == "all" else [name]
    if env_id is not None and name == "all":
        raise click.BadParameter(
            "--env applies to one figure (or figures of one task), not 'all'", param_hint="--env"
        )
    sel = [s.strip() for s in schemes.split(",")] if schemes else None
    overrides = parse_sets(sets)
    _figure_estimate(names, trials, quick, sel, overrides, workers, yes)
    for n in names:
        try:
            csv_path, png, table = make_figure(
                n,
                out_dir,
                trials=trials,
                seed=seed,
                quick=quick,
                overrides=overrides,
                schemes=sel,
                backend=backend,
                workers=workers,
                address=address,
                env_id=env_id,
                best_known=best_known,
                best_known_dir=best_known_dir,
                best_known_restarts=best_known_restarts,
                batched=batched,
            )
        except (ValueError, TypeError) as exc:
            _fail(exc)
        click.echo(f"{n}: {csv_path} {png}")
        if len(table) and "variant" not in table:
            click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


# ---------------------------------------------------------------------------------- trend-check
def _int_list(value: str, what: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated integers, got {value!r}", param_hint=what
        ) from None
    if not out or min(out) < 2:
        raise click.BadParameter(f"expected integers >= 2, got {value!r}", param_hint=what)
    return out


@main.command("trend-check")
@click.argument("task", type=click.Choice(["rar", "robust"]))
@click.option("--trials", type=click.IntRange(min=1), default=50, help="Seeded draws (per N for robust).")
@click.option("--seed", type=click.IntRange(min=0), default=0)
@click.option("--max-iter", type=click.IntRange(min=1), default=None, help="rar: override the iteration cap.")
@click.option("--paper-schedule", is_flag=True, help="rar: Algorithm 1 with the paper's literal constants.")
@click.option("--n-values", default="8,16,24,32,40,48,64", help="robust: comma-separated RIS sizes N.")
@click.option("--schemes", default="continuous,scheme1,scheme2", help="robust: comma-separated schemes.")
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="CSV (+ Parquet) of the tidy rows."
)
@_backend_options
def trend_check(
    task: str,
    trials: int,
    seed: int,
    max_iter: int | None,
    paper_schedule: bool,
    n_values: str,
    schemes: str,
    out: str | None,
    backend: str,
    workers: int | None,
    address: str | None,
) -> None:
    """Paired trend check of the papers' reference algorithms (TASK: rar or robust).

    rar: Proposed (Algorithm 1), Comm-only, BF-only and GD at the Table-I defaults (U_com, tr CRB,
    feasibility, iterations, paired differences). robust: continuous-phase AO, Scheme 1 and Scheme 2
    over RIS sizes N (power over feasible draws, feasibility, paired means). Draw i uses
    SeedSequence(seed).spawn(trials)[i] for every scheme."""
    from isac_gym.experiments import trend_check as tc

    try:
        if task == "rar":
            rows, report = tc.rar_trend_check(
                trials, seed, max_iter=max_iter, paper_schedule=paper_schedule,
                backend=backend, workers=workers, address=address, progress=True,
            )  # fmt: skip
        else:
            rows, report = tc.robust_trend_check(
                trials, _int_list(n_values, "--n-values"),
                tuple(s.strip() for s in schemes.split(",") if s.strip()), seed,
                backend=backend, workers=workers, address=address, progress=True,
            )  # fmt: skip
    except (ValueError, TypeError) as exc:
        _fail(exc)
    click.echo(report)
    if out:
        click.echo(f"rows: {tc.write_rows(rows, out)}")


# ------------------------------------------------------------------------------------ reproduce
@main.command()
@click.argument("names", nargs=-1)
@click.option("--eval-only", is_flag=True, help="Only re-measure the shipped checkpoints.")
@click.option("--episodes", type=click.IntRange(min=1), default=20, help="Seeded evaluation episodes.")
@click.option("--no-save", is_flag=True, help="Print the measurement, leave eval.yaml as it is.")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Retrain into this folder instead of replacing the shipped checkpoints.",
)
def reproduce(
    names: tuple[str, ...], eval_only: bool, episodes: int, no_save: bool, run_dir: str | None
) -> None:
    """Retrain the shipped checkpoints (NAMES, default all) and measure them against random actions.

    Each checkpoint is isac_gym.agents.train.train(...) with the arguments in
    isac_gym.agents.reproduce.CHECKPOINTS; the measurement (quick_eval over seeded episodes, the whole
    episode and the first decision) goes to <run>/eval.yaml."""
    import yaml

    from isac_gym.agents import reproduce as rp
    from isac_gym.agents.serialization import checkpoints_dir

    unknown = [n for n in names if n not in rp.CHECKPOINTS]
    if unknown:
        raise click.BadParameter(
            f"unknown {unknown}; shipped: {', '.join(rp.CHECKPOINTS)}", param_hint="NAMES"
        )
    for name in names or tuple(rp.CHECKPOINTS):
        run = checkpoints_dir() / name if eval_only else rp.reproduce(name, run_dir)
        click.echo(f"{name}\n{yaml.safe_dump(rp.measure(run, episodes, not no_save), sort_keys=False)}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
