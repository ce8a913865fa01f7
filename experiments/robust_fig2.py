"""Robust ISAC, Fig. 2: transmit power vs N (delta^2 = 0.01).

Thin wrapper of ``isac figure robust-fig2``: ``python -m experiments.robust_fig2 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig2"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("robust-fig2", "experiments.robust_fig2", sys.argv[1:]))
