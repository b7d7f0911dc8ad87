"""Finite differences run as compiled programs that are never stale (``finite_diff.staged``), and hold
``stop_gradient`` at the unperturbed point as JAX does."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import finite_diff as fd
from diffcompare import from_jax
from diffcompare.errors import UnsupportedOperationError
from diffcompare.finite_diff import staged

from .helpers import assert_close

FD_TOL = 1e-6


def sg_product(x):
    return dnp.sum(x * dnp.stop_gradient(x) ** 2 + dnp.sin(dnp.stop_gradient(x)) * x)


def sg_jax(x):
    return jnp.sum(x * jax.lax.stop_gradient(x) ** 2 + jnp.sin(jax.lax.stop_gradient(x)) * x)


def sg_in_jitted_helper(x):
    return jnp.sum(jax.jit(lambda y: y * jax.lax.stop_gradient(y) ** 2)(x) + jnp.sin(jax.lax.stop_gradient(x)) * x)


@pytest.mark.parametrize("fun", [sg_product, from_jax(sg_jax), sg_in_jitted_helper], ids=["dnp", "from_jax", "jit"])
@pytest.mark.parametrize("scheme", ["forward", "central", "central4", "richardson"])
def test_stop_gradient_holds_at_the_unperturbed_point(fun, scheme):
    x = jnp.array([0.3, -1.2, 2.0])
    assert_close(fd.grad(fun, scheme=scheme)(x), jax.grad(sg_jax)(x), 1e-4 if scheme == "forward" else FD_TOL, scheme)


def test_the_issue_example_x_times_stop_gradient_x():
    f = lambda x: x * dnp.stop_gradient(x)  # noqa: E731
    assert_close(fd.grad(f)(3.0), 3.0, FD_TOL)  # JAX: x, not 2x
    assert_close(fd.grad(from_jax(lambda x: x * jax.lax.stop_gradient(x)))(3.0), 3.0, FD_TOL)


@pytest.mark.slow
def test_stop_gradient_in_jvp_vjp_hessian_and_under_jit_and_vmap():
    x = jnp.array([0.3, -1.2, 2.0])
    v = jnp.array([1.0, 0.5, -2.0])
    _, tangent = fd.jvp(sg_product, (x,), (v,))
    assert_close(tangent, jax.jvp(sg_jax, (x,), (v,))[1], FD_TOL)
    _, pull = fd.vjp(sg_product, x)
    assert_close(pull(1.0)[0], jax.grad(sg_jax)(x), FD_TOL)
    assert_close(jax.jit(fd.grad(sg_product))(x), jax.grad(sg_jax)(x), FD_TOL)
    assert_close(jax.vmap(fd.grad(lambda y: y * dnp.stop_gradient(y) ** 2))(x), x**2, FD_TOL)
    # second derivatives: the inner difference's stop_gradient is held by the outer one too
    np.testing.assert_allclose(fd.hessian(sg_product)(x), jax.hessian(sg_jax)(x), atol=1e-4)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=5), st.integers(0, 2))
def test_stop_gradient_anywhere_matches_jax(values, which):
    """stop_gradient around any one of three subexpressions, at random points."""
    x = jnp.asarray(values)
    parts = [lambda y, m: m.sin(y), lambda y, m: y**2, lambda y, m: m.exp(-y)]

    def f(y, m, sg):
        terms = [sg(p(y, m)) if i == which else p(y, m) for i, p in enumerate(parts)]
        return m.sum(terms[0] * terms[1] + terms[2])

    ours = fd.grad(lambda y: f(y, dnp, dnp.stop_gradient))(x)
    np.testing.assert_allclose(ours, jax.grad(lambda y: f(y, jnp, jax.lax.stop_gradient))(x), rtol=1e-5, atol=1e-6)


def test_stop_gradient_inside_a_loop_primitive_is_refused_by_name():
    def f(x):
        def body(c, _):
            return c * jax.lax.stop_gradient(c), None
        return jnp.sum(jax.lax.scan(body, x, None, length=2)[0])

    with pytest.raises(UnsupportedOperationError, match="stop_gradient inside scan"):
        fd.grad(f)(jnp.ones(2))


def test_a_changed_coefficient_is_read_and_reuses_the_compiled_program():
    state = {"c": 2.0, "w": jnp.array([1.0, 2.0, 3.0])}

    def f(x):
        return state["c"] * dnp.sum(state["w"] * x**2)

    x = jnp.array([1.0, -1.0, 0.5])
    fd.grad(f)(x)
    entries = len(staged._CACHE)
    for c, w in [(5.0, [1.0, 1.0, 1.0]), (-1.5, [0.0, 2.0, 4.0]), (2.0, [3.0, 2.0, 1.0])]:
        state["c"], state["w"] = c, jnp.asarray(w)
        assert_close(fd.grad(f)(x), 2 * c * jnp.asarray(w) * x, FD_TOL, f"c={c}, w={w}")
    assert len(staged._CACHE) == entries  # same structure: no new program compiled


def test_numpy_array_changed_in_place_is_read_afresh():
    w = np.array([1.0, 2.0])
    f = lambda x: dnp.sum(w * x**2)  # noqa: E731
    x = jnp.array([1.0, 1.0])
    assert_close(fd.grad(f)(x), 2 * w * x, FD_TOL)
    w[:] = [5.0, -3.0]
    assert_close(fd.grad(f)(x), 2 * np.array([5.0, -3.0]) * x, FD_TOL)


def test_a_different_program_is_a_different_key():
    x = jnp.array([0.5, 1.5])
    power = [2]
    f = lambda y: dnp.sum(y ** power[0])  # noqa: E731  (an integer power is a parameter of the program)
    assert_close(fd.grad(f)(x), 2 * x, FD_TOL)
    power[0] = 3
    assert_close(fd.grad(f)(x), 3 * x**2, FD_TOL)


def test_value_dependent_branches_still_run_through_the_loop():
    def f(x):
        if dnp.sum(x) > 0:
            return dnp.sum(x**2)
        return dnp.sum(x**3)

    assert_close(fd.grad(f)(jnp.array([1.0, 2.0])), jnp.array([2.0, 4.0]), FD_TOL)
    assert_close(fd.grad(f)(jnp.array([-1.0, -2.0])), jnp.array([3.0, 12.0]), FD_TOL)
