"""isac-gym: the suite's agents, baselines, experiments and command line under one import name.

The repository keeps its top-level folders (``agents/``, ``baselines/``, ``experiments/``); the
install maps them to ``isac_gym.agents``, ``isac_gym.baselines`` and ``isac_gym.experiments``
(setuptools ``package-dir``), so that a user's own ``agents`` or the older ``baselines`` package
never shadows ours. The environments are :mod:`isac_env` (the Gymnasium namespace of the ids).
"""

__version__ = "0.1.0"
