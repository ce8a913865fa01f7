"""Evaluation protocol: eval sets, incremental/resumable rows, backends give identical rows."""

from __future__ import annotations

import csv
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from isac_gym.agents.evaluate import (
    BaselineSpec,
    DuplicateRowsWarning,
    EvalSet,
    InputError,
    RandomSpec,
    ResultsLockedError,
    ResultStore,
    evaluate_policies,
    mean_ci95,
    parse_policy,
    summarize,
)
from isac_gym.agents.parallel import run_tasks
from tests.conftest import SMALL_RAR

ENV = "isac_env/RydbergISAC-v0"


def small_set(n: int = 4, seed: int = 3, **kw: object) -> EvalSet:
    return EvalSet(ENV, {**SMALL_RAR, **kw}, seed, n)


POLICIES = {"random_mrt": BaselineSpec("random_mrt"), "random": RandomSpec()}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["latency_s"]).sort_values(["eval_set", "trial", "policy"]).reset_index(drop=True)


# ----------------------------------------------------------------------------------- EvalSet
def test_eval_set_seeds_and_hash_are_stable() -> None:
    es = small_set()
    children = np.random.SeedSequence(3).spawn(4)
    assert es.seeds == tuple(int(c.generate_state(1, np.uint64)[0]) for c in children)
    # the hash is a pure function of the config: same value in every process / run
    assert es.hash == small_set().hash
    assert len(es.hash) == 16
    assert small_set(seed=4).hash != es.hash
    assert small_set(n=5).hash != es.hash
    assert small_set(num_ris=9).hash != es.hash
    # kwargs order and numpy scalars do not matter
    kw = dict(reversed(list({**SMALL_RAR}.items())))
    kw["num_ris"] = np.int64(8)
    assert EvalSet(ENV, kw, 3, 4).hash == es.hash


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_eval_set_save_load_round_trip(tmp_path, suffix: str) -> None:
    es = small_set(snr_db=20.0, rsr_model="distortion")
    p = es.save(tmp_path / f"set{suffix}")
    back = EvalSet.load(p)
    assert back == es and back.hash == es.hash and back.seeds == es.seeds


def test_eval_set_load_rejects_tampered_file(tmp_path) -> None:
    p = small_set().save(tmp_path / "set.json")
    doc = json.loads(p.read_text())
    doc["seeds"][0] += 1
    p.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="do not match"):
        EvalSet.load(p)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_draws": 0}, "n_draws"), ({"root_seed": -1}, "root_seed"), ({"env_id": ""}, "env_id")],
)
def test_eval_set_validation(kwargs: dict, match: str) -> None:
    base = {"env_id": ENV, "env_kwargs": {}, "root_seed": 0, "n_draws": 2}
    with pytest.raises(ValueError, match=match):
        EvalSet(**{**base, **kwargs})


# ------------------------------------------------------------------------------ evaluation
def test_rows_metrics_latency_and_gap(tmp_path) -> None:
    es = small_set()
    out = evaluate_policies(
        POLICIES, es, tmp_path / "rows.csv", reference="random_mrt", workers=1, progress=False
    )
    df = pd.read_csv(out)
    assert len(df) == 2 * es.n_draws
    assert set(df["policy"]) == set(POLICIES)
    assert (df["eval_set"] == es.hash).all() and (df["env_id"] == ENV).all()
    assert sorted(df["trial"].unique()) == list(range(es.n_draws))
    seeds = pd.read_csv(out, dtype={"seed": str}).query("policy == 'random'").sort_values("trial")["seed"]
    assert [int(s) for s in seeds] == list(es.seeds)
    for col in ("sum_rate", "crb_trace", "cost", "feasible", "latency_s", "gap", "num_ris", "reward"):
        assert col in df.columns
    assert (df["latency_s"] > 0).all()
    assert (df["num_ris"] == SMALL_RAR["num_ris"]).all()
    ref = df[df.policy == "random_mrt"].set_index("trial")
    rnd = df[df.policy == "random"].set_index("trial")
    np.testing.assert_allclose(ref["gap"], 0.0)
    np.testing.assert_allclose(rnd["gap"], ref["sum_rate"] - rnd["sum_rate"])
    # the feasibility column agrees with the cost column
    assert ((df["cost"] == 0) == df["feasible"]).all()
    # baseline adapters add solver diagnostics
    assert ref["solver_stop_reason"].notna().all()


