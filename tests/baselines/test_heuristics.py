"""Rydberg heuristics (issue 11): closed forms, the radar-optimal precoder, the CRB repair, the
solvers' outputs and the task / heuristic registry attributes."""

from __future__ import annotations

import numpy as np
import pytest

from isac_env.config import RydbergISACConfig
from isac_env.physics import crb_trace, effective_channels, sample_scenario
from isac_gym import baselines
from isac_gym.baselines.heuristics import (
    _barrier_newton,
    _procrustes,
    _ReducedFIM,
    crb_repair,
    design_feasible,
    dominant_directions,
    full_power,
    mrt_precoder,
    radar_optimum,
    rzf_precoder,
)

SMALL = {"num_ris": 16, "num_cells": 8, "num_clusters": 4, "num_rays": 5}
HEURISTICS = ("best_user_mrt", "user_select_zf")


def _draws(n: int, seed: int = 11, **cfg: object) -> list:
    c = RydbergISACConfig(**{**SMALL, **cfg})
    return [sample_scenario(c, np.random.default_rng(q)) for q in np.random.SeedSequence(seed).spawn(n)]


def _rand_c(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _rand_phi(rng: np.random.Generator, N: int) -> np.ndarray:
    return np.exp(2j * np.pi * rng.random(N))


# ------------------------------------------------------------------ closed forms
def test_mrt_direction_is_top_right_singular_vector() -> None:
    rng = np.random.default_rng(0)
    H = _rand_c(rng, 3, 8, 5)
    W = mrt_precoder(H, 2.0)
    assert np.isclose(np.sum(np.abs(W) ** 2), 2.0)
    for k in range(3):
        _, sv, Vh = np.linalg.svd(H[k])
        w = W[:, k] / np.linalg.norm(W[:, k])
        assert abs(abs(np.vdot(np.conj(Vh[0]), w)) - 1.0) < 1e-12  # same direction up to a phase
        assert np.isclose(np.linalg.norm(H[k] @ w) ** 2, sv[0] ** 2)


def test_best_user_mrt_serves_one_user_along_its_top_singular_vector() -> None:
    s = _draws(1, crb_threshold=10.0)[0]  # loose eps: no repair, the closed form is returned as is
    r = baselines.get_solver("best_user_mrt").solve(s, rng=np.random.default_rng(0))
    assert r.feasible and r.extra["repair_t"] == 0.0
    (k,) = r.extra["users"]
    assert np.allclose(np.delete(r.W, k, axis=1), 0.0)
    _, _, Vh = np.linalg.svd(effective_channels(s, r.phi)[k])
    w = r.W[:, k] / np.linalg.norm(r.W[:, k])
    assert abs(abs(np.vdot(np.conj(Vh[0]), w)) - 1.0) < 1e-10
    # it is the best of the K x (phase rules) single-user MRT designs
    for phi in (np.ones(s.dims["N"]), r.phi):
        Wm = mrt_precoder(effective_channels(s, phi), float(s.P_max))
        for j in range(s.dims["K"]):
            Wj = np.zeros_like(Wm)
            Wj[:, j] = Wm[:, j] * np.sqrt(s.dims["K"])
            assert baselines.heuristics.metrics_dict(s, Wj, phi)["sum_rate"] <= r.objective + 1e-9


@pytest.mark.parametrize("K, Nt", [(2, 4), (4, 4), (3, 6)])
def test_zf_nulls_interference_on_rank_one_channels(K: int, Nt: int) -> None:
    rng = np.random.default_rng(K + Nt)
    M = 7
    a, h = _rand_c(rng, K, M), _rand_c(rng, K, Nt)
    H = a[:, :, None] * np.conj(h)[:, None, :]  # H_k = a_k h_k^H (rank one)
    Hbar = dominant_directions(H)
    for k in range(K):  # the dominant row is h_k^H up to a complex scale
        c = np.vdot(np.conj(h[k]), Hbar[k]) / np.linalg.norm(h[k]) ** 2
        assert np.allclose(Hbar[k], c * np.conj(h[k]))
    W = rzf_precoder(Hbar, 1.0, reg=0.0)
    assert np.isclose(np.sum(np.abs(W) ** 2), 1.0)
    assert np.allclose(np.linalg.norm(W, axis=0), np.sqrt(1.0 / K))
    E = np.linalg.norm(H @ W[None], axis=1) ** 2  # [K, K]: energy of stream j at user k
    off = E[~np.eye(K, dtype=bool)]
    assert np.max(off) <= 1e-20 * np.max(np.diag(E))
    assert np.all(np.diag(E) > 0)
    # regularised ZF does not null exactly, and tends to ZF as reg -> 0
    W_reg = rzf_precoder(Hbar, 1.0, reg=1.0)
    E_reg = np.linalg.norm(H @ W_reg[None], axis=1) ** 2
    assert np.max(E_reg[~np.eye(K, dtype=bool)]) > 1e-6 * np.max(np.diag(E_reg))
    assert np.allclose(rzf_precoder(Hbar, 1.0, reg=1e-12), W, atol=1e-8)


def test_zf_cannot_null_when_users_exceed_antennas() -> None:
    rng = np.random.default_rng(3)
    K, Nt = 4, 2
    a, h = _rand_c(rng, K, 5), _rand_c(rng, K, Nt)
    H = a[:, :, None] * np.conj(h)[:, None, :]
    W = baselines.heuristics.zf_precoder(H, 1.0)  # pseudo-inverse fallback for K > Nt
    E = np.linalg.norm(H @ W[None], axis=1) ** 2
    assert np.max(E[~np.eye(K, dtype=bool)]) > 1e-3 * np.max(np.diag(E))


def test_user_select_zf_nulls_dominant_modes_of_served_users() -> None:
    s = _draws(1, seed=5, crb_threshold=10.0, num_bs_antennas=6, polarization="mkl", num_clusters=1)[0]
    r = baselines.get_solver("user_select_zf", regularize=False).solve(s, rng=np.random.default_rng(0))
    assert r.feasible and r.extra["repair_t"] == 0.0
    S = r.extra["users"]
    Hbar = dominant_directions(effective_channels(s, r.phi))
    X = np.abs(Hbar[S] @ r.W[:, S]) ** 2
    assert np.max(X[~np.eye(len(S), dtype=bool)], initial=0.0) <= 1e-20 * np.max(np.diag(X))
    assert np.allclose(np.delete(r.W, S, axis=1), 0.0)


# ------------------------------------------------------------------ radar-optimal precoder
@pytest.mark.parametrize("cfg", [{}, {"num_users": 1}, {"num_bs_antennas": 2}, {"num_bs_antennas": 8}])
def test_radar_optimum_beats_random_designs_and_is_locally_optimal(cfg: dict) -> None:
    rng = np.random.default_rng(1)
    for s in _draws(3, seed=2, **cfg):
        d = s.dims
        P = float(s.P_max)
        for phi in (np.ones(d["N"], np.complex128), _rand_phi(rng, d["N"])):
            opt = radar_optimum(s, phi)
            assert np.isclose(np.sum(np.abs(opt.W) ** 2), P)
            assert opt.gap <= 1e-6
            c_opt = float(crb_trace(s, opt.W, phi))
            assert np.isclose(c_opt, opt.crb_trace, rtol=1e-12)
            W_rand = full_power(_rand_c(rng, 200, d["Nt"], d["K"]), P)
            assert np.all(crb_trace(s, W_rand, phi) >= c_opt * (1 - 1e-9))
            W_mrt = mrt_precoder(effective_channels(s, phi), P)
            assert float(crb_trace(s, W_mrt, phi)) >= c_opt * (1 - 1e-9)
            # no descent along random feasible (full-power) perturbations
            for delta in (1e-2, 1e-4):
                Z = _rand_c(rng, 100, d["Nt"], d["K"])
                W_pert = full_power(
                    opt.W + delta * np.sqrt(P) * Z / np.linalg.norm(Z, axis=(1, 2))[:, None, None], P
                )
                assert np.all(crb_trace(s, W_pert, phi) >= c_opt * (1 - 1e-9))


def test_radar_optimum_matches_the_cvxpy_sdp() -> None:
    pytest.importorskip("cvxpy")
    from isac_env.physics.rar import sensing_vectors_of
    from isac_env.physics.sensing import fim_matrices
    from isac_gym.baselines.sdp import RadarCovarianceSDP

    rng = np.random.default_rng(4)
    checked = 0
    for s in _draws(4, seed=9):
        phi = _rand_phi(rng, s.dims["N"])
        A_hat = (2.0 / float(s.sigma_r2)) * fim_matrices(sensing_vectors_of(s, phi), complex(s.alpha_t))
        R, _ = RadarCovarianceSDP(s.dims["Nt"]).solve(A_hat, float(s.P_max), complex(s.alpha_t))
        if R is None:
            continue
        lam, U = np.linalg.eigh(R)
        W_sdp = U * np.sqrt(np.clip(lam, 0.0, None))  # [Nt, Nt]: the whole covariance
        c_sdp = float(crb_trace(s, W_sdp, phi))
        c_opt = radar_optimum(s, phi).crb_trace
        assert c_opt <= c_sdp * (1 + 1e-6)  # never worse than the SDP ...
        assert c_opt >= c_sdp * (1 - 1e-3)  # ... and the SDP is nearly exact
        checked += 1
    assert checked >= 2


def test_barrier_fallback_agrees_with_rank_one_newton() -> None:
    rng = np.random.default_rng(6)
    for s in _draws(3, seed=3):
        phi = _rand_phi(rng, s.dims["N"])
        fim = _ReducedFIM(s, phi)
        T = _barrier_newton(fim)
        assert np.isclose(np.real(np.trace(T)), 1.0) and np.all(np.linalg.eigvalsh(T) > 0)
        lam, U = np.linalg.eigh(T)
        W_bar = np.sqrt(float(s.P_max)) * (fim.Q @ (U * np.sqrt(lam)))
        c_bar = float(crb_trace(s, W_bar, phi))
        c_opt = radar_optimum(s, phi).crb_trace
        assert abs(c_bar - c_opt) <= 1e-6 * c_opt


# ------------------------------------------------------------------ CRB repair
def _mix(s, W, W_rad, t):
    return full_power(np.sqrt(1 - t) * full_power(W, float(s.P_max)) + np.sqrt(t) * W_rad, float(s.P_max))


def test_crb_repair_meets_eps_whenever_the_radar_optimum_does() -> None:
    rng = np.random.default_rng(8)
    n_tight = n_infeasible = n_repaired = 0
    for s in _draws(6, seed=21):
        d = s.dims
        P = float(s.P_max)
        for _ in range(4):
            phi = _rand_phi(rng, d["N"])
            opt = radar_optimum(s, phi)
            W = _rand_c(rng, 8, d["Nt"], d["K"])  # a batch of designs
            W[0] = mrt_precoder(effective_channels(s, phi), P)
            for eps in (
                opt.crb_trace * (1 + 1e-7),  # tight: only designs very close to the optimum
                opt.crb_trace * 1.3,
                float(np.median(crb_trace(s, full_power(W, P), phi))),
                opt.crb_trace * 0.9,  # below the minimum: nothing can meet it
            ):
                se = s.replace(eps=np.float64(eps))
                W_rep, info = crb_repair(se, W, phi, radar=opt)
                c = crb_trace(se, W_rep, phi)
                assert np.allclose(np.sum(np.abs(W_rep) ** 2, axis=(1, 2)), P)
                assert np.allclose(c, info["crb_trace"], rtol=1e-10)
                c0 = crb_trace(se, full_power(W, P), phi)
                if opt.crb_trace <= eps:
                    assert np.all(info["feasible"]) and np.all(c <= eps)
                    assert np.all((info["t"] == 0) == (c0 <= eps))
                    n_tight += eps < opt.crb_trace * 1.001
                    n_repaired += int(np.sum(info["t"] > 0))
                else:
                    assert not np.any(info["feasible"] & (c0 > eps))
                    bad = c0 > eps
                    assert np.all(info["t"][bad] == 1.0)
                    assert np.allclose(c[bad], opt.crb_trace, rtol=1e-9)  # the t = 1 design
                    n_infeasible += int(np.sum(bad))
    assert n_tight >= 20 and n_infeasible >= 20 and n_repaired >= 50


def test_crb_repair_finds_the_smallest_mixing_weight() -> None:
    rng = np.random.default_rng(12)
    fine = np.linspace(0.0, 1.0, 4001)
    for s in _draws(4, seed=31):
        d = s.dims
        phi = _rand_phi(rng, d["N"])
        opt = radar_optimum(s, phi)
        W = mrt_precoder(effective_channels(s, phi), float(s.P_max))
        se = s.replace(eps=np.float64(0.5 * (opt.crb_trace + float(crb_trace(s, W, phi)))))
        W_rep, info = crb_repair(se, W, phi, radar=opt)
        assert 0 < info["t"] < 1 and info["feasible"]
        W_r = _procrustes(opt.W, full_power(W, float(s.P_max)))
        c_fine = np.array([float(crb_trace(se, _mix(se, W, W_r, t), phi)) for t in fine])
        t_min = fine[np.argmax(c_fine <= float(se.eps))]
        assert t_min - 2.5e-4 <= info["t"] <= t_min + 2.5e-4
        assert np.allclose(W_rep, _mix(se, W, W_r, info["t"]))


def test_crb_repair_unbatched_returns_plain_values() -> None:
    s = _draws(1)[0]
    phi = np.ones(s.dims["N"], np.complex128)
    W = mrt_precoder(effective_channels(s, phi), float(s.P_max))
    W_rep, info = crb_repair(s, W, phi)
    assert W_rep.shape == W.shape
    assert isinstance(info["t"], float) and isinstance(info["feasible"], bool)


# ------------------------------------------------------------------ solver outputs
@pytest.mark.parametrize("eps_scale", [None, 1.0001, 0.5])
def test_heuristics_full_power_unit_modulus_and_consistent_feasible_flag(eps_scale: float | None) -> None:
    solvers = [baselines.get_solver(n) for n in HEURISTICS]
    solvers += [baselines.get_solver(n, repair=True) for n in ("random_mrt", "random_zf")]
    solvers += [baselines.get_solver(n) for n in ("random_mrt", "random_zf")]
    n_feasible = 0
    for s in _draws(3, seed=41, polarization="mkl", num_clusters=2):
        if eps_scale is not None:  # eps relative to the radar optimum at all-ones phases
            opt = radar_optimum(s, np.ones(s.dims["N"], np.complex128))
            s = s.replace(eps=np.float64(opt.crb_trace * eps_scale))
        for solver in solvers:
            r = solver.solve(s, rng=np.random.default_rng(2))
            assert r.solved and r.W.shape == (s.dims["Nt"], s.dims["K"])
            assert np.isclose(np.sum(np.abs(r.W) ** 2), float(s.P_max), rtol=1e-12)
            assert np.allclose(np.abs(r.phi), 1.0, atol=1e-12)
            assert r.feasible == design_feasible(s, r.W, r.phi, float(crb_trace(s, r.W, r.phi)))
            assert np.isclose(r.objective, r.metrics["sum_rate"])
            repaired = solver.name in HEURISTICS or getattr(solver, "repair", False)
            if repaired and eps_scale is not None and eps_scale >= 1 and solver.name in HEURISTICS:
                assert r.feasible  # the all-ones phases are tried and their optimum meets eps
            if solver.name in HEURISTICS and not r.feasible:
                assert r.stop_reason.startswith("infeasible") and r.extra["repair_t"] == 1.0
            n_feasible += r.feasible
    assert (n_feasible > 0) == (eps_scale != 0.5)  # half the minimum at all-ones: nothing meets eps


def test_user_select_zf_is_at_least_best_user_mrt() -> None:
    for s in _draws(3, seed=51, polarization="mkl", num_clusters=1):
        a = baselines.get_solver("best_user_mrt").solve(s, rng=np.random.default_rng(0))
        b = baselines.get_solver("user_select_zf").solve(s, rng=np.random.default_rng(0))
        if a.feasible:  # the greedy starts from the single-user MRT designs
            assert b.feasible and b.objective >= a.objective - 1e-9


def test_heuristics_are_deterministic_and_validate_options() -> None:
    s = _draws(1)[0]
    for name in HEURISTICS:
        r1 = baselines.get_solver(name).solve(s, rng=np.random.default_rng(0))
        r2 = baselines.get_solver(name).solve(s, rng=np.random.default_rng(99))
        assert np.array_equal(r1.W, r2.W) and np.array_equal(r1.phi, r2.phi)
        with pytest.raises(ValueError):
            baselines.get_solver(name, phases=("ones", "bogus"))
        one = baselines.get_solver(name, phases="ones").solve(s, rng=np.random.default_rng(0))
        assert np.array_equal(one.phi, np.ones(s.dims["N"]))


# ------------------------------------------------------------------ registry attributes
def test_task_and_heuristic_attributes_and_filter() -> None:
    ryd, rob = baselines.list_solvers(task="rydberg"), baselines.list_solvers(task="robust")
    assert set(ryd) | set(rob) == set(baselines.list_solvers()) and not set(ryd) & set(rob)
    assert {"fp_mm_admm", "gd", "best_user_mrt", "user_select_zf", "random_mrt"} <= set(ryd)
    assert {"robust_scheme2", "robust_random", "robust_gain_mrt", "robust_gain_zf"} <= set(rob)
    heur = {n for n in baselines.list_solvers() if baselines.solver_class_attr(n, "heuristic")}
    assert heur == {
        "best_user_mrt", "user_select_zf", "random_mrt", "random_zf",
        "robust_random", "robust_gain_mrt", "robust_gain_zf",
    }  # fmt: skip
    for n in baselines.list_solvers():
        assert baselines.get_solver(n).task == baselines.solver_class_attr(n, "task")
    with pytest.raises(ValueError):
        baselines.list_solvers(task="bogus")
