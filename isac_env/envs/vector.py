"""Native batched vector environments: B episodes stepped with array operations.

``gym.make_vec(id, num_envs=B)`` builds these (each id's ``vector_entry_point``). The physics is
called once per step with a leading batch axis ``[B, ...]`` through the same task functions the
single environments use (:class:`~isac_env.envs.rydberg.RydbergTask`,
:class:`~isac_env.envs.robust.RobustTask`), so sub-env ``i`` of
``make_vec(id, num_envs=B)`` reset with ``seed`` reproduces ``make(id)`` reset with ``seed + i``
(observations, rewards, truncations and infos, exactly up to NumPy summation order, < 1e-12).

Randomness: every sub-env owns its ``np.random.Generator`` (``seeding.np_random(seed + i)``, as
``SyncVectorEnv`` would create it); scenario draws and Gauss-Markov innovations are taken from it
row by row, the maths on the drawn arrays is batched (RobustISAC's per-step Monte-Carlo error draws
too: :func:`~isac_env.physics.robust.draw_mc_rows`). With ``channel_bank=`` a reset takes a
scenario from a pre-generated :class:`~isac_env.bank.ChannelBank` (index drawn from the sub-env's
generator) instead of drawing one, which removes the draw cost from long trainings.

Autoreset: Gymnasium 1.x semantics, selected with ``autoreset_mode`` (``metadata["autoreset_mode"]``
reports it): ``NEXT_STEP`` (default; the step after a done step resets that sub-env, ignoring its
action, and returns reward 0), ``SAME_STEP`` (the done step resets at once; ``info["final_obs"]``
and ``info["final_info"]`` carry the last transition) and ``DISABLED`` (reset done sub-envs with
``reset(options={"reset_mask": mask})``).

Infos follow Gymnasium's vector layout: ``info[key]`` is an array over sub-envs with a boolean mask
``info["_" + key]``, nested dicts recursively (``info["metrics"]["sum_rate"]``,
``info["metrics"]["_sum_rate"]``). Per-user metrics are ``[B, K]`` float arrays (``SyncVectorEnv``
would give object arrays of lists).
"""

from __future__ import annotations

import dataclasses
import os
from abc import abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from .. import codecs
from ..bank import ChannelBank, as_channel_bank
from ..config import EnvConfig, RobustISACConfig, RydbergISACConfig
from ..physics import rar, robust
from .base import check_reset_options
from .robust import RobustTask
from .rydberg import RydbergTask

__all__ = [
    "ISACVectorEnv",
    "RobustISACVectorEnv",
    "RydbergISACVectorEnv",
    "scenario_rows",
    "set_scenario_rows",
    "stack_rows",
    "step_reset_mask",
    "sub_env_seeds",
]

ScenarioT = TypeVar("ScenarioT")
Rows = NDArray[np.intp]


# --------------------------------------------------------------------------- scenario rows
def _array_fields(scenario: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(scenario) if isinstance(getattr(scenario, f.name), np.ndarray)]


def scenario_rows(scenario: ScenarioT, rows: Rows) -> ScenarioT:
    """Rows ``rows`` of a batched scenario dataclass (leading axis of every array field)."""
    return dataclasses.replace(scenario, **{n: getattr(scenario, n)[rows] for n in _array_fields(scenario)})


def set_scenario_rows(scenario: ScenarioT, rows: Rows, new: ScenarioT) -> ScenarioT:
    """Copy of the batched ``scenario`` with rows ``rows`` replaced by the batched ``new``."""
    changes = {}
    for n in _array_fields(scenario):
        a = np.array(getattr(scenario, n), copy=True)
        a[rows] = getattr(new, n)
        changes[n] = a
    return dataclasses.replace(scenario, **changes)


def stack_rows(scenarios: list[ScenarioT]) -> ScenarioT:
    """Stack unbatched scenario dataclasses along a new leading axis."""
    first = scenarios[0]
    return dataclasses.replace(
        first, **{n: np.stack([getattr(s, n) for s in scenarios]) for n in _array_fields(first)}
    )


