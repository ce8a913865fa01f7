"""The documentation runs: tutorial pages and README code blocks execute, `isac` lines parse, the site builds.

* every ``docs/tutorials/*.md`` page's ```python blocks run top to bottom as one script (in a
  subprocess, cwd a temporary folder);
* every ```python block of ``README.md`` runs as its own script the same way;
* every ``isac ...`` command line of a ```bash block (README, tutorials, index, cli page) parses
  with the real click command (options, types, required options, no stray arguments), without
  running it; the cheap read-only ones (``isac envs``, ``isac figure list``) run for real;
* ``mkdocs build --strict`` passes (skipped without mkdocs / mkdocs-material / mkdocstrings).

A block preceded by the line ``<!-- skip-test -->`` (the nearest non-blank line above its fence) is
a fragment and is not run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
README = REPO / "README.md"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))
BASH_PAGES = [README, *TUTORIALS, DOCS / "index.md", DOCS / "cli.md"]
SKIP_MARK = "<!-- skip-test -->"
#: per script (each tutorial runs in a few seconds on 2 cores)
TIMEOUT_S = 240
#: `isac` commands that are cheap and read-only: they run for real (the others only parse)
RUN_FOR_REAL = {("envs",), ("envs", "--json"), ("figure", "list")}

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file (indented fences, e.g. in list items, dedented)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m or not m.group(2):
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        prev = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        blocks.append(
            Block(path, start + 1, lang, textwrap.dedent("\n".join(body)) + "\n", prev == SKIP_MARK)
        )
        i += 1
    return blocks


def run_script(code: str, cwd: Path, name: str) -> subprocess.CompletedProcess[str]:
    script = cwd / f"{name}.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )


def _assert_ok(proc: subprocess.CompletedProcess[str], where: str) -> None:
    assert proc.returncode == 0, (
        f"{where} failed (exit {proc.returncode})\n--- stdout ---\n{proc.stdout[-3000:]}"
        f"\n--- stderr ---\n{proc.stderr[-5000:]}"
    )


# ------------------------------------------------------------------------------------ tutorials
def test_tutorials_exist() -> None:
    names = [p.name for p in TUTORIALS]
    assert names == [
        "01_make_and_rollout.md",
        "02_train_and_compare.md",
        "03_figure_sweep.md",
        "04_new_solver.md",
    ]


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(page: Path, tmp_path: Path) -> None:
    blocks = [b for b in fenced_blocks(page) if b.lang == "python" and not b.skip]
    assert blocks, f"{page.name} has no python block"
    proc = run_script("\n".join(b.code for b in blocks), tmp_path, page.stem)
    _assert_ok(proc, page.name)
    assert not any(tmp_path.glob("results")) and not any(tmp_path.glob("runs")), "tutorial wrote into cwd"


# -------------------------------------------------------------------------------- README python
README_PY = [b for b in fenced_blocks(README) if b.lang == "python"]
#: python blocks of the other docs pages (not tutorials): each runs as its own script
PAGE_PY = [
    b for page in (DOCS / "index.md", DOCS / "cli.md") for b in fenced_blocks(page) if b.lang == "python"
]


def test_readme_has_python_blocks() -> None:
    assert len(README_PY) >= 2


@pytest.mark.parametrize("block", README_PY, ids=[f"line{b.line}" for b in README_PY])
def test_readme_python_block_runs(block: Block, tmp_path: Path) -> None:
    if block.skip:
        pytest.skip(f"{block.where} is marked {SKIP_MARK}")
    _assert_ok(run_script(block.code, tmp_path, "readme_block"), block.where)


@pytest.mark.parametrize("block", PAGE_PY, ids=[f"{b.path.name}:{b.line}" for b in PAGE_PY])
def test_docs_page_python_block_runs(block: Block, tmp_path: Path) -> None:
    if block.skip:
        pytest.skip(f"{block.where} is marked {SKIP_MARK}")
    _assert_ok(run_script(block.code, tmp_path, "page_block"), block.where)


# --------------------------------------------------------------------------------- bash: isac ...
def isac_commands(block: Block) -> list[list[str]]:
    """The ``isac`` invocations of a bash block, as argv lists without the leading ``isac``.

    Continuation lines are joined, comments dropped, ``&&`` / ``;`` / ``|`` chains split; a leading
    ``nice -n N`` or ``VAR=value`` prefix is skipped.
    """
    text = block.code.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:  # pragma: no cover - a malformed block
            raise AssertionError(f"{block.where}: cannot split {line!r}: {exc}") from exc
        cmd: list[str] = []
        for w in [*words, "&&"]:
            if w in ("&&", ";", "|", "||"):
                while cmd and (re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", cmd[0]) or cmd[0] == "nice"):
                    cmd = cmd[3:] if cmd[0] == "nice" and len(cmd) > 2 and cmd[1] == "-n" else cmd[1:]
                if cmd and cmd[0] == "isac":
                    out.append(cmd[1:])
                cmd = []
            else:
                cmd.append(w)
    return out


BASH_COMMANDS = [
    (b, argv)
    for page in BASH_PAGES
    for b in fenced_blocks(page)
    if b.lang in ("bash", "sh", "console") and not b.skip
    for argv in isac_commands(b)
]


def test_bash_blocks_have_isac_commands() -> None:
    readme = [argv for b, argv in BASH_COMMANDS if b.path == README]
    assert {argv[0] for argv in readme} >= {"envs", "train", "evaluate", "compare", "figure"}


@pytest.mark.parametrize(
    ("block", "argv"),
    BASH_COMMANDS,
    ids=[f"{b.path.name}:{b.line}:{' '.join(a)[:60]}" for b, a in BASH_COMMANDS],
)
def test_isac_command_line_parses(block: Block, argv: list[str]) -> None:
    import click

    from isac_gym.cli import main

    assert argv, f"{block.where}: bare `isac`"
    root = click.Context(main, info_name="isac")
    cmd = main.get_command(root, argv[0])
    assert cmd is not None, f"{block.where}: unknown command `isac {argv[0]}`"
    try:
        ctx = cmd.make_context(argv[0], list(argv[1:]), parent=root)
    except click.exceptions.Exit as exc:  # --help / --version
        assert exc.exit_code == 0
        return
    except click.ClickException as exc:
        pytest.fail(f"{block.where}: `isac {shlex.join(argv)}` does not parse: {exc.format_message()}")
    ctx.close()
    if tuple(argv) in RUN_FOR_REAL:
        from click.testing import CliRunner

        res = CliRunner().invoke(main, list(argv))
        assert res.exit_code == 0, f"{block.where}: `isac {shlex.join(argv)}`: {res.output[-2000:]}"
        assert res.output.strip()


# ------------------------------------------------------------------------------------ the site
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
         "-d", str(tmp_path / "site")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    for page in ("tutorials/01_make_and_rollout", "api/agents_train", "api/physics_rar", "cli"):
        assert (site / page / "index.html").is_file(), page
    # the package-dir subpackages were documented (the griffe extension under an editable install)
    assert "load_policy" in (site / "api" / "agents_train" / "index.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------- LICENSE, CITATION.cff
def test_license_and_citation() -> None:
    yaml = pytest.importorskip("yaml")
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert version and str(cff["version"]) == version.group(1)
    assert {"message", "title", "authors"} <= set(cff)
    refs = cff["references"]
    assert len(refs) == 2 and all({"type", "title", "authors"} <= set(r) for r in refs)
