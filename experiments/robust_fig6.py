"""Robust ISAC, Fig. 6: feasibility rate vs N (delta^2 = 0.01).

Thin wrapper of ``isac figure robust-fig6``: ``python -m experiments.robust_fig6 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig6"]``.
"""

import sys

from agents.cli import main

if __name__ == "__main__":
    sys.exit(main(["figure", "robust-fig6", *sys.argv[1:]]))
