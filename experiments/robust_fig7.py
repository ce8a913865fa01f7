"""Robust ISAC, Fig. 7: feasibility rate vs N (delta^2 = 0.05).

Thin wrapper of ``isac figure robust-fig7``: ``python -m experiments.robust_fig7 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig7"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("robust-fig7", "experiments.robust_fig7", sys.argv[1:]))
