"""fd_step.sweep: the V curve of finite differences for any user function (notebook 01's exercise)."""

import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare.experiments import fd_step


def _finite(rows, scheme):
    return [(r["h"], r["rel_error"]) for r in rows if r["scheme"] == scheme and np.isfinite(r["rel_error"])]


def test_sweep_gives_the_v_curve_of_a_user_function():
    rows = fd_step.sweep(lambda x: dnp.sin(x) * dnp.exp(x), 0.7, schemes=("forward", "central"))
    assert {tuple(sorted(r)) for r in rows} == {("dtype", "h", "message", "rel_error", "scheme", "status")}
    best = {s: min(e for _, e in _finite(rows, s)) for s in ("forward", "central")}
    assert best["central"] < best["forward"] < 1e-6  # higher order, smaller best error
    # the right arm (truncation) has slope ~ order, the left arm (round-off) slope ~ -1
    h, e = map(np.array, zip(*_finite(rows, "central")))
    right = (h > 1e-3) & (h < 1e-1)
    left = (h < 1e-8) & (h > 1e-14) & (e > 0)
    assert np.polyfit(np.log10(h[right]), np.log10(e[right]), 1)[0] == pytest.approx(2, abs=0.2)
    assert np.polyfit(np.log10(h[left]), np.log10(e[left]), 1)[0] == pytest.approx(-1, abs=0.3)


def test_sweep_arrays_float32_exact_and_failures():
    def f(x):
        return dnp.sum(x**3)

    x = jnp.linspace(0.5, 1.5, 4)
    rows64 = fd_step.sweep(f, x, schemes=("central",), steps=[1e-2, 1e-5])
    rows32 = fd_step.sweep(f, x, schemes=("central",), steps=[1e-2, 1e-5], dtype="float32")
    assert [r["dtype"] for r in rows32] == ["float32"] * 2 and rows64[0]["dtype"] == "float64"
    assert rows32[1]["rel_error"] > 100 * rows64[1]["rel_error"]  # float32 round-off at h = 1e-5
    # central differences are exact on cubics up to h² f'''/6 = h²: relative error h² · 1 / max|3x²|
    assert rows64[0]["rel_error"] == pytest.approx(1e-4 / (3 * 1.5**2), rel=1e-6)
    wrong = fd_step.sweep(f, x, schemes=("central",), steps=[1e-5], exact=3 * x**2 + 1.0)
    assert wrong[0]["rel_error"] > 0.1  # a wrong "exact" shows as a large error
    bad = fd_step.sweep(f, x, schemes=("no-such-scheme",), steps=[1e-3])
    assert bad[0]["status"] != "ok" and np.isnan(bad[0]["rel_error"]) and bad[0]["message"]
