"""Hypothesis fuzz harness of configs and actions for every registered id (issue 15).

One example = a config (a few fields of the id's configs set to fuzzed values on top of a small
scenario, sometimes an ``env_config`` / unknown argument), ``gym.make`` (single env) or
``gym.make_vec`` (native vector env, 2 sub-envs), then a reset and a few fuzzed actions.
:func:`run_example` classifies the outcome:

* ``"accepted"``: the config was accepted and every step with a finite action of the right shape
  returned finite observations (inside the observation bounds), rewards, costs and metrics, with
  the reward and the cost inside the documented ranges; every bad action (NaN/inf entries, wrong
  shape, off-grid phase indices, non-numeric) and every unknown reset option raised ``ValueError``;
* ``"clean_error"``: ``make`` raised ``ValueError`` / ``TypeError`` whose message names one of the
  fuzzed fields;
* ``"other"``: anything else (the detail says what), a failure of the guarantee.

Used by ``tests/envs/test_fuzz.py`` (assertions) and ``benchmarks/fuzz_counts.py`` (counts).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
import zlib
from typing import Any

import gymnasium as gym
import numpy as np
from hypothesis import strategies as st

import isac_env
from isac_env.config import EnvConfig, RobustISACConfig, RydbergISACConfig
from isac_env.envs.base import COST_CAP

__all__ = ["ENV_IDS", "OUTCOMES", "example_strategy", "fuzz_seed", "run_example"]

ENV_IDS = isac_env.ENV_IDS
OUTCOMES = ("accepted", "clean_error", "other")

#: small scenarios keep an example in the millisecond range
SMALL = {
    "rydberg": {"num_users": 2, "num_cells": 3, "num_ris": 4, "num_bs_antennas": 3, "num_clusters": 2,
                "num_rays": 2, "horizon": 3},
    "robust": {"num_users": 2, "num_ris": 4, "num_bs_antennas": 3, "num_targets": 2, "mc_draws": 16,
               "horizon": 3},
}  # fmt: skip

#: integer fields whose size drives the cost of an example: fuzzed small (plus huge/bad values)
_SIZE_FIELDS = {
    "num_users", "num_cells", "num_ris", "num_bs_antennas", "num_targets", "num_clusters",
    "num_rays", "mc_draws", "horizon",
}  # fmt: skip

_CHOICES = {
    "polarization": ("mnkl", "mkl", "kl"),
    "rsr_model": ("linear", "distortion"),
    "noise_calibration": ("common", "per_user"),
    "channel_dynamics": ("static", "gauss_markov"),
    "phase_action": ("discrete", "quantize"),
    "obs_mode": ("full", "effective"),
    "restriction": ("la_full", "la_nt", "lb", "lc", "bti"),
    "csi_error_model": ("relative", "relative_unnormalized", "absolute"),
    "mc_method": ("projected", "effective", "full"),
}

#: values of the wrong type or otherwise hostile for any field
_HOSTILE = st.sampled_from(
    [
        "25",
        b"1",
        None,
        True,
        False,
        {},
        {"a": 1},
        [1.0],
        1j,
        "nan",
        math.nan,
        math.inf,
        -math.inf,
        10**400,
        -0.0,
    ]
)


#: the config bounds of the fields (and a little past them): accepted extremes
_EDGES = st.sampled_from(
    [-300, -250, -200, -100, -50, -30, -10, 0, 1, 2, 8, 10, 50, 80, 90, 100, 300, 1e-12, 1e-9, 1e-6, 1e-4,
     0.01, 0.1, 0.999999999, 1e3, 1e4, 1e5, 1e6, 1e9, 1e12, -math.pi, math.pi, 1e-3, 5e9, -1e4]
)  # fmt: skip


def fuzz_seed(env_id: str) -> int:
    """A fixed hypothesis seed per id (``derandomize`` alone would give every id the same configs)."""
    return zlib.crc32(env_id.encode())


def _task(env_id: str) -> str:
    return "robust" if "Robust" in env_id else "rydberg"


def _fields(env_id: str) -> dict[str, Any]:
    """Field name -> default of the id's scenario and episode configs."""
    cls = RobustISACConfig if _task(env_id) == "robust" else RydbergISACConfig
    out = {f.name: f.default for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(EnvConfig):
        out.setdefault(f.name, f.default)
    return out


def _value_strategy(name: str, default: Any) -> st.SearchStrategy[Any]:
    if name in _CHOICES:
        return st.one_of(st.sampled_from(_CHOICES[name]), st.text(max_size=4), _HOSTILE)
    if isinstance(default, int) and not isinstance(default, bool):
        if name in _SIZE_FIELDS:
            small = st.integers(-1, 4 if name != "mc_draws" else 40)
        else:
            small = st.integers(-1, 9)
        huge = st.sampled_from([10**6, 10**9, 10**10, 2**63, 10**400, -(10**400)])
        return st.one_of(small, small, small, huge, st.floats(-5, 5), _HOSTILE)
    # real field
    if math.isfinite(default) and default != 0.0:
        near = st.floats(0.25, 4.0).map(lambda f, d=default: d * f)
        wide = st.floats(-3, 3).map(lambda e, d=default: d * 10.0**e)
    else:
        near = st.floats(0.0, 10.0)
        wide = st.floats(0.0, 1e6)
    special = st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, 1e-300, 1e300, 1.7e308, -1e308, math.pi / 2])
    anything = st.floats(allow_nan=True, allow_infinity=True)
    ints = st.integers(-(10**30), 10**30)
    return st.one_of(near, near, near, near, near, wide, _EDGES, _EDGES, special, anything, ints, _HOSTILE)


