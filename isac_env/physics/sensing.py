"""Monostatic sensing: target response, FIM blocks and the DoA Cramer-Rao bound.

RAR task: rar_isac spec sections 2.3 and 4 (eqs. (15)-(17), (26)-(34), (55)-(61)). The FIM terms
``F_i = tr(A_i W W^H)`` are evaluated with the 3x3 Gram trick of spec section 4.2 (O(Nt K)).
Robust task: the known-alpha scalar CRB of robust_isac spec section 2.2.

No explicit inverse of an ill-conditioned matrix: the 2x2 Schur complement is inverted in closed
form and the FIM is evaluated in the scaled units ``G_i = (2/sigma_r^2) F_i / L`` (spec 4.3).

Identifiability: the ULA steering vectors are indexed ``n = 0..n-1`` (:mod:`.arrays`), so their
angle derivative ``j pi cos(theta) n a(theta)`` is identically zero for a single element. With one
RIS element ``v_R = H_BR^T diag(phi) dh_rt = 0`` (no information on ``theta_R``); with one BS antenna
``v_B = dh_dt = 0`` (and ``H_t`` is a scalar, so the four real parameters share a 2-dim signal
space). Either way the DoA FIM is singular for every design, hence the configs require
``num_ris >= 2`` and ``num_bs_antennas >= 2`` (the robust task's ``Xi_t`` vanishes likewise for
``Nt = 1``). A singular FIM for a particular design gives ``inf`` here; the environments cap it.

Backends: every function takes NumPy arrays (complex128/float64, the reference) or torch tensors
(CPU or CUDA, complex64/complex128) and is differentiable by torch autograd; the ``inf`` guards
use ``where`` with a safe denominator, so gradients are finite wherever the value is. The dtypes
below name the NumPy case. Scalar parameters (``L``, ``sigma_r2``, ``alpha``) may be Python
scalars, NumPy 0-d arrays or tensors. The constant tables (``_GRAM_*``) are NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import abs2, as_complex, as_param, einsum, namespace, segment_sum

__all__ = [
    "crb_from_terms",
    "crb_trace_from_terms",
    "doa_crb_known_alpha",
    "fim_matrices",
    "fim_terms",
    "fim_terms_from_covariance",
    "fim_terms_from_gram",
    "fim_terms_from_map",
    "fim_terms_map",
    "phase_sensing_quadratics",
    "schur_fim",
    "sensing_gain",
    "sensing_gain_matrices",
    "sensing_gram",
    "sensing_vectors",
    "target_response",
]


def sensing_vectors(
    H_BR: NDArray[np.complex128],
    phi: NDArray[np.complex128],
    h_dt: NDArray[np.complex128],
    h_rt: NDArray[np.complex128],
    dh_dt: NDArray[np.complex128],
    dh_rt: NDArray[np.complex128],
) -> NDArray[np.complex128]:
    """``V = [v_t, v_B, v_R]`` (spec section 2.3), complex128 ``[..., Nt, 3]``.

    ``v_t = h_dt + H_BR^T diag(phi) h_rt`` (15), ``v_B = dh_dt / d theta_B``,
    ``v_R = H_BR^T diag(phi) dh_rt / d theta_R``. Note the plain transpose (reciprocity).

    Args:
        H_BR: ``[..., N, Nt]``; phi: ``[..., N]``; h_dt, dh_dt: ``[..., Nt]``; h_rt, dh_rt: ``[..., N]``.
    """
    xp = namespace(phi)
    refl = xp.concat([(phi * h_rt)[..., None], (phi * dh_rt)[..., None]], axis=-1)  # [..., N, 2]
    vr = H_BR.mT @ refl  # [..., Nt, 2]
    v_t = (h_dt + vr[..., 0])[..., None]
    v_R = vr[..., 1:]
    if v_R.shape != v_t.shape:
        v_R = xp.broadcast_to(v_R, v_t.shape)
    v_B = dh_dt[..., None]
    if v_B.shape != v_t.shape:
        v_B = xp.broadcast_to(v_B, v_t.shape)
    return xp.concat([v_t, v_B, v_R], axis=-1)


def target_response(V: NDArray[np.complex128]) -> tuple[NDArray[np.complex128], ...]:
    """``H_t = v v^T`` and its angle derivatives ``H_B``, ``H_R`` (eqs. (15), (27), (107)).

    Returns:
        ``(H_t, H_B, H_R)``, each complex128 ``[..., Nt, Nt]``.
    """
    v, vB, vR = V[..., 0], V[..., 1], V[..., 2]
    outer = lambda a, b: a[..., :, None] * b[..., None, :]  # noqa: E731
    return outer(v, v), outer(vB, v) + outer(v, vB), outer(vR, v) + outer(v, vR)


def fim_terms(
    V: NDArray[np.complex128], W: NDArray[np.complex128], alpha: ArrayLike = 1.0
) -> NDArray[np.complex128]:
    """Per-snapshot FIM terms ``F_i / L = tr(A_i W W^H) / L``, i = 1..6 (spec 4.1, Gram form 4.2).

    ``F1 = p_B^H p_B, F2 = p_B^H p_R, F3 = alpha^* p_B^H h, F4 = p_R^H p_R, F5 = alpha^* p_R^H h,
    F6 = ||h||^2`` with ``p_x = vec(H_x X)``, ``h = vec(H_t X)``.

    Args:
        V: ``[..., Nt, 3]`` from :func:`sensing_vectors`.
        W: ``[..., Nt, K]`` precoder; ``R_x = W W^H``.
        alpha: target coefficient ``alpha_t`` (complex, broadcast over ``[...]``).

    Returns:
        complex128 ``[..., 6]`` (F1, F4, F6 real up to rounding).
    """
    return fim_terms_from_gram(sensing_gram(V), V, W, alpha)


def sensing_gram(V: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Gram matrix ``G0 = V^H V`` of the sensing vectors (spec 4.2), ``[..., 3, 3]``.

    It depends on ``phi`` only, so a solver that evaluates the FIM terms of many precoders at
    one ``phi`` computes it once and calls :func:`fim_terms_from_gram`.

    Args:
        V: ``[..., Nt, 3]`` from :func:`sensing_vectors`.

    Returns:
        complex128 ``[..., 3, 3]`` with ``G0[a, b] = v_a^H v_b``.
    """
    return V.mT.conj() @ V


