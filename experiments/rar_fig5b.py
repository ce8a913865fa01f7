"""Rydberg ISAC, Fig. 5b: U_com vs RSR (distortion model, spec A1).

Thin wrapper of ``isac figure rar-fig5b``: ``python -m experiments.rar_fig5b [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig5b"]``.
"""

import sys

from agents.cli import run_figure_script

if __name__ == "__main__":
    sys.exit(run_figure_script("rar-fig5b", "experiments.rar_fig5b", sys.argv[1:]))
