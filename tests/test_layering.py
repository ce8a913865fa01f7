"""Import-direction rules of DESIGN.md."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


_PHYSICS_ALLOWED = {
    "numpy", "scipy", "array_api_compat", "__future__", "dataclasses", "typing", "math", "hashlib", "functools",
    "collections",
}  # fmt: skip


def _imports(nodes: list[ast.AST]) -> list[str]:
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            out.append(node.module or "")
    return out


def test_physics_modules_import_only_numpy_scipy():
    """Physics imports NumPy, SciPy and array-api-compat; torch only lazily, inside a function (the
    backend of a tensor that was passed in), never at module level."""
    for path in (ROOT / "isac_env" / "physics").glob("*.py"):
        tree = ast.parse(path.read_text())
        funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        inner = {id(m) for f in funcs for m in ast.walk(f) if m is not f}
        module_level = [n for n in ast.walk(tree) if id(n) not in inner]
        for n in _imports(module_level):
            assert n.split(".")[0] in _PHYSICS_ALLOWED, f"{path.name} imports {n} at module level"
        for n in _imports([m for m in ast.walk(tree) if id(m) in inner]):
            assert n.split(".")[0] in _PHYSICS_ALLOWED | {"torch"}, f"{path.name} imports {n}"


def test_import_isac_env_does_not_pull_heavy_deps():
    code = (
        "import sys, isac_env, isac_env.physics; "
        "bad = [m for m in ('torch', 'cvxpy', 'stable_baselines3', 'ray') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
