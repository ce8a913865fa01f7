"""Wirtinger gradients of the Rydberg task's metrics (rar_isac spec section 4.4, 7.3).

Conventions: for a real function ``h`` of a complex vector ``x`` the gradient is
``grad_{x^*} h = dh / dx^*`` (Wirtinger, ``x`` and ``x^*`` independent), so that the first-order
change is ``dh ~= 2 Re{grad^H dx}`` and steepest ascent is ``x + mu grad``. For a complex
function ``F`` we return both ``dF/dx`` and ``dF/dx^*``.

All functions are pure and batched over leading axes: ``V [..., Nt, 3]``, ``W [..., Nt, K]``,
``phi [..., N]``, ``H_eff [..., K, M, Nt]``. They reuse :mod:`.sensing` and :mod:`.comms` for the
metric values ("physics once") and add only derivatives.

Backends: NumPy (the reference) or torch tensors (complex64/complex128, CPU or CUDA). With torch,
autograd gives the same gradients (``z.grad = 2 grad_{z^*}`` for a real loss, see
``tests/physics/test_backend_rar.py``); these closed forms remain the reference and the fast path.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._xp import as_complex, as_real, namespace
from .comms import link_gains
from .rar import RydbergScenario, effective_channels, sensing_vectors_of
from .rydberg import distortion_power
from .sensing import _alpha_columns, _is_one, fim_matrices, fim_terms, schur_fim

__all__ = [
    "crb_trace_gradients",
    "fim_terms_phi_gradients",
    "rar_noise_power",
    "real_part_gradient",
    "sensing_jacobians",
    "sum_rate_gradients",
    "sum_rate_gradients_from_channels",
    "trace_inv_schur",
]

# F_i = sum over (x, y, u, v) of g_xy r_uv (spec 4.2), index 0 = v_t, 1 = v_B, 2 = v_R.
_O, _B, _R = 0, 1, 2
_TERMS: tuple[tuple[tuple[int, int, int, int], ...], ...] = (
    ((_B, _B, _O, _O), (_B, _O, _O, _B), (_O, _B, _B, _O), (_O, _O, _B, _B)),  # F1
    ((_B, _R, _O, _O), (_B, _O, _O, _R), (_O, _R, _B, _O), (_O, _O, _B, _R)),  # F2
    ((_B, _O, _O, _O), (_O, _O, _B, _O)),  # F3 (times alpha^*)
    ((_R, _R, _O, _O), (_R, _O, _O, _R), (_O, _R, _R, _O), (_O, _O, _R, _R)),  # F4
    ((_R, _O, _O, _O), (_O, _O, _R, _O)),  # F5 (times alpha^*)
    ((_O, _O, _O, _O),),  # F6
)


def sensing_jacobians(
    H_BR: NDArray[np.complex128], h_rt: NDArray[np.complex128], dh_rt: NDArray[np.complex128]
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Jacobians of ``v_t`` and ``v_R`` w.r.t. phi (spec 4.2, 4.4): ``S = H_BR^T diag(h_rt)``,
    ``S' = H_BR^T diag(dh_rt)``, each ``[..., Nt, N]``; ``v_t = h_dt + S phi``, ``v_R = S' phi``,
    and ``v_B`` does not depend on phi. All are holomorphic in phi."""
    Ht = H_BR.mT
    return Ht * h_rt[..., None, :], Ht * dh_rt[..., None, :]


