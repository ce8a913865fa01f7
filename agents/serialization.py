"""Code-free storage of trained agents, and parsers that never evaluate code.

A run folder written by :func:`isac_gym.agents.train.train` holds, beside SB3's ``model.zip`` (a pickle-bearing
archive: loading it can run arbitrary code), a *safe* copy of the agent that loads without unpickling:

* ``policy.pth``: the policy's ``state_dict()`` (tensors only), read with
  ``torch.load(..., weights_only=True)``;
* ``config.yaml`` key ``policy_spec`` (:func:`policy_spec`): the algorithm, the SB3 policy alias
  (``MlpPolicy``), its constructor keywords as plain data (classes by registered name, e.g.
  ``activation_fn: nn.Tanh``) and the observation/action spaces as plain data;
* ``vecnormalize.npz``: the observation-normalization statistics of ``VecNormalize`` as plain arrays,
  read with ``np.load(..., allow_pickle=False)`` (:func:`save_vecnormalize`, :func:`load_vecnormalize`).

Names in these files and in the hyperparameter YAML (``policy_kwargs`` strings, ``env_wrapper``) are
resolved through fixed registries (:data:`WRAPPERS`, :func:`class_registry`); nothing is imported or
evaluated by name. ``policy_kwargs`` strings such as ``"dict(net_arch=[64, 64], activation_fn=nn.Tanh)"``
are parsed by :func:`parse_kwargs_string` (Python literals, ``dict(...)`` and registered class names).

Torch and stable-baselines3 are imported lazily (only by the functions that build or save policies).
"""

from __future__ import annotations

import ast
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from isac_env.wrappers import FlattenDictAction, RecordMetrics

__all__ = [
    "FORMAT_VERSION",
    "POLICY_FILE",
    "VECNORM_FILE",
    "WRAPPERS",
    "ObsNormalizer",
    "class_name",
    "class_registry",
    "load_safe_policy",
    "load_vecnormalize",
    "parse_kwargs_string",
    "policy_spec",
    "register_wrapper",
    "resolve_class",
    "resolve_wrapper",
    "save_policy_weights",
    "save_vecnormalize",
    "space_from_dict",
    "space_to_dict",
]

#: version of the ``policy_spec`` / ``vecnormalize.npz`` layout
FORMAT_VERSION = 1
POLICY_FILE = "policy.pth"
VECNORM_FILE = "vecnormalize.npz"

# ------------------------------------------------------------------------------------ wrappers
#: ``env_wrapper`` names accepted in hyperparameter files and run configs -> wrapper class.
WRAPPERS: dict[str, type[gym.Wrapper]] = {
    "isac_env.wrappers.FlattenDictAction": FlattenDictAction,
    "isac_env.wrappers.RecordMetrics": RecordMetrics,
}