def fim_terms_from_gram(
    G0: NDArray[np.complex128],
    V: NDArray[np.complex128],
    W: NDArray[np.complex128],
    alpha: ArrayLike = 1.0,
) -> NDArray[np.complex128]:
    """:func:`fim_terms` with the phi-only Gram matrix ``G0 = V^H V`` precomputed (spec 4.2).

    Only ``U = W^T V`` ``[..., K, 3]`` and ``G1 = U^H U`` depend on ``W``; the result is the same
    computation as :func:`fim_terms` (which calls this function). ``W`` may carry extra leading
    axes (e.g. several candidate precoders ``[J, Nt, K]`` at one ``phi``); they broadcast
    against ``G0`` and ``V``.

    Args:
        G0: ``[..., 3, 3]`` from :func:`sensing_gram`.
        V: ``[..., Nt, 3]`` sensing vectors (the ones ``G0`` was built from).
        W: ``[..., Nt, K]`` precoder.
        alpha: target coefficient ``alpha_t``.

    Returns:
        complex128 ``[..., 6]`` per-snapshot terms ``F_i / L``.
    """
    U = W.mT @ V  # [..., K, 3]
    G1 = U.mT.conj() @ U  # [..., 3, 3]  x^H conj(R) y
    return _terms_from_grams(G0, G1, alpha)


def fim_terms_from_covariance(
    V: NDArray[np.complex128], R_x: NDArray[np.complex128], alpha: ArrayLike = 1.0
) -> NDArray[np.complex128]:
    """Same as :func:`fim_terms` for a general transmit covariance ``R_x`` ``[..., Nt, Nt]``."""
    Vh = V.mT.conj()
    return _terms_from_grams(Vh @ V, Vh @ R_x.conj() @ V, alpha)


