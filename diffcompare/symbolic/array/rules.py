"""The array level's two tables: :data:`ARRAY_RULES` (primitive name -> the node it builds) and
:data:`VJPS` (node kind -> its VJP as array expressions). An elementwise primitive's VJP is its declared
derivative (``Primitive.derivative`` in :mod:`diffcompare.primitives`) applied to the cotangent, evaluated
on array expressions; the rules written here are the ones that cannot be said elementwise.
"""

from __future__ import annotations

import jax
import numpy as np

from ... import numpy as dnp
from ..._core import Trace
from ...errors import ConcretizationError, UnsupportedOperationError
from ...primitives import PRIMITIVES
from ..trace import concretization_message
from .nodes import (
    NO_DERIVATIVE,
    AArray,
    as_anode,
    basic_index,
    binary,
    broadcast_to,
    const,
    diag,
    diagonal,
    getitem,
    matmul,
    mul,
    outer,
    reduce_extreme,
    reduce_sum,
    reduced_shape,
    reshape,
    scatter,
    select,
    swap_last,
    transpose,
    unary,
    unbroadcast,
)


def _elementwise_vjp(prim):
    """The VJP of an elementwise primitive: its declared derivative (``Primitive.derivative``, linear in
    the tangent) applied to the cotangent, on array expressions, for each operand that is not a constant."""
    derivatives = (prim.derivative,) if prim.kind == "unary" else prim.derivative

    def vjp(g, n):
        trace = ExpressionTrace(prim.name)
        t, operands, ans = AArray(trace, g), [AArray(trace, a) for a in n.args], AArray(trace, n)
        return tuple(None if a.op in ("const", "eye") else as_anode(d(dnp, t, *operands, ans))
                     for a, d in zip(n.args, derivatives))

    return vjp


def _vjp_matmul(g, n):
    a, b = n.args
    if a.ndim == 1 and b.ndim == 1:
        return mul(g, b), mul(g, a)
    if a.ndim == 1:  # (q,) @ (q, r) -> (r,)
        return matmul(b, g), outer(a, g)
    if b.ndim == 1:  # (p, q) @ (q,) -> (p,)
        return outer(g, b), matmul(transpose(a), g)
    return matmul(g, transpose(b)), matmul(transpose(a), g)


def _vjp_batched_matmul(g, n):
    a, b = n.args
    return unbroadcast(matmul(g, swap_last(b)), a.shape), unbroadcast(matmul(swap_last(a), g), b.shape)


def _vjp_extreme(g, n):
    # ties share the cotangent equally, as JAX
    (a,), axis = n.args, n.params[0]
    kept = reduced_shape(a.shape, axis, keepdims=True)
    mask = binary("eq", a, broadcast_to(reshape(n, kept), a.shape))
    share = binary("divide", mask, broadcast_to(reduce_sum(mask, axis, keepdims=True), a.shape))
    return (mul(broadcast_to(reshape(g, kept), a.shape), share),)


def _vjp_sum(g, n):
    (a,), (axis, keepdims) = n.args, n.params
    if not keepdims:
        g = reshape(g, reduced_shape(a.shape, axis, keepdims=True))
    return (broadcast_to(g, a.shape),)


def _inverse(axes):
    return tuple(int(i) for i in np.argsort(axes))


#: node kind -> vjp(cotangent, node) giving one cotangent per operand (None where none)
VJPS = {
    # every elementwise primitive's VJP comes from its declaration in primitives.py
    **{name: _elementwise_vjp(p) for name, p in PRIMITIVES.items() if p.derivative is not None},
    "select": lambda g, n: (None, select(n.args[0], g, 0.0), select(n.args[0], 0.0, g)),
    "gt": lambda g, n: (None, None), "ge": lambda g, n: (None, None), "eq": lambda g, n: (None, None),
    **{kind: (lambda g, n: (None,)) for kind in NO_DERIVATIVE},
    "sum": _vjp_sum,
    "broadcast_to": lambda g, n: (unbroadcast(g, n.args[0].shape),),
    "reshape": lambda g, n: (reshape(g, n.args[0].shape),),
    "transpose": lambda g, n: (transpose(g, _inverse(n.params[0])),),
    "matmul": lambda g, n: (_vjp_batched_matmul if n.ndim > 2 else _vjp_matmul)(g, n),
    "outer": lambda g, n: (matmul(g, n.args[1]), matmul(transpose(g), n.args[0])),
    "diag": lambda g, n: (diagonal(g),),
    "diagonal": lambda g, n: (diag(g),),
    "max": _vjp_extreme,
    "min": _vjp_extreme,
    "getitem": lambda g, n: (scatter(g, n.params[0], n.args[0].shape),),
    "scatter": lambda g, n: (getitem(g, n.params[0]),),
}