_ENV_CONFIG_VALUES = st.sampled_from(
    ["static", 5, {}, {"horizon": 2}, {"horizon": "3"}, {"bogus_key": 1}, EnvConfig(horizon=2), None]
)


@st.composite
def config_strategy(draw: st.DrawFn, env_id: str) -> dict[str, Any]:
    """Fuzzed ``gym.make`` keyword arguments (on top of the small scenario) for ``env_id``."""
    fields = _fields(env_id)
    names = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3, unique=True))
    kw = {n: draw(_value_strategy(n, fields[n])) for n in names}
    extra = draw(st.sampled_from(["none"] * 12 + ["env_config"] * 2 + ["unknown"]))
    if extra == "env_config":
        kw["env_config"] = draw(_ENV_CONFIG_VALUES)
    elif extra == "unknown":
        kw["bogus_field"] = 1
    return kw


@st.composite
def action_plan_strategy(draw: st.DrawFn) -> list[tuple[str, int]]:
    """A list of ``(kind, seed)``: the action kinds to play after the reset (see :func:`_make_action`)."""
    kinds = st.sampled_from(
        ["finite"] * 6 + ["extreme", "zero", "nan", "inf", "shape", "index", "string", "reset_option"]
    )
    return draw(st.lists(st.tuples(kinds, st.integers(0, 2**31 - 1)), min_size=1, max_size=3))


def example_strategy(env_id: str) -> st.SearchStrategy[tuple[dict[str, Any], bool, list[tuple[str, int]]]]:
    """``(make kwargs, vector?, action plan)``."""
    return st.tuples(config_strategy(env_id), st.booleans(), action_plan_strategy())


# --------------------------------------------------------------------------- actions
def _box_values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "zero":
        return np.zeros(shape)
    if kind == "extreme":
        mag = 10.0 ** rng.uniform(-320, 308, shape)
        return np.where(rng.random(shape) < 0.5, -mag, mag) * (rng.random(shape) < 0.8)
    # finite: a mix of ordinary, large, tiny and subnormal magnitudes
    scale = rng.choice([1.0, 1e-3, 1e3, 1e-160, 1e200, 1e-310, 1e308], size=shape, p=[0.7] + [0.05] * 6)
    return rng.uniform(-1.0, 1.0, shape) * scale


def _make_action(space: gym.Space, kind: str, seed: int) -> tuple[Any, bool]:
    """An action of ``kind`` for ``space`` and whether it must be accepted."""
    rng = np.random.default_rng(seed)
    is_dict = isinstance(space, gym.spaces.Dict)
    box = space["precoder"] if is_dict else space
    a_w = _box_values(rng, box.shape, "finite" if kind not in ("zero", "extreme") else kind)
    if is_dict:
        nvec = space["phases"].nvec
        idx = rng.integers(0, nvec)
        action: Any = {"precoder": a_w, "phases": idx}
    else:
        action = a_w
    if kind in ("finite", "extreme", "zero"):
        return action, True
    target = a_w if not is_dict or rng.random() < 0.5 else None
    if kind in ("nan", "inf"):
        bad = np.nan if kind == "nan" else (np.inf if rng.random() < 0.5 else -np.inf)
        if target is not None:
            target.flat[rng.integers(target.size)] = bad
        else:
            ph = action["phases"].astype(np.float64)
            ph.flat[rng.integers(ph.size)] = bad
            action["phases"] = ph
        return action, False
    if kind == "shape":
        if is_dict:
            key = "precoder" if rng.random() < 0.5 else "phases"
            action[key] = np.asarray(action[key])[..., :-1]
            return action, False
        return a_w[..., :-1], False
    if kind == "index" and is_dict:
        ph = np.asarray(action["phases"]).astype(np.float64)
        choice = rng.integers(3)
        ph.flat[rng.integers(ph.size)] = (-1, 0.5, float(np.max(space["phases"].nvec)))[choice]
        action["phases"] = ph
        return action, False
    # "string" (and "index" for Box spaces): a non-numeric action
    return (np.full(box.shape, "0.5") if not is_dict else {**action, "precoder": "0.5"}), False


def _batch(action: Any, n: int) -> Any:
    if isinstance(action, dict):
        return {k: np.stack([np.asarray(v)] * n) if not isinstance(v, str) else v for k, v in action.items()}
    return np.stack([np.asarray(action)] * n) if not isinstance(action, str) else action


