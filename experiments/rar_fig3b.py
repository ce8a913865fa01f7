"""Rydberg ISAC, Fig. 3b: convergence of Algorithm 1 (U_com vs outer iteration).

Thin wrapper of ``isac figure rar-fig3b``: ``python -m isac_gym.experiments.rar_fig3b [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["rar-fig3b"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("rar-fig3b", "isac_gym.experiments.rar_fig3b", sys.argv[1:]))
