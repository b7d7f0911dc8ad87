"""The peers' own test cases (autograd, JAX, micrograd; see ``tests/_peer_cases.py``) through the symbolic
method against JAX: the first derivative (``grad`` of a scalar output, ``jacobian`` otherwise), the second
(``hessian``: JAX's Jacobian of the Jacobian for a vector output), ``jvp`` and ``vjp``; and the first
derivative through forward and reverse mode. Shapes, dtypes, pytree structure and values must be JAX's,
an identically zero derivative included (the Hessian of a linear function is the (n, n) zero matrix).
A case an operation genuinely cannot be traced symbolically for is refused with a clear error, never a
wrong number or a bare TypeError (:data:`REFUSED`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import METHODS
from diffcompare.errors import ConcretizationError, DiffCompareError, UnsupportedOperationError

from ._peer_cases import CASES

S = METHODS["symbolic"]

#: case -> (the error symbolic raises, why): an operation whose result is not an expression of the input
REFUSED = {
    "sort": (ConcretizationError, "the permutation depends on the values"),
    "lax_sort": (ConcretizationError, "the permutation depends on the values"),
    "partition": (ConcretizationError, "the permutation depends on the values"),
    "jax_at_set_value": (UnsupportedOperationError, "a plain JAX array's .at[].set cannot hold an expression"),
}
CASE_IDS = [c.name for c in CASES]


def _scalar_output(case) -> bool:
    out = case.fun(*case.args)
    return not isinstance(out, (dict, list, tuple)) and jnp.shape(out) == ()


def assert_like_jax(ours, ref, what: str):
    """The same pytree, leaf shapes and dtypes as JAX's, and the same values (NaN where JAX has NaN)."""
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(ref), what
    for o, r in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(ref)):
        if getattr(r, "dtype", None) == jax.dtypes.float0:  # the tangent of a bool or integer: no values
            assert getattr(o, "dtype", None) == jax.dtypes.float0 and np.shape(o) == np.shape(r), what
            continue
        o, r = jnp.asarray(o), jnp.asarray(r)
        assert o.shape == r.shape, f"{what}: shape {o.shape}, JAX's {r.shape}"
        assert o.dtype == r.dtype, f"{what}: dtype {o.dtype}, JAX's {r.dtype}"
        np.testing.assert_allclose(np.asarray(o), np.asarray(r), rtol=1e-9, atol=1e-12, err_msg=what)


def _refused(case, run):
    error, _why = REFUSED[case.name]
    with pytest.raises(error):
        run()


def first(module, case):
    transform = module.grad if _scalar_output(case) else module.jacobian
    return transform(case.fun, case.argnums)(*case.args)


def first_jax(case):
    return (jax.grad if _scalar_output(case) else jax.jacrev)(case.fun, case.argnums)(*case.args)


# Each case runs in symbolic once, to keep the suite's time: the first derivative on the even cases, the
# Hessian and the products on the odd ones (every second of them each); forward and reverse on every case.
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_first_derivative(case):
    if case.name in REFUSED:
        return _refused(case, lambda: first(S, case))
    assert_like_jax(first(S, case), first_jax(case), f"{case.name} ({case.source})")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES[1::4], ids=CASE_IDS[1::4])
def test_second_derivative(case):
    if case.name in REFUSED:
        return _refused(case, lambda: S.hessian(case.fun, case.argnums)(*case.args))
    ours = S.hessian(case.fun, case.argnums)(*case.args)
    assert_like_jax(ours, jax.hessian(case.fun, case.argnums)(*case.args), f"{case.name} ({case.source})")


def _tangents(case):
    return tuple(jax.tree_util.tree_map(lambda a: jnp.full(jnp.shape(a), 0.5, jnp.result_type(a)), a)
                 for a in case.args)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES[3::4], ids=CASE_IDS[3::4])
def test_jvp_and_vjp(case):
    if case.name in REFUSED:
        return _refused(case, lambda: S.jvp(case.fun, case.args, _tangents(case)))
    tangents = _tangents(case)
    assert_like_jax(S.jvp(case.fun, case.args, tangents)[1], jax.jvp(case.fun, case.args, tangents)[1],
                    f"jvp {case.name}")
    out, vjp_fn = jax.vjp(case.fun, *case.args)
    cotangent = jax.tree_util.tree_map(lambda o: jnp.full(jnp.shape(o), 0.5, jnp.result_type(o)), out)
    ours_out, ours_vjp = S.vjp(case.fun, *case.args)
    assert_like_jax(ours_vjp(cotangent), vjp_fn(cotangent), f"vjp {case.name}")
    np.testing.assert_allclose(np.asarray(jax.tree_util.tree_leaves(ours_out)[0]),
                               np.asarray(jax.tree_util.tree_leaves(out)[0]), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse"])
@pytest.mark.parametrize("case", [c for c in CASES if c.name not in REFUSED], ids=lambda c: c.name)
def test_first_derivative_forward_and_reverse(method, case):
    assert_like_jax(first(METHODS[method], case), first_jax(case), f"{method} {case.name}")


def test_refusals_say_why():
    """A refused case names the operation or says what to do, as every error of the library does."""
    for case in CASES:
        if case.name in REFUSED:
            with pytest.raises(DiffCompareError) as info:
                first(S, case)
            assert len(str(info.value)) > 40


# ---------------------------------------------------------------- what the cases found, pinned at both levels


@pytest.mark.parametrize("expand", ["array", "scalar"])
@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "trunc"])
def test_piecewise_constant_functions_are_expressions_with_derivative_zero(name, expand):
    step = getattr(dnp, name)
    x = jnp.array([-1.7, -0.5, 0.4, 2.5])

    def f(y):
        return dnp.sum(step(y) * y)

    value, gradient = S.value_and_grad(f, expand=expand)(x)
    np.testing.assert_array_equal(value, f(x))
    np.testing.assert_array_equal(gradient, jax.grad(f)(x))
    assert_like_jax(S.hessian(f, expand=expand)(x), jax.hessian(f)(x), f"hessian of {name}")