def test_all_policies_see_the_same_channels(tmp_path) -> None:
    """Replaying the draw's seed gives the same channels; the same design scores the same."""
    es = small_set(n=2)
    out = evaluate_policies(
        {"a": BaselineSpec("random_mrt"), "b": BaselineSpec("random_mrt")},
        es,
        tmp_path / "r.csv",
        reference="a",
        workers=1,
        progress=False,
    )
    df = pd.read_csv(out)
    a, b = (df[df.policy == p].set_index("trial") for p in "ab")
    np.testing.assert_array_equal(a["sum_rate"], b["sum_rate"])
    np.testing.assert_allclose(b["gap"], 0.0)


def test_resume_after_interruption_has_no_lost_or_duplicate_rows(tmp_path) -> None:
    es = small_set(n=5)
    full = evaluate_policies(
        POLICIES, es, tmp_path / "full.csv", reference="random_mrt", workers=1, progress=False
    )
    expected = _sorted(pd.read_csv(full))

    out = tmp_path / "part.csv"
    # run 1: killed after two trials, in the middle of writing the third trial's rows
    it = run_tasks_first(es, out, n_trials=2)
    assert it == 2
    text = out.read_text()
    lines = text.splitlines(keepends=True)
    out.write_text(text + lines[-1][: len(lines[-1]) // 2])  # a torn, half-written row
    # run 2 resumes
    evaluate_policies(POLICIES, es, out, reference="random_mrt", workers=1, progress=False)
    got = pd.read_csv(out)
    assert not got.duplicated(["policy", "eval_set", "trial"]).any()
    pd.testing.assert_frame_equal(_sorted(got), expected, check_dtype=False)
    # run 3: nothing left to do, file unchanged
    before = out.read_bytes()
    evaluate_policies(POLICIES, es, out, reference="random_mrt", workers=1, progress=False)
    assert out.read_bytes() == before


def run_tasks_first(es: EvalSet, out, n_trials: int) -> int:
    """Evaluate only the first ``n_trials`` trials (the state a killed run leaves behind)."""
    from isac_gym.agents import evaluate as ev

    calls = {"n": 0}
    real = ev.run_tasks

    def limited(fn, tasks, **kw):
        for i, r in real(fn, tasks, **kw):
            if calls["n"] == n_trials:
                return
            calls["n"] += 1
            yield i, r

    ev.run_tasks = limited
    try:
        evaluate_policies(POLICIES, es, out, reference="random_mrt", workers=1, progress=False)
    finally:
        ev.run_tasks = real
    return calls["n"]


def test_resume_with_a_new_policy_reuses_the_stored_reference(tmp_path) -> None:
    es = small_set(n=3)
    out = tmp_path / "r.csv"
    evaluate_policies(
        {"random_mrt": BaselineSpec("random_mrt")}, es, out, reference="random_mrt", workers=1, progress=False
    )
    evaluate_policies(POLICIES, es, out, reference="random_mrt", workers=1, progress=False)
    df = pd.read_csv(out)
    assert len(df) == 6 and not df.duplicated(["policy", "trial"]).any()
    ref = df[df.policy == "random_mrt"].set_index("trial")["sum_rate"]
    rnd = df[df.policy == "random"].set_index("trial")
    np.testing.assert_allclose(rnd["gap"], ref - rnd["sum_rate"])


def test_local_pool_and_serial_rows_identical(tmp_path) -> None:
    es = small_set(n=4)
    a = evaluate_policies(POLICIES, es, tmp_path / "a.csv", reference="random_mrt", workers=1, progress=False)
    b = evaluate_policies(POLICIES, es, tmp_path / "b.csv", reference="random_mrt", workers=2, progress=False)
    pd.testing.assert_frame_equal(_sorted(pd.read_csv(a)), _sorted(pd.read_csv(b)))


@pytest.mark.slow
def test_ray_and_local_rows_identical(tmp_path) -> None:
    ray = pytest.importorskip("ray")
    es = small_set(n=4)
    a = evaluate_policies(POLICIES, es, tmp_path / "a.csv", reference="random_mrt", workers=2, progress=False)
    b = evaluate_policies(
        POLICIES, es, tmp_path / "b.csv", reference="random_mrt", backend="ray", workers=2, progress=False
    )
    assert not ray.is_initialized()  # the backend shuts down the instance it started
    pd.testing.assert_frame_equal(_sorted(pd.read_csv(a)), _sorted(pd.read_csv(b)))


def test_steps_plays_several_decisions(tmp_path) -> None:
    es = small_set(n=2, horizon=3)
    df = pd.read_csv(
        evaluate_policies(
            {"random": RandomSpec()}, es, tmp_path / "r.csv", steps=3, workers=1, progress=False
        )
    )
    assert (df["steps"] == 3).all()


def test_summary_table(tmp_path) -> None:
    es = small_set(n=4)
    df = pd.read_csv(
        evaluate_policies(POLICIES, es, tmp_path / "r.csv", reference="random_mrt", workers=1, progress=False)
    )
    s = summarize(df).set_index("policy")
    g = df[df.policy == "random"]["sum_rate"]
    assert s.loc["random", "n"] == 4
    assert math.isclose(s.loc["random", "mean"], g.mean())
    assert s.loc["random", "ci95"] > 0
    assert 0.0 <= s.loc["random", "feasible_rate"] <= 1.0
    assert s.loc["random_mrt", "gap_mean"] == 0.0


def test_argument_errors(tmp_path) -> None:
    es = small_set(n=1)
    with pytest.raises(ValueError, match="reference"):
        evaluate_policies(POLICIES, es, tmp_path / "r.csv", reference="nope", workers=1)
    with pytest.raises(ValueError, match="steps"):
        evaluate_policies(POLICIES, es, tmp_path / "r.csv", steps=0, workers=1)
    with pytest.raises(ValueError, match="neither"):
        parse_policy("not_a_solver")
    with pytest.raises(ValueError, match="backend"):
        list(run_tasks(abs, [1], backend="dask"))
    assert parse_policy("mine=random_mrt") == ("mine", BaselineSpec("random_mrt"))
    assert parse_policy("random")[0] == "random"


def test_result_store_extends_header(tmp_path) -> None:
    p = tmp_path / "s.csv"
    with ResultStore(p) as st:
        st.append([{"policy": "a", "eval_set": "h", "trial": 0, "x": 1.0}])
        st.append([{"policy": "b", "eval_set": "h", "trial": 0, "x": 2.0, "y": "z"}])
    rows = list(csv.DictReader(p.open()))
    assert [r["y"] for r in rows] == ["", "z"]
    assert ("a", "h", 0) in ResultStore(p, lock=False) and ("b", "h", 0) in ResultStore(p, lock=False)


def test_run_tasks_order_independent_results() -> None:
    got = dict(run_tasks(abs, [-3, 2, -1], workers=1, progress=False))
    assert got == {0: 3, 1: 2, 2: 1}


# ------------------------------------------------------------------------- failed solves
class FlakySolverPolicy:
    """A solver-adapter stub: the actions of :class:`isac_gym.agents.evaluate.RandomPolicy` (same seeding), but
    on the draws whose policy seed is in ``fail_seeds`` its ``last_result`` is a failed solve."""

    def __init__(self, action_space, fail_seeds) -> None:
        self.action_space = action_space
        self.fail_seeds = frozenset(fail_seeds)
        self.failing = False
        self.last_result = None

    def reseed(self, seed: int) -> None:
        self.action_space.seed(int(seed))
        self.failing = seed in self.fail_seeds

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        ok = not self.failing
        self.last_result = SimpleNamespace(
            solved=ok, feasible=ok, iterations=3, stop_reason="converged" if ok else "failed: stub"
        )
        return self.action_space.sample(), state


def test_failed_solves_are_recorded_not_scored(tmp_path) -> None:
    es = small_set(n=4)
    env = es.make_env()
    flaky = FlakySolverPolicy(env.action_space, {es.policy_seed(1)})
    out = tmp_path / "r.csv"
    # the reference first alone, then a policy resumed against its stored (unsolved) row
    evaluate_policies({"flaky": flaky}, es, out, reference="flaky", workers=1, progress=False)
    evaluate_policies(
        {"flaky": flaky, "random": RandomSpec()}, es, out, reference="flaky", workers=1, progress=False
    )
    df = pd.read_csv(out)
    fl = df[df.policy == "flaky"].set_index("trial").sort_index()
    rnd = df[df.policy == "random"].set_index("trial").sort_index()
    assert list(fl["solved"]) == [True, False, True, True] and rnd["solved"].all()
    bad = fl.loc[1]
    for col in ("objective", "sum_rate", "crb_trace", "reward", "cost"):
        assert math.isnan(bad[col]), col
    assert not bad["feasible"] and bad["solver_stop_reason"] == "failed: stub" and bad["latency_s"] > 0
    # the same actions as RandomPolicy: where solved, the rows agree with the random policy's
    ok = [0, 2, 3]
    np.testing.assert_array_equal(fl.loc[ok, "sum_rate"], rnd.loc[ok, "sum_rate"])
    assert np.isfinite(rnd.loc[1, "sum_rate"])  # the draw itself is fine
    # no gap against an unsolved reference
    assert math.isnan(rnd.loc[1, "gap"]) and np.isfinite(rnd.loc[ok, "gap"]).all()

    s = summarize(df).set_index("policy")
    assert s.loc["flaky", "n"] == 4 and s.loc["flaky", "n_solved"] == 3
    assert s.loc["flaky", "solved_rate"] == 0.75
    assert math.isclose(s.loc["flaky", "mean"], rnd.loc[ok, "sum_rate"].mean())
    assert s.loc["flaky", "feasible_rate"] == rnd.loc[ok, "feasible"].sum() / 4
    assert s.loc["random", "n_solved"] == 4
    assert math.isclose(s.loc["random", "gap_mean"], rnd.loc[ok, "gap"].mean())


def _rows(values, solved, feasible, gaps=None) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "policy": ["p"] * n,
            "eval_set": ["h"] * n,
            "trial": range(n),
            "objective": values,
            "solved": solved,
            "feasible": feasible,
            "gap": gaps if gaps is not None else [0.0] * n,
            "latency_s": [0.001] * n,
        }
    )