def fim_terms_phi_gradients(
    V: NDArray[np.complex128],
    S: NDArray[np.complex128],
    S_R: NDArray[np.complex128],
    W: NDArray[np.complex128],
    alpha: ArrayLike = 1.0,
) -> tuple[NDArray[np.complex128], NDArray[np.complex128], NDArray[np.complex128]]:
    """Per-snapshot FIM terms ``F_i / L`` and their Wirtinger derivatives w.r.t. phi (spec 4.4).

    With ``g_xy = x^H y`` and ``r_xy = x^H conj(R_x) y`` (``R_x = W W^H``):
    ``dg_xy/dphi = J_y^T conj(x)``, ``dg_xy/dphi^* = J_x^H y``, ``dr_xy/dphi = J_y^T R_x conj(x)``,
    ``dr_xy/dphi^* = J_x^H conj(R_x) y``, then the product rule over the Gram form of spec 4.2.

    Args:
        V: ``[..., Nt, 3]`` sensing vectors ``[v_t, v_B, v_R]`` at the current phi.
        S, S_R: ``[..., Nt, N]`` from :func:`sensing_jacobians`.
        W: ``[..., Nt, K]`` precoder.
        alpha: target coefficient ``alpha_t``.

    Returns:
        ``(F, dF, dF_conj)``: ``F [..., 6]`` equal to :func:`.sensing.fim_terms`, and
        ``dF = dF/dphi``, ``dF_conj = dF/dphi^*``, each ``[..., 6, N]``.
    """
    xp = namespace(V, W)
    F = fim_terms(V, W, alpha)
    Vc = V.conj()
    G0 = Vc.mT @ V  # g_xy = x^H y
    U = W.mT @ V
    G1 = U.mT.conj() @ U  # r_xy = x^H conj(R) y
    RVc = W @ U.conj()  # R conj(V), [..., Nt, 3]
    St, SRt = S.mT, S_R.mT
    # dg[x][y] = J_y^T conj(v_x); dr[x][y] = J_y^T R conj(v_x), each [..., N]; zero for y = B.
    P0, PR = St @ Vc, SRt @ Vc  # [..., N, 3]
    Q0, QR = St @ RVc, SRt @ RVc
    zero = xp.zeros_like(P0[..., 0])

    def dg(x: int, y: int) -> NDArray[np.complex128]:
        return P0[..., x] if y == _O else (PR[..., x] if y == _R else zero)

    def dr(x: int, y: int) -> NDArray[np.complex128]:
        return Q0[..., x] if y == _O else (QR[..., x] if y == _R else zero)

    dF, dFc = [], []
    for terms in _TERMS:
        d = zero
        dc = zero
        for x, y, u, v in terms:
            g, r = G0[..., x, y, None], G1[..., u, v, None]
            d = d + dg(x, y) * r + g * dr(u, v)
            dc = dc + dg(y, x).conj() * r + g * dr(v, u).conj()
        dF.append(d)
        dFc.append(dc)
    dF_arr, dFc_arr = xp.stack(dF, axis=-2), xp.stack(dFc, axis=-2)
    if _is_one(alpha):
        return F, dF_arr, dFc_arr
    cols = _alpha_columns(xp, alpha, dF_arr)[..., :, None]  # alpha^* on F3 and F5
    return F, dF_arr * cols, dFc_arr * cols


def real_part_gradient(
    gamma: NDArray[np.complex128], dF: NDArray[np.complex128], dF_conj: NDArray[np.complex128]
) -> NDArray[np.complex128]:
    """``grad_{x^*} sum_i Re{gamma_i F_i(x)} = (1/2) sum_i [gamma_i dF_i/dx^* + conj(gamma_i) conj(dF_i/dx)]``.

    Args:
        gamma: ``[..., I]`` complex sensitivities (held constant).
        dF, dF_conj: ``[..., I, N]`` Wirtinger derivatives of the ``F_i``.

    Returns:
        ``[..., N]``. Example: ``Psi = sum_i |F_i + d_i|^2`` has ``gamma_i = 2 conj(F_i + d_i)``.
    """
    g = gamma[..., :, None]
    return 0.5 * (g * dF_conj + g.conj() * dF.conj()).sum(axis=-2)


