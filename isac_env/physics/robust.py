"""Robust RIS-ISAC under imperfect CSI/RCT: scenario, outage estimators and safe approximations.

Equation numbers refer to the robust_isac spec (a reconstruction of Xu, Li & Quek,
arXiv:2401.13882). Conventions:

* RIS vector ``v`` with ``v^H = [e^{j theta_1}, ..., e^{j theta_N}]`` (spec 1.1), i.e.
  ``v = conj(phi)`` where ``phi`` is the reflection vector of the suite's codecs
  (``Theta = diag(phi) = diag(v^*)``). Use :func:`v_from_phi` / :func:`phi_from_v`.
* Cascaded channel ``G_k = diag(h_r,k^H) G`` ``[..., K, N, Nt]`` (4); effective channel
  ``h_k(v) = h_d,k + G_k^H v`` ``[..., K, Nt]`` (column form, received as ``h_k^H``).
* **Numerical scaling** (spec 10): every channel is divided by the noise amplitude
  ``sigma = sqrt(sigma_k^2)`` and every reflection coefficient by ``sigma_s``, so the noise
  powers are 1 and a precoder ``W`` ``[..., Nt, K]`` is in watts: ``SINR_k = |h_k^H w_k|^2 /
  (sum_{j != k} |h_k^H w_j|^2 + 1)``. ``RobustScenario.noise_w`` keeps the physical noise power.
* CSI errors are isotropic (all three models of the config): ``E_d,k = eps_d,k^2 I``,
  ``E_G,k = eps_G,k^2 I``, so the effective error ``h_k - hat h_k ~ CN(0, C_k)`` with
  ``C_k = sigma_e,k^2 I``, ``sigma_e,k^2 = eps_d,k^2 + ||v||^2 eps_G,k^2`` (= ``eps_d^2 + N eps_G^2``
  for unit-modulus ``v``, spec 1.4).

Monte-Carlo estimators take an explicit ``rng`` and put the draws on a new leading axis
``[D, ...]``; outage/failure probabilities are averaged over it. Each is split into a draw of
standard normals (:func:`draw_mc`, :func:`draw_mc_rows`: per-row generators of a batch) and an
evaluation with given draws (:func:`evaluate_draws`, ``*_from_draws``); the ``rng`` forms are these
two composed, so every path shares one implementation. Safe approximations return
margins (>= 0 means the restriction holds) and a ``certified`` flag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..config import ROBUST_RESTRICTIONS, RobustISACConfig
from .arrays import array_pattern, steering_vector, steering_vector_derivative
from .channels import complex_normal, complex_normal_from_standard, path_loss, rician_channel
from .comms import link_gains, rate_bps_hz, sinr_from_gains
from .rar import transmit_power_w
from .sensing import doa_crb_known_alpha, sensing_gain
from .units import db_to_lin, dbm_to_w

__all__ = [
    "MCDraws",
    "RobustScenario",
    "SafeApproximation",
    "age_scenario",
    "beam_patterns",
    "cascaded_effective_channel",
    "certify",
    "crb",
    "crb_failure_exact",
    "crb_failure_from_draws",
    "crb_failure_mc",
    "crb_margin",
    "draw_alpha_errors",
    "draw_csi_errors",
    "draw_effective_errors",
    "draw_mc",
    "draw_mc_rows",
    "effective_channels",
    "effective_error_variance",
    "evaluate",
    "evaluate_draws",
    "link_angles",
    "mc_batch_shape",
    "phi_from_v",
    "rate_margin",
    "rate_outage_from_draws",
    "rate_outage_mc",
    "rate_restriction_terms",
    "rates",
    "restriction_constants",
    "sample_scenario",
    "sensing_gains",
    "sinr",
    "sinr_miso",
    "stack_scenarios",
    "transmit_power_w",
    "v_from_phi",
]

_ARRAY_FIELDS = (
    "h_d_hat", "G_hat", "h_r_hat", "H_BR", "H_BR_los", "eps_d2", "eps_G2", "alpha_hat", "sigma_alpha2",
    "theta", "a", "da", "gamma", "tau", "sigma2", "sigma_s2", "L", "eps", "rho_c", "rho_s", "rho_split",
    "p_max_w", "p_min_w", "noise_w", "h_d_true", "G_true", "alpha_true", "user_pos", "target_pos",
    "scale_d", "scale_G", "scale_alpha",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class RobustScenario:
    """One (or a batch of) realisation(s) of the robust RIS-ISAC problem (14).

    All channels and coefficients are noise-normalised (module docstring). Array fields (leading
    batch axes ``[...]`` allowed, read-only):

    Estimated CSI (what a designer/agent may use):

    * ``h_d_hat`` ``[..., K, Nt]`` direct channels ``hat h_d,k`` (3); ``G_hat`` ``[..., K, N, Nt]``
      cascaded channels ``hat G_k = diag(hat h_r,k^H) G`` (4).
    * ``h_r_hat`` ``[..., K, N]`` RIS-user and ``H_BR`` ``[..., N, Nt]`` BS-RIS components of
      ``G_hat`` (``h_r_hat`` noise-normalised, ``H_BR`` physical amplitude); ``H_BR_los`` its LoS part.
    * ``eps_d2``, ``eps_G2`` ``[..., K]`` per-entry error variances of ``E_d,k = eps_d2 I`` and
      ``E_G,k = eps_G2 I`` (5)-(6).
    * ``alpha_hat`` ``[..., T]`` estimated reflection coefficients (12); ``sigma_alpha2`` ``[..., T]``
      RCT error variances (13).
    * ``theta`` ``[..., T]`` target DoAs (rad); ``a``, ``da`` ``[..., T, Nt]`` steering vectors
      ``a(theta_t)`` (sign +1, unnormalised) and derivatives (11).
    * Thresholds: ``gamma`` ``[..., K]`` = ``2^{bar R} - 1``; ``tau`` ``[..., T]`` =
      ``sigma_s^2 / (2 L eps_t)`` (27); ``eps`` ``[..., T]`` CRB thresholds (rad^2); ``rho_c``,
      ``rho_s``, ``rho_split`` outage/failure probabilities and the split ``rho_1 / rho``;
      ``sigma2`` ``[..., K]`` and ``sigma_s2`` noise powers (= 1 after scaling); ``L`` snapshots.
    * ``p_max_w``, ``p_min_w`` the action's power range (W); ``noise_w`` physical noise power (W).
    * ``user_pos`` ``[..., K, 2]``, ``target_pos`` ``[..., T, 2]`` (m); ``scale_d``, ``scale_G``
      ``[..., K]`` and ``scale_alpha`` ``[..., T]`` RMS amplitudes of the channel models (used to
      normalise observations).

    Evaluation only (never shown to an agent): ``h_d_true`` ``[..., K, Nt]``, ``G_true``
    ``[..., K, N, Nt]``, ``alpha_true`` ``[..., T]``, one draw of the errors around the estimates.

    ``restriction`` selects the default safe-approximation variant (config ``restriction``).
    """

    h_d_hat: NDArray[np.complex128]
    G_hat: NDArray[np.complex128]
    h_r_hat: NDArray[np.complex128]
    H_BR: NDArray[np.complex128]
    H_BR_los: NDArray[np.complex128]
    eps_d2: NDArray[np.float64]
    eps_G2: NDArray[np.float64]
    alpha_hat: NDArray[np.complex128]
    sigma_alpha2: NDArray[np.float64]
    theta: NDArray[np.float64]
    a: NDArray[np.complex128]
    da: NDArray[np.complex128]
    gamma: NDArray[np.float64]
    tau: NDArray[np.float64]
    sigma2: NDArray[np.float64]
    sigma_s2: NDArray[np.float64]
    L: NDArray[np.float64]
    eps: NDArray[np.float64]
    rho_c: NDArray[np.float64]
    rho_s: NDArray[np.float64]
    rho_split: NDArray[np.float64]
    p_max_w: NDArray[np.float64]
    p_min_w: NDArray[np.float64]
    noise_w: NDArray[np.float64]
    h_d_true: NDArray[np.complex128]
    G_true: NDArray[np.complex128]
    alpha_true: NDArray[np.complex128]
    user_pos: NDArray[np.float64]
    target_pos: NDArray[np.float64]
    scale_d: NDArray[np.float64]
    scale_G: NDArray[np.float64]
    scale_alpha: NDArray[np.float64]
    restriction: str = "la_full"

    def __post_init__(self) -> None:
        for name in _ARRAY_FIELDS:
            arr = np.array(getattr(self, name), copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        if self.restriction not in ROBUST_RESTRICTIONS:
            raise ValueError(f"restriction must be one of {ROBUST_RESTRICTIONS}, got {self.restriction!r}")

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.h_d_hat.shape[:-2]

    @property
    def dims(self) -> dict[str, int]:
        """``{"K", "N", "Nt", "T"}``."""
        K, N, Nt = self.G_hat.shape[-3:]
        return {"K": K, "N": N, "Nt": Nt, "T": self.a.shape[-2]}

    def replace(self, **changes: Any) -> RobustScenario:
        return dataclasses.replace(self, **changes)

    def __getitem__(self, idx: int | slice) -> RobustScenario:
        """Index the leading batch axis."""
        return dataclasses.replace(self, **{n: getattr(self, n)[idx] for n in _ARRAY_FIELDS})


def stack_scenarios(scenarios: list[RobustScenario]) -> RobustScenario:
    """Stack unbatched scenarios along a new leading batch axis."""
    first = scenarios[0]
    return dataclasses.replace(
        first, **{n: np.stack([getattr(s, n) for s in scenarios]) for n in _ARRAY_FIELDS}
    )


def v_from_phi(phi: ArrayLike) -> NDArray[np.complex128]:
    """Paper RIS vector ``v = conj(phi)`` from the codecs' reflection vector ``phi`` ``[..., N]``."""
    return np.conj(np.asarray(phi, dtype=np.complex128))