def test_summarize_excludes_failed_solves_from_means() -> None:
    # the unsolved rows carry a would-be score (-40, feasible) that must not be used
    df = _rows(
        [-10.0, -40.0, -12.0, -40.0, -11.0],
        [True, False, True, False, True],
        [True, True, False, True, True],
        gaps=[1.0, 9.0, 2.0, 9.0, 3.0],
    )
    r = summarize(df).iloc[0]
    assert (r["n"], r["n_solved"], r["solved_rate"]) == (5, 3, 0.6)
    assert r["mean"] == pytest.approx(-11.0)
    assert r["ci95"] == pytest.approx(mean_ci95([-10.0, -12.0, -11.0])[1])
    assert r["feasible_rate"] == pytest.approx(2 / 5)  # failed = infeasible, over all draws
    assert r["gap_mean"] == pytest.approx(2.0)
    # a CSV round trip (booleans as text) and rows without a solved column (all solved)
    txt = df.astype({"solved": str, "feasible": str})
    assert summarize(txt).iloc[0]["n_solved"] == 3
    legacy = summarize(df.drop(columns="solved")).iloc[0]
    assert legacy["n_solved"] == 5 and legacy["mean"] == pytest.approx(-22.6)


def test_summarize_uses_the_first_row_of_a_duplicated_key() -> None:
    df = _rows([1.0, 2.0, 3.0], [True] * 3, [True] * 3)
    dup = pd.concat([df, df.iloc[[0]].assign(objective=100.0)], ignore_index=True)
    r = summarize(dup).iloc[0]
    assert r["n"] == 3 and r["mean"] == pytest.approx(2.0)


