"""Robust ISAC, Fig. 5: transmit power vs AO iteration.

Thin wrapper of ``isac figure robust-fig5``: ``python -m experiments.robust_fig5 [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["robust-fig5"]``.
"""

import sys

from agents.cli import main

if __name__ == "__main__":
    sys.exit(main(["figure", "robust-fig5", *sys.argv[1:]]))