def _gram_coefficients() -> NDArray[np.float64]:
    """Constant tensor C with ``F_i/L = sum_{ab,cd} C[ab, cd, i] G0[a,b] G1[c,d]`` (spec 4.2)."""
    o, B, R = 0, 1, 2
    rules = {  # i: [((a, b), (c, d)), ...] meaning g_ab * r_cd
        0: [((B, B), (o, o)), ((B, o), (o, B)), ((o, B), (B, o)), ((o, o), (B, B))],  # F1
        1: [((B, R), (o, o)), ((B, o), (o, R)), ((o, R), (B, o)), ((o, o), (B, R))],  # F2
        2: [((B, o), (o, o)), ((o, o), (B, o))],  # F3 / alpha^*
        3: [((R, R), (o, o)), ((R, o), (o, R)), ((o, R), (R, o)), ((o, o), (R, R))],  # F4
        4: [((R, o), (o, o)), ((o, o), (R, o))],  # F5 / alpha^*
        5: [((o, o), (o, o))],  # F6
    }
    C = np.zeros((9, 9, 6))
    for i, terms in rules.items():
        for (a, b), (c, d) in terms:
            C[3 * a + b, 3 * c + d, i] += 1.0
    return C.reshape(81, 6)


_GRAM_C = _gram_coefficients()
# The 17 non-zero entries of C (all ones), grouped by term: F[i] = sum over the segment of
# g[_GRAM_A] * r[_GRAM_B] starting at _GRAM_START[i] (same sum, ~15x fewer FLOPs than the 81x6 product).
_GRAM_NZ = [np.flatnonzero(_GRAM_C[:, i]) for i in range(6)]
_GRAM_A = np.concatenate([nz // 9 for nz in _GRAM_NZ])
_GRAM_B = np.concatenate([nz % 9 for nz in _GRAM_NZ])
_GRAM_START = np.cumsum([0] + [nz.size for nz in _GRAM_NZ])[:-1]


_GRAM_INDEX: dict[Any, tuple[Any, Any]] = {}  # (_GRAM_A, _GRAM_B) as index tensors, per torch device


def _gram_index(xp: Any, like: Any) -> tuple[Any, Any]:
    """``(_GRAM_A, _GRAM_B)`` as index arrays of ``like``'s namespace and device."""
    if xp is np:
        return _GRAM_A, _GRAM_B
    idx = _GRAM_INDEX.get(like.device)
    if idx is None:
        idx = _GRAM_INDEX[like.device] = (
            xp.asarray(_GRAM_A, device=like.device),
            xp.asarray(_GRAM_B, device=like.device),
        )
    return idx


def _is_one(alpha: Any) -> bool:
    """``True`` for a Python/NumPy scalar (or NumPy 0-d array) equal to 1 (never for a tensor: no host sync)."""
    return (
        isinstance(alpha, (int, float, complex, np.generic, np.ndarray))
        and np.ndim(alpha) == 0
        and alpha == 1
    )


def _alpha_columns(xp: Any, alpha: Any, like: Any) -> Any:
    """``[1, 1, alpha^*, 1, alpha^*, 1]`` ``[..., 6]``: the factors of ``F3`` and ``F5`` (spec 4.1)."""
    ac = xp.conj(as_complex(alpha, xp, like))
    one = xp.ones_like(ac)
    return xp.stack([one, one, ac, one, ac, one], axis=-1)


def _terms_from_grams(G0: NDArray, G1: NDArray, alpha: ArrayLike) -> NDArray[np.complex128]:
    """``F[..., i] = sum_{ab,cd} C[ab, cd, i] G0[..., a, b] G1[..., c, d]`` (spec 4.2), ``[..., 6]``."""
    xp = namespace(G0, G1)
    g = G0.reshape(*G0.shape[:-2], 9)
    r = G1.reshape(*G1.shape[:-2], 9)
    ia, ib = _gram_index(xp, G0)
    F = segment_sum(xp, g[..., ia] * r[..., ib], _GRAM_START)
    if _is_one(alpha):
        return F
    return F * _alpha_columns(xp, alpha, F)


def fim_terms_map(G0: NDArray[np.complex128], alpha: ArrayLike = 1.0) -> NDArray[np.complex128]:
    """The FIM terms as a linear map of ``G1 = U^H U`` at fixed ``G0`` (spec 4.2), ``[..., 9, 6]``.

    ``F_i / L = sum_{cd} G1[c, d] Mphi[3c + d, i]`` with
    ``Mphi[cd, i] = sum_{ab} C[ab, cd, i] G0[a, b]`` (times ``alpha^*`` for ``i = 3, 5``), so that a
    solver evaluating many precoders at one ``phi`` does one ``9 x 6`` product per precoder
    (:func:`fim_terms_from_map`). Same terms as :func:`fim_terms`, summed in another order.

    Args:
        G0: ``[..., 3, 3]`` from :func:`sensing_gram`; alpha: target coefficient ``alpha_t``.

    Returns:
        complex128 ``[..., 9, 6]``.
    """
    xp = namespace(G0)
    g = G0.reshape(*G0.shape[:-2], 9)
    C = _GRAM_C.reshape(9, 9, 6) if xp is np else as_complex(_GRAM_C.reshape(9, 9, 6), xp, G0)
    Mphi = einsum(xp, "...a,acI->...cI", g, C)
    if xp is np:
        Mphi = Mphi.astype(np.complex128)
    if _is_one(alpha):
        return Mphi
    return Mphi * _alpha_columns(xp, alpha, Mphi)[..., None, :]


def fim_terms_from_map(
    Mphi: NDArray[np.complex128], V: NDArray[np.complex128], W: NDArray[np.complex128]
) -> NDArray[np.complex128]:
    """:func:`fim_terms` from the phi-only map of :func:`fim_terms_map`: ``U = W^T V``,
    ``G1 = U^H U``, ``F = vec(G1) Mphi`` ``[..., 6]`` (``W`` ``[..., Nt, K]`` may carry extra
    leading axes, e.g. candidate precoders ``[J, Nt, K]`` at one ``phi``)."""
    U = W.mT @ V  # [..., K, 3]
    G1 = U.mT.conj() @ U  # [..., 3, 3]
    return (G1.reshape(*G1.shape[:-2], 1, 9) @ Mphi)[..., 0, :]


def fim_matrices(V: NDArray[np.complex128], alpha: ArrayLike = 1.0) -> NDArray[np.complex128]:
    """Matrices ``A_i / L`` with ``F_i / L = tr((A_i / L) R_x)`` (spec 4.1), ``[..., 6, Nt, Nt]``.

    ``A_1 = H_B^H H_B, A_2 = H_B^H H_R, A_3 = alpha^* H_B^H H_t, A_4 = H_R^H H_R,
    A_5 = alpha^* H_R^H H_t, A_6 = H_t^H H_t`` (per snapshot). Multiply by ``2/sigma_r^2`` for the
    scaled matrices ``hat A_i`` of spec section 4.3.
    """
    xp = namespace(V)
    H_t, H_B, H_R = target_response(V)
    ac = xp.conj(as_complex(alpha, xp, V))[..., None, None]
    h = lambda X: X.mT.conj()  # noqa: E731
    return xp.stack(
        [
            h(H_B) @ H_B,
            h(H_B) @ H_R,
            ac * (h(H_B) @ H_t),
            h(H_R) @ H_R,
            ac * (h(H_R) @ H_t),
            h(H_t) @ H_t,
        ],
        axis=-3,
    )


def _schur_entries(
    G: NDArray[np.complex128], alpha: ArrayLike, xp: Any = None
) -> tuple[NDArray, NDArray, NDArray]:
    xp = namespace(G) if xp is None else xp
    a2 = abs(as_param(alpha, xp, G)) ** 2
    Gr, Gi = G.real, G.imag
    G3r, G3i, G5r, G5i = Gr[..., 2], Gi[..., 2], Gr[..., 4], Gi[..., 4]
    g6 = Gr[..., 5]
    inv6 = 1.0 / xp.where(g6 > 0, g6, xp.inf)  # a zero radar return gives a singular FIM
    j11 = a2 * Gr[..., 0] - (G3r**2 + G3i**2) * inv6
    j22 = a2 * Gr[..., 3] - (G5r**2 + G5i**2) * inv6
    j12 = a2 * Gr[..., 1] - (G3r * G5r + G3i * G5i) * inv6
    return j11, j12, j22


def schur_fim(G: NDArray[np.complex128], alpha: ArrayLike = 1.0) -> NDArray[np.float64]:
    """Schur complement ``A_s`` of the DoA FIM w.r.t. ``alpha`` (spec 4.1), ``[..., 2, 2]`` float64.

    ``A_s = |alpha|^2 Re[[G1, G2], [G2, G4]] - (1/G6) [[|G3|^2, Re(G3 G5^*)], [., |G5|^2]]`` in
    whatever units ``G`` carries (``G = c_r F`` gives the FIM, ``G = c_r F / L`` the per-snapshot FIM).
    """
    j11, j12, j22 = _schur_entries(G, alpha)
    return _sym2(namespace(G), j11, j12, j22)


def _sym2(xp: Any, a11: Any, a12: Any, a22: Any) -> Any:
    """The symmetric 2x2 matrices ``[[a11, a12], [a12, a22]]`` ``[..., 2, 2]``."""
    return xp.stack([xp.stack([a11, a12], axis=-1), xp.stack([a12, a22], axis=-1)], axis=-2)


def crb_from_terms(
    F: NDArray[np.complex128], L: ArrayLike, sigma_r2: ArrayLike, alpha: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """DoA CRB matrix ``CRB_theta = (J_tt - J_ta J_aa^{-1} J_at)^{-1}`` (eqs. (28)-(34)), rad^2.

    The 2x2 inverse is taken in closed form.

    Args:
        F: ``[..., 6]`` per-snapshot terms from :func:`fim_terms`.
        L: number of snapshots; sigma_r2: radar noise power (W); alpha: target coefficient.

    Returns:
        float64 ``[..., 2, 2]``; ``inf`` entries where the FIM is singular.
    """
    xp = namespace(F)
    j11, j12, j22 = _schur_entries(F, alpha, xp)
    scale = 2.0 * as_param(L, xp, j11) / as_param(sigma_r2, xp, j11)
    j11, j12, j22 = j11 * scale, j12 * scale, j22 * scale
    det = j11 * j22 - j12**2
    # a positive-definite FIM has j11, j22 > 0; rounding near singularity can break that
    bad = ~(det > 0) | ~xp.isfinite(det) | ~(j11 > 0) | ~(j22 > 0)
    inv_det = 1.0 / xp.where(bad, 1.0, det)  # safe denominator: finite values and gradients
    return _sym2(
        xp,
        xp.where(bad, xp.inf, j22 * inv_det),
        xp.where(bad, xp.inf, -j12 * inv_det),
        xp.where(bad, xp.inf, j11 * inv_det),
    )


def crb_trace_from_terms(
    F: NDArray[np.complex128], L: ArrayLike, sigma_r2: ArrayLike, alpha: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """``tr CRB_theta = (J_11 + J_22) / det J`` (rad^2), ``inf`` for a singular FIM; ``[...]``.

    Singular means ``det J <= 0`` or a non-positive diagonal entry (rounding of a nearly singular
    FIM), so the result is either positive or ``inf``, never negative or NaN for finite inputs.
    """
    xp = namespace(F)
    j11, j12, j22 = _schur_entries(F, alpha, xp)
    det = (j11 * j22 - j12**2) * (2.0 * as_param(L, xp, j11) / as_param(sigma_r2, xp, j11))
    ok = (det > 0) & (j11 > 0) & (j22 > 0)  # False for NaN as well
    return xp.where(ok, (j11 + j22) / xp.where(ok, det, 1.0), xp.inf)


def doa_crb_known_alpha(
    a: NDArray[np.complex128],
    da: NDArray[np.complex128],
    R_x: NDArray[np.complex128],
    alpha: ArrayLike,
    L: ArrayLike,
    sigma_s2: ArrayLike,
) -> NDArray[np.float64]:
    """Scalar known-alpha DoA CRB of the robust task (robust_isac spec eq. (10), section 2.2).

    ``CRB(theta_t) = sigma_s^2 / (2 L |alpha_t|^2 Xi_t(R_x))`` with
    ``Xi_t(R) = tr(dA_t^H dA_t R)``, ``dA_t = da a^H + a da^H``.

    Args:
        a, da: ``[..., T, Nt]`` steering vectors and derivatives of the T targets.
        R_x: ``[..., Nt, Nt]`` transmit covariance.
        alpha: ``[..., T]`` reflection coefficients; L: snapshots; sigma_s2: noise power.

    Returns:
        float64 ``[..., T]`` in rad^2; ``inf`` where ``|alpha_t|^2 Xi_t = 0``.
    """
    xp = namespace(a, R_x)
    xi = sensing_gain(a, da, R_x)
    den = 2.0 * as_param(L, xp, xi) * abs(as_param(alpha, xp, xi)) ** 2 * xi
    zero = den == 0
    return xp.where(zero, xp.inf, as_param(sigma_s2, xp, xi) / xp.where(zero, 1.0, den))


def sensing_gain_matrices(a: NDArray[np.complex128], da: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """``M_t = dA_t^H dA_t`` with ``dA_t = da_t a_t^H + a_t da_t^H`` (11), so ``Xi_t(R) = tr(M_t R)``.

    Args:
        a: steering vectors ``[..., T, Nt]``; da: their angle derivatives ``[..., T, Nt]`` (per rad).

    Returns:
        Hermitian PSD ``[..., T, Nt, Nt]`` complex128 (NumPy; torch: ``a``'s complex dtype);
        ``Re tr(M_t R)`` is :func:`sensing_gain`.
    """
    xp = namespace(a, da)
    a = as_complex(a, xp)
    da = as_complex(da, xp, a)
    dA = da[..., :, None] * xp.conj(a[..., None, :]) + a[..., :, None] * xp.conj(da[..., None, :])
    return xp.conj(xp.matrix_transpose(dA)) @ dA


def sensing_gain(
    a: NDArray[np.complex128], da: NDArray[np.complex128], R_x: NDArray[np.complex128]
) -> NDArray[np.float64]:
    """``Xi_t(R) = tr(dA_t^H dA_t R) = tr(M_t R)`` (robust spec section 2.2, :func:`sensing_gain_matrices`),
    linear in R; ``[..., T]``."""
    xp = namespace(a, R_x)
    return xp.real(einsum(xp, "...tij,...ji->...t", sensing_gain_matrices(a, da), R_x))


def phase_sensing_quadratics(
    H_BR: NDArray[np.complex128],
    h_dt: NDArray[np.complex128],
    h_rt: NDArray[np.complex128],
    dh_rt: NDArray[np.complex128],
) -> tuple[NDArray[np.complex128], NDArray[np.complex128], NDArray[np.float64]]:
    """Target illumination ``||v_t(phi)||^2`` and ``||v_R(phi)||^2`` as quadratic forms in the RIS phases.

    With the Jacobians ``B_t = H_BR^T diag(h_rt)`` and ``B_R = H_BR^T diag(dh_rt)``
    (:func:`isac_env.physics.gradients.sensing_jacobians`), eq. (15) reads ``v_t(phi) = h_dt + B_t phi``
    and ``v_R(phi) = B_R phi`` (the columns of :func:`sensing_vectors`), so for every ``phi``

    * ``||v_t(phi)||^2 = phi^H (B_t^H B_t) phi + Re{(2 B_t^H h_dt)^H phi} + ||h_dt||^2``,
    * ``||v_R(phi)||^2 = phi^H (B_R^H B_R) phi``.

    Args:
        H_BR: ``[..., N, Nt]``; h_dt: ``[..., Nt]``; h_rt, dh_rt: ``[..., N]`` (broadcast against each other).

    Returns:
        ``(A, b, c0)`` stacked over the two terms ``(t, R)``: complex128 ``A [..., 2, N, N]``
        (``B_t^H B_t``, ``B_R^H B_R``), complex128 ``b [..., 2, N]`` (``2 B_t^H h_dt``, 0) and float64
        ``c0 [..., 2]`` (``||h_dt||^2``, 0); NumPy or torch, the inputs' precision, differentiable.
    """
    from .gradients import sensing_jacobians  # gradients imports this module

    xp = namespace(H_BR, h_dt, h_rt, dh_rt)
    B_t, B_R = sensing_jacobians(H_BR, h_rt, dh_rt)  # [..., Nt, N]
    A = xp.stack([B_t.mT.conj() @ B_t, B_R.mT.conj() @ B_R], axis=-3)
    b_t = 2.0 * (B_t.mT.conj() @ h_dt[..., None])[..., 0]
    b = xp.stack([b_t, xp.zeros_like(b_t)], axis=-2)
    c_t = xp.broadcast_to(xp.sum(abs2(h_dt), axis=-1), b_t.shape[:-1])
    c0 = xp.stack([c_t, xp.zeros_like(c_t)], axis=-1)
    return A, b, c0
