"""Paper-figure definitions and their cached, resumable computation."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import pandas as pd
import pytest

import isac_env  # noqa: F401
from isac_gym.agents.parallel import run_tasks
from isac_gym.experiments import figures as F
from tests.conftest import SMALL_RAR

FAST = ("Comm-only", "GD")


def test_every_paper_figure_is_defined() -> None:
    rar = {"rar-fig3b", "rar-fig4a", "rar-fig4b", "rar-fig4c", "rar-fig5a", "rar-fig5b", "rar-fig5c"}
    robust = {f"robust-fig{i}" for i in range(2, 8)}
    assert rar | robust <= set(F.FIGURES)
    assert F.FIGURES["rar-fig5b"].fixed == {"rsr_model": "distortion"}  # spec A1
    for name in rar - {"rar-fig3b"}:
        assert [s.label for s in F.FIGURES[name].schemes] == ["Proposed", "Comm-only", "BF-only", "GD"]


@pytest.mark.parametrize("name", sorted(F.FIGURES))
def test_figure_fields_are_env_keywords(name: str) -> None:
    """Every swept / fixed / variant keyword is a field of the env's configs (values validated)."""
    fig = F.FIGURES[name]
    env_ids = {s.env_id or fig.env_id for s in fig.schemes}
    for env_id in env_ids:
        if env_id not in gym.registry:
            pytest.skip(f"{env_id} not registered yet")
        u = gym.make(env_id).unwrapped
        names = {f.name for f in dataclasses.fields(u.config)} | {
            f.name for f in dataclasses.fields(u.env_config)
        }
        keys = set(fig.fixed) | {k for _, kw in fig.variants for k in kw} | ({fig.x} if fig.x else set())
        assert keys <= names
        for v in fig.values:  # every point is a valid config
            u.config.replace(**{**fig.fixed, fig.x: v})
        assert set(fig.quick_values) <= set(fig.values)


def test_quick_plan_uses_quick_values_and_shared_draws() -> None:
    fig = F.FIGURES["rar-fig4a"]
    plan = F.eval_plan(fig, trials=3, quick=True, overrides={"num_ris": 8})
    assert len(plan) == 4 * 2
    xs = sorted({es.env_kwargs["snr_db"] for _, es, _ in plan})
    assert xs == [15, 25]
    # all schemes at one point share one eval set; every point uses the same per-trial seeds
    assert len({es.hash for _, es, _ in plan}) == 2
    assert len({es.seeds for _, es, _ in plan}) == 1
    with pytest.raises(ValueError, match="sweeps"):
        F.eval_plan(fig, trials=1, overrides={"snr_db": 10})
    with pytest.raises(ValueError, match="unknown scheme"):
        F.eval_plan(fig, trials=1, schemes=["Nope"])


def _limited(n: int):
    calls = {"n": 0}

    def fake(fn, tasks, **kw):
        for i, r in run_tasks(fn, tasks, **kw):
            if calls["n"] == n:
                return
            calls["n"] += 1
            yield i, r

    return fake


def test_sweep_resumes_after_interruption(tmp_path, monkeypatch) -> None:
    kw = dict(trials=2, quick=True, overrides=SMALL_RAR, schemes=FAST, workers=1, progress=False)
    fig = F.FIGURES["rar-fig4a"]
    full = pd.read_csv(F.compute(fig, tmp_path / "full", **kw))
    # an interrupted run: only 3 of the 4 trials (2 points x 2 draws) complete
    from isac_gym.agents import evaluate as ev

    monkeypatch.setattr(ev, "run_tasks", _limited(3))
    part = pd.read_csv(F.compute(fig, tmp_path / "part", **kw))
    assert len(part) == 3 * len(FAST)
    monkeypatch.undo()
    resumed = pd.read_csv(F.compute(fig, tmp_path / "part", **kw))
    assert not resumed.duplicated(["policy", "eval_set", "trial"]).any()
    key = ["eval_set", "trial", "policy"]
    a = full.drop(columns="latency_s").sort_values(key).reset_index(drop=True)
    b = resumed.drop(columns="latency_s").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    # the plotted table
    csv_path, png, tab = F.make_figure("rar-fig4a", tmp_path / "part", **{**kw, "trials": 2})
    assert list(tab["scheme"].unique()) == list(FAST)
    assert (tab["n"] == 2).all() and png.stat().st_size > 0 and csv_path.exists()
    # Parquet next to the CSVs: the table as is; the rows without the JSON lists, which are long
    pd.testing.assert_frame_equal(
        pd.read_parquet(csv_path.with_suffix(".parquet")), pd.read_csv(csv_path), check_dtype=False
    )
    rows_csv = F.rows_path(fig, tmp_path / "part")
    wide = pd.read_parquet(rows_csv.with_name("rar-fig4a.rows.parquet"))
    long = pd.read_parquet(rows_csv.with_name("rar-fig4a.rows_per_user.parquet"))
    assert len(wide) == len(resumed) and "rate" not in wide and "sum_rate" in wide
    assert {"figure", "x", "metric", "user", "value"} <= set(long.columns)
    by_row = long[long.metric == "rate"].groupby(["policy", "eval_set", "trial"])["value"].sum()
    sums = resumed.astype({"eval_set": str}).set_index(["policy", "eval_set", "trial"])["sum_rate"]
    assert by_row.sort_index().to_numpy() == pytest.approx(sums.sort_index().to_numpy())
    # env_feasible_rate: the env's own rule (info["feasible"]) for every scheme
    for (sch, x), g in resumed.groupby(["policy", "x"]):
        row = tab[(tab["scheme"] == sch) & (tab["snr_db"] == x)]
        expect = g["feasible"].astype(str).str.lower().eq("true").mean()
        assert row["env_feasible_rate"].item() == pytest.approx(expect)


