"""Rydberg ISAC, Fig. 5a: U_com vs M.

Thin wrapper of ``isac figure rar-fig5a``: ``python -m isac_gym.experiments.rar_fig5a [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["rar-fig5a"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("rar-fig5a", "isac_gym.experiments.rar_fig5a", sys.argv[1:]))