@pytest.mark.parametrize("expand", ["array", "scalar"])
def test_a_derivative_by_an_unreached_input_has_that_input_shape_whatever_was_compiled_before(expand):
    # the array level's compiled programs were keyed on what the outputs reach: a constant output's
    # gradient by a (2, 3) matrix was served again for a scalar
    for x in (jnp.ones((2, 3)), jnp.asarray(0.7), jnp.ones(4)):
        assert_like_jax(S.grad(lambda y: 3.0, expand=expand)(x), jax.grad(lambda y: 3.0)(x), "grad of a constant")
        assert_like_jax(S.jacobian(lambda y: jnp.ones(2), expand=expand)(x), jax.jacrev(lambda y: jnp.ones(2))(x),
                        "jacobian of a constant array")


@pytest.mark.parametrize("method", ["symbolic", "forward", "reverse"])
def test_python_remainder_operator_on_engine_values(method):
    def f(x, y):
        return x % y + 2.5 % y

    x, y = jnp.array([1.7, -0.4, 3.1]), jnp.array([0.8, 0.9, -1.1])
    assert_like_jax(METHODS[method].jacobian(f, (0, 1))(x, y), jax.jacrev(f, (0, 1))(x, y), f"{method} x % y")


# autograd's tests/test_graphs.py and JAX's api_test nest transformations: symbolic inside symbolic
RANDV = jnp.arange(4.0) / 3
NESTED = {
    "enclosing_scope_ref": (lambda g: g(lambda x: x * g(lambda y: x * y)(2.0)), (1.0,)),
    "third_derivative": (lambda g: g(g(g(lambda x: dnp.sin(dnp.sin(x) + dnp.sin(x))))), (0.4,)),
    "grad_of_identity_twice": (lambda g: g(g(lambda x: x)), (2.0,)),
    "grad_of_constant_twice": (lambda g: g(g(lambda x: 1.0)), (2.0,)),
    "hess_vector_prod": (lambda g: g(lambda x, v: dnp.sin(dnp.dot(v, g(lambda z: dnp.sin(dnp.dot(z, RANDV)))(x))),
                                     (0, 1)), (jnp.array([0.1, 0.2, -0.3, 0.5]), jnp.array([1.0, -0.5, 0.2, 0.3]))),
    "jvp_inside_grad": (lambda g: g(lambda x: dnp.sum(_jvp_of(g)(dnp.sin, (x,), (x,))[1])), (jnp.array([0.1, 0.7]),)),
    "vjp_inside_grad": (lambda g: g(lambda x: dnp.sum(_vjp_of(g)(dnp.sin, x)[1](x)[0])), (jnp.array([0.1, 0.7]),)),
    "sign_twice": (lambda g: g(g(lambda x: 3.0 * dnp.sign(x))), (-1.1,)),
    "mod_twice": (lambda g: g(g(lambda x: dnp.mod(x, 0.3) * x)), (1.1,)),
}


def _jvp_of(grad):
    return jax.jvp if grad is jax.grad else S.jvp


def _vjp_of(grad):
    return jax.vjp if grad is jax.grad else S.vjp


@pytest.mark.parametrize("name", list(NESTED))
def test_nested_symbolic_transformations(name):
    build, args = NESTED[name]
    assert_like_jax(build(S.grad)(*args), build(jax.grad)(*args), name)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_outputs_keep_the_dtype_f_gave_them_in_jvp_and_vjp(dtype):
    # JAX's api_test: a comparison stays bool, a count int (tangent float0), a Python float is JAX's float
    def f(x):
        return dnp.sum(x * x), jnp.ones(2, int), x > 0, 2.0

    x = jnp.array([0.1, -0.2], dtype)
    assert_like_jax(S.jvp(f, (x,), (x,)), jax.jvp(f, (x,), (x,)), "jvp")
    (out, vjp_fn), (ref_out, ref_fn) = S.vjp(f, x), jax.vjp(f, x)
    assert_like_jax(out, ref_out, "vjp's output")
    cotangent = (jnp.asarray(1.0, dtype), np.zeros(2, jax.dtypes.float0), np.zeros(2, jax.dtypes.float0), 1.0)
    assert_like_jax(vjp_fn(cotangent), ref_fn(cotangent), "vjp with float0 cotangents")
