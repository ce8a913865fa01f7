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
import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..config import ROBUST_RESTRICTIONS, RobustISACConfig
from ._xp import as_complex, as_real, asarray_like, einsum, namespace, real_dtype, to_backend
from .arrays import array_pattern, steering_vector, steering_vector_derivative
from .channels import complex_normal, complex_normal_from_standard, path_loss, rician_channel
from .comms import link_gains, rate_bps_hz, sinr_from_gains
from .random import as_field, is_batch_generator, namespace_of
from .random import batch_shape as rng_batch_shape
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

    Backends: the fields are NumPy arrays (the default: copied and made read-only, complex128 /
    float64 as drawn) or torch tensors on one device (when ``h_d_hat`` is a tensor: every other
    field is converted to its device and precision, complex fields to ``h_d_hat``'s complex dtype,
    real fields to the matching real dtype; tensors of that dtype are kept, not copied, so an
    autograd graph through a field survives). :meth:`to` converts a whole scenario.
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
        ref = self.h_d_hat
        if array_api_compat.is_torch_array(ref):
            for name in _ARRAY_FIELDS:
                x = to_backend(getattr(self, name), "torch", device=ref.device, dtype=ref.dtype)
                object.__setattr__(self, name, x)
        else:
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

    def to(self, backend: str, *, device: Any = None, dtype: Any = None) -> RobustScenario:
        """The scenario with every array field converted to ``backend`` (``"numpy"`` or ``"torch"``).

        Args:
            backend: ``"numpy"`` (the reference) or ``"torch"``.
            device: torch device (default: the tensors' own device, ``"cpu"`` from NumPy).
            dtype: the complex dtype of the target precision (NumPy's or torch's ``complex64`` /
                ``complex128``); complex fields get it, real fields the matching real dtype
                (``float32`` / ``float64``). ``None`` keeps the current precision.

        A NumPy -> torch -> NumPy round trip at the same precision is exact.
        """
        conv = {n: to_backend(getattr(self, n), backend, device=device, dtype=dtype) for n in _ARRAY_FIELDS}
        return dataclasses.replace(self, **conv)


def stack_scenarios(scenarios: list[RobustScenario]) -> RobustScenario:
    """Stack unbatched scenarios (all of one backend) along a new leading batch axis."""
    first = scenarios[0]
    xp = namespace(first.h_d_hat)
    return dataclasses.replace(
        first, **{n: xp.stack([getattr(s, n) for s in scenarios]) for n in _ARRAY_FIELDS}
    )


def v_from_phi(phi: ArrayLike) -> NDArray[np.complex128]:
    """Paper RIS vector ``v = conj(phi)`` from the codecs' reflection vector ``phi`` ``[..., N]``
    (NumPy: complex128; torch: the complex dtype of ``phi``'s precision)."""
    xp = namespace(phi)
    return xp.conj(as_complex(phi, xp))


def phi_from_v(v: ArrayLike) -> NDArray[np.complex128]:
    """Reflection vector ``phi = conj(v)`` (``Theta = diag(phi)``) from the paper's ``v`` (NumPy or torch)."""
    xp = namespace(v)
    return xp.conj(as_complex(v, xp))