def trace_inv_schur(
    G: NDArray[np.complex128], alpha: ArrayLike = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
    """``h(G) = tr(A_s(G)^{-1})`` with ``A_s`` the Schur complement of spec 4.1, and its sensitivities.

    ``dh = sum_i Re{gamma_i dG_i}`` with ``E = A_s^{-2}``, ``a2 = |alpha|^2``:
    ``gamma_1 = -a2 E11``, ``gamma_2 = -2 a2 E12``, ``gamma_4 = -a2 E22``,
    ``gamma_3 = (2/G6)(E11 conj G3 + E12 conj G5)``, ``gamma_5 = (2/G6)(E22 conj G5 + E12 conj G3)``,
    ``gamma_6 = -tr(E Q)/G6^2`` with ``Q = [[|G3|^2, Re G3 G5^*], [., |G5|^2]]`` (spec 4.4).
    With ``G = (2 L / sigma_r^2) F / L`` (full FIM units) ``h`` is ``tr CRB_theta``.

    Args:
        G: ``[..., 6]`` FIM terms in any consistent unit.
        alpha: target coefficient.

    Returns:
        ``(h [...], gamma [..., 6])``; ``h = inf`` (and ``gamma = 0``) where ``A_s`` is not
        positive definite.
    """
    xp = namespace(G)
    A = schur_fim(G, alpha)
    a2 = xp.abs(as_complex(alpha, xp, G)) ** 2
    a11, a12, a22 = A[..., 0, 0], A[..., 0, 1], A[..., 1, 1]
    det = a11 * a22 - a12**2
    ok = (det > 0) & (a11 > 0) & xp.isfinite(det)
    safe = xp.where(ok, det, 1.0)
    i11, i12, i22 = a22 / safe, -a12 / safe, a11 / safe
    h = xp.where(ok, i11 + i22, xp.inf)
    e11 = i11 * i11 + i12 * i12
    e12 = i11 * i12 + i12 * i22
    e22 = i12 * i12 + i22 * i22
    G3, G5, G6 = G[..., 2], G[..., 4], G[..., 5].real
    q11, q22, q12 = xp.abs(G3) ** 2, xp.abs(G5) ** 2, (G3 * G5.conj()).real
    zero = xp.zeros_like(G3)  # complex zero of G's dtype: the real sensitivities as complex
    gamma = xp.stack(
        [
            -a2 * e11 + zero,
            -2.0 * a2 * e12 + zero,
            (2.0 / G6) * (e11 * G3.conj() + e12 * G5.conj()),
            -a2 * e22 + zero,
            (2.0 / G6) * (e22 * G5.conj() + e12 * G3.conj()),
            -(e11 * q11 + 2.0 * e12 * q12 + e22 * q22) / G6**2 + zero,
        ],
        axis=-1,
    )
    return h, xp.where(ok[..., None], gamma, zero[..., None])


def crb_trace_gradients(
    scenario: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
) -> tuple[NDArray[np.float64], NDArray[np.complex128], NDArray[np.complex128]]:
    """``tr CRB_theta`` (rad^2) and its Wirtinger gradients w.r.t. ``W^*`` and ``phi^*`` (spec 4.4).

    ``grad_{W^*} = (1/2) sum_i (gamma_i A_i + conj(gamma_i) A_i^H) W`` (``dF_i/dW^* = A_i W``,
    ``conj(dF_i/dW) = A_i^H W``); ``grad_{phi^*}`` by :func:`fim_terms_phi_gradients`.

    Returns:
        ``(tr_crb [...], grad_W [..., Nt, K], grad_phi [..., N])``.
    """
    s = scenario
    V = sensing_vectors_of(s, phi)
    S, S_R = sensing_jacobians(s.H_BR, s.h_rt, s.dh_rt)
    F, dF, dFc = fim_terms_phi_gradients(V, S, S_R, W, s.alpha_t)
    xp = namespace(F)
    scale = 2.0 * as_real(s.L, xp, F) / as_real(s.sigma_r2, xp, F)  # G = c_r L (F / L): full FIM units
    h, gamma = trace_inv_schur(F * scale[..., None], s.alpha_t)
    gamma = gamma * scale[..., None]  # sensitivities w.r.t. F / L
    grad_phi = real_part_gradient(gamma, dF, dFc)
    A = fim_matrices(V, s.alpha_t)  # [..., 6, Nt, Nt], F_i / L = tr(A_i R_x)
    g = gamma[..., :, None, None]
    M = 0.5 * (g * A + g.conj() * A.mT.conj()).sum(axis=-3)
    return h, M @ W, grad_phi


def rar_noise_power(
    G: NDArray[np.complex128], sigma_q2: NDArray[np.float64], b: NDArray[np.complex128], rsr_model: str
) -> NDArray[np.float64]:
    """Denominator noise of SINR (23): ``M sigma_q,k^2`` plus, for ``rsr_model="distortion"``,
    the readout distortion ``Delta_k`` (spec 3.1) at the link gains ``G [..., K, M, K]``; ``[..., K]``."""
    xp = namespace(G)
    sigma_q2 = as_real(sigma_q2, xp, G)
    M = G.shape[-2]
    noise = M * sigma_q2
    if rsr_model == "distortion":
        cell_power = (G.real**2 + G.imag**2).sum(axis=-1) + sigma_q2[..., None]
        noise = noise + distortion_power(cell_power, b)
    return noise


def sum_rate_gradients_from_channels(
    H_eff: NDArray[np.complex128],
    H_RU: NDArray[np.complex128],
    H_BR: NDArray[np.complex128],
    W: NDArray[np.complex128],
    noise: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.complex128], NDArray[np.complex128]]:
    """``U_com`` (24) in **nats** and its gradients w.r.t. ``W^*`` and ``phi^*`` (spec 7.3).

    With ``E_ki = ||H_k w_i||^2``, ``T_k = sum_i E_ki + noise_k``, ``S_k = E_kk``:
    ``U = sum_k ln T_k - ln(T_k - S_k)``, ``grad_{w_j^*} U = sum_k coef_kj H_k^H H_k w_j`` and
    ``grad_{phi^*} U = sum_{k,i} coef_ki conj(q_i) * (H_RU,k^H H_k w_i)``, ``q_i = H_BR w_i``,
    ``coef_ki = 1/T_k - [i != k]/(T_k - S_k)``. ``noise`` is held fixed (for the distortion
    model this is the gradient with ``Delta_k`` frozen, as in the FP of spec 3.1).

    Args:
        H_eff: ``[..., K, M, Nt]``; H_RU: ``[..., K, M, N]``; H_BR: ``[..., N, Nt]``;
        W: ``[..., Nt, K]``; noise: ``[..., K]``.

    Returns:
        ``(U_nats [...], grad_W [..., Nt, K], grad_phi [..., N])``.
    """
    xp = namespace(H_eff, W)
    G = link_gains(H_eff, W)  # [..., K, M, K]
    E = (G.real**2 + G.imag**2).sum(axis=-2)
    S = E.diagonal(0, -2, -1)
    T = E.sum(axis=-1) + noise
    K = E.shape[-1]
    off = as_real(1.0 - np.eye(K), xp, T)  # [i != k]
    coef = 1.0 / T[..., :, None] - off / (T - S)[..., :, None]  # [..., k, i]
    U = xp.sum(xp.log(T) - xp.log(T - S), axis=-1)
    Gc = G * coef[..., :, None, :]  # [..., K, M, K]
    HeH = H_eff.mT.conj()  # [..., K, Nt, M]
    grad_W = (HeH @ Gc).sum(axis=-3)  # [..., Nt, K]
    q = H_BR @ W  # [..., N, K]
    Z = H_RU.mT.conj() @ Gc  # [..., K, N, K]
    grad_phi = (q.conj()[..., None, :, :] * Z).sum(axis=(-3, -1))
    return U, grad_W, grad_phi


def sum_rate_gradients(
    scenario: RydbergScenario, W: NDArray[np.complex128], phi: NDArray[np.complex128]
) -> tuple[NDArray[np.float64], NDArray[np.complex128], NDArray[np.complex128]]:
    """Scenario form of :func:`sum_rate_gradients_from_channels` (nats; noise per SINR (23))."""
    s = scenario
    H = effective_channels(s, phi)
    noise = rar_noise_power(link_gains(H, W), s.sigma_q2, s.b, s.rsr_model)
    return sum_rate_gradients_from_channels(H, s.H_RU, s.H_BR, W, noise)
