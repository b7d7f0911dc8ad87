"""Forward mode, rule by rule: every primitive against ``jax.jacfwd``, one tangent and vector mode."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.forward as fwd
import diffcompare.numpy as dnp
from diffcompare.primitives import PRIMITIVES, coverage

from .helpers import assert_close

RTOL = 1e-12
rng = np.random.default_rng(0)


def arr(*shape, low=-1.0, high=1.0):
    return jnp.asarray(rng.uniform(low, high, shape))


POS = arr(2, 3, low=0.3, high=2.0)  # inside every domain
X23 = arr(2, 3)

BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum"]
BINARY_ARGS = [(X23, POS), (arr(3, 1), arr(4) + 2.5), (arr(3), jnp.asarray(1.7)), (jnp.asarray(0.4), POS)]
PATTERNS = [(0, 2), (1, 3)]
SEPARATED = (jnp.array([0, 1]), slice(None), jnp.array([3, 2]))

# (id, function, args): every argument is differentiated
CASES = [
    # unary, elementwise
    *[(name, getattr(dnp, name), (X23,)) for name in
      ["negative", "exp", "expm1", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arctan", "sigmoid", "abs", "relu"]],
    *[(name, getattr(dnp, name), (POS,)) for name in ["log", "log1p", "sqrt"]],
    # binary with broadcasting
    # each binary operation with two of the four broadcasting patterns (each used by three)
    *[(f"{name}-{i}", getattr(dnp, name), BINARY_ARGS[i]) for j, name in enumerate(BINARY) for i in PATTERNS[j % 2]],
    ("power-dual-exponent", dnp.power, (POS, X23)),
    ("power-broadcast", dnp.power, (arr(3, 1, low=0.5, high=2), arr(4))),
    ("power-int", lambda x: x ** 3, (X23,)),
    ("power-float", lambda x: x ** 2.5, (POS,)),
    ("power-zero", lambda x: x ** 0, (X23,)),
    ("power-negative", lambda x: x ** -2, (POS,)),
    ("rpow", lambda x: 2.0 ** x, (X23,)),
    ("where", lambda x, y: dnp.where(x > 0, x * y, dnp.sin(y)), (X23, arr(3))),
    ("where-const-branch", lambda x: dnp.where(x > 0, x, 0.0), (X23,)),
    # reductions
    ("sum-all", dnp.sum, (X23,)),
    ("sum-axis", lambda x: dnp.sum(x, axis=0), (X23,)),
    ("sum-keepdims", lambda x: dnp.sum(x, axis=(0, 2), keepdims=True), (arr(2, 3, 4),)),
    ("mean", lambda x: dnp.mean(x, axis=-1), (arr(2, 3, 4),)),
    ("prod-all", dnp.prod, (arr(5),)),
    ("prod-axis", lambda x: dnp.prod(x, axis=1, keepdims=True), (arr(3, 7),)),
    ("prod-axes", lambda x: dnp.prod(x, axis=(0, 2)), (arr(2, 3, 3),)),
    ("prod-zero", dnp.prod, (jnp.array([2.0, 0.0, 3.0, 4.0]),)),
    ("prod-two-zeros", dnp.prod, (jnp.array([2.0, 0.0, 3.0, 0.0, 5.0]),)),
    ("max-axis", lambda x: dnp.max(x, axis=1), (X23,)),
    ("max-all", dnp.max, (X23,)),
    ("min-keepdims", lambda x: dnp.min(x, axis=0, keepdims=True), (X23,)),
    ("max-ties", dnp.max, (jnp.array([1.0, 3.0, 3.0, -2.0]),)),
    ("min-ties", lambda x: dnp.min(x, axis=1), (jnp.array([[1.0, 1.0, 2.0], [0.0, 5.0, 0.0]]),)),
    ("logsumexp-all", dnp.logsumexp, (X23,)),
    ("logsumexp-axis", lambda x: dnp.logsumexp(x, axis=1), (X23,)),
    ("logsumexp-keepdims", lambda x: dnp.logsumexp(x, axis=0, keepdims=True), (X23,)),
    ("softmax", dnp.softmax, (X23,)),
    ("softmax-axis0", lambda x: dnp.softmax(x, axis=0), (X23,)),
    ("log_softmax", dnp.log_softmax, (arr(4),)),
    # matmul, every rank combination
    *[(f"matmul-{sa}-{sb}", dnp.matmul, (arr(*sa), arr(*sb))) for sa, sb in [
        ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
        ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((1, 2, 3), (4, 3, 2))]],
    ("dot", dnp.dot, (arr(3), arr(3))),
    # shape and indexing
    ("transpose", dnp.transpose, (arr(2, 3, 4),)),
    ("transpose-axes", lambda x: dnp.transpose(x, (1, 2, 0)), (arr(2, 3, 4),)),
    ("T", lambda x: x.T @ x, (X23,)),
    ("reshape", lambda x: dnp.reshape(x, (3, -1)), (X23,)),
    ("broadcast_to", lambda x: dnp.broadcast_to(x, (4, 2, 3)), (arr(2, 1),)),
    ("stack", lambda x, y: dnp.stack([x, y, x * y], axis=1), (arr(3), arr(3))),
    ("stack-const", lambda x: dnp.stack([x, jnp.ones(3)]), (arr(3),)),
    ("concatenate", lambda x, y: dnp.concatenate([x, y], axis=1), (X23, arr(2, 4))),
    ("concatenate-const", lambda x: dnp.concatenate([jnp.zeros(2), x, x]), (arr(3),)),
    ("getitem-int", lambda x: x[1], (X23,)),
    ("getitem-slices", lambda x: x[:, ::2], (X23,)),
    ("getitem-none-ellipsis", lambda x: x[None, ..., 1], (arr(2, 3, 4),)),
    ("getitem-negative", lambda x: x[-1, -2:], (X23,)),
    ("getitem-int-array", lambda x: x[jnp.array([2, 0, 2])], (arr(4, 2),)),
    ("getitem-adjacent-arrays", lambda x: x[:, jnp.array([0, 2]), jnp.array([1, 1])], (arr(2, 3, 4),)),
    ("getitem-separated-arrays", lambda x: x[jnp.array([0, 1]), :, jnp.array([3, 2])], (arr(2, 3, 4),)),
    ("getitem-int-and-array", lambda x: x[0, :, jnp.array([1, 0, 1])], (arr(2, 3, 4),)),
    ("getitem-bool-mask", lambda x: x[x > 0], (X23,)),
    ("getitem-ellipsis-array", lambda x: x[..., jnp.array([0, 0])], (arr(2, 3, 4),)),
    ("index_add", lambda x, y: x.at[1].add(y), (X23, arr(3))),
    ("index_add-x-only", lambda x: x.at[jnp.array([0, 0, 2])].add(1.0), (arr(4),)),
    ("index_add-y-only", lambda y: dnp.index_add(jnp.zeros((4, 3)), jnp.array([0, 3, 0]), y), (arr(3, 3),)),
    ("index_add-broadcast", lambda x, y: x.at[:, 1:].add(y), (arr(3, 4), arr(3))),
    ("index_add-separated", lambda x, y: x.at[SEPARATED].add(y), (arr(2, 3, 4), arr(2, 3))),
    # composites
    ("var", dnp.var, (arr(6),)),
    ("norm", dnp.linalg.norm, (arr(5),)),
    ("clip", lambda x: dnp.clip(x, -0.5, 0.5), (arr(7),)),
    ("outer", dnp.outer, (arr(3), arr(4))),
    ("trace", dnp.trace, (arr(3, 3),)),
    ("squeeze-expand", lambda x: dnp.expand_dims(dnp.squeeze(x), 0), (arr(3, 1),)),
    ("asarray-of-duals", lambda x, y: dnp.asarray([[x, y], [y * y, x]]), (jnp.asarray(0.3), jnp.asarray(-1.2))),
]

IDS = [c[0] for c in CASES]


def _argnums(args):
    return tuple(range(len(args)))


def _contract(jac, tangents):
    """J · v from a Jacobian in jax.jacobian's layout (NumPy, so it adds no JAX compilation)."""
    def one(blocks):
        return sum(np.tensordot(np.asarray(b), np.asarray(t), axes=np.ndim(t)) for b, t in zip(blocks, tangents))

    return jax.tree_util.tree_map(one, jac, is_leaf=lambda b: isinstance(b, tuple))