#: comparison -> (node kind, operands swapped); not_equal is 1 - eq
_COMPARISONS = {"greater": ("gt", False), "less": ("gt", True), "greater_equal": ("ge", False),
                "less_equal": ("ge", True), "equal": ("eq", False), "not_equal": ("eq", False)}


class ExpressionTrace(Trace):
    """Array expressions: each primitive becomes one node (:data:`ARRAY_RULES`) and a comparison a node
    that is 1 where it holds (how a declared derivative's masks are written). The trace of a user's
    function (:class:`.trace.ArrayTrace`) refuses comparisons instead."""

    engine = "symbolic (array level)"

    def __init__(self, function_name: str = "the function"):
        super().__init__()
        self.function_name = function_name

    def process(self, prim, operands, params):
        rule = ARRAY_RULES.get(prim.name)
        if rule is None:
            raise UnsupportedOperationError(prim.name, self.engine, "it is scalar-expanded instead")
        return AArray(self, rule(*operands, **params))

    def concrete(self, value):
        raise ConcretizationError(concretization_message(self.function_name))

    def step(self, name, x):
        """A piecewise-constant function (``dnp.floor``, ...): one node, derivative 0."""
        return AArray(self, unary(name, x))

    def compare(self, name, x, y):
        kind, swap = _COMPARISONS[name]
        a, b = (y, x) if swap else (x, y)
        hit = binary(kind, a, b)
        return AArray(self, binary("subtract", 1.0, hit) if name == "not_equal" else hit)


def _rule_binary(op):
    return lambda a, b: binary(op, a, b)


def _rule_where(c, a, b):
    if isinstance(c, AArray):  # a comparison of expressions (in a declared derivative): 1 or 0
        return select(c, a, b)
    return select(const(np.asarray(c, dtype=np.float64)), a, b)


def _arange_pair(index, n):
    """Whether ``index`` is ``(arange(n), arange(n))``, the index ``dnp.diag`` and ``dnp.diagonal`` use."""
    return (len(index) == 2 and all(isinstance(i, (np.ndarray, jax.Array)) and np.shape(i) == (n,) for i in index)
            and all(np.array_equal(np.asarray(i), np.arange(n)) for i in index))


def _rule_getitem(x, *, index):
    x = as_anode(x)
    key = basic_index(index, x.shape)
    if key is not None:
        return getitem(x, key)
    if x.ndim == 2 and x.shape[0] == x.shape[1] and _arange_pair(tuple(i for i in index if i is not Ellipsis),
                                                                   x.shape[0]):
        return diagonal(x)  # the diagonal of a square matrix
    raise UnsupportedOperationError("getitem", "symbolic (array level)",
                                    "an advanced (array) index is scalar-expanded; slices and integers stay arrays")


def _rule_index_add(x, y, *, index):
    x, y = as_anode(x), as_anode(y)
    if (x.op == "const" and x.ndim == 2 and y.ndim == 1 and x.shape == y.shape * 2
            and not np.any(np.asarray(x.value)) and _arange_pair(index, y.shape[0])):
        return diag(y)  # zeros with y on the diagonal: dnp.diag(y)
    raise UnsupportedOperationError("index_add", "symbolic (array level)", "it is scalar-expanded instead")


ARRAY_RULES = {
    # every elementwise primitive: one node (its VJP comes from the declaration)
    **{name: (lambda op: lambda a: unary(op, a))(name) for name, p in PRIMITIVES.items()
       if p.kind == "unary" and p.derivative is not None},
    **{name: _rule_binary(name) for name, p in PRIMITIVES.items() if p.kind == "binary"},
    "where": _rule_where,
    "sum": lambda x, *, axis, keepdims: reduce_sum(x, axis, keepdims),
    "max": lambda x, *, axis, keepdims: reduce_extreme("max", x, axis, keepdims),
    "min": lambda x, *, axis, keepdims: reduce_extreme("min", x, axis, keepdims),
    "getitem": _rule_getitem,
    "index_add": _rule_index_add,
    "matmul": matmul,
    "transpose": lambda x, *, axes: transpose(x, axes),
    "reshape": lambda x, *, shape: reshape(x, shape),
    "broadcast_to": lambda x, *, shape: broadcast_to(x, shape),
}
