"""``isac_env/RobustISAC-v0``: robust discrete-phase power minimization under imperfect CSI/RCT."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from .. import codecs
from ..codecs import OBS_BOUND, cplx_features, power_floor
from ..config import EnvConfig, RobustISACConfig, coerce_config, split_kwargs
from ..physics import robust
from ..physics._xp import is_numpy, namespace
from ..physics.units import w_to_dbm
from .base import COST_CAP, ISACEnv, check_render_mode

__all__ = ["RobustISACEnv", "RobustTask"]

#: metrics with one entry per user / per target (lists in the single env's info)
_LISTS = (
    "rate_est", "rate_true", "outage", "rate_margin", "outage_violation",
    "crb_est", "crb_true", "crb_failure", "crb_failure_exact", "crb_margin", "crb_violation",
)  # fmt: skip
#: floor inside the log10 of the error-level features (zero errors stay finite)
_LOG_FLOOR = 1e-12


@dataclass(frozen=True)
class RobustTask:
    """The RobustISAC task's pure functions: spaces, action decode, metrics, reward, observation.

    Methods broadcast over leading batch axes of the scenario and the action, like
    :class:`~isac_env.envs.rydberg.RydbergTask`, and take NumPy arrays (the reference) or a scenario
    converted to torch with torch actions and draws (results on the same backend, device and
    precision; observations float32).

    Attributes:
        config: scenario/task parameters (``phase_bits`` is the problem's b of (14d)).
        env_config: episode parameters (its ``phase_bits`` equals ``config.phase_bits``).
    """

    config: RobustISACConfig
    env_config: EnvConfig

    @classmethod
    def from_kwargs(
        cls, config: RobustISACConfig | None, env_config: EnvConfig | None, kwargs: dict[str, Any]
    ) -> RobustTask:
        """Merge ``gym.make`` keyword arguments into the two configs (unknown names raise ``TypeError``).

        ``phase_bits`` belongs to :class:`RobustISACConfig`; the episode config inherits it. An
        ``env_config`` whose non-zero ``phase_bits`` contradicts the scenario's raises ``ValueError``.
        """
        sc_kw, env_kw = split_kwargs(kwargs, RobustISACConfig, EnvConfig)
        cfg = coerce_config("config", config, RobustISACConfig).replace(**sc_kw)
        env_config = coerce_config("env_config", env_config, EnvConfig)
        if env_config.phase_bits not in (0, cfg.phase_bits):
            raise ValueError(
                f"phase_bits is a RobustISACConfig field ({cfg.phase_bits}); "
                f"env_config.phase_bits={env_config.phase_bits} contradicts it"
            )
        if cfg.num_ris < 1:
            raise ValueError(f"num_ris must be >= 1 for the environment, got {cfg.num_ris}")
        return cls(cfg, EnvConfig(**{**env_config.__dict__, **env_kw, "phase_bits": cfg.phase_bits}))

    # ------------------------------------------------------------------ sizes and spaces
    @cached_property
    def Nt(self) -> int:
        return self.config.num_bs_antennas

    @cached_property
    def K(self) -> int:
        return self.config.num_users

    @cached_property
    def N(self) -> int:
        return self.config.num_ris

    @cached_property
    def T(self) -> int:
        return self.config.num_targets

    @cached_property
    def n_w(self) -> int:
        """Size ``2 Nt K + 1`` of the precoder part of the action (direction + power level)."""
        return 2 * self.Nt * self.K + 1

    @cached_property
    def phase_mode(self) -> str:
        """``"continuous"``, ``"discrete"`` or ``"quantize"``."""
        return "continuous" if self.config.phase_bits == 0 else self.env_config.phase_action

    @cached_property
    def n_csi(self) -> int:
        """Number of scenario features at the start of the observation."""
        Nt, K, N, T = self.Nt, self.K, self.N, self.T
        chan = 2 * (K * Nt + K * N * Nt) if self.env_config.obs_mode == "full" else 2 * K * Nt
        return chan + 4 * T + 2 * K + T

    @cached_property
    def n_tail(self) -> int:
        """Previous-step features: power level, outage ``[K]``, failure ``[T]``, certified, cost."""
        return self.K + self.T + 3

    def action_space(self) -> spaces.Space:
        """The single-env action space (see :class:`RobustISACEnv`)."""
        return codecs.action_space(self.n_w, self.N, self.config.phase_bits, self.phase_mode)

    def observation_space(self) -> spaces.Box:
        """``Box(-OBS_BOUND, OBS_BOUND, (n_csi + K + T + 3,), float32)``."""
        return spaces.Box(-OBS_BOUND, OBS_BOUND, (self.n_csi + self.n_tail,), np.float32)

    # ------------------------------------------------------------------ codecs
    def power_dbm_from_level(self, a_p: Any) -> NDArray[np.float64]:
        """Power level ``a_p`` in [-1, 1] (clipped) -> transmit power in dBm, linear in dB.

        ``P_dBm = p_min_dbm + (a_p + 1) / 2 (p_max_dbm - p_min_dbm)``.
        """
        c = self.config
        xp = namespace(a_p)
        a = xp.clip(np.asarray(a_p, dtype=np.float64) if is_numpy(xp) else a_p, -1.0, 1.0)
        return c.p_min_dbm + 0.5 * (a + 1.0) * (c.p_max_dbm - c.p_min_dbm)

    def level_from_power_w(self, power_w: Any) -> NDArray[np.float64]:
        """Inverse of :meth:`power_dbm_from_level` (powers outside the range are clipped)."""
        c = self.config
        xp = namespace(power_w)
        pw = np.asarray(power_w, dtype=np.float64) if is_numpy(xp) else power_w
        p = w_to_dbm(xp.maximum(pw, power_floor(xp, pw)))
        return xp.clip(2.0 * (p - c.p_min_dbm) / (c.p_max_dbm - c.p_min_dbm) - 1.0, -1.0, 1.0)

    def decode(
        self, action: Any, batch_shape: tuple[int, ...] = (), *, check_values: bool = True, dtype: Any = None
    ) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        """Validate and decode an action into ``(W, phi)`` (``phi`` the reflection vector, ``v = conj(phi)``).

        Args:
            action: Box action ``[*batch, 2 Nt K + 1 + N]`` or, for discrete phases, a dict with
                ``"precoder"`` ``[*batch, 2 Nt K + 1]`` and integer ``"phases"`` ``[*batch, N]``.
            batch_shape: expected leading axes.
            check_values, dtype: torch only, see :func:`~isac_env.codecs.split_action`.

        Returns:
            ``W`` complex ``[*batch, Nt, K]`` (W) with the decoded power, ``phi`` ``[*batch, N]``
            (complex128 for NumPy; the action's or ``dtype``'s precision for torch).

        Raises:
            ValueError: wrong structure or shape, non-finite entries, phase indices off the grid.
        """
        bits = self.config.phase_bits
        kw = {"check_values": check_values, "dtype": dtype}
        a_w, phi = codecs.split_action(action, self.n_w, self.N, bits, self.phase_mode, batch_shape, **kw)
        p_w = 10.0 ** ((self.power_dbm_from_level(a_w[..., -1]) - 30.0) / 10.0)
        W = codecs.decode_precoder(a_w[..., :-1], self.Nt, self.K, p_w)
        return W, phi

    def encode(self, W: Any, phi: Any) -> Any:
        """``(W, phi)`` -> action; exact inverse of :meth:`decode` for powers in range, grid phases."""
        W = np.asarray(W, dtype=np.complex128)
        a_p = self.level_from_power_w(np.sum(np.abs(W) ** 2, axis=(-2, -1)))
        a_w = np.concatenate([codecs.encode_precoder(W), np.asarray(a_p)[..., None]], axis=-1)
        bits = self.config.phase_bits
        if self.phase_mode == "discrete":
            return {"precoder": a_w, "phases": codecs.encode_phases(phi, bits, "discrete")}
        return np.concatenate([a_w, codecs.encode_phases(phi, bits, self.phase_mode)], axis=-1)

    # ------------------------------------------------------------------ step functions
    def draw(self, scenario: robust.RobustScenario, rng: np.random.Generator) -> robust.MCDraws:
        """The Monte-Carlo draws of one step of an unbatched scenario (``config.mc_draws`` of
        ``config.mc_method``) from ``rng``, in the order :func:`robust.evaluate` takes them."""
        c = self.config
        return robust.draw_mc(scenario, rng, c.mc_draws, c.mc_method)

    def draw_rows(self, scenario: robust.RobustScenario, rngs: list[np.random.Generator]) -> robust.MCDraws:
        """Draws of a scenario batched ``[B]``, row i from ``rngs[i]`` exactly as :meth:`draw` of
        ``scenario[i]`` would take them (:func:`robust.draw_mc_rows`)."""
        c = self.config
        return robust.draw_mc_rows(scenario, rngs, c.mc_draws, c.mc_method)

    def metrics(
        self,
        scenario: robust.RobustScenario,
        W: NDArray[np.complex128],
        phi: NDArray[np.complex128],
        draws: robust.MCDraws,
    ) -> dict[str, NDArray[Any]]:
        """Task metrics (``info["metrics"]``) of ``(W, phi)``: :func:`robust.evaluate_draws` plus ``power_dbm``.

        Monte Carlo over the given ``draws`` (:meth:`draw` / :meth:`draw_rows`), certification with
        ``config.restriction``. ``power_dbm`` is floored at ``p_min_dbm`` (the lowest power an action
        can request; ``power_w`` stays raw, e.g. 0 for ``W = 0``), so ``-power_dbm / 10`` never exceeds
        ``-p_min_dbm / 10``. ``crb_est`` / ``crb_true`` are capped at ``(1 + COST_CAP) eps_t`` (a
        precoder with ``Xi_t = 0`` has an infinite CRB); values under the cap are unchanged.
        """
        v = robust.v_from_phi(phi)
        m = robust.evaluate_draws(scenario, W, v, draws, self.config.restriction)
        pw = m["power_w"]
        xp = namespace(pw)
        m["power_dbm"] = xp.maximum(w_to_dbm(xp.maximum(pw, power_floor(xp, pw))), self.config.p_min_dbm)
        cap = (1.0 + COST_CAP) * (np.asarray(scenario.eps) if is_numpy(xp) else scenario.eps)
        m["crb_est"] = xp.minimum(m["crb_est"], cap)
        m["crb_true"] = xp.minimum(m["crb_true"], cap)
        return m

    def reward(self, metrics: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
        """``(reward, reward_terms, cost)`` (see :class:`RobustISACEnv`, Rewards)."""
        lam = self.env_config.constraint_penalty
        xp = namespace(metrics["power_dbm"], metrics["outage_violation"])
        asarray = np.asarray if is_numpy(xp) else (lambda x: x)
        out_v = xp.sum(asarray(metrics["outage_violation"]), axis=-1)
        crb_v = xp.sum(asarray(metrics["crb_violation"]), axis=-1)
        terms = {
            "power": -asarray(metrics["power_dbm"]) / 10.0,
            "outage_penalty": -lam * out_v,
            "crb_penalty": -lam * crb_v,
        }
        return terms["power"] + terms["outage_penalty"] + terms["crb_penalty"], terms, out_v + crb_v

    def scenario_features(self, scenario: robust.RobustScenario) -> NDArray[np.float64]:
        """Per-scenario features from the **estimated** CSI only, ``[..., n_csi]`` float64.

        ``obs_mode="full"``: ``[Re, Im]`` of ``hat h_d,k / scale_d,k`` and ``hat G_k / scale_G,k``;
        ``"effective"``: nothing here (the effective channel depends on the previous phases).
        Then ``hat alpha_t / scale_alpha,t`` ``[Re, Im]``, ``sin theta_t``, ``cos theta_t`` and the
        error levels ``log10(eps_d^2 / scale_d^2)``, ``log10(eps_G^2 / scale_G^2)``,
        ``log10(sigma_alpha^2 / scale_alpha^2)``.
        """
        s = scenario
        xp = namespace(s.h_d_hat)
        nb = s.h_d_hat.ndim - 2
        parts = []
        if self.env_config.obs_mode == "full":
            parts += [
                cplx_features(s.h_d_hat, s.scale_d[..., :, None], nb),
                cplx_features(s.G_hat, s.scale_G[..., :, None, None], nb),
            ]
        lg = lambda x, sc: xp.log10(x / sc**2 + _LOG_FLOOR)  # noqa: E731
        parts += [
            cplx_features(s.alpha_hat, s.scale_alpha, nb),
            xp.sin(s.theta),
            xp.cos(s.theta),
            lg(s.eps_d2, s.scale_d),
            lg(s.eps_G2, s.scale_G),
            lg(s.sigma_alpha2, s.scale_alpha),
        ]
        return xp.clip(xp.concat(parts, axis=-1), -OBS_BOUND, OBS_BOUND)

    def observe(
        self,
        scenario: robust.RobustScenario,
        features: NDArray[np.float64],
        phi_prev: NDArray[np.complex128],
        metrics: dict[str, Any] | None,
    ) -> NDArray[np.float32]:
        """Observation ``[..., n_csi + K + T + 3]`` float32 (see :class:`RobustISACEnv`).

        Args:
            scenario: current scenario (batched or not).
            features: :meth:`scenario_features` of ``scenario``.
            phi_prev: the last played reflection vector ``[..., N]`` (ones after a reset).
            metrics: the last step's :meth:`metrics` or ``None`` after a reset (zero tail).
        """
        xp = namespace(scenario.h_d_hat)
        return xp.concat(
            [self.observe_csi(scenario, features, phi_prev), self.observe_tail(scenario, metrics)], axis=-1
        )

    def observe_csi(
        self, scenario: robust.RobustScenario, features: NDArray[np.float64], phi_prev: NDArray[np.complex128]
    ) -> NDArray[np.float32]:
        """Scenario part ``[..., n_csi]`` of the observation (constant within a static episode for
        ``obs_mode="full"``; ``"effective"`` prepends ``hat h_k(v_prev)`` normalised by its RMS)."""
        s = scenario
        xp = namespace(s.h_d_hat)
        if self.env_config.obs_mode != "effective":
            return xp.astype(features, xp.float32, copy=False)
        nb = s.h_d_hat.ndim - 2
        h = robust.effective_channels(s, robust.v_from_phi(phi_prev))
        rms = xp.sqrt(s.scale_d**2 + self.N * s.scale_G**2)
        feats = xp.concat([cplx_features(h, rms[..., :, None], nb), features], axis=-1)
        return xp.astype(feats, xp.float32, copy=False)

    def observe_tail(
        self, scenario: robust.RobustScenario, metrics: dict[str, Any] | None
    ) -> NDArray[np.float32]:
        """Previous-step part ``[..., K + T + 3]``: power level, outage ``[K]``, CRB failure ``[T]``,
        certified (0/1), cost (zeros for ``metrics=None``)."""
        K, T = self.K, self.T
        s = scenario
        xp = namespace(s.h_d_hat)
        batch = tuple(scenario.batch_shape)
        if metrics is None:
            if is_numpy(xp):
                return np.zeros((*batch, self.n_tail), dtype=np.float32)
            return xp.zeros((*batch, self.n_tail), dtype=xp.float32, device=s.h_d_hat.device)
        numpy = is_numpy(xp)
        asarray = np.asarray if numpy else (lambda x: x)  # the single env passes lists, floats, bools
        level = self.level_from_power_w(metrics["power_w"])
        outage, fail = asarray(metrics["outage"]), asarray(metrics["crb_failure"])
        cost = xp.sum(asarray(metrics["outage_violation"]), axis=-1) + xp.sum(
            asarray(metrics["crb_violation"]), axis=-1
        )
        if numpy:  # in place: broadcasts the single env's scalars, cheaper than concatenating
            tail = np.zeros((*batch, self.n_tail))
            tail[..., 0], tail[..., 1 : 1 + K], tail[..., 1 + K : 1 + K + T] = level, outage, fail
            tail[..., 1 + K + T] = np.asarray(metrics["certified"], dtype=np.float64)
            tail[..., 2 + K + T] = cost
            return np.clip(tail, -OBS_BOUND, OBS_BOUND).astype(np.float32)
        certified = xp.astype(metrics["certified"], level.dtype)
        tail = xp.concat([level[..., None], outage, fail, certified[..., None], cost[..., None]], axis=-1)
        return xp.astype(xp.clip(tail, -OBS_BOUND, OBS_BOUND), xp.float32, copy=False)


class RobustISACEnv(ISACEnv[robust.RobustScenario]):
    """Robust joint precoding and discrete RIS phase design under imperfect CSI and RCS.

    ## Description
    A DFRC base station with ``Nt`` antennas serves K single-antenna users through an N-element
    b-bit RIS and senses the DoAs of T targets on its direct path (Xu, Li & Quek; robust_isac spec).
    The BS knows only **estimates** of the direct and cascaded channels and of the targets'
    reflection coefficients; the truth differs by CSCG errors (3)-(6), (12)-(13). The problem (14) is
    ``min ||W||_F^2`` s.t. ``Pr{rate_k >= bar R} >= 1 - rho_c`` (14b), ``Pr{CRB(theta_t) >= eps_t}
    <= rho_s`` (14c), ``theta_n`` on the b-bit grid (14d). Each step the agent proposes a full
    design ``(W, phi)``; the environment estimates the outage and CRB-failure probabilities by Monte
    Carlo over ``mc_draws`` error draws (default 1000) and checks the paper's safe approximations
    (Propositions 2-3, variant ``restriction``, default L-a with the full error dimension).

    ## Action Space
    Discrete phases (``RobustISAC-v0``; ``phase_action="discrete"``, ``phase_bits = b >= 1``):
    ``Dict(precoder=Box(-1, 1, (2 Nt K + 1,)), phases=MultiDiscrete([2**b] * N))``.
    ``precoder[:2NtK]`` is ``[Re vec W, Im vec W]`` (row-major ``Nt x K``), a direction (the decode is
    scale-invariant, zero gives equal power); ``precoder[-1] = a_p`` is the power level,
    ``P_dBm = p_min_dbm + (clip(a_p, -1, 1) + 1) / 2 (p_max_dbm - p_min_dbm)``, default
    ``[-40, 30]`` dBm, so ``P_max = 30`` dBm (1 W) is a hard cap. Phases ``phi_n = exp(j 2 pi i_n / 2**b)``
    (reflection coefficients; the paper's ``v = conj(phi)``).
    ``RobustISAC-Continuous-v0`` (``phase_action="quantize"``): ``Box(-1, 1, (2 Nt K + 1 + N,))``,
    ``[precoder, power level, phases]`` with ``phi = exp(j pi a)`` mapped to the nearest b-bit level.
    ``phase_bits=0``: continuous phases, same Box. ``encode_action(W, phi)`` / ``decode_action(a)``
    are inverses for powers in range and grid phases. Any finite value is accepted.

    ## Observation Space
    ``Box(-100, 100, (D,), float32)``, the estimated CSI only (the true channel is never observed),
    normalised to O(1): ``obs_mode="effective"`` (default) ``hat h_k(v_prev)`` divided by its RMS;
    ``"full"`` ``[Re, Im]`` of ``hat h_d,k`` and ``hat G_k`` divided by their path-loss RMS instead.
    Then ``hat alpha_t`` normalised ``[Re, Im]``, ``sin/cos theta_t``, ``log10`` of the relative error
    levels ``eps_d^2, eps_G^2, sigma_alpha^2`` (2K + T); then the previous step's results: power level
    ``a_p``, outage ``[K]``, CRB failure ``[T]``, certified (0/1), cost (zeros after reset).
    Size with ``obs_mode="effective"`` (default): ``2 K Nt + 4T + 2K + T + K + T + 3 = 85``; with ``"full"``
    ``2(K Nt + K N Nt) + 4T + 2K + T + K + T + 3 = 1109``.

    ## Rewards
    ``r = -P_dBm / 10 - lambda * (sum_k max(0, out_k - rho_c) + sum_t max(0, fail_t - rho_s))`` with
    ``P_dBm = 10 log10(||W||_F^2 / 1 mW)``, ``out_k`` / ``fail_t`` the Monte-Carlo rate-outage / CRB-failure
    probabilities and ``lambda = constraint_penalty`` (default 10; one full outage costs as much as
    95 dB of power). ``info["reward_terms"] = {"power", "outage_penalty", "crb_penalty"}`` (they sum to
    r); ``info["cost"]`` the total violation (the bracket); ``info["metrics"]``: ``power_w``,
    ``power_dbm``, ``outage`` / ``rate_est`` / ``rate_true`` / ``rate_margin`` / ``outage_violation``
    ``[K]``, ``crb_failure`` / ``crb_failure_exact`` / ``crb_est`` / ``crb_true`` / ``crb_margin`` /
    ``crb_violation`` ``[T]``, ``certified`` (bool, safe approximation). ``*_true`` use the scenario's
    one stored truth draw and are for evaluation only. ``power_dbm`` is floored at ``p_min_dbm`` and
    ``crb_est`` / ``crb_true`` are capped at ``(1 + 1e6) eps_t`` (infinite for a precoder blind to a
    target), so every metric is finite.

    Ranges (every value finite), for ``P_dBm`` in ``[p_min_dbm, p_max_dbm]`` (any action):
    ``cost`` in ``[0, K (1 - rho_c) + T (1 - rho_s)]``; ``r`` in
    ``[-p_max_dbm / 10 - lambda (K (1 - rho_c) + T (1 - rho_s)), -p_min_dbm / 10]``, by default
    ``[-41, 4]``; ``reward_terms["power"]`` in ``[-p_max_dbm / 10, -p_min_dbm / 10]``.

    ## Episode End
    Never terminated; truncated after ``horizon`` steps. ``channel_dynamics="static"`` (default) keeps
    one realisation per episode (design refinement); ``"gauss_markov"`` ages the estimates' scattered
    components and the target coefficients every step with correlation ``gm_correlation`` (errors
    and truth redrawn). ``env.unwrapped.scenario`` is the current :class:`~isac_env.physics.robust.RobustScenario`.

    ## Arguments
    Every field of :class:`~isac_env.config.RobustISACConfig` (scenario, task, Monte Carlo) and
    :class:`~isac_env.config.EnvConfig` (episode) as a keyword argument of ``gym.make``, or
    ``config=RobustISACConfig(...)`` / ``env_config=EnvConfig(...)`` (or dicts of their fields).
    ``phase_bits`` is the scenario's b. A value of the wrong type raises ``TypeError``, one out of
    range ``ValueError``, both naming the field (``num_bs_antennas >= 2``: with one antenna the CRB is
    infinite for every design). ``reset(options=...)`` accepts only ``"scenario"``.

    ## Version History
    * v0: initial release.
    """

    def __init__(
        self,
        config: RobustISACConfig | None = None,
        env_config: EnvConfig | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        check_render_mode(render_mode)
        task = RobustTask.from_kwargs(config, env_config, kwargs)
        super().__init__(task.env_config, render_mode)
        self.task = task
        self.config = task.config
        self.Nt, self.K, self.N, self.T = task.Nt, task.K, task.N, task.T
        self.action_space = task.action_space()
        self.observation_space = task.observation_space()
        self._phi_prev = np.ones(self.N, dtype=np.complex128)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw a new scenario; ``options={"scenario": s}`` replays ``s`` (see :meth:`ISACEnv.reset`)."""
        self._phi_prev = np.ones(self.N, dtype=np.complex128)
        return super().reset(seed=seed, options=options)

    # ------------------------------------------------------------------ hooks
    def _render_frame(self) -> NDArray[np.uint8]:
        from ..render import render_robust

        W, phi = self._last_design if self._last_design is not None else (None, None)
        return render_robust(self.config, self.scenario, W, phi, self._last_metrics, self._t)

    def _sample_scenario(self, rng: np.random.Generator) -> robust.RobustScenario:
        return robust.sample_scenario(self.config, rng)

    def _age_scenario(
        self, scenario: robust.RobustScenario, rng: np.random.Generator
    ) -> robust.RobustScenario:
        return robust.age_scenario(scenario, self.config, rng, self.env_config.gm_correlation)

    def _decode(self, action: Any) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        return self.task.decode(action, ())

    def _evaluate(
        self, scenario: robust.RobustScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
    ) -> dict[str, Any]:
        m = self.task.metrics(scenario, W, phi, self.task.draw(scenario, self.np_random))
        self._phi_prev = phi
        out: dict[str, Any] = {}
        for k, v in m.items():
            if k in _LISTS:
                out[k] = [float(x) for x in np.asarray(v)]
            elif k == "certified":
                out[k] = bool(v)
            else:
                out[k] = float(v)
        return out

    # ------------------------------------------------------------------ codecs
    def encode_action(self, W: NDArray[np.complex128], phi: NDArray[np.complex128]) -> Any:
        """``(W, phi)`` -> an action that :meth:`decode_action` maps back to ``(W, phi)``.

        Exact for ``p_min_dbm <= ||W||_F^2 (dBm) <= p_max_dbm`` and phases on the action's grid
        (off-grid phases map to the nearest level). ``phi`` is the reflection vector; a design in the
        paper's notation passes ``phi = robust.phi_from_v(v)``.
        """
        return self.task.encode(W, phi)
