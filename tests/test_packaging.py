"""Packaging: the suite installs under the unique import name ``isac_gym``; a user's own
``agents`` / ``baselines`` / ``experiments`` package does not shadow ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_user_packages_with_generic_names_do_not_shadow_the_suite(tmp_path: Path) -> None:
    for name in ("agents", "baselines", "experiments"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("MINE = True\n")
    code = (
        "import agents, baselines\n"
        "from isac_gym.agents.evaluate import EvalSet\n"
        "from isac_gym.baselines import list_solvers\n"
        "import isac_gym.experiments.figures\n"
        "assert agents.MINE and baselines.MINE\n"
        "assert 'fp_mm_admm' in list_solvers()\n"
        "print('ok')\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_regular_packages() -> None:
    """Every installed folder is a regular package (``__init__.py``), typed (``py.typed``)."""
    for folder in ("isac_env", "isac_gym", "agents", "baselines", "experiments"):
        assert (REPO / folder / "__init__.py").is_file(), folder
    for folder in ("isac_env", "isac_gym", "agents", "baselines"):
        assert (REPO / folder / "py.typed").is_file(), folder


def test_import_names_map_to_the_repo_folders() -> None:
    import isac_gym.agents
    import isac_gym.baselines
    import isac_gym.experiments

    for mod, folder in (
        (isac_gym.agents, "agents"),
        (isac_gym.baselines, "baselines"),
        (isac_gym.experiments, "experiments"),
    ):
        assert Path(mod.__file__).resolve().parent == (REPO / folder).resolve()
