"""Strict config validation (issue 15, deliverable 4): types, finite ranges, -0.0, field names."""

from __future__ import annotations

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest

import isac_env  # noqa: F401  (registers the ids)
from isac_env.config import EnvConfig, RobustISACConfig, RydbergISACConfig, check_int, check_real

CLASSES = (RydbergISACConfig, RobustISACConfig, EnvConfig)


def _fields(kind: type) -> list[tuple[type, str]]:
    out = []
    for cls in CLASSES:
        for f in dataclasses.fields(cls):
            if isinstance(f.default, kind) and not isinstance(f.default, bool):
                out.append((cls, f.name))
    return out


REAL_FIELDS = _fields(float)
INT_FIELDS = _fields(int)
STR_FIELDS = _fields(str)


def test_every_field_is_covered():
    n = sum(len(dataclasses.fields(c)) for c in CLASSES)
    assert len(REAL_FIELDS) + len(INT_FIELDS) + len(STR_FIELDS) == n


@pytest.mark.parametrize(("cls", "name"), REAL_FIELDS + INT_FIELDS)
@pytest.mark.parametrize("value", ["25", b"25", None, True, False, 1j, [1.0], {"a": 1}, np.bool_(True)])
def test_wrong_type_raises_type_error_naming_field(cls, name, value):
    with pytest.raises(TypeError, match=name):
        cls(**{name: value})


#: real fields that accept any non-negative value, inf included (linear Rician factors)
UNBOUNDED = {"rician_factor", "rar_los_k_factor", "rician_d", "rician_r", "rician_g"}


@pytest.mark.parametrize(("cls", "name"), REAL_FIELDS)
@pytest.mark.parametrize("value", [math.nan, 10**400, -(10**400), 1e308, -1e308])
def test_real_out_of_range_raises_value_error_naming_field(cls, name, value):
    if name in UNBOUNDED and value == 1e308:
        assert getattr(cls(**{name: value}), name) == 1e308
        return
    with pytest.raises(ValueError, match=name):
        cls(**{name: value})


@pytest.mark.parametrize(("cls", "name"), INT_FIELDS)
@pytest.mark.parametrize("value", [10**400, -(10**400), 2**63, -1])
def test_int_out_of_range_raises_value_error_naming_field(cls, name, value):
    with pytest.raises(ValueError, match=name):
        cls(**{name: value})


@pytest.mark.parametrize(("cls", "name"), INT_FIELDS)
def test_int_fields_reject_floats(cls, name):
    default = getattr(cls(), name)
    with pytest.raises(TypeError, match=name):
        cls(**{name: float(default)})


@pytest.mark.parametrize(("cls", "name"), STR_FIELDS)
def test_choice_fields(cls, name):
    with pytest.raises(TypeError, match=name):
        cls(**{name: 5})
    with pytest.raises(ValueError, match=name):
        cls(**{name: "25"})


def test_values_are_normalised_to_plain_python():
    c = RydbergISACConfig(snr_db=np.float32(20.0), num_users=np.int64(2), ray_spread_deg=-0.0)
    assert type(c.snr_db) is float and type(c.num_users) is int
    assert c.ray_spread_deg == 0.0 and math.copysign(1.0, c.ray_spread_deg) == 1.0
    assert c == RydbergISACConfig(snr_db=20.0, num_users=2, ray_spread_deg=0.0)
    assert hash(c) == hash(RydbergISACConfig(snr_db=20.0, num_users=2, ray_spread_deg=0.0))
    r = RobustISACConfig(user_radius_m=-0.0, csi_error_delta2=-0.0)
    assert math.copysign(1.0, r.user_radius_m) == 1.0 and math.copysign(1.0, r.csi_error_delta2) == 1.0


def test_negative_zero_spreads_sample():
    """-0.0 used to reach ``rng.uniform(0, -0.0)`` ("high - low < 0")."""
    env = gym.make(
        "isac_env/RydbergISAC-v0",
        num_users=2, num_cells=3, num_ris=4, num_bs_antennas=3, num_clusters=2, num_rays=2,
        ray_spread_deg=-0.0, max_delay_spread_s=-0.0,
    )  # fmt: skip
    obs, _ = env.reset(seed=0)
    assert np.all(np.isfinite(obs))
    env = gym.make("isac_env/RobustISAC-v0", num_ris=4, num_bs_antennas=3, mc_draws=8, user_radius_m=-0.0)
    obs, _ = env.reset(seed=0)
    assert np.all(np.isfinite(obs))


