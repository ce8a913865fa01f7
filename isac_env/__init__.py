"""isac-gym: Gymnasium environments for RIS-aided integrated sensing and communication.

``import isac_env`` registers every environment id (see :data:`isac_env.registration.ENV_IDS`).
The physics lives in :mod:`isac_env.physics` (pure NumPy); torch and cvxpy are never imported here.
"""

from .config import EnvConfig, RydbergISACConfig
from .registration import ENV_IDS, register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["ENV_IDS", "EnvConfig", "RydbergISACConfig", "__version__", "register_envs"]
