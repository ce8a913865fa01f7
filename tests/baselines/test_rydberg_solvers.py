"""Rydberg baselines: closed forms vs cvxpy, gradients, FP identity, constraints, env agreement."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from isac_env.config import RydbergISACConfig
from isac_env.physics import crb_trace, evaluate, sample_scenario, sum_rate
from isac_env.physics.gradients import crb_trace_gradients, sum_rate_gradients
from isac_env.physics.rar import effective_channels
from isac_gym import baselines
from isac_gym.baselines.fp_mm_admm import fp_objective, fp_update
from isac_gym.baselines.heuristics import bf_only_phases
from isac_gym.baselines.qp import admm_unit_modulus_qp, solve_ball_qp, unit_modulus_qp_value

SMALL = {"num_ris": 16, "num_cells": 8, "num_clusters": 4, "num_rays": 5}
SENSING = ("fp_mm_admm", "bf_only", "gd")
ALL = ("fp_mm_admm", "comm_only", "bf_only", "gd", "random_mrt", "random_zf")


@pytest.fixture(scope="module")
def scenarios() -> list:
    cfg = RydbergISACConfig(**SMALL)
    return [sample_scenario(cfg, np.random.default_rng(ss)) for ss in np.random.SeedSequence(7).spawn(3)]


@pytest.fixture(scope="module")
def results(scenarios) -> dict:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name in ALL:
            solver = (
                baselines.get_solver(name, max_iter=15)
                if name in ("fp_mm_admm", "comm_only", "bf_only", "gd")
                else baselines.get_solver(name)
            )
            out[name] = [solver.solve(s, rng=np.random.default_rng(3)) for s in scenarios]
    return out


def _rand_c(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


# ------------------------------------------------------------------ closed forms vs cvxpy
@pytest.mark.parametrize("seed", range(4))
def test_ball_qp_matches_cvxpy(seed: int) -> None:
    from isac_gym.baselines.sdp import BallQPModel

    rng = np.random.default_rng(seed)
    n = 8
    A = _rand_c(rng, n, n)
    Q = A.conj().T @ A / n + (0.0 if seed % 2 else 1e-3) * np.eye(n)
    c = _rand_c(rng, n) * (0.1 if seed < 2 else 10.0)  # interior and boundary solutions
    P = 1.0
    w, _ = solve_ball_qp(Q, c, P)
    w_cvx = BallQPModel(n).solve(Q, c, P)
    f = lambda x: float(np.real(np.vdot(x, Q @ x)) - np.real(np.vdot(c, x)))  # noqa: E731
    assert np.vdot(w, w).real <= P * (1 + 1e-9)
    assert f(w) <= f(w_cvx) + 1e-6 * max(1.0, abs(f(w_cvx)))
    assert np.allclose(w, w_cvx, atol=1e-4 * max(1.0, np.linalg.norm(w)))


def test_ball_qp_indefinite_is_on_boundary() -> None:
    rng = np.random.default_rng(0)
    Q = np.diag([-1.0, 0.5, 2.0]).astype(complex)
    c = _rand_c(rng, 3)
    w, mu = solve_ball_qp(Q, c, 2.0)
    assert abs(np.vdot(w, w).real - 2.0) < 1e-9
    assert mu >= 1.0 - 1e-12  # Q + mu I >= 0
    assert np.allclose((Q + mu * np.eye(3)) @ w, c / 2)


def test_admm_improves_surrogate_and_is_unit_modulus() -> None:
    rng = np.random.default_rng(1)
    A = _rand_c(rng, 20, 12)
    D = A.conj().T @ A
    g = _rand_c(rng, 12)
    phi0 = np.exp(2j * np.pi * rng.random(12))
    z, _ = admm_unit_modulus_qp(D, g, phi0)
    assert np.allclose(np.abs(z), 1.0, atol=1e-14)
    assert unit_modulus_qp_value(D, g, z) <= unit_modulus_qp_value(D, g, phi0)


def test_jf_projection_fast_path_and_feasibility(scenarios) -> None:
    from isac_gym.baselines.fp_mm_admm import _Instance
    from isac_gym.baselines.sdp import JfProjection, jf_feasible

    inst = _Instance(scenarios[0])
    rng = np.random.default_rng(0)
    W = _rand_c(rng, inst.Nt, inst.K)
    W *= np.sqrt(inst.P) / np.linalg.norm(W)
    phi = np.exp(2j * np.pi * rng.random(inst.N))
    t = inst.G(W, phi)
    proj = JfProjection()
    h = inst.crb_scaled(t)
    f, status = proj.project(t, 2.0 * h, inst.alpha)  # feasible: returned unchanged
    assert status == "fast_path" and np.array_equal(f, t)
    bound = 0.5 * h  # infeasible: projection must land (numerically) on the feasible set
    f, status = proj.project(t, bound, inst.alpha)
    assert status.startswith("optimal")
    assert inst.crb_scaled(f) <= bound * (1 + 1e-4)
    assert np.allclose(f.imag[[0, 1, 3, 5]], t.imag[[0, 1, 3, 5]])
    # no farther than the feasible point 2 t (tr A_s(2t)^{-1} = h/2)
    assert jf_feasible(2.0 * t, bound * (1 + 1e-9), inst.alpha)
    assert np.linalg.norm(f - t) <= np.linalg.norm(t) * (1 + 1e-4)


# ------------------------------------------------------------------ gradients (finite differences)
def test_wirtinger_gradients_match_finite_differences(scenarios) -> None:
    s = scenarios[1]
    rng = np.random.default_rng(5)
    d = s.dims
    W = 0.3 * _rand_c(rng, d["Nt"], d["K"])
    phi = np.exp(2j * np.pi * rng.random(d["N"]))
    dW, dphi = _rand_c(rng, d["Nt"], d["K"]), _rand_c(rng, d["N"])
    h = 1e-6
    _, gW, gp = crb_trace_gradients(s, W, phi)
    fd = (crb_trace(s, W + h * dW, phi) - crb_trace(s, W - h * dW, phi)) / (2 * h)
    assert np.isclose(fd, 2 * np.real(np.vdot(gW, dW)), rtol=1e-5)
    fd = (crb_trace(s, W, phi + h * dphi) - crb_trace(s, W, phi - h * dphi)) / (2 * h)
    assert np.isclose(fd, 2 * np.real(np.vdot(gp, dphi)), rtol=1e-5)
    U, gW, gp = sum_rate_gradients(s, W, phi)
    assert np.isclose(U / np.log(2), sum_rate(s, W, phi))
    fd = np.log(2) * (sum_rate(s, W + h * dW, phi) - sum_rate(s, W - h * dW, phi)) / (2 * h)
    assert np.isclose(fd, 2 * np.real(np.vdot(gW, dW)), rtol=1e-5)
    fd = np.log(2) * (sum_rate(s, W, phi + h * dphi) - sum_rate(s, W, phi - h * dphi)) / (2 * h)
    assert np.isclose(fd, 2 * np.real(np.vdot(gp, dphi)), rtol=1e-5)


def test_fp_identity(scenarios) -> None:
    s = scenarios[0]
    rng = np.random.default_rng(2)
    d = s.dims
    W = _rand_c(rng, d["Nt"], d["K"])
    phi = np.exp(2j * np.pi * rng.random(d["N"]))
    H = effective_channels(s, phi)
    st = fp_update(s, H, W)
    assert np.isclose(fp_objective(H, W, st), np.log(2) * sum_rate(s, W, phi), rtol=1e-12)
    st2 = fp_update(s, H, 1.1 * W)  # any other (r, c) gives a lower bound
    assert fp_objective(H, W, st2) <= np.log(2) * sum_rate(s, W, phi) + 1e-12


# ------------------------------------------------------------------ solver properties
def test_augmented_objective_non_decreasing_within_iterations(results) -> None:
    for name in ("fp_mm_admm", "bf_only", "comm_only"):
        for r in results[name]:
            h = {k: np.asarray(r.history[k])[1:] for k in ("aug_rc", "aug_jf", "aug_w", "aug_phi")}
            tol = 1e-9 * np.maximum(1.0, np.abs(h["aug_rc"]))
            # the (J, f) block minimises over the feasible set; f^(0) = G(W0) may lie outside it
            assert np.all(h["aug_jf"][1:] >= h["aug_rc"][1:] - tol[1:]), name
            assert np.all(h["aug_w"] >= h["aug_jf"] - tol), name
            assert np.all(h["aug_phi"] >= h["aug_w"] - tol), name


def test_comm_only_sum_rate_monotone(results) -> None:
    for r in results["comm_only"]:
        U = np.asarray(r.history["sum_rate"])
        assert np.all(np.diff(U) >= -1e-9 * U[:-1])


@pytest.mark.parametrize("name", ALL)
def test_designs_satisfy_constraints_and_metrics_match_physics(name: str, scenarios, results) -> None:
    for s, r in zip(scenarios, results[name], strict=True):
        P = float(s.P_max)
        assert np.sum(np.abs(r.W) ** 2) <= P * (1 + 1e-9)
        assert np.isclose(np.sum(np.abs(r.W) ** 2), P, rtol=1e-9)  # full power
        assert np.max(np.abs(np.abs(r.phi) - 1.0)) <= 1e-12
        m = evaluate(s, np.asarray(r.W), np.asarray(r.phi))
        assert np.isclose(r.metrics["sum_rate"], m["sum_rate"], rtol=1e-12)
        assert np.isclose(r.metrics["crb_trace"], m["crb_trace"], rtol=1e-12)
        assert np.isclose(r.objective, m["sum_rate"], rtol=1e-12)
        if name in SENSING:
            ok = m["crb_trace"] <= float(s.eps) * (1 + 1e-3)
            assert ok == r.feasible
            assert ok or r.stop_reason.startswith("infeasible")
        assert len(r.history["sum_rate"]) == len(r.history["crb_trace"]) >= 1
        assert r.wall_time_s >= 0 and r.stop_reason


def test_known_optimum_single_user_without_ris(scenarios) -> None:
    """K = 1 and H_RU = 0: the optimum is the dominant right singular vector of H_BU at full power."""
    cfg = RydbergISACConfig(**{**SMALL, "num_users": 1})
    s = sample_scenario(cfg, np.random.default_rng(11))
    s = s.replace(H_RU=np.zeros_like(s.H_RU))
    r = baselines.get_solver("comm_only", max_iter=5).solve(s, rng=np.random.default_rng(0))
    H = np.asarray(s.H_BU)[0]
    smax = np.linalg.svd(H, compute_uv=False)[0]
    M = H.shape[0]
    U_opt = np.log2(1 + float(s.P_max) * smax**2 / (M * float(s.sigma_q2[0])))
    assert np.isclose(r.objective, U_opt, rtol=1e-9)


def test_seeded_reproducibility(scenarios) -> None:
    s = scenarios[2]
    for name in ("fp_mm_admm", "random_mrt"):
        a = baselines.get_solver(name, **({"max_iter": 5} if name == "fp_mm_admm" else {}))
        r1 = a.solve(s, rng=np.random.default_rng(9))
        r2 = a.solve(s, rng=np.random.default_rng(9))
        assert np.array_equal(r1.W, r2.W) and np.array_equal(r1.phi, r2.phi)
        assert r1.history["sum_rate"] == r2.history["sum_rate"]


def test_bf_only_phases_do_not_decrease_gain(scenarios) -> None:
    s = scenarios[0]
    gain = lambda phi: float(np.sum(np.abs(effective_channels(s, phi)) ** 2))  # noqa: E731
    rng = np.random.default_rng(0)
    best = bf_only_phases(s)
    for _ in range(20):
        assert gain(best) >= gain(np.exp(2j * np.pi * rng.random(s.dims["N"])))
    eig = bf_only_phases(s, "eigenvector")
    assert np.allclose(np.abs(eig), 1.0)


def test_cvxpy_backend_runs_and_is_close(scenarios) -> None:
    s = scenarios[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = baselines.get_solver("fp_mm_admm", max_iter=3).solve(s, rng=np.random.default_rng(0))
        b = baselines.get_solver("fp_mm_admm", max_iter=3, subproblem_backend="cvxpy").solve(
            s, rng=np.random.default_rng(0)
        )
    assert b.extra["backend"] == "cvxpy"
    assert abs(a.objective - b.objective) <= 0.05 * abs(a.objective)


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="subproblem_backend"):
        baselines.get_solver("fp_mm_admm", subproblem_backend="nope")
    with pytest.raises(ValueError, match="bf_rule"):
        baselines.get_solver("bf_only", bf_rule="nope")


def test_ascent_steps_increase_the_objective_and_stay_feasible() -> None:
    from isac_gym.baselines.ascent import armijo_ball_step, armijo_circle_step

    rng = np.random.default_rng(3)
    a = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    f = lambda x: float(np.real(np.vdot(a, x)))  # noqa: E731  (grad w.r.t. x^* is a / 2)
    phi = np.exp(2j * np.pi * rng.random(6))
    p2, v2 = armijo_circle_step(f, phi, a / 2, f(phi), 0.3, 1e-4, 30)
    np.testing.assert_allclose(np.abs(p2), 1.0, atol=1e-12)
    assert v2 > f(phi) and v2 == f(p2)
    W = 0.1 * a
    W2, w2 = armijo_ball_step(f, W, a / 2, f(W), 1.0, 0.1, 1e-4, 30)
    assert np.linalg.norm(W2) <= 1.0 + 1e-12 and w2 > f(W) and w2 == f(W2)
    same = armijo_circle_step(f, phi, np.zeros(6, complex), f(phi), 0.3, 1e-4, 30)
    assert same[0] is phi  # zero gradient: no step


def test_phase_one_finds_feasible_phases_where_the_restoration_fails() -> None:
    """N = 32, eps = 0.01: the start's phases admit no precoder meeting the CRB (spec 6.7 fails)."""
    s = sample_scenario(RydbergISACConfig(num_ris=32, crb_threshold=0.01), np.random.default_rng(1))
    literal = baselines.get_solver("fp_mm_admm", restore_phi=False)
    W0, phi0, notes0 = literal.initial_point(s)
    assert notes0 == ["restoration: min CRB at fixed phi exceeds eps"]
    assert float(crb_trace(s, W0, phi0)) > float(s.eps)
    W1, phi1, notes1 = baselines.get_solver("fp_mm_admm").initial_point(s)
    assert notes1[0] == notes0[0] and notes1[1].startswith("phase-one") and notes1[2] == "restored"
    np.testing.assert_allclose(np.abs(phi1), 1.0, atol=1e-12)
    assert np.linalg.norm(W1) ** 2 == pytest.approx(float(s.P_max))
    assert float(crb_trace(s, W1, phi1)) <= float(s.eps) * (1 + 1e-9)
    # BF-only keeps its fixed phases (no phase-one)
    _, phi_bf, notes_bf = baselines.get_solver("bf_only").initial_point(s)
    np.testing.assert_array_equal(phi_bf, phi0)
    assert not any(n.startswith("phase-one") for n in notes_bf)
    with pytest.raises(ValueError, match="phase_one_iters"):
        baselines.get_solver("fp_mm_admm", phase_one_iters=0)
