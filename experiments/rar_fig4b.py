"""Rydberg ISAC, Fig. 4b: U_com vs N.

Thin wrapper of ``isac figure rar-fig4b``: ``python -m isac_gym.experiments.rar_fig4b [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["rar-fig4b"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("rar-fig4b", "isac_gym.experiments.rar_fig4b", sys.argv[1:]))
