"""Finite differences against JAX: every scheme, every zoo problem, every error path."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import finite_diff as fd
from diffcompare import jax_ref
from diffcompare.errors import (
    InvalidInputError,
    InvalidOptionError,
    NonScalarOutputError,
    NotComplexSafeError,
    PrecisionWarning,
    ShapeMismatchError,
)
from diffcompare.problems import PROBLEMS

from .helpers import argnums_of, assert_close, rel_error

# relative error each scheme reaches on the zoo at its default step (float64)
TOLERANCE = {"forward": 1e-5, "backward": 1e-5, "central": 1e-7, "central4": 1e-8,
             "complex": 1e-13, "richardson": 1e-10}
HESSIAN_TOLERANCE = {"forward": 1e-2, "backward": 1e-2, "central": 1e-5, "central4": 1e-6,
                     "complex": 1e-8, "richardson": 1e-8}
SMALL = {"mlp_l2": 4, "mlp_softmax_xent": 4, "layered_net": 4}


def instance(name, seed=1):
    return PROBLEMS[name].make(size=SMALL.get(name), seed=seed)


def exp_over_square(x):
    return dnp.exp(x) / x**2


# ---------------------------------------------------------------- the course's accuracy claims


@pytest.mark.parametrize("scheme,bound", [("central", 1e-9), ("central4", 1e-11), ("richardson", 1e-12),
                                          ("complex", 1e-15)])
def test_accuracy_on_exp_over_square_at_1_5(scheme, bound):
    exact = np.exp(1.5) * (1.5 - 2) / 1.5**3
    err = abs(float(fd.grad(exp_over_square, scheme=scheme)(1.5)) - exact) / abs(exact)
    assert err <= bound


def test_errors_fall_with_the_order_of_the_scheme():
    exact = np.exp(1.5) * (1.5 - 2) / 1.5**3
    errs = [abs(float(fd.grad(exp_over_square, scheme=s)(1.5)) - exact) for s in ("forward", "central", "central4")]
    assert errs[0] > 100 * errs[1] > 100 * errs[2] / 10


def test_truncation_slope_matches_the_order():
    # error ∝ h^p while truncation dominates: halving h divides it by 2^p
    exact = np.exp(1.5) * (1.5 - 2) / 1.5**3
    for scheme, p in [("forward", 1), ("central", 2), ("central4", 4)]:
        e1, e2 = (abs(float(fd.grad(exp_over_square, scheme=scheme, step=h)(1.5)) - exact) for h in (1e-2, 5e-3))
        assert abs(np.log2(e1 / e2) - p) < 0.2, scheme


def test_round_off_makes_tiny_steps_worse():
    exact = np.exp(1.5) * (1.5 - 2) / 1.5**3
    err = [abs(float(fd.grad(exp_over_square, step=h)(1.5)) - exact) for h in (1e-5, 1e-12)]
    assert err[1] > 100 * err[0]


# ---------------------------------------------------------------- the zoo against JAX


# every scheme on a representative set; the default scheme on the whole zoo
ALL_SCHEMES_ON = ["exp_over_square", "exp_sin_xy", "sqrt_cos", "logistic_map", "rosenbrock", "mlp_l2", "tall_map",
                  "kinks"]
CASES = [(name, scheme) for name in PROBLEMS for scheme in fd.SCHEMES if name in ALL_SCHEMES_ON or scheme == "central"]


@pytest.mark.slow
@pytest.mark.parametrize("name,scheme", CASES)
def test_zoo_derivative_matches_jax(name, scheme):
    inst = instance(name)
    argnums = argnums_of(inst)
    if scheme == "complex" and inst.problem.has_kinks:
        with pytest.raises(NotComplexSafeError):
            fd.grad(inst.fun, argnums, scheme=scheme)(*inst.args)
        return
    if scheme == "richardson" and inst.problem.has_kinks:
        pytest.skip("Richardson's first steps are large (a few % of |x|) and may straddle a kink (documented)")
    if inst.scalar_output:
        value, got = fd.value_and_grad(inst.fun, argnums, scheme=scheme)(*inst.args)
        ref_value, ref = jax_ref.value_and_grad(inst.fun, argnums)(*inst.args)
        np.testing.assert_allclose(value, ref_value, rtol=1e-14)
    else:
        got = fd.jacobian(inst.fun, argnums, scheme=scheme)(*inst.args)
        ref = jax_ref.jacobian(inst.fun, argnums)(*inst.args)
    assert_close(got, ref, TOLERANCE[scheme], f"{name}/{scheme}")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in PROBLEMS if n != "all_ops"])
def test_zoo_jvp_and_vjp_match_jax(name):
    inst = instance(name, seed=2)
    rng = np.random.default_rng(0)
    tangents = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=jnp.shape(a))), inst.args)
    out, tangent_out = fd.jvp(inst.fun, inst.args, tangents)
    ref_out, ref_tangent = jax_ref.jvp(inst.fun, inst.args, tangents)
    np.testing.assert_allclose(out, ref_out, rtol=1e-14)
    assert_close(tangent_out, ref_tangent, 1e-6, f"{name} jvp")
    out, vjp_fn = fd.vjp(inst.fun, *inst.args)
    cotangent = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=jnp.shape(a))), out)
    ref_out, ref_vjp = jax_ref.vjp(inst.fun, *inst.args)
    assert_close(vjp_fn(cotangent), ref_vjp(cotangent), 1e-6, f"{name} vjp")


@pytest.mark.slow
@pytest.mark.parametrize("scheme", list(fd.SCHEMES))
@pytest.mark.parametrize("name", ["exp_over_square", "exp_sin_xy", "rosenbrock"])
def test_hessian_matches_jax(name, scheme):
    inst = instance(name)
    argnums = argnums_of(inst)
    got = fd.hessian(inst.fun, argnums, scheme=scheme)(*inst.args)
    assert_close(got, jax_ref.hessian(inst.fun, argnums)(*inst.args), HESSIAN_TOLERANCE[scheme], f"{name}/{scheme}")


@pytest.mark.slow
def test_rosenbrock_1000_richardson_reaches_1e_12():
    inst = PROBLEMS["rosenbrock"].make(size=1000, seed=0)
    got = fd.grad(inst.fun, scheme="richardson")(*inst.args)
    assert rel_error(got, jax_ref.grad(inst.fun)(*inst.args)) <= 1e-12


# ---------------------------------------------------------------- interface details


@pytest.mark.slow
def test_pytrees_and_argnums_like_jax():
    def f(params, x, scale):
        return scale * dnp.sum(dnp.tanh(params["w"] @ x) ** 2) + dnp.sum(params["b"] * x[:2])

    params = {"w": jnp.ones((2, 3)) * 0.3, "b": jnp.array([0.5, -1.0])}
    x, scale = jnp.array([0.1, 0.2, -0.4]), 2.0
    for argnums in (0, (0, 1), -1):
        got = fd.grad(f, argnums, scheme="central4")(params, x, scale)
        assert_close(got, jax.grad(f, argnums)(params, x, scale), 1e-9, str(argnums))
    jac = fd.jacobian(lambda p: {"a": p["w"] * 2.0, "b": dnp.sum(p["b"])})(params)
    ref = jax.jacobian(lambda p: {"a": p["w"] * 2.0, "b": jnp.sum(p["b"])})(params)
    assert_close(jac, ref, 1e-9, "nested jacobian")


def test_results_are_jax_arrays_with_the_input_dtype():
    g = fd.grad(exp_over_square)(jnp.float32(1.5))
    assert isinstance(g, jax.Array) and g.dtype == jnp.float32
    assert abs(float(g) - float(jax.grad(exp_over_square)(jnp.float32(1.5)))) < 1e-3


def test_value_dependent_branches_fall_back_to_a_loop():
    inst = PROBLEMS["branchy"].make(seed=4)
    got = fd.grad(inst.fun)(*inst.args)
    assert_close(got, jax.grad(inst.fun)(*inst.args), 1e-7, "branchy")


def test_evaluation_counts_match_the_formula():
    calls = []

    def f(x):
        calls.append(1)
        return dnp.sum(dnp.sin(x))

    x = jnp.linspace(0.1, 1.0, 5)
    for scheme in ("forward", "backward", "central", "central4", "complex"):
        calls.clear()
        fd.grad(f, scheme=scheme, vectorize=False)(x)
        assert len(calls) - 1 == fd.evaluations(scheme, 5), scheme  # minus the evaluation of f(x) itself


def test_batched_and_looped_evaluation_agree():
    inst = instance("mlp_softmax_xent")
    a = fd.grad(inst.fun)(*inst.args)
    b = fd.grad(inst.fun, vectorize=False)(*inst.args)
    # the same differences, rounded differently by XLA's fusion: agree to the scheme's precision
    assert rel_error(a, b) < 1e-8


def test_jvp_with_a_zero_tangent_is_zero():
    out, tangent = fd.jvp(lambda x: dnp.sin(x) * 2.0, (jnp.ones(3),), (jnp.zeros(3),))
    np.testing.assert_array_equal(tangent, jnp.zeros(3))


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3), st.sampled_from(["central", "central4", "complex"]))
def test_random_points_and_sizes(values, scheme):
    x = jnp.asarray(values)

    def f(x):
        return dnp.sum(dnp.exp(dnp.sin(x) * x) + dnp.tanh(x) * dnp.cos(2.0 * x)) + dnp.prod(1.0 + 0.1 * x)

    assert_close(fd.grad(f, scheme=scheme)(x), jax.grad(f)(x), TOLERANCE[scheme] * 10, scheme)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("options,match", [
    ({"scheme": "centre"}, "unknown scheme 'centre'; choose one of"),
    ({"step": 0.0}, "step must be positive"),
    ({"step": -1e-3}, "step must be positive"),
    ({"step": float("nan")}, "step must be positive"),
    ({"step": "small"}, "step must be a positive number"),
    ({"levels": 0}, "levels must be an int"),
])
def test_bad_options(options, match):
    with pytest.raises(InvalidOptionError, match=match):
        fd.grad(exp_over_square, **options)(1.5)


def test_non_scalar_output_to_grad():
    with pytest.raises(NonScalarOutputError, match="use jacobian / vjp"):
        fd.grad(lambda x: x * 2.0)(jnp.ones(3))


def test_mismatched_tangents_and_cotangents():
    with pytest.raises(ShapeMismatchError, match="tangent 0 has shape"):
        fd.jvp(lambda x: x, (jnp.ones(3),), (jnp.ones(4),))
    with pytest.raises(ShapeMismatchError, match="one tangent per primal"):
        fd.jvp(lambda x, y: x * y, (jnp.ones(3), 1.0), (jnp.ones(3),))
    out, vjp_fn = fd.vjp(lambda x: x * 2.0, jnp.ones(3))
    with pytest.raises(ShapeMismatchError, match="cotangent"):
        vjp_fn(jnp.ones(2))


def test_integer_and_non_numeric_inputs():
    with pytest.raises(InvalidInputError, match="write 1.0 instead of 1"):
        fd.grad(exp_over_square)(1)
    with pytest.raises(InvalidInputError, match="not a number"):
        fd.grad(lambda s: 1.0)("x")
    with pytest.raises(InvalidOptionError, match="argnums=3"):
        fd.grad(exp_over_square, argnums=3)(1.5)


@pytest.mark.parametrize("f,op", [
    (lambda x: dnp.sum(dnp.abs(x)), "abs"),
    (lambda x: dnp.max(x), "max"),
    (lambda x: dnp.sum(dnp.relu(x)), "relu"),
    (lambda x: dnp.sum(x) if x[0] > 0 else -dnp.sum(x), "comparison"),
    (lambda x: dnp.sum(abs(x)), "abs"),
])
def test_complex_step_refuses_non_analytic_functions(f, op):
    with pytest.raises(NotComplexSafeError, match=op):
        fd.grad(f, scheme="complex")(jnp.array([0.5, -1.0]))


@pytest.mark.slow
def test_complex_step_accepts_analytic_logsumexp_and_softmax():
    def f(x):
        return dnp.logsumexp(x) + dnp.sum(dnp.softmax(x) * x) + dnp.sum(dnp.log_softmax(x))

    x = jnp.array([0.3, -1.0, 2.0])
    assert_close(fd.grad(f, scheme="complex")(x), jax.grad(f)(x), 1e-14, "complex logsumexp")


def test_float64_inputs_without_x64_warn():
    diffcompare.enable_x64(False)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fd.grad(exp_over_square)(np.float64(1.5))
        assert any(issubclass(w.category, PrecisionWarning) for w in caught)
    finally:
        diffcompare.enable_x64(True)
