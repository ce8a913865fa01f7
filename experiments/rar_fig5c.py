"""Rydberg ISAC, Fig. 5c: U_com vs K.

Thin wrapper of ``isac figure rar-fig5c``: ``python -m experiments.rar_fig5c [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig5c"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("rar-fig5c", "experiments.rar_fig5c", sys.argv[1:]))
