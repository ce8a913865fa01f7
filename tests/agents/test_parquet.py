"""Parquet copies of the results CSVs: same numbers as the CSV, long tables for the list metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from isac_gym.agents.evaluate import (
    BaselineSpec,
    EvalSet,
    RandomSpec,
    evaluate_policies,
    parquet_paths,
    split_lists,
    write_parquet,
)
from tests.conftest import SMALL_RAR

pytest.importorskip("pyarrow")

ENV = "isac_env/RydbergISAC-v0"


def _no_list_cells(df: pd.DataFrame) -> None:
    for c in df.columns:
        for v in df[c].dropna():
            assert not isinstance(v, list | tuple | np.ndarray), (c, v)
            assert not (isinstance(v, str) and v.lstrip().startswith("[")), (c, v)


def _assert_same_scalars(csv: pd.DataFrame, wide: pd.DataFrame) -> None:
    assert list(wide.columns) == [c for c in csv.columns if c in wide.columns]
    assert len(wide) == len(csv)
    for c in wide.columns:
        a, b = csv[c], wide[c]
        if a.dtype.kind in "iufb":
            np.testing.assert_array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float), err_msg=c)
        else:
            assert [None if pd.isna(v) else str(v) for v in a] == [
                None if pd.isna(v) else str(v) for v in b
            ], c


def test_evaluation_rows_round_trip_through_parquet(tmp_path) -> None:
    es = EvalSet(ENV, SMALL_RAR, 3, 3)
    out = tmp_path / "rows.csv"
    pols = {"random_mrt": BaselineSpec("random_mrt"), "random": RandomSpec()}
    evaluate_policies(pols, es, out, reference="random_mrt", workers=1, progress=False)
    paths = parquet_paths(out)
    assert paths["wide"].name == "rows.parquet" and paths["user"].name == "rows_per_user.parquet"
    assert paths["wide"].exists() and paths["user"].exists() and not paths["target"].exists()

    csv = pd.read_csv(out, dtype={"policy": str, "eval_set": str})
    wide = pd.read_parquet(paths["wide"])
    long = pd.read_parquet(paths["user"])
    # the list columns (JSON in the CSV) are not in the wide table; everything else is, unchanged
    assert {"rate", "sinr"} <= set(csv.columns) and not {"rate", "sinr"} & set(wide.columns)
    _assert_same_scalars(csv, wide)
    _no_list_cells(wide)
    _no_list_cells(long)
    assert list(long.columns) == ["policy", "eval_set", "trial", "metric", "user", "value"]
    assert long["value"].dtype == np.float64 and long["user"].dtype == np.int64
    # every per-user entry of the CSV is one long row with the same number
    k = SMALL_RAR["num_users"]
    assert len(long) == len(csv) * 2 * k
    for r in csv.itertuples():
        for metric in ("rate", "sinr"):
            got = long[(long.policy == r.policy) & (long.trial == r.trial) & (long.metric == metric)]
            got = got.sort_values("user")
            assert list(got["user"]) == list(range(k))
            np.testing.assert_array_equal(got["value"].to_numpy(), json.loads(getattr(r, metric)))
    # the per-user rates sum to the sum rate (a long table is directly usable)
    rates = long[long.metric == "rate"].groupby(["policy", "trial"])["value"].sum()
    sums = csv.set_index(["policy", "trial"])["sum_rate"]
    np.testing.assert_allclose(rates.sort_index().to_numpy(), sums.sort_index().to_numpy(), rtol=1e-12)

    # a resumed run (a new policy) rewrites the copies with every row of the CSV
    evaluate_policies({**pols, "mrt2": BaselineSpec("random_mrt")}, es, out, workers=1, progress=False)
    assert len(pd.read_parquet(paths["wide"])) == len(pd.read_csv(out)) == 9


def test_split_lists_per_user_and_per_target() -> None:
    df = pd.DataFrame(
        {
            "policy": ["a", "b"],
            "eval_set": ["h", "h"],
            "trial": [0, 0],
            "power_dbm": [1.5, -2.0],
            "rate_est": ["[1.0, 2.0]", "[3.0, 4.0]"],
            "crb_est": ["[0.1, 0.2, 0.3]", "[0.4, 0.5, 0.6]"],
            "certified": [True, None],
            "solver_stop_reason": ["converged", None],
        }
    )
    wide, tables = split_lists(df)
    assert list(wide.columns) == [
        "policy",
        "eval_set",
        "trial",
        "power_dbm",
        "certified",
        "solver_stop_reason",
    ]
    assert set(tables) == {"user", "target"}
    user, target = tables["user"], tables["target"]
    assert list(target.columns) == ["policy", "eval_set", "trial", "metric", "target", "value"]
    assert user["value"].tolist() == [1.0, 2.0, 3.0, 4.0] and set(user["metric"]) == {"rate_est"}
    assert target[target.policy == "b"]["value"].tolist() == [0.4, 0.5, 0.6]
    assert target["target"].tolist() == [0, 1, 2, 0, 1, 2]
    assert str(wide["certified"].dtype) == "boolean" and pd.isna(wide["certified"].iloc[1])


def test_write_parquet_of_a_table_without_lists_removes_stale_long_tables(tmp_path) -> None:
    p = tmp_path / "compare@X.csv"
    pd.DataFrame({"policy": ["a"], "trial": [0], "eval_set": ["h"], "rate": ["[1.0]"]}).to_csv(p, index=False)
    assert set(write_parquet(p)) == {"wide", "user"}
    pd.DataFrame({"policy": ["a", "b"], "mean": [1.0, 2.5], "n": [3, 3]}).to_csv(p, index=False)
    assert set(write_parquet(p)) == {"wide"}
    assert not parquet_paths(p)["user"].exists()
    back = pd.read_parquet(tmp_path / "compare@X.parquet")
    pd.testing.assert_frame_equal(back, pd.read_csv(p), check_dtype=False)
