"""Frozen, validated configuration dataclasses.

Every field has the paper's default (or the spec's recommendation where the paper is silent) and
is checked in ``__post_init__``: a value of the wrong type (a string, ``bool``, ``None``, a float
for an integer field...) raises ``TypeError`` and a value out of range (including NaN, infinities
and integers too large for a float) raises ``ValueError``; both messages name the field and the
allowed range. Every range is finite and physically sane (distances, powers, counts), so no
accepted config overflows or exhausts memory when sampled. Accepted values are stored normalised
(Python ``int`` / ``float`` / ``str``; ``-0.0`` becomes ``0.0``), so configs are plain data,
hashable, and can be overridden with ``dataclasses.replace`` or as ``gym.make`` keyword arguments.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "ROBUST_CSI_ERROR_PRESETS",
    "ROBUST_RESTRICTIONS",
    "EnvConfig",
    "RobustISACConfig",
    "RydbergISACConfig",
    "check_choice",
    "check_int",
    "check_real",
    "coerce_config",
    "split_kwargs",
]


_C = TypeVar("_C")

#: bound of unbounded counts (snapshots, horizon): keeps every count a sane machine integer
_MAX_COUNT = 10**9
#: shortest / longest link distance of a scenario (m); the path loss ``c0 d^-alpha`` diverges at 0
_MIN_DIST_M = 0.1
_MAX_DIST_M = 1e5
#: largest channel tensor (complex entries) of one scenario (~64 MiB complex128)
_MAX_ELEMENTS = 2**22
#: largest Monte-Carlo draw tensor of one robust step (complex entries, ~256 MiB float64 pairs)
_MAX_MC_ELEMENTS = 2**24


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as a Python ``int`` after checking it is an integer in ``[lo, hi]``.

    Python and NumPy integers are accepted; ``bool``, floats (even integral ones), strings and
    anything else are rejected.

    Raises:
        TypeError: ``value`` is not an integer (message names ``name``).
        ValueError: ``value`` is outside ``[lo, hi]`` (message names ``name``).
    """
    rng = f"[{lo}, {hi if hi is not None else 'inf'}]"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer in {rng}, got {_type_name(value)} {value!r}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be in {rng}, got {v}")
    return v


