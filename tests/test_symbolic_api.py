"""The symbolic method interface against JAX: the zoo, new functions, pytrees, argnums, errors,
and the cheap-gradient principle on every zoo problem."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import METHODS, jax_ref
from diffcompare import symbolic as S
from diffcompare.errors import ConcretizationError, InvalidInputError, NonScalarOutputError, ShapeMismatchError
from diffcompare.problems import PROBLEMS

from .helpers import argnums_of, assert_close

SYM = METHODS["symbolic"]
RTOL = 1e-12


@pytest.fixture(autouse=True)
def _eager(monkeypatch):
    # XLA takes far longer to compile these one-off programs than eager JAX takes to run them;
    # jit itself is tested in test_simplify_and_jit_options_give_the_same_numbers
    monkeypatch.setattr(S.api, "JIT_MAX_STEPS", 0)


def _instance(problem, seed=3):
    return problem.make(size=problem.sizes[0] if problem.sizes else None, seed=seed)


def _traceable(problem) -> bool:
    """Problems symbolic can trace: not data-dependent, and no input-dependent where() condition."""
    if problem.data_dependent:
        return False
    inst = _instance(problem)
    try:
        S.trace(inst.fun, *inst.args)
    except ConcretizationError as err:
        assert "where" in str(err), f"{problem.name}: {err}"  # all_ops: dnp.where(x > 0.5, ...)
        return False
    return True


TRACEABLE = [name for name, p in PROBLEMS.items() if _traceable(p)]


def test_the_method_is_registered():
    assert SYM is S
    assert SYM.NAME == "symbolic" and SYM.TOLERANCE["float64"] <= 1e-10
    assert len(TRACEABLE) >= len(PROBLEMS) - 3


@pytest.mark.slow
@pytest.mark.parametrize("name", TRACEABLE)
def test_zoo_derivative_matches_jax(name):
    inst = _instance(PROBLEMS[name])
    argnums = argnums_of(inst)
    if inst.scalar_output:
        value, gradient = SYM.value_and_grad(inst.fun, argnums)(*inst.args)
        ref_value, ref_gradient = jax_ref.value_and_grad(inst.fun, argnums)(*inst.args)
        assert_close(value, ref_value, RTOL, f"{name} value")
        assert_close(gradient, ref_gradient, RTOL, f"{name} gradient")
    else:
        assert_close(SYM.jacobian(inst.fun, argnums)(*inst.args),
                     jax_ref.jacobian(inst.fun, argnums)(*inst.args), RTOL, f"{name} jacobian")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in TRACEABLE if n in ("exp_sin_xy", "polar_map", "mlp_l2", "tall_map")])
def test_zoo_jvp_and_vjp_match_jax(name):
    inst = _instance(PROBLEMS[name])
    rng = np.random.default_rng(5)
    tangents = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=jnp.shape(a))), inst.args)
    out, tangent_out = SYM.jvp(inst.fun, inst.args, tangents)
    ref_out, ref_tangent = jax_ref.jvp(inst.fun, inst.args, tangents)
    assert_close(out, ref_out, RTOL, "jvp primal")
    assert_close(tangent_out, ref_tangent, RTOL, "jvp tangent")
    out, pullback = SYM.vjp(inst.fun, *inst.args)
    ref_out, ref_pullback = jax_ref.vjp(inst.fun, *inst.args)
    ct = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=jnp.shape(a))), ref_out)
    assert_close(out, ref_out, RTOL, "vjp primal")
    assert_close(pullback(ct), ref_pullback(ct), RTOL, "vjp cotangent")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in TRACEABLE if n in ("exp_sin_xy", "sqrt_cos", "rosenbrock", "product")])
def test_zoo_hessian_matches_jax(name):
    inst = _instance(PROBLEMS[name])
    argnums = argnums_of(inst)
    assert_close(SYM.hessian(inst.fun, argnums)(*inst.args), jax.hessian(inst.fun, argnums)(*inst.args), 1e-11)


def test_data_dependent_problems_raise():
    for problem in PROBLEMS.values():
        if problem.data_dependent:
            inst = _instance(problem)
            with pytest.raises(ConcretizationError):
                SYM.grad(inst.fun, argnums_of(inst))(*inst.args)


# ---------------------------------------------------------------- the cheap gradient, symbolically


@pytest.mark.parametrize("name", TRACEABLE)
def test_derivative_graph_is_at_most_four_times_the_function(name):
    """Reverse accumulation on the shared graph: gradient (or, for vector outputs, the VJP with
    symbolic cotangents) costs at most 4x the function's operations, primal operations included."""
    inst = _instance(PROBLEMS[name])
    traced = S.trace(inst.fun, *inst.args)
    wrt = traced.wrt(inst.argnums)
    seeds = None
    if not inst.scalar_output:
        seeds = [np.vectorize(lambda i, k=k: S.var(f"ct{k}_{i}"), otypes=[object])(np.arange(o.size))
                 for k, o in enumerate(traced.out_nodes)]
    derivative = S.reverse(traced.out_nodes, wrt, seeds=seeds)
    function_size = S.measure(traced.out_nodes).graph
    derivative_size = S.measure(derivative).graph
    assert derivative_size <= 4 * max(function_size, 1), (name, function_size, derivative_size)


