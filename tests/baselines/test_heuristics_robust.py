"""Robust-task heuristics (issue 11): closed-form directions, nominal power control, and the
minimum power certified by the safe approximation."""

from __future__ import annotations

import numpy as np
import pytest

from isac_env.config import RobustISACConfig
from isac_env.physics import robust as rb
from isac_gym import baselines
from isac_gym.baselines.robust_heuristics import mrt_directions, power_shares, zf_directions

NAMES = ("robust_gain_mrt", "robust_gain_zf")


def _draws(n: int, seed: int = 3, **cfg: object) -> list[rb.RobustScenario]:
    c = RobustISACConfig(**cfg)
    return [rb.sample_scenario(c, np.random.default_rng(q)) for q in np.random.SeedSequence(seed).spawn(n)]


def _rand_c(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def test_mrt_and_zf_directions() -> None:
    rng = np.random.default_rng(0)
    h = _rand_c(rng, 3, 8)  # [K, Nt], the receiver sees h_k^H w
    D = mrt_directions(h)
    assert np.allclose(np.linalg.norm(D, axis=0), 1.0)
    for k in range(3):
        assert np.isclose(abs(np.vdot(h[k], D[:, k])), np.linalg.norm(h[k]))  # |h^H d| = ||h||
    Z = zf_directions(h)
    assert np.allclose(np.linalg.norm(Z, axis=0), 1.0)
    X = np.abs(np.conj(h) @ Z)  # |h_j^H d_k|
    assert np.max(X[~np.eye(3, dtype=bool)]) <= 1e-12 * np.max(np.diag(X))


def test_power_shares_meet_the_nominal_sinr_targets() -> None:
    rng = np.random.default_rng(1)
    h = _rand_c(rng, 2, 6)
    gamma, sigma2 = np.array([3.0, 1.0]), np.ones(2)
    for D in (mrt_directions(h), zf_directions(h)):
        s = power_shares(h, D, gamma, sigma2)
        assert np.isclose(np.sum(s), 1.0) and np.all(s > 0)
        # scaled to the exact solution, the nominal SINRs equal the targets
        A = np.abs(np.conj(h) @ D) ** 2
        c = gamma[0] * sigma2[0] / (s[0] * A[0, 0] - gamma[0] * s[1] * A[0, 1])
        W = D * np.sqrt(c * s)[None, :]
        assert np.allclose(rb.sinr_miso(h, W, sigma2), gamma)
    # unreachable targets (strong interference, huge gamma): equal shares
    h_bad = np.array([[1.0, 0.0], [1.0, 1e-3]], dtype=np.complex128)
    assert np.allclose(power_shares(h_bad, mrt_directions(h_bad), np.array([1e3, 1e3]), np.ones(2)), 0.5)


@pytest.mark.parametrize("name", NAMES)
def test_robust_heuristics_certify_what_they_claim_with_minimum_power(name: str) -> None:
    solver = baselines.get_solver(name, mc_draws=200)
    n_solved = 0
    for s in _draws(5):
        r = solver.solve(s, rng=np.random.default_rng(0))
        if not r.solved:
            assert r.stop_reason.startswith("failed: not certifiable") and not r.feasible
            continue
        n_solved += 1
        v = rb.v_from_phi(r.phi)
        P = float(rb.transmit_power_w(r.W))
        assert np.isclose(r.objective, P) and np.isclose(r.metrics["power_w"], P)
        assert bool(rb.certify(s, r.W, v).certified) and r.feasible == (P <= float(s.p_max_w))
        assert r.feasible and r.metrics["certified"]
        levels = np.exp(1j * np.pi / 2 * np.arange(4))  # bits = 2 grid
        assert np.allclose(np.min(np.abs(r.phi[:, None] - levels[None, :]), axis=1), 0.0, atol=1e-12)
        # minimal up to the bisection resolution: 0.02 dB less power is not certified
        if P > float(s.p_min_w) * 1.01:
            assert not bool(rb.certify(s, r.W * np.sqrt(10 ** (-0.002)), v).certified)
    assert n_solved >= 2


def test_zf_certifies_at_least_as_often_as_mrt() -> None:
    draws = _draws(6, seed=8)
    p = {
        n: [baselines.get_solver(n, mc_draws=50).solve(s, rng=np.random.default_rng(0)) for s in draws]
        for n in NAMES
    }
    zf = [r.objective for r in p["robust_gain_zf"] if r.solved]
    assert len(zf) >= len([r for r in p["robust_gain_mrt"] if r.solved])  # ZF certifies at least as often
    assert len(zf) >= 4


@pytest.mark.parametrize("name", NAMES)
def test_robust_heuristics_fail_cleanly_on_an_infeasible_instance(name: str) -> None:
    s = _draws(1, rate_threshold=20.0)[0]
    r = baselines.get_solver(name, mc_draws=50).solve(s, rng=np.random.default_rng(0))
    assert not r.solved and not r.feasible and r.W is None and r.phi is None
    assert r.stop_reason.startswith("failed: not certifiable within p_max") and np.isnan(r.objective)


def test_robust_heuristic_options_and_attributes() -> None:
    for name in NAMES:
        cls = type(baselines.get_solver(name))
        assert cls.task == "robust" and cls.heuristic
        with pytest.raises(ValueError):
            baselines.get_solver(name, v_rules=("gain", "bogus"))
        with pytest.raises(ValueError):
            baselines.get_solver(name, bits=9)
    s = _draws(1)[0]
    r = baselines.get_solver("robust_gain_zf", bits=0, v_rules=("ones",), mc_draws=50).solve(
        s, rng=np.random.default_rng(0)
    )
    if r.solved:
        assert np.allclose(r.phi, 1.0) and r.extra["v_rule"] == "ones"
