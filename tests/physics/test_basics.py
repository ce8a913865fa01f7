"""Units, steering vectors and RIS phase helpers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from isac_env.physics import arrays, ris, units


def test_unit_roundtrip():
    x = np.array([-30.0, 0.0, 17.3])
    np.testing.assert_allclose(units.lin_to_db(units.db_to_lin(x)), x)
    assert units.dbm_to_w(30.0) == pytest.approx(1.0)
    np.testing.assert_allclose(units.w_to_dbm(units.dbm_to_w(x)), x)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_steering_derivative_finite_difference(normalize, sign):
    th, h = 0.3, 1e-6
    d_fd = (
        arrays.steering_vector(th + h, 7, normalize=normalize, sign=sign)
        - arrays.steering_vector(th - h, 7, normalize=normalize, sign=sign)
    ) / (2 * h)
    d = arrays.steering_vector_derivative(th, 7, normalize=normalize, sign=sign)
    np.testing.assert_allclose(d, d_fd, atol=1e-8)


def test_steering_batched_and_norm():
    th = np.linspace(-1, 1, 5).reshape(5, 1)
    a = arrays.steering_vector(th, 6, normalize=True)
    assert a.shape == (5, 1, 6)
    np.testing.assert_allclose(np.linalg.norm(a, axis=-1), 1.0)
    assert a[2, 0, 0] == pytest.approx(1 / np.sqrt(6))


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_quantize_is_nearest_level(bits, rng):
    phi = np.exp(2j * np.pi * rng.random(200))
    q = ris.quantize_phases(phi, bits)
    levels = np.exp(1j * ris.phase_levels(bits))
    brute = levels[np.argmin(np.abs(phi[:, None] - levels[None]), axis=1)]
    np.testing.assert_allclose(q, brute, atol=1e-12)
    np.testing.assert_allclose(np.abs(q), 1.0)


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_polygon_projection_matches_brute_force(bits, rng):
    m = 2**bits
    verts = np.exp(2j * np.pi * np.arange(m) / m)
    x = 2.0 * (rng.standard_normal(300) + 1j * rng.standard_normal(300))
    p = ris.project_polygon(x, bits)
    # brute force: nearest point on each edge segment (the hull of the vertices)
    best = np.full(x.shape, np.inf)
    for i, j in itertools.combinations(range(m), 2):
        if bits > 1 and (j - i) % m not in (1, m - 1):
            continue
        a, b = verts[i], verts[j]
        t = np.clip(((x - a) * np.conj(b - a)).real / abs(b - a) ** 2, 0, 1)
        best = np.minimum(best, np.abs(x - (a + t * (b - a))))
    d = np.abs(x - p)
    inside = d < 1e-12
    np.testing.assert_allclose(d[~inside], best[~inside], atol=1e-10)
    # points returned unchanged are inside the hull: projecting again is idempotent
    np.testing.assert_allclose(ris.project_polygon(p, bits), p, atol=1e-12)


def test_unit_modulus_projection(rng):
    x = rng.standard_normal(10) + 1j * rng.standard_normal(10)
    p = ris.project_unit_modulus(x)
    np.testing.assert_allclose(np.abs(p), 1.0)
    np.testing.assert_allclose(np.angle(p), np.angle(x))
