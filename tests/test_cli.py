"""The ``isac`` command line: every command in quick mode on tiny scenarios."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from isac_gym.cli import main, parse_sets, parse_value
from tests.conftest import SMALL_RAR

TINY = [f"--set={k}={v}" for k, v in SMALL_RAR.items()]
#: the tiny scenario with a CRB threshold that some designs meet (best_known has feasible draws)
TINY_FEASIBLE = [*TINY, "--set=crb_threshold=0.3"]


@pytest.fixture(autouse=True)
def _best_known_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's default best_known cache is its own folder (never results/ of the checkout)."""
    d = tmp_path / "best_known_cache"
    monkeypatch.setenv("ISAC_BEST_KNOWN_DIR", str(d))
    return d


def invoke(*args: str) -> str:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_help_lists_every_command() -> None:
    out = invoke("--help")
    for cmd in ("envs", "train", "evaluate", "compare", "figure"):
        assert cmd in out


def test_cli_startup_does_not_import_torch() -> None:
    code = (
        "import sys; from isac_gym.cli import main\n"
        "try:\n    main(['envs', '--json'], standalone_mode=False)\n"
        "finally:\n    bad = [m for m in ('torch', 'stable_baselines3', 'ray', 'cvxpy') if m in sys.modules]\n"
        "    assert not bad, bad"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_envs_lists_ids_with_defaults() -> None:
    from isac_env.registration import ENV_IDS

    doc = json.loads(invoke("envs", "--json"))
    assert list(doc) == list(ENV_IDS)
    assert doc["isac_env/RydbergISAC-v0"]["scenario"]["num_ris"] == 100
    text = invoke("envs")
    assert "isac_env/RydbergISAC-v0" in text and "num_ris=100" in text


def test_parse_values() -> None:
    assert parse_value("8") == 8 and parse_value("0.5") == 0.5 and parse_value("inf") == float("inf")
    assert parse_value("true") is True and parse_value("distortion") == "distortion"
    assert parse_sets(("num_ris=8", "rsr_model=distortion")) == {"num_ris": 8, "rsr_model": "distortion"}


def test_evaluate_quick_saves_set_and_resumes(tmp_path: Path) -> None:
    out, es_file = tmp_path / "rows.csv", tmp_path / "set.json"
    args = ["evaluate", "--quick", *TINY, "-p", "random_mrt", "-p", "rnd=random", "--workers", "1"]
    args += ["--reference", "none"]
    text = invoke(*args, "--out", str(out), "--save-eval-set", str(es_file))
    assert "random_mrt" in text and "rnd" in text and "latency" in text
    df = pd.read_csv(out)
    assert len(df) == 4 and set(df["policy"]) == {"random_mrt", "rnd"}
    # the saved set reproduces the same draws; nothing is recomputed
    before = out.read_bytes()
    invoke(
        "evaluate",
        "--eval-set",
        str(es_file),
        "-p",
        "random_mrt",
        "-p",
        "rnd=random",
        "--workers",
        "1",
        "--reference",
        "none",
        "--out",
        str(out),
    )
    assert out.read_bytes() == before


def test_evaluate_rejects_unknown_policy(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["evaluate", "-p", "nope", "--out", str(tmp_path / "r.csv")])
    assert res.exit_code != 0 and "neither" in res.output


def test_compare_quick_baselines(tmp_path: Path) -> None:
    text = invoke(
        "compare",
        "--quick",
        "--no-agents",
        *TINY,
        "--baselines",
        "random_mrt,random_zf,random",
        "--reference",
        "random_mrt",
        "--no-best-known",
        "--workers",
        "1",
        "--out-dir",
        str(tmp_path),
    )
    assert "gap to random_mrt" in text and "±" in text
    summary = pd.read_csv(tmp_path / "compare@RydbergISAC-v0.csv")
    assert list(summary["policy"]) == ["random_mrt", "random_zf", "random"]
    assert (tmp_path / "compare@RydbergISAC-v0.png").stat().st_size > 0
    assert summary.loc[0, "gap_mean"] == 0.0
    assert (summary["n_solved"] == summary["n"]).all() and (summary["solved_rate"] == 1.0).all()
    head = next(ln for ln in text.splitlines() if ln.startswith("policy "))
    assert "feasible" in head and "solved" not in head  # the table shows it only below 100%


def test_compare_names_its_files_per_env_and_writes_parquet(tmp_path: Path) -> None:
    common = [
        "compare",
        "--quick",
        "--no-agents",
        "--no-best-known",
        "--workers",
        "1",
        "--out-dir",
        str(tmp_path),
    ]
    text = invoke(*common, *TINY, "--baselines", "random_mrt,random")
    invoke(*common, "--env", "isac_env/RobustISAC-v0", "--baselines", "robust_gain_mrt,robust_random")
    # one table and plot per env: the second run did not overwrite the first
    ryd, rob = tmp_path / "compare@RydbergISAC-v0", tmp_path / "compare@RobustISAC-v0"
    for stem in (ryd, rob):
        assert stem.with_suffix(".png").stat().st_size > 0
        csv = pd.read_csv(stem.with_suffix(".csv"))
        pq = pd.read_parquet(stem.with_suffix(".parquet"))
        pd.testing.assert_frame_equal(pq, csv, check_dtype=False)
    assert list(pd.read_csv(ryd.with_suffix(".csv"))["policy"]) == ["random_mrt", "random"]
    assert list(pd.read_csv(rob.with_suffix(".csv"))["policy"]) == ["robust_gain_mrt", "robust_random"]
    assert f"table: {ryd}.csv" in text and f"plot: {ryd}.png" in text
    # the rows: wide Parquet plus the per-user (Rydberg) / per-target (robust) long tables
    rows = next(tmp_path.glob("RydbergISAC-v0_*.rows.csv"))
    assert rows.with_name(rows.name.replace(".csv", ".parquet")).exists()
    assert rows.with_name(rows.name.replace(".csv", "_per_user.parquet")).exists()
    rrows = next(tmp_path.glob("RobustISAC-v0_*.rows.csv"))
    assert rrows.with_name(rrows.name.replace(".csv", "_per_target.parquet")).exists()


def test_table_is_plain_rich_text_with_stable_columns() -> None:
    from isac_gym.cli import _table

    summary = pd.DataFrame(
        {
            "policy": ["[bold]odd", "p"],
            "n": [5, 5],
            "mean": [1.0, 2.0],
            "ci95": [0.1, float("nan")],
            "feasible_rate": [1.0, 0.5],
            "latency_ms": [1.0, 2.0],
            "gap_mean": [0.0, 1.0],
            "gap_ci95": [0.0, 0.2],
        }
    )
    text = _table(summary, "sum_rate", "p")
    lines = text.splitlines()
    assert "\x1b" not in text and len(lines) == 4
    assert lines[0].startswith("policy ") and set(lines[1]) <= {"─", " "}
    assert lines[2].split()[:3] == ["[bold]odd", "5", "1.000"]  # no markup interpretation
    assert lines[3].split()[:3] == ["p", "5", "2.000"]
    # columns line up: every cell of a column starts where its header does
    start = lines[0].index("feasible")
    assert lines[2][start:].startswith("100%") and lines[3][start:].startswith("50%")
    assert "\x1b[" in _table(summary, "sum_rate", "p", color=True)


def test_compare_defaults_to_best_known_with_headroom(tmp_path: Path, _best_known_cache: Path) -> None:
    args = ["compare", "--quick", "--no-agents", *TINY_FEASIBLE, "--baselines", "best_user_mrt,gd"]
    args += ["--best-known-restarts", "0", "--workers", "1", "--out-dir", str(tmp_path / "cmp")]
    text = invoke(*args)
    assert "gap to best_known" in text and "top-user share" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("headroom: "))
    assert "best_user_mrt" in line
    summary = pd.read_csv(tmp_path / "cmp" / "compare@RydbergISAC-v0.csv")
    assert list(summary["policy"]) == ["best_user_mrt", "gd", "best_known"]
    bk = summary.set_index("policy").loc["best_known"]
    assert bk["gap_mean"] == 0.0 and bk["feasible_rate"] == 1.0
    assert (summary["best_heuristic"] == "best_user_mrt").all()
    h = summary["headroom_pct"].iloc[0]
    assert h == pytest.approx(100 * (bk["mean"] - summary["mean"].iloc[0]) / bk["mean"])
    # the cache went to $ISAC_BEST_KNOWN_DIR; a second run reuses it (no rebuild: same bytes)
    cached = sorted(_best_known_cache.glob("*.csv"))
    assert len(cached) == 1
    before = cached[0].read_bytes()
    invoke(*args)
    assert cached[0].read_bytes() == before
    # another reference keeps the best_known row and reports the gap to it next to it
    text = invoke(*args[:-2], "--reference", "gd", "--out-dir", str(tmp_path / "cmp2"))
    assert "gap to gd" in text and "gap to best_known" in text