# ---------------------------------------------------------------- functions the zoo does not have


def many_product(a, b, c, d, e):
    return a * b * c * d * e


def energy(x):
    """A log-barrier energy: Σ x² − Σ log(1 − x²) + log(1 + Σ exp(x))."""
    return dnp.sum(x**2) - dnp.sum(dnp.log(1.0 - x**2)) + dnp.log1p(dnp.sum(dnp.exp(x)))


def softmax_classifier(params, inputs, labels):
    logits = inputs @ params["W"] + params["b"]
    return -dnp.mean(dnp.sum(labels * dnp.log(dnp.softmax(logits, axis=-1)), axis=-1))


def r3_to_r4(v):
    a, b, c = v[0], v[1], v[2]
    return dnp.stack([a * b + c, dnp.sin(a) * dnp.exp(c), b / (1.0 + c**2), dnp.tanh(a - b * c)])


@pytest.mark.slow
def test_new_functions_match_jax_through_methods():
    rng = np.random.default_rng(11)
    scalars = tuple(float(v) for v in rng.uniform(0.5, 1.5, size=5))
    nums = tuple(range(5))
    assert_close(SYM.grad(many_product, nums)(*scalars), jax.grad(many_product, nums)(*scalars), 1e-10)
    x = jnp.asarray(rng.uniform(-0.5, 0.5, size=4))
    assert_close(SYM.grad(energy)(x), jax.grad(energy)(x), 1e-10)
    assert_close(SYM.hessian(energy)(x), jax.hessian(energy)(x), 1e-10)
    params = {"W": jnp.asarray(rng.normal(size=(3, 2))), "b": jnp.asarray(rng.normal(size=2))}
    inputs = jnp.asarray(rng.normal(size=(4, 3)))
    labels = jnp.asarray(np.eye(2)[[0, 1, 1, 0]])
    assert_close(SYM.grad(softmax_classifier)(params, inputs, labels),
                 jax.grad(softmax_classifier)(params, inputs, labels), 1e-10)
    v = jnp.asarray(rng.normal(size=3))
    assert_close(SYM.jacobian(r3_to_r4)(v), jax.jacobian(r3_to_r4)(v), 1e-10)
    t = jnp.asarray(rng.normal(size=3))
    assert_close(SYM.jvp(r3_to_r4, (v,), (t,)), jax.jvp(r3_to_r4, (v,), (t,)), 1e-10)
    out, pullback = SYM.vjp(r3_to_r4, v)
    ref_out, ref_pullback = jax.vjp(r3_to_r4, v)
    ct = jnp.asarray(rng.normal(size=4))
    assert_close(pullback(ct), ref_pullback(ct), 1e-10)


@pytest.mark.slow
def test_argnums_and_pytrees_as_jax():
    def f(p, x, scale):
        return scale * dnp.sum(dnp.tanh(p[0]["w"] @ x) * p[1])

    p = [{"w": jnp.ones((2, 3)) * 0.3}, jnp.array([1.0, -2.0])]
    x = jnp.array([0.1, 0.2, 0.3])
    for argnums in (1, (2, 0)):
        got = SYM.grad(f, argnums)(p, x, 2.0)
        ref = jax.grad(f, argnums)(p, x, 2.0)
        assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(ref)
        assert_close(got, ref, 1e-12, f"argnums={argnums}")
    assert_close(SYM.jacobian(lambda p, x: p[0]["w"] @ x, (0, 1))(p, x),
                 jax.jacobian(lambda p, x: p[0]["w"] @ x, (0, 1))(p, x), 1e-12)
    g = lambda a, b: dnp.sum(dnp.sin(a * b[0]) * b[1])  # noqa: E731
    a, b = jnp.array([0.3, 0.5]), [jnp.array(0.7), jnp.array([1.0, 2.0])]
    assert_close(SYM.hessian(g, (0, 1))(a, b), jax.hessian(g, (0, 1))(a, b), 1e-12)
    # integer arguments stay concrete (they may steer loops) and key the cache by value
    power = lambda v, n: v**n  # noqa: E731
    assert float(SYM.grad(power)(2.0, 3)) == 12.0 and float(SYM.grad(power)(2.0, 4)) == 32.0


def test_errors_read_like_the_other_methods():
    with pytest.raises(NonScalarOutputError):
        SYM.grad(lambda v: v * 2)(jnp.ones(2))
    with pytest.raises(InvalidInputError):
        SYM.grad(lambda v: v * 2)(3)
    with pytest.raises(ShapeMismatchError):
        SYM.jvp(lambda v: v, (jnp.ones(2),), (jnp.ones(3),))
    _, pullback = SYM.vjp(lambda v: v * 2, jnp.ones(2))
    with pytest.raises(ShapeMismatchError):
        pullback(jnp.ones(3))


def test_simplify_and_jit_options_give_the_same_numbers():
    inst = PROBLEMS["sqrt_cos"].make()
    ref = jax.grad(inst.fun)(*inst.args)
    for options in ({"simplify": True}, {"jit": True}, {"jit": False}):
        assert_close(SYM.grad(inst.fun, **options)(*inst.args), ref, 1e-13, str(options))
