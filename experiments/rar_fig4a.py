"""Rydberg ISAC, Fig. 4a: U_com vs SNR.

Thin wrapper of ``isac figure rar-fig4a``: ``python -m isac_gym.experiments.rar_fig4a [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["rar-fig4a"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("rar-fig4a", "isac_gym.experiments.rar_fig4a", sys.argv[1:]))
