"""Adapter: any :class:`~isac_gym.baselines.base.Solver` becomes a policy with stable-baselines3's
``predict()`` protocol, so ``stable_baselines3.common.evaluation.evaluate_policy`` (and every
evaluation loop written for agents) evaluates baselines and agents alike.

Example::

    import gymnasium as gym
    import isac_env
    from isac_gym.baselines import get_solver
    from isac_gym.baselines.policy import SolverPolicy
    from stable_baselines3.common.evaluation import evaluate_policy

    env = gym.make("isac_env/RydbergISAC-v0", horizon=2)
    policy = SolverPolicy(get_solver("fp_mm_admm"), env)
    mean_reward, std_reward = evaluate_policy(policy, env, n_eval_episodes=5)

The policy ignores the observation: it reads the current channel realisation from
``env.unwrapped.scenario`` (the baselines assume perfect CSI, as in the paper), solves it, and
returns ``env.unwrapped.encode_action(W, phi)``. Solutions are cached per scenario object, so
the steps of a static episode (one scenario per episode) reuse one solve; with channel ageing
every step has a new scenario object and is solved again.

**Failed solves.** When the solver finds no design (``result.solved`` is ``False``, see
:meth:`isac_gym.baselines.base.SolverResult.failed`) there is nothing to encode; the policy then returns a
deterministic placeholder action of the env's action space (:func:`placeholder_action`: zeros of
every ``Box`` / ``MultiDiscrete`` part, clipped into the space) so that loops such as
``evaluate_policy`` keep running, and ``last_result`` carries the failed result. The placeholder
is not the solver's design: evaluation rows (``isac_gym.agents.evaluate``) read ``last_result`` and mark
such draws unsolved, with NaN objective and metrics, instead of scoring the placeholder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Solver, SolverResult

__all__ = ["SolverPolicy", "placeholder_action"]


def placeholder_action(space: Any) -> Any:
    """Deterministic valid action of a Gymnasium space, used in place of a failed solve's design.

    ``Box``: zeros clipped into ``[low, high]`` (zeros for the suite's ``[-1, 1]`` boxes);
    ``MultiDiscrete`` / ``Discrete``: the smallest value (``start``, i.e. zeros by default);
    ``MultiBinary``: zeros; ``Dict`` / ``Tuple``: the placeholder of each part (a ``dict`` /
    ``tuple``).

    Raises:
        TypeError: for a space of another kind.
    """
    from gymnasium import spaces

    if isinstance(space, spaces.Box):
        zeros = np.zeros(space.shape, dtype=space.dtype)
        return np.clip(zeros, space.low, space.high).astype(space.dtype)
    if isinstance(space, spaces.MultiDiscrete):
        return np.array(space.start, dtype=space.dtype, copy=True)
    if isinstance(space, spaces.Discrete):
        return space.dtype.type(space.start)
    if isinstance(space, spaces.MultiBinary):
        return np.zeros(space.shape, dtype=space.dtype)
    if isinstance(space, spaces.Dict):
        return {k: placeholder_action(sub) for k, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(placeholder_action(sub) for sub in space.spaces)
    raise TypeError(f"no placeholder action for a space of type {type(space).__name__}")


class SolverPolicy:
    """SB3-style policy wrapping a solver.

    Args:
        solver: the optimization baseline.
        env: a Gymnasium env (possibly wrapped) with ``unwrapped.scenario`` and
            ``unwrapped.encode_action``, or an SB3 ``VecEnv`` with a single sub-env (e.g. the
            ``DummyVecEnv`` that ``evaluate_policy`` builds); the sub-env is reached through
            ``vec_env.envs[0].unwrapped``.
        rng: generator passed to ``solver.solve`` (default ``np.random.default_rng(0)``).
        cache_size: number of recent scenarios whose solutions are kept.

    Attributes:
        last_result: the :class:`SolverResult` behind the last action; for a failed solve
            (``last_result.solved`` is ``False``) the action was :func:`placeholder_action` of the
            env's action space, and evaluation rows mark the draw unsolved.
    """

    def __init__(
        self,
        solver: Solver,
        env: Any,
        *,
        rng: np.random.Generator | None = None,
        cache_size: int = 8,
    ) -> None:
        self.solver = solver
        self.env = env
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.cache_size = cache_size
        self._cache: dict[int, tuple[Any, SolverResult, Any]] = {}
        self.last_result: SolverResult | None = None

    def _target(self) -> Any:
        env = self.env
        envs = getattr(env, "envs", None)
        if envs is not None:  # SB3 DummyVecEnv
            if len(envs) != 1:
                raise ValueError(f"SolverPolicy supports a single environment, got {len(envs)}")
            env = envs[0]
        return env.unwrapped

    def solve_current(self) -> tuple[SolverResult, Any]:
        """Solve (or fetch from the cache) the env's current scenario; returns ``(result, action)``.

        ``action`` is the encoded design, or :func:`placeholder_action` for a failed solve."""
        target = self._target()
        scenario = target.scenario
        key = id(scenario)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is scenario:
            return hit[1], hit[2]
        result = self.solver.solve(scenario, rng=self.rng)
        if result.solved:
            action = target.encode_action(np.asarray(result.W), np.asarray(result.phi))
        else:  # no design to encode: a valid, deterministic stand-in (the row is marked unsolved)
            action = placeholder_action(target.action_space)
        if len(self._cache) >= self.cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (scenario, result, action)  # keeps the scenario alive: id stays unique
        return result, action

    def predict(
        self,
        observation: Any,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[Any, tuple[np.ndarray, ...] | None]:
        """SB3 ``predict``: the solver's design for the env's current scenario (a placeholder
        action when the solve failed; ``last_result`` says which).

        For a batched observation (a leading axis of size 1, as from a ``VecEnv``) the action
        gets the same leading axis. ``state``, ``episode_start`` and ``deterministic`` are
        accepted for the protocol and ignored (the policy is deterministic and stateless).
        """
        del episode_start, deterministic
        result, action = self.solve_current()
        self.last_result = result
        target = self._target()
        obs_shape = getattr(target.observation_space, "shape", None)
        batched = (
            obs_shape is not None
            and isinstance(observation, np.ndarray)
            and observation.ndim == len(obs_shape) + 1
        )
        if batched:
            if isinstance(action, dict):
                action = {k: np.asarray(v)[None] for k, v in action.items()}
            else:
                action = np.asarray(action)[None]
        return action, state
