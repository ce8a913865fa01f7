"""Robust ISAC, Fig. 2: transmit power vs N (delta^2 = 0.01).

Thin wrapper of ``isac figure robust-fig2``: ``python -m isac_gym.experiments.robust_fig2 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["robust-fig2"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("robust-fig2", "isac_gym.experiments.robust_fig2", sys.argv[1:]))