def register_wrapper(name: str, cls: type[gym.Wrapper]) -> None:
    """Allow ``name`` as an ``env_wrapper`` (in code only: config files cannot extend the registry)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"wrapper name must be a non-empty string, got {name!r}")
    if not (isinstance(cls, type) and issubclass(cls, gym.Wrapper)):
        raise ValueError(f"wrapper {name!r} must be a gymnasium.Wrapper subclass, got {cls!r}")
    WRAPPERS[name] = cls


def resolve_wrapper(name: Any) -> type[gym.Wrapper]:
    """The registered wrapper class of ``name``.

    Raises:
        ValueError: ``name`` is not in :data:`WRAPPERS` (the message lists the allowed names).
    """
    if isinstance(name, str) and name in WRAPPERS:
        return WRAPPERS[name]
    raise ValueError(
        f"env_wrapper {name!r} is not an allowed wrapper; allowed: {', '.join(sorted(WRAPPERS))} "
        "(config files cannot name arbitrary callables)"
    )


# ------------------------------------------------------------------------------- class registry
_TORCH_NN = (
    "ReLU",
    "Tanh",
    "ELU",
    "LeakyReLU",
    "SiLU",
    "GELU",
    "Sigmoid",
    "Softplus",
    "SELU",
    "Mish",
    "Hardtanh",
    "Identity",
)
_TORCH_OPTIM = ("Adam", "AdamW", "RMSprop", "SGD")
_SB3_EXTRACTORS = ("FlattenExtractor", "CombinedExtractor", "NatureCNN")
_REGISTRY: dict[str, type] | None = None


def class_registry() -> dict[str, type]:
    """Names a config may use for a class -> the class (imports torch and SB3 on first use).

    ``nn.<X>`` / ``th.nn.<X>`` / ``torch.nn.<X>`` for common activations, ``th.optim.<X>`` /
    ``torch.optim.<X>`` for optimizers and ``stable_baselines3.common.torch_layers.<X>`` for SB3's
    feature extractors. The first name of each class is its canonical name (:func:`class_name`).
    """
    global _REGISTRY
    if _REGISTRY is None:
        import torch
        from stable_baselines3.common import torch_layers

        reg: dict[str, type] = {}
        for n in _TORCH_NN:
            for prefix in ("nn", "th.nn", "torch.nn"):
                reg[f"{prefix}.{n}"] = getattr(torch.nn, n)
        for n in _TORCH_OPTIM:
            for prefix in ("th.optim", "torch.optim"):
                reg[f"{prefix}.{n}"] = getattr(torch.optim, n)
        for n in _SB3_EXTRACTORS:
            reg[f"stable_baselines3.common.torch_layers.{n}"] = getattr(torch_layers, n)
        _REGISTRY = reg
    return _REGISTRY


def _allowed_names() -> str:
    return ", ".join(f"nn.{n}" for n in _TORCH_NN) + ", th.optim.<" + "|".join(_TORCH_OPTIM) + ">"


def resolve_class(name: Any) -> type:
    """The registered class of ``name`` (see :func:`class_registry`); ValueError for anything else."""
    if isinstance(name, str):
        cls = class_registry().get(name)
        if cls is not None:
            return cls
    raise ValueError(f"{name!r} is not an allowed class name; allowed: {_allowed_names()}")


def class_name(cls: type) -> str:
    """Canonical registered name of ``cls`` (e.g. ``torch.nn.Tanh`` -> ``"nn.Tanh"``)."""
    for name, c in class_registry().items():
        if c is cls:
            return name
    raise ValueError(
        f"{getattr(cls, '__qualname__', cls)!r} has no registered name, so it cannot be stored safely; "
        f"allowed: {_allowed_names()}"
    )


# --------------------------------------------------------------------------- policy_kwargs parser
_CALLS: dict[str, Callable[..., Any]] = {"dict": dict}


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(node: ast.expr, text: str) -> Any:
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, bool | int | float | str):
            return node.value
    elif (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        v = node.operand.value
        return -v if isinstance(node.op, ast.USub) else v
    elif isinstance(node, ast.List):
        return [_literal(e, text) for e in node.elts]
    elif isinstance(node, ast.Tuple):
        return tuple(_literal(e, text) for e in node.elts)
    elif isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                break  # ``**x`` splat
            key = _literal(k, text)
            if not isinstance(key, str | int):
                break
            out[key] = _literal(v, text)
        else:
            return out
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS:
        if not node.args and all(kw.arg is not None for kw in node.keywords):
            return _CALLS[node.func.id](**{kw.arg: _literal(kw.value, text) for kw in node.keywords})
    elif isinstance(node, ast.Name | ast.Attribute):
        name = _dotted(node)
        if name is not None and name in class_registry():
            return class_registry()[name]
        raise ValueError(
            f"{name or ast.unparse(node)!r} in {text!r} is not allowed; allowed names: {_allowed_names()}"
        )
    raise ValueError(
        f"{ast.unparse(node)!r} in {text!r} is not allowed: policy_kwargs strings may hold only literals, "
        f"dict(key=value, ...) and the class names {_allowed_names()}"
    )


def parse_kwargs_string(text: str) -> Any:
    """Parse rl-zoo3's string form of keyword dicts without evaluating code.

    Accepts Python literals (numbers, strings, booleans, ``None``, lists, tuples, dicts), calls
    ``dict(key=value, ...)`` and registered class names (``nn.ReLU``, ``th.nn.Tanh``, ...), e.g.
    ``"dict(net_arch=dict(pi=[64, 64], vf=[64, 64]), activation_fn=nn.Tanh, log_std_init=-0.5)"``.

    Raises:
        ValueError: a syntax error or any other construct (calls, names, attributes, operators).
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a string, got {type(text).__name__}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"cannot parse {text!r}: {type(exc).__name__}: {exc}") from None
    try:
        return _literal(tree.body, text)
    except RecursionError:
        raise ValueError(f"{text!r} is nested too deeply") from None


