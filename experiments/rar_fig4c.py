"""Rydberg ISAC, Fig. 4c: U_com vs eps.

Thin wrapper of ``isac figure rar-fig4c``: ``python -m isac_gym.experiments.rar_fig4c [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["rar-fig4c"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("rar-fig4c", "isac_gym.experiments.rar_fig4c", sys.argv[1:]))
