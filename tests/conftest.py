"""Shared fixtures: small, fast scenarios for property tests."""

from __future__ import annotations

import numpy as np
import pytest

from isac_env.config import RydbergISACConfig

SMALL_RAR = {
    "num_users": 2,
    "num_cells": 4,
    "num_ris": 8,
    "num_bs_antennas": 4,
    "num_clusters": 3,
    "num_rays": 4,
}


@pytest.fixture
def small_rar_config() -> RydbergISACConfig:
    return RydbergISACConfig(**SMALL_RAR)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def random_design(
    rng: np.random.Generator, Nt: int, K: int, N: int, p_max: float, batch: tuple[int, ...] = ()
):
    """A random full-power precoder and random unit-modulus phases."""
    W = rng.standard_normal((*batch, Nt, K)) + 1j * rng.standard_normal((*batch, Nt, K))
    W *= np.sqrt(p_max) / np.linalg.norm(W, axis=(-2, -1), keepdims=True)
    phi = np.exp(2j * np.pi * rng.random((*batch, N)))
    return W, phi
