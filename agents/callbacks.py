"""Stable-Baselines3 callbacks for isac-gym training runs."""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from isac_env.wrappers import scalar_metrics

__all__ = ["PhysicsMetricsCallback"]


class PhysicsMetricsCallback(BaseCallback):
    """Log the physics metrics of every step to the SB3 logger (TensorBoard, CSV).

    Each step, the scalar entries of ``info["metrics"]`` (e.g. ``sum_rate`` in bit/s/Hz, ``crb_trace``
    in rad^2, ``power_w``, ``power_dbm``; robust tasks add their outage/power metrics), ``info["cost"]``
    and ``info["feasible"]`` of every sub-environment are averaged with ``logger.record_mean`` under
    ``<prefix>/<name>``; the means are written whenever the algorithm dumps its logs (every rollout
    for PPO, every ``log_interval`` episodes for SAC/TD3). Per-episode means from
    :class:`isac_env.wrappers.RecordMetrics`, when present, go under ``<prefix>_episode/<name>``.

    Args:
        prefix: TensorBoard tag prefix.
        keys: metric names to log; ``None`` logs every scalar metric.
        verbose: SB3 verbosity.
    """

    def __init__(self, prefix: str = "isac", keys: tuple[str, ...] | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.prefix = prefix
        self.keys = None if keys is None else frozenset(keys)

    def _on_step(self) -> bool:
        infos: list[dict[str, Any]] = self.locals.get("infos", [])
        for info in infos:
            for key, val in scalar_metrics(info).items():
                if self.keys is None or key in self.keys:
                    self.logger.record_mean(f"{self.prefix}/{key}", val)
            for key, val in info.get("episode_metrics", {}).items():
                if self.keys is None or key in self.keys or key == "length":
                    self.logger.record_mean(f"{self.prefix}_episode/{key}", float(val))
        return True
