"""Lagrangian constrained RL: PPO (or any SB3 algorithm) with a learned multiplier on ``info["cost"]``.

The constrained problem ``max_pi E[sum r]  s.t.  E[c] <= d`` (``c = info["cost"]``, the task's constraint
violation, e.g. ``max(0, tr CRB / eps - 1)`` or the outage excess; ``d`` the budget) is relaxed to the
saddle point ``min_{lambda >= 0} max_pi E[r - lambda c] + lambda d``:

* the policy step is ordinary PPO on the shaped reward ``r - lambda c`` (:class:`VecCostPenalty`);
* the dual step is projected gradient ascent on ``lambda`` after each rollout,
  ``lambda <- clip(lambda + lr (mean_cost - d), 0, lambda_max)`` where ``mean_cost`` is the mean
  per-step cost over the rollout (:class:`LagrangianCallback`, :class:`LagrangeMultiplier`).

The budget is on the *per-step* mean cost, i.e. the mean episode cost divided by the episode length
(episodes have a fixed horizon here), so one number works for every horizon. With ``d = 0`` (default)
``lambda`` grows until the policy is feasible and then stays. The environment's own fixed penalty
should be off (``constraint_penalty=0``); :func:`isac_gym.agents.train.train` does that when
``lagrangian=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

__all__ = ["LagrangeMultiplier", "LagrangianCallback", "VecCostPenalty"]


@dataclass
class LagrangeMultiplier:
    """Projected dual-ascent multiplier ``lambda >= 0``.

    Attributes:
        value: current ``lambda``.
        lr: dual step size.
        budget: cost budget ``d`` (per-step mean cost).
        max_value: upper clip of ``lambda`` (keeps the shaped reward bounded).
    """

    value: float = 1.0
    lr: float = 0.05
    budget: float = 0.0
    max_value: float = 1000.0

    def __post_init__(self) -> None:
        for name in ("value", "lr", "budget"):
            v = float(getattr(self, name))
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)!r}")
        if not self.max_value > 0:
            raise ValueError(f"max_value must be > 0, got {self.max_value!r}")
        self.value = float(min(self.value, self.max_value))

    def update(self, mean_cost: float) -> float:
        """One dual step with the observed mean cost; returns the new ``lambda``."""
        mean_cost = float(mean_cost)
        if not np.isfinite(mean_cost):
            raise ValueError(f"mean_cost must be finite, got {mean_cost!r}")
        self.value = float(np.clip(self.value + self.lr * (mean_cost - self.budget), 0.0, self.max_value))
        return self.value

    def as_dict(self) -> dict[str, float]:
        """Plain-dict form (for config files)."""
        return {"value": self.value, "lr": self.lr, "budget": self.budget, "max_value": self.max_value}


class VecCostPenalty(VecEnvWrapper):
    """Shape the reward of a VecEnv as ``r - lambda * info["cost"]`` with a shared multiplier.

    The multiplier lives in the training process (not in the sub-environments), so it works with
    any VecEnv. The unshaped reward is kept in ``info["reward_unshaped"]``.

    Args:
        venv: vectorized isac-gym environment.
        multiplier: the (mutable) multiplier updated by :class:`LagrangianCallback`.
    """

    def __init__(self, venv: VecEnv, multiplier: LagrangeMultiplier) -> None:
        super().__init__(venv)
        self.multiplier = multiplier

    def reset(self) -> Any:
        """Reset every sub-environment."""
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        """Step and subtract ``lambda * cost`` from each reward."""
        obs, rewards, dones, infos = self.venv.step_wait()
        costs = np.array([float(info.get("cost", 0.0)) for info in infos], dtype=np.float64)
        for info, r in zip(infos, rewards, strict=True):
            info["reward_unshaped"] = float(r)
        shaped = (rewards - self.multiplier.value * costs).astype(rewards.dtype)
        return obs, shaped, dones, infos


class LagrangianCallback(BaseCallback):
    """Dual ascent on the multiplier after every rollout, from the per-step costs it saw.

    Logs ``lagrangian/lambda``, ``lagrangian/mean_cost``, ``lagrangian/budget`` and
    ``lagrangian/feasible_rate``; ``history`` keeps ``(num_timesteps, mean_cost, lambda)`` per update.

    Args:
        multiplier: the multiplier shared with :class:`VecCostPenalty`.
        min_steps: update only once at least this many env steps were seen since the last update
            (off-policy algorithms end a "rollout" every ``train_freq`` steps).
        verbose: SB3 verbosity.
    """

    def __init__(self, multiplier: LagrangeMultiplier, min_steps: int = 1, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.multiplier = multiplier
        self.min_steps = int(min_steps)
        self._cost_sum = 0.0
        self._feasible_sum = 0.0
        self._n = 0
        self.history: list[tuple[int, float, float]] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            cost = float(info.get("cost", 0.0))
            self._cost_sum += cost
            self._feasible_sum += float(info.get("feasible", cost == 0.0))
            self._n += 1
        return True

    def _on_rollout_end(self) -> None:
        if self._n < max(self.min_steps, 1):
            return
        mean_cost = self._cost_sum / self._n
        lam = self.multiplier.update(mean_cost)
        self.history.append((int(self.num_timesteps), mean_cost, lam))
        self.logger.record("lagrangian/lambda", lam)
        self.logger.record("lagrangian/mean_cost", mean_cost)
        self.logger.record("lagrangian/budget", self.multiplier.budget)
        self.logger.record("lagrangian/feasible_rate", self._feasible_sum / self._n)
        if self.verbose:
            print(f"[lagrangian] t={self.num_timesteps} mean_cost={mean_cost:.4g} lambda={lam:.4g}")
        self._cost_sum, self._feasible_sum, self._n = 0.0, 0.0, 0
