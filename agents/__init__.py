"""Learned agents of isac-gym (``isac_gym.agents``): SB3 training from rl-zoo3-layout YAML recipes,
safe run-folder loading, the evaluation protocol, the best-known reference and the parallel backends."""
