"""The zoo's derivatives are bitwise what they were before the elementwise rules moved into
``primitives.py`` (one declaration per primitive, issue 25): forward, reverse and symbolic (array
level and scalar expansion), gradients or Jacobians, JVPs and Hessians, recorded from the old code
in ``tests/data/zoo_pins.npz`` by ``python -m tests.zoo_pins``."""

from __future__ import annotations

import numpy as np
import pytest

from diffcompare import staging
from diffcompare.problems import PROBLEMS

from .zoo_pins import PATH, compute

PINS = dict(np.load(PATH))

# Reverse mode's divide wrote ∂(x/y)/∂y as -(g·x)/(y·y), forward mode and both symbolic levels as
# -g·(ans/y); the one declaration keeps the latter, which does not overflow where y·y does (|y| > 1e154).
# Second derivatives of a quotient by reverse mode move by a rounding.
# Reverse mode also grouped ∂(x**y)/∂y as (g·log x)·ans where forward mode wrote g·(log x·ans).
_DIVIDE = "reverse's ∂(x/y)/∂y is now the declared -g·(ans/y), not -(g·x)/(y·y)"
_POWER = _DIVIDE + "; and its ∂(x**y)/∂y is g·(log x·ans), not (g·log x)·ans"
#: pins allowed to differ by rounding, and why (each such pin still agrees to ``ROUNDING``)
# Symbolic simplification keeps 0·x (NaN where x is inf or nan, as in JAX: issue 26), so the one-hot
# labels' zero terms of the cross-entropy stay in its sums, which round once differently.
_ZERO_TERMS = "symbolic keeps 0·log(p) terms of the one-hot cross-entropy (NaN semantics), so its sums round anew"
ROUNDED: dict[str, str] = {
    "exp_over_square/reverse/hessian": _DIVIDE,
    "all_ops/reverse/hessian": _POWER,
    **{f"mlp_softmax_xent/{level}/{kind}": _ZERO_TERMS
       for level in ("symbolic", "symbolic-scalar") for kind in ("grad", "jvp")},
}
ROUNDING = 1e-13


def test_every_problem_is_pinned():
    assert {key.split("/")[0] for key in PINS} == set(PROBLEMS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_zoo_derivatives_are_bitwise_unchanged(name):
    """The op-by-op engines, bitwise (a staged call is one compiled program: XLA may fuse and round
    differently, so it agrees to rounding, which ``test_staged_calls_agree_to_rounding`` checks)."""
    with staging.disabled():
        now = compute(name)
    before = {key: value for key, value in PINS.items() if key.startswith(name + "/")}
    assert sorted(now) == sorted(before), "a method now refuses, or no longer refuses, this problem"
    for key, value in before.items():
        if key in ROUNDED:
            scale = max(float(np.max(np.abs(value), initial=0.0)), 1e-300)
            assert float(np.max(np.abs(now[key] - value), initial=0.0)) <= ROUNDING * scale, key
        else:
            assert np.array_equal(now[key], value, equal_nan=True), key


@pytest.mark.slow
@pytest.mark.parametrize("name", ["exp_over_square", "mlp_l2", "layered_net", "all_ops", "tall_map"])
def test_staged_calls_agree_to_rounding(name):
    staged = compute(name)
    with staging.disabled():
        plain = compute(name)
    for key, value in plain.items():
        scale = max(float(np.max(np.abs(value), initial=0.0)), 1e-300)
        assert float(np.nanmax(np.abs(staged[key] - value), initial=0.0)) <= 1e-12 * scale, key
