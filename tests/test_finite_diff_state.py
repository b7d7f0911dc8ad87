"""Finite differences evaluate f afresh at every call: state that f reads may change between calls.

Each test differentiates the same function object twice with the state it reads changed in
between; a program kept from the first call would return the first derivative again.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import finite_diff as fd

from .helpers import assert_close

SCALE = 2.0
BATCH = jnp.array([1.0, 2.0, 3.0])
X = jnp.array([0.5, -1.0, 2.0])


def scaled_square(x):
    return SCALE * dnp.sum(x**2)


def batch_loss(w):
    return dnp.mean((BATCH * w[0] + w[1]) ** 2)


class Model:
    def __init__(self, a):
        self.a = a

    def loss(self, x):
        return self.a * dnp.sum(dnp.sin(x))


@pytest.mark.parametrize("scheme", ["central", "complex", "richardson"])
def test_closure_read_afresh(scheme):
    a = 2.0

    def f(x):
        return a * dnp.sum(x**2)

    assert_close(fd.grad(f, scheme=scheme)(X), 4.0 * X, 1e-7, "a = 2")
    a = 3.0
    assert_close(fd.grad(f, scheme=scheme)(X), 6.0 * X, 1e-7, "a = 3")


def test_the_issue_example_with_a_python_float():
    a = 2.0
    f = lambda x: a * x**2  # noqa: E731
    g = fd.grad(f)
    assert abs(float(g(1.0)) - 4.0) < 1e-6
    a = 3.0
    assert abs(float(g(1.0)) - 6.0) < 1e-6


def test_global_scalar_read_afresh():
    global SCALE
    grad = fd.grad(scaled_square)
    assert_close(grad(X), 4.0 * X, 1e-7, "SCALE = 2")
    SCALE = 3.0
    try:
        assert_close(grad(X), 6.0 * X, 1e-7, "SCALE = 3")
    finally:
        SCALE = 2.0


def test_global_mini_batch_reassigned_each_step():
    global BATCH
    w = jnp.array([0.3, -0.2])
    try:
        for step in range(3):
            BATCH = jnp.asarray(np.random.default_rng(step).normal(size=5))  # a new mini-batch each step
            assert_close(fd.grad(batch_loss)(w), jax.grad(batch_loss)(w), 1e-7, f"step {step}")
    finally:
        BATCH = jnp.array([1.0, 2.0, 3.0])


def test_object_attribute_read_afresh():
    model = Model(2.0)
    jac = fd.jacobian(model.loss)
    assert_close(jac(X), 2.0 * jnp.cos(X), 1e-7, "a = 2")
    model.a = -1.0
    assert_close(jac(X), -jnp.cos(X), 1e-7, "a = -1")


def test_default_argument_read_afresh():
    def f(x, params={"a": 2.0}):  # noqa: B006 - a mutable default is the state under test
        return params["a"] * dnp.sum(x**2)

    assert_close(fd.grad(f)(X), 4.0 * X, 1e-7, "a = 2")
    f.__defaults__[0]["a"] = 3.0
    assert_close(fd.grad(f)(X), 6.0 * X, 1e-7, "mutated default")
    f.__defaults__ = ({"a": 5.0},)
    assert_close(fd.grad(f)(X), 10.0 * X, 1e-7, "replaced default")


def test_hessian_and_jvp_read_afresh():
    a = 2.0

    def f(x):
        return a * dnp.sum(x**3)

    hessian = fd.hessian(f)
    assert_close(hessian(X), jnp.diag(6.0 * a * X), 1e-5, "a = 2")
    a = -1.0
    assert_close(hessian(X), jnp.diag(6.0 * a * X), 1e-5, "a = -1")
    assert_close(fd.jvp(f, (X,), (jnp.ones(3),))[1], jnp.sum(3.0 * a * X**2), 1e-7, "jvp")


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.lists(st.floats(-3.0, 3.0).map(lambda a: round(a, 3)), min_size=2, max_size=4),
       st.sampled_from(["forward", "central4", "complex"]))
def test_any_sequence_of_state_changes_matches_jax(coefficients, scheme):
    state = {"a": 0.0}

    def f(x):
        return dnp.sum(dnp.sin(state["a"] * x) + state["a"] * x**2)

    grad = fd.grad(f, scheme=scheme)
    for a in coefficients:
        state["a"] = a
        assert_close(grad(X), jax.grad(f)(X), 1e-4 if scheme == "forward" else 1e-8, f"a = {a}")
