"""Robust ISAC, Fig. 4: run time vs N.

Thin wrapper of ``isac figure robust-fig4``: ``python -m experiments.robust_fig4 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig4"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("robust-fig4", "experiments.robust_fig4", sys.argv[1:]))
