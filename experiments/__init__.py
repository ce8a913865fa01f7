"""Paper-figure sweeps of isac-gym: figure definitions as data (:mod:`experiments.figures`) and
one thin script per figure (``python -m experiments.rar_fig4a --quick``)."""