# --------------------------------------------------------------------------- sampling
def _ris_angle(direction: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angle whose sine is the RIS spatial frequency of a direction ``[..., 2]``.

    [A] The RIS is a ULA along the x axis (a wall at ``y = ris_y_m`` facing the BS and the users), so
    its phase progression is ``cos psi`` with ``psi = atan2(dy, dx)``; ``steering_vector`` uses
    ``sin``, hence the angle ``pi/2 - psi``. NumPy or torch.
    """
    xp = namespace(direction)
    return np.pi / 2 - xp.atan2(direction[..., 1], direction[..., 0])


def _uniform_disk(
    rng: Any, n: int, center: tuple[float, float], r_max: float, r_min: float = 0.0
) -> NDArray[np.float64]:
    """``n`` points ``[..., n, 2]`` uniform (in area) in the annulus ``r_min <= r <= r_max`` around
    ``center`` (NumPy generator: ``[n, 2]`` float64; ``BatchGenerator``: ``[B, n, 2]``)."""
    xp = namespace_of(rng)
    r = xp.sqrt(rng.uniform(r_min**2, r_max**2, n))
    ang = rng.uniform(0.0, 2.0 * np.pi, n)
    return as_real(center, xp, r) + r[..., :, None] * xp.stack([xp.cos(ang), xp.sin(ang)], axis=-1)


def _geometry(config: RobustISACConfig, rng: Any) -> dict[str, NDArray[np.float64]]:
    """Draw user/target positions (spec section 10) and derive the large-scale quantities."""
    c = config
    user_pos = _uniform_disk(rng, c.num_users, (c.user_center_x_m, c.user_center_y_m), c.user_radius_m)
    target_pos = _uniform_disk(rng, c.num_targets, (0.0, 0.0), c.target_radius_m, c.target_min_radius_m)
    return _geometry_from_positions(c, user_pos, target_pos)


def _geometry_from_positions(
    config: RobustISACConfig, user_pos: NDArray[np.float64], target_pos: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Angles and large-scale amplitudes of given user ``[..., K, 2]`` / target ``[..., T, 2]``
    positions (m), NumPy or torch (``dod_br``, ``doa_br`` and ``amp_g`` are NumPy constants)."""
    c = config
    xp = namespace(user_pos)
    p_ris = np.array([c.ris_x_m, c.ris_y_m])
    d_ur = user_pos - (p_ris if xp is np else as_real(p_ris, xp, user_pos))  # RIS -> user [..., K, 2]
    d_t = xp.hypot(target_pos[..., 0], target_pos[..., 1])
    return {
        "user_pos": user_pos,
        "target_pos": target_pos,
        "theta": xp.atan2(target_pos[..., 1], target_pos[..., 0]),  # ULA along y, broadside +x [A]
        "dod_bu": xp.atan2(user_pos[..., 1], user_pos[..., 0]),
        "aod_ru": _ris_angle(d_ur),
        "dod_br": np.arctan2(p_ris[1], p_ris[0]),
        "doa_br": _ris_angle(-p_ris),
        "amp_d": xp.sqrt(path_loss(xp.hypot(user_pos[..., 0], user_pos[..., 1]), c.pl_exp_d, c.c0_db)),
        "amp_r": xp.sqrt(path_loss(xp.hypot(d_ur[..., 0], d_ur[..., 1]), c.pl_exp_r, c.c0_db)),
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
    and, for reference, ``"ris_bs"`` (where the illumination comes from). Arrays of the scenario's
    backend and precision.
    """
    c = config
    p_ris = np.array([c.ris_x_m, c.ris_y_m])
    xp = namespace(scenario.user_pos)
    u = as_real(scenario.user_pos, xp)
    du = u - as_real(p_ris, xp, u)
    return {
        "bs_target": as_real(scenario.theta, xp),
        "bs_ris": as_real(np.arctan2(p_ris[1], p_ris[0]), xp, u),
        "bs_users": -xp.atan2(u[..., 1], u[..., 0]),
        "ris_users": xp.atan2(du[..., 1], du[..., 0]),
        "ris_bs": as_real(np.arctan2(-p_ris[1], -p_ris[0]), xp, u),
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
    Dimensionless, linear (``10 log10`` gives dBi). NumPy or torch (the grids may stay NumPy).

    Args:
        scenario: ``H_BR`` ``[..., N, Nt]``.
        W: precoder ``[..., Nt, K]`` (W in sqrt(W)); phi: reflection vector ``[..., N]`` (``v = conj(phi)``).
        theta_bs: BS angle grid ``[A]`` (rad); psi_ris: RIS direction grid ``[A']`` (rad).
    """
    xp = namespace(W, phi, scenario.H_BR)
    W = as_complex(W, xp, scenario.H_BR)
    floor = _power_floor(xp, W)
    p_w = xp.maximum(transmit_power_w(W), floor)[..., None, None]
    bs = array_pattern(theta_bs, W, sign=-1.0) / p_w  # a_+(theta)^H w = a_-(theta)^T w
    X = as_complex(phi, xp, W)[..., :, None] * (scenario.H_BR @ W)  # [..., N, K]
    p_x = xp.maximum(xp.sum(X.real**2 + X.imag**2, axis=(-2, -1)), floor)[..., None, None]
    psi = as_real(psi_ris, xp, p_w)
    ris_angle = _ris_angle(xp.stack([xp.cos(psi), xp.sin(psi)], axis=-1))
    ris = array_pattern(ris_angle, X, sign=1.0) / p_x
    return {"bs": bs, "ris": ris}


def _power_floor(xp: Any, x: Any) -> float:
    """Floor of a power in a denominator: 1e-300 in float64, the smallest normal float32 otherwise."""
    return 1e-300 if real_dtype(xp, x) == xp.float64 else float(np.finfo(np.float32).tiny)


def _covariance(xp: Any, W: Any) -> Any:
    """Transmit covariance ``R_x = W W^H`` ``[..., Nt, Nt]`` of a precoder ``[..., Nt, K]``."""
    return W @ xp.conj(xp.matrix_transpose(W))


def _small_scale(
    config: RobustISACConfig, rng: Any, geo: dict[str, NDArray[np.float64]]
) -> dict[str, NDArray[np.complex128]]:
    """Physical-amplitude draws of ``h_d`` ``[..., K, Nt]``, ``h_r`` ``[..., K, N]``, ``G``
    ``[..., N, Nt]`` and ``alpha`` ``[..., T]`` (batch axes ``[...]`` of a ``BatchGenerator``)."""
    c = config
    xp = namespace_of(rng)
    Nt, N, T = c.num_bs_antennas, c.num_ris, c.num_targets
    los_d = xp.conj(steering_vector(geo["dod_bu"], Nt, sign=1.0))  # [..., K, Nt]
    los_r = xp.conj(steering_vector(geo["aod_ru"], N, sign=1.0))  # [..., K, N]
    los_g = np.outer(
        steering_vector(geo["doa_br"], N, sign=1.0), np.conj(steering_vector(geo["dod_br"], Nt, sign=1.0))
    )
    h_d = rician_channel(rng, los_d, c.rician_d, 1.0, 1.0) * geo["amp_d"][..., :, None]
    h_r = rician_channel(rng, los_r, c.rician_r, 1.0, 1.0) * geo["amp_r"][..., :, None]
    H_BR = rician_channel(rng, as_field(rng, los_g), c.rician_g, 1.0, float(geo["amp_g"]))
    kg = c.rician_g
    H_BR_los = as_field(rng, geo["amp_g"] * (los_g if np.isinf(kg) else np.sqrt(kg / (kg + 1.0)) * los_g))
    alpha = complex_normal(rng, (T,), geo["var_alpha"])
    return {"h_d": h_d, "h_r": h_r, "H_BR": H_BR, "H_BR_los": H_BR_los, "alpha": alpha}


def _error_levels(
    config: RobustISACConfig, h_d_hat: NDArray[np.complex128], G_hat: NDArray[np.complex128]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-entry error variances ``eps_d,k^2``, ``eps_G,k^2`` ``[..., K]`` of the CSI-error model
    (spec 10), NumPy or torch like the estimates."""
    c = config
    xp = namespace(h_d_hat)
    Nt, N = h_d_hat.shape[-1], G_hat.shape[-2]
    pd = xp.sum(xp.abs(h_d_hat) ** 2, axis=-1)
    pg = xp.sum(xp.abs(G_hat) ** 2, axis=(-2, -1))
    if c.csi_error_model == "relative":
        return c.csi_error_delta2 * pd / Nt, c.csi_error_delta2 * pg / max(N * Nt, 1)
    if c.csi_error_model == "relative_unnormalized":
        return c.csi_error_delta2 * pd, c.csi_error_delta2 * pg
    return xp.full_like(pd, float(db_to_lin(c.csi_error_abs_d_db))), xp.full_like(
        pd, float(db_to_lin(c.csi_error_abs_g_db))
    )


def _assemble(
    config: RobustISACConfig,
    rng: Any,
    geo: dict[str, NDArray[np.float64]],
    ss: dict[str, NDArray[np.complex128]],
) -> RobustScenario:
    """Noise-normalise the estimates, set the error statistics and draw the true channels."""
    c = config
    xp = namespace_of(rng)
    K, T, Nt, N = c.num_users, c.num_targets, c.num_bs_antennas, c.num_ris
    noise_w = float(dbm_to_w(c.noise_dbm))
    s = np.sqrt(noise_w)
    h_d_hat = ss["h_d"] / s
    h_r_hat = ss["h_r"] / s
    G_hat = xp.conj(h_r_hat)[..., :, :, None] * ss["H_BR"][..., None, :, :]  # diag(h_r^H) G  (4)
    eps_d2, eps_G2 = _error_levels(c, h_d_hat, G_hat)
    alpha_hat = ss["alpha"] / s
    sigma_alpha2 = c.rct_error_ratio * xp.abs(alpha_hat) ** 2
    # one draw of the truth around the estimates (h = hat h + Delta h), for evaluation only
    h_d_true = h_d_hat + complex_normal(rng, (K, Nt), eps_d2[..., :, None])
    G_true = G_hat + complex_normal(rng, (K, N, Nt), eps_G2[..., :, None, None])
    alpha_true = alpha_hat + complex_normal(rng, (T,), sigma_alpha2)
    theta = geo["theta"]
    f = lambda v: as_field(rng, v)  # noqa: E731  a constant with the batch axes (NumPy: unchanged)
    return RobustScenario(
        h_d_hat=h_d_hat, G_hat=G_hat, h_r_hat=h_r_hat, H_BR=ss["H_BR"], H_BR_los=ss["H_BR_los"],
        eps_d2=eps_d2, eps_G2=eps_G2, alpha_hat=alpha_hat, sigma_alpha2=sigma_alpha2, theta=theta,
        a=steering_vector(theta, Nt, sign=1.0), da=steering_vector_derivative(theta, Nt, sign=1.0),
        gamma=f(np.full(K, 2.0**c.rate_threshold - 1.0)),
        tau=f(np.full(T, 1.0 / (2.0 * c.num_snapshots * c.crb_threshold))),
        sigma2=f(np.ones(K)), sigma_s2=f(1.0), L=f(float(c.num_snapshots)), eps=f(np.full(T, c.crb_threshold)),
        rho_c=f(c.rho_c), rho_s=f(c.rho_s), rho_split=f(c.rho_split),
        p_max_w=f(float(dbm_to_w(c.p_max_dbm))), p_min_w=f(float(dbm_to_w(c.p_min_dbm))), noise_w=f(noise_w),
        h_d_true=h_d_true, G_true=G_true, alpha_true=alpha_true,
        user_pos=geo["user_pos"], target_pos=geo["target_pos"],
        scale_d=geo["amp_d"] / s, scale_G=geo["amp_g"] * geo["amp_r"] / s,
        scale_alpha=xp.sqrt(geo["var_alpha"]) / s, restriction=c.restriction,
    )  # fmt: skip


def sample_scenario(config: RobustISACConfig, rng: Any) -> RobustScenario:
    """Draw one realisation of spec section 10: geometry, estimated CSI/RCT, error statistics, truth.

    Users are uniform in the disk of radius ``user_radius_m`` around the user centre; targets uniform
    in the annulus ``target_min_radius_m <= d <= target_radius_m`` around the BS with DoA
    ``theta_t = atan2(y_t, x_t)``. The channel model (path loss, Rician factors) generates the
    **estimates** ``hat h_d,k``, ``hat h_r,k``, ``G`` and ``hat alpha_t``; the error covariances follow
    from the estimates (config ``csi_error_model``), and the true channels are ``hat h + Delta h``
    with independent ``Delta h ~ CN(0, E)`` (3)-(6), (12)-(13).

    Args:
        config: scenario parameters.
        rng: the only source of randomness: an ``np.random.Generator`` (one NumPy scenario, the
            reference stream) or a :class:`~isac_env.physics.random.BatchGenerator` (``B``
            scenarios, one per row, as torch tensors on its device in its complex dtype, every
            field with the leading batch axis ``[B]``).

    Returns:
        A :class:`RobustScenario` (noise-normalised): unbatched complex128/float64 (NumPy) or
        batched ``[B]`` (torch).
    """
    geo = _geometry(config, rng)
    return _assemble(config, rng, geo, _small_scale(config, rng, geo))


def age_scenario(scenario: RobustScenario, config: RobustISACConfig, rng: Any, rho: float) -> RobustScenario:
    """One Gauss-Markov ageing step (EnvConfig ``"gauss_markov"``): of an unbatched NumPy scenario
    with an ``np.random.Generator``, or of a batched torch scenario with a ``BatchGenerator`` (one
    row per scenario).

    The scattered parts of ``hat h_d``, ``hat h_r``, ``G`` and the target coefficients ``hat alpha``
    age as ``x <- x_los + rho (x - x_los) + sqrt(1 - rho^2) (x_new - x_los)`` with ``x_new`` an
    independent draw of the same model (positions, path loss and LoS geometry fixed). The error
    statistics are recomputed from the new estimates and a new truth is drawn.
    """
    c = config
    xp = namespace_of(rng)
    geo = _geometry_from_positions(c, scenario.user_pos, scenario.target_pos)
    new = _small_scale(c, rng, geo)
    s_noise = xp.sqrt(scenario.noise_w)  # [...]
    sq = np.sqrt(max(0.0, 1.0 - rho**2))
    kd, kr = c.rician_d, c.rician_r
    Nt, N = c.num_bs_antennas, c.num_ris
    los_d = _los_part(xp.conj(steering_vector(geo["dod_bu"], Nt, sign=1.0)), kd) * geo["amp_d"][..., :, None]
    los_r = _los_part(xp.conj(steering_vector(geo["aod_ru"], N, sign=1.0)), kr) * geo["amp_r"][..., :, None]
    old = {
        "h_d": scenario.h_d_hat * s_noise[..., None, None],
        "h_r": scenario.h_r_hat * s_noise[..., None, None],
        "H_BR": scenario.H_BR,
        "alpha": scenario.alpha_hat * s_noise[..., None],
    }
    los = {"h_d": los_d, "h_r": los_r, "H_BR": scenario.H_BR_los, "alpha": 0.0}
    mixed = {k: los[k] + rho * (old[k] - los[k]) + sq * (new[k] - los[k]) for k in old}
    mixed["H_BR_los"] = scenario.H_BR_los
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
        h_d: ``[..., K, Nt]``; G: ``[..., K, N, Nt]`` cascaded channels; v: ``[..., N]`` (NumPy or
            torch; complex64 tensors give complex64).
    """
    xp = namespace(h_d, G, v)
    return h_d + einsum(xp, "...knt,...kn->...kt", xp.conj(G), as_complex(v, xp, G)[..., None, :])


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
            NumPy or torch (differentiable in ``h`` and ``W``).
    """
    xp = namespace(h, W)
    G = link_gains(xp.conj(h)[..., None, :], W)  # [..., K, 1, K]
    return sinr_from_gains(G, as_real(sigma2, xp, G))


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
    return sensing_gain(scenario.a, scenario.da, _covariance(namespace(W), W))


def crb(scenario: RobustScenario, W: NDArray[np.complex128], *, true: bool = False) -> NDArray[np.float64]:
    """Known-alpha DoA CRB (10) of each target at ``hat alpha`` (or the true alpha), ``[..., T]`` rad^2."""
    s = scenario
    R = _covariance(namespace(W), W)
    alpha = s.alpha_true if true else s.alpha_hat
    return doa_crb_known_alpha(s.a, s.da, R, alpha, s.L[..., None], s.sigma_s2[..., None])


# --------------------------------------------------------------------------- Monte Carlo
def effective_error_variance(scenario: RobustScenario, v: NDArray[np.complex128]) -> NDArray[np.float64]:
    """``sigma_e,k^2 = eps_d,k^2 + ||v||^2 eps_G,k^2`` (spec 1.4, ``C_k = sigma_e,k^2 I``), ``[..., K]``
    (NumPy or torch, differentiable in ``v``)."""
    xp = namespace(v, scenario.eps_G2)
    vn = xp.sum(xp.abs(as_complex(v, xp, scenario.h_d_hat)) ** 2, axis=-1)[..., None]
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

    def to(self, backend: str, *, device: Any = None, dtype: Any = None) -> MCDraws:
        """The draws converted to ``backend`` (``"numpy"`` or ``"torch"``), as :meth:`RobustScenario.to`:
        ``dtype`` is the complex dtype of the target precision (the draws get the matching real
        dtype), ``None`` keeps it. Lets a NumPy draw feed a torch evaluation."""
        conv = lambda x: to_backend(x, backend, device=device, dtype=dtype)  # noqa: E731
        return MCDraws(method=self.method, rate=tuple(conv(r) for r in self.rate), alpha=conv(self.alpha))


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


def _mc_standard_normal(rng: Any, num_draws: int, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Standard-normal pairs ``[D, *shape, 2]`` of one Monte-Carlo draw.

    NumPy generator: ``rng.standard_normal((D, *shape, 2))``. ``BatchGenerator`` with ``B`` rows:
    ``shape`` starts with ``B``; row ``i`` draws its ``[D, *shape[1:], 2]`` from stream ``i`` and the
    draws axis is moved to the front (a view ``[D, B, ...]``), as :func:`draw_mc_rows` does with B
    NumPy generators.
    """
    bs = rng_batch_shape(rng)
    nb = len(bs)
    if tuple(shape[:nb]) != bs:
        raise ValueError(f"draw shape {tuple(shape)} does not start with the generator's batch shape {bs}")
    z = rng.standard_normal((num_draws, *shape[nb:], 2))
    return namespace_of(rng).moveaxis(z, 0, nb) if nb else z


def draw_mc(
    scenario: RobustScenario,
    rng: Any,
    num_draws: int = 1000,
    method: str = "projected",
    batch_shape: tuple[int, ...] | None = None,
) -> MCDraws:
    """Draw the randomness of one :func:`evaluate` call: the rate draws, then the ``alpha`` draws.

    Args:
        scenario: the (possibly batched) scenario; fixes ``K``, ``N``, ``Nt``, ``T``.
        rng: source of the draws, consumed in the order of :func:`evaluate`: an
            ``np.random.Generator``, or a ``BatchGenerator`` with one row per scenario of a batch
            ``[B]`` (torch draws, row i from stream i, as :func:`draw_mc_rows`).
        num_draws: Monte-Carlo draws ``D``.
        method: outage sampler (see :func:`rate_outage_mc`).
        batch_shape: batch axes of the rate draws (:func:`mc_batch_shape`); default the scenario's.
            The ``alpha`` draws always have the scenario's batch axes.

    Returns:
        :class:`MCDraws`.
    """
    batch = scenario.batch_shape if batch_shape is None else tuple(batch_shape)
    rate = tuple(
        _mc_standard_normal(rng, num_draws, shape) for shape in _rate_draw_shapes(scenario, method, batch)
    )
    alpha = _mc_standard_normal(rng, num_draws, tuple(scenario.alpha_hat.shape))
    return MCDraws(method=method, rate=rate, alpha=alpha)


def draw_mc_rows(
    scenario: RobustScenario,
    rngs: Any,
    num_draws: int = 1000,
    method: str = "projected",
) -> MCDraws:
    """Draws for a scenario batched ``[B]`` with row ``i`` drawn from ``rngs[i]``.

    Equal to stacking ``draw_mc(scenario[i], rngs[i], num_draws, method)`` on axis 1 (after ``D``),
    so ``evaluate_draws`` on the batch reproduces B unbatched :func:`evaluate` calls, each with its
    own generator. Arrays are views ``[D, B, ...]`` of row-contiguous buffers ``[B, D, ...]``.

    Args:
        scenario: batched scenario, ``batch_shape == (len(rngs),)``.
        rngs: one NumPy generator per row, or a ``BatchGenerator`` with one row per scenario (then
            the same as :func:`draw_mc` with it: torch draws, row i from stream i).
    """
    if is_batch_generator(rngs):
        if tuple(scenario.batch_shape) != rngs.batch_shape:
            raise ValueError(f"scenario batch shape {scenario.batch_shape} does not match {rngs.batch_shape}")
        return draw_mc(scenario, rngs, num_draws, method)
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
    scenario: RobustScenario, rng: Any, num_draws: int
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Draws of ``Delta h_d,k ~ CN(0, eps_d^2 I)`` and ``Delta G_k`` (i.i.d. ``CN(0, eps_G^2)``) (5)-(6).

    ``rng``: ``np.random.Generator`` or a ``BatchGenerator`` with one row per scenario (torch).

    Returns:
        ``(dh_d [D, ..., K, Nt], dG [D, ..., K, N, Nt])`` complex128 (NumPy) or the generator's dtype.
    """
    s = scenario
    dh = complex_normal_from_standard(
        _mc_standard_normal(rng, num_draws, tuple(s.h_d_hat.shape)), s.eps_d2[..., None]
    )
    dG = complex_normal_from_standard(
        _mc_standard_normal(rng, num_draws, tuple(s.G_hat.shape)), s.eps_G2[..., None, None]
    )
    return dh, dG


def draw_effective_errors(
    scenario: RobustScenario, v: NDArray[np.complex128], rng: Any, num_draws: int
) -> NDArray[np.complex128]:
    """Draws of the effective error ``B_k x_k ~ CN(0, sigma_e,k^2 I)`` (spec 1.4), ``[D, ..., K, Nt]``.

    Equal in distribution to ``Delta h_d,k + Delta G_k^H v`` for fixed ``v`` (the key reduction),
    at ``1 / (N + 1)`` of the sampling cost.
    """
    var = effective_error_variance(scenario, v)
    shape = np.broadcast_shapes(tuple(scenario.h_d_hat.shape), (*var.shape, scenario.h_d_hat.shape[-1]))
    return complex_normal_from_standard(_mc_standard_normal(rng, num_draws, shape), var[..., None])


def draw_alpha_errors(scenario: RobustScenario, rng: Any, num_draws: int) -> NDArray[np.complex128]:
    """Draws of ``Delta alpha_t ~ CN(0, sigma_alpha,t^2)`` (13), ``[D, ..., T]`` (NumPy or a
    ``BatchGenerator`` with one row per scenario)."""
    s = scenario
    return complex_normal_from_standard(
        _mc_standard_normal(rng, num_draws, tuple(s.alpha_hat.shape)), s.sigma_alpha2
    )


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
    xp = namespace(W, v, s.h_d_hat)
    if method == "projected":
        W = as_complex(W, xp, s.h_d_hat)
        Wh = xp.conj(xp.matrix_transpose(W))  # [..., K, Nt]
        g_hat = einsum(xp, "...jt,...kt->...kj", Wh, effective_channels(s, v))  # [..., K, K]: w_j^H h_k
        lam, U = xp.linalg.eigh(Wh @ W)
        # the symmetric square root L_W = (W^H W)^(1/2) (L_W L_W^H = W^H W): unlike U sqrt(Lambda) it
        # does not depend on the eigenvectors' phases, which differ between LAPACK builds and backends
        Lw = (U * xp.sqrt(xp.maximum(lam, 0.0))[..., None, :]) @ xp.conj(xp.matrix_transpose(U))
        var = effective_error_variance(s, v)  # [..., K]
        z = complex_normal_from_standard(draws[0], var[..., None])
        g = g_hat + einsum(xp, "...jl,...kl->...kj", Lw, z)
        sn = sinr_from_gains(g[..., None, :], as_real(s.sigma2, xp, g))
    else:
        if method == "effective":
            var = effective_error_variance(s, v)
            h = effective_channels(s, v) + complex_normal_from_standard(draws[0], var[..., None])
        else:
            dh = complex_normal_from_standard(draws[0], s.eps_d2[..., None])
            dG = complex_normal_from_standard(draws[1], s.eps_G2[..., None, None])
            h = cascaded_effective_channel(s.h_d_hat + dh, s.G_hat + dG, v)
        sn = sinr_miso(h, W, s.sigma2)
    return _frequency(xp, rate_bps_hz(sn) < xp.log2(1.0 + s.gamma), sn)


def _frequency(xp: Any, event: Any, like: Any) -> Any:
    """Relative frequency of a boolean ``event`` ``[D, ...]`` over the draws (axis 0), in ``like``'s
    real precision."""
    return xp.astype(xp.sum(event, axis=0), real_dtype(xp, like)) / event.shape[0]


def _draws_like(z: Any, like: Any) -> Any:
    """Monte-Carlo draws on ``like``'s backend: NumPy draws (an ``np.random.Generator``'s) are
    converted for a torch scenario, anything else is returned as is."""
    if isinstance(like, np.ndarray) or not isinstance(z, np.ndarray):
        return z
    return asarray_like(z, like)


def rate_outage_mc(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    rng: Any,
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

    Draws like :func:`draw_mc` (rate part) and evaluates with :func:`rate_outage_from_draws`.
    NumPy or torch: ``rng`` is any generator :func:`draw_mc` takes (an ``np.random.Generator``,
    whose draws are converted for a torch scenario, or a ``BatchGenerator`` for a batch ``[B]``).

    Args:
        scenario: estimated CSI and error statistics.
        W: ``[..., Nt, K]`` precoder (W); v: ``[..., N]`` RIS vector.
        rng: source of the error draws.
        num_draws: Monte-Carlo draws ``D``.
        method: ``"projected"``, ``"effective"`` or ``"full"``.

    Returns:
        float64 ``[..., K]`` in [0, 1] (the real dtype of the scenario's precision on torch).
    """
    batch = mc_batch_shape(scenario, W, v, method)
    shapes = _rate_draw_shapes(scenario, method, batch)
    draws = tuple(_draws_like(_mc_standard_normal(rng, num_draws, sh), scenario.eps_d2) for sh in shapes)
    return rate_outage_from_draws(scenario, W, v, draws, method)


def crb_failure_from_draws(
    scenario: RobustScenario, W: NDArray[np.complex128], draws: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Empirical CRB-failure probability of (14c) from standard-normal ``alpha`` draws
    ``[D, ..., T, 2]`` (:attr:`MCDraws.alpha`), ``[..., T]``; see :func:`crb_failure_mc`."""
    s = scenario
    xp = namespace(W, s.alpha_hat)
    alpha = s.alpha_hat + complex_normal_from_standard(draws, s.sigma_alpha2)
    c = doa_crb_known_alpha(s.a, s.da, _covariance(xp, W), alpha, s.L[..., None], s.sigma_s2[..., None])
    return _frequency(xp, c >= s.eps, c)


def crb_failure_mc(
    scenario: RobustScenario, W: NDArray[np.complex128], rng: Any, num_draws: int = 1000
) -> NDArray[np.float64]:
    """Empirical CRB-failure probability ``Pr{CRB(theta_t) >= eps_t}`` of (14c), ``[..., T]``.

    ``alpha_t = hat alpha_t + Delta alpha_t`` is drawn ``num_draws`` times; the CRB (10) is
    evaluated with :func:`isac_env.physics.sensing.doa_crb_known_alpha`. ``rng`` as in
    :func:`rate_outage_mc`.
    """
    z = _mc_standard_normal(rng, num_draws, tuple(scenario.alpha_hat.shape))
    z = _draws_like(z, scenario.sigma_alpha2)
    return crb_failure_from_draws(scenario, W, z)


def crb_failure_exact(scenario: RobustScenario, W: NDArray[np.complex128]) -> NDArray[np.float64]:
    """Exact CRB-failure probability (spec 4.4): ``Pr{|alpha_t|^2 Xi_t <= tau_t}``, ``[..., T]``.

    ``2 |alpha_t|^2 / sigma_alpha^2 ~ ncx2(2, 2 |hat alpha_t|^2 / sigma_alpha^2)``, so the failure
    probability is ``ncx2.cdf(2 tau_t / (Xi_t sigma_alpha^2), 2, 2 |hat alpha|^2 / sigma_alpha^2)``.
    A zero RCT error gives the deterministic indicator ``|hat alpha|^2 Xi_t <= tau_t``, which is also
    the limit used where the CDF cannot be evaluated (``chndtr`` returns NaN for a noncentrality
    beyond ~1e100, i.e. an RCT error negligible against ``|hat alpha_t|^2``).

    NumPy-only inside (SciPy's ``chndtr``): a torch scenario computes ``Xi_t`` on its device, the
    CDF on the host in float64, and returns it on the device (evaluation only, not differentiable).
    """
    s = scenario
    xi = sensing_gains(s, W)
    if isinstance(xi, np.ndarray):
        return _ncx2_failure(xi, s.alpha_hat, s.sigma_alpha2, s.tau)
    host = (to_backend(x, "numpy", dtype=np.complex128) for x in (xi, s.alpha_hat, s.sigma_alpha2, s.tau))
    return asarray_like(_ncx2_failure(*host), xi)


def _ncx2_failure(
    xi: NDArray[np.float64], alpha_hat: NDArray[np.complex128], sigma_alpha2: ArrayLike, tau: ArrayLike
) -> NDArray[np.float64]:
    """NumPy/SciPy core of :func:`crb_failure_exact` given ``Xi_t`` ``[..., T]``."""
    a2 = np.abs(alpha_hat) ** 2
    s2 = np.broadcast_to(sigma_alpha2, np.broadcast_shapes(np.shape(sigma_alpha2), xi.shape))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = 2.0 * tau / (xi * s2)
        nc = 2.0 * a2 / s2
        p = special.chndtr(x, 2.0, np.where(s2 > 0, nc, 0.0))  # ncx2 CDF
    limit = (a2 * xi <= tau).astype(np.float64)
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
    ``sigma_e2`` and ``psd`` (1.0 where ``Phi_k`` has no negative eigenvalue, up to rounding:
    ``lambda^- <= r max|lambda|`` with ``r = 1e-12`` in float64, scaled by the epsilon ratio in float32).

    NumPy or torch, differentiable in ``W`` and ``v`` (``lambda^-`` through ``eigvalsh``).
    """
    from .robust_design import outage_phi

    s = scenario
    xp = namespace(W, v, s.h_d_hat)
    W = as_complex(W, xp, s.h_d_hat)
    Phi = outage_phi(W, s.gamma)  # [..., K, Nt, Nt] (15)
    h = effective_channels(s, v)  # [..., K, Nt]
    Ph = einsum(xp, "...kij,...kj->...ki", Phi, h)
    quad = xp.real(xp.sum(xp.conj(h) * Ph, axis=-1))
    se2 = effective_error_variance(s, v)
    lam = xp.linalg.eigvalsh(Phi)  # ascending, [..., K, Nt]
    scale = xp.max(xp.abs(lam), axis=-1)
    lam_minus = xp.maximum(-lam[..., 0], 0.0)
    fi = xp.finfo(lam.dtype)
    rtol = 1e-12 * fi.eps / np.finfo(np.float64).eps
    psd = lam_minus <= rtol * xp.maximum(scale, fi.tiny)
    p = xp.sum(xp.abs(W) ** 2, axis=-2)  # [..., K] per-stream powers
    interf = xp.sum(p, axis=-1, keepdims=True) - p
    return {
        "c": quad - s.sigma2,
        "trA": se2 * xp.real(xp.linalg.trace(Phi)),
        "frobA": se2 * xp.sqrt(xp.sum(xp.abs(Phi) ** 2, axis=(-2, -1))),
        "lam_minus": se2 * xp.where(psd, 0.0, lam_minus),
        "norm_u": xp.sqrt(se2) * xp.linalg.vector_norm(Ph, axis=-1),
        "interf": se2 * interf,
        "sigma_e2": se2,
        "psd": xp.astype(psd, lam.dtype),
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

    NumPy or torch, differentiable in ``W`` and ``v`` (the constants of
    :func:`restriction_constants` are SciPy floats; on torch, reading ``rho_c`` / ``rho_split``
    synchronises with the device once per call).

    Args:
        variant: one of ``ROBUST_RESTRICTIONS``; default ``scenario.restriction``.
    """
    s = scenario
    variant = s.restriction if variant is None else variant
    t = rate_restriction_terms(s, W, v)
    xp = namespace(t["c"])
    Nt, N = s.h_d_hat.shape[-1], s.G_hat.shape[-2]
    rho, split = float(s.rho_c.reshape(-1)[0]), float(s.rho_split.reshape(-1)[0])
    k = restriction_constants(variant, rho, Nt + N * Nt, Nt, split)
    eta, nu = k["eta"], k["nu"]
    lin = math.sqrt(2.0) * t["norm_u"]
    if variant in ("la_full", "la_nt"):
        m = t["c"] - eta * t["lam_minus"] - nu * lin
    elif variant == "lb":
        m = t["c"] - eta * t["interf"] - nu * lin
    elif variant == "lc":
        m = t["c"] + t["trA"] - math.sqrt(2.0 * eta) * t["frobA"] - eta * t["lam_minus"] - nu * lin
    else:
        root = xp.sqrt(t["frobA"] ** 2 + lin**2)
        m = t["trA"] + t["c"] - math.sqrt(2.0 * eta) * root - eta * t["lam_minus"]
    linear_only = t["c"] - k["nu_full"] * lin
    return xp.where(t["psd"] > 0, xp.maximum(m, linear_only), m)


def crb_margin(scenario: RobustScenario, W: NDArray[np.complex128]) -> NDArray[np.float64]:
    """Margin of the CRB-failure safe approximation (Proposition 3, (29)), ``[..., T]``.

    ``Xi_t(R) (|hat alpha_t|^2 - sqrt(2) nu_s sigma_alpha,t |hat alpha_t|) - tau_t`` with
    ``Phi(nu_s) = 1 - rho_s``; ``>= 0`` certifies ``Pr{CRB(theta_t) >= eps_t} <= rho_s``.
    ``kappa_t`` is :func:`isac_env.physics.robust_design.crb_restriction_coefficient`. NumPy or
    torch, differentiable in ``W``.
    """
    from .robust_design import crb_restriction_coefficient

    s = scenario
    kappa = crb_restriction_coefficient(s.alpha_hat, s.sigma_alpha2, s.rho_s[..., None])
    return sensing_gains(s, W) * kappa - s.tau


@dataclass(frozen=True)
class SafeApproximation:
    """Result of :func:`certify`: margins (noise-normalised power units) and the certificate.

    Attributes:
        rate_margin: ``[..., K]`` rate-outage restriction margins (Proposition 2).
        crb_margin: ``[..., T]`` CRB-failure restriction margins (Proposition 3).
        certified: ``[...]`` bool, every margin ``>= 0``.
        variant: the rate-outage restriction used.

    Arrays of the design's backend (NumPy or torch).
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
    and CRB failure ``<= rho_s`` for every target under the CSI/RCT error model. NumPy or torch.
    """
    variant = scenario.restriction if variant is None else variant
    rm = rate_margin(scenario, W, v, variant)
    cm = crb_margin(scenario, W)
    xp = namespace(rm, cm)
    ok = xp.all(rm >= 0.0, axis=-1) & xp.all(cm >= 0.0, axis=-1)
    return SafeApproximation(rate_margin=rm, crb_margin=cm, certified=ok, variant=variant)


# --------------------------------------------------------------------------- all metrics
def evaluate(
    scenario: RobustScenario,
    W: NDArray[np.complex128],
    v: NDArray[np.complex128],
    rng: Any,
    num_draws: int = 1000,
    method: str = "projected",
    variant: str | None = None,
) -> dict[str, NDArray[Any]]:
    """All task metrics of a design in one pass, with ``num_draws`` Monte-Carlo draws from ``rng``.

    ``evaluate_draws(scenario, W, v, draw_mc(scenario, rng, num_draws, method, mc_batch_shape(...)),
    variant)``; see :func:`evaluate_draws` for the metrics. ``rng`` is any generator of
    :func:`draw_mc`; NumPy draws are converted for a torch scenario (:meth:`MCDraws.to`).
    """
    draws = draw_mc(scenario, rng, num_draws, method, mc_batch_shape(scenario, W, v, method))
    h = scenario.h_d_hat
    if not isinstance(h, np.ndarray) and isinstance(draws.alpha, np.ndarray):
        draws = draws.to("torch", device=h.device, dtype=h.dtype)
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

    NumPy or torch (scenario, design and draws of one backend: :meth:`MCDraws.to`); on torch every
    metric stays on the device except ``crb_failure_exact`` (SciPy on the host, see
    :func:`crb_failure_exact`).
    """
    s = scenario
    xp = namespace(W, v, s.h_d_hat)
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
        "outage_violation": xp.maximum(0.0, out - s.rho_c[..., None]),
        "crb_violation": xp.maximum(0.0, fail - s.rho_s[..., None]),
    }
