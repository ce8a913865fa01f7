"""A small base class for isac-gym environments.

The shell owns the episode bookkeeping (seeding, horizon, channel dynamics, info layout); a task
implements the hooks. All maths happens in :mod:`isac_env.physics`; hooks only route arrays.

Info layout (every step): ``info["metrics"]`` raw task metrics, ``info["reward_terms"]`` the named
reward terms (they sum to the reward), ``info["cost"]`` the total constraint violation (float, 0 when
feasible; Safety-Gymnasium's convention) and ``info["feasible"]`` (bool). Plain Python types only.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from ..config import EnvConfig

__all__ = ["COST_CAP", "RENDER_MODES", "ISACEnv", "check_render_mode", "check_reset_options"]

ScenarioT = TypeVar("ScenarioT")

#: Cap of a CRB ratio ``CRB / eps - 1`` (and so of RydbergISAC's cost): a design whose DoA FIM is
#: singular (or numerically so) has an infinite CRB; metrics report ``min(CRB, (1 + COST_CAP) eps)``
#: and the cost ``min(CRB / eps - 1, COST_CAP)``, so rewards, costs, infos and observations stay finite.
COST_CAP = 1e6


#: render modes of the single environments (:mod:`isac_env.render` draws the frames)
RENDER_MODES = ("rgb_array", "human")


def check_render_mode(render_mode: Any) -> str | None:
    """``render_mode`` if it is ``None`` or one of :data:`RENDER_MODES`.

    Raises:
        ValueError: any other value (the message names ``render_mode`` and the allowed ones).
    """
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be None or one of {list(RENDER_MODES)}, got {render_mode!r}")
    return render_mode


def check_reset_options(options: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``options`` of ``reset`` as a dict, checking its keys.

    Raises:
        TypeError: ``options`` is neither ``None`` nor a dict.
        ValueError: an unknown key (the message names it and the allowed ones).
    """
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; allowed: {list(allowed)}")
    return options


