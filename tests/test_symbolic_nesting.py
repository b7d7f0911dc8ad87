"""Symbolic over symbolic (the derivative graph differentiated again), Hessians of vector-valued
functions as jax.hessian lays them out, and a clear refusal inside another engine's transformation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import forward, reverse
from diffcompare import symbolic as S
from diffcompare.errors import UnsupportedOperationError

from .helpers import assert_close


@pytest.fixture(autouse=True)
def _eager(monkeypatch):
    monkeypatch.setattr(S.api, "JIT_MAX_STEPS", 0)


def f(x):
    return dnp.sin(x) * x**3


def test_grad_of_grad_of_grad_matches_jax():
    assert_close(S.grad(S.grad(f))(0.7), jax.grad(jax.grad(f))(0.7), 1e-12)
    assert_close(S.grad(S.grad(S.grad(f)))(0.7), jax.grad(jax.grad(jax.grad(f)))(0.7), 1e-12)


@pytest.mark.slow
def test_jacobian_of_grad_and_of_jacobian_match_jax():
    g = lambda x: dnp.sum(dnp.tanh(x) * x[::-1])  # noqa: E731
    v = lambda x: dnp.stack([dnp.sum(x**3), dnp.prod(dnp.sin(x))])  # noqa: E731
    x = jnp.array([0.1, 0.5, -0.3])
    assert_close(S.jacobian(S.grad(g))(x), jax.hessian(g)(x), 1e-12)
    assert_close(S.jacobian(S.jacobian(v))(x), jax.jacobian(jax.jacobian(v))(x), 1e-12)


def test_nested_closures_do_not_confuse_perturbations():
    # the classic perturbation-confusion example: d/dx [x * d/dy (x y)] = 2x, not x
    h = lambda x: S.grad(lambda y: x * y)(2.0) * x  # noqa: E731
    assert float(S.grad(h)(3.0)) == 6.0
    # the inner function's parameter has the outer one's name
    same = lambda x: S.grad(lambda x: x**2)(x) * x  # noqa: E731
    assert_close(S.grad(same)(1.5), jax.grad(lambda x: jax.grad(lambda x: x**2)(x) * x)(1.5), 1e-12)


@pytest.mark.slow
def test_hessian_of_a_vector_valued_function_as_jax():
    v = lambda x: dnp.stack([dnp.sum(x**3), dnp.prod(dnp.sin(x))])  # noqa: E731
    x = jnp.array([0.1, 0.5, -0.3])
    got = S.hessian(v)(x)
    assert got.shape == (2, 3, 3)
    assert_close(got, jax.hessian(v)(x), 1e-12)
    g = lambda a, b: {"u": dnp.sin(a * b[0]) * b[1], "s": dnp.sum(a) ** 2}  # noqa: E731
    a, b = jnp.array([0.3, 0.5]), [jnp.array(0.7), jnp.array([1.0, 2.0])]
    got, ref = S.hessian(g, (0, 1))(a, b), jax.hessian(g, (0, 1))(a, b)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(ref)
    assert_close(got, ref, 1e-12)


@pytest.mark.parametrize("method", [forward, reverse], ids=["forward", "reverse"])
def test_symbolic_inside_another_engine_says_it_cannot(method):
    with pytest.raises(UnsupportedOperationError, match="symbolic transformation the outer one"):
        method.grad(S.grad(f))(0.7)
    # the other way round works: symbolic traces the engine's dnp code
    assert_close(S.grad(method.grad(f))(0.7), jax.grad(jax.grad(f))(0.7), 1e-12)


def test_symbols_from_notebooks_nest_too():
    (x,) = S.symbols("x")
    d = S.grad(lambda v: v**3)(x)
    assert S.to_string(S.simplify(d.nodes[()])) == "3*x**2"
    np.testing.assert_allclose(float(S.evaluate([d.nodes[()]], {"x": 2.0})[0]), 12.0)
