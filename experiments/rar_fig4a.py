"""Rydberg ISAC, Fig. 4a: U_com vs SNR.

Thin wrapper of ``isac figure rar-fig4a``: ``python -m experiments.rar_fig4a [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig4a"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("rar-fig4a", "experiments.rar_fig4a", sys.argv[1:]))