def phi_from_v(v: ArrayLike) -> NDArray[np.complex128]:
    """Reflection vector ``phi = conj(v)`` (``Theta = diag(phi)``) from the paper's ``v``."""
    return np.conj(np.asarray(v, dtype=np.complex128))


# --------------------------------------------------------------------------- sampling
def _ris_angle(direction: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angle whose sine is the RIS spatial frequency of a direction ``[..., 2]``.

    [A] The RIS is a ULA along the x axis (a wall at ``y = ris_y_m`` facing the BS and the users), so
    its phase progression is ``cos psi`` with ``psi = atan2(dy, dx)``; ``steering_vector`` uses
    ``sin``, hence the angle ``pi/2 - psi``.
    """
    return np.pi / 2 - np.arctan2(direction[..., 1], direction[..., 0])


def _uniform_disk(
    rng: np.random.Generator, n: int, center: tuple[float, float], r_max: float, r_min: float = 0.0
) -> NDArray[np.float64]:
    """``n`` points uniform (in area) in the annulus ``r_min <= r <= r_max`` around ``center``."""
    r = np.sqrt(rng.uniform(r_min**2, r_max**2, n))
    ang = rng.uniform(0.0, 2.0 * np.pi, n)
    return np.asarray(center) + r[:, None] * np.stack([np.cos(ang), np.sin(ang)], axis=-1)


def _geometry(config: RobustISACConfig, rng: np.random.Generator) -> dict[str, NDArray[np.float64]]:
    """Draw user/target positions (spec section 10) and derive the large-scale quantities."""
    c = config
    user_pos = _uniform_disk(rng, c.num_users, (c.user_center_x_m, c.user_center_y_m), c.user_radius_m)
    target_pos = _uniform_disk(rng, c.num_targets, (0.0, 0.0), c.target_radius_m, c.target_min_radius_m)
    return _geometry_from_positions(c, user_pos, target_pos)


def _geometry_from_positions(
    config: RobustISACConfig, user_pos: NDArray[np.float64], target_pos: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Angles and large-scale amplitudes of given user ``[K, 2]`` / target ``[T, 2]`` positions (m)."""
    c = config
    p_ris = np.array([c.ris_x_m, c.ris_y_m])
    d_t = np.hypot(target_pos[:, 0], target_pos[:, 1])
    return {
        "user_pos": user_pos,
        "target_pos": target_pos,
        "theta": np.arctan2(target_pos[:, 1], target_pos[:, 0]),  # ULA along y, broadside +x [A]
        "dod_bu": np.arctan2(user_pos[:, 1], user_pos[:, 0]),
        "aod_ru": _ris_angle(user_pos - p_ris),
        "dod_br": np.arctan2(p_ris[1], p_ris[0]),
        "doa_br": _ris_angle(-p_ris),
        "amp_d": np.sqrt(path_loss(np.hypot(user_pos[:, 0], user_pos[:, 1]), c.pl_exp_d, c.c0_db)),
        "amp_r": np.sqrt(path_loss(np.hypot(*(user_pos - p_ris).T), c.pl_exp_r, c.c0_db)),
        "amp_g": np.sqrt(path_loss(float(np.hypot(*p_ris)), c.pl_exp_g, c.c0_db)),
        # alpha_t ~ CN(0, lambda^2 kappa_RCS / (64 pi^3 d_t^4)) with the BS-target distance (A5)
        "var_alpha": c.wavelength_m**2 * c.rcs_m2 / (64.0 * np.pi**3 * d_t**4),
    }


def link_angles(config: RobustISACConfig, scenario: RobustScenario) -> dict[str, NDArray[np.float64]]:
    """Angles (rad) at which :func:`beam_patterns` must peak to serve each node's LoS direction.

    BS side, convention ``a(theta)^H w`` (sign +1) of the sensing model ``A_t = a a^H`` and of ``G``'s
    LoS ``a_N(.) a_Nt(.)^H``: ``"bs_target"`` ``[..., T]`` = ``theta_t``, ``"bs_ris"`` =
    ``atan2(y_R, x_R)``; ``"bs_users"`` ``[..., K]`` = ``-atan2(y_k, x_k)``: the direct channel's LoS is
    ``conj(a(theta_k))``, received as ``h^H w = a(theta_k)^T w = a(-theta_k)^H w``, so the users appear
    mirrored (only matters with ``rician_d > 0``; the default direct link is Rayleigh).
    RIS side, the direction ``psi = atan2(dy, dx)`` seen from the RIS: ``"ris_users"`` ``[..., K]``
    and, for reference, ``"ris_bs"`` (where the illumination comes from).
    """
    c = config
    p_ris = np.array([c.ris_x_m, c.ris_y_m])
    u = np.asarray(scenario.user_pos)
    du = u - p_ris
    return {
        "bs_target": np.asarray(scenario.theta),
        "bs_ris": np.asarray(np.arctan2(p_ris[1], p_ris[0])),
        "bs_users": -np.arctan2(u[..., 1], u[..., 0]),
        "ris_users": np.arctan2(du[..., 1], du[..., 0]),
        "ris_bs": np.asarray(np.arctan2(-p_ris[1], -p_ris[0])),
    }


def beam_patterns(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    theta_bs: ArrayLike,
    psi_ris: ArrayLike,
) -> dict[str, NDArray[np.float64]]:
    """Per-stream transmit and RIS-reflected beam patterns of a design, as array gains.

    ``"bs"`` ``[..., A, K]``: ``G_BS,k(theta) = |a(theta)^H w_k|^2 / ||W||_F^2`` (unnormalised sign
    +1 steering vector of the sensing model, ``theta`` from the broadside ``+x``; the sum over k is
    the power toward a target at ``theta`` per watt, at most ``Nt``). ``"ris"`` ``[..., A', K]``:
    ``G_RIS,k(psi) = |a_N(pi/2 - psi)^T diag(phi) G w_k|^2 / ||G W||_F^2`` with ``G = H_BR`` (the
    estimate's BS-RIS factor) and ``psi = atan2(dy, dx)`` the direction from the RIS (the RIS is a ULA
    along ``x``, so its spatial frequency is ``cos psi``); the convention of the RIS-user LoS
    ``h_r^H = a_N(.)^T``, relative to the power incident on the RIS (sum over k at most ``N``).
    Dimensionless, linear (``10 log10`` gives dBi).

    Args:
        scenario: ``H_BR`` ``[..., N, Nt]``.
        W: precoder ``[..., Nt, K]`` (W in sqrt(W)); phi: reflection vector ``[..., N]`` (``v = conj(phi)``).
        theta_bs: BS angle grid ``[A]`` (rad); psi_ris: RIS direction grid ``[A']`` (rad).
    """
    W = np.asarray(W, dtype=np.complex128)
    p_w = np.maximum(transmit_power_w(W), 1e-300)[..., None, None]
    bs = array_pattern(theta_bs, W, sign=-1.0) / p_w  # a_+(theta)^H w = a_-(theta)^T w
    X = np.asarray(phi)[..., :, None] * (np.asarray(scenario.H_BR) @ W)  # [..., N, K]
    p_x = np.maximum(np.sum(X.real**2 + X.imag**2, axis=(-2, -1)), 1e-300)[..., None, None]
    psi = np.asarray(psi_ris, dtype=np.float64)
    ris_angle = _ris_angle(np.stack([np.cos(psi), np.sin(psi)], axis=-1))
    ris = array_pattern(ris_angle, X, sign=1.0) / p_x
    return {"bs": bs, "ris": ris}


def _small_scale(
    config: RobustISACConfig, rng: np.random.Generator, geo: dict[str, NDArray[np.float64]]
) -> dict[str, NDArray[np.complex128]]:
    """Physical-amplitude draws of ``h_d`` ``[K, Nt]``, ``h_r`` ``[K, N]``, ``G`` ``[N, Nt]`` and ``alpha``."""
    c = config
    Nt, N, T = c.num_bs_antennas, c.num_ris, c.num_targets
    los_d = np.conj(steering_vector(geo["dod_bu"], Nt, sign=1.0))  # [K, Nt]
    los_r = np.conj(steering_vector(geo["aod_ru"], N, sign=1.0))  # [K, N]
    los_g = np.outer(
        steering_vector(geo["doa_br"], N, sign=1.0), np.conj(steering_vector(geo["dod_br"], Nt, sign=1.0))
    )
    h_d = rician_channel(rng, los_d, c.rician_d, 1.0, 1.0) * geo["amp_d"][:, None]
    h_r = rician_channel(rng, los_r, c.rician_r, 1.0, 1.0) * geo["amp_r"][:, None]
    H_BR = rician_channel(rng, los_g, c.rician_g, 1.0, float(geo["amp_g"]))
    kg = c.rician_g
    H_BR_los = geo["amp_g"] * (los_g if np.isinf(kg) else np.sqrt(kg / (kg + 1.0)) * los_g)
    alpha = complex_normal(rng, (T,), geo["var_alpha"])
    return {"h_d": h_d, "h_r": h_r, "H_BR": H_BR, "H_BR_los": H_BR_los, "alpha": alpha}


def _error_levels(
    config: RobustISACConfig, h_d_hat: NDArray[np.complex128], G_hat: NDArray[np.complex128]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-entry error variances ``eps_d,k^2``, ``eps_G,k^2`` ``[K]`` of the CSI-error model (spec 10)."""
    c = config
    Nt, N = h_d_hat.shape[-1], G_hat.shape[-2]
    pd = np.sum(np.abs(h_d_hat) ** 2, axis=-1)
    pg = np.sum(np.abs(G_hat) ** 2, axis=(-2, -1))
    if c.csi_error_model == "relative":
        return c.csi_error_delta2 * pd / Nt, c.csi_error_delta2 * pg / max(N * Nt, 1)
    if c.csi_error_model == "relative_unnormalized":
        return c.csi_error_delta2 * pd, c.csi_error_delta2 * pg
    K = h_d_hat.shape[-2]
    return np.full(K, float(db_to_lin(c.csi_error_abs_d_db))), np.full(
        K, float(db_to_lin(c.csi_error_abs_g_db))
    )


def _assemble(
    config: RobustISACConfig,
    rng: np.random.Generator,
    geo: dict[str, NDArray[np.float64]],
    ss: dict[str, NDArray[np.complex128]],
) -> RobustScenario:
    """Noise-normalise the estimates, set the error statistics and draw the true channels."""
    c = config
    K, T, Nt, N = c.num_users, c.num_targets, c.num_bs_antennas, c.num_ris
    noise_w = float(dbm_to_w(c.noise_dbm))
    s = np.sqrt(noise_w)
    h_d_hat = ss["h_d"] / s
    h_r_hat = ss["h_r"] / s
    G_hat = np.conj(h_r_hat)[:, :, None] * ss["H_BR"][None, :, :]  # diag(h_r^H) G  (4)
    eps_d2, eps_G2 = _error_levels(c, h_d_hat, G_hat)
    alpha_hat = ss["alpha"] / s
    sigma_alpha2 = c.rct_error_ratio * np.abs(alpha_hat) ** 2
    # one draw of the truth around the estimates (h = hat h + Delta h), for evaluation only
    h_d_true = h_d_hat + complex_normal(rng, (K, Nt), eps_d2[:, None])
    G_true = G_hat + complex_normal(rng, (K, N, Nt), eps_G2[:, None, None])
    alpha_true = alpha_hat + complex_normal(rng, (T,), sigma_alpha2)
    theta = geo["theta"]
    return RobustScenario(
        h_d_hat=h_d_hat, G_hat=G_hat, h_r_hat=h_r_hat, H_BR=ss["H_BR"], H_BR_los=ss["H_BR_los"],
        eps_d2=eps_d2, eps_G2=eps_G2, alpha_hat=alpha_hat, sigma_alpha2=sigma_alpha2, theta=theta,
        a=steering_vector(theta, Nt, sign=1.0), da=steering_vector_derivative(theta, Nt, sign=1.0),
        gamma=np.full(K, 2.0**c.rate_threshold - 1.0),
        tau=np.full(T, 1.0 / (2.0 * c.num_snapshots * c.crb_threshold)),
        sigma2=np.ones(K), sigma_s2=1.0, L=float(c.num_snapshots), eps=np.full(T, c.crb_threshold),
        rho_c=c.rho_c, rho_s=c.rho_s, rho_split=c.rho_split,
        p_max_w=float(dbm_to_w(c.p_max_dbm)), p_min_w=float(dbm_to_w(c.p_min_dbm)), noise_w=noise_w,
        h_d_true=h_d_true, G_true=G_true, alpha_true=alpha_true,
        user_pos=geo["user_pos"], target_pos=geo["target_pos"],
        scale_d=geo["amp_d"] / s, scale_G=geo["amp_g"] * geo["amp_r"] / s,
        scale_alpha=np.sqrt(geo["var_alpha"]) / s, restriction=c.restriction,
    )  # fmt: skip


def sample_scenario(config: RobustISACConfig, rng: np.random.Generator) -> RobustScenario:
    """Draw one realisation of spec section 10: geometry, estimated CSI/RCT, error statistics, truth.

    Users are uniform in the disk of radius ``user_radius_m`` around the user centre; targets uniform
    in the annulus ``target_min_radius_m <= d <= target_radius_m`` around the BS with DoA
    ``theta_t = atan2(y_t, x_t)``. The channel model (path loss, Rician factors) generates the
    **estimates** ``hat h_d,k``, ``hat h_r,k``, ``G`` and ``hat alpha_t``; the error covariances follow
    from the estimates (config ``csi_error_model``), and the true channels are ``hat h + Delta h``
    with independent ``Delta h ~ CN(0, E)`` (3)-(6), (12)-(13).

    Args:
        config: scenario parameters.
        rng: the only source of randomness.

    Returns:
        An unbatched :class:`RobustScenario` (noise-normalised, complex128/float64).
    """
    geo = _geometry(config, rng)
    return _assemble(config, rng, geo, _small_scale(config, rng, geo))


def age_scenario(
    scenario: RobustScenario, config: RobustISACConfig, rng: np.random.Generator, rho: float
) -> RobustScenario:
    """One Gauss-Markov ageing step (EnvConfig ``"gauss_markov"``) of an unbatched scenario.

    The scattered parts of ``hat h_d``, ``hat h_r``, ``G`` and the target coefficients ``hat alpha``
    age as ``x <- x_los + rho (x - x_los) + sqrt(1 - rho^2) (x_new - x_los)`` with ``x_new`` an
    independent draw of the same model (positions, path loss and LoS geometry fixed). The error
    statistics are recomputed from the new estimates and a new truth is drawn.
    """
    c = config
    geo = _geometry_from_positions(c, np.asarray(scenario.user_pos), np.asarray(scenario.target_pos))
    new = _small_scale(c, rng, geo)
    s_noise = np.sqrt(float(scenario.noise_w))
    sq = np.sqrt(max(0.0, 1.0 - rho**2))
    kd, kr = c.rician_d, c.rician_r
    Nt, N = c.num_bs_antennas, c.num_ris
    los_d = _los_part(np.conj(steering_vector(geo["dod_bu"], Nt, sign=1.0)), kd) * geo["amp_d"][:, None]
    los_r = _los_part(np.conj(steering_vector(geo["aod_ru"], N, sign=1.0)), kr) * geo["amp_r"][:, None]
    old = {
        "h_d": np.asarray(scenario.h_d_hat) * s_noise,
        "h_r": np.asarray(scenario.h_r_hat) * s_noise,
        "H_BR": np.asarray(scenario.H_BR),
        "alpha": np.asarray(scenario.alpha_hat) * s_noise,
    }
    los = {"h_d": los_d, "h_r": los_r, "H_BR": np.asarray(scenario.H_BR_los), "alpha": 0.0}
    mixed = {k: los[k] + rho * (old[k] - los[k]) + sq * (new[k] - los[k]) for k in old}
    mixed["H_BR_los"] = np.asarray(scenario.H_BR_los)
    return _assemble(c, rng, geo, mixed)


def _los_part(los: NDArray[np.complex128], k: float) -> NDArray[np.complex128]:
    return los if np.isinf(k) else np.sqrt(k / (k + 1.0)) * los


# --------------------------------------------------------------------------- nominal metrics
def cascaded_effective_channel(
    h_d: NDArray[np.complex128], G: NDArray[np.complex128], v: NDArray[np.complex128]
) -> NDArray[np.complex128]:
    """``h_k(v) = h_d,k + G_k^H v`` (spec 1.2), complex128 ``[..., K, Nt]``.

    Equals the conjugate of ``channels.effective_channel(conj(h_d), conj(h_r), G, conj(v))`` (M=1)
    when ``G_k = diag(h_r,k^H) G`` factorises; this form also covers per-user cascaded errors.

    Args:
        h_d: ``[..., K, Nt]``; G: ``[..., K, N, Nt]`` cascaded channels; v: ``[..., N]``.
    """
    return h_d + np.einsum("...knt,...kn->...kt", np.conj(G), np.asarray(v)[..., None, :])


def effective_channels(
    scenario: RobustScenario, v: NDArray[np.complex128], *, true: bool = False
) -> NDArray[np.complex128]:
    """Estimated ``hat h_k(v)`` (or, with ``true=True``, the true ``h_k(v)``), ``[..., K, Nt]``."""
    s = scenario
    if true:
        return cascaded_effective_channel(s.h_d_true, s.G_true, v)
    return cascaded_effective_channel(s.h_d_hat, s.G_hat, v)


def sinr_miso(h: NDArray[np.complex128], W: NDArray[np.complex128], sigma2: ArrayLike) -> NDArray[np.float64]:
    """MISO SINR (spec 1.3): ``|h_k^H w_k|^2 / (sum_{j != k} |h_k^H w_j|^2 + sigma_k^2)``, ``[..., K]``.

    The ``M = 1`` case of :func:`isac_env.physics.comms.sinr_from_gains`.

    Args:
        h: ``[..., K, Nt]`` effective channels (column form); W: ``[..., Nt, K]``; sigma2: ``[..., K]``.
    """
    G = link_gains(np.conj(h)[..., None, :], W)  # [..., K, 1, K]
    return sinr_from_gains(G, np.asarray(sigma2, dtype=np.float64))


def sinr(
    scenario: RobustScenario, W: NDArray[np.complex128], v: NDArray[np.complex128], *, true: bool = False
) -> NDArray[np.float64]:
    """Per-user SINR on the estimated (default) or true channels, ``[..., K]`` (linear)."""
    return sinr_miso(effective_channels(scenario, v, true=true), W, scenario.sigma2)


def rates(
    scenario: RobustScenario, W: NDArray[np.complex128], v: NDArray[np.complex128], *, true: bool = False
) -> NDArray[np.float64]:
    """Per-user rate ``log2(1 + SINR_k)`` in bit/s/Hz, ``[..., K]``."""
    return rate_bps_hz(sinr(scenario, W, v, true=true))


def sensing_gains(scenario: RobustScenario, W: NDArray[np.complex128]) -> NDArray[np.float64]:
    """``Xi_t(R_x) = tr(dA_t^H dA_t R_x)`` with ``R_x = W W^H`` (spec 2.2), ``[..., T]`` (W units)."""
    R = W @ np.conj(np.swapaxes(W, -1, -2))
    return sensing_gain(scenario.a, scenario.da, R)


def crb(scenario: RobustScenario, W: NDArray[np.complex128], *, true: bool = False) -> NDArray[np.float64]:
    """Known-alpha DoA CRB (10) of each target at ``hat alpha`` (or the true alpha), ``[..., T]`` rad^2."""
    s = scenario
    R = W @ np.conj(np.swapaxes(W, -1, -2))
    alpha = s.alpha_true if true else s.alpha_hat
    return doa_crb_known_alpha(s.a, s.da, R, alpha, s.L[..., None], s.sigma_s2[..., None])


# --------------------------------------------------------------------------- Monte Carlo
def effective_error_variance(scenario: RobustScenario, v: NDArray[np.complex128]) -> NDArray[np.float64]:
    """``sigma_e,k^2 = eps_d,k^2 + ||v||^2 eps_G,k^2`` (spec 1.4, ``C_k = sigma_e,k^2 I``), ``[..., K]``."""
    vn = np.sum(np.abs(np.asarray(v)) ** 2, axis=-1)[..., None]
    return scenario.eps_d2 + vn * scenario.eps_G2


@dataclass(frozen=True)
class MCDraws:
    """The randomness of one Monte-Carlo evaluation, drawn before the design is known.

    Every array holds i.i.d. ``N(0, 1)`` (real, imaginary) pairs on its last axis, with the draws on
    the leading axis ``D``; the ``*_from_draws`` estimators scale them to the design-dependent error
    variances with :func:`~isac_env.physics.channels.complex_normal_from_standard`. Drawing first
    and evaluating later lets a batch of designs ``[B]`` take row i's draws from its own generator
    (:func:`draw_mc_rows`) and still be evaluated in one batched call, with the same numbers as B
    unbatched :func:`evaluate` calls.

    Attributes:
        method: outage sampler the rate draws belong to (``"projected"``, ``"effective"``, ``"full"``).
        rate: ``projected``: ``(z [D, ..., K, K, 2],)`` (K-dim projected errors, one per user);
            ``effective``: ``(z [D, ..., K, Nt, 2],)``; ``full``: ``(dh [D, ..., K, Nt, 2],
            dG [D, ..., K, N, Nt, 2])``.
        alpha: ``[D, ..., T, 2]`` reflection-coefficient errors (13).
    """

    method: str
    rate: tuple[NDArray[np.float64], ...]
    alpha: NDArray[np.float64]

    @property
    def num_draws(self) -> int:
        """Number of Monte-Carlo draws ``D``."""
        return int(self.alpha.shape[0])


def _check_method(method: str) -> None:
    if method not in ("projected", "effective", "full"):
        raise ValueError(f"method must be 'projected', 'effective' or 'full', got {method!r}")


def _rate_draw_shapes(
    scenario: RobustScenario, method: str, batch_shape: tuple[int, ...]
) -> list[tuple[int, ...]]:
    """Shapes (without ``D`` and the trailing 2) of the rate-outage draws of ``method``."""
    _check_method(method)
    K, N, Nt = scenario.G_hat.shape[-3:]
    if method == "projected":
        return [(*batch_shape, K, K)]
    if method == "effective":
        return [(*batch_shape, K, Nt)]
    return [(*batch_shape, K, Nt), (*batch_shape, K, N, Nt)]


def mc_batch_shape(
    scenario: RobustScenario, W: NDArray[np.complex128], v: NDArray[np.complex128], method: str
) -> tuple[int, ...]:
    """Batch shape of the rate-outage draws of ``(W, v)``: the broadcast of the scenario's, ``W``'s
    and ``v``'s batch axes (``"projected"``), of the scenario's and ``v``'s (``"effective"``), or the
    scenario's (``"full"``, whose errors do not depend on the design)."""
    _check_method(method)
    shapes = [scenario.batch_shape]
    if method in ("projected", "effective"):
        shapes.append(np.shape(v)[:-1])
    if method == "projected":
        shapes.append(np.shape(W)[:-2])
    return tuple(np.broadcast_shapes(*shapes))


def draw_mc(
    scenario: RobustScenario,
    rng: np.random.Generator,
    num_draws: int = 1000,
    method: str = "projected",
    batch_shape: tuple[int, ...] | None = None,
) -> MCDraws:
    """Draw the randomness of one :func:`evaluate` call: the rate draws, then the ``alpha`` draws.

    Args:
        scenario: the (possibly batched) scenario; fixes ``K``, ``N``, ``Nt``, ``T``.
        rng: source of the draws, consumed in the order of :func:`evaluate`.
        num_draws: Monte-Carlo draws ``D``.
        method: outage sampler (see :func:`rate_outage_mc`).
        batch_shape: batch axes of the rate draws (:func:`mc_batch_shape`); default the scenario's.
            The ``alpha`` draws always have the scenario's batch axes.

    Returns:
        :class:`MCDraws`.
    """
    batch = scenario.batch_shape if batch_shape is None else tuple(batch_shape)
    rate = tuple(
        rng.standard_normal((num_draws, *shape, 2)) for shape in _rate_draw_shapes(scenario, method, batch)
    )
    alpha = rng.standard_normal((num_draws, *scenario.alpha_hat.shape, 2))
    return MCDraws(method=method, rate=rate, alpha=alpha)


def draw_mc_rows(
    scenario: RobustScenario,
    rngs: list[np.random.Generator],
    num_draws: int = 1000,
    method: str = "projected",
) -> MCDraws:
    """Draws for a scenario batched ``[B]`` with row ``i`` drawn from ``rngs[i]``.

    Equal to stacking ``draw_mc(scenario[i], rngs[i], num_draws, method)`` on axis 1 (after ``D``),
    so ``evaluate_draws`` on the batch reproduces B unbatched :func:`evaluate` calls, each with its
    own generator. Arrays are views ``[D, B, ...]`` of row-contiguous buffers ``[B, D, ...]``.

    Args:
        scenario: batched scenario, ``batch_shape == (len(rngs),)``.
        rngs: one generator per row.
    """
    B = len(rngs)
    if scenario.batch_shape != (B,):
        raise ValueError(f"scenario batch shape {scenario.batch_shape} does not match {B} generators")
    shapes = [*_rate_draw_shapes(scenario, method, ()), scenario.alpha_hat.shape[1:]]
    bufs = [np.empty((B, num_draws, *shape, 2)) for shape in shapes]
    for i, rng in enumerate(rngs):
        for buf in bufs:  # same order as draw_mc: rate draws, then alpha
            rng.standard_normal(out=buf[i])
    views = [np.moveaxis(buf, 0, 1) for buf in bufs]
    return MCDraws(method=method, rate=tuple(views[:-1]), alpha=views[-1])


def draw_csi_errors(
    scenario: RobustScenario, rng: np.random.Generator, num_draws: int
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Draws of ``Delta h_d,k ~ CN(0, eps_d^2 I)`` and ``Delta G_k`` (i.i.d. ``CN(0, eps_G^2)``) (5)-(6).

    Returns:
        ``(dh_d [D, ..., K, Nt], dG [D, ..., K, N, Nt])`` complex128.
    """
    s = scenario
    dh = complex_normal(rng, (num_draws, *s.h_d_hat.shape), s.eps_d2[..., None])
    dG = complex_normal(rng, (num_draws, *s.G_hat.shape), s.eps_G2[..., None, None])
    return dh, dG


def draw_effective_errors(
    scenario: RobustScenario, v: NDArray[np.complex128], rng: np.random.Generator, num_draws: int
) -> NDArray[np.complex128]:
    """Draws of the effective error ``B_k x_k ~ CN(0, sigma_e,k^2 I)`` (spec 1.4), ``[D, ..., K, Nt]``.

    Equal in distribution to ``Delta h_d,k + Delta G_k^H v`` for fixed ``v`` (the key reduction),
    at ``1 / (N + 1)`` of the sampling cost.
    """
    var = effective_error_variance(scenario, v)
    shape = np.broadcast_shapes(scenario.h_d_hat.shape, (*var.shape, scenario.h_d_hat.shape[-1]))
    return complex_normal(rng, (num_draws, *shape), var[..., None])


def draw_alpha_errors(
    scenario: RobustScenario, rng: np.random.Generator, num_draws: int
) -> NDArray[np.complex128]:
    """Draws of ``Delta alpha_t ~ CN(0, sigma_alpha,t^2)`` (13), ``[D, ..., T]``."""
    s = scenario
    return complex_normal(rng, (num_draws, *s.alpha_hat.shape), s.sigma_alpha2)


def rate_outage_from_draws(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    draws: tuple[NDArray[np.float64], ...],
    method: str = "projected",
) -> NDArray[np.float64]:
    """Empirical rate-outage probability of (14b) from given standard-normal draws, ``[..., K]``.

    See :func:`rate_outage_mc` for the samplers; ``draws`` is :attr:`MCDraws.rate` of ``method``.
    """
    _check_method(method)
    s = scenario
    if method == "projected":
        W = np.asarray(W, dtype=np.complex128)
        Wh = np.conj(np.swapaxes(W, -1, -2))  # [..., K, Nt]
        g_hat = np.einsum("...jt,...kt->...kj", Wh, effective_channels(s, v))  # [..., K, K]: w_j^H h_k
        lam, U = np.linalg.eigh(Wh @ W)
        Lw = U * np.sqrt(np.maximum(lam, 0.0))[..., None, :]  # L_W L_W^H = W^H W
        var = effective_error_variance(s, v)  # [..., K]
        z = complex_normal_from_standard(draws[0], var[..., None])
        g = g_hat + np.einsum("...jl,...kl->...kj", Lw, z)
        sn = sinr_from_gains(g[..., None, :], np.asarray(s.sigma2, dtype=np.float64))
    else:
        if method == "effective":
            var = effective_error_variance(s, v)
            h = effective_channels(s, v) + complex_normal_from_standard(draws[0], var[..., None])
        else:
            dh = complex_normal_from_standard(draws[0], s.eps_d2[..., None])
            dG = complex_normal_from_standard(draws[1], s.eps_G2[..., None, None])
            h = cascaded_effective_channel(s.h_d_hat + dh, s.G_hat + dG, v)
        sn = sinr_miso(h, W, s.sigma2)
    return np.mean(rate_bps_hz(sn) < np.log2(1.0 + s.gamma), axis=0)


def rate_outage_mc(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    rng: np.random.Generator,
    num_draws: int = 1000,
    method: str = "projected",
) -> NDArray[np.float64]:
    """Empirical rate-outage probability ``Pr{log2(1 + SINR_k) < bar R_k}`` of (14b), ``[..., K]``.

    All three methods sample the same distribution of the SINRs (exact reductions, no approximation):

    * ``"full"``: draws ``Delta h_d,k`` and ``Delta G_k`` (5)-(6) and forms ``h_d,k + G_k^H v``;
    * ``"effective"``: draws ``h_k = hat h_k(v) + CN(0, sigma_e,k^2 I_Nt)`` (spec 1.4);
    * ``"projected"`` (fastest): the SINR needs only ``g_k = W^H h_k`` ``[K]``, and
      ``W^H (h_k - hat h_k) ~ CN(0, sigma_e,k^2 W^H W)``, so it draws ``K``-dim vectors
      ``g_k = W^H hat h_k + L_W z_k`` with ``L_W L_W^H = W^H W``, ``z_k ~ CN(0, sigma_e,k^2 I_K)``.

    Draws with :func:`draw_mc` (rate part) and evaluates with :func:`rate_outage_from_draws`.

    Args:
        scenario: estimated CSI and error statistics.
        W: ``[..., Nt, K]`` precoder (W); v: ``[..., N]`` RIS vector.
        rng: source of the error draws.
        num_draws: Monte-Carlo draws ``D``.
        method: ``"projected"``, ``"effective"`` or ``"full"``.

    Returns:
        float64 ``[..., K]`` in [0, 1].
    """
    batch = mc_batch_shape(scenario, W, v, method)
    draws = tuple(
        rng.standard_normal((num_draws, *sh, 2)) for sh in _rate_draw_shapes(scenario, method, batch)
    )
    return rate_outage_from_draws(scenario, W, v, draws, method)


def crb_failure_from_draws(
    scenario: RobustScenario, W: NDArray[np.complex128], draws: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Empirical CRB-failure probability of (14c) from standard-normal ``alpha`` draws
    ``[D, ..., T, 2]`` (:attr:`MCDraws.alpha`), ``[..., T]``; see :func:`crb_failure_mc`."""
    s = scenario
    alpha = s.alpha_hat + complex_normal_from_standard(draws, s.sigma_alpha2)
    R = W @ np.conj(np.swapaxes(W, -1, -2))
    c = doa_crb_known_alpha(s.a, s.da, R, alpha, s.L[..., None], s.sigma_s2[..., None])
    return np.mean(c >= s.eps, axis=0)


def crb_failure_mc(
    scenario: RobustScenario, W: NDArray[np.complex128], rng: np.random.Generator, num_draws: int = 1000
) -> NDArray[np.float64]:
    """Empirical CRB-failure probability ``Pr{CRB(theta_t) >= eps_t}`` of (14c), ``[..., T]``.

    ``alpha_t = hat alpha_t + Delta alpha_t`` is drawn ``num_draws`` times; the CRB (10) is
    evaluated with :func:`isac_env.physics.sensing.doa_crb_known_alpha`.
    """
    z = rng.standard_normal((num_draws, *scenario.alpha_hat.shape, 2))
    return crb_failure_from_draws(scenario, W, z)


def crb_failure_exact(scenario: RobustScenario, W: NDArray[np.complex128]) -> NDArray[np.float64]:
    """Exact CRB-failure probability (spec 4.4): ``Pr{|alpha_t|^2 Xi_t <= tau_t}``, ``[..., T]``.

    ``2 |alpha_t|^2 / sigma_alpha^2 ~ ncx2(2, 2 |hat alpha_t|^2 / sigma_alpha^2)``, so the failure
    probability is ``ncx2.cdf(2 tau_t / (Xi_t sigma_alpha^2), 2, 2 |hat alpha|^2 / sigma_alpha^2)``.
    A zero RCT error gives the deterministic indicator ``|hat alpha|^2 Xi_t <= tau_t``, which is also
    the limit used where the CDF cannot be evaluated (``chndtr`` returns NaN for a noncentrality
    beyond ~1e100, i.e. an RCT error negligible against ``|hat alpha_t|^2``).
    """
    s = scenario
    xi = sensing_gains(s, W)
    a2 = np.abs(s.alpha_hat) ** 2
    s2 = np.broadcast_to(s.sigma_alpha2, np.broadcast_shapes(np.shape(s.sigma_alpha2), xi.shape))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = 2.0 * s.tau / (xi * s2)
        nc = 2.0 * a2 / s2
        p = special.chndtr(x, 2.0, np.where(s2 > 0, nc, 0.0))  # ncx2 CDF
    limit = (a2 * xi <= s.tau).astype(np.float64)
    return np.where((s2 > 0) & np.isfinite(p), p, limit)


# --------------------------------------------------------------------------- safe approximations
def restriction_constants(
    variant: str, rho: float, n_x: int, Nt: int, rho_split: float = 0.5
) -> dict[str, float]:
    """Constants of the rate-outage restrictions (spec 4.2-4.3), for a total outage ``rho``.

    ``rho_1 = rho_split * rho`` goes to the Gaussian linear part and ``rho_2 = rho - rho_1`` to the
    quadratic part (A12). Returns ``nu = Phi^{-1}(1 - rho_1)``, ``nu_full = Phi^{-1}(1 - rho)`` (the
    linear-only case ``lambda^- = 0``) and ``eta``:

    * ``"la_full"`` / ``"la_nt"``: ``1 - F_Gamma(n,1)(eta) = rho_2`` with ``n = n_x = Nt + N Nt`` or
      ``n = Nt`` (Lemma 1 / (16), (23));
    * ``"lb"``: ``tau e^{1 - tau} = rho_2``, ``tau = -W_{-1}(-rho_2 / e)`` (stored as ``eta``);
    * ``"lc"``: ``eta = ln(1 / rho_2)``;
    * ``"bti"``: ``delta = ln(1 / rho)`` (stored as ``eta``; ``nu`` unused).
    """
    if variant not in ROBUST_RESTRICTIONS:
        raise ValueError(f"variant must be one of {ROBUST_RESTRICTIONS}, got {variant!r}")
    rho1 = rho_split * rho
    rho2 = rho - rho1
    if variant == "la_full":
        eta = float(special.gammainccinv(n_x, rho2))  # Gamma(n, 1).isf
    elif variant == "la_nt":
        eta = float(special.gammainccinv(Nt, rho2))
    elif variant == "lb":
        eta = float(-special.lambertw(-rho2 / np.e, k=-1).real)
    elif variant == "lc":
        eta = float(np.log(1.0 / rho2))
    else:
        eta = float(np.log(1.0 / rho))
    return {"eta": eta, "nu": float(-special.ndtri(rho1)), "nu_full": float(-special.ndtri(rho))}


def rate_restriction_terms(
    scenario: RobustScenario, W: NDArray[np.complex128], v: NDArray[np.complex128]
) -> dict[str, NDArray[np.float64]]:
    """Reduced-form quantities of Proposition 1 (18)-(22) for isotropic errors (spec 4.1), ``[..., K]``.

    With ``Phi_k = W_k / gamma_k - sum_{j != k} W_j`` (15) and ``C_k = sigma_e,k^2 I``:
    ``c = hat h_k^H Phi_k hat h_k - sigma_k^2``, ``trA = sigma_e^2 tr Phi_k``,
    ``frobA = sigma_e^2 ||Phi_k||_F``, ``lam_minus = sigma_e^2 lambda^-(Phi_k)``,
    ``norm_u = sigma_e ||Phi_k hat h_k||``, ``interf = sigma_e^2 tr(sum_{j != k} W_j)`` (L-b),
    ``sigma_e2`` and ``psd`` (1.0 where ``Phi_k`` has no negative eigenvalue, up to rounding).
    """
    s = scenario
    W = np.asarray(W, dtype=np.complex128)
    Wk = W[..., :, None, :] * np.conj(W[..., None, :, :])  # [..., Nt, Nt, K]: W_k = w_k w_k^H
    Wk = np.moveaxis(Wk, -1, -3)  # [..., K, Nt, Nt]
    R = np.sum(Wk, axis=-3, keepdims=True)
    gamma = np.asarray(s.gamma)[..., :, None, None]
    Phi = Wk * (1.0 / gamma + 1.0) - R  # W_k / gamma - sum_{j != k} W_j
    h = effective_channels(s, v)  # [..., K, Nt]
    Ph = np.einsum("...kij,...kj->...ki", Phi, h)
    quad = np.real(np.sum(np.conj(h) * Ph, axis=-1))
    se2 = effective_error_variance(s, v)
    lam = np.linalg.eigvalsh(Phi)  # ascending, [..., K, Nt]
    scale = np.max(np.abs(lam), axis=-1)
    lam_minus = np.maximum(-lam[..., 0], 0.0)
    psd = lam_minus <= 1e-12 * np.maximum(scale, np.finfo(float).tiny)
    p = np.sum(np.abs(W) ** 2, axis=-2)  # [..., K] per-stream powers
    interf = np.sum(p, axis=-1, keepdims=True) - p
    return {
        "c": quad - s.sigma2,
        "trA": se2 * np.real(np.trace(Phi, axis1=-2, axis2=-1)),
        "frobA": se2 * np.sqrt(np.sum(np.abs(Phi) ** 2, axis=(-2, -1))),
        "lam_minus": se2 * np.where(psd, 0.0, lam_minus),
        "norm_u": np.sqrt(se2) * np.linalg.norm(Ph, axis=-1),
        "interf": se2 * interf,
        "sigma_e2": se2,
        "psd": psd.astype(np.float64),
    }


def rate_margin(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    variant: str | None = None,
) -> NDArray[np.float64]:
    """Margin of the rate-outage safe approximation (Proposition 2, (23)-(26)), ``[..., K]``.

    A margin ``>= 0`` certifies ``Pr{rate_k < bar R_k} <= rho_c`` (noise-normalised power units):

    * L-a (``"la_full"``, ``"la_nt"``): ``c - eta lambda^-(A) - sqrt(2) nu ||u||`` (23);
    * L-b (``"lb"``): ``c - tau tr(C_k sum_{j != k} W_j) - sqrt(2) nu ||u||``;
    * L-c (``"lc"``): ``c + tr A - sqrt(2 eta) ||A||_F - eta lambda^-(A) - sqrt(2) nu ||u||``;
    * BTI (``"bti"``): ``tr A + c - sqrt(2 delta) sqrt(||A||_F^2 + 2 ||u||^2) - delta lambda^-(A)``.

    Where ``A_k`` is PSD (``lambda^- = 0``) the linear-only bound ``c - sqrt(2) nu_full ||u||`` with the
    whole ``rho`` is also valid (spec 4.2 special case) and the larger margin is returned.

    Args:
        variant: one of ``ROBUST_RESTRICTIONS``; default ``scenario.restriction``.
    """
    s = scenario
    variant = s.restriction if variant is None else variant
    t = rate_restriction_terms(s, W, v)
    Nt, N = s.h_d_hat.shape[-1], s.G_hat.shape[-2]
    rho, split = float(np.ravel(s.rho_c)[0]), float(np.ravel(s.rho_split)[0])
    k = restriction_constants(variant, rho, Nt + N * Nt, Nt, split)
    eta, nu = k["eta"], k["nu"]
    lin = np.sqrt(2.0) * t["norm_u"]
    if variant in ("la_full", "la_nt"):
        m = t["c"] - eta * t["lam_minus"] - nu * lin
    elif variant == "lb":
        m = t["c"] - eta * t["interf"] - nu * lin
    elif variant == "lc":
        m = t["c"] + t["trA"] - np.sqrt(2.0 * eta) * t["frobA"] - eta * t["lam_minus"] - nu * lin
    else:
        m = t["trA"] + t["c"] - np.sqrt(2.0 * eta) * np.sqrt(t["frobA"] ** 2 + lin**2) - eta * t["lam_minus"]
    linear_only = t["c"] - k["nu_full"] * lin
    return np.where(t["psd"] > 0, np.maximum(m, linear_only), m)


def crb_margin(scenario: RobustScenario, W: NDArray[np.complex128]) -> NDArray[np.float64]:
    """Margin of the CRB-failure safe approximation (Proposition 3, (29)), ``[..., T]``.

    ``Xi_t(R) (|hat alpha_t|^2 - sqrt(2) nu_s sigma_alpha,t |hat alpha_t|) - tau_t`` with
    ``Phi(nu_s) = 1 - rho_s``; ``>= 0`` certifies ``Pr{CRB(theta_t) >= eps_t} <= rho_s``.
    """
    s = scenario
    nu_s = -special.ndtri(s.rho_s[..., None])  # Phi(nu_s) = 1 - rho_s
    xi = sensing_gains(s, W)
    a = np.abs(s.alpha_hat)
    return xi * (a**2 - np.sqrt(2.0) * nu_s * np.sqrt(s.sigma_alpha2) * a) - s.tau


@dataclass(frozen=True)
class SafeApproximation:
    """Result of :func:`certify`: margins (noise-normalised power units) and the certificate.

    Attributes:
        rate_margin: ``[..., K]`` rate-outage restriction margins (Proposition 2).
        crb_margin: ``[..., T]`` CRB-failure restriction margins (Proposition 3).
        certified: ``[...]`` bool, every margin ``>= 0``.
        variant: the rate-outage restriction used.
    """

    rate_margin: NDArray[np.float64]
    crb_margin: NDArray[np.float64]
    certified: NDArray[np.bool_]
    variant: str


def certify(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    variant: str | None = None,
) -> SafeApproximation:
    """Check a design ``(W, v)`` against the safe approximations of (14b)-(14c).

    ``certified`` implies (by construction of the restrictions) rate outage ``<= rho_c`` for every user
    and CRB failure ``<= rho_s`` for every target under the CSI/RCT error model.
    """
    variant = scenario.restriction if variant is None else variant
    rm = rate_margin(scenario, W, v, variant)
    cm = crb_margin(scenario, W)
    ok = np.all(rm >= 0.0, axis=-1) & np.all(cm >= 0.0, axis=-1)
    return SafeApproximation(rate_margin=rm, crb_margin=cm, certified=ok, variant=variant)


# --------------------------------------------------------------------------- all metrics
def evaluate(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    rng: np.random.Generator,
    num_draws: int = 1000,
    method: str = "projected",
    variant: str | None = None,
) -> dict[str, NDArray[Any]]:
    """All task metrics of a design in one pass, with ``num_draws`` Monte-Carlo draws from ``rng``.

    ``evaluate_draws(scenario, W, v, draw_mc(scenario, rng, num_draws, method, mc_batch_shape(...)),
    variant)``; see :func:`evaluate_draws` for the metrics.
    """
    draws = draw_mc(scenario, rng, num_draws, method, mc_batch_shape(scenario, W, v, method))
    return evaluate_draws(scenario, W, v, draws, variant)


def evaluate_draws(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    draws: MCDraws,
    variant: str | None = None,
) -> dict[str, NDArray[Any]]:
    """All task metrics of a design in one pass, with given Monte-Carlo draws (:func:`draw_mc`).

    Args:
        scenario: estimated CSI, error statistics and the stored truth.
        W: ``[..., Nt, K]`` precoder (W); v: ``[..., N]`` RIS vector (``v = conj(phi)``).
        draws: :class:`MCDraws` whose batch axes broadcast with the design's (one generator's
            draws for an unbatched call, :func:`draw_mc_rows` for a batch of sub-environments).
        variant: safe-approximation variant for :func:`certify` (default ``scenario.restriction``).

    Returns:
        ``power_w`` ``[...]`` (14a); ``rate_est`` ``[..., K]`` (bit/s/Hz on the estimates),
        ``rate_true`` ``[..., K]`` (on the stored true draw); ``outage`` ``[..., K]`` (MC, (14b));
        ``crb_est``, ``crb_true`` ``[..., T]`` (rad^2); ``crb_failure`` ``[..., T]`` (MC, (14c));
        ``crb_failure_exact`` ``[..., T]``; ``rate_margin`` ``[..., K]``, ``crb_margin`` ``[..., T]`` and
        ``certified`` ``[...]`` from :func:`certify`; ``outage_violation`` ``[..., K]`` =
        ``max(0, outage - rho_c)`` and ``crb_violation`` ``[..., T]`` = ``max(0, failure - rho_s)``.
    """
    s = scenario
    out = rate_outage_from_draws(s, W, v, draws.rate, draws.method)
    fail = crb_failure_from_draws(s, W, draws.alpha)
    cert = certify(s, W, v, variant)
    return {
        "power_w": transmit_power_w(W),
        "rate_est": rates(s, W, v),
        "rate_true": rates(s, W, v, true=True),
        "outage": out,
        "crb_est": crb(s, W),
        "crb_true": crb(s, W, true=True),
        "crb_failure": fail,
        "crb_failure_exact": crb_failure_exact(s, W),
        "rate_margin": cert.rate_margin,
        "crb_margin": cert.crb_margin,
        "certified": cert.certified,
        "outage_violation": np.maximum(0.0, out - s.rho_c[..., None]),
        "crb_violation": np.maximum(0.0, fail - s.rho_s[..., None]),
    }
