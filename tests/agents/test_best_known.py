"""best_known: the best feasible design of every solver of the task, cached per eval set."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import isac_gym.agents.best_known as bk
from isac_gym.agents.evaluate import BaselineSpec, EvalSet, evaluate_policies, summarize
from tests.conftest import SMALL_RAR

#: a small scenario on which the CRB can be met (SMALL_RAR alone is mostly infeasible)
FEASIBLE_RAR = {**SMALL_RAR, "crb_threshold": 0.3}


@pytest.fixture(scope="module")
def rydberg_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalSet, Path, pd.DataFrame]:
    """Every Rydberg solver and best_known (1 restart) on 2 draws of a small scenario."""
    d = tmp_path_factory.mktemp("bk")
    es = EvalSet("isac_env/RydbergISAC-v0", FEASIBLE_RAR, 0, 2)
    plan = bk.plan_for(es.env_id, 1)
    pols = {"best_known": bk.BestKnownSpec(str(d / "cache"), 1)}
    pols.update({n: BaselineSpec(n) for n in plan.solvers})
    evaluate_policies(pols, es, d / "rows.csv", reference="best_known", workers=1, progress=False)
    return es, d / "cache", pd.read_csv(d / "rows.csv", dtype={"policy": str, "eval_set": str})


def test_best_known_beats_every_feasible_solver_on_the_same_draw(rydberg_run) -> None:
    _, _, df = rydberg_run
    ref = df[df.policy == "best_known"].set_index("trial")
    assert ref["solved"].all() and ref["feasible"].all()
    others = df[(df.policy != "best_known") & df.feasible.astype(bool)]
    assert len(others) >= 2
    for r in others.itertuples():
        assert ref.loc[r.trial, "objective"] >= r.objective - 1e-12, r.policy
        assert r.gap >= -1e-12
    assert (ref["gap"] == 0).all()
    # latency of the row = the honest build time of the draw; the replay's is separate
    assert (ref["latency_s"] > ref["replay_latency_s"]).all()
    assert ref["solver_stop_reason"].str.startswith("best_known: ").all()


def test_summary_reports_the_gap_to_best_known_and_the_top_user_share(rydberg_run) -> None:
    _, _, df = rydberg_run
    s = summarize(df).set_index("policy")
    assert s.loc["best_known", "gap_to_best_known_mean"] == 0.0
    assert (s["top_user_share"].between(0.5, 1.0)).all()  # K = 2
    share = df["top_user_share"].to_numpy()
    rates = np.array([json.loads(r) for r in df["rate"]])  # the per-user rates, a JSON list
    np.testing.assert_allclose(share, rates.max(1) / rates.sum(1))
    h = bk.headroom(summarize(df), [p for p in s.index if bk.is_heuristic(p)], "sum_rate")
    assert h["best_heuristic"] and h["headroom_pct"] >= 0.0


def test_cached_design_replays_its_objective(rydberg_run) -> None:
    es, cache, _ = rydberg_run
    table = bk.load_best_known(es, cache, n_restarts=1)
    assert sorted(table) == [0, 1]
    env = es.make_env()
    for t, entry in table.items():
        env.reset(seed=es.seeds[t])
        _, _, _, _, info = env.step(entry.action)
        assert info["feasible"] and info["metrics"]["sum_rate"] == entry.objective
        # the stored W / phi are the design the env played
        W, phi = env.unwrapped.decode_action(entry.action)
        np.testing.assert_array_equal(W, entry.W)
        np.testing.assert_array_equal(phi, entry.phi)
    csv = pd.read_csv(cache / f"{es.hash}.csv")
    assert (csv["build_time_s"] > 0).all() and (
        csv["n_candidates"] > len(bk.plan_for(es.env_id, 1).solvers)
    ).all()


def test_cache_is_reused_without_solving(rydberg_run, monkeypatch) -> None:
    es, cache, _ = rydberg_run
    calls = []
    real = bk._solve
    monkeypatch.setattr(bk, "_solve", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    bk.ensure_best_known([es], cache, n_restarts=1, workers=1, progress=False)
    assert calls == []
    # a new draw count is a new eval set: it is built (and counted)
    es3 = EvalSet(es.env_id, dict(es.env_kwargs), 0, 1)
    bk.ensure_best_known([es3], cache, n_restarts=1, workers=1, progress=False)
    plan = bk.plan_for(es.env_id, 1)
    assert len(calls) >= len(plan.solvers) + plan.n_restarts * len(plan.restart)
    n = len(calls)
    bk.ensure_best_known([es3], cache, n_restarts=1, workers=1, progress=False)
    assert len(calls) == n
    # another plan (restarts) is not mixed with the cached one: it is built anew
    bk.ensure_best_known([es3], cache, n_restarts=0, workers=1, progress=False)
    assert len(calls) > n


def test_robust_best_known_is_the_lowest_certified_power(tmp_path: Path) -> None:
    pytest.importorskip("cvxpy")
    es = EvalSet("isac_env/RobustISAC-v0", {"num_ris": 4, "mc_draws": 200}, 0, 1)
    names = ("robust_gain_mrt", "robust_scheme2", "robust_random")
    pols = {"best_known": bk.BestKnownSpec(str(tmp_path / "cache"), 0), **{n: BaselineSpec(n) for n in names}}
    evaluate_policies(pols, es, tmp_path / "rows.csv", reference="best_known", workers=1, progress=False)
    df = pd.read_csv(tmp_path / "rows.csv")
    ref = df[df.policy == "best_known"].iloc[0]
    assert ref["solved"] and ref["feasible"] and ref["certified"]
    ok = df[(df.policy != "best_known") & df.feasible.astype(bool) & df.certified.astype(bool)]
    assert len(ok)
    for r in ok.itertuples():  # lower power is better
        assert ref["power_dbm"] <= r.power_dbm + 1e-9, r.policy
        assert r.gap >= -1e-9 and math.isclose(r.rel_gap, 10 ** (r.gap / 10) - 1)
