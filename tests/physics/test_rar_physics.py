"""Properties of the Rydberg-task physics (rar_isac spec sections 2-4, 8)."""

from __future__ import annotations

import numpy as np
import pytest

from isac_env import physics as P
from isac_env.config import RydbergISACConfig
from isac_env.physics import arrays, comms, rar, rydberg, sensing

from ..conftest import random_design


@pytest.fixture
def scenario(small_rar_config, rng):
    return P.sample_scenario(small_rar_config, rng)


def test_geometry_matches_spec():
    geo = rar.rar_geometry(RydbergISACConfig())
    assert np.rad2deg(geo["theta_B"]) == pytest.approx(41.566, abs=1e-3)
    assert geo["d_BT"] == pytest.approx(50.090, abs=1e-3)


def test_default_scenario_shapes_and_calibration(rng):
    cfg = RydbergISACConfig()
    sc = P.sample_scenario(cfg, rng)
    K, M, N, Nt = 3, 35, 100, 6
    assert sc.H_BR.shape == (N, Nt) and sc.H_RU.shape == (K, M, N) and sc.H_BU.shape == (K, M, Nt)
    assert sc.b.shape == (K, M) and sc.sigma_q2.shape == (K,)
    assert sc.P_max == pytest.approx(1.0) and sc.sigma_r2 == pytest.approx(1e-12)
    assert not sc.H_BR.flags.writeable
    e_sig = rydberg.reference_signal_energy(sc.H_BU, sc.H_RU, sc.H_BR, sc.P_max)
    np.testing.assert_allclose(sc.sigma_q2, e_sig.sum() / (K * M * 10**2.5))  # eq. (104), SNR 25 dB
    rsr = np.sum(np.abs(sc.b) ** 2) / (e_sig.sum() + M * sc.sigma_q2.sum())
    assert 10 * np.log10(rsr) == pytest.approx(10.0)  # eq. (105), RSR 10 dB


def test_reference_energy_is_random_phase_average(scenario, rng):
    """E_sig,k equals the mean received energy under R_x = (P/Nt) I and uniform random phases."""
    s = scenario
    phis = np.exp(2j * np.pi * rng.random((20000, s.dims["N"])))
    H = rar.effective_channels(s, phis)
    mc = s.P_max / s.dims["Nt"] * np.mean(np.sum(np.abs(H) ** 2, axis=(-2, -1)), axis=0)
    exact = rydberg.reference_signal_energy(s.H_BU, s.H_RU, s.H_BR, s.P_max)
    np.testing.assert_allclose(mc, exact, rtol=0.03)


def test_sinr_hand_built_single_user():
    rng = np.random.default_rng(0)
    M, Nt = 5, 3
    H = rng.standard_normal((1, M, Nt)) + 1j * rng.standard_normal((1, M, Nt))
    w = rng.standard_normal((Nt, 1)) + 1j * rng.standard_normal((Nt, 1))
    s2 = np.array([0.3])
    expected = np.linalg.norm(H[0] @ w) ** 2 / (M * s2[0])
    assert comms.sinr_rar(H, w, s2)[0] == pytest.approx(expected)


def test_sinr_two_users_by_loops():
    rng = np.random.default_rng(1)
    K, M, Nt = 2, 3, 4
    H = rng.standard_normal((K, M, Nt)) + 1j * rng.standard_normal((K, M, Nt))
    W = rng.standard_normal((Nt, K)) + 1j * rng.standard_normal((Nt, K))
    s2 = np.array([0.1, 0.7])
    got = comms.sinr_rar(H, W, s2)
    for k in range(K):
        sig = np.linalg.norm(H[k] @ W[:, k]) ** 2
        intf = sum(np.linalg.norm(H[k] @ W[:, i]) ** 2 for i in range(K) if i != k)
        assert got[k] == pytest.approx(sig / (intf + M * s2[k]))


