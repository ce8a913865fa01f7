"""Rydberg ISAC, Fig. 5b: U_com vs RSR (distortion model, spec A1).

Thin wrapper of ``isac figure rar-fig5b``: ``python -m isac_gym.experiments.rar_fig5b [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``isac_gym.experiments.figures.FIGURES["rar-fig5b"]``.
"""

import sys

if __name__ == "__main__":
    from isac_gym.cli import run_figure_script

    sys.exit(run_figure_script("rar-fig5b", "isac_gym.experiments.rar_fig5b", sys.argv[1:]))