def test_trace_figure_quick(tmp_path, monkeypatch) -> None:
    fig = dataclasses.replace(F.FIGURES["rar-fig3b"], schemes=(F.Scheme("GD", "gd"),))
    monkeypatch.setitem(F.FIGURES, "rar-fig3b", fig)
    tiny = {k: v for k, v in SMALL_RAR.items() if k not in ("num_ris", "num_users")}
    _, png, tab = F.make_figure("rar-fig3b", tmp_path, trials=1, overrides=tiny, workers=1, progress=False)
    assert set(tab["variant"]) == {"default", "N=60", "K=5"}
    assert (tab.groupby("variant")["iteration"].min() == 0).all()
    assert png.stat().st_size > 0
    rows = pd.read_csv(F.rows_path(fig, tmp_path))
    before = len(rows)
    traced = pd.read_parquet(tmp_path / "rar-fig3b.rows.parquet")  # the trace rows, as Parquet too
    assert len(traced) == before and "iteration" in traced
    F.make_figure("rar-fig3b", tmp_path, trials=1, overrides=tiny, workers=1, progress=False)
    assert len(pd.read_csv(F.rows_path(fig, tmp_path))) == before  # cached


def test_trace_figure_records_draws_where_the_solver_stops_at_once(tmp_path, monkeypatch) -> None:
    """With 4 BS antennas the robust transmit SDP is infeasible: the trial still gets a row, no crash."""
    fig = dataclasses.replace(F.FIGURES["robust-fig5"], schemes=(F.Scheme("Scheme 2", "robust_scheme2"),))
    monkeypatch.setitem(F.FIGURES, "robust-fig5", fig)
    kw = {"num_bs_antennas": 4, "mc_draws": 64}
    _, png, tab = F.make_figure("robust-fig5", tmp_path, trials=1, overrides=kw, workers=1, progress=False)
    rows = pd.read_csv(F.rows_path(fig, tmp_path))
    # "failed: ..." once solvers report failed solves as such (no design, solved=False)
    assert len(rows) == 1 and rows["solver_stop_reason"][0].startswith(("infeasible", "failed: "))
    assert not bool(rows["solver_feasible"][0])
    assert (tab["n"] == 0).all() and png.stat().st_size > 0
    F.make_figure("robust-fig5", tmp_path, trials=1, overrides=kw, workers=1, progress=False)
    assert len(pd.read_csv(F.rows_path(fig, tmp_path))) == 1  # recorded, not recomputed


def test_sweep_table_excludes_failed_solves_like_summarize() -> None:
    """Failed solves: out of the power means, infeasible in the rate; the CI is Student t (scipy)."""
    from isac_gym.agents.evaluate import mean_ci95

    plan = F.eval_plan(F.FIGURES["robust-fig2"], trials=4, quick=True, schemes=["Scheme 1"])
    _, es, extra = plan[0]
    rows = pd.DataFrame(
        {
            "policy": "Scheme 1",
            "eval_set": es.hash,
            "trial": range(5),
            "x": extra["x"],
            # trial 3 failed (a would-be -40 dBm score); trial 2 solved but infeasible; trial 4
            # repeats trial 0's key (a duplicate row: the first one is used)
            "power_dbm": [10.0, 12.0, 30.0, -40.0, 99.0],
            "solved": [True, True, True, False, True],
            "solver_feasible": [True, True, False, False, True],
            "feasible": [True, True, False, True, True],
            "latency_s": [1.0, 1.0, 1.0, 3.0, 1.0],
            "gap": [0.0] * 5,
        }
    ).replace({"trial": {4: 0}})
    power = F.figure_table(F.FIGURES["robust-fig2"], rows, plan)  # agg: feasible_mean
    r = power[power[F.FIGURES["robust-fig2"].x] == extra["x"]].iloc[0]
    assert (r["n"], r["n_solved"], r["n_used"]) == (4, 3, 2)
    assert r["mean"] == pytest.approx(11.0) and r["ci95"] == pytest.approx(mean_ci95([10.0, 12.0])[1])
    assert r["feasible_rate"] == pytest.approx(0.5) and r["env_feasible_rate"] == pytest.approx(0.5)
    assert r["latency_s"] == pytest.approx(1.5)
    mean_fig = dataclasses.replace(F.FIGURES["robust-fig2"], agg="mean")
    r = F.figure_table(mean_fig, rows, plan).iloc[0]
    assert r["mean"] == pytest.approx(52.0 / 3)  # solved draws, feasible or not
    rate = F.figure_table(F.FIGURES["robust-fig6"], rows, plan).iloc[0]
    assert rate["mean"] == pytest.approx(0.5) and rate["n_used"] == 4  # over all draws