def test_mean_ci95_is_the_student_t_interval() -> None:
    from scipy import stats

    x = np.array([1.0, 2.0, 4.0, 7.0])
    m, h = mean_ci95(np.append(x, [np.nan, np.inf]))  # non-finite values are dropped
    assert m == pytest.approx(3.5)
    assert h == pytest.approx(stats.t.ppf(0.975, 3) * np.std(x, ddof=1) / 2.0)
    assert all(math.isnan(v) for v in mean_ci95([]))
    assert mean_ci95([2.0])[0] == 2.0 and math.isnan(mean_ci95([2.0])[1])
    assert mean_ci95([3.0, 3.0, 3.0]) == (3.0, 0.0)


# ------------------------------------------------------------------------ ResultStore checks
def _store_with_rows(p, n: int = 3) -> None:
    with ResultStore(p) as st:
        for t in range(n):
            st.append([{"policy": "a", "eval_set": "h", "trial": t, "x": float(t), "note": "x,y"}])


def test_result_store_lock_refuses_a_second_writer(tmp_path) -> None:
    p = tmp_path / "s.csv"
    with ResultStore(p):
        with pytest.raises(ResultsLockedError, match="another run") as info:
            ResultStore(p)
        assert str(p) in str(info.value)
        assert ResultStore(p, lock=False) is not None  # readers do not lock
    with ResultStore(p) as st:  # released on close
        st.append([{"policy": "a", "eval_set": "h", "trial": 0}])
    with pytest.raises(RuntimeError, match="closed"):
        st.append([{"policy": "a", "eval_set": "h", "trial": 1}])


