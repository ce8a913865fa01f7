"""Paper-figure sweeps of isac-gym: figure definitions as data (:mod:`isac_gym.experiments.figures`) and
one thin script per figure (``python -m isac_gym.experiments.rar_fig4a --quick``)."""
