"""Rydberg ISAC, Fig. 5c: U_com vs K.

Thin wrapper of ``isac figure rar-fig5c``: ``python -m isac_gym.experiments.rar_fig5c [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["rar-fig5c"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("rar-fig5c", "isac_gym.experiments.rar_fig5c", sys.argv[1:]))
