"""Frozen, validated configuration dataclasses.

Every field has the paper's default (or the spec's recommendation where the paper is silent) and
is checked in ``__post_init__``: a bad value raises ``ValueError`` naming the field and the allowed
range. Configs are plain data (numpy-free), hashable, and can be overridden with
``dataclasses.replace`` or as ``gym.make`` keyword arguments.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "ROBUST_CSI_ERROR_PRESETS",
    "ROBUST_RESTRICTIONS",
    "EnvConfig",
    "RobustISACConfig",
    "RydbergISACConfig",
    "check_choice",
    "check_int",
    "check_real",
    "split_kwargs",
]


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    """Raise ``ValueError`` unless ``value`` is an int in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int | _np_int()):
        raise ValueError(
            f"{name} must be an integer in [{lo}, {hi if hi is not None else 'inf'}], got {value!r}"
        )
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be in [{lo}, {hi if hi is not None else 'inf'}], got {value}")


def _np_int() -> type:
    import numpy as np

    return np.integer


def check_real(
    name: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``value`` is a real number in the given interval."""
    lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
    rng = f"{lb}{lo}, {hi}{rb}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number in {rng}, got {value!r}") from None
    if isinstance(value, bool) or math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite real number in {rng}, got {value!r}")
    if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def split_kwargs(kwargs: dict[str, Any], *classes: type) -> list[dict[str, Any]]:
    """Split keyword arguments among dataclasses by field name; unknown names raise ``TypeError``."""
    out: list[dict[str, Any]] = [{} for _ in classes]
    for key, val in kwargs.items():
        for i, cls in enumerate(classes):
            if key in {f.name for f in fields(cls)}:
                out[i][key] = val
                break
        else:
            allowed = sorted({f.name for c in classes for f in fields(c)})
            raise TypeError(f"unknown argument {key!r}; allowed: {', '.join(allowed)}")
    return out


@dataclass(frozen=True)
class RydbergISACConfig:
    """Scenario of the multi-RAR RIS-ISAC paper (rar_isac spec Table I and section 8).

    Defaults: the paper's Table I (K=3, M=35, N=100, SNR 25 dB, RSR 10 dB, eps=0.025 rad^2,
    L=1024, kappa=2 linear) completed by the spec (Nt=6, P_max=30 dBm, radar noise -90 dBm,
    Liu et al.'s geometry and path-loss exponents).

    Modelling switches (spec section 10): ``rsr_model`` ("linear" paper-literal / "distortion"),
    ``polarization`` ("mnkl" paper-literal / "mkl" / "kl"), ``noise_calibration``
    ("common" paper-literal / "per_user"), ``rar_los_k_factor`` (0 = pure clustered NLoS).
    """

    num_users: int = 3  # K
    num_cells: int = 35  # M
    num_ris: int = 100  # N
    num_bs_antennas: int = 6  # Nt
    snr_db: float = 25.0  # eq. (104)
    rsr_db: float = 10.0  # eq. (105)
    crb_threshold: float = 0.025  # eps, rad^2
    num_snapshots: int = 1024  # L
    rician_factor: float = 2.0  # kappa (linear) of H_BR
    p_max_dbm: float = 30.0
    radar_noise_dbm: float = -90.0  # sigma_r^2
    alpha_t: float = 1.0  # target coefficient
    # geometry (spec 8.2), metres and radians
    d_br_m: float = 50.0
    d_rt_m: float = 3.0
    d_ru_m: float = 8.0
    angle_bs_ris_rad: float = math.pi / 4  # phi_{B,t}: DoD of the RIS at the BS
    angle_ris_bs_rad: float = -math.pi / 4  # phi_{R,t}: DoA of the BS at the RIS
    theta_r_rad: float = math.pi / 4  # target DoA at the RIS
    # path loss (spec 8.3)
    c0_db: float = -30.0
    pl_exp_br: float = 2.2
    pl_exp_rt: float = 2.2
    pl_exp_bt: float = 2.4
    pl_exp_ru: float = 2.3
    pl_exp_bu: float = 3.5
    # RAR channel model (spec 8.4)
    num_clusters: int = 23
    num_rays: int = 20
    ray_spread_deg: float = 5.0
    carrier_hz: float = 5e9
    max_delay_spread_s: float = 30e-9
    polarization: str = "mnkl"
    rar_los_k_factor: float = 0.0
    # RAR receiver model (spec 3.1, 8.6)
    rsr_model: str = "linear"
    noise_calibration: str = "common"

    def __post_init__(self) -> None:
        check_int("num_users", self.num_users, 1, 64)
        check_int("num_cells", self.num_cells, 1, 1024)
        check_int("num_ris", self.num_ris, 1, 4096)
        check_int("num_bs_antennas", self.num_bs_antennas, 1, 256)
        check_real("snr_db", self.snr_db, -50, 100)
        check_real("rsr_db", self.rsr_db, -50, 100)
        check_real("crb_threshold", self.crb_threshold, 0, lo_open=True)
        check_int("num_snapshots", self.num_snapshots, 1)
        check_real("rician_factor", self.rician_factor, 0, allow_inf=True)
        check_real("p_max_dbm", self.p_max_dbm, -50, 80)
        check_real("radar_noise_dbm", self.radar_noise_dbm, -250, 50)
        check_real("alpha_t", self.alpha_t, 0, lo_open=True)
        for name in ("d_br_m", "d_rt_m", "d_ru_m"):
            check_real(name, getattr(self, name), 0, lo_open=True)
        for name in ("angle_bs_ris_rad", "angle_ris_bs_rad", "theta_r_rad"):
            check_real(name, getattr(self, name), -math.pi, math.pi)
        check_real("c0_db", self.c0_db, -200, 0)
        for name in ("pl_exp_br", "pl_exp_rt", "pl_exp_bt", "pl_exp_ru", "pl_exp_bu"):
            check_real(name, getattr(self, name), 1.0, 8.0)
        check_int("num_clusters", self.num_clusters, 1, 1000)
        check_int("num_rays", self.num_rays, 1, 1000)
        check_real("ray_spread_deg", self.ray_spread_deg, 0, 90)
        check_real("carrier_hz", self.carrier_hz, 0, lo_open=True)
        check_real("max_delay_spread_s", self.max_delay_spread_s, 0, 1e-3)
        check_choice("polarization", self.polarization, ("mnkl", "mkl", "kl"))
        check_real("rar_los_k_factor", self.rar_los_k_factor, 0, allow_inf=True)
        check_choice("rsr_model", self.rsr_model, ("linear", "distortion"))
        check_choice("noise_calibration", self.noise_calibration, ("common", "per_user"))

    def replace(self, **changes: Any) -> RydbergISACConfig:
        """Copy with fields replaced (validated)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class EnvConfig:
    """Episode settings shared by every isac-gym environment.

    Attributes:
        horizon: steps per episode (``truncated`` at the horizon; ``terminated`` is never set).
        channel_dynamics: ``"static"`` (one draw per episode, default) or ``"gauss_markov"``
            (every step the small-scale fading ages as ``H <- rho H + sqrt(1 - rho^2) H_new``
            with ``H_new`` an independent draw of the same model; large-scale geometry fixed).
        gm_correlation: ``rho`` of the Gauss-Markov model, in [0, 1].
        constraint_penalty: weight ``lambda`` of the constraint-violation penalty in the reward.
        phase_bits: RIS phase resolution b; 0 means continuous phases.
        phase_action: with ``phase_bits > 0``: ``"discrete"`` (phase part is ``MultiDiscrete``,
            action is a ``Dict``) or ``"quantize"`` (``Box`` action, phases quantized to the grid).
        obs_mode: observation features, see the environment docstring.
    """

    horizon: int = 50
    channel_dynamics: str = "static"
    gm_correlation: float = 0.99
    constraint_penalty: float = 10.0
    phase_bits: int = 0
    phase_action: str = "discrete"
    obs_mode: str = "full"

    def __post_init__(self) -> None:
        check_int("horizon", self.horizon, 1)
        check_choice("channel_dynamics", self.channel_dynamics, ("static", "gauss_markov"))
        check_real("gm_correlation", self.gm_correlation, 0.0, 1.0)
        check_real("constraint_penalty", self.constraint_penalty, 0.0)
        check_int("phase_bits", self.phase_bits, 0, 8)
        check_choice("phase_action", self.phase_action, ("discrete", "quantize"))
        check_choice("obs_mode", self.obs_mode, ("full", "effective"))


#: CSI-error levels ``delta^2`` of the robust paper's figures (robust_isac spec section 10, [A]):
#: Fig. 2 uses 0.01, Fig. 3 a larger error, 0.05.
ROBUST_CSI_ERROR_PRESETS: dict[str, float] = {"fig2": 0.01, "fig3": 0.05}

#: Safe-approximation variants of the rate-outage constraint (robust_isac spec 4.2-4.3, A1):
#: ``"la_full"`` L-a with ``n = Nt + N Nt`` (paper-faithful, default), ``"la_nt"`` L-a with
#: ``n = Nt``, ``"lb"`` SOC-only Chernoff, ``"lc"`` Bernstein quadratic + Gaussian linear,
#: ``"bti"`` the Bernstein-type inequality of Wang et al.
ROBUST_RESTRICTIONS: tuple[str, ...] = ("la_full", "la_nt", "lb", "lc", "bti")


@dataclass(frozen=True)
class RobustISACConfig:
    """Scenario of the robust RIS-ISAC paper (robust_isac spec sections 1, 3, 10 and 11).

    Defaults: the paper's stated values (Nt=16, K=2, T=2, noise -110 dBm, rate threshold
    2 bit/s/Hz, CRB threshold 0.01 rad^2, rho_c = rho_s = 0.05) completed by the spec's [A]
    choices (b=2, L=256, N=16, relative CSI error delta^2 = 0.01, RCT error 0.01 |alpha|^2,
    lambda_c = 0.1 m, RCS 1 m^2, path-loss exponents 4 / 2 / 2.2 for BS-user / RIS-user /
    BS-RIS, Rayleigh direct and RIS-user links, pure-LoS BS-RIS link).

    CSI-error models (``csi_error_model``, spec section 10 and A3), all isotropic:

    * ``"relative"``: ``E_d,k = delta^2 ||h_d,k||^2 / Nt I``, ``E_G,k = delta^2 ||vec G_k||^2 / (N Nt) I``
      (estimates ``hat``; default);
    * ``"relative_unnormalized"``: ``E_d,k = delta^2 ||h_d,k||^2 I``, ``E_G,k = delta^2 ||vec G_k||^2 I``
      (ref. [38] style);
    * ``"absolute"``: ``E_d = eps_d^2 I``, ``E_G = eps_G^2 I`` with the per-entry variances of the
      noise-normalised channels given in dB by ``csi_error_abs_d_db`` / ``csi_error_abs_g_db``
      (defaults: delta^2 = 0.01 times the nominal gains at the user-disk centre).

    Action-range fields (``p_min_dbm``, ``p_max_dbm``), the Monte-Carlo settings (``mc_draws``,
    ``mc_method``) and the certification variant (``restriction``) define the task's evaluation.
    ``phase_bits = 0`` means continuous RIS phases (the paper's "continuous phase" curve).
    """

    num_bs_antennas: int = 16  # Nt
    num_users: int = 2  # K
    num_targets: int = 2  # T
    num_ris: int = 16  # N
    phase_bits: int = 2  # b, M = 2**b levels (eq. (1)); 0 = continuous
    num_snapshots: int = 256  # L
    noise_dbm: float = -110.0  # sigma_k^2 = sigma_s^2
    rate_threshold: float = 2.0  # bar R_k, bit/s/Hz
    crb_threshold: float = 0.01  # eps_t, rad^2 (A14)
    rho_c: float = 0.05  # rate-outage probability (14b)
    rho_s: float = 0.05  # CRB-failure probability (14c)
    rho_split: float = 0.5  # rho_1 / rho: share of rho on the Gaussian linear part (A12)
    restriction: str = "la_full"
    # imperfect CSI / RCT (spec 1.4, 1.5, 10)
    csi_error_model: str = "relative"
    csi_error_delta2: float = 0.01
    csi_error_abs_d_db: float = 16.2
    csi_error_abs_g_db: float = -4.6
    rct_error_ratio: float = 0.01  # sigma_alpha,t^2 / |alpha_hat_t|^2
    # geometry (spec 10), metres; BS at the origin, ULA along y, broadside +x
    ris_x_m: float = 50.0
    ris_y_m: float = 10.0
    user_center_x_m: float = 70.0
    user_center_y_m: float = 0.0
    user_radius_m: float = 5.0
    target_radius_m: float = 70.0
    target_min_radius_m: float = 1.0  # [A] keeps targets beyond the 1 m path-loss reference
    # path loss PL(d) = c0 - 10 alpha log10 d dB and Rician factors (linear; inf = pure LoS)
    c0_db: float = -30.0
    pl_exp_d: float = 4.0  # BS -> user
    pl_exp_r: float = 2.0  # RIS -> user
    pl_exp_g: float = 2.2  # BS -> RIS
    rician_d: float = 0.0
    rician_r: float = 0.0
    rician_g: float = math.inf
    wavelength_m: float = 0.1  # lambda_c
    rcs_m2: float = 1.0  # kappa_RCS
    # action range and evaluation
    p_max_dbm: float = 30.0
    p_min_dbm: float = -40.0
    mc_draws: int = 1000
    mc_method: str = "projected"  # "projected" | "effective" | "full": exact samplers, see rate_outage_mc

    def __post_init__(self) -> None:
        check_int("num_bs_antennas", self.num_bs_antennas, 1, 256)
        check_int("num_users", self.num_users, 1, 64)
        check_int("num_targets", self.num_targets, 1, 64)
        check_int("num_ris", self.num_ris, 0, 1024)
        check_int("phase_bits", self.phase_bits, 0, 8)
        check_int("num_snapshots", self.num_snapshots, 1)
        check_real("noise_dbm", self.noise_dbm, -250, 50)
        check_real("rate_threshold", self.rate_threshold, 0, 50, lo_open=True)
        check_real("crb_threshold", self.crb_threshold, 0, lo_open=True)
        check_real("rho_c", self.rho_c, 0, 1, lo_open=True, hi_open=True)
        check_real("rho_s", self.rho_s, 0, 1, lo_open=True, hi_open=True)
        check_real("rho_split", self.rho_split, 0, 1, lo_open=True, hi_open=True)
        check_choice("restriction", self.restriction, ROBUST_RESTRICTIONS)
        check_choice(
            "csi_error_model", self.csi_error_model, ("relative", "relative_unnormalized", "absolute")
        )
        check_real("csi_error_delta2", self.csi_error_delta2, 0, 10)
        check_real("csi_error_abs_d_db", self.csi_error_abs_d_db, -300, 300)
        check_real("csi_error_abs_g_db", self.csi_error_abs_g_db, -300, 300)
        check_real("rct_error_ratio", self.rct_error_ratio, 0, 10)
        for name in ("ris_x_m", "ris_y_m", "user_center_x_m", "user_center_y_m"):
            check_real(name, getattr(self, name), -1e4, 1e4)
        check_real("user_radius_m", self.user_radius_m, 0, 1e4)
        check_real("target_radius_m", self.target_radius_m, 0, 1e4, lo_open=True)
        check_real("target_min_radius_m", self.target_min_radius_m, 0, self.target_radius_m, lo_open=True)
        check_real("c0_db", self.c0_db, -200, 0)
        for name in ("pl_exp_d", "pl_exp_r", "pl_exp_g"):
            check_real(name, getattr(self, name), 1.0, 8.0)
        for name in ("rician_d", "rician_r", "rician_g"):
            check_real(name, getattr(self, name), 0, allow_inf=True)
        check_real("wavelength_m", self.wavelength_m, 0, 10, lo_open=True)
        check_real("rcs_m2", self.rcs_m2, 0, 1e6, lo_open=True)
        check_real("p_max_dbm", self.p_max_dbm, -100, 80)
        check_real("p_min_dbm", self.p_min_dbm, -200, self.p_max_dbm, hi_open=True)
        check_int("mc_draws", self.mc_draws, 1, 10_000_000)
        check_choice("mc_method", self.mc_method, ("projected", "effective", "full"))
        if math.hypot(self.user_center_x_m, self.user_center_y_m) <= self.user_radius_m:
            raise ValueError("user_radius_m must be smaller than the BS-to-disk-centre distance")

    def replace(self, **changes: Any) -> RobustISACConfig:
        """Copy with fields replaced (validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_preset(cls, name: str, **changes: Any) -> RobustISACConfig:
        """Config with the CSI-error level ``delta^2`` of a named preset (``"fig2"``, ``"fig3"``)."""
        check_choice("preset", name, tuple(ROBUST_CSI_ERROR_PRESETS))
        return cls(**{"csi_error_delta2": ROBUST_CSI_ERROR_PRESETS[name], **changes})
