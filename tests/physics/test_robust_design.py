"""Design-side pure math of the robust task (isac_env.physics.robust_design) and polygon closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from isac_env.config import RobustISACConfig
from isac_env.physics import robust as rb
from isac_env.physics import robust_design as rd
from isac_env.physics.ris import project_polygon


@pytest.fixture
def case():
    rng = np.random.default_rng(5)
    s = rb.sample_scenario(RobustISACConfig(num_ris=6, num_bs_antennas=4), rng)
    W = 1e-2 * (rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2)))
    v = np.exp(2j * np.pi * rng.random(6))
    return s, W, v, rng


def test_homogenized_quadratics_reproduce_the_restriction_terms(case):
    s, W, v, _ = case
    Phi = rd.outage_phi(W, s.gamma)
    t = rb.rate_restriction_terms(s, W, v)
    R, S = rd.homogenized_quadratics(s.h_d_hat, s.G_hat, Phi, t["sigma_e2"])
    vb = np.append(v, 1.0)
    quad = np.real(np.einsum("i,kij,j->k", np.conj(vb), R, vb))
    norm2 = np.real(np.einsum("i,kij,j->k", np.conj(vb), S, vb))
    np.testing.assert_allclose(quad - s.sigma2, t["c"], rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(norm2), t["norm_u"], rtol=1e-10)
    np.testing.assert_allclose(R, np.conj(np.swapaxes(R, -1, -2)))


def test_sensing_matrices_and_crb_coefficient_match_the_physics(case):
    s, W, _, _ = case
    M = rd.sensing_gain_matrices(s.a, s.da)
    xi = np.real(np.einsum("tij,ji->t", M, W @ np.conj(W.T)))
    np.testing.assert_allclose(xi, rb.sensing_gains(s, W), rtol=1e-12)
    kappa = rd.crb_restriction_coefficient(s.alpha_hat, s.sigma_alpha2, s.rho_s)
    np.testing.assert_allclose(kappa * xi - s.tau, rb.crb_margin(s, W), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bti", [False, True])
def test_gemm_gradient_matches_finite_differences(case, bti):
    s, W, v, rng = case
    Phi = rd.outage_phi(W, s.gamma)
    se2 = rb.effective_error_variance(s, v)
    a = np.sqrt(2.0) * 1.9 * np.sqrt(se2)
    b, c = (rng.random(2), 2.0 * se2) if bti else (0.0, 1.0)
    f = lambda x: rd.gemm_objective(x, s.h_d_hat, s.G_hat, Phi, a, b, c)  # noqa: E731
    g = rd.gemm_gradient(v, s.h_d_hat, s.G_hat, Phi, a, b, c)
    for _ in range(3):
        d = 1e-6 * (rng.standard_normal(6) + 1j * rng.standard_normal(6))
        fd = (f(v + d) - f(v - d)) / 2.0
        np.testing.assert_allclose(fd, np.real(np.vdot(g, d)), rtol=1e-5)
    # f is the sum of the L-a margins up to v-independent constants
    t = rb.rate_restriction_terms(s, W, v)
    if not bti:
        np.testing.assert_allclose(
            f(v), np.sum(t["c"] + s.sigma2 - a * t["norm_u"] / np.sqrt(se2)), rtol=1e-10
        )


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_polygon_projection_closed_forms(bits):
    m = 2**bits
    verts = np.exp(2j * np.pi * np.arange(m) / m)
    # vertices and interior points are fixed points
    np.testing.assert_allclose(project_polygon(verts, bits), verts, atol=1e-14)
    inner = 0.5 * np.cos(np.pi / m) * np.exp(2j * np.pi * np.linspace(0, 1, 17))
    np.testing.assert_allclose(project_polygon(inner, bits), inner, atol=1e-14)
    # a point on the outward normal of an edge maps to the edge midpoint cos(pi/M) e^{j(2m+1)pi/M}
    mid_dir = np.exp(1j * (2 * np.arange(m) + 1) * np.pi / m)
    np.testing.assert_allclose(project_polygon(3.0 * mid_dir, bits), np.cos(np.pi / m) * mid_dir, atol=1e-14)
    # a point along a vertex direction (inside its normal cone) maps to the vertex
    np.testing.assert_allclose(project_polygon(7.0 * verts, bits), verts, atol=1e-14)


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_polygon_projection_variational_inequality(bits):
    # p = Pi(x) iff Re{(x - p)^* (q - p)} <= 0 for every vertex q of the hull
    rng = np.random.default_rng(bits)
    x = 3.0 * (rng.standard_normal(500) + 1j * rng.standard_normal(500))
    p = project_polygon(x, bits)
    verts = np.exp(2j * np.pi * np.arange(2**bits) / 2**bits)
    vi = np.real(np.conj(x - p)[:, None] * (verts[None, :] - p[:, None]))
    assert np.max(vi) <= 1e-12
    if bits == 1:  # the segment [-1, 1]: clip of the real part
        np.testing.assert_allclose(p, np.clip(x.real, -1, 1))
