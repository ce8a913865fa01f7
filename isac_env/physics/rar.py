"""The multi-RAR RIS-ISAC problem: scenario sampling and scenario-level metrics.

``sample_scenario(config, rng)`` draws one channel realisation of the rar_isac spec (section 8) and
fixes the receiver noise and LO field by the SNR/RSR calibration (section 8.6). The metric functions
take ``(scenario, W, phi)`` and broadcast over leading batch axes of the scenario arrays, ``W``
``[..., Nt, K]`` and ``phi`` ``[..., N]``.

A scenario holds NumPy arrays (the default and reference, complex128/float64) or torch tensors
(``scenario.to("torch", device=..., dtype=torch.complex64)``); the metric functions run on either
and are differentiable by torch autograd w.r.t. ``W`` and ``phi``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..config import RydbergISACConfig
from ._xp import as_complex, as_real, expj, namespace, to_backend
from .arrays import array_pattern, steering_vector, steering_vector_derivative
from .channels import (
    effective_channel,
    path_loss,
    rar_clustered_channel,
    rician_channel,
)
from .comms import link_gains, link_gains_factored, rate_bps_hz, sinr_rar_from_gains
from .random import as_field, namespace_of
from .rydberg import calibrate_lo_amplitude, calibrate_noise, reference_signal_energy
from .sensing import crb_from_terms, crb_trace_from_terms, fim_terms, sensing_vectors
from .units import dbm_to_w

__all__ = [
    "RydbergScenario",
    "age_scenario",
    "beam_patterns",
    "crb",
    "crb_trace",
    "effective_channels",
    "evaluate",
    "link_angles",
    "node_positions",
    "observation_scales",
    "phi_terms",
    "rar_geometry",
    "sample_scenario",
    "sensing_vectors_of",
    "sinr",
    "stack_scenarios",
    "sum_rate",
    "transmit_power_w",
]

_ARRAY_FIELDS = (
    "H_BR", "H_RU", "H_BU", "b", "sigma_q2", "h_dt", "h_rt", "dh_dt", "dh_rt",
    "theta_B", "theta_R", "beta_d", "beta_r", "beta_t", "alpha_t", "sigma_r2", "L", "P_max", "eps",
    "H_BR_los", "user_angles", "obs_scale",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class RydbergScenario:
    """One (or a batch of) channel realisation(s) of the multi-RAR RIS-ISAC system.

    Array fields (leading batch axes ``[...]`` allowed; NumPy complex128/float64 arrays, copied
    and read-only, or torch tensors of one device and precision, kept as they are; see :meth:`to`):

    * ``H_BR`` ``[..., N, Nt]`` BS -> RIS; ``H_RU`` ``[..., K, M, N]`` RIS -> RAR k;
      ``H_BU`` ``[..., K, M, Nt]`` BS -> RAR k (Rabi-field units up to a common scale).
    * ``b`` ``[..., K, M]`` LO field at each vapor cell; ``sigma_q2`` ``[..., K]`` noise power
      per cell (calibrated by the SNR, eq. (104)).
    * ``h_dt`` ``[..., Nt]``, ``h_rt`` ``[..., N]`` BS-target and RIS-target LoS vectors and their
      angle derivatives ``dh_dt``, ``dh_rt``; angles ``theta_B``, ``theta_R`` (rad);
      amplitudes ``beta_d``, ``beta_r``, ``beta_t``; ``alpha_t`` target coefficient.
    * ``sigma_r2`` radar noise (W), ``L`` snapshots, ``P_max`` power budget (W), ``eps`` CRB
      threshold (rad^2).
    * ``H_BR_los`` LoS part of ``H_BR`` (for channel ageing), ``user_angles`` ``[..., K]``
      (theta_RU,k), ``obs_scale`` ``[..., 2K+1]`` RMS amplitudes used to normalise observations.

    ``rsr_model`` selects the SINR model ("linear" or "distortion").
    """

    H_BR: NDArray[np.complex128]
    H_RU: NDArray[np.complex128]
    H_BU: NDArray[np.complex128]
    b: NDArray[np.complex128]
    sigma_q2: NDArray[np.float64]
    h_dt: NDArray[np.complex128]
    h_rt: NDArray[np.complex128]
    dh_dt: NDArray[np.complex128]
    dh_rt: NDArray[np.complex128]
    theta_B: NDArray[np.float64]
    theta_R: NDArray[np.float64]
    beta_d: NDArray[np.float64]
    beta_r: NDArray[np.float64]
    beta_t: NDArray[np.float64]
    alpha_t: NDArray[np.float64]
    sigma_r2: NDArray[np.float64]
    L: NDArray[np.float64]
    P_max: NDArray[np.float64]
    eps: NDArray[np.float64]
    H_BR_los: NDArray[np.complex128]
    user_angles: NDArray[np.float64]
    obs_scale: NDArray[np.float64]
    rsr_model: str = "linear"

    def __post_init__(self) -> None:
        if namespace(self.H_BR) is not np:  # torch: keep tensors, convert stray non-tensor fields
            ref = self.H_BR
            for name in _ARRAY_FIELDS:
                v = getattr(self, name)
                if type(v) is not type(ref):
                    v = to_backend(v, "torch", device=ref.device, dtype=ref.dtype)
                    object.__setattr__(self, name, v)
            return
        for name in _ARRAY_FIELDS:
            arr = np.array(getattr(self, name), copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.H_BR.shape[:-2])

    @property
    def backend(self) -> str:
        """``"numpy"`` or ``"torch"``."""
        return "numpy" if isinstance(self.H_BR, np.ndarray) else "torch"

    def to(self, backend: str, *, device: Any = None, dtype: Any = None) -> RydbergScenario:
        """The scenario with every array field on ``backend`` (``"numpy"`` or ``"torch"``).

        Args:
            backend: ``"torch"`` (CPU or CUDA tensors) or ``"numpy"`` (back to read-only arrays).
            device: torch device (default: the tensors' own, else ``"cpu"``); ignored for NumPy.
            dtype: the complex dtype of the complex fields (``complex64`` or ``complex128``, NumPy's
                or torch's); the real fields get the matching real dtype (``float32``/``float64``).
                Default: the current precision (complex128 for a NumPy scenario).

        Returns:
            A new :class:`RydbergScenario` (``rsr_model`` kept). NumPy -> torch -> NumPy in
            complex128 gives back the same numbers bit for bit; converting to NumPy drops gradients.
        """
        if backend not in ("numpy", "torch"):
            raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
        if device is not None and backend == "numpy":
            device = None
        return dataclasses.replace(
            self,
            **{n: to_backend(getattr(self, n), backend, device=device, dtype=dtype) for n in _ARRAY_FIELDS},
        )

    @property
    def dims(self) -> dict[str, int]:
        """``{"K", "M", "N", "Nt"}``."""
        K, M, N = self.H_RU.shape[-3:]
        return {"K": K, "M": M, "N": N, "Nt": self.H_BR.shape[-1]}

    def replace(self, **changes: Any) -> RydbergScenario:
        return dataclasses.replace(self, **changes)

    def __getitem__(self, idx: int | slice) -> RydbergScenario:
        """Index the leading batch axis."""
        return dataclasses.replace(self, **{n: getattr(self, n)[idx] for n in _ARRAY_FIELDS})


def stack_scenarios(scenarios: list[RydbergScenario]) -> RydbergScenario:
    """Stack scenarios of one backend along a new leading batch axis (NumPy or torch)."""
    first = scenarios[0]
    xp = namespace(first.H_BR)
    return dataclasses.replace(
        first, **{n: xp.stack([getattr(s, n) for s in scenarios]) for n in _ARRAY_FIELDS}
    )


def rar_geometry(config: RydbergISACConfig) -> dict[str, float]:
    """Deterministic geometry of spec section 8.2: ``theta_B`` (rad), ``d_BT`` (m), RIS position.

    ``p_R = d_BR (sin phi_Bt, cos phi_Bt)``, ``p_T = p_R + d_RT (-cos theta_R, sin theta_R)``,
    ``theta_B = atan2(p_T,x, p_T,y)`` measured from the BS broadside.
    """
    c = config
    p_r = c.d_br_m * np.array([np.sin(c.angle_bs_ris_rad), np.cos(c.angle_bs_ris_rad)])
    p_t = p_r + c.d_rt_m * np.array([-np.cos(c.theta_r_rad), np.sin(c.theta_r_rad)])
    return {
        "theta_B": float(np.arctan2(p_t[0], p_t[1])),
        "d_BT": float(np.hypot(*p_t)),
        "p_R_x": float(p_r[0]),
        "p_R_y": float(p_r[1]),
    }


def _user_positions(config: RydbergISACConfig, user_angles: NDArray[np.float64]) -> NDArray[np.float64]:
    """User positions ``[..., K, 2]`` (m) of angles ``[..., K]`` (NumPy or torch, like ``user_angles``)."""
    geo = rar_geometry(config)
    xp = namespace(user_angles)
    p_r = np.array([geo["p_R_x"], geo["p_R_y"]])
    p_r = p_r if xp is np else as_real(p_r, xp, user_angles)
    return p_r + config.d_ru_m * xp.stack([-xp.cos(user_angles), xp.sin(user_angles)], axis=-1)


def node_positions(config: RydbergISACConfig, user_angles: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Top-view positions (m) of the nodes, from the model's distances and angles (spec 8.2).

    The RAR model has no coordinates of its own; they follow :func:`rar_geometry`: BS at the
    origin with its broadside along ``+y``, RIS at ``p_R = d_BR (sin phi_Bt, cos phi_Bt)``, target at
    ``p_R + d_RT (-cos theta_R, sin theta_R)``, user k at ``p_R + d_RU (-cos theta_RU,k, sin theta_RU,k)``.

    Args:
        config: scenario parameters.
        user_angles: ``theta_RU,k`` (rad) ``[..., K]`` (``RydbergScenario.user_angles``).

    Returns:
        ``{"bs": [2], "ris": [2], "target": [2], "users": [..., K, 2]}`` float64, metres ``(x, y)``.
    """
    c = config
    geo = rar_geometry(c)
    p_r = np.array([geo["p_R_x"], geo["p_R_y"]])
    p_t = p_r + c.d_rt_m * np.array([-np.cos(c.theta_r_rad), np.sin(c.theta_r_rad)])
    users = _user_positions(c, np.asarray(user_angles, dtype=np.float64))
    return {"bs": np.zeros(2), "ris": p_r, "target": p_t, "users": users}


def link_angles(config: RydbergISACConfig, user_angles: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Angles (rad) at which :func:`beam_patterns` must peak to serve each node's LoS direction.

    BS side (convention ``a_Nt(theta)^T w`` of ``h_dt`` and of ``H_BU``'s LoS): ``"bs_target"`` =
    ``theta_B``; ``"bs_users"`` ``[..., K]`` = ``atan2(x_k, y_k)``, the users' DoDs of ``H_BU``;
    ``"bs_ris"`` = ``-phi_Bt``: ``H_BR``'s LoS is ``a_N(phi_Rt) a_Nt(phi_Bt)^H`` (spec 8.3, Hermitian)
    and ``a(phi)^H = a(-phi)^T``, so in the ``^T`` convention the RIS appears mirrored.
    RIS side (convention ``a_N(theta)^T`` of ``h_rt`` and ``H_RU``'s LoS): ``"ris_target"`` =
    ``theta_R``, ``"ris_users"`` ``[..., K]`` = ``theta_RU,k``, ``"ris_bs"`` = ``phi_Rt`` (the
    direction the BS illuminates the RIS from, for reference).
    """
    c = config
    ua = np.asarray(user_angles, dtype=np.float64)
    p_u = _user_positions(c, ua)
    return {
        "bs_target": np.asarray(rar_geometry(c)["theta_B"]),
        "bs_users": np.arctan2(p_u[..., 0], p_u[..., 1]),
        "bs_ris": np.asarray(-c.angle_bs_ris_rad),
        "ris_target": np.asarray(c.theta_r_rad),
        "ris_users": ua,
        "ris_bs": np.asarray(c.angle_ris_bs_rad),
    }


def beam_patterns(
    scenario: RydbergScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    theta_bs: ArrayLike,
    theta_ris: ArrayLike,
) -> dict[str, NDArray[np.float64]]:
    """Per-stream transmit and RIS-reflected beam patterns of a design, as array gains.

    ``"bs"`` ``[..., A, K]``: ``G_BS,k(theta) = |a_Nt(theta)^T w_k|^2 / ||W||_F^2`` (unnormalised
    ``a``, sign -1, the convention of ``h_dt``/``H_BU``; the sum over k is the pattern the target
    sees directly, at most ``Nt``). ``"ris"`` ``[..., A', K]``: ``G_RIS,k(theta) = |a_N(theta)^T
    diag(phi) H_BR w_k|^2 / ||H_BR W||_F^2``, the field the RIS re-radiates toward ``theta`` (the
    convention of ``h_rt``/``H_RU``), relative to the total power incident on its elements (sum
    over k at most ``N``). Both dimensionless (linear; ``10 log10`` gives dBi); ``H_BR`` is the
    realised channel (LoS + scattering), so the RIS pattern is the actual reflected field.

    Args:
        scenario: channels (``H_BR`` ``[..., N, Nt]``).
        W: precoder ``[..., Nt, K]``; phi: RIS phases ``[..., N]``.
        theta_bs: BS angle grid ``[A]`` (rad, from broadside); theta_ris: RIS grid ``[A']`` (rad);
            NumPy grids are converted to the scenario's backend.

    Returns:
        ``{"bs", "ris"}`` real arrays of the scenario's backend (NumPy float64 or torch).
    """
    xp = namespace(scenario.H_BR, W)
    W = as_complex(W, xp, scenario.H_BR)
    p_w = transmit_power_w(W)
    floor = max(1e-300, float(xp.finfo(p_w.dtype).tiny))  # a zero design gives a zero pattern
    bs = array_pattern(theta_bs, W) / xp.maximum(p_w, floor)[..., None, None]
    X = as_complex(phi, xp, W)[..., :, None] * (scenario.H_BR @ W)  # [..., N, K] reflected excitation
    p_x = xp.maximum(transmit_power_w(X), floor)[..., None, None]
    ris = array_pattern(theta_ris, X) / p_x
    return {"bs": bs, "ris": ris}


def _rar_link(config: RydbergISACConfig, rng: Any, n_tx: int, gain: Any, dod: Any) -> NDArray[np.complex128]:
    """One RAR link ``[..., M, n_tx]``: the clustered channel (+ the optional LoS path) times ``gain``.

    ``gain`` and ``dod`` are scalars or ``[...]`` arrays of the generator's batch axes.
    """
    c = config
    H = rar_clustered_channel(
        rng, c.num_cells, n_tx, num_clusters=c.num_clusters, num_rays=c.num_rays,
        ray_spread_rad=np.deg2rad(c.ray_spread_deg), carrier_hz=c.carrier_hz,
        max_delay_spread_s=c.max_delay_spread_s, polarization=c.polarization,
    )  # fmt: skip
    xp = namespace(H)
    if c.rar_los_k_factor > 0:
        doa = rng.uniform(-np.pi / 2, np.pi / 2, ())
        los = steering_vector(doa, c.num_cells)[..., :, None] * steering_vector(dod, n_tx)[..., None, :]
        kf = c.rar_los_k_factor
        H = los if np.isinf(kf) else np.sqrt(kf / (kf + 1)) * los + np.sqrt(1 / (kf + 1)) * H
    return as_real(gain, xp, H)[..., None, None] * H


def _draw_small_scale(
    config: RydbergISACConfig, rng: Any, user_angles: NDArray[np.float64]
) -> tuple[NDArray[np.complex128], NDArray[np.complex128], NDArray[np.complex128], NDArray[np.complex128]]:
    """H_BR, its LoS part, H_RU and H_BU for given user angles ``[..., K]`` (spec 8.3-8.4).

    NumPy generator: unbatched complex128 arrays; ``BatchGenerator``: ``[B, ...]`` tensors.
    """
    c = config
    xp = namespace_of(rng)
    Nt, N, K = c.num_bs_antennas, c.num_ris, c.num_users
    beta_t = np.sqrt(path_loss(c.d_br_m, c.pl_exp_br, c.c0_db))
    los = np.outer(
        steering_vector(c.angle_ris_bs_rad, N),
        np.conj(steering_vector(c.angle_bs_ris_rad, Nt, normalize=True)),
    )
    kap = c.rician_factor
    H_BR_los = beta_t * (los if np.isinf(kap) else np.sqrt(kap / (kap + 1.0)) * los)
    H_BR = rician_channel(rng, as_field(rng, los), kap, 1.0 / Nt, beta_t)
    p_u = _user_positions(c, user_angles)
    d_bu = xp.hypot(p_u[..., 0], p_u[..., 1])
    g_ru = np.sqrt(path_loss(c.d_ru_m, c.pl_exp_ru, c.c0_db))
    g_bu = xp.sqrt(path_loss(d_bu, c.pl_exp_bu, c.c0_db) / Nt)
    dod_bu = xp.atan2(p_u[..., 0], p_u[..., 1])
    H_RU = xp.stack([_rar_link(c, rng, N, g_ru, user_angles[..., k]) for k in range(K)], axis=-3)
    H_BU = xp.stack([_rar_link(c, rng, Nt, g_bu[..., k], dod_bu[..., k]) for k in range(K)], axis=-3)
    return H_BR, as_field(rng, H_BR_los), H_RU, H_BU


def sample_scenario(config: RydbergISACConfig, rng: Any) -> RydbergScenario:
    """Draw one channel realisation and calibrate the receivers (spec sections 8.2-8.6).

    Users sit at ``theta_RU,k ~ U(0, pi/2)`` on a circle of radius ``d_RU`` around the RIS.
    ``sigma_q^2`` and the LO field ``b`` are fixed from the SNR (104) and RSR (105) definitions
    under an isotropic, random-phase reference transmission, before any design is chosen.

    Args:
        config: scenario parameters.
        rng: the only source of randomness: an ``np.random.Generator`` (one NumPy scenario, the
            reference stream) or a :class:`~isac_env.physics.random.BatchGenerator` (``B``
            scenarios at once, one per row of the generator, as torch tensors on its device in
            its complex dtype; every field then has the leading batch axis ``[B]``).

    Returns:
        A :class:`RydbergScenario`: unbatched (NumPy generator) or batched ``[B]`` (torch).
    """
    c = config
    xp = namespace_of(rng)
    Nt, N, K, M = c.num_bs_antennas, c.num_ris, c.num_users, c.num_cells
    user_angles = rng.uniform(0.0, np.pi / 2, K)
    H_BR, H_BR_los, H_RU, H_BU = _draw_small_scale(c, rng, user_angles)
    p_max = float(dbm_to_w(c.p_max_dbm))
    e_sig = reference_signal_energy(H_BU, H_RU, H_BR, as_field(rng, p_max))
    sigma_q2 = calibrate_noise(e_sig, M, c.snr_db, per_user=c.noise_calibration == "per_user")
    cos_psi_b = xp.cos(2.0 * np.pi * rng.random((K, M)))
    c_b = calibrate_lo_amplitude(e_sig, sigma_q2, cos_psi_b, c.rsr_db)
    b = c_b[..., None, None] * cos_psi_b * expj(xp, 2.0 * np.pi * rng.random((K, M)))
    geo = rar_geometry(c)
    theta_B, theta_R = geo["theta_B"], c.theta_r_rad
    beta_d = float(np.sqrt(path_loss(geo["d_BT"], c.pl_exp_bt, c.c0_db)))
    beta_r = float(np.sqrt(path_loss(c.d_rt_m, c.pl_exp_rt, c.c0_db)))
    beta_t = float(np.sqrt(path_loss(c.d_br_m, c.pl_exp_br, c.c0_db)))
    p_u = _user_positions(c, user_angles)
    g_bu = xp.sqrt(path_loss(xp.hypot(p_u[..., 0], p_u[..., 1]), c.pl_exp_bu, c.c0_db) / Nt)
    g_ru = np.sqrt(path_loss(c.d_ru_m, c.pl_exp_ru, c.c0_db))
    obs_scale = xp.concat([as_field(rng, np.concatenate([[beta_t], np.full(K, g_ru)])), g_bu], axis=-1)
    f = lambda v: as_field(rng, v)  # noqa: E731  a constant with the batch axes (NumPy: unchanged)
    return RydbergScenario(
        H_BR=H_BR, H_RU=H_RU, H_BU=H_BU, b=b, sigma_q2=sigma_q2,
        h_dt=f(beta_d * steering_vector(theta_B, Nt, normalize=True)),
        h_rt=f(beta_r * steering_vector(theta_R, N)),
        dh_dt=f(beta_d * steering_vector_derivative(theta_B, Nt, normalize=True)),
        dh_rt=f(beta_r * steering_vector_derivative(theta_R, N)),
        theta_B=f(theta_B), theta_R=f(theta_R), beta_d=f(beta_d), beta_r=f(beta_r), beta_t=f(beta_t),
        alpha_t=f(c.alpha_t), sigma_r2=f(float(dbm_to_w(c.radar_noise_dbm))), L=f(float(c.num_snapshots)),
        P_max=f(p_max), eps=f(c.crb_threshold), H_BR_los=H_BR_los, user_angles=user_angles,
        obs_scale=obs_scale, rsr_model=c.rsr_model,
    )  # fmt: skip


def age_scenario(
    scenario: RydbergScenario, config: RydbergISACConfig, rng: Any, rho: float
) -> RydbergScenario:
    """One Gauss-Markov ageing step of the small-scale fading (EnvConfig ``"gauss_markov"``).

    ``H <- H_los + rho (H - H_los) + sqrt(1 - rho^2) H_new`` where ``H_new`` is an independent
    draw of the scattered part of the same model (same user positions and path loss). Each
    link keeps its distribution; the LoS geometry, ``sigma_q^2`` and ``b`` are unchanged within
    the episode. ``rng`` is a NumPy generator for an unbatched NumPy scenario, or a
    ``BatchGenerator`` with one row per scenario of a batched torch scenario.
    """
    H_BR_new, los, H_RU_new, H_BU_new = _draw_small_scale(config, rng, scenario.user_angles)
    s = np.sqrt(max(0.0, 1.0 - rho**2))
    return scenario.replace(
        H_BR=los + rho * (scenario.H_BR - los) + s * (H_BR_new - los),
        H_RU=rho * scenario.H_RU + s * H_RU_new,
        H_BU=rho * scenario.H_BU + s * H_BU_new,
    )


# --------------------------------------------------------------------------- metrics
def effective_channels(scenario: RydbergScenario, phi: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """``H_eff,k(phi)`` (eq. (3)), ``[..., K, M, Nt]``."""
    return effective_channel(scenario.H_BU, scenario.H_RU, scenario.H_BR, phi)


def sinr(
    scenario: RydbergScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    H_eff: NDArray[np.complex128] | None = None,
) -> NDArray[np.float64]:
    """Per-user SINR (23) (linear), ``[..., K]``; includes the distortion term if configured.

    Uses the factored link gains ``H_BU W + H_RU (phi ⊙ (H_BR W))``
    (:func:`~isac_env.physics.comms.link_gains_factored`), which equal ``H_eff(phi) W`` of
    :func:`effective_channels` up to rounding without forming ``H_eff``; given ``H_eff``
    (:func:`effective_channels` at ``phi``, e.g. from :func:`phi_terms`), the gains are ``H_eff W``.
    """
    s = scenario
    if H_eff is None:
        G = link_gains_factored(s.H_BU, s.H_RU, s.H_BR, phi, W)
    else:
        G = link_gains(H_eff, W)
    return sinr_rar_from_gains(G, s.sigma_q2, s.b, s.rsr_model)


def sum_rate(
    scenario: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
) -> NDArray[np.float64]:
    """``U_com`` (24) in bit/s/Hz, ``[...]``."""
    return rate_bps_hz(sinr(scenario, W, phi)).sum(axis=-1)


def sensing_vectors_of(scenario: RydbergScenario, phi: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """``V = [v_t, v_B, v_R]`` of the scenario at phases ``phi``, ``[..., Nt, 3]``."""
    s = scenario
    return sensing_vectors(s.H_BR, phi, s.h_dt, s.h_rt, s.dh_dt, s.dh_rt)


def crb(
    scenario: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
) -> NDArray[np.float64]:
    """DoA CRB matrix ``CRB_theta`` (eqs. (28)-(34)) for theta = [theta_B, theta_R], ``[..., 2, 2]`` rad^2."""
    s = scenario
    F = fim_terms(sensing_vectors_of(s, phi), W, s.alpha_t)
    return crb_from_terms(F, s.L, s.sigma_r2, s.alpha_t)


def crb_trace(
    scenario: RydbergScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    V: NDArray[np.complex128] | None = None,
) -> NDArray[np.float64]:
    """``tr CRB_theta`` in rad^2, ``[...]`` (``V``: :func:`sensing_vectors_of` at ``phi``, if known)."""
    s = scenario
    F = fim_terms(sensing_vectors_of(s, phi) if V is None else V, W, s.alpha_t)
    return crb_trace_from_terms(F, s.L, s.sigma_r2, s.alpha_t)


def transmit_power_w(W: NDArray[np.complex128]) -> NDArray[np.float64]:
    """Transmit power ``tr(W W^H) = ||W||_F^2`` (2), watts, ``[...]`` (NumPy or torch)."""
    return (W.real**2 + W.imag**2).sum(axis=(-2, -1))


def phi_terms(scenario: RydbergScenario, phi: NDArray[np.complex128]) -> dict[str, NDArray[np.complex128]]:
    """The phase-dependent terms of a step, computed once: ``"H_eff"`` (:func:`effective_channels`,
    eq. (3)) ``[..., K, M, Nt]`` and ``"V"`` (:func:`sensing_vectors_of`, eq. (15)) ``[..., Nt, 3]``.

    An environment whose observation shows the effective channels at the played phases passes them
    to :func:`evaluate` and to its observation, so ``H_RU`` is read once per step."""
    return {"H_eff": effective_channels(scenario, phi), "V": sensing_vectors_of(scenario, phi)}


def evaluate(
    scenario: RydbergScenario,
    W: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    terms: dict[str, NDArray[np.complex128]] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """All task metrics in one pass: ``sinr`` and ``rate = log2(1 + sinr)`` ``[..., K]``,
    ``sum_rate`` (24) (bit/s/Hz), ``crb_trace`` (rad^2), ``power_w``,
    ``crb_violation = max(0, tr CRB / eps - 1)``. Arrays of the scenario's backend.

    ``terms``: :func:`phi_terms` of ``(scenario, phi)`` if already computed (the same metrics up to
    summation order, ~1e-15 relative)."""
    terms = terms or {}
    sn = sinr(scenario, W, phi, terms.get("H_eff"))
    tr = crb_trace(scenario, W, phi, terms.get("V"))
    rate = rate_bps_hz(sn)
    return {
        "sinr": sn,
        "rate": rate,
        "sum_rate": rate.sum(axis=-1),
        "crb_trace": tr,
        "power_w": transmit_power_w(W),
        "crb_violation": namespace(tr).maximum(tr / scenario.eps - 1.0, 0.0),
    }


def observation_scales(
    scenario: RydbergScenario,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """RMS entry amplitudes of ``H_eff,k`` ``[..., K]`` and of ``v_t`` ``[...]`` under random phases.

    ``E||H_eff,k||_F^2 = ||H_BU,k||_F^2 + sum_n ||H_RU,k[:, n]||^2 ||H_BR[n, :]||^2`` (the bracket of
    spec section 8.6) and ``E||v_t||^2 = ||h_dt||^2 + sum_n |h_rt,n|^2 ||H_BR[n, :]||^2``. Used to
    normalise observations to O(1).
    """
    s = scenario
    xp = namespace(s.H_BR)
    M, Nt = s.H_RU.shape[-2], s.H_BR.shape[-1]
    e_k = reference_signal_energy(s.H_BU, s.H_RU, s.H_BR, float(Nt))
    br_row = xp.sum(xp.abs(s.H_BR) ** 2, axis=-1)
    e_v = xp.sum(xp.abs(s.h_dt) ** 2, axis=-1) + xp.sum(xp.abs(s.h_rt) ** 2 * br_row, axis=-1)
    return xp.sqrt(e_k / (M * Nt)), xp.sqrt(e_v / Nt)
