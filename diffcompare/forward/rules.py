"""Forward mode's one table: a JVP rule for every primitive of ``diffcompare.numpy``.

A rule receives the trace and the operands (duals of this trace, or constants)
and returns the output dual: its primal computed from the primals, its tangent
from the tangents by the derivative (``sin``: ``ṫ · cos x``). Everything is
written with ``diffcompare.numpy``, so primals and tangents may be another
engine's values (an outer dual, a tape node): that is forward over forward and
forward over reverse, for free.

Two conventions keep the rules short:

* a constant's tangent is ``None`` (a symbolic zero, never materialised);
* in vector mode a tangent has a leading batch axis (``trace.batch == (k,)``).
  Elementwise rules broadcast it for free once :func:`_lift` has given the
  tangent the output's rank; reductions, ``transpose``, ``stack`` ... shift
  their axes by ``nb = len(trace.batch)``.

At kinks the rules follow JAX's conventions (the ``kink`` column of
``diffcompare.primitives``): relu'(0) = 0, abs'(0) = 1, ties of
maximum/minimum split 0.5/0.5, tied max/min entries share equally.
"""

from __future__ import annotations

import functools
import math

import jax
import numpy as np

from .. import numpy as dnp
from .._core import EngineValue, bind
from ..primitives import PRIMITIVES, einsum_free_letters

# ---------------------------------------------------------------- the one broadcasting helper


def _lift(trace, t, rank: int):
    """Give tangent ``t`` the output's rank, so it broadcasts as its primal does.

    Outside vector mode NumPy broadcasting already does this. In vector mode a
    tangent of shape ``(k,) + s`` becomes ``(k,) + (1,) * (rank - len(s)) + s``:
    the batch axis stays first instead of being aligned with a primal axis.
    """
    if t is None or not trace.batch:
        return t
    s = dnp.shape(t)[1:]
    if len(s) >= rank:
        return t
    return dnp.reshape(t, trace.batch + (1,) * (rank - len(s)) + s)


def _fit(trace, t, shape):
    """Tangent ``t`` broadcast to exactly ``batch + shape`` (the output's tangent shape)."""
    if t is None:
        return None
    t = _lift(trace, t, len(shape))
    target = trace.batch + tuple(shape)
    return t if dnp.shape(t) == target else dnp.broadcast_to(t, target)


def _add(*terms):
    """Sum of tangent terms, skipping symbolic zeros (None)."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _shift(trace, axes):
    """Axes of a primal, as axes of its tangent (after the batch axis)."""
    nb = len(trace.batch)
    return tuple(a + nb for a in axes)


def _zero_if_none(trace, t, primal):
    return trace.zeros(primal) if t is None else t


# ---------------------------------------------------------------- elementwise


def _unary(primal_fn, tangent_fn):
    """A unary rule: ``tangent_fn(ṫ, x, ans)`` is ṫ · f'(x)."""

    def rule(trace, x):
        xp, xt = trace.split(x)
        ans = primal_fn(xp)
        return trace.dual(ans, tangent_fn(xt, xp, ans))

    return rule


def _binary(primal_fn, dx, dy):
    """A broadcasting binary rule: ``dx(ẋ, x, y, ans)`` is ẋ · ∂f/∂x, ``dy`` likewise."""

    def rule(trace, x, y):
        (xp, xt), (yp, yt) = trace.split(x), trace.split(y)
        ans = primal_fn(xp, yp)
        shape = dnp.shape(ans)
        r = len(shape)
        tx = None if xt is None else dx(_lift(trace, xt, r), xp, yp, ans)
        ty = None if yt is None else dy(_lift(trace, yt, r), xp, yp, ans)
        return trace.dual(ans, _fit(trace, _add(tx, ty), shape))

    return rule


def _safe(x, where_zero, value):
    # x with the entries where ``where_zero`` replaced by ``value`` (JAX's _replace_zero)
    return dnp.where(where_zero, value, x)


