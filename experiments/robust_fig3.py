"""Robust ISAC, Fig. 3: transmit power vs N (delta^2 = 0.05).

Thin wrapper of ``isac figure robust-fig3``: ``python -m experiments.robust_fig3 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig3"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("robust-fig3", "experiments.robust_fig3", sys.argv[1:]))
