"""Rydberg ISAC, Fig. 4b: U_com vs N.

Thin wrapper of ``isac figure rar-fig4b``: ``python -m experiments.rar_fig4b [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig4b"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("rar-fig4b", "experiments.rar_fig4b", sys.argv[1:]))