def _power_dx(t, x, y, ans):
    # JAX: y · x^(y-1); for an integer exponent, 0 where y == 0 (so x**0 has derivative 0 at
    # x = 0, while x**0.0 gives 0 · inf = nan there, as in JAX)
    if not _is_integer(y):
        return t * (y * x ** (y - 1))
    if isinstance(y, int):  # a Python constant (x ** 2): the mask is known now
        return t * 0.0 if y == 0 else t * (y * dnp.power(x, y - 1))
    y_is_zero = dnp.equal(y, 0)
    return t * dnp.where(y_is_zero, 0.0, _safe(y, y_is_zero, 1) * x ** (y - 1))


def _is_integer(y) -> bool:
    if isinstance(y, EngineValue):
        return False
    return bool(np.issubdtype(np.result_type(y) if isinstance(y, (int, float)) else y.dtype, np.integer))


def _power_dy(t, x, y, ans):
    # JAX: log(x) · x^y, with log(1) = 0 used where x == 0
    return t * (dnp.log(_safe(x, dnp.equal(x, 0), 1.0)) * ans)


def _tie_weights(x, y, ans):
    # JAX's balanced rule: weight 1 for the operand that is the answer, 0.5 each on a tie
    x_is, y_is = dnp.equal(x, ans), dnp.equal(y, ans)
    return dnp.where(x_is, dnp.where(y_is, 0.5, 1.0), 0.0), dnp.where(y_is, dnp.where(x_is, 0.5, 1.0), 0.0)


def _choose(primal_fn):
    return _binary(
        primal_fn,
        lambda t, x, y, ans: t * _tie_weights(x, y, ans)[0],
        lambda t, x, y, ans: t * _tie_weights(x, y, ans)[1],
    )


def _where(trace, cond, x, y):
    (xp, xt), (yp, yt) = trace.split(x), trace.split(y)
    ans = dnp.where(cond, xp, yp)
    shape = dnp.shape(ans)
    tx = 0.0 if xt is None else _lift(trace, xt, len(shape))
    ty = 0.0 if yt is None else _lift(trace, yt, len(shape))
    return trace.dual(ans, _fit(trace, dnp.where(cond, tx, ty), shape))


# ---------------------------------------------------------------- reductions


def _sum(trace, x, *, axis, keepdims):
    xp, xt = trace.split(x)
    return trace.dual(dnp.sum(xp, axis, keepdims=keepdims), dnp.sum(xt, _shift(trace, axis), keepdims=keepdims))


def _chooser(primal_fn):
    # max/min: the tangent of the chosen entry; tied entries share equally (JAX)
    def rule(trace, x, *, axis, keepdims):
        xp, xt = trace.split(x)
        ans = primal_fn(xp, axis, keepdims=True)
        chosen = dnp.where(dnp.equal(xp, ans), 1.0, 0.0)
        count = dnp.sum(chosen, axis, keepdims=keepdims)
        tangent = dnp.sum(xt * chosen, _shift(trace, axis), keepdims=keepdims) / count
        return trace.dual(ans if keepdims else primal_fn(xp, axis, keepdims=False), tangent)

    return rule


def _prod(trace, x, *, axis, keepdims):
    # the product rule along a pairwise tree of products, as JAX does: exact with zero entries
    xp, xt = trace.split(x)
    ans = dnp.prod(xp, axis, keepdims=keepdims)
    rank, nb = dnp.ndim(xp), len(trace.batch)
    kept = [a for a in range(rank) if a not in axis]
    n = math.prod(dnp.shape(xp)[a] for a in axis)
    lead = tuple(dnp.shape(xp)[a] for a in kept)
    p = dnp.reshape(dnp.transpose(xp, tuple(kept) + axis), lead + (n,))
    t = dnp.transpose(xt, tuple(range(nb)) + _shift(trace, tuple(kept) + axis))
    t = dnp.reshape(t, trace.batch + lead + (n,))
    if n == 0:
        return trace.dual(ans, trace.zeros(ans))
    while dnp.shape(p)[-1] > 1:
        if dnp.shape(p)[-1] % 2:  # pad with the neutral pair (1, 0)
            p = dnp.concatenate([p, dnp.ones_like(p[..., :1])], axis=-1)
            t = dnp.concatenate([t, dnp.zeros_like(t[..., :1])], axis=-1)
        p0, p1, t0, t1 = p[..., 0::2], p[..., 1::2], t[..., 0::2], t[..., 1::2]
        p, t = p0 * p1, t0 * p1 + p0 * t1
    return trace.dual(ans, dnp.reshape(t, trace.batch + dnp.shape(ans)))


