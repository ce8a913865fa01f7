"""Rydberg ISAC, Fig. 3b: convergence of Algorithm 1 (U_com vs outer iteration).

Thin wrapper of ``isac figure rar-fig3b``: ``python -m experiments.rar_fig3b [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig3b"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("rar-fig3b", "experiments.rar_fig3b", sys.argv[1:]))
