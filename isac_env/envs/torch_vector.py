"""Torch vector environments: B episodes whose state lives on a torch device (CPU or CUDA).

``gym.make_vec(id, num_envs=B, backend="torch", device="cuda", dtype=torch.complex64)`` builds these
for every id (the ``backend`` keyword of the NumPy vector entry points dispatches here). They run
the same task functions as the single and the NumPy vector environments
(:class:`~isac_env.envs.rydberg.RydbergTask`, :class:`~isac_env.envs.robust.RobustTask`) on torch
tensors, so there is no second copy of any equation.

Tensors end to end, in the style of CleanRL's and TorchRL's GPU loops: :meth:`step` takes the
actions as tensors (a Box action ``[B, n]``; for discrete-phase ids a dict with ``"precoder"``
``[B, n_w]`` and the integer level indices ``"phases"`` ``[B, N]``), and returns observations
float32 ``[B, D]``, rewards ``[B]`` (float32 for complex64, float64 for complex128), terminations
and truncations bool ``[B]`` and the info dict, all on the env's device. NumPy actions (e.g.
``env.action_space.sample()``) are accepted and copied to the device once. Nothing in a step
synchronises the device with the host: the episode clocks are deterministic (every episode is
truncated at ``horizon``, none terminates), so the host keeps a copy of them and knows which
sub-envs reset without reading the device. Action values (finiteness, phase indices on the grid)
are checked only with ``check_actions=True``, which costs one host synchronisation per step;
shapes and dtypes are always checked.

Randomness: one counter-based stream per sub-env (:class:`~isac_env.physics.random.BatchGenerator`),
seeded like the NumPy vector env (``reset(seed=s)`` gives sub-env i the seed ``s + i``); scenario
draws, Gauss-Markov innovations, channel-bank picks and RobustISAC's Monte-Carlo error draws are
taken on the device, batched over the sub-envs concerned, each row from its own stream. Sub-env i's
trajectory depends only on its seed and its actions (not on B or the other rows). The draws differ
from the NumPy envs' (``np.random.Generator``) streams but follow the same distributions.

``channel_bank=`` (a :class:`~isac_env.bank.ChannelBank`, its ``.to("torch", ...)`` conversion or
an ``.npz`` path) is converted to the device once; a reset then gathers rows of it on the device.
The bank index of a reset is ``floor(u S)`` with ``u`` the sub-env stream's next float64 uniform.

Autoreset: Gymnasium's ``NEXT_STEP`` (default) and ``SAME_STEP`` as in
:mod:`isac_env.envs.vector`, and ``DISABLED`` (``reset(options={"reset_mask": mask})``). Infos follow
Gymnasium's vector layout with tensors: ``info["metrics"]["sum_rate"]`` ``[B]`` (zeros where
masked) and the bool mask ``info["metrics"]["_sum_rate"]``; with ``SAME_STEP``,
``info["final_obs"]`` is a float32 ``[B, D]`` tensor (zeros outside ``info["_final_obs"]``) and
``info["final_info"]`` the last transition's info.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ..bank import ChannelBank, TorchChannelBank, as_channel_bank
from ..config import EnvConfig, RobustISACConfig, RydbergISACConfig
from ..physics import rar, robust
from ..physics.random import BatchGenerator
from .base import check_reset_options
from .robust import RobustTask
from .rydberg import RydbergTask
from .vector import step_reset_mask, sub_env_seeds

__all__ = [
    "TorchISACVectorEnv",
    "TorchRobustISACVectorEnv",
    "TorchRydbergISACVectorEnv",
    "resolve_dtype",
]


def resolve_dtype(dtype: Any) -> Any:
    """``dtype`` (``torch.complex64`` / ``torch.complex128``, NumPy's, or their names) as a torch
    complex dtype; ``None`` gives complex64.

    Raises:
        ValueError: any other dtype.
    """
    if dtype is None:
        return torch.complex64
    name = str(dtype).replace("torch.", "").replace("<class 'numpy.", "").rstrip("'>")
    if dtype is np.complex64 or name == "complex64":
        return torch.complex64
    if dtype is np.complex128 or name == "complex128":
        return torch.complex128
    raise ValueError(f"dtype must be complex64 or complex128 (torch or NumPy), got {dtype!r}")


def _tensor_fields(scenario: Any) -> list[str]:
    return [
        f.name for f in dataclasses.fields(scenario) if isinstance(getattr(scenario, f.name), torch.Tensor)
    ]


def _with_fields(scenario: Any, fields: dict[str, Any]) -> Any:
    """Copy of a (frozen) scenario dataclass with some tensor fields replaced (no re-validation)."""
    new = copy.copy(scenario)
    for name, value in fields.items():
        object.__setattr__(new, name, value)
    return new


def _gather(scenario: Any, idx: Any) -> Any:
    """Rows ``idx`` (index tensor) of a batched torch scenario."""
    return _with_fields(
        scenario, {n: getattr(scenario, n).index_select(0, idx) for n in _tensor_fields(scenario)}
    )


def _scatter(scenario: Any, idx: Any, new: Any) -> Any:
    """Copy of a batched torch scenario with rows ``idx`` replaced by the batched ``new`` (out of place)."""
    return _with_fields(
        scenario,
        {n: getattr(scenario, n).index_copy(0, idx, getattr(new, n)) for n in _tensor_fields(scenario)},
    )


class TorchISACVectorEnv(VectorEnv):
    """Batched episode shell on a torch device; the task subclasses supply the draws.

    Subclasses set ``task`` and implement :meth:`_draw_rows` (fresh scenarios on the device),
    :meth:`_age_rows` (one Gauss-Markov step), :meth:`_decode` (actions -> design) and
    :meth:`_metrics` (the task metrics of a design, with the step's draws where the task has any).

    Args:
        num_envs: number of sub-environments B.
        task: the task's pure functions (:class:`RydbergTask` / :class:`RobustTask`).
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"`` (or the enum).
        device: torch device (``"cpu"``, ``"cuda"``, ...; default CPU).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``: the precision of the channels
            and of every computation; observations are float32 either way.
        channel_bank: optional bank (see the module docstring).
        check_actions: also check action values each step (one host synchronisation per step).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    task: Any

    def __init__(
        self,
        num_envs: int,
        task: Any,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        device: Any = None,
        dtype: Any = None,
        channel_bank: Any = None,
        check_actions: bool = False,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        try:
            mode = (
                autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else AutoresetMode(autoreset_mode)
            )
        except ValueError:
            raise ValueError(
                f"autoreset_mode must be one of {[m.value for m in AutoresetMode]}, got {autoreset_mode!r}"
            ) from None
        self.task = task
        self.config = task.config
        self.env_config: EnvConfig = task.env_config
        self.num_envs = B = int(num_envs)
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.device = torch.device("cpu" if device is None else device)
        self.dtype = resolve_dtype(dtype)
        self.real_dtype = torch.float32 if self.dtype == torch.complex64 else torch.float64
        self.check_actions = bool(check_actions)
        self.single_observation_space = task.observation_space()
        self.single_action_space = task.action_space()
        self.observation_space = batch_space(self.single_observation_space, B)
        self.action_space = batch_space(self.single_action_space, B)
        self.channel_bank = self._convert_bank(channel_bank)
        # one counter-based stream per sub-env; reseeded by reset(seed=...), random until then
        self._gen = BatchGenerator(self._fresh_seeds(B), device=self.device, dtype=self.dtype)
        # host copies of the episode clocks (deterministic: no device read needed)
        self._t = np.zeros(B, dtype=np.int64)
        self._autoreset = np.zeros(B, dtype=np.bool_)
        self._scenario: Any = None
        self._phi_prev: Any = None
        self._terms: Any = None
        self._features: Any = None
        self._obs: Any = None

    # ------------------------------------------------------------------ hooks
    def _draw_rows(self, idx: Any) -> Any:
        """Fresh scenarios for sub-envs ``idx`` (index tensor), batched ``[len(idx)]``."""
        raise NotImplementedError

    def _age_rows(self, scenario: Any, idx: Any) -> Any:
        """One Gauss-Markov step of ``scenario`` (the rows ``idx``), innovations from their streams."""
        raise NotImplementedError

    def _decode(self, scenario: Any, actions: Any) -> tuple[Any, Any]:
        """Validate and decode a batch of action tensors ``[B, ...]`` into ``(W, phi)``."""
        raise NotImplementedError

    def _metrics(self, scenario: Any, W: Any, phi: Any, step_idx: Any, all_rows: bool) -> dict[str, Any]:
        """The task metrics of ``(W, phi)`` over all B rows; only the rows ``step_idx`` are kept."""
        raise NotImplementedError

    def _convert_bank(self, bank: Any) -> TorchChannelBank | None:
        if bank is None:
            return None
        if isinstance(bank, TorchChannelBank):
            bank.source.check_config(self.config)
            return bank.to("torch", device=self.device, dtype=self.dtype)
        bank = as_channel_bank(bank, self.config)
        return bank.to("torch", device=self.device, dtype=self.dtype)  # type: ignore[union-attr]

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _fresh_seeds(n: int) -> list[int]:
        return [int(s) for s in np.random.SeedSequence().generate_state(n, dtype=np.uint64)]

    @property
    def scenario(self) -> Any:
        """The current channels, batched over the B sub-envs (torch tensors on the device)."""
        if self._scenario is None:
            raise RuntimeError("call reset() before accessing the scenario")
        return self._scenario

    def _index(self, rows: np.ndarray) -> Any:
        return torch.as_tensor(rows, dtype=torch.int64, device=self.device)

    def _mask(self, mask: np.ndarray) -> Any:
        return torch.as_tensor(mask, dtype=torch.bool, device=self.device)

    def _sample_rows(self, idx: Any) -> Any:
        bank = self.channel_bank
        if bank is not None:
            return bank.take(bank.draw_index(self._gen.rows(idx)))
        return self._draw_rows(idx)

    def _set_rows(self, idx: Any, n_rows: int, new: Any) -> None:
        if n_rows == self.num_envs:
            self._scenario = new
        else:
            self._scenario = _scatter(self._scenario, idx, new)

    def _reset_rows(self, rows: np.ndarray, scenario: Any = None) -> None:
        """Reset sub-envs ``rows`` (host indices): new scenarios, clocks, phases, observation rows."""
        idx = self._index(rows)
        n = rows.size
        if scenario is None:
            scenario = self._sample_rows(idx)
        self._set_rows(idx, n, scenario)
        self._t[rows] = 0
        self._autoreset[rows] = False
        phi0 = torch.ones((n, self.task.N), dtype=self.dtype, device=self.device)
        feats = self.task.scenario_features(scenario)
        obs = self.task.observe(scenario, feats, phi0, None)
        if n == self.num_envs:
            self._phi_prev, self._features, self._obs = phi0, feats, obs
        else:
            self._phi_prev = self._phi_prev.index_copy(0, idx, phi0)
            self._features = self._features.index_copy(0, idx, feats)
            self._obs = self._obs.index_copy(0, idx, obs)

    def _as_actions(self, actions: Any) -> Any:
        """Actions as tensors on the device (NumPy / lists copied once; tensors moved if needed)."""

        def conv(a: Any) -> Any:
            if isinstance(a, torch.Tensor):
                return a if a.device == self.device else a.to(self.device)
            arr = np.asarray(a)
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"actions must be real numeric arrays or tensors, got dtype {arr.dtype}")
            return torch.as_tensor(arr, device=self.device)

        if isinstance(actions, dict):
            return {k: conv(v) for k, v in actions.items()}
        return conv(actions)

    # ------------------------------------------------------------------ API
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset all sub-envs (or those of ``options["reset_mask"]``).

        Args:
            seed: ``None`` (keep each sub-env's stream), an int (sub-env i gets ``seed + i``) or a
                list of B ints/None.
            options: ``{"reset_mask": bool [B]}`` (NumPy array or tensor) resets only those rows;
                ``{"scenario": s}`` replays a batched scenario (NumPy or torch, one row per reset
                sub-env; converted to the env's device and precision) instead of drawing.

        Returns:
            ``(obs float32 [B, D] on the device, {})``.

        Raises:
            ValueError: an unknown key in ``options``, a bad ``reset_mask`` or seed list.
        """
        B = self.num_envs
        seeds = sub_env_seeds(seed, B)
        options = dict(check_reset_options(options, ("reset_mask", "scenario")))
        mask = options.pop("reset_mask", None)
        if mask is None:
            mask = np.ones(B, dtype=np.bool_)
        else:
            if isinstance(mask, torch.Tensor):
                mask = mask.detach().cpu().numpy()
            if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (B,):
                raise ValueError(f"options['reset_mask'] must be a bool array or tensor of shape ({B},)")
            if not mask.any():
                raise ValueError("options['reset_mask'] must contain at least one True value")
        rows = np.flatnonzero(mask)
        if self._scenario is None and rows.size != B:
            raise ValueError("the first reset() must reset every sub-env (no options['reset_mask'])")
        seeded = [int(i) for i in rows if seeds[i] is not None]
        if seeded:
            self._gen.reseed(self._index(np.asarray(seeded)), [seeds[i] for i in seeded])
        if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            self._np_random, self._np_random_seed = seeding.np_random(int(seed))
        scenario = options.get("scenario")
        if scenario is not None:
            scenario = scenario.to("torch", device=self.device, dtype=self.dtype)
        self._reset_rows(rows, scenario)
        return self._obs, {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Step every sub-env; done sub-envs autoreset per ``metadata["autoreset_mode"]``.

        Returns:
            ``(obs float32 [B, D], reward [B], terminated bool [B], truncated bool [B], info)``, all
            tensors on the device (``reward`` in the env's real dtype).
        """
        if self._scenario is None:
            raise RuntimeError("call reset() before step()")
        B = self.num_envs
        mode = self.autoreset_mode
        reset_mask = step_reset_mask(mode, self._autoreset)
        stepped = ~reset_mask
        step_rows = np.flatnonzero(stepped)
        all_rows = step_rows.size == B
        truncations = np.zeros(B, dtype=np.bool_)
        rewards = torch.zeros(B, dtype=self.real_dtype, device=self.device)
        values: dict[str, Any] = {}

        # every row's action is decoded (rows that autoreset ignore theirs, but a malformed batch
        # is still an error); the maths runs on all B rows and the rows that reset are masked out
        sc = self._scenario
        W, phi = self._decode(sc, self._as_actions(actions))
        if step_rows.size:
            step_idx = self._index(step_rows)
            step_mask = None if all_rows else self._mask(stepped)
            metrics = self._metrics(sc, W, phi, step_idx, all_rows)
            reward, terms, cost = self.task.reward(metrics)
            self._t[step_rows] += 1
            truncations[step_rows] = self._t[step_rows] >= self.env_config.horizon
            rewards = reward if all_rows else _where_rows(step_mask, reward)
            self._phi_prev = phi if all_rows else _where_rows(step_mask, phi, self._phi_prev)
            age = stepped & ~truncations
            # the phase terms of the metrics serve the observation where every row kept its channel
            # and played phi (a task's step_terms, set by _metrics; None for tasks without them)
            step_terms, self._terms = self._terms, None
            if not all_rows:
                step_terms = None
            if self.env_config.channel_dynamics == "gauss_markov" and age.any():
                step_terms = None
                age_rows = np.flatnonzero(age)
                age_idx = self._index(age_rows)
                full = age_rows.size == B
                aged = self._age_rows(sc if full else _gather(sc, age_idx), age_idx)
                self._set_rows(age_idx, age_rows.size, aged)
                feats = self.task.scenario_features(aged)
                self._features = feats if full else self._features.index_copy(0, age_idx, feats)
                sc = self._scenario
            if step_terms is None:
                obs = self.task.observe(sc, self._features, self._phi_prev, metrics)
            else:
                obs = self.task.observe(sc, self._features, self._phi_prev, metrics, step_terms)
            self._obs = obs if all_rows else _where_rows(step_mask, obs, self._obs)
            values = {"metrics": metrics, "reward_terms": terms, "cost": cost, "feasible": cost == 0.0}
        if reset_mask.any():
            self._reset_rows(np.flatnonzero(reset_mask))

        done = truncations  # never terminated
        if mode == AutoresetMode.SAME_STEP and done.any():
            done_t = self._mask(done)
            infos = self._vector_info(values, stepped & ~done)
            infos["final_obs"] = _where_rows(done_t, self._obs)
            infos["_final_obs"] = done_t
            infos["final_info"] = self._vector_info(values, stepped & done)
            infos["_final_info"] = done_t
            self._reset_rows(np.flatnonzero(done))
            self._autoreset[:] = False
        else:
            infos = self._vector_info(values, stepped)
            self._autoreset = done
        terminations = torch.zeros(B, dtype=torch.bool, device=self.device)
        return self._obs, rewards, terminations, self._mask(truncations), infos

    def _vector_info(self, values: dict[str, Any], mask_host: np.ndarray) -> dict[str, Any]:
        """Gymnasium's vector info of per-row tensors ``values`` ``[B, ...]``: the rows of ``mask_host``
        kept, the others zeroed, a bool mask ``_key`` per key (no key at all when no row is kept)."""
        if not values or not mask_host.any():
            return {}
        mask = self._mask(mask_host)
        full = bool(mask_host.all())

        def layout(d: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, value in d.items():
                out[key] = (
                    layout(value)
                    if isinstance(value, dict)
                    else (value if full else _where_rows(mask, value))
                )
                out[f"_{key}"] = mask
            return out

        return layout(values)


def _where_rows(mask: Any, new: Any, old: Any = None) -> Any:
    """``new`` on the rows of ``mask`` ``[B]`` and ``old`` (zeros by default) elsewhere."""
    m = mask.reshape(mask.shape[0], *([1] * (new.ndim - 1)))
    return torch.where(m, new, torch.zeros_like(new) if old is None else old)


# --------------------------------------------------------------------------- RydbergISAC
class TorchRydbergISACVectorEnv(TorchISACVectorEnv):
    """B RydbergISAC episodes on a torch device (``gym.make_vec(id, num_envs=B, backend="torch")``).

    Same task, spaces (batched), reward and info keys as
    :class:`~isac_env.envs.vector.RydbergISACVectorEnv`, with tensors; see the module docstring.
    Fresh scenarios are drawn on the device by :func:`~isac_env.physics.rar.sample_scenario` with
    the sub-envs' :class:`~isac_env.physics.random.BatchGenerator` rows (or taken from
    ``channel_bank``).

    Args:
        num_envs: number of sub-environments B.
        config: scenario parameters (fields may also be given as keyword arguments).
        env_config: episode parameters (fields may also be given as keyword arguments).
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"`` (or the enum).
        device: torch device (default ``"cpu"``).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        channel_bank: a :class:`~isac_env.bank.ChannelBank` (or its torch conversion, or an ``.npz``
            path) of the same config; resets gather scenarios from it on the device.
        check_actions: check action values every step (one host synchronisation per step).
        render_mode: must be ``None``.
        **kwargs: fields of :class:`RydbergISACConfig` / :class:`EnvConfig`.
    """

    def __init__(
        self,
        num_envs: int = 1,
        config: RydbergISACConfig | None = None,
        env_config: EnvConfig | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        device: Any = None,
        dtype: Any = None,
        channel_bank: ChannelBank | TorchChannelBank | str | os.PathLike[str] | None = None,
        check_actions: bool = False,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        task = RydbergTask.from_kwargs(config, env_config, kwargs)
        super().__init__(num_envs, task, autoreset_mode, device, dtype, channel_bank, check_actions)

    def _draw_rows(self, idx: Any) -> rar.RydbergScenario:
        return rar.sample_scenario(self.config, self._gen.rows(idx))

    def _age_rows(self, scenario: rar.RydbergScenario, idx: Any) -> rar.RydbergScenario:
        return rar.age_scenario(scenario, self.config, self._gen.rows(idx), self.env_config.gm_correlation)

    def _decode(self, scenario: rar.RydbergScenario, actions: Any) -> tuple[Any, Any]:
        kw = {"check_values": self.check_actions, "dtype": self.real_dtype}
        return self.task.decode(actions, scenario.P_max, (self.num_envs,), **kw)

    def _metrics(self, scenario: Any, W: Any, phi: Any, step_idx: Any, all_rows: bool) -> dict[str, Any]:
        self._terms = self.task.step_terms(scenario, phi)
        return self.task.metrics(scenario, W, phi, self._terms)


# --------------------------------------------------------------------------- RobustISAC
class TorchRobustISACVectorEnv(TorchISACVectorEnv):
    """B RobustISAC episodes on a torch device (``gym.make_vec(id, num_envs=B, backend="torch")``).

    Same task, spaces (batched), reward and info keys as
    :class:`~isac_env.envs.vector.RobustISACVectorEnv`, with tensors; see the module docstring. Each
    step draws the ``config.mc_draws`` Monte-Carlo error draws of every stepping sub-env from its
    own stream on the device (:func:`~isac_env.physics.robust.draw_mc` with the sub-envs'
    :class:`~isac_env.physics.random.BatchGenerator` rows) and evaluates the batch in one call of
    :func:`~isac_env.physics.robust.evaluate_draws`.

    Args:
        num_envs: number of sub-environments B.
        config: scenario/task parameters (fields may also be given as keyword arguments).
        env_config: episode parameters (fields may also be given as keyword arguments).
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"`` (or the enum).
        device: torch device (default ``"cpu"``).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        channel_bank: a :class:`~isac_env.bank.ChannelBank` of RobustISAC scenarios of the same config
            (or its torch conversion, or an ``.npz`` path).
        check_actions: check action values every step (one host synchronisation per step).
        render_mode: must be ``None``.
        **kwargs: fields of :class:`RobustISACConfig` / :class:`EnvConfig`.
    """

    def __init__(
        self,
        num_envs: int = 1,
        config: RobustISACConfig | None = None,
        env_config: EnvConfig | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        device: Any = None,
        dtype: Any = None,
        channel_bank: ChannelBank | TorchChannelBank | str | os.PathLike[str] | None = None,
        check_actions: bool = False,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        task = RobustTask.from_kwargs(config, env_config, kwargs)
        super().__init__(num_envs, task, autoreset_mode, device, dtype, channel_bank, check_actions)

    def _draw_rows(self, idx: Any) -> robust.RobustScenario:
        return robust.sample_scenario(self.config, self._gen.rows(idx))

    def _age_rows(self, scenario: robust.RobustScenario, idx: Any) -> robust.RobustScenario:
        return robust.age_scenario(scenario, self.config, self._gen.rows(idx), self.env_config.gm_correlation)

    def _decode(self, scenario: robust.RobustScenario, actions: Any) -> tuple[Any, Any]:
        kw = {"check_values": self.check_actions, "dtype": self.real_dtype}
        return self.task.decode(actions, (self.num_envs,), **kw)

    def _mc_draws(self, scenario: robust.RobustScenario, step_idx: Any, all_rows: bool) -> robust.MCDraws:
        """The Monte-Carlo draws of one step ``[D, B, ...]``: the stepping rows from their own streams,
        zeros for the rows that reset (their results are discarded)."""
        c = self.config
        if all_rows:
            return robust.draw_mc(scenario, self._gen, c.mc_draws, c.mc_method)
        sub = robust.draw_mc(_gather(scenario, step_idx), self._gen.rows(step_idx), c.mc_draws, c.mc_method)

        def full(x: Any) -> Any:  # [D, b, ...] -> [D, B, ...]
            out = x.new_zeros((x.shape[0], self.num_envs, *x.shape[2:]))
            return out.index_copy(1, step_idx, x)

        return robust.MCDraws(method=sub.method, rate=tuple(full(x) for x in sub.rate), alpha=full(sub.alpha))

    def _metrics(self, scenario: Any, W: Any, phi: Any, step_idx: Any, all_rows: bool) -> dict[str, Any]:
        return self.task.metrics(scenario, W, phi, self._mc_draws(scenario, step_idx, all_rows))