def test_table_shows_solved_draws_below_100_percent() -> None:
    from isac_gym.cli import _table

    summary = pd.DataFrame(
        {
            "policy": ["robust_scheme2", "robust_random"],
            "n": [50, 50],
            "n_solved": [49, 50],
            "solved_rate": [0.98, 1.0],
            "mean": [-9.768, 1.5],
            "ci95": [0.5, 0.6],
            "feasible_rate": [0.98, 0.4],
            "latency_ms": [250.0, 100.0],
            "gap_mean": [0.0, 10.0],
            "gap_ci95": [0.0, 1.0],
        }
    )
    head, _, first, second = _table(summary, "power_dbm", "robust_scheme2").splitlines()
    assert "solved" in head.split() and "solved draws" in head
    assert first.split()[:4] == ["robust_scheme2", "50", "49/50", "-9.768"]
    assert second.split()[2] == "50/50"


def test_figure_list_and_quick(tmp_path: Path) -> None:
    text = invoke("figure", "list")
    for name in ("rar-fig3b", "rar-fig4a", "rar-fig5b", "robust-fig2", "robust-fig5", "robust-fig7"):
        assert name in text
    out = invoke(
        "figure",
        "rar-fig4a",
        "--quick",
        "--trials",
        "1",
        *TINY,
        "--schemes",
        "Comm-only,GD",
        "--workers",
        "1",
        "--out-dir",
        str(tmp_path),
    )
    assert "rar-fig4a" in out
    tab = pd.read_csv(tmp_path / "rar-fig4a.csv")
    assert set(tab["scheme"]) == {"Comm-only", "GD"} and sorted(tab["snr_db"].unique()) == [15, 25]
    assert (tmp_path / "rar-fig4a.png").stat().st_size > 0


