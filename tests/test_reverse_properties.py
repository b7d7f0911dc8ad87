"""Hypothesis: random graphs with fan-out and broadcasting, reverse mode against JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import reverse as rev

from .helpers import rel_error


def assert_close(value, reference, rtol, what=""):
    """Relative error against max(|reference|, 1): a gradient that is exactly 0 in theory
    (the sum of a softmax) is rounding noise in both engines, and noise is not compared relatively."""
    scale = max(float(jnp.max(jnp.abs(r))) if jnp.size(r) else 0.0 for r in jax.tree_util.tree_leaves(reference))
    err = rel_error(value, reference) * scale / max(scale, 1.0)
    assert err <= rtol, f"{what}: error {err:.3e} > {rtol:.1e}"

SHAPES = [(3, 4), (4,), (3, 1), ()]
FULL = (3, 4)

UNARY = {
    "sin": dnp.sin,
    "tanh": dnp.tanh,
    "sigmoid": dnp.sigmoid,
    "arctan": dnp.arctan,
    "neg": dnp.negative,
    "exp_tanh": lambda x: dnp.exp(dnp.tanh(x)),
    "log1p_sq": lambda x: dnp.log1p(x * x),
    "sqrt": lambda x: dnp.sqrt(1.0 + x * x),
    "abs_shift": lambda x: dnp.abs(x + 0.123),
    "pow3": lambda x: x ** 3,
}
BINARY = {
    "add": dnp.add,
    "sub": dnp.subtract,
    "mul": dnp.multiply,
    "div": lambda x, y: x / (2.0 + dnp.cos(y)),
    "maximum": dnp.maximum,
    "where": lambda x, y: dnp.where(x > y, x * 2.0, y),
    "stack": lambda x, y: dnp.sum(dnp.stack([dnp.broadcast_to(x, FULL), dnp.broadcast_to(y, FULL)]) * 0.5, axis=0),
    "concat": lambda x, y: dnp.concatenate([dnp.broadcast_to(x, FULL), dnp.broadcast_to(y, FULL)], axis=1)[:, ::2],
    "matmul": lambda x, y: dnp.broadcast_to(x, FULL) @ (dnp.broadcast_to(y, FULL).T @ dnp.broadcast_to(x, FULL)) / 4,
}
REDUCE = {
    "sum0": lambda x: dnp.sum(x, axis=0, keepdims=True) if dnp.ndim(x) else x,
    "mean": lambda x: dnp.mean(x, axis=-1, keepdims=True) if dnp.ndim(x) else x,
    "logsumexp": lambda x: dnp.logsumexp(x, axis=-1, keepdims=True) if dnp.ndim(x) else x,
    "softmax": lambda x: dnp.softmax(x, axis=-1) if dnp.ndim(x) else x,
    "max": lambda x: dnp.max(x, axis=-1, keepdims=True) if dnp.ndim(x) else x,
    "prod": lambda x: dnp.prod(dnp.tanh(x), axis=-1, keepdims=True) if dnp.ndim(x) else x,
    "gather": lambda x: dnp.broadcast_to(x, FULL)[jnp.array([0, 0, 2])],  # repeated rows: scatter-add back
    "slice_rev": lambda x: x[..., ::-1] if dnp.ndim(x) else x,
    "reshape": lambda x: dnp.reshape(dnp.broadcast_to(x, FULL), (4, 3)).T,
}
OPS = [("u", k) for k in UNARY] + [("b", k) for k in BINARY] + [("r", k) for k in REDUCE]


def run_program(program, *inputs):
    pool = list(inputs)
    for (kind, name), i, j in program:
        x, y = pool[i % len(pool)], pool[j % len(pool)]  # any value may be used again: fan-out
        if kind == "u":
            pool.append(UNARY[name](x))
        elif kind == "b":
            pool.append(BINARY[name](x, y))
        else:
            pool.append(REDUCE[name](x))
    return pool


programs = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=10
)


def _inputs(seed):
    rng = np.random.default_rng(seed)
    return tuple(jnp.asarray(rng.uniform(-1.5, 1.5, size=s)) for s in SHAPES)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(program=programs, seed=st.integers(0, 2**16))
def test_random_graph_gradient_matches_jax(program, seed):
    def f(*inputs):
        pool = run_program(program, *inputs)
        return sum(dnp.sum(v) * (k + 1.0) for k, v in enumerate(pool[len(SHAPES):]))  # every result reaches f

    args = _inputs(seed)
    argnums = tuple(range(len(SHAPES)))
    assert_close(rev.grad(f, argnums)(*args), jax.grad(f, argnums)(*args), 1e-12, str(program))


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(program=programs, seed=st.integers(0, 2**16))
def test_random_graph_vjp_matches_jax(program, seed):
    def f(*inputs):
        return run_program(program, *inputs)[-1]

    args = _inputs(seed)
    out, pull = rev.vjp(f, *args)
    ref_out, ref_pull = jax.vjp(f, *args)
    ct = jnp.asarray(np.random.default_rng(seed + 1).normal(size=jnp.shape(ref_out)))
    assert_close(out, ref_out, 1e-14, "output")
    got, ref = pull(ct), ref_pull(ct)
    for g, a in zip(got, args):
        assert jnp.shape(g) == jnp.shape(a)  # broadcasting undone back to each input's shape
    assert_close(got, ref, 1e-12, str(program))


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(
    x_shape=st.sampled_from([(2, 3, 4), (3, 4), (4,), (1, 4), (3, 1), (2, 1, 1), ()]),
    y_shape=st.sampled_from([(2, 3, 4), (3, 4), (4,), (1, 4), (3, 1), (1, 3, 1), ()]),
    op=st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum", "power"]),
)
def test_broadcasting_binary_ops(x_shape, y_shape, op):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(0.5, 2.0, size=x_shape))
    y = jnp.asarray(rng.uniform(0.5, 2.0, size=y_shape))
    fn = {"add": dnp.add, "sub": dnp.subtract, "mul": dnp.multiply, "div": dnp.divide,
          "maximum": dnp.maximum, "minimum": dnp.minimum, "power": dnp.power}[op]
    f = lambda a, b: dnp.sum(dnp.sin(fn(a, b)))  # noqa: E731
    assert_close(rev.grad(f, (0, 1))(x, y), jax.grad(f, (0, 1))(x, y), 1e-12, f"{op} {x_shape} {y_shape}")