def _logsumexp(trace, x, *, axis, keepdims):
    # the weights are softmax(x), shifted by the maximum: exp(x - logsumexp(x)) rounds to 1 at |x| ~ 1e16
    xp, xt = trace.split(x)
    weights = dnp.softmax(xp, axis)
    tangent = dnp.sum(xt * weights, _shift(trace, axis), keepdims=keepdims)
    return trace.dual(dnp.logsumexp(xp, axis, keepdims=keepdims), tangent)


def _softmax(trace, x, *, axis):
    xp, xt = trace.split(x)
    s = dnp.softmax(xp, axis)
    return trace.dual(s, s * (xt - dnp.sum(s * xt, _shift(trace, axis), keepdims=True)))


def _cumsum(trace, x, *, axis):
    xp, xt = trace.split(x)
    return trace.dual(dnp.cumsum(xp, axis), dnp.cumsum(xt, axis + len(trace.batch)))


# ---------------------------------------------------------------- linear algebra


def _einsum(trace, arrays, *, subscripts):
    # product rule: one einsum per operand with a tangent, the tangent in that operand's place;
    # in vector mode the tangent's batch axis gets a letter of its own, kept first in the output
    pairs = [trace.split(a) for a in arrays]
    primals = [p for p, _ in pairs]
    ans = dnp.einsum(subscripts, *primals)
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    letter = einsum_free_letters(subscripts, 1) if trace.batch else ""
    tangent = None
    for i, (_, t) in enumerate(pairs):
        if t is None:
            continue
        spec = ",".join(letter + s if j == i else s for j, s in enumerate(terms)) + "->" + letter + output
        term = dnp.einsum(spec, *primals[:i], t, *primals[i + 1:])
        tangent = term if tangent is None else tangent + term
    return trace.dual(ans, tangent)


def _matmul(trace, a, b):
    # (a + ȧ)(b + ḃ) = ab + (ȧb + aḃ): 1-d operands are promoted to matrices so the
    # batch axis of a tangent never meets a contracted axis, then the result is reshaped back
    (ap, at), (bp, bt) = trace.split(a), trace.split(b)
    ans = dnp.matmul(ap, bp)
    a2 = ap if dnp.ndim(ap) > 1 else dnp.reshape(ap, (1,) + dnp.shape(ap))
    b2 = bp if dnp.ndim(bp) > 1 else dnp.reshape(bp, dnp.shape(bp) + (1,))
    rank = max(dnp.ndim(a2), dnp.ndim(b2))
    vector_matrix = dnp.ndim(ap) == 1 and dnp.ndim(bp) == 2
    matrix_vector = dnp.ndim(ap) == 2 and dnp.ndim(bp) == 1
    if at is None:
        ta = None
    elif vector_matrix:  # (k, n) @ b: no promotion, so XLA sees a plain matrix product
        ta = dnp.matmul(at, bp)
    else:
        ta = dnp.matmul(_lift(trace, dnp.reshape(at, trace.batch + dnp.shape(a2)), rank), b2)
    if bt is None:
        tb = None
    elif matrix_vector:  # a @ ḃ, or (k, n) @ aᵀ for k tangents at once
        tb = dnp.matmul(bt, dnp.transpose(ap)) if trace.batch else dnp.matmul(ap, bt)
    else:
        tb = dnp.matmul(a2, _lift(trace, dnp.reshape(bt, trace.batch + dnp.shape(b2)), rank))
    out_shape = trace.batch + dnp.shape(ans)
    return trace.dual(ans, _add(*(None if t is None else dnp.reshape(t, out_shape) for t in (ta, tb))))