def test_figure_on_another_env_id_writes_id_suffixed_files(tmp_path: Path) -> None:
    tiny = [a for a in TINY if not a.startswith("--set=num_users=")]  # the swept field
    args = ["figure", "rar-fig5c", "--quick", "--trials", "1", *tiny, "--schemes", "Comm-only"]
    out = invoke(
        *args, "--env", "isac_env/RydbergISAC-Sparse-v0", "--workers", "1", "--out-dir", str(tmp_path)
    )
    assert "rar-fig5c@RydbergISAC-Sparse-v0" in out
    for f in ("rar-fig5c@RydbergISAC-Sparse-v0.csv", "rar-fig5c@RydbergISAC-Sparse-v0.png"):
        assert (tmp_path / f).stat().st_size > 0
    assert not (tmp_path / "rar-fig5c.csv").exists()
    rows = pd.read_csv(tmp_path / "rar-fig5c@RydbergISAC-Sparse-v0.rows.csv")
    assert set(rows["env_id"]) == {"isac_env/RydbergISAC-Sparse-v0"}
    assert sorted(rows["num_users"].unique()) == [3, 5]
    res = CliRunner().invoke(main, [*args, "--env", "isac_env/RobustISAC-v0", "--out-dir", str(tmp_path)])
    assert res.exit_code != 0 and "another task" in res.output


