"""Equinox models through from_jax: parameter gradients from every method, against jax.grad.

equinox is optional (the ``jax-extras`` extra); without it these tests skip.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from diffcompare import METHODS, from_jax
from diffcompare.errors import DiffCompareError
from diffcompare.from_jax import is_jax_function

from .helpers import assert_close

eqx = pytest.importorskip("equinox")

TOLERANCE = {"forward": 1e-10, "reverse": 1e-10, "finite_diff": 1e-5, "symbolic": 1e-10}


def _mlp_problem():
    model = eqx.nn.MLP(3, 2, 4, 2, activation=jax.nn.tanh, key=jax.random.PRNGKey(0))
    params, static = eqx.partition(model, eqx.is_array)

    def loss(params, x):
        return jnp.sum(eqx.combine(params, static)(x) ** 2)

    return loss, params, jnp.linspace(-1.0, 1.0, 3)


class _ConvNet(eqx.Module):
    conv: eqx.nn.Conv2d
    head: eqx.nn.Linear

    def __init__(self, key):
        a, b = jax.random.split(key)
        self.conv = eqx.nn.Conv2d(2, 3, kernel_size=3, stride=2, padding=1, key=a)
        self.head = eqx.nn.Linear(3 * 3 * 3, 1, key=b)

    def __call__(self, image):
        return self.head(jax.nn.relu(self.conv(image)).reshape(-1))[0]


def _conv_problem():
    model = _ConvNet(jax.random.PRNGKey(1))
    params, static = eqx.partition(model, eqx.is_array)

    def loss(params, image):
        return eqx.combine(params, static)(image) ** 2

    return loss, params, jax.random.normal(jax.random.PRNGKey(2), (2, 5, 5))


PROBLEMS = {"mlp": _mlp_problem, "conv": _conv_problem}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse", "finite_diff", "symbolic"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_equinox_parameter_gradients_match_jax(name, method):
    loss, params, x = PROBLEMS[name]()
    reference = jax.grad(loss)(params, x)
    grad = METHODS[method].grad(from_jax(loss))
    if method in ("forward", "reverse"):
        grad = jax.jit(grad)  # one compilation; the eager path is the same program, op by op
    try:
        value = grad(params, x)
    except DiffCompareError:
        assert method == "symbolic", "only symbolic may refuse"
        return
    assert_close(value, reference, TOLERANCE[method], f"{name} by {method}")


@pytest.mark.slow
def test_equinox_model_called_directly_and_eagerly():
    model = eqx.nn.MLP(2, "scalar", 3, 1, key=jax.random.PRNGKey(3))
    x = jnp.array([0.3, -0.7])
    f = from_jax(lambda m, x: model(x) * jnp.sum(x))  # the model is read from the closure
    assert is_jax_function(model) and is_jax_function(f.fun)
    expected = jax.grad(lambda x: model(x) * jnp.sum(x))(x)
    assert_close(METHODS["reverse"].grad(f, argnums=1)(model, x), expected, 1e-10)
    assert_close(METHODS["forward"].grad(from_jax(model))(x), jax.grad(model)(x), 1e-10)
