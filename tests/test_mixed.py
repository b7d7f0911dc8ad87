"""What needs two engines (diffcompare.mixed): hvp, forward over reverse, and the transposing of user rules.

The engines never import each other; these tests show that what combines them
still works from the layer above and is offered where users look for it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare
import diffcompare.forward as fwd
import diffcompare.numpy as dnp
import diffcompare.reverse as rev
from diffcompare import custom, mixed
from diffcompare.errors import UnsupportedOperationError


def f(x, y):
    return dnp.sum(dnp.sin(x) * y**2) + dnp.sum(x**3)


def test_hvp_is_forward_over_reverse_and_matches_the_hessian():
    x, y, v = jnp.array([0.3, -1.2, 2.0]), jnp.array([1.5, 0.5, -0.7]), jnp.array([1.0, -2.0, 0.5])
    expected = jax.hessian(f)(x, y) @ v
    np.testing.assert_allclose(mixed.hvp(f)(x, y, v), expected, rtol=1e-12)
    np.testing.assert_allclose(mixed.hvp(f, argnums=1)(x, y, v), jax.hessian(f, 1)(x, y) @ v, rtol=1e-12)
    same = fwd.jvp(rev.grad(f), (x, y), (v, jnp.zeros(3)))[1]
    assert np.array_equal(mixed.hvp(f)(x, y, v), same)  # exactly the forward engine's jvp of reverse's grad


def test_hvp_is_offered_as_reverse_hvp_and_diffcompare_hvp():
    assert rev.hvp is mixed.hvp is diffcompare.hvp
    assert "hvp" not in vars(rev.api)  # reverse mode's own module does not reach for the forward engine


def test_a_vjp_only_rule_is_transposed_for_forward_mode_by_the_reverse_sweep():
    scaled = custom.custom_vjp(lambda x: 3.0 * x, name="scaled_for_mixed")
    scaled.defvjp(lambda x: (scaled(x), None), lambda res, g: (3.0 * g,))
    x = jnp.array([1.0, 2.0])
    assert np.array_equal(fwd.jacobian(scaled)(x), 3.0 * jnp.eye(2))
    assert custom._transpose_linear is mixed.transpose_linear


def test_without_a_transposer_the_user_rule_refuses_by_name(monkeypatch):
    only_vjp = custom.custom_vjp(lambda x: 2.0 * x, name="only_vjp_for_mixed")
    only_vjp.defvjp(lambda x: (only_vjp(x), None), lambda res, g: (2.0 * g,))
    monkeypatch.setattr(custom, "_transpose_linear", custom._no_transposer)
    with pytest.raises(UnsupportedOperationError, match=r"only_vjp_for_mixed.*only a VJP rule.*defjvp"):
        fwd.grad(lambda x: dnp.sum(only_vjp(x)))(jnp.array([1.0]))
