"""JAX's answer at the edges: NaN and inf, non-float outputs, low and mixed precision (issue 26)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import METHODS
from diffcompare.errors import DiffCompareError, InvalidInputError

AD = ["symbolic", "forward", "reverse", "jax"]


def same_with_nan(ours, ref, rtol=1e-12):
    """Equal to ``ref`` entry by entry, NaN where ``ref`` is NaN, inf where it is inf."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=rtol)


# ---------------------------------------------------------------- outputs JAX refuses


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("fun, x", [
    (lambda x: x > 0, 1.0),
    (lambda x: dnp.sum(x) > 0, jnp.ones(2)),
    (lambda x: dnp.argmax(x), jnp.array([1.0, 3.0, 2.0])),
], ids=["bool", "bool-of-sum", "int"])
def test_a_non_float_output_is_refused_as_jax_refuses(method, fun, x):
    if method == "symbolic" and jnp.result_type(fun(x)).kind == "i":  # argmax: symbolic refuses earlier
        with pytest.raises(DiffCompareError):
            METHODS[method].grad(fun)(x)
        return
    with pytest.raises(InvalidInputError, match="floating-point output"):
        METHODS[method].grad(fun)(x)


@pytest.mark.parametrize("method", ["finite_diff", "forward", "reverse", "jax"])
def test_a_complex_output_is_refused_without_holomorphic(method):
    with pytest.raises(DiffCompareError, match="complex"):
        METHODS[method].grad(lambda x: x * (1.0 + 2.0j))(1.0)


# ---------------------------------------------------------------- NaN and inf


@pytest.mark.parametrize("method", list(METHODS))
def test_nan_in_max_and_min_propagates(method):
    x = jnp.array([1.0, jnp.nan, 2.0])
    for reduce in (dnp.max, dnp.min):
        same_with_nan(METHODS[method].grad(reduce)(x), jax.grad(reduce)(x))


@pytest.mark.parametrize("method", AD)
def test_zero_times_nan_is_nan_in_value_and_gradient(method):
    value, _ = METHODS[method].value_and_grad(lambda x: x * 0.0 + 1.0)(jnp.nan)
    assert np.isnan(value)
    same_with_nan(METHODS[method].grad(lambda x: dnp.log(x) * 0.0)(0.0), jax.grad(lambda x: jnp.log(x) * 0.0)(0.0))


FUNCTIONS = [
    lambda m, x: m.sum(x * 0.0 + x**2),
    lambda m, x: m.sum(m.log(x) * 0.0 + x),
    lambda m, x: m.sum(x - x + m.sin(x)),
    lambda m, x: m.max(x * 2.0),
    lambda m, x: m.sum(m.maximum(x, 0.5) * 3.0 - 3.0 * x),
]


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.5, -2.0, np.inf, -np.inf, np.nan]), min_size=1, max_size=4),
       st.integers(0, len(FUNCTIONS) - 1), st.sampled_from(AD))
def test_nan_and_inf_anywhere_match_jax(values, which, method):
    """Against jax.grad; forward mode may also give jax.jacfwd's numbers (a basis pushed at once lets a
    NaN partial reach every column)."""
    x = jnp.asarray(values)
    fun = FUNCTIONS[which]
    ref_value, ref_grad = jax.value_and_grad(lambda y: fun(jnp, y))(x)
    value, gradient = METHODS[method].value_and_grad(lambda y: fun(dnp, y))(x)
    same_with_nan(value, ref_value)
    if method == "forward":  # JAX's own forward mode, or its reverse mode: both are JAX's numbers
        try:
            same_with_nan(gradient, jax.jacfwd(lambda y: fun(jnp, y))(x))
            return
        except AssertionError:
            pass
    same_with_nan(gradient, ref_grad)


# ---------------------------------------------------------------- precision


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_inputs_are_differentiated(method, dtype):
    x = jnp.asarray([1.5, 2.0], dtype)
    gradient = METHODS[method].grad(lambda y: dnp.sum(dnp.sin(y) * y))(x)
    reference = jax.grad(lambda y: jnp.sum(jnp.sin(y) * y))(x)
    assert gradient.dtype == reference.dtype
    tol = 0.1 if method == "finite_diff" else 1e-2  # differences in 8 bits of mantissa are rough by nature
    np.testing.assert_allclose(np.asarray(gradient, np.float32), np.asarray(reference, np.float32), atol=tol)


@pytest.mark.parametrize("method", list(METHODS))
def test_each_leaf_keeps_its_dtype_and_precision(method):
    """float32 parameters beside float64 data and a float64 leaf: JAX's dtypes, each at its own precision."""
    data = jnp.asarray(np.linspace(0.0, 1.0, 3))

    def loss(p, m=dnp):
        return m.sum((p["w"] * data) ** 2) + m.sum(p["b"] ** 2)

    params = {"w": jnp.ones(3, jnp.float32), "b": jnp.full(2, 1.0000001, jnp.float64)}
    ours = METHODS[method].grad(loss)(params)
    ref = jax.grad(lambda p: loss(p, jnp))(params)
    for k in ref:
        assert ours[k].dtype == ref[k].dtype, k
    np.testing.assert_allclose(ours["b"], ref["b"], rtol=1e-9 if method == "finite_diff" else 1e-15)
    np.testing.assert_allclose(ours["w"], ref["w"], rtol=1e-3 if method == "finite_diff" else 1e-6)
