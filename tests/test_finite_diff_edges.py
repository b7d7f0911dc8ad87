"""Finite differences on edge cases and bad input: the right answer (as JAX gives it) or a clear error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import finite_diff as fd
from diffcompare import forward, jax_ref, reverse, symbolic
from diffcompare.errors import (
    DiffCompareError,
    InvalidOptionError,
    NotComplexSafeError,
    UnsupportedOperationError,
)

from .helpers import assert_close

X = jnp.array([0.5, -1.0, 2.0])


# ---------------------------------------------------------------- zero-size inputs, as JAX


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_zero_size_input_gives_empty_derivatives_like_jax(shape):
    x = jnp.zeros(shape)
    assert_close(fd.grad(dnp.sum)(x), jax.grad(jnp.sum)(x), 0.0, "grad")
    got = fd.jacobian(lambda x: dnp.sum(x, axis=-1) * 2.0)(x)
    ref = jax.jacobian(lambda x: jnp.sum(x, axis=-1) * 2.0)(x)
    assert got.shape == ref.shape
    out, tangent = fd.jvp(lambda x: x * 2.0, (x,), (x,))
    assert tangent.shape == shape
    out, vjp_fn = fd.vjp(lambda x: x * 2.0, x)
    assert vjp_fn(out)[0].shape == shape
    assert fd.hessian(dnp.sum)(x).shape == jax.hessian(jnp.sum)(x).shape


def test_zero_size_input_next_to_a_non_empty_one():
    def f(x, y):
        return dnp.sum(x) + dnp.sum(y**2)

    args = (jnp.zeros(0), X)
    assert_close(fd.grad(f, (0, 1))(*args), jax.grad(f, (0, 1))(*args), 1e-7, "mixed")


# ---------------------------------------------------------------- options


@pytest.mark.parametrize("call,match", [
    (lambda: fd.evaluations("bogus", 3), "unknown scheme 'bogus'; choose one of"),
    (lambda: fd.evaluations("central", -1), "n must be an int >= 0"),
    (lambda: fd.evaluations("central", 2.5), "n must be an int >= 0"),
    (lambda: fd.order("bogus"), "unknown scheme 'bogus'"),
    (lambda: fd.default_step("bogus"), "unknown scheme 'bogus'"),
    (lambda: fd.tolerance("float64", "bogus"), "unknown scheme 'bogus'"),
    (lambda: fd.tolerance("float16"), "dtype must be one of"),
])
def test_helpers_refuse_bad_arguments(call, match):
    with pytest.raises(InvalidOptionError, match=match):
        call()


def test_evaluations_at_zero_inputs():
    assert fd.evaluations("central", 0) == 0


@pytest.mark.parametrize("scheme", ["forward", "central", "central4", "richardson"])
def test_a_step_lost_in_rounding_is_refused_with_the_step_to_use(scheme):
    with pytest.raises(InvalidOptionError, match=r"step=1e-300 is lost in rounding.*use step >= .*default"):
        fd.grad(lambda x: x**2, scheme=scheme, step=1e-300)(1.0)
    with pytest.raises(InvalidOptionError, match="step=1e-300 is lost in rounding"):
        fd.jvp(lambda x: x**2, (X,), (jnp.ones(3),), scheme=scheme, step=1e-300)


def test_a_tiny_step_that_x_resolves_is_kept():
    # at x = 0 a step of 1e-300 is representable: f(±h) are exact and so is the difference
    assert float(fd.grad(lambda x: 3.0 * x, step=1e-300)(0.0)) == 3.0
    # the complex step has no cancellation: tiny steps are its point
    assert float(fd.grad(lambda x: x**2, scheme="complex", step=1e-300)(1.0)) == 2.0


# ---------------------------------------------------------------- the complex step


@pytest.mark.parametrize("f,op", [
    (lambda x: jnp.sum(jnp.abs(x)), "abs"),
    (lambda x: jnp.max(x), "max"),
])
def test_complex_step_through_jax_numpy_names_the_operation(f, op):
    with pytest.raises(NotComplexSafeError, match=f"jnp.{op} in `"):
        fd.grad(f, scheme="complex")(X)


def test_complex_step_through_an_analytic_jax_numpy_function_says_to_use_dnp():
    with pytest.raises(UnsupportedOperationError, match=r"jax\.numpy\.sum.*dnp\.sum"):
        fd.grad(lambda x: jnp.sum(jnp.sin(x)), scheme="complex")(X)


# ---------------------------------------------------------------- f is called on arrays, as JAX calls it


def test_x_over_x_at_python_zero_is_nan_like_jax():
    f = lambda x: x / x  # noqa: E731
    value, g = fd.value_and_grad(f)(0.0)
    ref_value, ref = jax.value_and_grad(f)(0.0)
    assert np.isnan(value) and np.isnan(ref_value)
    assert np.isnan(g) and np.isnan(ref)
    assert np.isnan(fd.jacobian(f)(0.0))


def test_f_receives_arrays_for_the_differentiated_arguments_only():
    seen = []

    def f(x, n):
        seen.append((isinstance(x, jax.Array), type(n)))
        return x * n

    fd.grad(f)(2.0, 3)
    assert seen and all(is_array and tn is int for is_array, tn in seen)


# ---------------------------------------------------------------- another method over finite differences


@pytest.mark.parametrize("outer,engine", [
    (forward.grad, "forward"),
    (reverse.grad, "reverse"),
    (symbolic.grad, "symbolic"),
    (jax.grad, "JAX"),
    (jax_ref.grad, "JAX"),
    (lambda g: (lambda x: jax.jvp(g, (x,), (1.0,))[1]), "JAX"),
])
def test_another_method_over_finite_differences_is_refused(outer, engine):
    with pytest.raises(UnsupportedOperationError, match=f"finite differences.*{engine}.*finite_diff.hessian"):
        outer(fd.grad(lambda x: x**3))(1.5)


def test_finite_differences_of_a_closure_over_another_engines_value_are_refused():
    def outer(y):
        return fd.grad(lambda x: x * y)(1.0)

    with pytest.raises(UnsupportedOperationError, match="finite differences"):
        forward.grad(outer)(2.0)


@pytest.mark.slow
def test_finite_differences_under_jit_and_vmap_still_work():
    g = fd.grad(lambda x: dnp.sum(dnp.sin(x)))
    assert_close(jax.vmap(g)(jnp.stack([X, 2 * X])), jnp.cos(jnp.stack([X, 2 * X])), 1e-8, "vmap")
    assert_close(jax.jit(g)(X), jnp.cos(X), 1e-8, "jit")


# ---------------------------------------------------------------- issue 17: hessian of vector f, keyword arguments


@pytest.mark.slow
def test_hessian_of_a_vector_valued_function_like_jax():
    def f(x):
        return dnp.stack([dnp.sum(x**3), x[0] * x[1] * x[2]])

    got = fd.hessian(f)(X)
    ref = jax.hessian(f)(X)
    assert got.shape == ref.shape == (2, 3, 3)
    assert_close(got, ref, 1e-5, "vector hessian")


@pytest.mark.slow
def test_hessian_of_a_pytree_valued_function_like_jax():
    def f(p):
        return {"a": p["w"] ** 2, "b": dnp.sum(p["w"] * p["v"])}

    p = {"w": X, "v": jnp.ones(3)}
    assert_close(fd.hessian(f)(p), jax.hessian(f)(p), 1e-5, "pytree hessian")


@pytest.mark.slow
def test_keyword_arguments_pass_through_to_f_like_jax():
    def f(x, y, power=2.0, flag=False):
        return dnp.sum(x**power) * y if flag else dnp.sum(x) * y

    for fn in (fd.grad, fd.value_and_grad):
        got = fn(f)(X, 3.0, power=3.0, flag=True)
        ref = getattr(jax, fn.__name__)(f)(X, 3.0, power=3.0, flag=True)
        assert_close(got, ref, 1e-7, fn.__name__)
    assert_close(fd.jacobian(f, 1)(X, 3.0, flag=True), jax.jacobian(f, 1)(X, 3.0, flag=True), 1e-7, "jacobian")
    assert_close(fd.hessian(f)(X, 3.0, power=3.0, flag=True), jax.hessian(f)(X, 3.0, power=3.0, flag=True), 1e-5,
                 "hessian")


def test_errors_are_diffcompare_errors():
    # every refusal above is a DiffCompareError: one except clause catches them all
    with pytest.raises(DiffCompareError):
        fd.grad(lambda x: x, step=1e-300)(1.0)
