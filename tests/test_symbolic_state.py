"""Caching never changes the answer: a function that reads state (closures, globals, default
arguments, attributes) is differentiated as it is at the call, not as it was at the first call."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import symbolic as S


@pytest.fixture(autouse=True)
def _eager(monkeypatch):
    monkeypatch.setattr(S.api, "JIT_MAX_STEPS", 0)


def test_a_changed_closure_changes_the_gradient():
    a = 2.0
    f = lambda x: a * x**2  # noqa: E731
    assert float(S.grad(f)(1.0)) == 4.0
    a = 3.0
    assert float(S.grad(f)(1.0)) == 6.0
    g = S.grad(f)  # the same wrapped function, called twice with the state changed in between
    a = 5.0
    assert float(g(1.0)) == 10.0
    a = 7.0
    assert float(g(1.0)) == 14.0


SCALE = 2.0
BATCH = jnp.array([1.0, 2.0, 3.0])


def _loss(w):
    return SCALE * dnp.sum((BATCH * w - 1.0) ** 2)


def test_changed_globals_and_a_reassigned_global_mini_batch():
    global SCALE, BATCH
    w = jnp.array(0.5)
    for scale, batch in ((2.0, [1.0, 2.0, 3.0]), (3.0, [1.0, 2.0, 3.0]), (3.0, [4.0, -1.0, 0.5])):
        SCALE, BATCH = scale, jnp.array(batch)
        np.testing.assert_allclose(S.grad(_loss)(w), jax.grad(_loss)(w), rtol=1e-12)
        np.testing.assert_allclose(S.value_and_grad(_loss)(w)[0], _loss(w), rtol=1e-12)
    SCALE, BATCH = 2.0, jnp.array([1.0, 2.0, 3.0])


def test_training_steps_with_a_new_batch_each_step_match_jax():
    rng = np.random.default_rng(0)
    batch = {"x": jnp.asarray(rng.normal(size=(4, 2)))}
    loss = lambda w: dnp.mean((batch["x"] @ w) ** 2)  # noqa: E731
    grad = S.grad(loss)
    w = jnp.array([0.3, -0.2])
    for _ in range(3):
        batch["x"] = jnp.asarray(rng.normal(size=(4, 2)))  # mutated in place, not reassigned
        np.testing.assert_allclose(grad(w), jax.grad(loss)(w), rtol=1e-12)


def test_default_arguments_and_object_attributes_are_read_at_the_call():
    class Model:
        def __init__(self):
            self.c = 1.0

        def energy(self, x):
            return self.c * dnp.sin(x)

    model = Model()
    assert float(S.grad(model.energy)(0.0)) == 1.0
    model.c = 4.0
    assert float(S.grad(model.energy)(0.0)) == 4.0

    def f(x, k=2.0):
        return k * x**3

    assert float(S.grad(f)(1.0)) == 6.0
    f.__defaults__ = (5.0,)
    assert float(S.grad(f)(1.0)) == 15.0


def test_every_transformation_reads_the_state_now():
    c = 1.0
    f = lambda x: c * x**2  # noqa: E731
    x = jnp.array([1.0, 2.0])
    results = []
    for c in (1.0, 3.0):  # noqa: B007 - read by f
        results.append((S.jacobian(f)(x), S.hessian(lambda v: dnp.sum(f(v)))(x), S.jvp(f, (x,), (x,))[1],
                        S.vjp(f, x)[1](x)[0]))
    for got_1, got_3 in zip(*results):
        np.testing.assert_allclose(got_3, 3.0 * got_1, rtol=1e-12)
