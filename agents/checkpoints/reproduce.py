"""Re-train the shipped checkpoints and measure them: a shortcut for ``isac reproduce``.

Usage (from the repository root)::

    python agents/checkpoints/reproduce.py                      # every checkpoint
    python agents/checkpoints/reproduce.py ppo_RydbergISAC-v0   # one of them
    python agents/checkpoints/reproduce.py --eval-only          # only re-measure the shipped ones

The checkpoints and the measurement are defined in :mod:`isac_gym.agents.reproduce`.
"""

from __future__ import annotations

import sys

from isac_gym.cli import main

if __name__ == "__main__":
    sys.exit(main(["reproduce", *sys.argv[1:]]))
