"""Forward mode on random expressions (hypothesis) against ``jax.jvp`` and ``jax.jacfwd``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.forward as fwd
import diffcompare.numpy as dnp

from .helpers import rel_error

W = jnp.asarray(np.random.default_rng(0).normal(size=(3, 3)) / 2)

# every operation is safe on all reals (domains guarded) and keeps the last axis of length 3;
# the leaves have shapes (3,), (2, 3), (1, 3) and (3,), so binary operations broadcast
UNARY = {
    "sin": dnp.sin,
    "cos": dnp.cos,
    "tanh": dnp.tanh,
    "arctan": dnp.arctan,
    "sigmoid": dnp.sigmoid,
    "neg": dnp.negative,
    "exp∘tanh": lambda e: dnp.exp(dnp.tanh(e)),
    "log(1+e²)": lambda e: dnp.log(1.0 + e * e),
    "sqrt(1+e²)": lambda e: dnp.sqrt(1.0 + e * e),
    "log1p(e²)": lambda e: dnp.log1p(e * e),
    "expm1∘sin": lambda e: dnp.expm1(dnp.sin(e)),
    "sinh∘tanh": lambda e: dnp.sinh(dnp.tanh(e)),
    "cosh∘tanh": lambda e: dnp.cosh(dnp.tanh(e)),
    "tan∘tanh": lambda e: dnp.tan(0.5 * dnp.tanh(e)),
    "abs": dnp.abs,
    "relu": dnp.relu,
    "square": lambda e: e**2,
    "cube": lambda e: e**3,
    "sum-keepdims": lambda e: e * dnp.sum(e, axis=-1, keepdims=True),
    "mean-axis0": lambda e: e + dnp.mean(e, axis=0),
    "max-keepdims": lambda e: e - dnp.max(e, axis=-1, keepdims=True),
    "prod-keepdims": lambda e: e + dnp.prod(e, axis=-1, keepdims=True),
    "softmax": dnp.softmax,
    "logsumexp": lambda e: e - dnp.logsumexp(e, axis=-1, keepdims=True),
    "matmul": lambda e: e @ W,
    "reverse": lambda e: e[..., ::-1],
    "roll-by-index": lambda e: e[..., jnp.array([2, 0, 1])],
    "concat-halves": lambda e: dnp.concatenate([e[..., :1], e[..., 1:]], axis=-1),
}
BINARY = {
    "add": dnp.add,
    "sub": dnp.subtract,
    "mul": dnp.multiply,
    "div": lambda a, b: a / (2.0 + dnp.sin(b)),
    "max": dnp.maximum,
    "min": dnp.minimum,
    "pow": lambda a, b: (1.0 + a * a) ** dnp.tanh(b),
    "where": lambda a, b: dnp.where(a > b, a * b, a - b),
    "stack-sum": lambda a, b: dnp.sum(dnp.stack([a + 0 * b, b + 0 * a]), axis=0),
}
LEAVES = ["x", "y", "z", "c"]

expressions = st.recursive(
    st.sampled_from(LEAVES),
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), sub),
        st.tuples(st.sampled_from(sorted(BINARY)), sub, sub),
    ),
    max_leaves=8,
)


def evaluate(expr, env):
    if isinstance(expr, str):
        return env[expr]
    if len(expr) == 2:
        return UNARY[expr[0]](evaluate(expr[1], env))
    return BINARY[expr[0]](evaluate(expr[1], env), evaluate(expr[2], env))


def make(expr):
    def f(x, y, z):
        out = evaluate(expr, {"x": x, "y": y, "z": z, "c": jnp.array([0.7, -0.2, 1.1])})
        return dnp.broadcast_to(out, (2, 3)) if dnp.shape(out) != (2, 3) else out

    return f


inputs = st.integers(0, 2**31 - 1).map(
    lambda seed: tuple(
        jnp.asarray(np.random.default_rng(seed).uniform(-1.5, 1.5, shape)) for shape in [(3,), (2, 3), (1, 3)]
    )
)


def assert_close(value, reference, rtol, what, inputs):
    """Relative error, with the reference's size floored by the inputs' magnitude: a derivative that
    is exactly 0 (the Hessian of sum(softmax(x))) comes out as round-off (~1e-17) on both sides, and
    two round-off values compared relatively differ by 100% (issue 17: the one flaky test)."""
    floor = max(float(jnp.max(jnp.abs(a))) for a in inputs)
    size = max(float(jnp.max(jnp.abs(jnp.asarray(r)), initial=0.0)) for r in jax.tree_util.tree_leaves(reference))
    err = rel_error(value, reference) * max(size, np.finfo(np.float64).tiny) / max(size, floor)
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.1e} (floor {floor:.2g})"


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(expr=expressions, args=inputs)
def test_random_expressions_match_jax(expr, args):
    f = make(expr)
    tangents = tuple(jnp.cos(3.0 * a) for a in args)
    assert_close(fwd.jvp(f, args, tangents), jax.jvp(f, args, tangents), 1e-11, str(expr), args)
    argnums = (0, 1, 2)
    assert_close(fwd.jacobian(f, argnums)(*args), jax.jacfwd(f, argnums)(*args), 1e-11, str(expr), args)


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(expr=expressions, args=inputs)
def test_random_expressions_batched_and_second_order(expr, args):
    f = make(expr)
    scalar = lambda x, y, z: dnp.sum(f(x, y, z))  # noqa: E731
    assert_close(fwd.jacobian(f, 1, mode="batched")(*args), jax.jacfwd(f, 1)(*args), 1e-11, str(expr), args)
    assert_close(fwd.hessian(scalar, 0)(*args), jax.hessian(scalar, 0)(*args), 1e-9, str(expr), args)


@pytest.mark.slow
def test_an_exactly_zero_hessian_is_not_compared_as_round_off():
    # the draw that failed once on a fresh clone: sum(softmax(x)) is 1, its Hessian exactly 0
    expr = ("softmax", "x")
    test_random_expressions_batched_and_second_order.hypothesis.inner_test(expr, next(_seeded_inputs()))


def _seeded_inputs():
    rng = np.random.default_rng(0)
    yield tuple(jnp.asarray(rng.uniform(-1.5, 1.5, shape)) for shape in [(3,), (2, 3), (1, 3)])
