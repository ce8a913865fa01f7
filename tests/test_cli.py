"""The ``isac`` command line: every command in quick mode on tiny scenarios."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from agents.cli import main, parse_sets, parse_value
from tests.conftest import SMALL_RAR

TINY = [f"--set={k}={v}" for k, v in SMALL_RAR.items()]


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
        "import sys; from agents.cli import main\n"
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
        "--workers",
        "1",
        "--out-dir",
        str(tmp_path),
    )
    assert "gap to random_mrt" in text and "±" in text
    summary = pd.read_csv(tmp_path / "compare.csv")
    assert list(summary["policy"]) == ["random_mrt", "random_zf", "random"]
    assert (tmp_path / "compare.png").stat().st_size > 0
    assert summary.loc[0, "gap_mean"] == 0.0


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
        "--workers",
        "1",
        "--out-dir",
        str(tmp_path / "cmp"),
    )
    assert "ppo" in text
    assert list(pd.read_csv(tmp_path / "cmp" / "compare.csv")["policy"]) == ["ppo", "random_mrt"]


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
    from agents.cli import shipped_checkpoints

    if not shipped_checkpoints("isac_env/RydbergISAC-v0"):
        pytest.skip("no shipped RydbergISAC-v0 checkpoint")
    res = CliRunner().invoke(
        main,
        [
            "compare",
            "--quick",
            *TINY,
            "--baselines",
            "random_mrt",
            "--workers",
            "1",
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "skipping shipped agent" in res.output
    assert list(pd.read_csv(tmp_path / "compare.csv")["policy"]) == ["random_mrt"]
