"""isac-gym environments."""

from .rydberg import RydbergISACEnv

__all__ = ["RydbergISACEnv"]
