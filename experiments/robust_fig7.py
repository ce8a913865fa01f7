"""Robust ISAC, Fig. 7: feasibility rate vs N (delta^2 = 0.05).

Thin wrapper of ``isac figure robust-fig7``: ``python -m isac_gym.experiments.robust_fig7 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["robust-fig7"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("robust-fig7", "isac_gym.experiments.robust_fig7", sys.argv[1:]))