# -------------------------------------------------------------------------------------- spaces
def _bound(x: np.ndarray) -> Any:
    flat = x.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return flat[0].item()
    return x.tolist()


def space_to_dict(space: spaces.Space) -> dict[str, Any]:
    """A gymnasium space as plain data (Box, Discrete, MultiDiscrete, MultiBinary, Dict)."""
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": _bound(space.low),
            "high": _bound(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": space.nvec.tolist(),
            "start": space.start.tolist(),
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.MultiBinary):
        n = space.n
        return {"type": "MultiBinary", "n": int(n) if np.isscalar(n) else [int(v) for v in n]}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {str(k): space_to_dict(s) for k, s in space.spaces.items()}}
    raise ValueError(f"cannot store {type(space).__name__} spaces safely")


_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32")


def _dtype(name: Any) -> np.dtype:
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {name!r}")
    return np.dtype(name)


def _array(x: Any, what: str) -> np.ndarray:
    if isinstance(x, bool) or not isinstance(x, int | float | list):
        raise ValueError(f"{what} must be a number or a nested list of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numbers: {exc}") from None
    return arr


def space_from_dict(d: Any) -> spaces.Space:
    """Inverse of :func:`space_to_dict`; ValueError for anything malformed."""
    if not isinstance(d, Mapping) or not isinstance(d.get("type"), str):
        raise ValueError(f"a space must be a mapping with a 'type', got {d!r:.80}")
    kind = d["type"]
    try:
        if kind == "Box":
            shape = d.get("shape")
            if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
                raise ValueError(f"Box shape must be a list of non-negative ints, got {shape!r:.80}")
            dtype = _dtype(d.get("dtype"))
            low, high = _array(d.get("low"), "Box low"), _array(d.get("high"), "Box high")
            for name, b in (("low", low), ("high", high)):
                if b.ndim and b.shape != tuple(shape):
                    raise ValueError(f"Box {name} has shape {b.shape}, expected {tuple(shape)}")
            lo, hi = low.astype(dtype), high.astype(dtype)
            return spaces.Box(
                low=lo.item() if lo.ndim == 0 else lo,
                high=hi.item() if hi.ndim == 0 else hi,
                shape=tuple(shape),
                dtype=dtype,
            )
        if kind == "Discrete":
            n, start = d.get("n"), d.get("start", 0)
            if not (isinstance(n, int) and isinstance(start, int)) or isinstance(n, bool):
                raise ValueError(f"Discrete n/start must be ints, got {n!r}, {start!r}")
            return spaces.Discrete(n, start=start)
        if kind == "MultiDiscrete":
            nvec, start = d.get("nvec"), d.get("start")
            return spaces.MultiDiscrete(
                _array(nvec, "MultiDiscrete nvec").astype(np.int64),
                dtype=_dtype(d.get("dtype", "int64")),
                start=None if start is None else _array(start, "MultiDiscrete start").astype(np.int64),
            )
        if kind == "MultiBinary":
            n = d.get("n")
            if isinstance(n, int) and not isinstance(n, bool):
                return spaces.MultiBinary(n)
            if isinstance(n, list) and all(isinstance(v, int) for v in n):
                return spaces.MultiBinary(n)
            raise ValueError(f"MultiBinary n must be an int or a list of ints, got {n!r:.80}")
        if kind == "Dict":
            subs = d.get("spaces")
            if not isinstance(subs, Mapping):
                raise ValueError("Dict space needs a 'spaces' mapping")
            return spaces.Dict({str(k): space_from_dict(v) for k, v in subs.items()})
    except (TypeError, AssertionError) as exc:  # gymnasium's own checks
        raise ValueError(f"invalid {kind} space: {exc}") from None
    raise ValueError(f"unsupported space type {kind!r}")


# -------------------------------------------------------------------------------------- policies
#: constructor keywords whose values are classes (stored by registered name)
_CLASS_KEYS = ("activation_fn", "optimizer_class", "features_extractor_class")
_PLAIN_SCALARS = (bool, int, float, str, type(None))


def _plain_value(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_value(v, f"{where}[]") for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, _PLAIN_SCALARS):
        return value
    raise ValueError(f"policy keyword {where} = {value!r:.80} is not plain data and cannot be stored safely")