def _jit_if_possible(fn):
    """``jax.jit(fn)`` (one compilation instead of one per eager operation: the tests stay fast),
    or ``fn`` itself where the shapes depend on values (boolean masks)."""
    jitted = jax.jit(fn)

    def call(*args):
        try:
            return jitted(*args)
        except (jax.errors.NonConcreteBooleanIndexError, jax.errors.ConcretizationTypeError):
            return fn(*args)

    return call


@pytest.mark.slow
@pytest.mark.parametrize("name,f,args", CASES, ids=IDS)
def test_rule_matches_jax(name, f, args):
    """The batched Jacobian (a leading tangent axis through every rule) against jax.jacfwd,
    and the one-tangent JVP against J · v."""
    argnums = _argnums(args)
    both = lambda *a: (jax.jacfwd(f, argnums)(*a), fwd.jacobian(f, argnums, mode="batched")(*a))  # noqa: E731
    expected, batched = _jit_if_possible(both)(*args)  # one compiled program for both
    assert_close(batched, expected, RTOL, name)
    tangents = tuple(rng.normal(size=jnp.shape(a)) for a in args)
    out, tangent = fwd.jvp(f, args, tangents)  # eagerly, on concrete values
    assert_close(out, f(*args), RTOL, name)
    assert_close(tangent, _contract(expected, tangents), RTOL, name)


