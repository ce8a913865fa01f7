"""Robust ISAC, Fig. 6: feasibility rate vs N (delta^2 = 0.01).

Thin wrapper of ``isac figure robust-fig6``: ``python -m isac_gym.experiments.robust_fig6 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["robust-fig6"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("robust-fig6", "isac_gym.experiments.robust_fig6", sys.argv[1:]))