def test_figure_best_known_adds_its_curve_and_gaps(tmp_path: Path) -> None:
    args = ["figure", "rar-fig4a", "--quick", "--trials", "1", *TINY_FEASIBLE, "--schemes", "GD"]
    invoke(*args, "--best-known", "--best-known-restarts", "0", "--workers", "1", "--out-dir", str(tmp_path))
    tab = pd.read_csv(tmp_path / "rar-fig4a.csv").set_index(["scheme", "snr_db"])
    assert set(tab.index.get_level_values(0)) == {"GD", "best_known"}
    assert (tab.loc["best_known", "gap_to_best_known_mean"].dropna() == 0).all()
    gd = tab.loc["GD"]
    feasible = gd["env_feasible_rate"] == 1  # best_known takes the env's verdict, not the solver's
    assert (gd.loc[feasible, "gap_to_best_known_mean"] >= -1e-12).all()


def test_figure_rejects_override_of_swept_field(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main, ["figure", "rar-fig4b", "--quick", "--set", "num_ris=8", "--out-dir", str(tmp_path)]
    )
    assert res.exit_code != 0 and "sweeps" in res.output


def test_train_then_compare_with_the_agent(tmp_path: Path) -> None:
    run = (
        invoke(
            "train",
            "isac_env/RydbergISAC-v0",
            "--algo",
            "ppo",
            "--timesteps",
            "64",
            *TINY,
            "--set",
            "obs_mode=effective",
            "--hp",
            "n_steps=32",
            "--hp",
            "batch_size=32",
            "--hp",
            "n_epochs=1",
            "--run-dir",
            str(tmp_path / "runs"),
            "--no-progress",
            "--vec-env",
            "native",
        )
        .strip()
        .splitlines()[-1]
    )
    assert (Path(run) / "model.zip").exists()
    assert "vec_env: native" in (Path(run) / "config.yaml").read_text()
    text = invoke(
        "compare",
        "--quick",
        "--agent",
        f"ppo={run}",
        *TINY,
        "--baselines",
        "random_mrt",
        "--reference",
        "random_mrt",
        "--no-best-known",
        "--workers",
        "1",
        "--out-dir",
        str(tmp_path / "cmp"),
    )
    assert "ppo" in text
    assert list(pd.read_csv(tmp_path / "cmp" / "compare@RydbergISAC-v0.csv")["policy"]) == [
        "ppo",
        "random_mrt",
    ]


