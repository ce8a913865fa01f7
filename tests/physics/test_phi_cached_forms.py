"""The phi-only precomputations used by the solvers equal the direct physics functions."""

from __future__ import annotations

import numpy as np
import pytest

from isac_env import physics as P
from isac_env.config import RydbergISACConfig
from isac_env.physics import comms, rar, sensing

from ..conftest import random_design


def _design(s, rng):
    d = s.dims
    return random_design(rng, d["Nt"], d["K"], d["N"], float(s.P_max))


@pytest.fixture(params=["small", "table1"])
def scenario(request, small_rar_config, rng):
    cfg = small_rar_config if request.param == "small" else RydbergISACConfig()
    return P.sample_scenario(cfg, rng)


def test_fim_terms_from_gram_equals_fim_terms(scenario, rng):
    W, phi = _design(scenario, rng)
    V = rar.sensing_vectors_of(scenario, phi)
    G0 = sensing.sensing_gram(V)
    np.testing.assert_allclose(G0, np.conj(V).T @ V, rtol=1e-13, atol=0)
    F = sensing.fim_terms(V, W, scenario.alpha_t)
    np.testing.assert_array_equal(sensing.fim_terms_from_gram(G0, V, W, scenario.alpha_t), F)
    # several precoders at one phi: broadcast over a leading axis
    Ws = np.stack([W, 0.5j * W, W[:, ::-1]])
    Fs = sensing.fim_terms_from_gram(G0, V, Ws, scenario.alpha_t)
    for j in range(3):
        np.testing.assert_allclose(Fs[j], sensing.fim_terms(V, Ws[j], scenario.alpha_t), rtol=1e-12)


def test_fim_terms_from_map_equals_fim_terms(scenario, rng):
    W, phi = _design(scenario, rng)
    V = rar.sensing_vectors_of(scenario, phi)
    Mphi = sensing.fim_terms_map(sensing.sensing_gram(V), scenario.alpha_t)
    assert Mphi.shape == (9, 6)
    F = sensing.fim_terms(V, W, scenario.alpha_t)
    np.testing.assert_allclose(
        sensing.fim_terms_from_map(Mphi, V, W), F, rtol=1e-13, atol=1e-15 * np.abs(F).max()
    )
    Ws = np.stack([W, 0.5j * W, W[:, ::-1]])
    Fs = sensing.fim_terms_from_map(Mphi, V, Ws)
    for j in range(3):
        F = sensing.fim_terms(V, Ws[j], scenario.alpha_t)
        np.testing.assert_allclose(Fs[j], F, rtol=1e-13, atol=1e-15 * np.abs(F).max())
    # complex alpha and batched G0
    a = 0.7 - 0.4j
    Mb = sensing.fim_terms_map(np.stack([sensing.sensing_gram(V)] * 2), np.array([a, a]))
    np.testing.assert_allclose(Mb[1], sensing.fim_terms_map(sensing.sensing_gram(V), a), rtol=1e-15)
    F = sensing.fim_terms(V, W, a)
    np.testing.assert_allclose(
        sensing.fim_terms_from_map(Mb[0], V, W), F, rtol=1e-13, atol=1e-15 * np.abs(F).max()
    )


def test_fim_terms_from_gram_matches_fim_matrices(scenario, rng):
    W, phi = _design(scenario, rng)
    V = rar.sensing_vectors_of(scenario, phi)
    A = sensing.fim_matrices(V, scenario.alpha_t)
    F_ref = np.einsum("ist,ts->i", A, W @ W.conj().T)  # tr(A_i R_x)
    F = sensing.fim_terms_from_gram(sensing.sensing_gram(V), V, W, scenario.alpha_t)
    np.testing.assert_allclose(F, F_ref, rtol=1e-10, atol=1e-12 * np.abs(F_ref).max())


def test_covariance_energies_and_sinr_equal_link_gain_forms(scenario, rng):
    W, phi = _design(scenario, rng)
    H = P.effective_channels(scenario, phi)
    Q = comms.channel_covariances(H)
    K = H.shape[-3]
    assert Q.shape == (K, W.shape[0], W.shape[0])
    np.testing.assert_allclose(Q, np.conj(np.swapaxes(Q, -1, -2)), rtol=0, atol=1e-12 * np.abs(Q).max())
    G = comms.link_gains(H, W)
    E_ref = np.sum(np.abs(G) ** 2, axis=-2)
    np.testing.assert_allclose(comms.link_energies_from_covariances(Q, W), E_ref, rtol=1e-12)
    noise = G.shape[-2] * np.asarray(scenario.sigma_q2)
    np.testing.assert_allclose(
        comms.sinr_from_covariances(Q, W, noise), comms.sinr_from_gains(G, noise), rtol=1e-12
    )
    np.testing.assert_allclose(comms.sinr_from_covariances(Q, W, noise), P.sinr(scenario, W, phi), rtol=1e-12)
    np.testing.assert_allclose(
        comms.sinr_from_energies(E_ref, noise), comms.sinr_from_gains(G, noise), rtol=1e-14
    )
    # broadcast over candidate precoders
    Ws = np.stack([W, 2.0 * W, W[:, ::-1]])
    S = comms.sinr_from_covariances(Q, Ws, noise)
    for j in range(3):
        np.testing.assert_allclose(S[j], comms.sinr_from_gains(comms.link_gains(H, Ws[j]), noise), rtol=1e-12)
