"""Functions written fresh with dnp (not in the zoo) through every method in METHODS, against JAX.

The kinds of function a user brings: products of many inputs, energies with logs,
a softmax classifier, value-dependent branches, a map from R³ to R⁴, Python floats,
dnp.array of scalars, pytrees and argnums tuples.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import METHODS, jax_ref
from diffcompare.errors import ConcretizationError

from .helpers import assert_close

RTOL = {"finite_diff": 1e-5, "symbolic": 1e-10, "forward": 1e-10, "reverse": 1e-10}
rng = np.random.default_rng(42)


def many_products(x):
    return dnp.prod(x[:4]) * x[4] + x[0] * x[1] * x[2] - dnp.prod(1.0 + x**2)


def log_energy(x):
    return -dnp.sum(dnp.log(x)) + 0.5 * dnp.sum(x * x) + dnp.log(dnp.sum(dnp.exp(-x)))


def softmax_classifier(params, inputs, labels):
    logits = inputs @ params["W"] + params["b"]
    probs = dnp.softmax(logits, axis=1)
    return -dnp.mean(dnp.log(dnp.sum(probs * labels, axis=1)))


def value_branch(x):
    total = dnp.sum(x)
    if total > 0:
        y = dnp.sin(x) * total
    else:
        y = dnp.cos(x)
    for _ in range(int(dnp.abs(total)) % 3 + 1):  # a loop count from the value
        y = y * 0.9 + x
    return dnp.sum(y**2)


def r3_to_r4(x):
    return dnp.array([x[0] * x[1], dnp.sin(x[2]) + x[0], dnp.exp(x[1] - x[2]), x[0] ** 2 + x[1] * x[2]])


def two_args(a, b):
    return dnp.sum(dnp.tanh(a) * b) + dnp.max(a) * 2.0


SCALAR_CASES = [
    ("many_products", many_products, (jnp.asarray(rng.uniform(0.5, 1.5, 6)),), 0),
    ("log_energy", log_energy, (jnp.asarray(rng.uniform(0.5, 2.0, 5)),), 0),
    ("softmax_classifier", softmax_classifier,
     ({"W": jnp.asarray(rng.normal(size=(4, 3))), "b": jnp.asarray(rng.normal(size=3))},
      jnp.asarray(rng.normal(size=(6, 4))), jnp.asarray(np.eye(3)[rng.integers(0, 3, 6)])), 0),
    ("value_branch", value_branch, (jnp.asarray(rng.normal(size=4)),), 0),
    ("python_float", lambda x: dnp.exp(x) * dnp.sin(x) / (1.0 + x**2), (0.7,), 0),
    ("two_args", two_args, (jnp.array([0.3, -1.2, 0.8]), jnp.array([1.0, 2.0, -0.5])), (0, 1)),
]


def methods():
    return [m for m in METHODS if m != "jax"]


def expect_concretization(method, name):
    return method == "symbolic" and name == "value_branch"


@pytest.mark.slow
@pytest.mark.parametrize("method", methods())
@pytest.mark.parametrize("name,f,args,argnums", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_gradient_jvp_vjp(method, name, f, args, argnums):
    module = METHODS[method]
    if expect_concretization(method, name):
        with pytest.raises(ConcretizationError):
            module.grad(f, argnums)(*args)
        return
    assert_close(module.grad(f, argnums)(*args), jax_ref.grad(f, argnums)(*args), RTOL[method], f"{method} grad")
    value, gradient = module.value_and_grad(f, argnums)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    tangents = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=jnp.shape(a))), args)
    out, t_out = module.jvp(f, args, tangents)
    assert_close(t_out, jax_ref.jvp(f, args, tangents)[1], RTOL[method], f"{method} jvp")
    out, vjp_fn = module.vjp(f, *args)
    assert_close(vjp_fn(jnp.asarray(1.3)), jax_ref.vjp(f, *args)[1](jnp.asarray(1.3)), RTOL[method], f"{method} vjp")


@pytest.mark.slow
@pytest.mark.parametrize("method", methods())
def test_jacobian_of_a_map_from_r3_to_r4(method):
    x = jnp.array([0.4, -0.7, 1.1])
    module = METHODS[method]
    jac = module.jacobian(r3_to_r4)(x)
    assert jac.shape == (4, 3)
    assert_close(jac, jax_ref.jacobian(r3_to_r4)(x), RTOL[method], method)
    out, vjp_fn = module.vjp(r3_to_r4, x)
    ct = jnp.array([1.0, -2.0, 0.5, 3.0])
    assert_close(vjp_fn(ct), jax_ref.vjp(r3_to_r4, x)[1](ct), RTOL[method], method)


@pytest.mark.slow
@pytest.mark.parametrize("method", methods())
def test_hessian_of_a_log_energy(method):
    x = jnp.array([0.6, 1.3, 0.9])
    rtol = 1e-5 if method == "finite_diff" else 1e-10
    assert_close(METHODS[method].hessian(log_energy)(x), jax_ref.hessian(log_energy)(x), rtol, method)


@pytest.mark.parametrize("method", [m for m in methods() if m != "finite_diff"])
def test_mixing_in_plain_jax_numpy_is_refused_not_silently_wrong(method):
    # jnp_array.at[i].add(engine value) would turn the value into a constant and drop its derivative
    def f(x):
        return jnp.zeros(3).at[0].add(x[1]).sum() + dnp.sum(x)

    from diffcompare.errors import UnsupportedOperationError

    with pytest.raises(UnsupportedOperationError, match="dnp.index_add"):
        METHODS[method].grad(f)(jnp.ones(3))
    fixed = METHODS[method].grad(lambda x: dnp.sum(dnp.index_add(dnp.zeros(3), 0, x[1])) + dnp.sum(x))
    np.testing.assert_allclose(fixed(jnp.ones(3)), [1.0, 2.0, 1.0])
