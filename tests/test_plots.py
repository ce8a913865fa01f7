"""What the PNGs say: units, draws per point, which way is better, infeasible points drawn hollow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from isac_gym.cli import _compare_plot  # noqa: E402
from isac_gym.experiments import figures as F  # noqa: E402


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The matplotlib figures saved during a test (before they are closed)."""
    figs: list[Figure] = []
    original = Figure.savefig

    def spy(self: Figure, *args, **kwargs):
        figs.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    return figs


def _texts(fig: Figure) -> str:
    parts = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        parts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.texts]
        parts += [t.get_text() for t in ax.get_yticklabels()]
        leg = ax.get_legend()
        if leg is not None:
            parts += [t.get_text() for t in leg.get_texts()]
    for leg in fig.legends:
        parts += [t.get_text() for t in leg.get_texts()]
    return "\n".join(parts)


def _hollow_markers(fig: Figure) -> int:
    n = 0
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_marker() not in (None, "None", "", " ") and line.get_markerfacecolor() in (
                "white",
                "w",
            ):
                n += len(line.get_xdata())
    return n


def _summary(policies, means, feasible) -> pd.DataFrame:
    n = len(policies)
    return pd.DataFrame(
        {
            "policy": policies,
            "n": [20] * n,
            "n_solved": [20] * n,
            "solved_rate": [1.0] * n,
            "mean": means,
            "ci95": [0.5] * n,
            "feasible_rate": feasible,
            "latency_ms": [1.0, 10.0, 100.0][:n],
        }
    )


def test_compare_plot_rydberg(tmp_path: Path, saved: list[Figure]) -> None:
    s = _summary(["gd", "comm_only", "best_known"], [9.0, 10.5, 10.0], [0.6, 0.0, 1.0])
    _compare_plot(s, "sum_rate", tmp_path / "c.png", "isac_env/RydbergISAC-v0")
    assert (tmp_path / "c.png").stat().st_size > 0
    text = _texts(saved[-1])
    assert "bit/s/Hz" in text and "higher is better" in text and "20 draws per policy" in text
    assert "60% feasible" in text and "0% feasible" in text and "100% feasible" in text
    assert _hollow_markers(saved[-1]) >= 2  # gd (partly) and comm_only (never feasible)
    # the feasibility notes sit in tick labels (outside the data area, never clipped by xlim)
    a1 = saved[-1].axes[0]
    lo, hi = a1.get_xlim()
    assert lo < 9.0 - 0.5 and hi > 10.5 + 0.5 and hi - lo < 5


def test_compare_plot_robust_says_lower_is_better(tmp_path: Path, saved: list[Figure]) -> None:
    s = _summary(["robust_scheme2", "robust_random"], [-9.0, 3.0], [1.0, 0.4])
    _compare_plot(s, "power_dbm", tmp_path / "r.png", "isac_env/RobustISAC-v0")
    text = _texts(saved[-1])
    assert "dBm" in text and "lower is better" in text
    lo, hi = saved[-1].axes[0].get_xlim()
    assert lo < -9.5 and hi < 10  # spans the CIs, no axis from 0 dBm
    assert _hollow_markers(saved[-1]) == 1


def _sweep_table(fig: F.Figure, feasible: list[float]) -> pd.DataFrame:
    xs = list(fig.quick_values)
    rows = []
    for sch, feas in zip([s.label for s in fig.schemes[:2]], (feasible, [1.0] * len(xs)), strict=True):
        for x, f in zip(xs, feas, strict=True):
            rows.append(
                {"scheme": sch, fig.x: x, "n": 50, "mean": 1.0 + x / 10, "ci95": 0.2, "feasible_rate": f}
            )
    return pd.DataFrame(rows)


def test_figure_png_states_n_and_marks_infeasible_points(tmp_path: Path, saved: list[Figure]) -> None:
    fig = F.FIGURES["rar-fig4a"]
    F.plot(fig, _sweep_table(fig, [0.5, 1.0]), tmp_path / "f.png")
    text = _texts(saved[-1])
    assert "n = 50 draws per point" in text and "bit/s/Hz" in text and "higher is better" in text
    assert "50%" in text and "hollow" in text
    assert _hollow_markers(saved[-1]) == 1  # the one point below 100% (legend proxies are no lines)


def test_robust_power_figure_says_lower_is_better(tmp_path: Path, saved: list[Figure]) -> None:
    fig = F.FIGURES["robust-fig2"]
    F.plot(fig, _sweep_table(fig, [1.0, 1.0]), tmp_path / "p.png")
    text = _texts(saved[-1])
    assert "dBm" in text and "lower is better" in text and "n = 50 draws per point" in text
    assert _hollow_markers(saved[-1]) == 0 and "hollow" not in text


def test_feasibility_figures_do_not_mark_their_own_y(tmp_path: Path, saved: list[Figure]) -> None:
    fig = F.FIGURES["robust-fig6"]
    F.plot(fig, _sweep_table(fig, [0.2, 0.8]), tmp_path / "q.png")
    assert _hollow_markers(saved[-1]) == 0


def test_trace_figure_states_draws_per_curve(tmp_path: Path, saved: list[Figure]) -> None:
    fig = F.FIGURES["rar-fig3b"]
    tab = pd.DataFrame(
        [
            {"variant": v, "scheme": "Proposed", "iteration": i, "n": 7, "mean": 1.0 + i, "ci95": 0.1}
            for v, _ in fig.variants
            for i in range(3)
        ]
    )
    F.plot(fig, tab, tmp_path / "t.png")
    assert "n = 7 draws per curve" in _texts(saved[-1])