@pytest.mark.parametrize("batch", [(), (5,)])
@pytest.mark.parametrize("rsr_model", ["linear", "distortion"])
def test_factored_link_gains_equal_effective_channel_path(rng, batch, rsr_model):
    """``H_BU W + H_RU (phi * (H_BR W))`` equals ``H_eff(phi) W`` (eq. (3) into (23)) to 1e-12,
    at the Table-I size, unbatched and batched (also broadcasting one scenario over B designs)."""
    cfg = RydbergISACConfig(rsr_model=rsr_model)
    scs = [P.sample_scenario(cfg, rng) for _ in range(max(1, int(np.prod(batch))))]
    s = P.stack_scenarios(scs) if batch else scs[0]
    d = s.dims
    W, phi = random_design(rng, d["Nt"], d["K"], d["N"], 1.0, batch=batch)
    H = rar.effective_channels(s, phi)
    G_ref = comms.link_gains(H, W)
    G = comms.link_gains_factored(s.H_BU, s.H_RU, s.H_BR, phi, W)
    assert G.shape == G_ref.shape == (*batch, d["K"], d["M"], d["K"]) and G.dtype == np.complex128
    np.testing.assert_allclose(G, G_ref, rtol=1e-12, atol=1e-12 * np.abs(G_ref).max())
    ref = comms.sinr_rar(H, W, s.sigma_q2, s.b, rsr_model)
    np.testing.assert_allclose(P.sinr(s, W, phi), ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(
        P.evaluate(s, W, phi)["sum_rate"], np.sum(np.log2(1 + ref), axis=-1), rtol=1e-12, atol=0
    )
    # one scenario, a batch of designs (broadcast)
    Wb, phib = random_design(rng, d["Nt"], d["K"], d["N"], 1.0, batch=(3,))
    np.testing.assert_allclose(
        P.sinr(scs[0], Wb, phib),
        comms.sinr_rar(rar.effective_channels(scs[0], phib), Wb, scs[0].sigma_q2, scs[0].b, rsr_model),
        rtol=1e-12,
        atol=0,
    )


def test_lo_drops_out_of_linear_sinr(scenario, rng):
    """D_b is unitary: re-drawing the LO phases and strength leaves (23) unchanged (spec 3, fact 1)."""
    W, phi = random_design(rng, 4, 2, 8, 1.0)
    b2 = 3.0 * np.abs(scenario.b) * np.exp(2j * np.pi * rng.random(scenario.b.shape))
    np.testing.assert_allclose(P.sinr(scenario.replace(b=b2), W, phi), P.sinr(scenario, W, phi))


def test_distortion_model_lowers_sinr_and_vanishes_for_strong_lo(scenario, rng):
    W, phi = random_design(rng, 4, 2, 8, 1.0)
    lin = P.sinr(scenario, W, phi)
    dist = P.sinr(scenario.replace(rsr_model="distortion"), W, phi)
    assert np.all(dist < lin)
    strong = scenario.replace(rsr_model="distortion", b=scenario.b * 1e4)
    np.testing.assert_allclose(P.sinr(strong, W, phi), lin, rtol=1e-6)


def test_rar_linearization_monte_carlo():
    """Residual of the first-order model has variance P_u/2 * 1/(4 RSR) (spec 3.1, 12)."""
    rng = np.random.default_rng(7)
    n, p_u, rsr = 400_000, 1.0, 10.0
    b = np.sqrt(rsr * p_u) * np.exp(1j * 0.4)
    u = np.sqrt(p_u / 2) * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    z = rydberg.rar_readout(np.ones((1, 1, 1)), np.ones(1), np.full((1, 1), b), u[:, None, None].T[0]).ravel()
    z = z - abs(b)
    lin = (np.exp(-1j * np.angle(b)) * u).real
    resid = z - lin
    ratio = np.var(resid) / (p_u / 2)
    assert ratio == pytest.approx(1 / (4 * rsr), rel=0.08)


def test_phase_invariances(scenario, rng):
    """Per-stream phase rotations of W leave the SINR and CRB unchanged; |phi| = 1 preserved."""
    W, phi = random_design(rng, 4, 2, 8, 1.0)
    rot = W * np.exp(1j * rng.random(2))[None, :]
    np.testing.assert_allclose(P.sinr(scenario, rot, phi), P.sinr(scenario, W, phi), rtol=1e-12)
    np.testing.assert_allclose(P.crb(scenario, rot, phi), P.crb(scenario, W, phi), rtol=1e-10)


def test_gram_terms_equal_matrix_traces(scenario, rng):
    W, phi = random_design(rng, 4, 2, 8, 1.0)
    V = rar.sensing_vectors_of(scenario, phi)
    F = sensing.fim_terms(V, W, 0.7 - 0.2j)
    A = sensing.fim_matrices(V, 0.7 - 0.2j)
    direct = np.einsum("ikl,lk->i", A, W @ W.conj().T)
    np.testing.assert_allclose(F, direct, rtol=1e-12, atol=1e-12 * np.abs(direct).max())
    np.testing.assert_allclose(
        sensing.fim_terms_from_covariance(V, W @ W.conj().T, 0.7 - 0.2j), F, rtol=1e-12
    )


def _fd_fim(s, W, phi, alpha, h=1e-6):
    """FIM of mu(xi) = alpha v(theta) v(theta)^T X by central finite differences, xi=[thB, thR, Re a, Im a]."""
    Nt, N = s.dims["Nt"], s.dims["N"]
    X = np.sqrt(s.L) * W  # X X^H = L W W^H: the FIM depends on X only through it

    def mu(xi):
        v = s.beta_d * arrays.steering_vector(xi[0], Nt, normalize=True) + s.H_BR.T @ (
            phi * s.beta_r * arrays.steering_vector(xi[1], N)
        )
        return ((xi[2] + 1j * xi[3]) * np.outer(v, v) @ X).ravel()

    xi0 = np.array([float(s.theta_B), float(s.theta_R), alpha.real, alpha.imag])
    D = np.stack([(mu(xi0 + h * e) - mu(xi0 - h * e)) / (2 * h) for e in np.eye(4)], axis=1)
    return 2.0 / s.sigma_r2 * (D.conj().T @ D).real


@pytest.mark.parametrize("alpha", [1.0, 0.6 + 0.3j])
def test_crb_equals_inverse_of_finite_difference_fim(scenario, rng, alpha):
    W, phi = random_design(rng, 4, 2, 8, 1.0)
    s = scenario.replace(alpha_t=alpha)
    J = _fd_fim(s, W, phi, complex(alpha))
    crb_fd = np.linalg.inv(J)[:2, :2]
    np.testing.assert_allclose(P.crb(s, W, phi), crb_fd, rtol=1e-6)
    assert P.crb_trace(s, W, phi) == pytest.approx(np.trace(crb_fd), rel=1e-6)


def test_crb_scales_inversely_with_power(scenario, rng):
    W, phi = random_design(rng, 4, 2, 8, 1.0)
    c = P.crb_trace(scenario, W, phi)
    assert P.crb_trace(scenario, 2.0 * W, phi) == pytest.approx(c / 4.0, rel=1e-10)
    assert P.transmit_power_w(2.0 * W) == pytest.approx(4.0)


def test_singular_fim_gives_inf(scenario):
    W = np.zeros((4, 2), complex)
    assert np.isinf(P.crb_trace(scenario, W, np.ones(8, complex)))


def test_batch_equals_loop(small_rar_config):
    rng = np.random.default_rng(3)
    scs = [P.sample_scenario(small_rar_config, rng) for _ in range(3)]
    W, phi = random_design(rng, 4, 2, 8, 1.0, batch=(3,))
    batched = P.evaluate(P.stack_scenarios(scs), W, phi)
    for i, s in enumerate(scs):
        single = P.evaluate(s, W[i], phi[i])
        for key in batched:
            np.testing.assert_allclose(batched[key][i], single[key], rtol=1e-12)
    np.testing.assert_allclose(P.stack_scenarios(scs)[1].H_RU, scs[1].H_RU)


def test_sampling_is_reproducible(small_rar_config):
    a = P.sample_scenario(small_rar_config, np.random.default_rng(5))
    b = P.sample_scenario(small_rar_config, np.random.default_rng(5))
    c = P.sample_scenario(small_rar_config, np.random.default_rng(6))
    np.testing.assert_array_equal(a.H_RU, b.H_RU)
    np.testing.assert_array_equal(a.b, b.b)
    assert not np.allclose(a.H_RU, c.H_RU)


@pytest.mark.parametrize("pol", ["mnkl", "mkl", "kl"])
def test_clustered_channel_unit_power(pol):
    rng = np.random.default_rng(11)
    from isac_env.physics.channels import rar_clustered_channel

    H = np.stack(
        [
            rar_clustered_channel(
                rng,
                6,
                5,
                num_clusters=4,
                num_rays=5,
                ray_spread_rad=0.1,
                carrier_hz=5e9,
                max_delay_spread_s=30e-9,
                polarization=pol,
            )
            for _ in range(400)
        ]
    )
    assert np.mean(np.abs(H) ** 2) == pytest.approx(1.0, rel=0.1)


def test_gauss_markov_ageing_keeps_power(small_rar_config):
    rng = np.random.default_rng(2)
    s = P.sample_scenario(small_rar_config, rng)
    p0 = np.mean(np.abs(s.H_RU) ** 2)
    powers = []
    for _ in range(300):
        s = rar.age_scenario(s, small_rar_config, rng, 0.9)
        powers.append(np.mean(np.abs(s.H_RU) ** 2))
    assert np.mean(powers) == pytest.approx(p0, rel=0.5)
    assert rar.age_scenario(s, small_rar_config, rng, 1.0).H_RU == pytest.approx(s.H_RU)


def test_evaluate_with_phi_terms_equals_the_factored_path():
    """``evaluate(..., terms=phi_terms(s, phi))`` (H_eff W and the cached sensing vectors) gives the
    metrics of the factored link gains up to summation order, batched and for the distortion model."""
    for cfg in (
        RydbergISACConfig(num_ris=16, num_cells=4),
        RydbergISACConfig(num_ris=8, rsr_model="distortion"),
    ):
        s = rar.stack_scenarios([rar.sample_scenario(cfg, np.random.default_rng(i)) for i in range(3)])
        rng = np.random.default_rng(7)
        K, N, Nt = cfg.num_users, cfg.num_ris, cfg.num_bs_antennas
        W = rng.standard_normal((3, Nt, K)) + 1j * rng.standard_normal((3, Nt, K))
        phi = np.exp(1j * rng.uniform(0, 2 * np.pi, (3, N)))
        terms = rar.phi_terms(s, phi)
        np.testing.assert_allclose(terms["H_eff"], rar.effective_channels(s, phi), rtol=0, atol=0)
        a, b = rar.evaluate(s, W, phi), rar.evaluate(s, W, phi, terms)
        for k in a:
            np.testing.assert_allclose(b[k], a[k], rtol=1e-12, atol=0)
