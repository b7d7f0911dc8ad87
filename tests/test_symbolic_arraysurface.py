"""The array level's indexing, reductions, diag/outer and stacked matrix products, against JAX on
random shapes; what it cannot express falls back to scalar expansion (expand='auto') or is refused
(expand='array'), never a wrong number."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import symbolic as S
from diffcompare.errors import UnsupportedOperationError
from diffcompare.symbolic import array as AL
from diffcompare.symbolic import array as M

from .helpers import assert_close

SETTINGS = settings(max_examples=5, deadline=None, derandomize=True)


def _array(seed, shape):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape))


def _agree(f, x, hessian=True):
    """The array level's gradient (and Hessian of a 1-d argument) equals JAX's (both compiled: one
    compilation per random shape costs less than eager JAX compiling each operation for it)."""
    assert_close(S.grad(f, expand="array", jit=True)(x), jax.jit(jax.grad(f))(x), 1e-12)
    if hessian and x.ndim == 1:
        assert_close(S.hessian(f, expand="array", jit=True)(x), jax.jit(jax.hessian(f))(x), 1e-12)


@st.composite
def _slices(draw, n):
    start = draw(st.one_of(st.none(), st.integers(-n, n)))
    stop = draw(st.one_of(st.none(), st.integers(-n, n)))
    step = draw(st.sampled_from([None, 1, 2, -1, -2]))
    return slice(start, stop, step)


@pytest.mark.slow
@SETTINGS
@given(st.data())
def test_basic_indexing_and_slicing(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    index = []
    for n in shape[:data.draw(st.integers(1, len(shape)))]:
        index.append(data.draw(st.one_of(st.integers(-n, n - 1), _slices(n))))
    if data.draw(st.booleans()):
        index.insert(data.draw(st.integers(0, len(index))), None)
    index = tuple(index)
    x = _array(len(shape), shape)

    def f(v):
        part = v[index]
        return dnp.sum(dnp.sin(part) * part) + dnp.sum(v[..., :1] ** 2)

    _agree(f, x)


@pytest.mark.slow
@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_reductions_other_than_sum(shape, data):
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    keepdims = data.draw(st.booleans())
    x = _array(7, tuple(shape))
    for reduce in (dnp.mean, dnp.max, dnp.min):
        def f(v, reduce=reduce):
            return dnp.sum(dnp.exp(reduce(v * v, axis=axis, keepdims=keepdims)))

        _agree(f, x)


def test_max_and_min_share_ties_equally_as_jax():
    v = jnp.array([1.0, 3.0, 3.0, -2.0, -2.0])
    for f in (dnp.max, dnp.min, lambda a: dnp.sum(dnp.max(dnp.reshape(a[:4], (2, 2)), axis=1))):
        assert_close(S.grad(f, expand="array")(v), jax.grad(f)(v), 1e-15)


@pytest.mark.slow
@SETTINGS
@given(st.integers(1, 6), st.integers(0, 100))
def test_diag_diagonal_and_outer_through_dnp(n, seed):
    x = _array(seed, (n,))
    m = _array(seed + 1, (n, n))
    _agree(lambda v: dnp.sum(dnp.diag(v) @ dnp.exp(v)) + dnp.sum(dnp.outer(v, v) ** 2), x)
    _agree(lambda a: dnp.sum(dnp.diag(a @ a.T) ** 2) + dnp.sum(dnp.diagonal(dnp.sin(a))), m)
    _agree(lambda v: dnp.sum(dnp.diag(m @ dnp.outer(v, v)) ** 2), x)
    assert AL.to_text(M.gradient_expression(lambda v: dnp.sum(dnp.diag(v) @ m), x)).startswith("diagonal(")


@pytest.mark.slow
@SETTINGS
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.booleans())
def test_stacks_of_matrix_products(b, p, q, r, broadcast):
    a = _array(b, (b, p, q))
    c = _array(r, (1, q, r) if broadcast else (q, r))
    _agree(lambda x: dnp.sum(dnp.tanh(x @ c) ** 2), a)
    _agree(lambda y: dnp.sum(dnp.tanh(a @ y) ** 2), c)


@pytest.mark.slow
def test_a_hessian_through_a_stack_of_products_falls_back_or_refuses():
    a, v = _array(0, (2, 3, 3)), _array(1, (3,))

    def f(x):
        return dnp.sum((a @ dnp.reshape(x, (3, 1))) ** 2)

    assert_close(S.hessian(f)(v), jax.hessian(f)(v), 1e-12)
    with pytest.raises(UnsupportedOperationError, match="expand='scalar'"):
        S.hessian(f, expand="array")(v)


def test_advanced_indexing_falls_back_or_refuses():
    x = _array(0, (5,))
    f = lambda v: dnp.sum(v[jnp.array([0, 0, 3])] ** 3)  # noqa: E731 - a repeated advanced index
    assert_close(S.grad(f)(x), jax.grad(f)(x), 1e-12)
    with pytest.raises(UnsupportedOperationError, match="advanced"):
        S.grad(f, expand="array")(x)


def test_indexing_prints_as_indexing():
    expr = M.gradient_expression(lambda v: dnp.sum(v[1:4] ** 2), jnp.ones(6))
    assert AL.to_text(expr) == "scatter(2 ⊙ v[1:4], [1:4], (6,))"


@pytest.mark.slow
@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 100))
def test_vjp_jvp_and_jacobian_at_array_level(m, n, seed):
    W, x = _array(seed, (m, n)), _array(seed + 1, (n,))
    ct, tangents = _array(seed + 2, (m,)), (_array(seed + 3, (m, n)), _array(seed + 4, (n,)))

    def f(W, x):
        return dnp.tanh(W @ x) * dnp.sum(x[:1] ** 2)

    out, vjp_fn = S.vjp(f, W, x, expand="array", jit=True)
    ref_out, ref_vjp_fn = jax.vjp(f, W, x)
    assert_close(out, ref_out, 1e-12)
    assert_close(vjp_fn(ct), ref_vjp_fn(ct), 1e-12)
    assert_close(S.jvp(f, (W, x), tangents, expand="array", jit=True), jax.jvp(f, (W, x), tangents), 1e-12)
    assert_close(S.jacobian(f, (0, 1), expand="array", jit=True)(W, x), jax.jacobian(f, (0, 1))(W, x), 1e-12)


def test_hessian_vector_products_are_array_expressions():
    A, x, v = _array(0, (4, 4)), _array(1, (4,)), _array(2, (4,))

    def f(x, A):
        return x @ (A @ x) + dnp.sum(dnp.sin(x))

    expr = M.hvp_expression(f, x, A)
    assert AL.to_text(expr) == "A v + Aᵀ v - v ⊙ sin(x)"
    assert_close(M.evaluate(expr, x=x, A=A, v=v), jax.jvp(lambda y: jax.grad(f)(y, A), (x,), (v,))[1], 1e-12)


def test_outputs_that_are_not_one_array_take_the_scalar_path():
    x = _array(3, (3,))

    def f(v):
        return v, 2.0 * v

    out, vjp_fn = S.vjp(f, x)
    ref_out, ref_vjp_fn = jax.vjp(f, x)
    assert_close(out, ref_out, 1e-15)
    assert_close(vjp_fn((x, -x)), ref_vjp_fn((x, -x)), 1e-15)
    assert_close(S.jacobian(lambda v: {"a": v**2})(x), jax.jacobian(lambda v: {"a": v**2})(x), 1e-15)
    assert_close(S.jvp(lambda v: [dnp.sin(v)], (x,), (x,)), jax.jvp(lambda v: [jnp.sin(v)], (x,), (x,)), 1e-15)
    with pytest.raises(UnsupportedOperationError, match="not one array"):
        S.vjp(f, x, expand="array")