# ---------------------------------------------------------------- shape and indexing


def _transpose(trace, x, *, axes):
    xp, xt = trace.split(x)
    return trace.dual(dnp.transpose(xp, axes), dnp.transpose(xt, tuple(range(len(trace.batch))) + _shift(trace, axes)))


def _reshape(trace, x, *, shape):
    xp, xt = trace.split(x)
    return trace.dual(dnp.reshape(xp, shape), dnp.reshape(xt, trace.batch + tuple(shape)))


def _broadcast_to(trace, x, *, shape):
    xp, xt = trace.split(x)
    return trace.dual(dnp.broadcast_to(xp, shape), _fit(trace, xt, shape))


def _joiner(primal_fn):
    def rule(trace, arrays, *, axis):
        pairs = [trace.split(a) for a in arrays]
        primals = [p for p, _ in pairs]
        tangents = [_zero_if_none(trace, t, p) for p, t in pairs]
        return trace.dual(primal_fn(primals, axis), primal_fn(tangents, axis + len(trace.batch)))

    return rule


def _is_array_index(item) -> bool:
    return isinstance(item, (jax.Array, np.ndarray))


def _batched_index(trace, index, rank):
    """How to apply ``index`` to a batched tangent.

    Returns ``(index', batch_last)``. Without array entries the batch axis is
    kept first by a leading ``:``. With array entries NumPy may move the
    indexed axes to the front, so the batch axis is moved last instead (where
    NumPy leaves it alone) and ``...`` is spelled out so it cannot reach it.
    """
    if not trace.batch:
        return index, False
    if not any(_is_array_index(i) for i in index):
        return (slice(None),) + index, False
    real = [i for i in index if i is not None and i is not Ellipsis]
    used = sum(i.ndim if _is_array_index(i) and i.dtype == bool else 1 for i in real)
    expanded = []
    for item in index:
        expanded.extend([slice(None)] * (rank - used) if item is Ellipsis else [item])
    return tuple(expanded), True


def _to_last(t):
    return dnp.transpose(t, tuple(range(1, dnp.ndim(t))) + (0,))


def _to_first(t):
    r = dnp.ndim(t)
    return dnp.transpose(t, (r - 1,) + tuple(range(r - 1)))


def _getitem(trace, x, *, index):
    xp, xt = trace.split(x)
    ans = dnp.getitem(xp, index)
    tindex, batch_last = _batched_index(trace, index, dnp.ndim(xp))
    if batch_last:
        return trace.dual(ans, _to_first(dnp.getitem(_to_last(xt), tindex)))
    return trace.dual(ans, dnp.getitem(xt, tindex))


def _indexed_shape(shape, index):
    try:
        probe = tuple(np.asarray(i) if isinstance(i, jax.Array) else i for i in index)
        return np.broadcast_to(np.empty((), bool), shape)[probe].shape
    except (TypeError, jax.errors.ConcretizationTypeError):  # traced index arrays: let JAX work it out
        return jax.eval_shape(lambda z: z[index], jax.ShapeDtypeStruct(shape, bool)).shape


def _index_add(trace, x, y, *, index):
    (xp, xt), (yp, yt) = trace.split(x), trace.split(y)
    ans = dnp.index_add(xp, index, yp)
    xt = _fit(trace, _zero_if_none(trace, xt, xp), dnp.shape(ans))
    if yt is None:
        return trace.dual(ans, xt)
    yt = _fit(trace, yt, _indexed_shape(dnp.shape(xp), index))
    tindex, batch_last = _batched_index(trace, index, dnp.ndim(xp))
    if batch_last:
        return trace.dual(ans, _to_first(dnp.index_add(_to_last(xt), tindex, _to_last(yt))))
    return trace.dual(ans, dnp.index_add(xt, tindex, yt))


def _astype(trace, x, *, dtype):
    xp, xt = trace.split(x)
    return trace.dual(dnp.astype(xp, dtype), dnp.astype(xt, dtype))


