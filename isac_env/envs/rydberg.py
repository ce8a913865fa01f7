"""``isac_env/RydbergISAC-v0``: multi-RAR RIS-ISAC sum-rate maximization under a CRB constraint."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from .. import codecs
from ..config import EnvConfig, RydbergISACConfig, split_kwargs
from ..physics import rar
from ..physics.channels import effective_channel
from .base import ISACEnv

#: Observations are clipped to [-OBS_BOUND, OBS_BOUND] (normalised features are O(1); the bound only
#: matters for degenerate designs, e.g. log10 of an infinite CRB).
OBS_BOUND = 100.0


def _cplx_features(x: NDArray[np.complex128], scale: Any) -> NDArray[np.float64]:
    z = np.asarray(x / scale)
    return np.clip(np.concatenate([z.real.ravel(), z.imag.ravel()]), -OBS_BOUND, OBS_BOUND)


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
    ``Box(-100, 100, (D,), float32)`` (features are clipped to the bounds; they are O(1)). ``obs_mode="full"`` (default): ``[Re, Im]`` of ``H_BR``,
    ``H_RU``, ``H_BU`` each divided by its path-loss amplitude (entries O(1)); ``"effective"``:
    ``H_eff,k(phi_prev)`` and ``v_t(phi_prev)`` normalised by their random-phase RMS. Both end with
    the previous step's metrics: per-user rate / 10, ``log10(tr CRB / eps)``, cost (zeros after
    reset).

    ## Rewards
    ``r = U_com - lambda * max(0, tr CRB / eps - 1)`` with ``U_com`` in bit/s/Hz and
    ``lambda = constraint_penalty`` (default 10). ``info["reward_terms"] = {"sum_rate",
    "crb_penalty"}`` (they sum to r), ``info["cost"] = max(0, tr CRB / eps - 1)``,
    ``info["metrics"] = {sum_rate, sinr, rate, crb_trace, power_w, power_dbm}``.

    ## Episode End
    Never terminated; truncated after ``horizon`` steps. ``channel_dynamics="static"`` keeps one
    draw per episode; ``"gauss_markov"`` ages the small-scale fading every step with correlation
    ``gm_correlation``.

    ## Arguments
    Every field of :class:`~isac_env.config.RydbergISACConfig` (scenario) and
    :class:`~isac_env.config.EnvConfig` (episode) as a keyword argument of ``gym.make``, or
    ``config=RydbergISACConfig(...)`` / ``env_config=EnvConfig(...)``.

    ## Version History
    * v0: initial release.
    """

    def __init__(
        self,
        config: RydbergISACConfig | None = None,
        env_config: EnvConfig | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        sc_kw, env_kw = split_kwargs(kwargs, RydbergISACConfig, EnvConfig)
        self.config = (config or RydbergISACConfig()).replace(**sc_kw)
        env_config = env_config or EnvConfig()
        super().__init__(EnvConfig(**{**env_config.__dict__, **env_kw}))
        c, e = self.config, self.env_config
        self.Nt, self.K, self.N, self.M = c.num_bs_antennas, c.num_users, c.num_ris, c.num_cells
        self._n_w = 2 * self.Nt * self.K
        self._phase_mode = "continuous" if e.phase_bits == 0 else e.phase_action
        if self._phase_mode == "discrete":
            self.action_space = spaces.Dict(
                {
                    "precoder": spaces.Box(-1.0, 1.0, (self._n_w,), np.float32),
                    "phases": spaces.MultiDiscrete(np.full(self.N, 2**e.phase_bits, dtype=np.int64)),
                }
            )
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (self._n_w + self.N,), np.float32)
        if e.obs_mode == "full":
            n_csi = 2 * (self.N * self.Nt + self.K * self.M * self.N + self.K * self.M * self.Nt)
        else:
            n_csi = 2 * (self.K * self.M * self.Nt + self.Nt)
        self._n_csi = n_csi
        self.observation_space = spaces.Box(-OBS_BOUND, OBS_BOUND, (n_csi + self.K + 2,), np.float32)
        self._csi: NDArray[np.float32] | None = None
        self._eff_scales: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self._phi_prev: NDArray[np.complex128] = np.ones(self.N, dtype=np.complex128)

    # ------------------------------------------------------------------ hooks
    def _sample_scenario(self, rng: np.random.Generator) -> rar.RydbergScenario:
        self._phi_prev = np.ones(self.N, dtype=np.complex128)
        return rar.sample_scenario(self.config, rng)

    def _age_scenario(self, scenario: rar.RydbergScenario, rng: np.random.Generator) -> rar.RydbergScenario:
        return rar.age_scenario(scenario, self.config, rng, self.env_config.gm_correlation)

    def _decode(self, action: Any) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        if self._phase_mode == "discrete":
            if not isinstance(action, dict) or set(action) != {"precoder", "phases"}:
                raise ValueError("action must be a dict with keys 'precoder' and 'phases'")
            a_w = codecs.check_finite_action(action["precoder"], (self._n_w,), "action['precoder']")
            idx = codecs.check_finite_action(action["phases"], (self.N,), "action['phases']")
            if (
                np.any(idx != np.round(idx))
                or np.any(idx < 0)
                or np.any(idx >= 2**self.env_config.phase_bits)
            ):
                raise ValueError(
                    f"action['phases'] must be integers in [0, {2**self.env_config.phase_bits - 1}]"
                )
            phi = codecs.decode_phases(idx, self.env_config.phase_bits, "discrete")
        else:
            a = codecs.check_finite_action(action, (self._n_w + self.N,))
            a_w = a[: self._n_w]
            phi = codecs.decode_phases(a[self._n_w :], self.env_config.phase_bits, self._phase_mode)
        W = codecs.decode_precoder(a_w, self.Nt, self.K, self.scenario.P_max)
        return W, phi

    def _evaluate(
        self, scenario: rar.RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
    ) -> dict[str, Any]:
        m = rar.evaluate(scenario, W, phi)
        self._phi_prev = phi
        sinr = m["sinr"]
        return {
            "sum_rate": float(m["sum_rate"]),
            "sinr": sinr.tolist(),
            "rate": np.log2(1.0 + sinr).tolist(),
            "crb_trace": float(m["crb_trace"]),
            "power_w": float(m["power_w"]),
            "power_dbm": float(10.0 * np.log10(m["power_w"]) + 30.0),
            "crb_violation": float(m["crb_violation"]),
        }

    def _reward(self, metrics: dict[str, Any]) -> tuple[float, dict[str, float], float]:
        cost = metrics["crb_violation"]
        terms = {
            "sum_rate": metrics["sum_rate"],
            "crb_penalty": -self.env_config.constraint_penalty * cost,
        }
        return terms["sum_rate"] + terms["crb_penalty"], terms, cost

    def _observe(
        self, scenario: rar.RydbergScenario, metrics: dict[str, Any] | None, new_scenario: bool
    ) -> NDArray[np.float32]:
        s = scenario
        if self.env_config.obs_mode == "full":
            if new_scenario or self._csi is None:
                sc = s.obs_scale
                self._csi = np.concatenate(
                    [
                        _cplx_features(s.H_BR, sc[0]),
                        _cplx_features(s.H_RU, sc[1 : 1 + self.K, None, None]),
                        _cplx_features(s.H_BU, sc[1 + self.K :, None, None]),
                    ]
                ).astype(np.float32)
            csi = self._csi
        else:
            if new_scenario or self._eff_scales is None:
                self._eff_scales = rar.observation_scales(s)
            s_h, s_v = self._eff_scales
            H = effective_channel(s.H_BU, s.H_RU, s.H_BR, self._phi_prev)
            v = rar.sensing_vectors_of(s, self._phi_prev)[:, 0]
            csi = np.concatenate([_cplx_features(H, s_h[:, None, None]), _cplx_features(v, s_v)]).astype(
                np.float32
            )
        tail = np.zeros(self.K + 2)
        if metrics is not None:
            tail[: self.K] = np.asarray(metrics["rate"]) / 10.0
            tail[self.K] = np.log10(metrics["crb_trace"] / float(s.eps))
            tail[self.K + 1] = metrics["crb_violation"]
        return np.concatenate([csi, np.clip(tail, -OBS_BOUND, OBS_BOUND).astype(np.float32)])

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