def step_reset_mask(mode: AutoresetMode, autoreset: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The sub-envs that a step resets instead of stepping: the done ones under ``NEXT_STEP``, none
    otherwise (reset at once under ``SAME_STEP``; by the user under ``DISABLED``).

    Raises:
        RuntimeError: ``DISABLED`` with done sub-envs that were not reset.
    """
    if mode == AutoresetMode.NEXT_STEP:
        return autoreset.copy()
    if mode == AutoresetMode.DISABLED and autoreset.any():
        raise RuntimeError(
            "sub-envs "
            f"{np.flatnonzero(autoreset).tolist()} are done; with autoreset_mode=DISABLED "
            "reset them with reset(options={'reset_mask': mask}) before stepping"
        )
    return np.zeros(autoreset.shape, dtype=np.bool_)


def sub_env_seeds(seed: Any, num_envs: int) -> list[int | None]:
    """The reset seed of each sub-env: ``seed + i`` for an int ``seed``, ``None`` for each with no
    seed, or a given list of ``num_envs`` ints/None.

    Raises:
        ValueError: a seed list of another length.
    """
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"seed list must have length num_envs={num_envs}, got {len(seeds)}")
    return seeds


def _masked(values: Any, mask: NDArray[np.bool_], rows: Rows, num_envs: int) -> NDArray:
    """Full-batch array with ``values`` (over ``rows``) at ``rows`` and zeros elsewhere."""
    values = np.asarray(values)
    out = np.zeros((num_envs, *values.shape[1:]), dtype=values.dtype)
    out[rows] = values
    return out


def _vector_info(info: dict[str, Any], rows: Rows, num_envs: int) -> dict[str, Any]:
    """Gymnasium's vector info (arrays + ``_key`` masks) of per-row values given over ``rows``."""
    mask = np.zeros(num_envs, dtype=np.bool_)
    mask[rows] = True
    out: dict[str, Any] = {}
    for key, value in info.items():
        out[key] = (
            _vector_info(value, rows, num_envs)
            if isinstance(value, dict)
            else _masked(value, mask, rows, num_envs)
        )
        out[f"_{key}"] = mask.copy()
    return out


def _restrict_info(info: dict[str, Any], keep: NDArray[np.bool_]) -> dict[str, Any]:
    """Vector info with the rows outside ``keep`` masked out and zeroed; keys left with no row dropped."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info[f"_{key}"] & keep
        if not mask.any():
            continue
        if isinstance(value, dict):
            out[key] = _restrict_info(value, keep)
        else:
            v = np.array(value, copy=True)
            v[~mask] = None if v.dtype == object else 0
            out[key] = v
        out[f"_{key}"] = mask
    return out


# --------------------------------------------------------------------------- base
class ISACVectorEnv(VectorEnv, Generic[ScenarioT]):
    """Batched episode shell: per-sub-env generators and clocks, autoreset, vector infos.

    Subclasses implement the batched hooks (``rows`` are sub-env indices, scenarios batched over
    them): ``_sample_rows``, ``_age_rows``, ``_on_new_scenario``, ``_step_rows`` and
    ``_write_tail``. The shell owns ``self._scenario`` (batched over all B sub-envs) and the
    observation buffer ``self._obs`` ``[B, D]``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int,
        env_config: EnvConfig,
        single_observation_space: Any,
        single_action_space: Any,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        copy: bool = True,
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
        if not isinstance(copy, bool | np.bool_):
            raise TypeError(f"copy must be a bool, got {type(copy).__name__} {copy!r}")
        self.num_envs = int(num_envs)
        self.env_config = env_config
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.copy = bool(copy)
        self.single_observation_space = single_observation_space
        self.single_action_space = single_action_space
        self.observation_space = batch_space(single_observation_space, self.num_envs)
        self.action_space = batch_space(single_action_space, self.num_envs)
        B = self.num_envs
        self._rngs: list[np.random.Generator | None] = [None] * B
        self._t = np.zeros(B, dtype=np.int64)
        self._autoreset = np.zeros(B, dtype=np.bool_)
        self._obs = np.zeros((B, *single_observation_space.shape), dtype=single_observation_space.dtype)
        self._scenario: ScenarioT | None = None

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _sample_rows(self, rngs: list[np.random.Generator]) -> ScenarioT:
        """New scenarios, one per generator, batched ``[len(rngs)]``."""

    @abstractmethod
    def _age_rows(self, scenario: ScenarioT, rngs: list[np.random.Generator]) -> ScenarioT:
        """One Gauss-Markov ageing step of the batched ``scenario``, row i drawing from ``rngs[i]``."""

    @abstractmethod
    def _on_new_scenario(self, rows: Rows, scenario: ScenarioT, reset: bool) -> None:
        """Refresh per-scenario state of ``rows`` (``scenario`` is theirs); write their CSI features
        into ``self._obs`` when they do not depend on the action."""

    @abstractmethod
    def _step_rows(
        self, rows: Rows, scenario: ScenarioT, actions: Any
    ) -> tuple[dict[str, NDArray], NDArray[np.float64], dict[str, NDArray], NDArray[np.float64]]:
        """Decode and evaluate ``actions`` (batched over ``rows``); return ``(metrics, reward,
        reward_terms, cost)`` arrays over ``rows``."""

    @abstractmethod
    def _check_actions(self, actions: Any) -> None:
        """Validate a full batch of actions ``[B, ...]`` (``ValueError`` if malformed)."""

    @abstractmethod
    def _write_obs(self, rows: Rows, scenario: ScenarioT, metrics: dict[str, NDArray] | None) -> None:
        """Write the observation rows ``rows`` into ``self._obs`` after a reset (``metrics=None``)
        or a step."""

    # ------------------------------------------------------------------ helpers
    @property
    def scenario(self) -> ScenarioT:
        """The current channels, batched over the B sub-envs (read-only arrays)."""
        if self._scenario is None:
            raise RuntimeError("call reset() before accessing the scenario")
        return self._scenario

    def _rows_of(self, scenario: ScenarioT, rows: Rows) -> ScenarioT:
        return scenario if rows.size == self.num_envs else scenario_rows(scenario, rows)

    def _set_rows(self, rows: Rows, new: ScenarioT) -> None:
        if rows.size == self.num_envs or self._scenario is None:
            self._scenario = new
        else:
            self._scenario = set_scenario_rows(self._scenario, rows, new)

    def _rng(self, i: int) -> np.random.Generator:
        if self._rngs[i] is None:
            self._rngs[i] = seeding.np_random()[0]
        return self._rngs[i]  # type: ignore[return-value]

    def _reset_rows(self, rows: Rows, scenario: ScenarioT | None = None) -> None:
        if scenario is None:
            scenario = self._sample_rows([self._rng(int(i)) for i in rows])
        self._set_rows(rows, scenario)
        self._t[rows] = 0
        self._autoreset[rows] = False
        self._on_new_scenario(rows, scenario, reset=True)
        self._write_obs(rows, scenario, None)

    def _out_obs(self) -> NDArray:
        return self._obs.copy() if self.copy else self._obs

    @staticmethod
    def _action_rows(actions: Any, rows: Rows, all_rows: bool) -> Any:
        if all_rows:
            return actions
        if isinstance(actions, dict):
            return {k: np.asarray(v)[rows] for k, v in actions.items()}
        return np.asarray(actions)[rows]

    # ------------------------------------------------------------------ API
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray, dict[str, Any]]:
        """Reset all sub-envs (or those of ``options["reset_mask"]``).

        Args:
            seed: ``None`` (keep each sub-env's generator; fresh random ones on first use), an int
                (sub-env i gets ``seed + i``) or a list of B ints/None.
            options: ``{"reset_mask": bool [B]}`` resets only those rows; ``{"scenario": s}``
                replays a batched scenario (one row per reset sub-env) instead of drawing.

        Returns:
            ``(obs [B, D], {})``.

        Raises:
            ValueError: an unknown key in ``options``, a bad ``reset_mask`` or seed list.
        """
        B = self.num_envs
        seeds = sub_env_seeds(seed, B)
        options = dict(check_reset_options(options, ("reset_mask", "scenario")))
        mask = options.pop("reset_mask", None)
        if mask is None:
            mask = np.ones(B, dtype=np.bool_)
        elif not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (B,):
            raise ValueError(f"options['reset_mask'] must be a bool numpy array of shape ({B},)")
        elif not mask.any():
            raise ValueError("options['reset_mask'] must contain at least one True value")
        rows = np.flatnonzero(mask)
        for i in rows:
            if seeds[i] is not None:
                self._rngs[i] = seeding.np_random(seeds[i])[0]
        if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            self._np_random, self._np_random_seed = seeding.np_random(int(seed))
        self._reset_rows(rows, options.get("scenario"))
        return self._out_obs(), {}

    def step(self, actions: Any) -> tuple[NDArray, NDArray, NDArray, NDArray, dict[str, Any]]:
        """Step every sub-env; done sub-envs autoreset per ``metadata["autoreset_mode"]``."""
        if self._scenario is None:
            raise RuntimeError("call reset() before step()")
        B = self.num_envs
        mode = self.autoreset_mode
        reset_mask = step_reset_mask(mode, self._autoreset)
        rewards = np.zeros(B, dtype=np.float64)
        terminations = np.zeros(B, dtype=np.bool_)
        truncations = np.zeros(B, dtype=np.bool_)
        infos: dict[str, Any] = {}

        if reset_mask.any():
            # rows that autoreset ignore their action, but a malformed batch is still an error
            self._check_actions(actions)
        rows = np.flatnonzero(~reset_mask)
        if rows.size:
            all_rows = rows.size == B
            sc = self._rows_of(self._scenario, rows)
            metrics, reward, terms, cost = self._step_rows(
                rows, sc, self._action_rows(actions, rows, all_rows)
            )
            self._t[rows] += 1
            trunc = self._t[rows] >= self.env_config.horizon
            rewards[rows] = reward
            truncations[rows] = trunc
            if self.env_config.channel_dynamics == "gauss_markov" and not trunc.all():
                sel = np.flatnonzero(~trunc)
                age = rows[sel]
                aged = self._age_rows(
                    sc if sel.size == B else scenario_rows(sc, sel), [self._rng(int(i)) for i in age]
                )
                self._set_rows(age, aged)
                self._on_new_scenario(age, aged, reset=False)
                sc = self._rows_of(self._scenario, rows)
            self._write_obs(rows, sc, metrics)
            infos = _vector_info(
                {
                    "metrics": metrics,
                    "reward_terms": terms,
                    "cost": cost,
                    "feasible": np.asarray(cost) == 0.0,
                },
                rows,
                B,
            )
        if reset_mask.any():
            self._reset_rows(np.flatnonzero(reset_mask))

        done = terminations | truncations
        if mode == AutoresetMode.SAME_STEP and done.any():
            final_obs = np.full(B, None, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = self._obs[i].copy()
            final_info = _restrict_info(infos, done)
            infos = _restrict_info(infos, ~done)
            infos["final_obs"], infos["_final_obs"] = final_obs, done.copy()
            infos["final_info"], infos["_final_info"] = final_info, done.copy()
            self._reset_rows(np.flatnonzero(done))
            self._autoreset[:] = False
        else:
            self._autoreset = done
        return self._out_obs(), rewards, terminations, truncations, infos


# --------------------------------------------------------------------------- task envs
class _TaskVectorEnv(ISACVectorEnv[ScenarioT]):
    """Observation plumbing shared by the task vector envs.

    ``self.task`` provides ``n_csi``, ``scenario_features``, ``observe_csi`` and ``observe_tail``
    (:class:`RydbergTask`, :class:`RobustTask`). Keeps the last played phases ``[B, N]`` and, for
    ``obs_mode="effective"``, the per-scenario features; with ``obs_mode="full"`` the CSI part of
    the observation is written once per new scenario and only the metric tail per step.
    """

    task: Any
    #: the torch vector env that ``backend="torch"`` builds instead (:mod:`isac_env.envs.torch_vector`)
    _torch_class: ClassVar[str] = ""

    def __new__(cls, *args: Any, backend: str = "numpy", **kwargs: Any) -> Any:
        """``backend="torch"`` returns the task's torch vector env (built with the same arguments);
        ``"numpy"`` (default) this NumPy env. torch is imported only for ``"torch"``."""
        if backend == "torch":
            from . import torch_vector

            return getattr(torch_vector, cls._torch_class)(*args, **kwargs)
        if backend != "numpy":
            raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
        return super().__new__(cls)

    @staticmethod
    def _check_numpy_backend(device: Any, dtype: Any) -> None:
        """The NumPy backend runs on the CPU in complex128 (``device`` / ``dtype`` may only say so)."""
        if device is not None and str(device) != "cpu":
            raise ValueError(f"the NumPy backend runs on the CPU, got device={device!r}; use backend='torch'")
        if dtype is not None and str(dtype).rsplit(".", 1)[-1].rstrip("'>") != "complex128":
            raise ValueError(f"the NumPy backend computes in complex128, got dtype={dtype!r}; use 'torch'")

    def _init_task_state(self, num_ris: int) -> None:
        self._phi_prev = np.ones((self.num_envs, num_ris), dtype=np.complex128)
        self._effective = self.env_config.obs_mode == "effective"
        self._features: NDArray[np.floating] | None = None
        #: phase terms of the rows just stepped, reused by the observation (the task's ``step_terms``;
        #: dropped when any row gets a new scenario, since they belong to the old channels)
        self._terms: Any = None

    def _on_new_scenario(self, rows: Rows, scenario: ScenarioT, reset: bool) -> None:
        self._terms = None
        if reset:
            self._phi_prev[rows] = 1.0
        feats = self.task.scenario_features(scenario)
        if self._effective:
            if self._features is None:
                self._features = np.zeros((self.num_envs, feats.shape[-1]), dtype=feats.dtype)
            self._features[rows] = feats
        else:
            self._obs[rows, : self.task.n_csi] = feats

    def _check_actions(self, actions: Any) -> None:
        t = self.task
        codecs.split_action(actions, t.n_w, t.N, t.env_config.phase_bits, t.phase_mode, (self.num_envs,))

    def _write_obs(self, rows: Rows, scenario: ScenarioT, metrics: dict[str, NDArray] | None) -> None:
        n = self.task.n_csi
        all_rows = rows.size == self.num_envs
        if self._effective:
            assert self._features is not None
            feats = self._features if all_rows else self._features[rows]
            phi = self._phi_prev if all_rows else self._phi_prev[rows]
            terms, self._terms = self._terms, None
            if terms is None:
                self._obs[rows, :n] = self.task.observe_csi(scenario, feats, phi)
            else:
                self._obs[rows, :n] = self.task.observe_csi(scenario, feats, phi, terms)
        tail = self.task.observe_tail(scenario, metrics)
        if all_rows:
            self._obs[:, n:] = tail
        else:
            self._obs[rows, n:] = tail


# --------------------------------------------------------------------------- RydbergISAC
class RydbergISACVectorEnv(_TaskVectorEnv[rar.RydbergScenario]):
    """B RydbergISAC episodes stepped as one batch (``isac_env/RydbergISAC-*-v0`` vector entry point).

    Same task, spaces (batched), reward and info as :class:`~isac_env.envs.rydberg.RydbergISACEnv`;
    see the module docstring for seeding, autoreset and the info layout.

    Args:
        num_envs: number of sub-environments B.
        config: scenario parameters (fields may also be given as keyword arguments).
        env_config: episode parameters (fields may also be given as keyword arguments).
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"`` (or the enum).
        channel_bank: a :class:`~isac_env.bank.ChannelBank` (or ``.npz`` path) of the same config;
            resets pick scenarios from it instead of drawing them.
        copy: return a copy of the observation buffer (default). ``False`` returns the internal
            ``[B, D]`` buffer, overwritten by the next call (saves a ``B x D`` copy per step).
        render_mode: must be ``None``.
        backend: ``"numpy"`` (default, this class) or ``"torch"``: the constructor then returns a
            :class:`~isac_env.envs.torch_vector.TorchRydbergISACVectorEnv` built with the other
            arguments (``device``, ``dtype``, ...), e.g. through
            ``gym.make_vec(id, num_envs=B, backend="torch", device="cuda")``.
        device, dtype: for ``backend="numpy"`` only ``None`` / ``"cpu"`` and complex128.
        **kwargs: fields of :class:`RydbergISACConfig` / :class:`EnvConfig`.
    """

    _torch_class = "TorchRydbergISACVectorEnv"

    def __init__(
        self,
        num_envs: int = 1,
        config: RydbergISACConfig | None = None,
        env_config: EnvConfig | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        channel_bank: ChannelBank | str | os.PathLike[str] | None = None,
        copy: bool = True,
        render_mode: str | None = None,
        backend: str = "numpy",
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        self._check_numpy_backend(device, dtype)
        task = RydbergTask.from_kwargs(config, env_config, kwargs)
        super().__init__(
            num_envs, task.env_config, task.observation_space(), task.action_space(), autoreset_mode, copy
        )
        self.task = task
        self.config = task.config
        self.channel_bank = as_channel_bank(channel_bank, self.config)
        self._init_task_state(task.N)

    def _sample_rows(self, rngs: list[np.random.Generator]) -> rar.RydbergScenario:
        bank = self.channel_bank
        if bank is not None:
            return bank.take([bank.draw_index(r) for r in rngs])
        return rar.stack_scenarios([rar.sample_scenario(self.config, r) for r in rngs])

    def _age_rows(
        self, scenario: rar.RydbergScenario, rngs: list[np.random.Generator]
    ) -> rar.RydbergScenario:
        rho = self.env_config.gm_correlation
        return rar.stack_scenarios(
            [rar.age_scenario(scenario[j], self.config, r, rho) for j, r in enumerate(rngs)]
        )

    def _step_rows(
        self, rows: Rows, scenario: rar.RydbergScenario, actions: Any
    ) -> tuple[dict[str, NDArray], NDArray[np.float64], dict[str, NDArray], NDArray[np.float64]]:
        W, phi = self.task.decode(actions, scenario.P_max, (rows.size,))
        self._terms = self.task.step_terms(scenario, phi)
        metrics = self.task.metrics(scenario, W, phi, self._terms)
        self._phi_prev[rows] = phi
        reward, terms, cost = self.task.reward(metrics)
        return metrics, reward, terms, cost


# --------------------------------------------------------------------------- RobustISAC
class RobustISACVectorEnv(_TaskVectorEnv[robust.RobustScenario]):
    """B RobustISAC episodes stepped as one batch (``isac_env/RobustISAC-*-v0`` vector entry point).

    Same task, spaces (batched), reward and info as :class:`~isac_env.envs.robust.RobustISACEnv`;
    see the module docstring for seeding, autoreset and the info layout. Each step takes the
    Monte-Carlo error draws of sub-env i from its own generator (``config.mc_draws`` of
    ``config.mc_method``, :func:`~isac_env.physics.robust.draw_mc_rows`) and evaluates the batch in
    one call of :func:`~isac_env.physics.robust.evaluate_draws`, so row i reproduces the single env
    seeded ``seed + i``. Per-target/per-user metrics are ``[B, K]`` / ``[B, T]`` float arrays,
    ``certified`` a bool array.

    Args:
        num_envs: number of sub-environments B.
        config: scenario/task parameters (fields may also be given as keyword arguments).
        env_config: episode parameters (fields may also be given as keyword arguments).
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"`` (or the enum).
        copy: return a copy of the observation buffer (default); ``False`` returns the internal one.
        render_mode: must be ``None``.
        backend: ``"numpy"`` (default, this class) or ``"torch"``
            (:class:`~isac_env.envs.torch_vector.TorchRobustISACVectorEnv`, see
            :class:`RydbergISACVectorEnv`).
        device, dtype: for ``backend="numpy"`` only ``None`` / ``"cpu"`` and complex128.
        **kwargs: fields of :class:`RobustISACConfig` / :class:`EnvConfig`.
    """

    _torch_class = "TorchRobustISACVectorEnv"

    def __init__(
        self,
        num_envs: int = 1,
        config: RobustISACConfig | None = None,
        env_config: EnvConfig | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        copy: bool = True,
        render_mode: str | None = None,
        backend: str = "numpy",
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        self._check_numpy_backend(device, dtype)
        task = RobustTask.from_kwargs(config, env_config, kwargs)
        super().__init__(
            num_envs, task.env_config, task.observation_space(), task.action_space(), autoreset_mode, copy
        )
        self.task = task
        self.config = task.config
        self._init_task_state(task.N)

    def _sample_rows(self, rngs: list[np.random.Generator]) -> robust.RobustScenario:
        return robust.stack_scenarios([robust.sample_scenario(self.config, r) for r in rngs])

    def _age_rows(
        self, scenario: robust.RobustScenario, rngs: list[np.random.Generator]
    ) -> robust.RobustScenario:
        rho = self.env_config.gm_correlation
        return robust.stack_scenarios(
            [robust.age_scenario(scenario[j], self.config, r, rho) for j, r in enumerate(rngs)]
        )

    def _step_rows(
        self, rows: Rows, scenario: robust.RobustScenario, actions: Any
    ) -> tuple[dict[str, NDArray], NDArray[np.float64], dict[str, NDArray], NDArray[np.float64]]:
        W, phi = self.task.decode(actions, (rows.size,))
        draws = self.task.draw_rows(scenario, [self._rng(int(i)) for i in rows])
        metrics = self.task.metrics(scenario, W, phi, draws)
        self._phi_prev[rows] = phi
        reward, terms, cost = self.task.reward(metrics)
        return metrics, reward, terms, cost