def check_spec_header(spec: Any, config_file: Any) -> Callable[[str], ValueError]:
    """Check that a ``policy_spec`` is a mapping of this :data:`FORMAT_VERSION`; return the factory of
    the errors that name ``config_file`` (``bad(why) -> ValueError``) for the caller's further checks.

    Raises:
        ValueError: not a mapping, or another format version.
    """

    def bad(why: str) -> ValueError:
        return ValueError(f"{config_file}: invalid policy_spec: {why}")

    if not isinstance(spec, Mapping):
        raise bad(f"expected a mapping, got {type(spec).__name__}")
    if spec.get("format") != FORMAT_VERSION:
        raise bad(f"format must be {FORMAT_VERSION}, got {spec.get('format')!r}")
    return bad


def policy_spec(policy: Any, algo: str, policy_aliases: Mapping[str, type]) -> dict[str, Any]:
    """Plain-data recipe that rebuilds ``policy`` (an SB3 ``BasePolicy``) without unpickling.

    Args:
        policy: the trained model's ``policy``.
        algo: algorithm name (``"ppo"``...), stored for the loader.
        policy_aliases: the algorithm class's ``policy_aliases`` (``{"MlpPolicy": ActorCriticPolicy}``).

    Returns:
        ``{"format", "algo", "policy", "policy_class", "weights", "kwargs", "observation_space",
        "action_space"}``; ``kwargs`` are the policy's constructor parameters (SB3's
        ``_get_constructor_parameters``) with classes by registered name.

    Raises:
        ValueError: the policy class is not one of the aliases, or a keyword is neither plain data
            nor a registered class.
    """
    alias = next((a for a, c in policy_aliases.items() if c is type(policy)), None)
    if alias is None:
        raise ValueError(f"policy class {type(policy).__name__} is not one of {sorted(policy_aliases)}")
    params = dict(policy._get_constructor_parameters())
    obs_space, act_space = params.pop("observation_space"), params.pop("action_space")
    params.pop("lr_schedule", None)
    sig = inspect.signature(type(policy).__init__).parameters
    if "share_features_extractor" in sig and hasattr(policy, "share_features_extractor"):
        params.setdefault("share_features_extractor", bool(policy.share_features_extractor))
    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        if key in _CLASS_KEYS and isinstance(value, type):
            kwargs[key] = class_name(value)
        else:
            kwargs[key] = _plain_value(value, key)
    return {
        "format": FORMAT_VERSION,
        "algo": algo,
        "policy": alias,
        "policy_class": type(policy).__name__,
        "weights": POLICY_FILE,
        "kwargs": kwargs,
        "observation_space": space_to_dict(obs_space),
        "action_space": space_to_dict(act_space),
    }


def save_policy_weights(policy: Any, path: str | Path) -> None:
    """Write ``policy.state_dict()`` (CPU tensors only) to ``path`` with ``torch.save``."""
    import torch

    state = {k: v.detach().cpu() for k, v in policy.state_dict().items()}
    torch.save(state, Path(path))


def _zero_lr(_progress_remaining: float) -> float:
    return 0.0


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def load_safe_policy(
    spec: Any,
    weights: str | Path,
    policy_aliases: Mapping[str, type],
    *,
    config_file: str | Path,
    device: str = "cpu",
) -> Any:
    """Rebuild the SB3 policy of ``spec`` (:func:`policy_spec`) and load ``weights`` with ``weights_only=True``.

    Nothing is unpickled or evaluated: the class comes from ``policy_aliases``, keyword classes from
    :func:`class_registry`, the spaces from plain data. The policy is in evaluation mode and has SB3's
    ``predict(observation, state, episode_start, deterministic)``.

    Raises:
        ValueError: a malformed spec (names ``config_file``) or an unreadable / mismatching weights
            file (names ``weights``).
        FileNotFoundError: ``weights`` does not exist.
    """
    import torch

    bad = check_spec_header(spec, config_file)
    alias = spec.get("policy")
    if not isinstance(alias, str) or alias not in policy_aliases:
        raise bad(f"policy must be one of {sorted(policy_aliases)}, got {alias!r}")
    raw = spec.get("kwargs") or {}
    if not isinstance(raw, Mapping):
        raise bad("kwargs must be a mapping")
    try:
        obs_space = space_from_dict(spec.get("observation_space"))
        act_space = space_from_dict(spec.get("action_space"))
        kwargs = {str(k): (resolve_class(v) if k in _CLASS_KEYS else v) for k, v in raw.items()}
    except ValueError as exc:
        raise bad(str(exc)) from None
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"no policy weights at {weights}")
    try:
        with torch.random.fork_rng(devices=[]):  # building the nets must not move the caller's seeds
            policy = policy_aliases[alias](obs_space, act_space, _zero_lr, **kwargs)
    except Exception as exc:
        raise bad(f"cannot build {alias}: {_one_line(exc)}") from None
    try:
        state = torch.load(weights, map_location=device, weights_only=True)
        if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise TypeError("not a state dict of tensors")
        policy.load_state_dict(state, strict=True)
    except Exception as exc:
        raise ValueError(f"{weights}: not a valid policy state dict for {alias} ({_one_line(exc)})") from None
    policy.to(device)
    policy.set_training_mode(False)
    return policy


