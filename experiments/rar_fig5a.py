"""Rydberg ISAC, Fig. 5a: U_com vs M.

Thin wrapper of ``isac figure rar-fig5a``: ``python -m experiments.rar_fig5a [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig5a"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("rar-fig5a", "experiments.rar_fig5a", sys.argv[1:]))
