"""Robust ISAC, Fig. 4: run time vs N.

Thin wrapper of ``isac figure robust-fig4``: ``python -m isac_gym.experiments.robust_fig4 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["robust-fig4"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("robust-fig4", "isac_gym.experiments.robust_fig4", sys.argv[1:]))
