"""Import-direction rules of DESIGN.md."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_physics_modules_import_only_numpy_scipy():
    for path in (ROOT / "isac_env" / "physics").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for n in names:
                top = n.split(".")[0]
                assert top in {
                    "numpy",
                    "scipy",
                    "__future__",
                    "dataclasses",
                    "typing",
                    "math",
                    "hashlib",
                    "functools",
                }, f"{path.name} imports {n}"


def test_import_isac_env_does_not_pull_heavy_deps():
    code = (
        "import sys, isac_env, isac_env.physics; "
        "bad = [m for m in ('torch', 'cvxpy', 'stable_baselines3', 'ray') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
