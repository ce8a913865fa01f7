"""isac-gym environments."""

from .rydberg import RydbergISACEnv
from .vector import RydbergISACVectorEnv

__all__ = ["RydbergISACEnv", "RydbergISACVectorEnv"]
