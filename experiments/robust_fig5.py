"""Robust ISAC, Fig. 5: transmit power vs AO iteration.

Thin wrapper of ``isac figure robust-fig5``: ``python -m isac_gym.experiments.robust_fig5 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["robust-fig5"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("robust-fig5", "isac_gym.experiments.robust_fig5", sys.argv[1:]))