@pytest.mark.slow
@pytest.mark.parametrize("name,f,args", CASES[::7], ids=IDS[::7])
def test_jacobian_by_passes_and_vmap_match_batched(name, f, args):
    batched = fwd.jacobian(f, argnums=_argnums(args), mode="batched")(*args)
    assert_close(fwd.jacobian(f, argnums=_argnums(args), mode="passes")(*args), batched, RTOL, name)
    assert_close(fwd.jacobian(f, argnums=_argnums(args), mode="vector")(*args), batched, RTOL, name)


def test_every_primitive_has_a_rule_and_a_case():
    assert set(fwd.RULES) == set(PRIMITIVES)
    assert all(row["forward"] == "rule" for row in coverage().values())
    assert not fwd.UNSUPPORTED


def test_batched_jvp_gives_k_jvps_in_one_pass():
    f = lambda x, y: dnp.tanh(x @ y) * dnp.sum(y)  # noqa: E731
    x, y = arr(3, 4), arr(4)
    tx, ty = arr(5, 3, 4), arr(5, 4)
    with fwd.counting() as counts:
        out, tangents = fwd.jvp(f, (x, y), (tx, ty), batched=True)
    assert counts.passes == 1 and counts.directions == 5
    expected = jax.vmap(lambda a, b: jax.jvp(f, (x, y), (a, b))[1])(tx, ty)
    assert_close(tangents, expected, RTOL)
    assert_close(out, f(x, y), RTOL)


# ---------------------------------------------------------------- kinks: JAX's conventions


KINKS = [
    ("relu'(0) = 0", dnp.relu, 0.0, 0.0),
    ("abs'(0) = 1", dnp.abs, 0.0, 1.0),
    ("sqrt'(0) = inf", dnp.sqrt, 0.0, np.inf),
    ("maximum(x, 0)'(0) = 0.5", lambda x: dnp.maximum(x, 0.0), 0.0, 0.5),
    ("minimum(x, 0)'(0) = 0.5", lambda x: dnp.minimum(x, 0.0), 0.0, 0.5),
    ("maximum(x, x)' = 1", lambda x: dnp.maximum(x, x), 1.0, 1.0),
    ("where(x > 0, x, 0)'(0) = 0", lambda x: dnp.where(x > 0, x, 0.0), 0.0, 0.0),
    ("(x**2)'(0) = 0", lambda x: x**2, 0.0, 0.0),
    ("(x**0.5)'(0) = inf", lambda x: x**0.5, 0.0, np.inf),
    ("(x**0)'(0) = 0", lambda x: x**0, 0.0, 0.0),
    ("(x**0.0)'(0) = nan", lambda x: x**0.0, 0.0, np.nan),
    ("clip at the bound", lambda x: dnp.clip(x, 0.0, 1.0), 1.0, 0.5),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,f,x,expected", KINKS, ids=[k[0] for k in KINKS])
def test_kinks_follow_jax(name, f, x, expected):
    x = jnp.asarray(x)
    jax_value = jax.jvp(f, (x,), (jnp.ones_like(x),))[1]
    same = lambda a: np.array_equal(np.asarray(a), expected, equal_nan=True)  # noqa: E731
    assert same(jax_value), "the table above is JAX's convention"
    assert same(fwd.jvp(f, (x,), (jnp.ones_like(x),))[1])
    assert same(fwd.grad(f)(x))


@pytest.mark.slow
def test_kinks_of_reductions_and_norm_follow_jax():
    ties = jnp.array([[2.0, 2.0, 1.0], [0.0, 0.0, 0.0]])
    for f in (dnp.max, dnp.min, lambda x: dnp.max(x, axis=1), lambda x: dnp.prod(x, axis=0)):
        assert_close(fwd.jacobian(f)(ties), jax.jacfwd(f)(ties), 0.0)
    assert np.isnan(fwd.grad(dnp.linalg.norm)(jnp.zeros(3))).all()
    assert np.isnan(jax.grad(jnp.linalg.norm)(jnp.zeros(3))).all()
    assert_close(fwd.grad(dnp.relu)(jnp.asarray(0.0)), jax.grad(jax.nn.relu)(0.0), 0.0)
