"""The solver-free (J_aux, f) projection (64) against the cvxpy SDP (rar_isac spec 6.2)."""

from __future__ import annotations

import numpy as np
import pytest

from isac_gym.baselines.base import cvxpy_solve
from isac_gym.baselines.qp import ClosedFormJfProjection, crb_trace_derivatives, jf_pack, project_crb_set


def _instances(n: int, seed: int) -> list[tuple[np.ndarray, float, complex]]:
    """Random ``(t, bound, alpha)``: A_s(t) positive definite or not, t6 small, near-singular."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        t = (rng.standard_normal(6) + 1j * rng.standard_normal(6)) * 10 ** rng.uniform(-3, 1)
        m = float(np.abs(t).max())
        if k % 3 == 0:  # well inside the domain
            t[0] += 5 * m
            t[3] += 5 * m
            t[5] = abs(t[5]) + 0.1 * m
        elif k % 3 == 1:  # penalty-iterate-like: tiny t6 and f3, f5 (A_s(t) often indefinite)
            t[0], t[3] = abs(t[0]) + 0.2 * m, abs(t[3]) + m
            t[2] *= 0.02
            t[4] *= 0.02
            t[5] = 1e-3 * m
        else:  # near-singular A_s(t)
            t[5] = abs(t[5]) + 0.1 * m
            q11 = abs(t[2]) ** 2 / t[5].real
            t[0] = t[0].imag * 1j + q11 + 1e-6 * m + abs(t[1].real)
            t[3] = t[3].imag * 1j + abs(t[4]) ** 2 / t[5].real + abs(t[1].real) + 1e-3 * m
        alpha = rng.uniform(0.5, 2.0) * np.exp(1j * rng.uniform(0, 2 * np.pi))
        tp = jf_pack(t)
        s = float(np.abs(tp).max())
        a2 = abs(alpha) ** 2
        h = crb_trace_derivatives(tp / s, a2, hessian=False)[0]
        # bound below h(t) (infeasible t); for the penalty-like t (A_s(t) often indefinite) a
        # few times tr((a2 S)^{-1}), the CRB without the f3, f5 coupling
        h_lin = float(np.trace(np.linalg.inv(a2 * np.array([[tp[0], tp[1]], [tp[1], tp[2]]]) / s)))
        if np.isfinite(h):
            bound = h * 10 ** rng.uniform(-1.5 if k % 3 != 1 else -0.3, -0.02) / s
        else:
            bound = abs(h_lin) * rng.uniform(1.5, 5.0) / s
        out.append((t, bound, alpha))
    return out


def test_crb_trace_derivatives_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(8)
    x[[0, 2]] = np.abs(x[[0, 2]]) + 5.0
    x[7] = abs(x[7]) + 1.0
    _, g, H = crb_trace_derivatives(x, 1.7)
    e = 1e-6
    I8 = np.eye(8)
    gf = [
        (crb_trace_derivatives(x + e * I8[j], 1.7)[0] - crb_trace_derivatives(x - e * I8[j], 1.7)[0])
        / (2 * e)
        for j in range(8)
    ]
    Hf = [
        (crb_trace_derivatives(x + e * I8[j], 1.7)[1] - crb_trace_derivatives(x - e * I8[j], 1.7)[1])
        / (2 * e)
        for j in range(8)
    ]
    assert np.allclose(g, gf, rtol=1e-6, atol=1e-9 * np.abs(g).max())
    assert np.allclose(H, np.array(Hf), rtol=1e-6, atol=1e-8 * np.abs(H).max())
    assert np.linalg.eigvalsh(H)[0] >= -1e-10 * np.abs(H).max()  # convex


@pytest.mark.parametrize("seed", range(2))
def test_closed_form_equals_cvxpy_sdp(seed: int) -> None:
    pytest.importorskip("cvxpy")

    from isac_gym.baselines.sdp import JfProjection

    sdp = JfProjection()
    sdp_opts = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11}
    cf = ClosedFormJfProjection(warm_start=False)
    solved = 0
    for t, bound, alpha in _instances(30, seed):
        f, status = cf.project(t, bound, alpha)
        if status.startswith("failed"):  # reported, never silent (the solver then uses cvxpy)
            continue
        assert status == "closed_form"
        solved += 1
        # feasible, on the boundary, unconstrained imaginary parts copied
        tp, fp = jf_pack(t), jf_pack(f)
        s = float(np.abs(tp).max())
        h = crb_trace_derivatives(fp / s, abs(alpha) ** 2, hessian=False)[0] / s
        assert h <= bound * (1 + 1e-9) and h >= bound * (1 - 1e-8)
        assert np.array_equal(f.imag[[0, 1, 3, 5]], t.imag[[0, 1, 3, 5]])
        # the accurate SDP solution: same point (Clarabel at tight tolerances)
        sdp.t.value, sdp.bound.value, sdp.a2.value = tp / s, bound * s, float(abs(alpha) ** 2)
        # cvxpy_solve: a solver fault becomes an "error: ..." status, the inaccurate warning is silenced
        if cvxpy_solve(sdp.problem, "CLARABEL", **sdp_opts) != "optimal":  # inaccurate: no reference
            continue
        xc = np.asarray(sdp.x.value)
        d_cf, d_sdp = np.linalg.norm(fp / s - tp / s), np.linalg.norm(xc - tp / s)
        assert d_cf <= d_sdp * (1 + 1e-6) + 1e-12  # never farther than the SDP's optimum
        # Clarabel (interior point, tol 1e-11) itself is accurate to ~1e-6 on these instances
        assert np.linalg.norm(fp / s - xc) <= 1e-5 * max(1.0, np.linalg.norm(tp / s)), (t, bound, alpha)
    assert solved >= 27


def test_feasible_t_returned_unchanged_and_kkt() -> None:
    cf = ClosedFormJfProjection()
    for t, bound, alpha in _instances(12, 5):
        tp = jf_pack(t)
        s = float(np.abs(tp).max())
        h = crb_trace_derivatives(tp / s, abs(alpha) ** 2, hessian=False)[0] / s
        if np.isfinite(h):
            f, status = cf.project(t, 2.0 * h, alpha)
            assert status == "fast_path" and np.array_equal(f, t)
        x, info = project_crb_set(tp / s, bound * s, abs(alpha) ** 2)
        if not cf.project(t, bound, alpha)[1] == "closed_form":  # a reported failure
            continue
        g = crb_trace_derivatives(x, abs(alpha) ** 2, hessian=False)[1]
        assert info.mu > 0
        assert np.linalg.norm(2.0 * (x - tp / s) + info.mu * g) <= 1e-9 * max(1.0, np.linalg.norm(tp / s))
        assert abs(info.constraint_gap) <= 1e-9 * bound * s


def test_warm_start_gives_the_same_projection() -> None:
    cold, warm = ClosedFormJfProjection(warm_start=False), ClosedFormJfProjection()
    t, bound, alpha = _instances(2, 9)[1]
    for k in range(5):  # a slowly moving target, as in the penalty iterations
        tk = t * (1 + 0.01 * k)
        fa, _ = cold.project(tk, bound, alpha)
        fb, _ = warm.project(tk, bound, alpha)
        assert np.allclose(fa, fb, rtol=1e-9, atol=1e-12 * np.abs(t).max())
