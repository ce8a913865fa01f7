"""Robust ISAC, Fig. 5: transmit power vs AO iteration.

Thin wrapper of ``isac figure robust-fig5``: ``python -m experiments.robust_fig5 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig5"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("robust-fig5", "experiments.robust_fig5", sys.argv[1:]))
