"""Design-side pure math of the robust RIS-ISAC task (robust_isac spec sections 4-7).

The quantities the reference optimizers (``baselines/robust_ao.py``) need beyond the metric and
certificate functions of :mod:`isac_env.physics.robust`, batched over leading axes. Every function
runs on NumPy (the reference, complex128) or torch (CPU/CUDA, complex64/complex128,
differentiable), with the namespace taken from its array inputs:

* :func:`outage_phi` the matrices ``Phi_k`` of the quadratic-form rate constraint (15);
* :func:`sensing_gain_matrices` ``M_t`` with ``Xi_t(R) = tr(M_t R)`` (spec 2.2, linear in ``R``);
* :func:`crb_restriction_coefficient` ``kappa_t`` of Proposition 3 (29): ``kappa_t Xi_t >= tau_t``;
* :func:`homogenized_quadratics` ``R_k``, ``S_k`` of the homogenised RIS subproblem (34)-(37);
* :func:`gemm_objective`, :func:`gemm_gradient` the square-penalty objective ``f`` (40) and its
  Wirtinger gradient (49), in a form that covers every restriction variant;
* :func:`gemm_initial_step` the step ``mu_0`` of the step-size rule (48).

Conventions as in :mod:`isac_env.physics.robust`: the paper's RIS vector ``v = conj(phi)``,
``hat h_k(v) = hat h_d,k + hat G_k^H v``, noise-normalised channels (powers in W), isotropic CSI
errors ``C_k = sigma_e,k^2 I``. Wirtinger gradient ``grad f = 2 df/dv^*`` so that
``f(v + d) ~ f(v) + Re{grad f^H d}``; this is torch autograd's convention too (``v.grad`` of a
real ``f`` is ``2 df/dv^*``), so on torch ``gemm_gradient`` equals ``v.grad`` of ``gemm_objective``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import as_complex, as_real, einsum, namespace, ndtri
from .robust import cascaded_effective_channel
from .sensing import sensing_gain_matrices  # re-exported: the robust designs' Xi_t(R) = tr(M_t R)

__all__ = [
    "crb_restriction_coefficient",
    "gemm_gradient",
    "gemm_initial_step",
    "gemm_objective",
    "homogenized_quadratics",
    "outage_phi",
    "sensing_gain_matrices",
]


def outage_phi(W: NDArray[np.complex128], gamma: ArrayLike) -> NDArray[np.complex128]:
    """``Phi_k = W_k / gamma_k - sum_{j != k} W_j`` with ``W_k = w_k w_k^H`` (15).

    Args:
        W: precoder ``[..., Nt, K]`` (W, noise-normalised units).
        gamma: SINR thresholds ``[..., K]`` (linear, ``2^{bar R} - 1``).

    Returns:
        Hermitian ``[..., K, Nt, Nt]`` complex128 (NumPy) or ``W``'s complex dtype (torch).
    """
    xp = namespace(W, gamma)
    W = as_complex(W, xp)
    Wk = W[..., :, None, :] * xp.conj(W[..., None, :, :])  # [..., Nt, Nt, K]: W_k = w_k w_k^H
    Wk = xp.moveaxis(Wk, -1, -3)  # [..., K, Nt, Nt]
    R = xp.sum(Wk, axis=-3, keepdims=True)
    g = as_real(gamma, xp, W)[..., :, None, None]
    return Wk * (1.0 / g + 1.0) - R


def crb_restriction_coefficient(
    alpha_hat: ArrayLike, sigma_alpha2: ArrayLike, rho_s: ArrayLike
) -> NDArray[np.float64]:
    """``kappa_t = |hat alpha_t|^2 - sqrt(2) nu_s sigma_alpha,t |hat alpha_t|``, ``Phi(nu_s) = 1 - rho_s``.

    Proposition 3 (29) reads ``kappa_t Xi_t(R) >= tau_t``; it is infeasible for every ``R`` when
    ``kappa_t <= 0``. Consistent with :func:`isac_env.physics.robust.crb_margin`
    (``crb_margin = kappa_t Xi_t - tau_t``).

    Args:
        alpha_hat: estimated reflection coefficients ``[..., T]`` (noise-normalised).
        sigma_alpha2: RCT error variances ``[..., T]``.
        rho_s: CRB-failure probability (scalar or broadcastable).

    Returns:
        float64 ``[..., T]`` (torch: the real dtype of ``alpha_hat``'s precision).
    """
    xp = namespace(alpha_hat, sigma_alpha2, rho_s)
    a = xp.abs(as_complex(alpha_hat, xp))
    nu_s = -ndtri(xp, as_real(rho_s, xp, a))  # Phi(nu_s) = 1 - rho_s
    return a**2 - math.sqrt(2.0) * nu_s * xp.sqrt(as_real(sigma_alpha2, xp, a)) * a


def homogenized_quadratics(
    h_d_hat: NDArray[np.complex128],
    G_hat: NDArray[np.complex128],
    Phi: NDArray[np.complex128],
    sigma_e2: ArrayLike,
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Homogenised matrices ``R_k``, ``S_k`` of the RIS subproblem (34)-(37).

    With ``bar v = [v; 1]``: ``hat h_k(v)^H Phi_k hat h_k(v) = bar v^H R_k bar v`` and
    ``||C_k^{1/2} Phi_k hat h_k(v)||^2 = bar v^H S_k bar v`` where

    ``R_k = [[G_k Phi_k G_k^H, G_k Phi_k h_d,k], [h_d,k^H Phi_k G_k^H, h_d,k^H Phi_k h_d,k]]`` and
    ``S_k = R_k`` with ``Phi_k -> Phi_k C_k Phi_k = sigma_e,k^2 Phi_k^2``.

    Args:
        h_d_hat: ``[..., K, Nt]``; G_hat: ``[..., K, N, Nt]`` cascaded channels;
        Phi: ``[..., K, Nt, Nt]`` Hermitian; sigma_e2: ``[..., K]`` effective error variances.

    Returns:
        ``(R, S)``, each Hermitian ``[..., K, N + 1, N + 1]`` complex128 (torch: the inputs' dtype).
    """
    xp = namespace(h_d_hat, G_hat, Phi, sigma_e2)
    hd = as_complex(h_d_hat, xp)
    G = as_complex(G_hat, xp, hd)
    Phi = as_complex(Phi, xp, hd)
    B = xp.concat([G, xp.conj(hd)[..., None, :]], axis=-2)  # [..., K, N+1, Nt]: [G_k; h_d,k^H]
    BH = xp.conj(xp.matrix_transpose(B))
    R = B @ Phi @ BH
    S = as_real(sigma_e2, xp, hd)[..., None, None] * (B @ Phi @ Phi @ BH)
    R = 0.5 * (R + xp.conj(xp.matrix_transpose(R)))
    S = 0.5 * (S + xp.conj(xp.matrix_transpose(S)))
    return R, S


def gemm_objective(
    v: NDArray[np.complex128],
    h_d_hat: NDArray[np.complex128],
    G_hat: NDArray[np.complex128],
    Phi: NDArray[np.complex128],
    lin_coef: ArrayLike,
    lin_offset: ArrayLike = 0.0,
    lin_scale: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """Square-penalty objective ``f(v)`` of (40) (without the penalty ``lambda ||v||^2``).

    ``f(v) = sum_k [ hat h_k^H Phi_k hat h_k - a_k sqrt(b_k + c_k ||Phi_k hat h_k||^2) ]`` with
    ``a = lin_coef``, ``b = lin_offset``, ``c = lin_scale``. The paper's (40) (restrictions L-a, L-b,
    L-c) is ``a_k = sqrt(2) nu_c sigma_e,k``, ``b = 0``, ``c = 1``: ``a_k ||Phi_k hat h_k|| =
    sqrt(2) nu_c ||C_k^{1/2} Phi_k hat h_k||``. The BTI restriction uses ``a = sqrt(2 delta)``,
    ``b_k = ||A_k||_F^2``, ``c_k = 2 sigma_e,k^2``. Terms constant in ``v`` are dropped, so
    ``f`` equals the sum of restriction margins up to a constant. ``v`` is not required to be
    unit-modulus (``C_k`` is held at its unit-modulus value, A9).

    Args:
        v: ``[..., N]``; h_d_hat ``[K, Nt]``, G_hat ``[K, N, Nt]``, Phi ``[K, Nt, Nt]`` (may carry
            the same leading axes); lin_coef, lin_offset, lin_scale: ``[K]``, nonnegative.

    Returns:
        float64 ``[...]`` (torch: the real dtype of the inputs' precision; differentiable in ``v``).
    """
    xp = namespace(v, h_d_hat, G_hat, Phi)
    h = cascaded_effective_channel(h_d_hat, G_hat, v)
    Ph = einsum(xp, "...kij,...kj->...ki", Phi, h)
    quad = xp.real(xp.sum(xp.conj(h) * Ph, axis=-1))
    n2 = xp.sum(xp.abs(Ph) ** 2, axis=-1)
    lin = _coef(xp, lin_coef, n2) * xp.sqrt(_coef(xp, lin_offset, n2) + _coef(xp, lin_scale, n2) * n2)
    return xp.sum(quad - lin, axis=-1)


def _coef(xp: Any, x: ArrayLike, like: Any) -> Any:
    """A coefficient of :func:`gemm_objective` as an array of ``like``'s namespace (NumPy: as given)."""
    return np.asarray(x) if isinstance(like, np.ndarray) else as_real(x, xp, like)


def gemm_gradient(
    v: NDArray[np.complex128],
    h_d_hat: NDArray[np.complex128],
    G_hat: NDArray[np.complex128],
    Phi: NDArray[np.complex128],
    lin_coef: ArrayLike,
    lin_offset: ArrayLike = 0.0,
    lin_scale: ArrayLike = 1.0,
) -> NDArray[np.complex128]:
    """Wirtinger gradient ``grad f = 2 df/dv^*`` of :func:`gemm_objective` (49), ``[..., N]``.

    ``grad f = sum_k [ 2 G_k Phi_k hat h_k - a_k c_k G_k Phi_k^2 hat h_k / sqrt(b_k + c_k ||Phi_k
    hat h_k||^2) ]``; for ``b = 0, c = 1, a_k = sqrt(2) nu sigma_e,k`` this is the paper's
    ``2 G_k Phi_k h_k - sqrt(2) nu G_k Phi_k C_k Phi_k h_k / ||C_k^{1/2} Phi_k h_k||``. Where the
    square root vanishes the (sub)gradient of the norm term is taken as zero.

    NumPy or torch; on torch it equals autograd's ``v.grad`` of :func:`gemm_objective` (a real
    loss's ``v.grad`` is ``2 df/dv^*``).
    """
    xp = namespace(v, h_d_hat, G_hat, Phi)
    h = cascaded_effective_channel(h_d_hat, G_hat, v)
    Ph = einsum(xp, "...kij,...kj->...ki", Phi, h)
    PPh = einsum(xp, "...kij,...kj->...ki", Phi, Ph)
    n2 = xp.sum(xp.abs(Ph) ** 2, axis=-1)
    c = as_real(lin_scale, xp, n2)
    root = xp.sqrt(_coef(xp, lin_offset, n2) + c * n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = xp.where(root > 0, _coef(xp, lin_coef, n2) * c / root, 0.0)  # [..., K]
    vec = 2.0 * Ph - w[..., None] * PPh  # [..., K, Nt]
    return xp.sum(einsum(xp, "...knt,...kt->...kn", G_hat, vec), axis=-2)


def gemm_initial_step(G_hat: NDArray[np.complex128], Phi: NDArray[np.complex128]) -> NDArray[np.float64]:
    """``mu_0 = 1 / sum_k 2 ||G_k Phi_k G_k^H||_2`` (spec 7.5), ``[...]``.

    ``2 ||G_k Phi_k G_k^H||_2`` is the Lipschitz constant of the gradient of the quadratic part
    of ``f``; the norm term adds curvature, which the backtracking (48) absorbs. NumPy or torch.
    """
    xp = namespace(G_hat, Phi)
    M = G_hat @ Phi @ xp.conj(xp.matrix_transpose(G_hat))
    lip = 2.0 * xp.sum(xp.max(xp.abs(xp.linalg.eigvalsh(M)), axis=-1), axis=-1)
    return 1.0 / xp.maximum(lip, xp.finfo(lip.dtype).tiny)
