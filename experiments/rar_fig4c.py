"""Rydberg ISAC, Fig. 4c: U_com vs eps.

Thin wrapper of ``isac figure rar-fig4c``: ``python -m experiments.rar_fig4c [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig4c"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("rar-fig4c", "experiments.rar_fig4c", sys.argv[1:]))