def test_string_number_rejected_through_make():
    with pytest.raises(TypeError, match="snr_db"):
        gym.make("isac_env/RydbergISAC-v0", snr_db="25")
    with pytest.raises(TypeError, match="rate_threshold"):
        gym.make("isac_env/RobustISAC-v0", rate_threshold="2")


@pytest.mark.parametrize("env_id", ["isac_env/RydbergISAC-v0", "isac_env/RobustISAC-v0"])
def test_env_config_and_config_argument_types(env_id):
    env = gym.make(env_id, env_config={"horizon": 2}, num_ris=4, num_bs_antennas=3)
    assert env.unwrapped.env_config.horizon == 2
    for bad in ("static", 5, ["horizon"]):
        with pytest.raises(TypeError, match="env_config"):
            gym.make(env_id, env_config=bad)
        with pytest.raises(TypeError, match="config"):
            gym.make(env_id, config=bad)
    with pytest.raises(TypeError, match="bogus_key"):
        gym.make(env_id, env_config={"bogus_key": 1})
    with pytest.raises(TypeError, match="horizon"):
        gym.make(env_id, env_config={"horizon": "3"})
    other = RobustISACConfig() if "Rydberg" in env_id else RydbergISACConfig()
    with pytest.raises(TypeError, match="config"):
        gym.make(env_id, config=other)


def test_ill_posed_sensing_rejected():
    """One RIS element or one BS antenna makes the DoA FIM singular for every design."""
    for kw, name in (({"num_ris": 1}, "num_ris"), ({"num_bs_antennas": 1}, "num_bs_antennas")):
        with pytest.raises(ValueError, match=name):
            gym.make("isac_env/RydbergISAC-v0", **kw)
    with pytest.raises(ValueError, match="num_bs_antennas"):
        gym.make("isac_env/RobustISAC-v0", num_bs_antennas=1)


@pytest.mark.parametrize(
    ("cls", "kw", "name"),
    [
        (RydbergISACConfig, {"crb_threshold": 5e-324}, "crb_threshold"),
        (RydbergISACConfig, {"d_ru_m": 1e300}, "d_ru_m"),
        (RydbergISACConfig, {"d_br_m": 1e-300}, "d_br_m"),
        (RydbergISACConfig, {"carrier_hz": 1e308}, "carrier_hz"),
        (RydbergISACConfig, {"num_snapshots": 10**400}, "num_snapshots"),
        (RydbergISACConfig, {"num_cells": 1024, "num_ris": 4096}, "num_cells"),
        (RobustISACConfig, {"rate_threshold": 1e-100}, "rate_threshold"),
        (RobustISACConfig, {"wavelength_m": 5e-324}, "wavelength_m"),
        (RobustISACConfig, {"rho_c": 5e-324}, "rho_c"),
        (RobustISACConfig, {"p_max_dbm": -150.0}, "p_max_dbm"),
        (RobustISACConfig, {"target_radius_m": 0.5}, "target_radius_m"),
        (RobustISACConfig, {"user_center_x_m": 1e-300, "user_radius_m": 0.0}, "user_center_x_m"),
        (RobustISACConfig, {"ris_x_m": 0.0, "ris_y_m": 0.0}, "ris_x_m"),
        (RobustISACConfig, {"mc_draws": 10_000_000, "mc_method": "full"}, "mc_draws"),
        (EnvConfig, {"constraint_penalty": 1e300}, "constraint_penalty"),
        (EnvConfig, {"horizon": 10**12}, "horizon"),
    ],
)
def test_issue_configs_rejected_naming_field(cls, kw, name):
    with pytest.raises(ValueError, match=name):
        cls(**kw)


def test_checkers_return_normalised_values():
    assert check_real("x", np.float64(-0.0)) == 0.0 and math.copysign(1, check_real("x", -0.0)) == 1
    assert check_int("n", np.int32(3), 0, 5) == 3 and type(check_int("n", np.int32(3), 0, 5)) is int
    with pytest.raises(ValueError, match=r"x.*overflow"):
        check_real("x", 10**400)