# --------------------------------------------------------------------------- checks
def _all_finite(x: Any) -> bool:
    if isinstance(x, dict):
        return all(_all_finite(v) for k, v in x.items() if not str(k).startswith("_"))
    arr = np.asarray(x)
    if arr.dtype == object:
        return all(_all_finite(v) for v in arr.ravel() if v is not None)
    return bool(np.all(np.isfinite(arr.astype(np.float64))))


def _check_step(env: Any, obs: Any, reward: Any, info: dict[str, Any], vector: bool) -> str | None:
    """``None`` if the step output meets the guarantee, else what is wrong."""
    obs = np.asarray(obs, dtype=np.float64)
    if not np.all(np.isfinite(obs)):
        return "non-finite observation"
    if np.any(np.abs(obs) > 100.0):
        return "observation outside [-100, 100]"
    rew = np.atleast_1d(np.asarray(reward, dtype=np.float64))
    if not np.all(np.isfinite(rew)):
        return f"non-finite reward {reward}"
    if not info:  # a vector step whose sub-envs all autoreset
        return None
    for key in ("cost", "metrics", "reward_terms"):
        if not _all_finite(info[key]):
            return f"non-finite info[{key!r}]: {info[key]}"
    task = env.unwrapped.task
    lam = task.env_config.constraint_penalty
    mask = np.asarray(info["_cost"]) if vector else np.ones(1, dtype=bool)
    cost = np.atleast_1d(np.asarray(info["cost"], dtype=np.float64))[mask]
    rew = rew[mask]
    tol = 1e-9
    if type(task).__name__ == "RobustTask":
        c = task.config
        cmax = c.num_users * (1 - c.rho_c) + c.num_targets * (1 - c.rho_s)
        lo, hi = -c.p_max_dbm / 10 - lam * cmax, -c.p_min_dbm / 10
    else:
        cmax = COST_CAP
        sum_rate = np.atleast_1d(np.asarray(info["metrics"]["sum_rate"], dtype=np.float64))[mask]
        if np.any(sum_rate < 0):
            return f"negative sum rate {sum_rate}"
        lo, hi = -lam * cmax, sum_rate
    if np.any(cost < 0) or np.any(cost > cmax * (1 + tol)):
        return f"cost {cost} outside [0, {cmax}]"
    if np.any(rew < lo - tol * (1 + abs(lo))) or np.any(rew > hi + tol * (1 + np.abs(hi))):
        return f"reward {rew} outside the documented range [{lo}, {hi}]"
    return None


def _names_field(msg: str, names: set[str]) -> bool:
    return any(n in msg for n in names)


def run_example(
    env_id: str, kwargs: dict[str, Any], vector: bool, plan: list[tuple[str, int]]
) -> tuple[str, str]:
    """Run one example; return ``(outcome, detail)`` with outcome in :data:`OUTCOMES`."""
    small = dict(SMALL[_task(env_id)])
    if isinstance(kwargs.get("env_config"), EnvConfig | dict):
        small.pop("horizon")  # keep the fuzzed env_config's own horizon
    kw = {**small, **kwargs}
    names = set(kwargs)
    if isinstance(kwargs.get("env_config"), dict):
        names |= {str(k) for k in kwargs["env_config"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            env = gym.make_vec(env_id, num_envs=2, **kw) if vector else gym.make(env_id, **kw)
        except (ValueError, TypeError) as exc:
            if _names_field(str(exc), names):
                return "clean_error", f"{type(exc).__name__}: {exc}"
            return "other", f"make raised {type(exc).__name__} naming no fuzzed field {sorted(names)}: {exc}"
        except Exception as exc:
            return "other", f"make raised {type(exc).__name__}: {exc}"
        try:
            obs, _ = env.reset(seed=0)
            if not np.all(np.isfinite(np.asarray(obs, dtype=np.float64))):
                return "other", "non-finite observation at reset"
            space = env.unwrapped.single_action_space if vector else env.action_space
            for kind, seed in plan:
                if kind == "reset_option":
                    try:
                        env.reset(options={"bogus_option": 1})
                    except ValueError as exc:
                        if "bogus_option" not in str(exc):
                            return "other", f"reset option error names no key: {exc}"
                        continue
                    return "other", "unknown reset option accepted"
                action, ok = _make_action(space, kind, seed)
                if vector:
                    action = _batch(action, 2)
                if not ok:
                    try:
                        env.step(action)
                    except ValueError:
                        continue
                    return "other", f"bad action ({kind}) accepted"
                obs, reward, _, _, info = env.step(action)
                problem = _check_step(env, obs, reward, info, vector)
                if problem:
                    return "other", f"{problem} (action kind {kind}, seed {seed})"
        except Exception as exc:
            return "other", f"reset/step raised {type(exc).__name__}: {exc}"
        finally:
            env.close()
    return "accepted", ""
