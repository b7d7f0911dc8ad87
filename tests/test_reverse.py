"""Reverse mode on the zoo and through the method interface, against JAX at 1e-12 (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import jax_ref
from diffcompare import reverse as rev
from diffcompare.errors import (
    InvalidInputError,
    InvalidOptionError,
    NonScalarOutputError,
    ShapeMismatchError,
    UnsupportedOperationError,
)
from diffcompare.primitives import PRIMITIVES, coverage
from diffcompare.problems import PROBLEMS

from .helpers import argnums_of, assert_close

RTOL = 1e-12
NAMES = list(PROBLEMS)


def _ref(transform, inst, *a):
    """The JAX reference, compiled once per test where ``f`` can be jitted (eager JAX is slow to warm up)."""
    fn = transform(inst.fun, *a)
    return fn if inst.problem.data_dependent else jax.jit(fn)


def _cotangent(out, seed=0):
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(lambda o: jnp.asarray(rng.normal(size=jnp.shape(o))), out)


def _tangents(args, seed=1):
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=jnp.shape(a))), tuple(args))


def test_registered_as_a_method():
    assert diffcompare.METHODS["reverse"] is rev
    assert rev.NAME == "reverse" and rev.TITLE and set(rev.TOLERANCE) == {"float64", "float32"}


def test_every_primitive_has_a_rule():
    assert set(rev.RULES) == set(PRIMITIVES)
    assert all(row["reverse"] == "rule" for row in coverage().values())


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [None, 3])
def test_zoo_derivative_vjp_jvp(name, seed):
    inst = PROBLEMS[name].make(seed=seed)
    f, args, an = inst.fun, inst.args, argnums_of(inst)
    if inst.scalar_output:
        value, g = rev.value_and_grad(f, an)(*args)
        ref_value, ref_g = _ref(jax_ref.value_and_grad, inst, an)(*args)
        assert_close(value, ref_value, RTOL, f"{name} value")
        assert_close(g, ref_g, RTOL, f"{name} grad")
    assert_close(rev.jacobian(f, an)(*args), _ref(jax_ref.jacobian, inst, an)(*args), RTOL, f"{name} jacrev")
    out, pull = rev.vjp(f, *args)
    ref_out = f(*args)
    ct = _cotangent(ref_out)
    ref_vjp = _ref(lambda fun: lambda *a: jax.vjp(fun, *a)[1](ct), inst)(*args)
    assert_close(out, ref_out, RTOL, f"{name} vjp out")
    assert_close(pull(ct), ref_vjp, RTOL, f"{name} vjp")
    tangents = _tangents(args)
    ref_jvp = _ref(lambda fun: lambda *a: jax.jvp(fun, a, tangents), inst)(*args)
    assert_close(rev.jvp(f, args, tangents), ref_jvp, RTOL, f"{name} jvp")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if PROBLEMS[n].make().scalar_output])
def test_zoo_hessian_reverse_over_reverse(name):
    inst = PROBLEMS[name].make(seed=5)
    an = argnums_of(inst)
    assert_close(rev.hessian(inst.fun, an)(*inst.args), _ref(jax_ref.hessian, inst, an)(*inst.args), RTOL, name)


# a representative subset: the mechanism is the same for every problem (CI time budget)
HVP_AND_JIT = ["exp_sin_xy", "mlp_softmax_xent", "layered_net", "rosenbrock", "all_ops"]


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in HVP_AND_JIT if n in PROBLEMS])
def test_zoo_hvp_forward_over_reverse(name):
    inst = PROBLEMS[name].make(seed=2)
    f, args = inst.fun, inst.args
    v = _tangents(args[:1])[0]
    ref = _ref(lambda fun: lambda *a: jax.jvp(lambda p: jax.grad(fun)(p, *a[1:]), (a[0],), (v,))[1], inst)(*args)
    assert_close(rev.hvp(f)(*args, v), ref, RTOL, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in HVP_AND_JIT + ["tall_map"] if n in PROBLEMS])
def test_zoo_under_jit(name):
    inst = PROBLEMS[name].make(seed=4)
    f, args, an = inst.fun, inst.args, argnums_of(inst)
    if inst.scalar_output:
        assert_close(jax.jit(rev.grad(f, an))(*args), _ref(jax_ref.grad, inst, an)(*args), RTOL, name)
    else:
        assert_close(jax.jit(rev.jacobian(f, an))(*args), _ref(jax_ref.jacobian, inst, an)(*args), RTOL, name)


@pytest.mark.slow
def test_argnums_and_pytrees():
    def f(params, x, scale):
        h = dnp.tanh(x @ params["W"] + params["b"])
        return scale * dnp.sum(h ** 2) + dnp.sum(params["layers"][0] * params["layers"][1])

    rng = np.random.default_rng(0)
    params = {"W": jnp.asarray(rng.normal(size=(3, 2))), "b": jnp.asarray(rng.normal(size=2)),
              "layers": [jnp.asarray(rng.normal(size=2)), jnp.asarray(rng.normal(size=2))]}
    args = (params, jnp.asarray(rng.normal(size=(4, 3))), 1.5)
    for argnums in (0, 2, (0, 2), (2, 0, 1), -1):
        ref = jax.jit(jax.grad(f, argnums))(*args)
        assert_close(rev.grad(f, argnums)(*args), ref, RTOL, str(argnums))
    ref = jax.jit(jax.hessian(f, (1, 2)))(*args)
    assert_close(rev.hessian(f, (1, 2))(*args), ref, RTOL, "hessian tuple")
    ref = jax.jit(jax.jacobian(f, (0, 2)))(*args)
    assert_close(rev.jacobian(f, (0, 2))(*args), ref, RTOL, "jacobian tuple")


def test_pytree_outputs_vjp_and_jacobian():
    def f(x):
        return {"a": dnp.sin(x), "b": [dnp.sum(x ** 3), x[:2] * x[1:]]}

    x = jnp.linspace(0.1, 1.0, 3)
    out, pull = rev.vjp(f, x)
    ref_out, ref_pull = jax_ref.vjp(f, x)
    ct = _cotangent(ref_out)
    assert_close(pull(ct), ref_pull(ct), RTOL)
    assert_close(rev.jacobian(f)(x), jax_ref.jacobian(f)(x), RTOL)


def test_grad_twice_and_vjp_twice_give_the_same_answer():
    def f(x):
        y = dnp.exp(x) * x  # x used twice: adjoints add up
        return dnp.sum(y * y + x)

    x = jnp.linspace(-1.0, 1.0, 5)
    g = rev.grad(f)
    first, second = g(x), g(x)
    np.testing.assert_array_equal(first, second)
    _, pull = rev.vjp(f, x)
    np.testing.assert_array_equal(pull(1.0)[0], pull(1.0)[0])
    assert_close(first, jax.grad(f)(x), RTOL)


def test_fan_out_adds_adjoints():
    # x feeds four operations; a recursive or overwriting sweep gets this wrong
    f = lambda x: x * x + dnp.sin(x) * x + x  # noqa: E731
    assert_close(rev.grad(f)(0.7), jax.grad(f)(0.7), RTOL)
    assert_close(rev.grad(lambda x: x + x + x)(2.0), 3.0, 0)


def test_output_independent_of_input_gives_zeros():
    g = rev.grad(lambda x, y: dnp.sum(y ** 2), argnums=(0, 1))(jnp.ones(3), jnp.ones(2))
    np.testing.assert_array_equal(g[0], jnp.zeros(3))
    np.testing.assert_array_equal(g[1], 2 * jnp.ones(2))
    assert float(rev.grad(lambda x: 3.0)(1.0)) == 0.0


def test_nested_grads_do_not_confuse_perturbations():
    # d/dx [x * d/dy (x + y)] = 1  (a confused engine answers 2)
    f = lambda x: x * rev.grad(lambda y: x + y)(1.0)  # noqa: E731
    assert float(rev.grad(f)(2.0)) == 1.0
    # d/dx [x * d/dy (x * y)] = 2x
    g = lambda x: x * rev.grad(lambda y: x * y)(1.0)  # noqa: E731
    assert float(rev.grad(g)(3.0)) == 6.0


def test_third_derivative_by_nesting():
    f = lambda x: dnp.sin(x) * x ** 3  # noqa: E731
    d3 = rev.grad(rev.grad(rev.grad(f)))(0.8)
    assert_close(d3, jax.jit(jax.grad(jax.grad(jax.grad(f))))(0.8), RTOL)
    jac_of_hess = rev.jacobian(rev.hessian(lambda x: dnp.sum(dnp.sin(x) * x[0])))(jnp.array([0.3, 0.5]))
    ref = jax.jit(jax.jacobian(jax.hessian(lambda x: jnp.sum(jnp.sin(x) * x[0]))))(jnp.array([0.3, 0.5]))
    assert_close(jac_of_hess, ref, RTOL)


def test_float32():
    x = jnp.linspace(0.1, 1.0, 4, dtype=jnp.float32)
    f = lambda x: dnp.sum(dnp.log(x) * dnp.tanh(x))  # noqa: E731
    g = rev.grad(f)(x)
    assert g.dtype == jnp.float32
    assert_close(g, jax.grad(f)(x), rev.TOLERANCE["float32"])


def test_errors():
    x = jnp.ones(3)
    with pytest.raises(NonScalarOutputError):
        rev.grad(dnp.sin)(x)
    with pytest.raises(InvalidOptionError):
        rev.grad(lambda x: dnp.sum(x), argnums=3)(x)
    with pytest.raises(InvalidInputError):
        rev.grad(lambda x: x * 2)(3)
    _, pull = rev.vjp(dnp.sin, x)
    with pytest.raises(ShapeMismatchError):
        pull(jnp.ones(4))
    with pytest.raises(InvalidOptionError):
        rev.jacobian(dnp.sin, mode="fwd")
    with pytest.raises(UnsupportedOperationError, match="norm"):  # dot above 2-d works now (issue 17)
        rev.grad(lambda a: dnp.linalg.norm(a, ord="nuc"))(jnp.ones((2, 2)))


def test_unsupported_primitive_raises_the_library_error(monkeypatch):
    monkeypatch.delitem(rev.RULES, "tan")
    with pytest.raises(UnsupportedOperationError, match="tan.*reverse|reverse.*tan"):
        rev.grad(dnp.tan)(0.3)


@pytest.mark.slow
def test_unbroadcast():
    g = jnp.arange(24.0).reshape(2, 3, 4)
    for shape in [(2, 3, 4), (3, 4), (4,), (1, 4), (3, 1), (2, 1, 4), (1, 1, 1), ()]:
        ref = jax.vjp(lambda t: jnp.broadcast_to(t, g.shape), jnp.zeros(shape))[1](g)[0]
        np.testing.assert_array_equal(rev.unbroadcast(g, shape), ref)
