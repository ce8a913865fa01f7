"""Robust ISAC, Fig. 3: transmit power vs N (delta^2 = 0.05).

Thin wrapper of ``isac figure robust-fig3``: ``python -m isac_gym.experiments.robust_fig3 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["robust-fig3"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("robust-fig3", "isac_gym.experiments.robust_fig3", sys.argv[1:]))
