"""``isac_env/RydbergISAC-v0``: multi-RAR RIS-ISAC sum-rate maximization under a CRB constraint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from .. import codecs
from ..bank import ChannelBank, as_channel_bank
from ..codecs import OBS_BOUND, cplx_features, cplx_parts, power_floor
from ..config import EnvConfig, RydbergISACConfig, coerce_config, split_kwargs
from ..physics import rar
from ..physics._xp import is_numpy, namespace
from .base import COST_CAP, ISACEnv, check_render_mode

__all__ = ["COST_CAP", "OBS_BOUND", "RydbergISACEnv", "RydbergTask"]

#: the BS-target distance d_BT must be at least this (m): its path loss diverges at 0
_MIN_TARGET_DIST_M = 0.1

#: metrics with one entry per user (lists in the single env's info)
_PER_USER = ("sinr", "rate")


@dataclass(frozen=True)
class RydbergTask:
    """The RydbergISAC task's pure functions: spaces, action decode, metrics, reward, observation.

    Every method broadcasts over leading batch axes ``[...]`` of the scenario and the action, so
    :class:`RydbergISACEnv` (batch shape ``()``) and
    :class:`~isac_env.envs.vector.RydbergISACVectorEnv` (batch shape ``(B,)``) share one
    implementation and agree to the last bit wherever NumPy's summation order does.

    Backends: the step functions (:meth:`decode`, :meth:`metrics`, :meth:`reward`,
    :meth:`scenario_features`, :meth:`observe`) take NumPy arrays (the reference, float64/complex128)
    or a scenario converted to torch (``scenario.to("torch", ...)``) with torch actions, and return
    arrays of the same backend, device and precision (observations float32 on both);
    :class:`~isac_env.envs.torch_vector.TorchRydbergISACVectorEnv` steps them on the device.

    Attributes:
        config: scenario parameters.
        env_config: episode parameters.
    """

    config: RydbergISACConfig
    env_config: EnvConfig

    @classmethod
    def from_kwargs(
        cls, config: RydbergISACConfig | None, env_config: EnvConfig | None, kwargs: dict[str, Any]
    ) -> RydbergTask:
        """Merge ``gym.make`` keyword arguments into the two configs (unknown names raise ``TypeError``)."""
        sc_kw, env_kw = split_kwargs(kwargs, RydbergISACConfig, EnvConfig)
        cfg = coerce_config("config", config, RydbergISACConfig).replace(**sc_kw)
        env_config = coerce_config("env_config", env_config, EnvConfig)
        d_bt = rar.rar_geometry(cfg)["d_BT"]
        if not d_bt >= _MIN_TARGET_DIST_M:
            raise ValueError(
                "d_br_m, d_rt_m, angle_bs_ris_rad, theta_r_rad place the target "
                f"{d_bt:.3g} m from the BS; it must be at least {_MIN_TARGET_DIST_M} m away"
            )
        return cls(cfg, EnvConfig(**{**env_config.__dict__, **env_kw}))

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
    def M(self) -> int:
        return self.config.num_cells

    @cached_property
    def n_w(self) -> int:
        """Size ``2 Nt K`` of the precoder part of the action."""
        return 2 * self.Nt * self.K

    @cached_property
    def phase_mode(self) -> str:
        """``"continuous"``, ``"discrete"`` or ``"quantize"``."""
        return "continuous" if self.env_config.phase_bits == 0 else self.env_config.phase_action

    @cached_property
    def n_csi(self) -> int:
        """Number of channel features at the start of the observation."""
        Nt, K, M, N = self.Nt, self.K, self.M, self.N
        if self.env_config.obs_mode == "full":
            return 2 * (N * Nt + K * M * N + K * M * Nt)
        return 2 * (K * M * Nt + Nt)

    def action_space(self) -> spaces.Space:
        """The single-env action space (see :class:`RydbergISACEnv`)."""
        return codecs.action_space(self.n_w, self.N, self.env_config.phase_bits, self.phase_mode)

    def observation_space(self) -> spaces.Box:
        """The single-env observation space, ``Box(-OBS_BOUND, OBS_BOUND, (n_csi + K + 2,), float32)``."""
        return spaces.Box(-OBS_BOUND, OBS_BOUND, (self.n_csi + self.K + 2,), np.float32)

    # ------------------------------------------------------------------ step functions
    def decode(
        self,
        action: Any,
        p_max: Any,
        batch_shape: tuple[int, ...] = (),
        *,
        check_values: bool = True,
        dtype: Any = None,
    ) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        """Validate and decode an action of batch shape ``batch_shape`` into ``(W, phi)``.

        Args:
            action: Box action ``[*batch, 2 Nt K + N]`` or, for discrete phases, a dict with
                ``"precoder"`` ``[*batch, 2 Nt K]`` and integer ``"phases"`` ``[*batch, N]``
                (NumPy, or torch tensors).
            p_max: power budget (W), broadcastable to ``batch_shape``.
            batch_shape: expected leading axes.
            check_values, dtype: torch only, see :func:`~isac_env.codecs.split_action`.

        Returns:
            ``W`` complex ``[*batch, Nt, K]`` with ``||W||_F^2 = p_max``, ``phi`` ``[*batch, N]``
            (complex128 for NumPy; the action's or ``dtype``'s precision for torch).

        Raises:
            ValueError: wrong structure or shape, non-finite entries, phase indices off the grid.
        """
        bits = self.env_config.phase_bits
        kw = {"check_values": check_values, "dtype": dtype}
        a_w, phi = codecs.split_action(action, self.n_w, self.N, bits, self.phase_mode, batch_shape, **kw)
        W = codecs.decode_precoder(a_w, self.Nt, self.K, p_max)
        return W, phi

    def step_terms(self, scenario: rar.RydbergScenario, phi: NDArray[np.complex128]) -> dict[str, Any] | None:
        """The phase terms (:func:`~isac_env.physics.rar.phi_terms`) that a step shares between
        :meth:`metrics` and :meth:`observe_csi`, or ``None`` where the observation does not use them
        (``obs_mode="full"``). With them a step reads ``H_RU`` once."""
        return rar.phi_terms(scenario, phi) if self.env_config.obs_mode == "effective" else None

    def metrics(
        self,
        scenario: rar.RydbergScenario,
        W: NDArray[np.complex128],
        phi: NDArray[np.complex128],
        terms: dict[str, Any] | None = None,
    ) -> dict[str, NDArray[np.float64]]:
        """Task metrics of ``(W, phi)`` (``info["metrics"]``), float64 arrays over the batch
        (``terms``: :meth:`step_terms` of ``(scenario, phi)``, if computed).

        ``sum_rate`` (bit/s/Hz), ``sinr`` / ``rate`` ``[..., K]``, ``crb_trace`` (rad^2),
        ``power_w``, ``power_dbm``, ``crb_violation = max(0, tr CRB / eps - 1)``.

        A singular DoA FIM (``tr CRB = inf``, e.g. a precoder orthogonal to the sensing directions)
        is reported at the cap: ``crb_trace <= (1 + COST_CAP) eps`` and ``crb_violation <= COST_CAP``
        (values under the cap are unchanged), and ``power_dbm`` is floored at -2970 dBm (1e-300 W;
        only ``W = 0``, which no action decodes to, reaches it), so every metric is finite.
        """
        m = rar.evaluate(scenario, W, phi, terms)
        xp = namespace(m["power_w"])
        eps = np.asarray(scenario.eps) if is_numpy(xp) else scenario.eps
        return {
            "sum_rate": m["sum_rate"],
            "sinr": m["sinr"],
            "rate": m["rate"],
            "crb_trace": xp.minimum(m["crb_trace"], (1.0 + COST_CAP) * eps),
            "power_w": m["power_w"],
            "power_dbm": 10.0 * xp.log10(xp.maximum(m["power_w"], power_floor(xp, m["power_w"]))) + 30.0,
            "crb_violation": xp.minimum(m["crb_violation"], COST_CAP),
        }

    def reward(self, metrics: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
        """``(reward, reward_terms, cost)`` with ``r = sum_rate - lambda * crb_violation``."""
        cost = metrics["crb_violation"]
        terms = {"sum_rate": metrics["sum_rate"], "crb_penalty": -self.env_config.constraint_penalty * cost}
        return terms["sum_rate"] + terms["crb_penalty"], terms, cost

    def scenario_features(self, scenario: rar.RydbergScenario) -> NDArray[np.floating]:
        """Per-scenario part of the observation, computed once per new channel.

        ``obs_mode="full"``: the normalised CSI features, float32 ``[..., n_csi]``;
        ``"effective"``: the RMS scales ``[s_h (K), s_v]`` of :func:`rar.observation_scales`,
        float64 ``[..., K + 1]``.
        """
        s = scenario
        xp = namespace(s.H_BR)
        nb = s.H_BR.ndim - 2
        if self.env_config.obs_mode == "full":
            sc = s.obs_scale
            K = self.K
            feats = xp.concat(
                [
                    cplx_features(s.H_BR, sc[..., 0, None, None], nb),
                    cplx_features(s.H_RU, sc[..., 1 : 1 + K, None, None], nb),
                    cplx_features(s.H_BU, sc[..., 1 + K :, None, None], nb),
                ],
                axis=-1,
            )
            return xp.astype(feats, xp.float32, copy=False)
        s_h, s_v = rar.observation_scales(s)
        s_v = np.asarray(s_v) if is_numpy(xp) else s_v
        return xp.concat([s_h, s_v[..., None]], axis=-1)

    def observe(
        self,
        scenario: rar.RydbergScenario,
        features: NDArray[np.floating],
        phi_prev: NDArray[np.complex128],
        metrics: dict[str, Any] | None,
        terms: dict[str, Any] | None = None,
    ) -> NDArray[np.float32]:
        """Observation ``[..., n_csi + K + 2]`` float32 (see :class:`RydbergISACEnv`).

        Args:
            scenario: current channels (batched or not).
            features: :meth:`scenario_features` of ``scenario``.
            phi_prev: the last played phases ``[..., N]`` (ones after a reset).
            metrics: the last step's :meth:`metrics` or ``None`` after a reset (zero tail).
            terms: :meth:`step_terms` of ``(scenario, phi_prev)``, if the step computed them.
        """
        xp = namespace(scenario.H_BR)
        tail = self.observe_tail(scenario, metrics)
        if self.env_config.obs_mode == "full":
            return xp.concat([features, tail], axis=-1)
        # one concatenation and one clip for the whole observation (the tail is already in bounds)
        parts = [*self._csi_parts(scenario, features, phi_prev, terms), tail]
        return xp.astype(xp.clip(xp.concat(parts, axis=-1), -OBS_BOUND, OBS_BOUND), xp.float32, copy=False)

    def observe_csi(
        self,
        scenario: rar.RydbergScenario,
        features: NDArray[np.floating],
        phi_prev: NDArray[np.complex128],
        terms: dict[str, Any] | None = None,
    ) -> NDArray[np.float32]:
        """Channel part ``[..., n_csi]`` of the observation (constant within a static episode for
        ``obs_mode="full"``); ``terms``: :meth:`step_terms` of ``(scenario, phi_prev)``, if computed."""
        if self.env_config.obs_mode == "full":
            return features  # type: ignore[return-value]
        xp = namespace(scenario.H_BR)
        feats = xp.concat(self._csi_parts(scenario, features, phi_prev, terms), axis=-1)
        return xp.astype(xp.clip(feats, -OBS_BOUND, OBS_BOUND), xp.float32, copy=False)

    def _csi_parts(
        self,
        scenario: rar.RydbergScenario,
        features: NDArray[np.floating],
        phi_prev: NDArray[np.complex128],
        terms: dict[str, Any] | None,
    ) -> list[Any]:
        """The unclipped blocks of the effective observation: ``[Re, Im]`` of ``H_eff,k(phi_prev) / s_h,k``
        and of ``v_t(phi_prev) / s_v`` (:func:`~isac_env.codecs.cplx_parts`)."""
        s = scenario
        nb = s.H_BR.ndim - 2
        K = self.K
        s_h, s_v = features[..., :K], features[..., K]
        terms = terms or rar.phi_terms(s, phi_prev)
        H, v = terms["H_eff"], terms["V"][..., 0]
        return [*cplx_parts(H, s_h[..., :, None, None], nb), *cplx_parts(v, s_v[..., None], nb)]

    def observe_tail(
        self, scenario: rar.RydbergScenario, metrics: dict[str, Any] | None
    ) -> NDArray[np.float32]:
        """Metric part ``[..., K + 2]``: per-user rate / 10, ``log10(tr CRB / eps)``, ``log1p(cost)``
        (zeros for ``metrics=None``)."""
        s = scenario
        K = self.K
        xp = namespace(s.H_BR)
        numpy = is_numpy(xp)
        batch = tuple(s.H_BR.shape[:-2])
        if metrics is None:
            if numpy:
                return np.zeros((*batch, K + 2), dtype=np.float32)
            return xp.zeros((*batch, K + 2), dtype=xp.float32, device=s.H_BR.device)
        asarray = np.asarray if numpy else (lambda x: x)  # the single env passes lists and floats
        rate = asarray(metrics["rate"]) / 10.0
        log_crb = xp.log10(asarray(metrics["crb_trace"]) / s.eps)
        log_cost = xp.log1p(metrics["crb_violation"])
        if numpy:  # in place: broadcasts the single env's scalars, cheaper than concatenating
            tail = np.empty((*batch, K + 2))
            tail[..., :K], tail[..., K], tail[..., K + 1] = rate, log_crb, log_cost
            return tail.clip(-OBS_BOUND, OBS_BOUND).astype(np.float32)
        tail = xp.concat([rate, log_crb[..., None], log_cost[..., None]], axis=-1)
        return xp.astype(xp.clip(tail, -OBS_BOUND, OBS_BOUND), xp.float32, copy=False)


class RydbergISACEnv(ISACEnv[rar.RydbergScenario]):
    """Joint precoding and RIS phase design for K Rydberg-atomic-receiver users and one target.

    ## Description
    A base station with ``Nt`` antennas precodes K streams ``x = W s`` to K users, each with a
    Rydberg atomic receiver of M vapor cells, through an N-element RIS, while sensing a target's
    DoA pair ``theta = [theta_B, theta_R]`` (Jeon & Chae; rar_isac spec). Each step the agent
    proposes a full design ``(W, phi)``; the environment reports the sum rate ``U_com`` (24) and
    ``tr CRB_theta`` (28)-(34). The problem is ``max U_com s.t. tr CRB <= eps, ||W||_F^2 <= P_max,
    |phi_n| = 1``.

    ## Action Space
    ``Box(-1, 1, (2 Nt K + N,), float32)``: ``a[:2NtK]`` is ``[Re vec W, Im vec W]``, rescaled onto
    the power budget ``||W||_F^2 = P_max`` (full power never lowers the rate and lowers the CRB);
    ``a[2NtK:]`` are the RIS phases ``phi = exp(j pi a)``. Any finite value is accepted, nothing is
    clipped (the decode is scale-invariant in W and 2-periodic in the phases).
    With ``phase_bits = b > 0``: ``phase_action="discrete"`` gives
    ``Dict(precoder=Box(-1, 1, (2NtK,)), phases=MultiDiscrete([2**b] * N))`` with
    ``phi_n = exp(j 2 pi i_n / 2**b)``; ``phase_action="quantize"`` keeps the Box and maps each
    phase to the nearest b-bit level. ``encode_action(W, phi)`` / ``decode_action(a)`` are exact
    inverses for full-power W (up to the quantization).

    ## Observation Space
    ``Box(-100, 100, (D,), float32)`` (features are clipped to the bounds; they are O(1)). ``obs_mode="effective"`` (default):
    ``H_eff,k(phi_prev)`` and ``v_t(phi_prev)`` normalised by their random-phase RMS (1,277 features
    at Table I); ``"full"``: ``[Re, Im]`` of ``H_BR``, ``H_RU``, ``H_BU`` each divided by its path-loss
    amplitude (entries O(1); 23,465 features at Table I). Both end with
    the previous step's metrics: per-user rate / 10, ``log10(tr CRB / eps)``, ``log1p(cost)`` (zeros after
    reset).

    ## Rewards
    ``r = U_com - lambda * min(max(0, tr CRB / eps - 1), C)`` with ``U_com`` in bit/s/Hz,
    ``lambda = constraint_penalty`` (default 10, at most 1e6) and the cap ``C = COST_CAP = 1e6`` (only a
    singular or nearly singular FIM reaches it; ``info["metrics"]["crb_trace"]`` is capped at
    ``(1 + C) eps`` alike). ``info["reward_terms"] = {"sum_rate", "crb_penalty"}`` (they sum to r),
    ``info["cost"] = min(max(0, tr CRB / eps - 1), C)``,
    ``info["metrics"] = {sum_rate, sinr, rate, crb_trace, power_w, power_dbm, crb_violation}``.

    Ranges (every value finite): ``cost`` in ``[0, C]``; ``sum_rate`` in ``[0, inf)`` (finite, it
    grows with the SNR); ``r`` in ``[-lambda C, sum_rate]``, i.e. ``r >= -lambda C`` and ``r <= U_com``
    with equality when the CRB constraint holds.

    ## Episode End
    Never terminated; truncated after ``horizon`` steps. ``channel_dynamics="static"`` keeps one
    draw per episode; ``"gauss_markov"`` ages the small-scale fading every step with correlation
    ``gm_correlation``.

    ## Arguments
    Every field of :class:`~isac_env.config.RydbergISACConfig` (scenario) and
    :class:`~isac_env.config.EnvConfig` (episode) as a keyword argument of ``gym.make``, or
    ``config=RydbergISACConfig(...)`` / ``env_config=EnvConfig(...)`` (or dicts of their fields).
    A value of the wrong type raises ``TypeError``, one out of range ``ValueError``, both naming the
    field; configs that make the task ill-posed are rejected (``num_ris`` and ``num_bs_antennas``
    must be >= 2: with one element the DoA FIM is singular for every design).
    ``reset(options=...)`` accepts only ``"scenario"``; another key raises ``ValueError``.

    ## Version History
    * v0: initial release.
    """

    def __init__(
        self,
        config: RydbergISACConfig | None = None,
        env_config: EnvConfig | None = None,
        render_mode: str | None = None,
        channel_bank: ChannelBank | str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        check_render_mode(render_mode)
        task = RydbergTask.from_kwargs(config, env_config, kwargs)
        super().__init__(task.env_config, render_mode)
        self.task = task
        self.config = task.config
        self.Nt, self.K, self.N, self.M = task.Nt, task.K, task.N, task.M
        self._n_w = task.n_w
        self._phase_mode = task.phase_mode
        self._n_csi = task.n_csi
        self.action_space = task.action_space()
        self.observation_space = task.observation_space()
        self.channel_bank = as_channel_bank(channel_bank, self.config)
        self._phi_prev = np.ones(self.N, dtype=np.complex128)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw a new scenario (from ``channel_bank`` if given); see :meth:`ISACEnv.reset`."""
        self._phi_prev = np.ones(self.N, dtype=np.complex128)
        return super().reset(seed=seed, options=options)

    # ------------------------------------------------------------------ hooks
    def _render_frame(self) -> NDArray[np.uint8]:
        from ..render import render_rydberg

        W, phi = self._last_design if self._last_design is not None else (None, None)
        return render_rydberg(self.config, self.scenario, W, phi, self._last_metrics, self._t)

    def _sample_scenario(self, rng: np.random.Generator) -> rar.RydbergScenario:
        if self.channel_bank is not None:
            return self.channel_bank[self.channel_bank.draw_index(rng)]
        return rar.sample_scenario(self.config, rng)

    def _age_scenario(self, scenario: rar.RydbergScenario, rng: np.random.Generator) -> rar.RydbergScenario:
        return rar.age_scenario(scenario, self.config, rng, self.env_config.gm_correlation)

    def _decode(self, action: Any) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        return self.task.decode(action, self.scenario.P_max, ())

    def _evaluate(
        self, scenario: rar.RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
    ) -> dict[str, Any]:
        self._terms = self.task.step_terms(scenario, phi)
        m = self.task.metrics(scenario, W, phi, self._terms)
        self._phi_prev = phi
        return {k: (v.tolist() if k in _PER_USER else float(v)) for k, v in m.items()}

    # ------------------------------------------------------------------ codecs
    def encode_action(self, W: NDArray[np.complex128], phi: NDArray[np.complex128]) -> Any:
        """``(W, phi)`` -> an action that :meth:`decode_action` maps back to ``(W, phi)``.

        Exact for ``||W||_F^2 = P_max`` (the decode rescales W onto the power budget) and for
        phases on the action's grid (discrete/quantized phases are mapped to the nearest level).
        """
        a_w = codecs.encode_precoder(W)
        if self._phase_mode == "discrete":
            return {
                "precoder": a_w,
                "phases": codecs.encode_phases(phi, self.env_config.phase_bits, "discrete"),
            }
        a_phi = codecs.encode_phases(phi, self.env_config.phase_bits, self._phase_mode)
        return np.concatenate([a_w, a_phi])
