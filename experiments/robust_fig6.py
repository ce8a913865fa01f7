"""Robust ISAC, Fig. 6: feasibility rate vs N (delta^2 = 0.01).

Thin wrapper of ``isac figure robust-fig6``: ``python -m experiments.robust_fig6 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig6"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("robust-fig6", "experiments.robust_fig6", sys.argv[1:]))