class ISACEnv(gym.Env, Generic[ScenarioT]):
    """Episode shell: draw a scenario on reset, decode an action, evaluate it, build reward/info.

    Subclasses set ``task``, ``action_space`` / ``observation_space`` in ``__init__`` and implement
    the hooks ``_sample_scenario``, ``_age_scenario``, ``_decode``, ``_evaluate``; the reward and the
    observation come from the task (``task.reward``, ``task.scenario_features``, ``task.observe``).

    Rendering (``render_mode``): ``"rgb_array"`` makes :meth:`render` return the frame of
    :meth:`_render_frame` (uint8 ``[H, W, 3]``); ``"human"`` shows it in a pyplot window after every
    ``reset`` and ``step`` (nothing is shown on a non-interactive backend such as Agg). Rendering
    only reads the last design and metrics; it never touches ``np_random``, so trajectories are
    identical with and without it.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": list(RENDER_MODES),
        "render_fps": 4,
        "autoreset_mode": "NextStep",
    }

    def __init__(self, env_config: EnvConfig, render_mode: str | None = None) -> None:
        super().__init__()
        self.render_mode = check_render_mode(render_mode)
        self.env_config = env_config
        #: the last played design ``(W, phi)`` (``None`` after reset), for :meth:`render`
        self._last_design: tuple[NDArray[np.complex128], NDArray[np.complex128]] | None = None
        self._human_view: Any = None
        self._scenario: ScenarioT | None = None
        self._t = 0
        self._last_metrics: dict[str, Any] | None = None
        #: the task's pure batched functions (``RydbergTask`` / ``RobustTask``), set by subclasses
        self.task: Any = None
        self._features: NDArray[np.floating] | None = None
        self._phi_prev: NDArray[np.complex128] | None = None
        #: phase terms of the last evaluated design that the observation may reuse (a task's
        #: ``step_terms``, set by ``_evaluate``; ``None`` when there are none)
        self._terms: Any = None

    # ------------------------------------------------------------------ hooks
    def _render_frame(self) -> NDArray[np.uint8]:
        """The current frame, uint8 ``[H, W, 3]`` (subclasses draw it with :mod:`isac_env.render`)."""
        raise NotImplementedError

    @abstractmethod
    def _sample_scenario(self, rng: np.random.Generator) -> ScenarioT: ...

    @abstractmethod
    def _age_scenario(self, scenario: ScenarioT, rng: np.random.Generator) -> ScenarioT: ...

    @abstractmethod
    def _decode(self, action: Any) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]: ...

    @abstractmethod
    def _evaluate(
        self, scenario: ScenarioT, W: NDArray[np.complex128], phi: NDArray[np.complex128]
    ) -> dict[str, Any]: ...

    def _reward(self, metrics: dict[str, Any]) -> tuple[float, dict[str, float], float]:
        """``(reward, reward_terms, cost)`` from the task's pure reward, as plain floats."""
        reward, terms, cost = self.task.reward(metrics)
        return float(reward), {k: float(v) for k, v in terms.items()}, float(cost)

    def _observe(
        self, scenario: ScenarioT, metrics: dict[str, Any] | None, new_scenario: bool
    ) -> NDArray[np.float32]:
        """The task's observation; the scenario features are computed once per scenario."""
        if new_scenario or self._features is None:
            self._features = self.task.scenario_features(scenario)
        terms, self._terms = (None if new_scenario else self._terms), None
        if terms is None:
            return self.task.observe(scenario, self._features, self._phi_prev, metrics)
        return self.task.observe(scenario, self._features, self._phi_prev, metrics, terms)

    # ------------------------------------------------------------------ API
    @property
    def scenario(self) -> ScenarioT:
        """The current channel realisation (read-only arrays)."""
        if self._scenario is None:
            raise RuntimeError("call reset() before accessing the scenario")
        return self._scenario

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw a new scenario. ``options={"scenario": s}`` replays a given scenario instead.

        Raises:
            ValueError: an unknown key in ``options`` (only ``"scenario"`` is read).
        """
        options = check_reset_options(options, ("scenario",))
        super().reset(seed=seed)
        if options.get("scenario") is not None:
            self._scenario = options["scenario"]
        else:
            self._scenario = self._sample_scenario(self.np_random)
        self._t = 0
        self._last_metrics = None
        self._last_design = None
        obs = self._observe(self._scenario, None, True)
        if self.render_mode == "human":
            self.render()
        return obs, {}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        if self._scenario is None:
            raise RuntimeError("call reset() before step()")
        W, phi = self._decode(action)
        metrics = self._evaluate(self._scenario, W, phi)
        reward, terms, cost = self._reward(metrics)
        self._t += 1
        self._last_metrics = metrics
        self._last_design = (W, phi)
        truncated = self._t >= self.env_config.horizon
        info = {"metrics": metrics, "reward_terms": terms, "cost": cost, "feasible": cost == 0.0}
        new = False
        if self.env_config.channel_dynamics == "gauss_markov" and not truncated:
            self._scenario = self._age_scenario(self._scenario, self.np_random)
            new = True
        obs = self._observe(self._scenario, metrics, new)
        if self.render_mode == "human":
            self.render()
        return obs, reward, False, truncated, info

    def render(self) -> NDArray[np.uint8] | None:
        """The frame (``render_mode="rgb_array"``), or show it (``"human"``, returns ``None``).

        Before the first step the frame shows the geometry and "no design yet". Channel ageing
        (``"gauss_markov"``) happens at the end of a step, so a frame after a step draws the
        last design on the aged channel the next step will be evaluated on.

        Raises:
            RuntimeError: called before ``reset``.
        """
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array' to gym.make")
            return None
        if self._scenario is None:
            raise RuntimeError("call reset() before render()")
        frame = self._render_frame()
        if self.render_mode == "human":
            from ..render import show_frame

            self._human_view = show_frame(self._human_view, frame, float(self.metadata["render_fps"]))
            return None
        return frame

    def close(self) -> None:
        """Close the ``"human"`` window, if any (calling it twice is fine)."""
        if self._human_view is not None:
            self._human_view.close()
            self._human_view = None
        super().close()

    # ------------------------------------------------------------------ codecs
    def decode_action(self, action: Any) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        """Action -> ``(W, phi)`` exactly as :meth:`step` interprets it."""
        return self._decode(action)
