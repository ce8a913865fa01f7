"""isac-gym environments."""

from .robust import RobustISACEnv
from .rydberg import RydbergISACEnv
from .vector import RobustISACVectorEnv, RydbergISACVectorEnv

__all__ = ["RobustISACEnv", "RobustISACVectorEnv", "RydbergISACEnv", "RydbergISACVectorEnv"]
