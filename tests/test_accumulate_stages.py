"""accumulate.find_chain: the layers of a plain function found on its recorded tape, bracketed, checked against JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import accumulate as acc
from diffcompare import custom
from diffcompare.accumulate import examples
from diffcompare.errors import ShapeMismatchError, UnsupportedOperationError

TOL = 1e-10


def _every_mode_and_reference(f):
    """One compiled function: the found-chain Jacobian in every mode, and jax.jacfwd's."""
    return jax.jit(lambda x: ([acc.chain_jacobian(f, m)(x) for m in acc.MODES], jax.jacfwd(f)(x)))


@pytest.mark.slow
def test_hourglass_written_as_one_function_is_split_into_its_layers():
    dims = examples.PROFILES["hourglass"]
    layers, x = examples.dense_chain(dims)
    f = examples.compose(layers)
    chain = acc.find_chain(f, x)
    assert chain.dims == dims
    assert chain.ops == (("matmul", "add", "tanh"),) * 4
    assert chain.text().startswith("f1: matmul add tanh [100→1000] | f2:")
    plan = acc.chain_jacobian(f).plan(x)
    assert plan.text() == "(J4 J3)·(J2 J1)"  # the plan of the hand-written layer list
    np.testing.assert_allclose(jax.jit(acc.chain_jacobian(f))(x), jax.jacfwd(f)(x), atol=TOL, rtol=0)


def _random_function(rng):
    """A straight-line composition of random steps (dense, elementwise, fan-out, residual, slicing, reshaping)."""
    steps, width = [], int(rng.integers(2, 9))
    n0 = width
    for _ in range(int(rng.integers(2, 6))):
        kind = rng.choice(["dense", "sin_times", "residual", "square_concat", "slice", "matrix_sum"])
        if kind == "dense":
            out = int(rng.integers(1, 9))
            W = jnp.asarray(rng.normal(size=(out, width)) / np.sqrt(width))
            steps.append(lambda h, W=W: dnp.tanh(W @ h + 0.1))
            width = out
        elif kind == "sin_times":  # fan-out inside one step
            steps.append(lambda h: dnp.sin(h) * h)
        elif kind == "residual":  # h + g(h): the skip edge jumps over g, so no cut inside
            W = jnp.asarray(rng.normal(size=(width, width)) / np.sqrt(width))
            steps.append(lambda h, W=W: h + W @ dnp.exp(h / 4))
        elif kind == "square_concat":
            steps.append(lambda h: dnp.concatenate([h, h**2 / 2]))
            width *= 2
        elif kind == "slice" and width > 1:
            steps.append(lambda h: h[1:] * 1.5)
            width -= 1
        elif kind == "matrix_sum" and width % 2 == 0:  # through a 2-d intermediate and a reduction
            steps.append(lambda h: dnp.sum(dnp.reshape(h, (2, -1)) ** 2, axis=0))
            width //= 2
    return examples.compose(steps), n0


@pytest.mark.slow
def test_random_unseen_functions_equal_jacfwd_in_every_mode():
    rng = np.random.default_rng(2026)
    kinds = set()
    for _ in range(5):
        f, n0 = _random_function(rng)
        x = jnp.asarray(rng.uniform(-1, 1, n0))
        kinds |= set(acc.chain_jacobian(f).plan(x).modes().values())
        jacobians, ref = _every_mode_and_reference(f)(x)
        for J in jacobians:
            assert J.shape == ref.shape
            np.testing.assert_allclose(J, ref, atol=TOL, rtol=0)
    assert kinds == {"forward", "reverse"}  # the plans found differ from function to function


def test_an_hourglass_with_residual_blocks_and_any_shapes():
    rng = np.random.default_rng(5)
    W1, W2, W3 = (jnp.asarray(rng.normal(size=s) / 4) for s in [(40, 12), (2, 40), (30, 2)])
    R = jnp.asarray(rng.normal(size=(40, 40)) / 8)

    def f(X):  # X: (3, 4); out: (5, 6)
        h = dnp.tanh(W1 @ dnp.reshape(X, (-1,)))
        h = h + R @ dnp.sin(h)  # a residual block: one stage
        z = dnp.exp(W2 @ h / 2)
        return dnp.reshape(W3 @ z, (5, 6)) * 0.5

    X = jnp.asarray(rng.normal(size=(3, 4)))
    chain = acc.find_chain(f, X)
    assert chain.dims == (12, 12, 40, 40, 2, 30)
    assert chain.in_shape == (3, 4) and chain.out_shape == (5, 6)
    assert len(acc.find_chain(f, X, merge=False).dims) > len(chain.dims)  # elementwise stages kept apart
    assert acc.chain_jacobian(f).plan(X).kind != "forward" and acc.chain_jacobian(f).plan(X).kind != "reverse"
    jacobians, ref = _every_mode_and_reference(f)(X)
    assert ref.shape == (5, 6, 3, 4)
    for J in jacobians:
        np.testing.assert_allclose(J, ref, atol=TOL, rtol=0)


def test_found_chain_runs_eagerly_and_follows_python_control_flow():
    def f(x):
        for _ in range(3 if dnp.sum(x) > 0 else 1):  # the tape follows the branch taken at x
            x = dnp.sin(x)[::-1] * 2.0
        return x

    for x in (jnp.linspace(0.1, 1.0, 4), -jnp.linspace(0.1, 1.0, 4)):
        np.testing.assert_allclose(acc.chain_jacobian(f)(x), jax.jacfwd(f)(x), atol=TOL, rtol=0)


def test_identity_and_constant_functions():
    x = jnp.ones((2, 3))
    assert acc.find_chain(lambda v: v, x).ops == (("identity",),)
    np.testing.assert_allclose(acc.chain_jacobian(lambda v: v)(x), jax.jacfwd(lambda v: v)(x))
    const = acc.chain_jacobian(lambda v: jnp.arange(4.0))(x)
    assert const.shape == (4, 2, 3) and not np.any(const)


def test_find_chain_errors():
    with pytest.raises(ShapeMismatchError, match="one array"):
        acc.find_chain(lambda v: (v, v), jnp.ones(3))
    softplus = custom.custom_jvp(lambda v: dnp.log1p(dnp.exp(v)), name="softplus_for_stages")
    softplus.defvjp(lambda v: (softplus(v), v), lambda v, g: (g * dnp.sigmoid(v),))
    with pytest.raises(UnsupportedOperationError, match="layers as a list"):
        acc.find_chain(lambda v: softplus(v) * 2, jnp.ones(3))
