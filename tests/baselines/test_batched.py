"""Batched gradient solvers (isac_gym.baselines.batched) on the torch backend."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from isac_env.config import RydbergISACConfig  # noqa: E402
from isac_env.physics import rar  # noqa: E402
from isac_gym import baselines  # noqa: E402
from isac_gym.baselines.base import SolverResult  # noqa: E402
from isac_gym.baselines.batched import (  # noqa: E402
    BatchedAscentSolver,
    ascent_objective,
    result_from_dict,
    result_to_dict,
)
from isac_gym.baselines.heuristics import bf_only_phases  # noqa: E402

#: small Table-I-like draws (K = 3, Nt = 6): GD's and the batched solver's CRB can be met
SMALL = {"num_ris": 16, "num_cells": 8, "num_clusters": 4, "num_rays": 5}
#: a short budget for the tests (the defaults are the benchmarked ones)
FAST = {"starts": 3, "keep": 1, "screen_iters": 20, "iters": 120}
VARIANTS = ("batched_gd", "batched_comm_only", "batched_bf_only")


@pytest.fixture(scope="module")
def scenarios() -> list:
    cfg = RydbergISACConfig(**SMALL)
    return [rar.sample_scenario(cfg, np.random.default_rng(c)) for c in np.random.SeedSequence(7).spawn(3)]


def _rngs(n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(100 + i) for i in range(n)]


@pytest.fixture(scope="module")
def batch_results(scenarios) -> dict[str, list[SolverResult]]:
    return {
        name: baselines.get_solver(name, **FAST).solve_batch(scenarios, rngs=_rngs(len(scenarios)))
        for name in VARIANTS
    }


def test_registered_rydberg_optimizers() -> None:
    for name in VARIANTS:
        solver = baselines.get_solver(name)
        assert isinstance(solver, BatchedAscentSolver) and solver.name == name
        assert baselines.solver_class_attr(name, "task") == "rydberg"
        assert not baselines.solver_class_attr(name, "heuristic")


def test_agrees_with_or_beats_per_draw_gd(scenarios, batch_results) -> None:
    """On every draw the batched design is feasible where GD's is, and its U_com is GD's or better
    (to 1e-3 bit/s/Hz)."""
    gd = baselines.get_solver("gd")
    for s, res in zip(scenarios, batch_results["batched_gd"], strict=True):
        ref = gd.solve(s, rng=np.random.default_rng(0))
        assert res.solved and res.stop_reason in ("converged", "max_iter")
        assert res.feasible or not ref.feasible
        assert res.objective >= ref.objective - 1e-3, (res.objective, ref.objective)
        assert res.metrics["crb_trace"] <= float(s.eps) * (1 + 1e-3)


def test_power_and_unit_modulus_hold_exactly(scenarios, batch_results) -> None:
    for name, results in batch_results.items():
        for s, res in zip(scenarios, results, strict=True):
            assert res.W.dtype == np.complex128 and res.phi.dtype == np.complex128
            np.testing.assert_allclose(np.sum(np.abs(res.W) ** 2), float(s.P_max), rtol=1e-12)
            np.testing.assert_allclose(np.abs(res.phi), 1.0, atol=1e-12)
            m = rar.evaluate(s, res.W, res.phi)  # metrics of the returned design, from the physics
            assert res.objective == pytest.approx(float(m["sum_rate"]), rel=1e-12), name
            assert res.metrics["crb_trace"] == pytest.approx(float(m["crb_trace"]), rel=1e-12)


def test_variants(scenarios, batch_results) -> None:
    for s, bf, comm, joint in zip(scenarios, *(batch_results[n] for n in VARIANTS[::-1]), strict=True):
        np.testing.assert_allclose(bf.phi, bf_only_phases(s), atol=1e-14)  # BF-only keeps its phases
        assert max(comm.history["lambda"]) == 0.0 and max(joint.history["lambda"]) > 0.0
        assert comm.objective >= joint.objective - 1e-3  # dropping the CRB can only help (to tolerance)
        assert joint.objective >= bf.objective - 1e-3 or not bf.feasible


def test_batch_equals_loop(scenarios) -> None:
    solver = baselines.get_solver("batched_gd", **FAST)
    batch = solver.solve_batch(scenarios, rngs=_rngs(3))
    loop = [solver.solve(s, rng=r) for s, r in zip(scenarios, _rngs(3), strict=True)]
    for a, b in zip(batch, loop, strict=True):
        assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(a.W, b.W, atol=1e-6)
        np.testing.assert_allclose(a.phi, b.phi, atol=1e-6)
        assert a.extra["start"] == b.extra["start"] and a.feasible == b.feasible
    # a batched torch scenario is the same batch
    stacked = rar.stack_scenarios(scenarios).to("torch", dtype=torch.complex128)
    again = solver.solve_batch(stacked, rngs=_rngs(3))
    assert [r.objective for r in again] == pytest.approx([r.objective for r in batch], rel=1e-9)


def test_default_rngs_and_rng_dependence(scenarios) -> None:
    solver = baselines.get_solver("batched_gd", **FAST)
    a = solver.solve_batch(scenarios[:2], seed=5)
    b = solver.solve_batch(scenarios[:2], seed=5)
    assert [r.objective for r in a] == [r.objective for r in b]  # deterministic given the seeds
    one = baselines.get_solver("batched_gd", **{**FAST, "starts": 1})
    r1 = one.solve(scenarios[0], rng=np.random.default_rng(0))
    r2 = one.solve(scenarios[0], rng=np.random.default_rng(1))
    assert r1.objective == r2.objective  # a single start is the heuristic start: rng unused


def test_gradients_pass_a_finite_difference_check(scenarios) -> None:
    """The gradients the solver steps along (autograd of :func:`ascent_objective`, the augmented
    Lagrangian of the torch physics) against central differences, for an inactive and an active
    constraint."""
    s = rar.stack_scenarios(scenarios).to("torch", dtype=torch.complex128)
    rng = np.random.default_rng(3)
    Nt, K, N = s.dims["Nt"], s.dims["K"], s.dims["N"]
    V0 = torch.as_tensor(rng.standard_normal((3, Nt, K)) + 1j * rng.standard_normal((3, Nt, K)))
    V0 = V0 / torch.linalg.vector_norm(V0, dim=(-2, -1), keepdim=True)
    T0 = torch.as_tensor(rng.uniform(0, 2 * np.pi, (3, N)))
    dV = torch.as_tensor(rng.standard_normal((3, Nt, K)) + 1j * rng.standard_normal((3, Nt, K)))
    dT = torch.as_tensor(rng.standard_normal((3, N)))
    with torch.no_grad():
        h0 = ascent_objective(s, V0, T0, torch.zeros(3), torch.ones(3))[2]
    for lam, rho, eps in ((0.0, 1.0, s.eps), (2.0, 10.0, 0.5 * h0)):  # CRB term inactive, active
        s = s.replace(eps=eps)
        lam_t, rho_t = torch.full((3,), lam, dtype=torch.float64), torch.full((3,), rho, dtype=torch.float64)
        V, T = V0.clone().requires_grad_(True), T0.clone().requires_grad_(True)
        L, U, h = ascent_objective(s, V, T, lam_t, rho_t)
        gV, gT = torch.autograd.grad(L.sum(), [V, T])
        analytic = (torch.real(torch.sum(gV.conj() * dV, dim=(-2, -1))) + torch.sum(gT * dT, dim=-1)).numpy()
        step = 1e-6

        def f(a: float, s=s, lam_t=lam_t, rho_t=rho_t) -> np.ndarray:
            with torch.no_grad():
                return ascent_objective(s, V0 + a * dV, T0 + a * dT, lam_t, rho_t)[0].numpy()

        fd = (f(step) - f(-step)) / (2 * step)
        np.testing.assert_allclose(analytic, fd, rtol=1e-5, atol=1e-6)
        if lam > 0:
            assert np.all(L.detach().numpy() < U.detach().numpy())  # the penalty acts on these points
        # the objective is the physics' sum rate (nats) and CRB trace
        W = V0 * torch.sqrt(s.P_max)[:, None, None]
        phi = torch.polar(torch.ones_like(T0), T0)
        np.testing.assert_allclose(
            U.detach().numpy(), np.log(2) * rar.sum_rate(s, W, phi).numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(h.detach().numpy(), rar.crb_trace(s, W, phi).numpy(), rtol=1e-12)


def test_complex64_returns_a_complex128_design(scenarios) -> None:
    res = baselines.get_solver("batched_gd", **FAST, dtype="complex64").solve_batch(
        scenarios[:2], rngs=_rngs(2)
    )
    ref = baselines.get_solver("batched_gd", **FAST).solve_batch(scenarios[:2], rngs=_rngs(2))
    for r, q, s in zip(res, ref, scenarios[:2], strict=True):
        assert r.extra["dtype"] == "complex64" and r.W.dtype == np.complex128
        np.testing.assert_allclose(np.sum(np.abs(r.W) ** 2), float(s.P_max), rtol=1e-12)
        np.testing.assert_allclose(np.abs(r.phi), 1.0, atol=1e-12)
        assert r.objective == pytest.approx(q.objective, abs=0.05)  # same ascent in single precision


def test_thread_setting_is_restored(scenarios) -> None:
    before = torch.get_num_threads()
    baselines.get_solver("batched_gd", **{**FAST, "iters": 5, "screen_iters": 2}).solve(
        scenarios[0], rng=np.random.default_rng(0)
    )
    assert torch.get_num_threads() == before


def test_result_round_trip(batch_results) -> None:
    r = batch_results["batched_gd"][0]
    q = result_from_dict(result_to_dict(r))
    np.testing.assert_array_equal(q.W, r.W)
    np.testing.assert_array_equal(q.phi, r.phi)
    assert (q.objective, q.feasible, q.stop_reason, q.iterations) == (
        r.objective,
        r.feasible,
        r.stop_reason,
        r.iterations,
    )
    assert dict(q.history) == dict(r.history) and dict(q.metrics) == dict(r.metrics)


def test_fault_in_the_batch_falls_back_to_guarded_per_draw_solves(scenarios, monkeypatch) -> None:
    def boom(self, *a, **k):
        raise FloatingPointError("test fault")

    monkeypatch.setattr(BatchedAscentSolver, "_solve_rows_threads", boom)
    res = baselines.get_solver("batched_gd", **FAST).solve_batch(scenarios[:2])
    assert len(res) == 2 and all(not r.solved and "FloatingPointError" in r.stop_reason for r in res)


def test_bad_options_and_inputs(scenarios) -> None:
    for bad in (
        {"starts": 0},
        {"keep": 5, "starts": 4},
        {"iters": 0},
        {"dtype": "float32"},
        {"num_threads": 0},
    ):
        with pytest.raises(ValueError):
            baselines.get_solver("batched_gd", **bad)
    solver = baselines.get_solver("batched_gd", **FAST)
    with pytest.raises(ValueError):
        solver.solve_batch(scenarios, rngs=_rngs(2))
    with pytest.raises(baselines.base.InvalidProblemError):
        solver.solve(rar.stack_scenarios(scenarios[:2]), rng=np.random.default_rng(0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_equals_cpu(scenarios) -> None:
    cpu = baselines.get_solver("batched_gd", **FAST).solve_batch(scenarios, rngs=_rngs(3))
    gpu = baselines.get_solver("batched_gd", **FAST, device="cuda").solve_batch(scenarios, rngs=_rngs(3))
    for a, b in zip(cpu, gpu, strict=True):
        assert b.extra["device"].startswith("cuda") and b.feasible == a.feasible
        assert b.objective == pytest.approx(a.objective, abs=1e-3)


def test_figure_sweep_solves_the_batched_schemes_at_once(tmp_path, monkeypatch) -> None:
    """``make_figure(..., batched=True)``: GD's draws are solved in one batch, its rows replay them
    (objective = the batched solver's on the env's draw), the files carry ``-batched``, and a rerun
    reuses the cache."""
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    import gymnasium as gym

    import isac_gym.baselines.batched as batched
    from isac_gym.agents.evaluate import EvalSet
    from isac_gym.experiments import figures
    from tests.conftest import SMALL_RAR

    calls: list[int] = []
    real = batched.solve_env_draws
    monkeypatch.setattr(batched, "solve_env_draws", lambda task: calls.append(len(task.seeds)) or real(task))
    kw = {k: v for k, v in SMALL_RAR.items() if k != "snr_db"}
    args = {
        "trials": 3,
        "quick": True,
        "overrides": kw,
        "schemes": ["GD", "BF-only"],
        "workers": 1,
        "progress": False,
    }
    csv, png, table = figures.make_figure("rar-fig4a", tmp_path, batched=True, **args)
    assert csv.name == "rar-fig4a-batched.csv" and png.exists()
    assert (tmp_path / "rar-fig4a-batched.rows.csv").exists() and not (
        tmp_path / "rar-fig4a.rows.csv"
    ).exists()
    assert sum(calls) == 2 * 2 * 3  # two schemes, two x values, three draws each, once
    import pandas as pd

    rows = pd.read_csv(tmp_path / "rar-fig4a-batched.rows.csv", dtype={"policy": str, "eval_set": str})
    gd = rows[rows.policy == "GD"]
    assert len(gd) == 6 and gd["solved"].all() and (gd["replay_latency_s"] >= 0).all()
    # the replayed row is the batched solver's design on the env's draw
    first = gd.sort_values(["x", "trial"]).iloc[0]
    es = EvalSet(figures.RYDBERG, {**kw, "snr_db": int(first["x"])}, 0, 3)
    assert first["eval_set"] == es.hash
    env = gym.make(es.env_id, **dict(es.env_kwargs))
    env.reset(seed=es.seeds[0])
    res = baselines.get_solver("batched_gd").solve(
        env.unwrapped.scenario, rng=np.random.default_rng(es.policy_seed(0))
    )
    assert first["objective"] == pytest.approx(res.objective, rel=1e-6)
    assert first["solver_feasible"] == res.feasible
    assert set(table["scheme"]) == {"GD", "BF-only"} and (table["n"] == 3).all()
    figures.make_figure("rar-fig4a", tmp_path, batched=True, **args)
    assert sum(calls) == 12  # the rows and the cache are reused