# ------------------------------------------------------------------------------- normalization
@dataclass
class _Stats:
    mean: np.ndarray
    var: np.ndarray
    count: float


class ObsNormalizer:
    """Saved ``VecNormalize`` observation statistics with its ``normalize_obs`` (no VecEnv needed).

    ``normalize_obs(obs) = clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)`` as float32,
    exactly SB3's ``VecNormalize.normalize_obs`` (per key for ``Dict`` observations).
    """

    def __init__(
        self,
        obs_rms: _Stats | dict[str, _Stats],
        *,
        clip_obs: float,
        epsilon: float,
        norm_obs: bool,
        norm_obs_keys: list[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.obs_rms = obs_rms
        self.clip_obs = float(clip_obs)
        self.epsilon = float(epsilon)
        self.norm_obs = bool(norm_obs)
        self.norm_obs_keys = norm_obs_keys
        self.training = False
        #: the rest of the saved settings (norm_reward, clip_reward, gamma, return statistics)
        self.extra = dict(extra or {})

    def _normalize(self, obs: np.ndarray, rms: _Stats) -> np.ndarray:
        return np.clip((obs - rms.mean) / np.sqrt(rms.var + self.epsilon), -self.clip_obs, self.clip_obs)

    def normalize_obs(self, obs: Any) -> Any:
        """Normalized copy of ``obs`` (array or dict of arrays)."""
        if not self.norm_obs:
            return obs
        if isinstance(obs, dict) and isinstance(self.obs_rms, dict):
            out = dict(obs)
            for key in self.norm_obs_keys or []:
                out[key] = self._normalize(obs[key], self.obs_rms[key]).astype(np.float32)
            return out
        assert isinstance(self.obs_rms, _Stats)
        return self._normalize(obs, self.obs_rms).astype(np.float32)


def save_vecnormalize(vecnorm: Any, path: str | Path) -> None:
    """Write the statistics and settings of an SB3 ``VecNormalize`` (or :class:`ObsNormalizer`) as ``.npz``."""
    arrays: dict[str, np.ndarray] = {"format": np.asarray(FORMAT_VERSION)}
    rms = vecnorm.obs_rms
    if isinstance(rms, dict):
        keys = list(vecnorm.norm_obs_keys or rms)
        arrays["norm_obs_keys"] = np.asarray(keys, dtype=np.str_)
        for key in keys:
            for field in ("mean", "var", "count"):
                arrays[f"obs_{field}:{key}"] = np.asarray(getattr(rms[key], field), dtype=np.float64)
    else:
        for field in ("mean", "var", "count"):
            arrays[f"obs_{field}"] = np.asarray(getattr(rms, field), dtype=np.float64)
    for name in ("clip_obs", "epsilon", "norm_obs"):
        arrays[name] = np.asarray(getattr(vecnorm, name))
    extra = getattr(vecnorm, "extra", None)
    for name in ("norm_reward", "clip_reward", "gamma"):
        value = getattr(vecnorm, name, None) if extra is None else extra.get(name)
        if value is not None:
            arrays[name] = np.asarray(value)
    ret = getattr(vecnorm, "ret_rms", None)
    if ret is not None:
        for field in ("mean", "var", "count"):
            arrays[f"ret_{field}"] = np.asarray(getattr(ret, field), dtype=np.float64)
    elif extra is not None:
        arrays.update({k: np.asarray(v) for k, v in extra.items() if k.startswith("ret_")})
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_vecnormalize(path: str | Path, observation_space: spaces.Space | None = None) -> ObsNormalizer:
    """Read :func:`save_vecnormalize`'s file with ``allow_pickle=False``.

    Raises:
        ValueError: unreadable file, missing or non-numeric fields, non-finite statistics, or
            statistics whose shape does not match ``observation_space`` (the message names the file).
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:
        raise ValueError(f"{path}: not a readable vecnormalize .npz ({_one_line(exc)})") from None

    def num(name: str, default: Any = None) -> np.ndarray:
        if name not in arrays:
            if default is not None:
                return np.asarray(default)
            raise ValueError(f"{path}: missing field {name!r}")
        arr = arrays[name]
        if arr.dtype.kind not in "biuf" or not np.all(np.isfinite(arr)):
            raise ValueError(f"{path}: field {name!r} must hold finite numbers")
        return arr

    def stats(suffix: str, space: spaces.Space | None) -> _Stats:
        st = _Stats(num(f"obs_mean{suffix}"), num(f"obs_var{suffix}"), float(num(f"obs_count{suffix}")))
        if st.mean.shape != st.var.shape:
            raise ValueError(f"{path}: obs_mean{suffix} and obs_var{suffix} differ in shape")
        if isinstance(space, spaces.Box) and st.mean.shape not in ((), space.shape):
            raise ValueError(
                f"{path}: statistics of shape {st.mean.shape} do not match the observations {space.shape}"
            )
        if np.any(st.var < 0):
            raise ValueError(f"{path}: obs_var{suffix} must be >= 0")
        return st

    if int(num("format")) != FORMAT_VERSION:
        raise ValueError(f"{path}: format must be {FORMAT_VERSION}")
    keys: list[str] | None = None
    obs_rms: _Stats | dict[str, _Stats]
    if "norm_obs_keys" in arrays:
        if arrays["norm_obs_keys"].dtype.kind != "U":
            raise ValueError(f"{path}: norm_obs_keys must be strings")
        keys = [str(k) for k in arrays["norm_obs_keys"].reshape(-1)]
        subs = observation_space.spaces if isinstance(observation_space, spaces.Dict) else {}
        obs_rms = {k: stats(f":{k}", subs.get(k)) for k in keys}
    else:
        obs_rms = stats("", observation_space)
    clip_obs, epsilon = float(num("clip_obs")), float(num("epsilon"))
    if not (clip_obs > 0 and epsilon >= 0 and math.isfinite(clip_obs)):
        raise ValueError(f"{path}: clip_obs must be > 0 and epsilon >= 0")
    extra = {k: v.item() if v.ndim == 0 else v for k, v in arrays.items() if k.startswith("ret_")}
    for name in ("norm_reward", "clip_reward", "gamma"):
        if name in arrays:
            extra[name] = num(name).item()
    return ObsNormalizer(
        obs_rms,
        clip_obs=clip_obs,
        epsilon=epsilon,
        norm_obs=bool(num("norm_obs")),
        norm_obs_keys=keys,
        extra=extra,
    )


# ------------------------------------------------------------------------ shipped checkpoints
def checkpoints_dir() -> Path:
    """The folder of the shipped checkpoints: package data of ``isac_gym.agents`` (``agents/checkpoints/``
    in the repository), found through :mod:`importlib.resources`, so it works after ``pip install``
    from any working directory."""
    from importlib.resources import files

    return Path(str(files("isac_gym.agents"))) / "checkpoints"


def shipped_checkpoint_names() -> list[str]:
    """Names of the shipped run folders (``<algo>_<EnvName>``, each with a ``config.yaml``), sorted."""
    root = checkpoints_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.yaml").is_file())


def resolve_run_folder(path_or_name: str | Path) -> Path:
    """A run folder (or its ``model.zip``) from a path or the name of a shipped checkpoint.

    An existing path is used as it is; otherwise a bare name (no path separator) of a shipped
    checkpoint (:func:`shipped_checkpoint_names`, e.g. ``"ppo_RydbergISAC-v0"``) resolves to its
    folder under :func:`checkpoints_dir`.

    Raises:
        FileNotFoundError: neither an existing path nor a shipped name; the message lists the names.
    """
    p = Path(path_or_name)
    if p.exists():
        return p
    text = str(path_or_name)
    if "/" not in text and "\\" not in text and text in shipped_checkpoint_names():
        return checkpoints_dir() / text
    raise FileNotFoundError(
        f"no run folder or checkpoint at {text!r}, and no shipped checkpoint of that name "
        f"(shipped: {', '.join(shipped_checkpoint_names()) or 'none'})"
    )
