"""JAX's answer at the edges of the function language (issue 26): ``%``, ``//`` and ``divmod`` on engine
values, products over empty axes, ``linspace`` with 0 or 1 points and sinc's derivatives at and near 0."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import METHODS

AD = ["forward", "reverse", "symbolic"]


def same_with_nan(ours, ref, rtol=1e-12, atol=0.0, what=""):
    """Equal to ``ref`` entry by entry (shape, NaN and inf included) in every leaf of a pytree."""
    ours_leaves, ours_tree = jax.tree_util.tree_flatten(ours)
    ref_leaves, ref_tree = jax.tree_util.tree_flatten(ref)
    assert ours_tree == ref_tree
    for o, r in zip(ours_leaves, ref_leaves):
        o, r = np.asarray(o, np.float64), np.asarray(r, np.float64)
        assert o.shape == r.shape
        np.testing.assert_array_equal(np.isnan(o), np.isnan(r), err_msg=what)
        np.testing.assert_allclose(o[~np.isnan(r)], r[~np.isnan(r)], rtol=rtol, atol=atol, err_msg=what)


# ---------------------------------------------------------------- %, // and divmod on engine values

X = jnp.array([5.3, -2.7, 7.1, 0.4])
Y = jnp.array([2.0, 1.5, -3.0, -0.7])
NUMPY_LEFT = np.array([1.25, 2.5, -3.75, 0.3])


def _mod_everywhere(a, b):
    # every operand order: value % value, number % value, value % number, NumPy and JAX arrays on the left
    return dnp.sum(a % b + 2.5 % b + a % 1.5 + NUMPY_LEFT % b + jnp.asarray(NUMPY_LEFT) % a)


def _floordiv_and_divmod(a, b):
    q, r = divmod(a, b)
    q2, r2 = divmod(7.0, a)
    return dnp.sum((a // b) * a + (3.0 // a) * b + (NUMPY_LEFT // b) * b + q * a + r + q2 * b + r2 * b)


@pytest.mark.slow
@pytest.mark.parametrize("fun", [_mod_everywhere, _floordiv_and_divmod], ids=["mod", "floordiv-divmod"])
@pytest.mark.parametrize("method", ["finite_diff", "forward", "reverse"])
def test_python_mod_floordiv_divmod_match_jax(method, fun):
    ref = jax.grad(fun, argnums=(0, 1))(X, Y)
    ours = METHODS[method].grad(fun, argnums=(0, 1))(X, Y)
    same_with_nan(ours, ref, rtol=1e-6 if method == "finite_diff" else 1e-14)
    same_with_nan(METHODS[method].value_and_grad(fun)(X, Y)[0], fun(X, Y))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse"])
def test_mod_operator_is_dnp_mod_in_nested_modes(method):
    # second derivatives through %: d²/da² (a % b) * a = 2 d/da (a % b) = 2 (JAX)
    fun = lambda a, b: dnp.sum((a % b) * a * b)  # noqa: E731
    ref = jax.hessian(fun)(X, Y)
    same_with_nan(METHODS[method].hessian(fun)(X, Y), ref)


@pytest.mark.parametrize("op", ["%", "//", "divmod"])
def test_symbolic_mod_and_floor_divide_match_jax(op):
    # symbolic has no values: x % y is x - floor(x / y) y and x // y is floor(x / y), floor with derivative 0
    fun = {"%": lambda a: dnp.sum((a % 2.0) * a), "//": lambda a: dnp.sum((a // 2.0) * a),
           "divmod": lambda a: dnp.sum(divmod(a, 2.0)[1] * divmod(a, 2.0)[0] * a)}[op]
    jfun = {"%": lambda a: jnp.sum((a % 2.0) * a), "//": lambda a: jnp.sum((a // 2.0) * a),
            "divmod": lambda a: jnp.sum(divmod(a, 2.0)[1] * divmod(a, 2.0)[0] * a)}[op]
    np.testing.assert_allclose(METHODS["symbolic"].grad(fun)(X), jax.grad(jfun)(X), rtol=1e-12)
    np.testing.assert_allclose(METHODS["symbolic"].hessian(fun)(X), jax.hessian(jfun)(X), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- products over an empty axis


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("shape, axis, keepdims", [
    ((0, 3), 0, False), ((0, 3), 1, False), ((3, 0), 1, False), ((3, 0), 0, True), ((3, 0), None, False),
    ((3, 0), None, True), ((2, 0, 3), (0, 1), True), ((0,), None, False),
])
def test_prod_over_an_empty_axis_matches_jax(method, shape, axis, keepdims):
    w = jnp.linspace(1.0, 2.0, 3)

    def fun(x, w):  # w gets a non-empty gradient through prod's 1s when the empty axis is reduced
        p = dnp.prod(x, axis=axis, keepdims=keepdims)
        return dnp.sum(p * 2.0) + dnp.sum(x) + dnp.sum(dnp.sum(p) * w)

    x = jnp.zeros(shape)
    m = METHODS[method]
    same_with_nan(m.grad(fun, argnums=(0, 1))(x, w), jax.grad(fun, argnums=(0, 1))(x, w), rtol=1e-6)
    same_with_nan(m.jacobian(lambda x: dnp.prod(x, axis=axis, keepdims=keepdims))(x),
                  jax.jacrev(lambda x: jnp.prod(x, axis=axis, keepdims=keepdims))(x))
    if method != "finite_diff":
        same_with_nan(m.hessian(fun, argnums=(0, 1))(x, w), jax.hessian(fun, argnums=(0, 1))(x, w))


# ---------------------------------------------------------------- linspace with 0 or 1 points

A0, B0 = jnp.array([1.0, 2.0]), jnp.array([[3.0, -1.0]])


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("num, endpoint, axis", [
    (0, True, 0), (0, False, 1), (0, True, -1), (1, True, 0), (1, False, -1), (4, False, 1), (3, True, 0),
])
def test_linspace_with_few_points_matches_jax(method, num, endpoint, axis):
    def fun(a, b):
        return dnp.linspace(a, b, num, endpoint=endpoint, axis=axis)

    def loss(a, b):
        return dnp.sum(fun(a, b) ** 2) + dnp.sum(a * b)

    m = METHODS[method]
    rtol = 1e-6 if method == "finite_diff" else 1e-14
    same_with_nan(m.jacobian(fun, argnums=(0, 1))(A0, B0), jax.jacrev(fun, argnums=(0, 1))(A0, B0), rtol=rtol)
    same_with_nan(m.grad(loss, argnums=(0, 1))(A0, B0), jax.grad(loss, argnums=(0, 1))(A0, B0), rtol=rtol)
    ours_out, ours_t = m.jvp(fun, (A0, B0), (jnp.ones(2), jnp.ones((1, 2))))
    ref_out, ref_t = jax.jvp(fun, (A0, B0), (jnp.ones(2), jnp.ones((1, 2))))
    same_with_nan(ours_out, ref_out)
    same_with_nan(ours_t, ref_t, rtol=rtol)


@pytest.mark.slow
@pytest.mark.parametrize("method", AD)
@pytest.mark.parametrize("num, endpoint", [(0, True), (0, False), (1, True), (1, False), (5, False)])
def test_linspace_step_matches_jax(method, num, endpoint):
    def step(a, b):
        return dnp.linspace(a, b, num, endpoint=endpoint, retstep=True)[1]

    ours = METHODS[method].jacobian(step, argnums=(0, 1))(A0, B0)
    same_with_nan(ours, jax.jacrev(step, argnums=(0, 1))(A0, B0))
    same_with_nan(METHODS[method].jvp(step, (A0, B0), (jnp.ones(2), jnp.ones((1, 2))))[0], step(A0, B0))


# ---------------------------------------------------------------- sinc's derivatives at and near 0

NESTINGS = [("forward",) * 3, ("reverse",) * 3, ("symbolic",) * 3, ("forward", "reverse", "reverse"),
            ("reverse", "forward", "reverse"), ("forward", "forward", "reverse"), ("reverse", "reverse", "forward")]


def _nested_grads(methods, fun):
    """[f', f'', f'''] with the innermost derivative taken by methods[0], the next by methods[1], ..."""
    out, g = [], fun
    for name in methods:
        g = (jax.grad if name == "jax" else METHODS[name].grad)(g)
        out.append(g)
    return out


def _sinc_derivative_exact(k, x):
    import mpmath  # sympy's dependency: the derivative to 40 digits, the reference where JAX cancels
    with mpmath.workdps(40):
        return float(mpmath.diff(lambda s: mpmath.sinc(mpmath.pi * s), mpmath.mpf(x), k))


@pytest.mark.slow
@pytest.mark.parametrize("methods", NESTINGS, ids="-".join)
def test_sinc_derivatives_at_zero_are_jax_maclaurin_values(methods):
    # JAX: sinc^(k)(0) = pi^k (-1)^(k/2) / (k + 1) for even k, 0 for odd k
    for k, (ours, ref) in enumerate(zip(_nested_grads(methods, dnp.sinc), _nested_grads(["jax"] * 3, jnp.sinc)), 1):
        np.testing.assert_allclose(float(ours(0.0)), float(ref(0.0)), rtol=1e-14, atol=1e-14, err_msg=f"order {k}")
    np.testing.assert_allclose(float(_nested_grads(methods[:1] * 4, dnp.sinc)[3](0.0)), np.pi ** 4 / 5, rtol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("methods", NESTINGS, ids="-".join)
@pytest.mark.parametrize("x", [1e-3, -2e-2, 0.3, -1.5])
def test_sinc_derivatives_near_zero_match_jax(methods, x):
    for k, (ours, ref) in enumerate(zip(_nested_grads(methods, dnp.sinc), _nested_grads(["jax"] * 3, jnp.sinc)), 1):
        # near 0 both formulas cancel digits, about eps / |x|^k ((cos(pi x) - sinc x) / x is ours,
        # sin(pi x) / (pi x) JAX's), ours fewer than JAX's
        np.testing.assert_allclose(float(ours(x)), _sinc_derivative_exact(k, x), rtol=1e-5 if abs(x) < 0.1 else 1e-12,
                                   err_msg=f"order {k}")
        np.testing.assert_allclose(float(ours(x)), float(ref(x)), rtol=1e-4 if abs(x) < 0.1 else 1e-12,
                                   err_msg=f"order {k}")


@pytest.mark.slow
@pytest.mark.parametrize("method", AD)
def test_sinc_hessian_of_an_array_with_zeros_matches_jax(method):
    x = jnp.array([0.0, 0.25, 0.0, -1.0])
    fun = lambda x: dnp.sum(dnp.sinc(x) * dnp.arange(1.0, 5.0))  # noqa: E731
    same_with_nan(METHODS[method].hessian(fun)(x), jax.hessian(fun)(x), rtol=1e-13, atol=1e-15)
    same_with_nan(METHODS[method].jacobian(dnp.sinc)(x), jax.jacrev(jnp.sinc)(x), rtol=1e-13, atol=1e-15)
