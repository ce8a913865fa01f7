"""Robust RIS-ISAC reference policies (issue 5): transmit SDR (32), Scheme 1, Scheme 2, AO."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("cvxpy")

from isac_env.config import ROBUST_RESTRICTIONS, RobustISACConfig
from isac_env.physics import robust as rb
from isac_env.physics import robust_design as rd
from isac_env.physics.ris import quantize_phases
from isac_gym.baselines import get_solver
from isac_gym.baselines.gemm import gemm
from isac_gym.baselines.robust_ao import (
    RobustAOSolver,
    RobustContinuousSolver,
    RobustRandomSolver,
    RobustScheme1Solver,
    RobustScheme2Solver,
)
from isac_gym.baselines.sdr import TransmitSDP, extract_precoder

SMALL = {"num_ris": 6, "num_bs_antennas": 8}
FAST = {"num_randomizations": 50, "ris_randomizations": 50, "mc_draws": 2000}


@pytest.fixture(autouse=True)
def _quiet_solvers():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        yield


def _scenario(seed: int = 0, **cfg) -> rb.RobustScenario:
    return rb.sample_scenario(RobustISACConfig(**{**SMALL, **cfg}), np.random.default_rng(seed))


def test_registered_names_build_the_robust_solvers():
    expected = {
        "robust_continuous": RobustContinuousSolver,
        "robust_scheme1": RobustScheme1Solver,
        "robust_scheme2": RobustScheme2Solver,
        "robust_random": RobustRandomSolver,
    }
    for name, cls in expected.items():
        solver = get_solver(name, max_iter=3)
        assert isinstance(solver, cls) and solver.name == name


@pytest.mark.parametrize("variant", ROBUST_RESTRICTIONS)
def test_transmit_sdp_is_dpp(variant):
    sdp = TransmitSDP(8, 2, 2, (3.0, 3.0), variant)
    assert sdp.problem.is_dpp()


def test_subspace_reduction_gives_the_full_sdp_optimum():
    s = _scenario(1)
    v = np.ones(SMALL["num_ris"], dtype=np.complex128)
    full = TransmitSDP(8, 2, 2, (3.0, 3.0), "la_full", reduce=False).solve(s, v)
    red = TransmitSDP(8, 2, 2, (3.0, 3.0), "la_full").solve(s, v)
    assert full.ok and red.ok and red.X.shape == full.X.shape
    np.testing.assert_allclose(red.value, full.value, rtol=1e-5)


@pytest.mark.parametrize("variant", ["la_full", "lb"])
def test_extracted_precoder_is_certified_with_power_at_the_relaxation(variant):
    s = _scenario(2)
    v = np.ones(SMALL["num_ris"], dtype=np.complex128)
    sol = TransmitSDP(8, 2, 2, (3.0, 3.0), variant).solve(s, v)
    W, _ = extract_precoder(s, v, sol.X, np.random.default_rng(0), 50, variant)
    assert W is not None and bool(rb.certify(s, W, v, variant).certified)
    # the SDR is a lower bound; the repaired rank-one design is (here) at the bound
    assert rb.transmit_power_w(W) >= sol.value * (1 - 1e-6)
    assert rb.transmit_power_w(W) <= sol.value * (1 + 1e-3)


def test_certified_design_meets_outage_and_crb_targets():
    s = _scenario(3)
    res = RobustScheme2Solver(**FAST).solve(s, rng=np.random.default_rng(0))
    assert res.feasible and res.metrics["certified"]
    assert res.metrics["max_outage"] <= float(s.rho_c)
    assert res.metrics["max_crb_failure"] <= float(s.rho_s)
    # an independent, larger Monte-Carlo check (full Delta h_d, Delta G_k draws)
    v = res.extra["v"]
    out = rb.rate_outage_mc(s, np.asarray(res.W), v, np.random.default_rng(9), 5000)
    assert np.all(out <= float(s.rho_c))
    np.testing.assert_allclose(res.phi, np.conj(v))


def test_crb_infeasible_instance_reports_infeasible():
    # sigma_alpha^2 / |alpha|^2 = 0.5 > 1 / (2 nu_s^2): (29) has no solution (spec 4.4)
    s = _scenario(0, rct_error_ratio=0.5)
    res = RobustScheme2Solver(**FAST).solve(s, rng=np.random.default_rng(0))
    assert res.stop_reason.startswith("failed: transmit SDP (32) infeasible"), res.stop_reason
    assert not res.solved and res.W is None and res.phi is None and not res.feasible
    assert res.iterations == 0 and np.isnan(res.objective) and dict(res.metrics) == {}


def test_rate_infeasible_instance_reports_infeasible():
    # a huge CSI error: the L-a robustness margin exceeds any beamforming gain
    s = _scenario(0, csi_error_delta2=5.0)
    res = RobustRandomSolver(**FAST).solve(s, rng=np.random.default_rng(0))
    assert res.stop_reason.startswith("failed: transmit SDP (32) infeasible"), res.stop_reason
    assert not res.feasible and not res.solved and res.W is None


def test_scheme2_ends_on_the_grid_and_gemm_reaches_vertices():
    s = _scenario(4)
    res = RobustScheme2Solver(bits=2, **FAST).solve(s, rng=np.random.default_rng(0))
    assert res.feasible
    np.testing.assert_allclose(res.phi, quantize_phases(res.phi, 2), atol=1e-12)
    # Algorithm 1 alone: the penalty drives the last iterate onto the vertices
    solver = RobustScheme2Solver()
    v0 = solver.initial_v(s, "gain", np.random.default_rng(0))
    W = np.asarray(res.W)
    p = solver._restriction_pieces(s, W, v0)
    a, b, c = p["gemm"]
    out = gemm(v0, s.h_d_hat, s.G_hat, rd.outage_phi(W, s.gamma), a, 2, b, c)
    assert out.converged and out.min_modulus >= 1 - 1e-6
    np.testing.assert_allclose(out.v, quantize_phases(out.v, 2), atol=1e-12)


@pytest.mark.parametrize("cls", [RobustScheme1Solver, RobustScheme2Solver, RobustContinuousSolver])
def test_ao_power_history_is_non_increasing(cls):
    # accepted RIS updates keep the current W feasible, so the next SDR needs no more power
    # (spec 8); the SDR solutions are rank one, so randomization adds nothing.
    for seed in (1, 5):
        res = cls(**FAST).solve(_scenario(seed), rng=np.random.default_rng(seed))
        p = np.asarray(res.history["power_w"])
        assert res.feasible and len(p) == res.iterations + 1
        assert np.all(np.diff(p) <= 1e-4 * p[:-1]), p
        assert res.objective == pytest.approx(p.min())
        best = np.asarray(res.history["best_power_w"])
        np.testing.assert_array_equal(best, np.minimum.accumulate(p))  # the design held after each step
        assert res.objective == best[-1]
        np.testing.assert_allclose(res.history["best_power_dbm"], 10 * np.log10(best) + 30)


def test_continuous_phases_are_unit_modulus_and_discrete_on_grid():
    s = _scenario(6)
    rc = RobustContinuousSolver(**FAST).solve(s, rng=np.random.default_rng(0))
    r1 = RobustScheme1Solver(bits=1, **FAST).solve(s, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.abs(rc.phi), 1.0, atol=1e-12)
    np.testing.assert_allclose(r1.phi, quantize_phases(r1.phi, 1), atol=1e-12)


@pytest.mark.parametrize("name", ["robust_scheme1", "robust_random"])
def test_reproducible_under_a_seed(name):
    s = _scenario(7)
    a = get_solver(name, **FAST).solve(s, rng=np.random.default_rng(11))
    b = get_solver(name, **FAST).solve(s, rng=np.random.default_rng(11))
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.phi, b.phi)
    for k in ("power_w", "sum_margin", "ris_accepted"):
        np.testing.assert_array_equal(a.history[k], b.history[k])
    assert a.metrics["outage"] == b.metrics["outage"]


def test_design_played_through_the_env_gives_the_same_metrics():
    gym = pytest.importorskip("gymnasium")
    import isac_env  # noqa: F401  (registers the ids)

    env = gym.make("isac_env/RobustISAC-v0", num_ris=6, num_bs_antennas=8)
    env.reset(seed=3)
    s = env.unwrapped.scenario
    res = RobustScheme2Solver(**FAST).solve(s, rng=np.random.default_rng(0))
    assert res.feasible and res.metrics["within_p_max"]
    action = env.unwrapped.encode_action(np.asarray(res.W), np.asarray(res.phi))
    _, _, _, _, info = env.step(action)
    m = info["metrics"]
    np.testing.assert_allclose(m["power_w"], res.metrics["power_w"], rtol=1e-4)
    np.testing.assert_allclose(m["rate_est"], res.metrics["rate_est"], rtol=1e-4)
    np.testing.assert_allclose(m["crb_est"], res.metrics["crb_est"], rtol=1e-4)
    assert bool(m["certified"]) == res.metrics["certified"]
    assert max(m["outage"]) <= float(s.rho_c)
    env.close()


def test_solver_options_are_validated():
    with pytest.raises(ValueError, match="scheme"):
        RobustAOSolver(scheme="scheme3")
    with pytest.raises(ValueError, match="init"):
        RobustScheme2Solver(init="best")


def test_solver_policy_adapter_plays_the_robust_env():
    gym = pytest.importorskip("gymnasium")
    import isac_env  # noqa: F401  (registers the ids)
    from isac_gym.baselines.policy import SolverPolicy

    env = gym.make("isac_env/RobustISAC-Continuous-v0", num_ris=4, num_bs_antennas=4)
    obs, _ = env.reset(seed=1)
    policy = SolverPolicy(get_solver("robust_scheme2", **FAST), env, rng=np.random.default_rng(0))
    action, _ = policy.predict(obs)
    _, _, _, _, info = env.step(action)
    res = policy.last_result
    assert res is not None and res.feasible
    np.testing.assert_allclose(info["metrics"]["power_w"], res.metrics["power_w"], rtol=1e-4)
    env.close()
