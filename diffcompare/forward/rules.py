"""Forward mode's one table: a JVP rule for every primitive of ``diffcompare.numpy``.

An elementwise primitive's rule is its declared derivative (``Primitive.derivative`` in
:mod:`diffcompare.primitives`) applied to the tangent; the rules written here are the ones that
cannot be said elementwise (``where``, reductions, contractions, shapes and indexing).

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
from .._core import bind
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


# ---------------------------------------------------------------- elementwise (from the declarations)


def _elementwise(prim):
    """The JVP rule of an elementwise primitive: its declared derivative (``Primitive.derivative``)
    applied to the operands' tangents, each lifted to the output's rank; constants have none."""
    fn = functools.partial(bind, prim)
    if prim.kind == "unary":
        def unary(trace, x):
            xp, xt = trace.split(x)
            ans = fn(xp)
            return trace.dual(ans, None if xt is None else prim.derivative(dnp, xt, xp, ans))

        return unary
    dx, dy = prim.derivative

    def binary(trace, x, y):
        (xp, xt), (yp, yt) = trace.split(x), trace.split(y)
        ans = fn(xp, yp)
        shape = dnp.shape(ans)
        r = len(shape)
        tx = None if xt is None else dx(dnp, _lift(trace, xt, r), xp, yp, ans)
        ty = None if yt is None else dy(dnp, _lift(trace, yt, r), xp, yp, ans)
        return trace.dual(ans, _fit(trace, _add(tx, ty), shape))

    return binary


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


# ---------------------------------------------------------------- the table

#: primitive name -> JVP rule ``rule(trace, *operands, **params) -> Dual``
RULES = {
    # every elementwise primitive's rule comes from its declaration in primitives.py
    **{name: _elementwise(p) for name, p in PRIMITIVES.items() if p.derivative is not None},
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

#: primitive name -> why forward mode refuses it (every primitive has a rule)
UNSUPPORTED: dict[str, str] = {}