def test_result_store_reports_a_torn_row_mid_file(tmp_path) -> None:
    p = tmp_path / "s.csv"
    _store_with_rows(p)
    lines = p.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:5] + "\n"  # header, row 0, torn row 1, row 2
    p.write_text("".join(lines))
    with pytest.raises(InputError, match=r"s\.csv, line 3: 3 fields, the header has 5"):
        ResultStore(p)


def test_result_store_rejects_a_csv_without_key_columns(tmp_path) -> None:
    p = tmp_path / "s.csv"
    p.write_text("name,value\na,1\n")
    with pytest.raises(InputError, match="no 'policy', 'eval_set', 'trial' column"):
        ResultStore(p)
    p.write_text("policy,eval_set,trial\na,h,zero\n")
    with pytest.raises(InputError, match="line 2: trial 'zero' is not an integer"):
        ResultStore(p)


def test_result_store_counts_duplicates_and_keeps_the_first(tmp_path) -> None:
    p = tmp_path / "s.csv"
    _store_with_rows(p)
    lines = p.read_text().splitlines(keepends=True)
    p.write_text("".join([*lines, lines[1].replace("0.0", "9.0"), lines[2]]))
    with pytest.warns(DuplicateRowsWarning, match="2 duplicate row"):
        st = ResultStore(p, lock=False)
    assert st.duplicates == 2 and len(st.keys) == 3
    assert st.get("a", "h", 0, "x") == "0.0"
    # rows told apart by a row key (one per solver iteration) are not duplicates
    q = tmp_path / "trace.csv"
    with ResultStore(q, row_key=("iteration",)) as tr:
        tr.append([{"policy": "a", "eval_set": "h", "trial": 0, "iteration": i} for i in range(3)])
    assert ResultStore(q, lock=False, row_key=("iteration",)).duplicates == 0


# ------------------------------------------------------------------------- eval-set files
def test_eval_set_load_reports_malformed_files(tmp_path) -> None:
    p = small_set().save(tmp_path / "set.json")
    doc = json.loads(p.read_text())
    del doc["hash"]
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"set\.json: missing field 'hash'"):
        EvalSet.load(p)
    p.write_text("{not json")
    with pytest.raises(InputError, match=r"set\.json: JSONDecodeError"):
        EvalSet.load(p)
    q = small_set().save(tmp_path / "set.npz")
    q.write_bytes(q.read_bytes()[:200])
    with pytest.raises(InputError, match=r"set\.npz: BadZipFile"):
        EvalSet.load(q)


class _CorruptCheckpointSpec:
    """A checkpoint spec whose weights fail to load as torch reports a corrupt file."""

    key = "agent:corrupt"
    path = "/runs/corrupt"

    def build(self, env):
        raise RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory")


def test_an_unloadable_checkpoint_is_an_input_error_naming_it(tmp_path) -> None:
    with pytest.raises(InputError, match=r"agent /runs/corrupt: cannot load the checkpoint \(RuntimeError: "):
        evaluate_policies(
            {"ag": _CorruptCheckpointSpec()}, small_set(n=1), tmp_path / "r.csv", workers=1, progress=False
        )


class _CountingSolverPolicy(FlakySolverPolicy):
    """A solver adapter whose result reports cvxpy's inaccurate solves (``SolverResult.extra``)."""

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        action, state = super().predict(observation, state, episode_start, deterministic)
        self.last_result.extra = {"cvxpy_solves": 5, "n_inaccurate_solves": 2}
        return action, state


def test_rows_carry_the_solver_inaccurate_solves(tmp_path) -> None:
    from isac_gym.agents.evaluate import _solver_extras

    res = SimpleNamespace(
        feasible=True, iterations=4, stop_reason="converged", extra={"n_inaccurate_solves": 3}
    )
    assert _solver_extras(SimpleNamespace(last_result=res))["solver_inaccurate_solves"] == 3
    # a solver without cvxpy counts (no extra, or no such key): no claim either way
    res_plain = SimpleNamespace(feasible=True, iterations=4, stop_reason="converged", extra={})
    assert "solver_inaccurate_solves" not in _solver_extras(SimpleNamespace(last_result=res_plain))
    assert _solver_extras(SimpleNamespace()) == {}

    es = small_set(n=2)
    pol = _CountingSolverPolicy(es.make_env().action_space, set())
    out = tmp_path / "r.csv"
    evaluate_policies({"counting": pol, "random": RandomSpec()}, es, out, workers=1, progress=False)
    df = pd.read_csv(out).set_index("policy")
    assert (df.loc["counting", "solver_inaccurate_solves"] == 2).all()
    assert df.loc["random", "solver_inaccurate_solves"].isna().all()