def _stop_gradient(trace, x):
    # the primal alone (a constant to this trace), itself stopped for any outer engine, as in JAX
    return dnp.stop_gradient(trace.split(x)[0])


def _declared(prim):
    """The JVP rule of an elementwise primitive declared with its derivative (``Primitive.derivative``)."""
    fn = functools.partial(bind, prim)
    if prim.kind == "unary":
        return _unary(fn, lambda t, x, ans: t * prim.derivative(dnp, x, ans))
    dx, dy = prim.derivative
    return _binary(fn, lambda t, x, y, ans: t * dx(dnp, x, y, ans), lambda t, x, y, ans: t * dy(dnp, x, y, ans))


# ---------------------------------------------------------------- the table

#: primitive name -> JVP rule ``rule(trace, *operands, **params) -> Dual``
RULES = {
    "negative": _unary(dnp.negative, lambda t, x, ans: -t),
    "exp": _unary(dnp.exp, lambda t, x, ans: t * ans),
    "log": _unary(dnp.log, lambda t, x, ans: t / x),
    "log1p": _unary(dnp.log1p, lambda t, x, ans: t / (1.0 + x)),
    "expm1": _unary(dnp.expm1, lambda t, x, ans: t * (ans + 1.0)),
    "sqrt": _unary(dnp.sqrt, lambda t, x, ans: t * (0.5 / ans)),  # inf at 0, as JAX
    "sin": _unary(dnp.sin, lambda t, x, ans: t * dnp.cos(x)),
    "cos": _unary(dnp.cos, lambda t, x, ans: t * -dnp.sin(x)),
    "tan": _unary(dnp.tan, lambda t, x, ans: t * (1.0 + ans * ans)),
    "tanh": _unary(dnp.tanh, lambda t, x, ans: t * (1.0 - ans * ans)),
    "sinh": _unary(dnp.sinh, lambda t, x, ans: t * dnp.cosh(x)),
    "cosh": _unary(dnp.cosh, lambda t, x, ans: t * dnp.sinh(x)),
    "arctan": _unary(dnp.arctan, lambda t, x, ans: t / (1.0 + x * x)),
    "sigmoid": _unary(dnp.sigmoid, lambda t, x, ans: t * (ans * (1.0 - ans))),
    "abs": _unary(dnp.abs, lambda t, x, ans: dnp.where(dnp.greater_equal(x, 0), t, -t)),  # abs'(0) = 1
    "relu": _unary(dnp.relu, lambda t, x, ans: dnp.where(dnp.greater(x, 0), t, 0.0)),  # relu'(0) = 0
    "add": _binary(dnp.add, lambda t, x, y, ans: t, lambda t, x, y, ans: t),
    "subtract": _binary(dnp.subtract, lambda t, x, y, ans: t, lambda t, x, y, ans: -t),
    "multiply": _binary(dnp.multiply, lambda t, x, y, ans: t * y, lambda t, x, y, ans: x * t),
    "divide": _binary(dnp.divide, lambda t, x, y, ans: t / y, lambda t, x, y, ans: -t * (ans / y)),
    "power": _binary(dnp.power, _power_dx, _power_dy),
    "maximum": _choose(dnp.maximum),
    "minimum": _choose(dnp.minimum),
    "where": _where,
    "sum": _sum,
    "prod": _prod,
    "max": _chooser(dnp.max),
    "min": _chooser(dnp.min),
    "logsumexp": _logsumexp,
    "softmax": _softmax,
    "matmul": _matmul,
    "transpose": _transpose,
    "reshape": _reshape,
    "broadcast_to": _broadcast_to,
    "stack": _joiner(dnp.stack),
    "concatenate": _joiner(dnp.concatenate),
    "getitem": _getitem,
    "index_add": _index_add,
    "cumsum": _cumsum,
    "einsum": _einsum,
    "stop_gradient": _stop_gradient,
    "astype": _astype,
}
RULES.update({name: _declared(p) for name, p in PRIMITIVES.items() if p.derivative is not None})

#: primitive name -> why forward mode refuses it (every primitive has a rule)
UNSUPPORTED: dict[str, str] = {}