def check_real(
    name: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a Python ``float`` after checking it is a real number in the interval.

    Python/NumPy ints and floats are accepted (``-0.0`` becomes ``0.0``); ``bool``, strings,
    bytes, complex numbers and anything else are rejected, as are NaN, infinities (unless
    ``allow_inf``) and integers too large for a float.

    Raises:
        TypeError: ``value`` is not a real number (message names ``name``).
        ValueError: NaN, inf, overflow or out of range (message names ``name``).
    """
    lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
    rng = f"{lb}{lo:.12g}, {hi:.12g}{rb}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number in {rng}, got {_type_name(value)} {value!r}")
    try:
        v = float(value) + 0.0  # + 0.0 maps -0.0 to 0.0
    except OverflowError:
        raise ValueError(f"{name} must be a finite real number in {rng}, got {value!r} (overflow)") from None
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite real number in {rng}, got {value!r}")
    if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    return v


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """Return ``value`` after checking it is one of ``choices`` (strings compared by equality).

    Raises:
        TypeError: ``value`` is not of the choices' type (e.g. a number for a string option).
        ValueError: ``value`` is not one of ``choices``.
    """
    kinds = tuple({type(c) for c in choices})
    if not isinstance(value, kinds):
        raise TypeError(f"{name} must be one of {choices}, got {_type_name(value)} {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return str(value) if isinstance(value, str) else value


def _set(obj: Any, name: str, value: Any) -> None:
    """Store a validated (normalised) value on a frozen dataclass."""
    object.__setattr__(obj, name, value)


def split_kwargs(kwargs: dict[str, Any], *classes: type) -> list[dict[str, Any]]:
    """Split keyword arguments among dataclasses by field name; unknown names raise ``TypeError``."""
    out: list[dict[str, Any]] = [{} for _ in classes]
    for key, val in kwargs.items():
        if not isinstance(key, str):
            raise TypeError(f"argument names must be strings, got {key!r}")
        for i, cls in enumerate(classes):
            if key in {f.name for f in fields(cls)}:
                out[i][key] = val
                break
        else:
            allowed = sorted({f.name for c in classes for f in fields(c)})
            raise TypeError(f"unknown argument {key!r}; allowed: {', '.join(allowed)}")
    return out


def coerce_config(name: str, value: Any, cls: type[_C]) -> _C:
    """``value`` as a ``cls`` config: ``None`` gives the defaults, a mapping its fields.

    Raises:
        TypeError: ``value`` is neither ``None``, a ``cls`` nor a mapping, or a mapping key is not
            a field of ``cls`` (the message names ``name`` / the key).
        ValueError: a field value is out of range (the message names the field).
    """
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        (kw,) = split_kwargs(dict(value), cls)
        return cls(**kw)
    raise TypeError(f"{name} must be a {cls.__name__} or a dict of its fields, got {type(value).__name__}")


@dataclass(frozen=True)
class RydbergISACConfig:
    """Scenario of the multi-RAR RIS-ISAC paper (rar_isac spec Table I and section 8).

    Defaults: the paper's Table I (K=3, M=35, N=100, SNR 25 dB, RSR 10 dB, eps=0.025 rad^2,
    L=1024, kappa=2 linear) completed by the spec (Nt=6, P_max=30 dBm, radar noise -90 dBm,
    Liu et al.'s geometry and path-loss exponents).

    Modelling switches (spec section 10): ``rsr_model`` ("linear" paper-literal / "distortion"),
    ``polarization`` ("mnkl" paper-literal / "mkl" / "kl"), ``noise_calibration``
    ("common" paper-literal / "per_user"), ``rar_los_k_factor`` (0 = pure clustered NLoS).

    Validation (``__post_init__``): every field has a finite, physically sane range (distances in
    [0.1, 1e5] m, ``crb_threshold`` in [1e-12, 100] rad^2, ...), and the channel tensors are bounded
    in size. ``num_ris >= 2`` and ``num_bs_antennas >= 2``: with a single element the DoA FIM is
    singular for every design (see :mod:`isac_env.physics.sensing`), so such a task is ill-posed.
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
        c = self
        _set(c, "num_users", check_int("num_users", c.num_users, 1, 64))
        _set(c, "num_cells", check_int("num_cells", c.num_cells, 1, 1024))
        # N >= 2 and Nt >= 2: with a single element the steering derivative d a / d theta
        # (n = 0 only) vanishes, so v_R (N = 1) or v_B (Nt = 1) is zero and the DoA FIM is singular
        # for every design (tr CRB = inf), see isac_env.physics.sensing.
        _set(c, "num_ris", check_int("num_ris", c.num_ris, 2, 4096))
        _set(c, "num_bs_antennas", check_int("num_bs_antennas", c.num_bs_antennas, 2, 256))
        for name, lo, hi in (("snr_db", -50, 100), ("rsr_db", -50, 100)):
            _set(c, name, check_real(name, getattr(c, name), lo, hi))
        _set(c, "crb_threshold", check_real("crb_threshold", c.crb_threshold, 1e-12, 100.0))
        _set(c, "num_snapshots", check_int("num_snapshots", c.num_snapshots, 1, _MAX_COUNT))
        _set(c, "rician_factor", check_real("rician_factor", c.rician_factor, 0, allow_inf=True))
        _set(c, "p_max_dbm", check_real("p_max_dbm", c.p_max_dbm, -50, 80))
        _set(c, "radar_noise_dbm", check_real("radar_noise_dbm", c.radar_noise_dbm, -250, 50))
        _set(c, "alpha_t", check_real("alpha_t", c.alpha_t, 1e-9, 1e9))
        for name in ("d_br_m", "d_rt_m", "d_ru_m"):
            _set(c, name, check_real(name, getattr(c, name), _MIN_DIST_M, _MAX_DIST_M))
        for name in ("angle_bs_ris_rad", "angle_ris_bs_rad", "theta_r_rad"):
            _set(c, name, check_real(name, getattr(c, name), -math.pi, math.pi))
        _set(c, "c0_db", check_real("c0_db", c.c0_db, -200, 0))
        for name in ("pl_exp_br", "pl_exp_rt", "pl_exp_bt", "pl_exp_ru", "pl_exp_bu"):
            _set(c, name, check_real(name, getattr(c, name), 1.0, 8.0))
        _set(c, "num_clusters", check_int("num_clusters", c.num_clusters, 1, 1000))
        _set(c, "num_rays", check_int("num_rays", c.num_rays, 1, 1000))
        _set(c, "ray_spread_deg", check_real("ray_spread_deg", c.ray_spread_deg, 0, 90))
        _set(c, "carrier_hz", check_real("carrier_hz", c.carrier_hz, 1e6, 1e12))
        _set(c, "max_delay_spread_s", check_real("max_delay_spread_s", c.max_delay_spread_s, 0, 1e-3))
        _set(c, "polarization", check_choice("polarization", c.polarization, ("mnkl", "mkl", "kl")))
        _set(c, "rar_los_k_factor", check_real("rar_los_k_factor", c.rar_los_k_factor, 0, allow_inf=True))
        _set(c, "rsr_model", check_choice("rsr_model", c.rsr_model, ("linear", "distortion")))
        _set(
            c,
            "noise_calibration",
            check_choice("noise_calibration", c.noise_calibration, ("common", "per_user")),
        )
        K, M, N, Nt = c.num_users, c.num_cells, c.num_ris, c.num_bs_antennas
        if K * M * (N + Nt) + N * Nt > _MAX_ELEMENTS:
            raise ValueError(
                f"num_users * num_cells * (num_ris + num_bs_antennas) + num_ris * num_bs_antennas must be "
                f"<= {_MAX_ELEMENTS} (channel and observation size), got {K * M * (N + Nt) + N * Nt}"
            )
        paths = c.num_clusters * c.num_rays
        draw = M * max(N, Nt) * paths if c.polarization == "mnkl" else (M + max(N, Nt)) * paths
        if draw > _MAX_ELEMENTS:
            raise ValueError(
                "num_cells * max(num_ris, num_bs_antennas) * num_clusters * num_rays (polarization "
                f"'mnkl'; sum instead of product of the first two otherwise) must be <= {_MAX_ELEMENTS} "
                f"(memory of one channel draw), got {draw}"
            )

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
        obs_mode: observation features, see the environment docstring: ``"effective"`` (default, the
            effective channels at the previous phases: 1,277 features for RydbergISAC at Table I, 85 for
            RobustISAC; what the shipped agents and the recipes use) or ``"full"`` (every channel
            matrix: 23,465 and 1,109 features). One default on every id, so that SB3,
            rl-zoo3 and the recipes need no ``env_kwargs`` to match the shipped agents.
    """

    horizon: int = 50
    channel_dynamics: str = "static"
    gm_correlation: float = 0.99
    constraint_penalty: float = 10.0
    phase_bits: int = 0
    phase_action: str = "discrete"
    obs_mode: str = "effective"

    def __post_init__(self) -> None:
        c = self
        _set(c, "horizon", check_int("horizon", c.horizon, 1, _MAX_COUNT))
        _set(
            c,
            "channel_dynamics",
            check_choice("channel_dynamics", c.channel_dynamics, ("static", "gauss_markov")),
        )
        _set(c, "gm_correlation", check_real("gm_correlation", c.gm_correlation, 0.0, 1.0))
        _set(c, "constraint_penalty", check_real("constraint_penalty", c.constraint_penalty, 0.0, 1e6))
        _set(c, "phase_bits", check_int("phase_bits", c.phase_bits, 0, 8))
        _set(c, "phase_action", check_choice("phase_action", c.phase_action, ("discrete", "quantize")))
        _set(c, "obs_mode", check_choice("obs_mode", c.obs_mode, ("full", "effective")))


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

    Validation (``__post_init__``): every field has a finite, physically sane range, the links keep
    at least 0.1 m (the path loss diverges at 0) and the Monte-Carlo draws of one step are bounded
    in size. ``num_bs_antennas >= 2``: with one antenna ``Xi_t = 0`` and the CRB is infinite for every
    design. ``rate_threshold >= 1e-6`` bit/s/Hz keeps ``gamma = 2^R - 1`` representable.
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
        c = self
        # Nt >= 2: with one antenna the steering derivative d a / d theta (n = 0 only) vanishes,
        # so Xi_t = tr(dA^H dA R) = 0 and the CRB (10) is infinite for every design.
        _set(c, "num_bs_antennas", check_int("num_bs_antennas", c.num_bs_antennas, 2, 256))
        _set(c, "num_users", check_int("num_users", c.num_users, 1, 64))
        _set(c, "num_targets", check_int("num_targets", c.num_targets, 1, 64))
        _set(c, "num_ris", check_int("num_ris", c.num_ris, 0, 1024))
        _set(c, "phase_bits", check_int("phase_bits", c.phase_bits, 0, 8))
        _set(c, "num_snapshots", check_int("num_snapshots", c.num_snapshots, 1, _MAX_COUNT))
        _set(c, "noise_dbm", check_real("noise_dbm", c.noise_dbm, -250, 50))
        # >= 1e-6 bit/s/Hz keeps gamma = 2^R - 1 >= 6.9e-7 (Phi_k = W_k / gamma - ... stays finite)
        _set(c, "rate_threshold", check_real("rate_threshold", c.rate_threshold, 1e-6, 50))
        _set(c, "crb_threshold", check_real("crb_threshold", c.crb_threshold, 1e-12, 100.0))
        for name in ("rho_c", "rho_s"):
            _set(c, name, check_real(name, getattr(c, name), 1e-9, 1 - 1e-9))
        _set(c, "rho_split", check_real("rho_split", c.rho_split, 1e-6, 1 - 1e-6))
        _set(c, "restriction", check_choice("restriction", c.restriction, ROBUST_RESTRICTIONS))
        _set(
            c,
            "csi_error_model",
            check_choice(
                "csi_error_model", c.csi_error_model, ("relative", "relative_unnormalized", "absolute")
            ),
        )
        _set(c, "csi_error_delta2", check_real("csi_error_delta2", c.csi_error_delta2, 0, 10))
        for name in ("csi_error_abs_d_db", "csi_error_abs_g_db"):
            _set(c, name, check_real(name, getattr(c, name), -300, 300))
        _set(c, "rct_error_ratio", check_real("rct_error_ratio", c.rct_error_ratio, 0, 10))
        for name in ("ris_x_m", "ris_y_m", "user_center_x_m", "user_center_y_m"):
            _set(c, name, check_real(name, getattr(c, name), -1e4, 1e4))
        _set(c, "user_radius_m", check_real("user_radius_m", c.user_radius_m, 0, 1e4))
        _set(c, "target_radius_m", check_real("target_radius_m", c.target_radius_m, _MIN_DIST_M, 1e4))
        _set(
            c,
            "target_min_radius_m",
            check_real("target_min_radius_m", c.target_min_radius_m, _MIN_DIST_M, 1e4),
        )
        if c.target_min_radius_m > c.target_radius_m:
            raise ValueError(
                f"target_min_radius_m ({c.target_min_radius_m:g} m) must not exceed target_radius_m "
                f"({c.target_radius_m:g} m)"
            )
        _set(c, "c0_db", check_real("c0_db", c.c0_db, -200, 0))
        for name in ("pl_exp_d", "pl_exp_r", "pl_exp_g"):
            _set(c, name, check_real(name, getattr(c, name), 1.0, 8.0))
        for name in ("rician_d", "rician_r", "rician_g"):
            _set(c, name, check_real(name, getattr(c, name), 0, allow_inf=True))
        _set(c, "wavelength_m", check_real("wavelength_m", c.wavelength_m, 1e-4, 10))
        _set(c, "rcs_m2", check_real("rcs_m2", c.rcs_m2, 1e-6, 1e6))
        _set(c, "p_max_dbm", check_real("p_max_dbm", c.p_max_dbm, -100, 80))
        _set(c, "p_min_dbm", check_real("p_min_dbm", c.p_min_dbm, -200, 80))
        if not c.p_min_dbm < c.p_max_dbm:
            raise ValueError(
                f"p_min_dbm ({c.p_min_dbm:g} dBm) must be smaller than p_max_dbm ({c.p_max_dbm:g} dBm)"
            )
        _set(c, "mc_draws", check_int("mc_draws", c.mc_draws, 1, 10_000_000))
        _set(c, "mc_method", check_choice("mc_method", c.mc_method, ("projected", "effective", "full")))
        # minimum link distances (the path loss c0 d^-alpha diverges at d = 0)
        d_bs_disk = math.hypot(c.user_center_x_m, c.user_center_y_m) - c.user_radius_m
        if d_bs_disk < _MIN_DIST_M:
            raise ValueError(
                f"user_radius_m must be at least {_MIN_DIST_M} m smaller than the BS-to-disk-centre "
                f"distance (user_center_x_m, user_center_y_m), got a gap of {d_bs_disk:g} m"
            )
        if math.hypot(c.ris_x_m, c.ris_y_m) < _MIN_DIST_M:
            raise ValueError(f"ris_x_m, ris_y_m: the RIS must be at least {_MIN_DIST_M} m from the BS")
        d_ris_disk = (
            math.hypot(c.user_center_x_m - c.ris_x_m, c.user_center_y_m - c.ris_y_m) - c.user_radius_m
        )
        if d_ris_disk < _MIN_DIST_M:
            raise ValueError(
                f"user_radius_m: the user disk must stay at least {_MIN_DIST_M} m from the RIS "
                f"(ris_x_m, ris_y_m), got a gap of {d_ris_disk:g} m"
            )
        K, N, Nt, T = c.num_users, c.num_ris, c.num_bs_antennas, c.num_targets
        per_draw = {"projected": K * K, "effective": K * Nt, "full": K * Nt * (N + 1)}[c.mc_method] + T
        if c.mc_draws * per_draw > _MAX_MC_ELEMENTS:
            raise ValueError(
                f"mc_draws * (size of one draw of mc_method {c.mc_method!r}) must be <= {_MAX_MC_ELEMENTS} "
                f"(memory of one step's Monte-Carlo draws), got {c.mc_draws} * {per_draw}"
            )
        if K * N * Nt > _MAX_ELEMENTS:
            raise ValueError(
                f"num_users * num_ris * num_bs_antennas must be <= {_MAX_ELEMENTS}, got {K * N * Nt}"
            )

    def replace(self, **changes: Any) -> RobustISACConfig:
        """Copy with fields replaced (validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_preset(cls, name: str, **changes: Any) -> RobustISACConfig:
        """Config with the CSI-error level ``delta^2`` of a named preset (``"fig2"``, ``"fig3"``)."""
        check_choice("preset", name, tuple(ROBUST_CSI_ERROR_PRESETS))
        return cls(**{"csi_error_delta2": ROBUST_CSI_ERROR_PRESETS[name], **changes})
