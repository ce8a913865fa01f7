"""Rydberg ISAC, Fig. 4c: U_com vs eps.

Thin wrapper of ``isac figure rar-fig4c``: ``python -m experiments.rar_fig4c [--trials N] [--quick] [...]``
(every option of ``isac figure``). The definition is ``experiments.figures.FIGURES["rar-fig4c"]``.
"""

import sys

from agents.cli import main

if __name__ == "__main__":
    sys.exit(main(["figure", "rar-fig4c", *sys.argv[1:]]))