@pytest.mark.slow
def test_evaluate_on_ray_matches_local(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    args = ["evaluate", "--quick", *TINY, "-p", "random_mrt", "-p", "random", "--workers", "2"]
    invoke(*args, "--out", str(tmp_path / "local.csv"))
    invoke(*args, "--backend", "ray", "--out", str(tmp_path / "ray.csv"))
    a, b = (
        pd.read_csv(tmp_path / f)
        .drop(columns="latency_s")
        .sort_values(["policy", "trial"])
        .reset_index(drop=True)
        for f in ("local.csv", "ray.csv")
    )
    pd.testing.assert_frame_equal(a, b)


def test_compare_skips_shipped_agents_of_another_scenario(tmp_path: Path) -> None:
    from isac_gym.cli import shipped_checkpoints

    assert {p.name for p in shipped_checkpoints("isac_env/RydbergISAC-v0")} == {
        "ppo_RydbergISAC-v0",
        "sac_RydbergISAC-v0",
    }
    res = CliRunner().invoke(
        main,
        [
            "compare",
            "--quick",
            *TINY,
            "--baselines",
            "random_mrt",
            "--no-best-known",
            "--workers",
            "1",
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "skipping shipped agent" in res.output
    assert list(pd.read_csv(tmp_path / "compare@RydbergISAC-v0.csv")["policy"]) == ["random_mrt"]


# --------------------------------------------------------------------- robustness: bad inputs
EVAL_QUICK = ["evaluate", "--quick", *TINY, "--workers", "1", "--reference", "none"]


def invoke_error(*args: str) -> str:
    """Run a command that must fail on its input: exit code 2, one ``isac: error:`` line, no traceback."""
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 2, (res.output, res.exception)
    assert "Traceback" not in res.output
    # stderr may hold a progress bar (redrawn with \r) before the error
    lines = [ln for ln in re.split(r"[\r\n]", res.stderr) if ln.strip()]
    assert lines and lines[-1].startswith("isac: error: "), res.stderr
    assert not [ln for ln in lines[:-1] if "error" in ln.lower()], res.stderr
    return lines[-1]


def _tiny_rows(out: Path) -> None:
    """Two policies x two draws (four rows) in ``out``."""
    invoke(*EVAL_QUICK, "-p", "random_mrt", "-p", "random", "--out", str(out))


def test_a_locked_results_file_refuses_a_second_run(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "rows.csv"
    with open(tmp_path / "rows.csv.lock", "w") as held:  # another run holds the lock
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        err = invoke_error(*EVAL_QUICK, "-p", "random", "--out", str(out))
        assert "being written by another run" in err and str(out) in err
        assert not out.exists()
    invoke(*EVAL_QUICK, "-p", "random", "--out", str(out))  # released: runs
    assert len(pd.read_csv(out)) == 2


def test_duplicate_rows_are_reported_and_counted_once(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    invoke(*EVAL_QUICK, "-p", "random", "--out", str(out))
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join([*lines, lines[1]]))  # e.g. two runs interleaved before the lock existed
    res = CliRunner().invoke(main, [*EVAL_QUICK, "-p", "random", "--out", str(out)])
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("isac: warning:")]
    assert len(warn) == 1 and "1 duplicate row" in warn[0] and str(out) in warn[0]
    row = next(ln for ln in res.stdout.splitlines() if ln.startswith("random "))
    assert row.split()[1] == "2"  # n: the duplicate is not counted


def _bank(tmp_path: Path) -> Path:
    from isac_env.bank import ChannelBank
    from isac_env.config import RydbergISACConfig

    return Path(ChannelBank.generate(RydbergISACConfig(**SMALL_RAR), 3, 0).save(tmp_path / "bank.npz"))


def test_evaluate_with_a_channel_bank_file(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    invoke(*EVAL_QUICK, f"--set=channel_bank={bank}", "-p", "random", "--out", str(tmp_path / "r.csv"))
    assert len(pd.read_csv(tmp_path / "r.csv")) == 2


def _agent_folder(tmp_path: Path, config: str) -> Path:
    run = tmp_path / "agent"
    run.mkdir()
    (run / "config.yaml").write_text(config)
    return run


def _malformed(tmp_path: Path, case: str) -> tuple[list[str], str]:
    """``(isac arguments, text the error must contain)`` for one kind of malformed input."""
    from isac_gym.agents.evaluate import EvalSet

    out = tmp_path / "rows.csv"
    if case == "csv without a policy column":
        out.write_text("name,value\na,1\n")
        return [*EVAL_QUICK, "-p", "random", "--out", str(out)], "'policy'"
    if case == "torn row mid-file":
        _tiny_rows(out)
        lines = out.read_text().splitlines(keepends=True)
        lines[2] = lines[2][: len(lines[2]) // 3] + "\n"
        out.write_text("".join(lines))
        return [*EVAL_QUICK, "-p", "random", "--out", str(out)], "line 3"
    es = EvalSet("isac_env/RydbergISAC-v0", SMALL_RAR, 0, 2)
    if case == "eval set without hash":
        f = es.save(tmp_path / "set.json")
        doc = json.loads(f.read_text())
        del doc["hash"]
        f.write_text(json.dumps(doc))
        return ["evaluate", "--eval-set", str(f), "-p", "random", "--out", str(out)], "'hash'"
    if case == "truncated eval set npz":
        f = es.save(tmp_path / "set.npz")
        f.write_bytes(f.read_bytes()[:300])
        return ["evaluate", "--eval-set", str(f), "-p", "random", "--out", str(out)], "set.npz"
    if case == "truncated channel bank npz":
        bank = _bank(tmp_path)
        bank.write_bytes(bank.read_bytes()[:-200])
        return [*EVAL_QUICK, f"--set=channel_bank={bank}", "-p", "random", "--out", str(out)], "bank.npz"
    if case == "invalid config.yaml":
        run = _agent_folder(tmp_path, "env_id: [unclosed\n  algo: : ppo\n")
        (run / "policy.pth").write_bytes(b"")
        (run / "model.zip").write_bytes(b"")
        return [*EVAL_QUICK, "-p", f"ag={run}", "--out", str(out)], "config.yaml"
    if case == "config.yaml not a mapping":
        run = _agent_folder(tmp_path, "- just\n- a list\n")
        (run / "policy.pth").write_bytes(b"")
        (run / "model.zip").write_bytes(b"")
        return [*EVAL_QUICK, "-p", f"ag={run}", "--out", str(out)], "config.yaml"
    raise AssertionError(case)


MALFORMED = [
    "csv without a policy column",
    "torn row mid-file",
    "eval set without hash",
    "truncated eval set npz",
    "truncated channel bank npz",
    "invalid config.yaml",
    "config.yaml not a mapping",
]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_input_is_a_one_line_error(tmp_path: Path, case: str) -> None:
    args, must = _malformed(tmp_path, case)
    err = invoke_error(*args)
    assert must in err, err


def test_malformed_input_exit_code_in_a_real_process(tmp_path: Path) -> None:
    args, must = _malformed(tmp_path, "torn row mid-file")
    before = (tmp_path / "rows.csv").read_bytes()
    res = subprocess.run(
        [sys.executable, "-m", "isac_gym.cli", *args], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("isac: error: results file ") and must in lines[0]
    assert (tmp_path / "rows.csv").read_bytes() == before  # the file is left for the user to repair


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained PPO run folder (64 steps), shared by the checkpoint tests."""
    runs = tmp_path_factory.mktemp("runs")
    args = ["train", "isac_env/RydbergISAC-v0", "--algo", "ppo", "--timesteps", "64", *TINY]
    args += ["--hp", "n_steps=32", "--hp", "batch_size=32", "--hp", "n_epochs=1", "--no-progress"]
    return Path(invoke(*args, "--run-dir", str(runs)).strip().splitlines()[-1])


def test_corrupt_policy_weights_are_a_one_line_error(tmp_path: Path, trained_run: Path) -> None:
    import shutil

    run = Path(shutil.copytree(trained_run, tmp_path / "run"))
    weights = [f for f in ("policy.pth", "model.zip") if (run / f).exists()]
    assert weights
    for f in weights:  # truncated, as by an interrupted copy
        data = (run / f).read_bytes()
        (run / f).write_bytes(data[: len(data) // 2])
    err = invoke_error(*EVAL_QUICK, "-p", f"ag={run}", "--out", str(tmp_path / "r.csv"))
    assert str(run) in err, err


def test_sigkilled_run_leaves_no_stale_lock_and_resumes(tmp_path: Path) -> None:
    """SIGKILL mid-run: the kernel drops the lock; the resumed run completes every row once."""
    import signal
    import time

    out = tmp_path / "rows.csv"
    args = [sys.executable, "-m", "isac_gym.cli", *EVAL_QUICK, "--draws", "8", "-p", "fp_mm_admm"]
    args = [a for a in args if a != "--quick"] + ["--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 3:  # header + 2 rows
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (tmp_path / "rows.csv.lock").exists()
    before = len(pd.read_csv(out))
    assert 2 <= before < 8
    res = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out)
    assert len(df) == 8 and not df.duplicated(["policy", "eval_set", "trial"]).any()


def test_envs_shows_the_effective_phase_mode_and_horizon() -> None:
    doc = json.loads(invoke("envs", "--json"))
    assert doc["isac_env/RydbergISAC-v0"]["phases"].startswith("continuous (phase_bits=0")
    assert doc["isac_env/RydbergISAC-Discrete-v0"]["phases"].startswith("discrete 2-bit")
    assert "quantize" in doc["isac_env/RobustISAC-Continuous-v0"]["phases"]
    assert "quantize" in doc["isac_env/RydbergISAC-Quantized-v0"]["phases"]
    assert all(d["horizon"] == 50 and d["max_episode_steps"] is None for d in doc.values())
    text = invoke("envs")
    block = text.split("isac_env/RydbergISAC-Discrete-v0")[0]  # the RydbergISAC-v0 entry
    assert "phases: continuous" in block and "episode: 50 steps" in block
    assert "phase_action=" not in block  # ignored with continuous phases: not shown as a default
    assert "phase_action=discrete" in text.split("isac_env/RydbergISAC-Discrete-v0")[1]


def test_figure_refuses_the_paper_trials_without_an_explicit_count(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["figure", "rar-fig4a", "--workers", "2", "--out-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert "estimated" in res.output and "1000 trials per point" in res.output
    err = [ln for ln in res.output.splitlines() if ln.startswith("isac: error:")]
    assert len(err) == 1 and "--trials N" in err[0] and "--yes" in err[0]
    assert not any(tmp_path.iterdir())  # refused before computing anything


def test_figure_prints_the_estimate_and_runs_with_trials_or_yes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import isac_gym.experiments.figures as F

    calls: list[int | None] = []

    def fake_make_figure(name: str, out_dir: str, *, trials: int | None, **kw: object) -> tuple:
        calls.append(trials)
        return tmp_path / "t.csv", tmp_path / "t.png", pd.DataFrame()

    monkeypatch.setattr(F, "make_figure", fake_make_figure)
    out = invoke("figure", "robust-fig2", "--trials", "3", "--workers", "4", "--out-dir", str(tmp_path))
    est = F.estimate_cpu_seconds("robust-fig2", trials=3) / 4
    assert re.search(r"3 trials per point, estimated \d+ (s|min) on 4 worker\(s\)", out)
    assert est > 0 and calls == [3]
    invoke("figure", "rar-fig4a", "--yes", "--out-dir", str(tmp_path))  # default trials, confirmed
    invoke("figure", "rar-fig4a", "--quick", "--out-dir", str(tmp_path))  # quick stays unasked
    assert calls == [3, None, None]


def test_figure_estimate_scales_with_points_schemes_trials_and_n() -> None:
    from isac_gym.experiments.figures import FIGURES, estimate_cpu_seconds

    full = estimate_cpu_seconds("rar-fig4a", trials=10)
    assert full == pytest.approx(len(FIGURES["rar-fig4a"].values) * 10 * 2.5)  # 4 schemes: 2.5 s
    assert estimate_cpu_seconds("rar-fig4a", trials=20) == pytest.approx(2 * full)
    assert estimate_cpu_seconds("rar-fig4a", trials=10, schemes=["GD"]) == pytest.approx(full / 4)
    assert estimate_cpu_seconds("rar-fig4a", trials=10, quick=True) == pytest.approx(2 * 10 * 2.5)
    # robust: 3.5 CPU-s per draw for the 3 schemes at N = 8, linear in N
    assert estimate_cpu_seconds("robust-fig2", trials=1, quick=True) == pytest.approx(3.5 * (8 + 32) / 8)
    with pytest.raises(ValueError, match="unknown figure"):
        estimate_cpu_seconds("nope", trials=1)


def test_trend_check_and_reproduce_reject_bad_input() -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["trend-check", "robust", "--n-values", "8,x"])
    assert res.exit_code == 2 and "comma-separated integers" in res.output
    res = runner.invoke(main, ["trend-check", "robust", "--trials", "1", "--schemes", "scheme9"])
    assert res.exit_code != 0 and "scheme9" in res.output
    res = runner.invoke(main, ["reproduce", "ppo_NoSuchEnv-v0", "--eval-only"])
    assert res.exit_code == 2 and "ppo_RydbergISAC-v0" in res.output


def test_trend_check_robust_writes_rows(tmp_path: Path) -> None:
    out = tmp_path / "trend.csv"
    res = CliRunner().invoke(
        main,
        ["trend-check", "robust", "--trials", "2", "--n-values", "4", "--schemes", "scheme2",
         "--workers", "1", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    import pandas as pd

    rows = pd.read_csv(out)
    assert list(rows["trial"]) == [0, 1] and set(rows["scheme"]) == {"scheme2"}
    assert (rows["N"] == 4).all() and out.with_suffix(".parquet").is_file()
    # the paired line appears exactly when some draw is feasible
    assert ("paired over" in res.output) == bool(rows["feasible"].any())
