"""The symbolic engine's rules: how each primitive acts on arrays of expressions,
and the derivative of each kind of scalar node.

``RULES`` (keyed by primitive name, registered with
:class:`~diffcompare.symbolic.trace.SymbolicTrace`, which registers itself) turns a primitive applied to
arrays of nodes into new arrays of nodes, element by element: ``matmul`` is
explicit sums of products, ``sum`` a chain of additions, ``logsumexp`` and
``softmax`` are written per element with a shift by the maximum.

``DERIVATIVES`` (keyed by node kind; the elementwise kinds are primitive names)
gives the local partial derivatives of a node with respect to each operand,
as nodes. Both ways of differentiating (:mod:`.differentiate`) use only this
table. At kinks they give what JAX gives: relu'(0) = 0, abs'(0) = 1, ties of
maximum/minimum split 0.5/0.5, tied maxima of a reduction share equally,
sqrt'(0) = inf. Comparisons and ``select``'s condition are never differentiated.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy as dnp
from ..primitives import PRIMITIVES
from . import expr as E
from .expr import Node, add, const, div, make, mul, neg, obj_array, power, select, sub

# ---------------------------------------------------------------- derivatives of scalar nodes


def _two(x: Node) -> Node:
    return mul(x, x)


def _max_partials(node: Node):
    # tied maxima share equally: [x_i == m] / #ties (JAX's rule for reductions)
    hits = [make("eq", a, node) for a in node.args]
    count = E.sum_nodes(hits)
    return tuple(div(h, count) for h in hits)


def _power_partials(node: Node):
    x, y = node.args
    if y.is_const:
        dx = mul(y, power(x, const(y.value - 1.0))) if y.value != 0.0 else None
        return dx, None
    # d/dy x**y = log(x) x**y, with log(1) where x = 0 (JAX's convention: 0 there, not nan)
    safe_x = select(make("eq", x, 0.0), 1.0, x)
    return mul(y, power(x, sub(y, 1.0))), mul(E.unary("log")(safe_x), node)


#: node kind -> function(node) giving one partial derivative per operand (None: zero)
DERIVATIVES = {
    "const": lambda n: (),
    "var": lambda n: (),
    "negative": lambda n: (const(-1.0),),
    "exp": lambda n: (n,),
    "log": lambda n: (div(1.0, n.args[0]),),
    "log1p": lambda n: (div(1.0, add(1.0, n.args[0])),),
    "expm1": lambda n: (add(n, 1.0),),
    "sqrt": lambda n: (div(0.5, n),),  # inf at 0, as JAX
    "sin": lambda n: (make("cos", n.args[0]),),
    "cos": lambda n: (neg(make("sin", n.args[0])),),
    "tan": lambda n: (add(1.0, _two(n)),),
    "tanh": lambda n: (sub(1.0, _two(n)),),
    "sinh": lambda n: (make("cosh", n.args[0]),),
    "cosh": lambda n: (make("sinh", n.args[0]),),
    "arctan": lambda n: (div(1.0, add(1.0, _two(n.args[0]))),),
    "sigmoid": lambda n: (mul(n, sub(1.0, n)),),
    "abs": lambda n: (select(make("ge", n.args[0], 0.0), 1.0, -1.0),),  # abs'(0) = 1
    "relu": lambda n: (make("gt", n.args[0], 0.0),),  # relu'(0) = 0
    "add": lambda n: (const(1.0), const(1.0)),
    "subtract": lambda n: (const(1.0), const(-1.0)),
    "multiply": lambda n: (n.args[1], n.args[0]),
    "divide": lambda n: (div(1.0, n.args[1]), neg(div(n, n.args[1]))),
    "power": _power_partials,
    # ties split 0.5/0.5, as JAX
    "maximum": lambda n: (
        select(make("eq", *n.args), 0.5, make("gt", *n.args)),
        select(make("eq", *n.args), 0.5, make("gt", n.args[1], n.args[0])),
    ),
    "minimum": lambda n: (
        select(make("eq", *n.args), 0.5, make("gt", n.args[1], n.args[0])),
        select(make("eq", *n.args), 0.5, make("gt", *n.args)),
    ),
    "amax": _max_partials,
    "amin": _max_partials,
    "stop": lambda n: (None,),
    "gt": lambda n: (None, None),
    "ge": lambda n: (None, None),
    "eq": lambda n: (None, None),
    "select": lambda n: (None, n.args[0], sub(1.0, n.args[0])),
}


# ---- elementwise primitives declared with their derivative (Primitive.derivative, written with dnp):
# the partials are that declaration evaluated on the node's operands as symbolic arrays. Evaluating
# dnp on expressions needs the trace, which sits one layer up: trace.py installs these entries.
def install_declared_partials(trace_cls) -> None:
    """Fill ``DERIVATIVES`` for every primitive declared with its derivative, using ``trace_cls``."""

    def declared(prim):
        def partials(node: Node):
            trace = trace_cls(prim.name)
            operands = [E.SymArray(trace, a) for a in node.args]
            derivatives = (prim.derivative,) if prim.kind == "unary" else prim.derivative
            return tuple(obj_array(d(dnp, *operands, E.SymArray(trace, node)))[()] for d in derivatives)

        return partials

    for name, prim in PRIMITIVES.items():
        if prim.derivative is not None and name not in _HAND_WRITTEN:
            DERIVATIVES[name] = declared(prim)


def _sinc_partials(node: Node):
    # (cos(pi x) - sinc(x)) / x, 0 at x = 0 (JAX); the declared form needs a concrete mask
    x = node.args[0]
    return (select(make("eq", x, 0.0), 0.0, div(sub(make("cos", mul(math.pi, x)), node), x)),)


#: declared primitives whose symbolic partials are written here instead (the declaration needs a concrete mask)
_HAND_WRITTEN = {
    "sinc": _sinc_partials,
    # exp(x - ans): the declared form reads +inf as 0 with a concrete mask
    "logaddexp": lambda n: tuple(make("exp", sub(a, n)) for a in n.args),
    "logaddexp2": lambda n: tuple(make("exp2", sub(a, n)) for a in n.args),
}
DERIVATIVES.update(_HAND_WRITTEN)


def partials(node: Node) -> tuple:
    """The local partial derivatives of ``node``, one per operand (None where zero)."""
    return DERIVATIVES[node.op](node)


# ---------------------------------------------------------------- primitives on arrays of nodes

#: every elementwise primitive of one argument acts node by node
_UNARY = [name for name, p in PRIMITIVES.items() if p.kind == "unary"]
_BINARY = {"add": add, "subtract": sub, "multiply": mul, "divide": div, "power": power,
           "maximum": lambda a, b: make("maximum", a, b), "minimum": lambda a, b: make("minimum", a, b)}


def _unary_rule(name):
    build = neg if name == "negative" else E.unary(name)
    return lambda x: E.elementwise(build, x)


def _binary_rule(name):
    build = _BINARY[name]
    return lambda x, y: E.elementwise(build, x, y)


def _where(cond, x, y):
    if isinstance(cond, np.ndarray) and cond.dtype == object or isinstance(cond, (Node, E.SymArray)):
        # an input-dependent condition (comparison nodes, 1 or 0): a piecewise node per element
        return E.elementwise(select, cond, x, y)
    return np.where(np.asarray(cond, dtype=bool), obj_array(x), obj_array(y))


#: comparison -> (node kind, operands swapped); not_equal is 1 - eq
_COMPARISONS = {"greater": ("gt", False), "less": ("gt", True), "greater_equal": ("ge", False),
                "less_equal": ("ge", True), "equal": ("eq", False), "not_equal": ("eq", False)}


def compare(name: str, x, y) -> np.ndarray:
    """A comparison of expressions as nodes that are 1 where it holds and 0 elsewhere."""
    kind, swap = _COMPARISONS[name]
    a, b = (y, x) if swap else (x, y)
    nodes = E.elementwise(lambda p, q: make(kind, p, q), a, b)
    return E.elementwise(lambda n: sub(1.0, n), nodes) if name == "not_equal" else nodes


def _groups(x, axis):
    """(the array with ``axis`` moved last and flattened to one, the inverse move)."""
    a = obj_array(x)
    rest = [i for i in range(a.ndim) if i not in axis]
    moved = np.transpose(a, rest + list(axis))
    outer = moved.shape[: len(rest)]
    count = math.prod(a.shape[i] for i in axis)
    return moved.reshape(outer + (count,)), rest, outer, a.shape


def _reduction(combine):
    def rule(x, *, axis, keepdims):
        flat, _, outer, shape = _groups(x, axis)
        out = np.empty(outer, object)
        for idx in np.ndindex(outer):
            out[idx] = combine(list(flat[idx]))
        if keepdims:
            out = out.reshape(tuple(1 if i in axis else d for i, d in enumerate(shape)))
        return out

    return rule


def _logsumexp_nodes(xs):
    if len(xs) == 1:
        return xs[0]
    # shifted by the maximum, which carries no derivative (as JAX's logsumexp)
    m = make("stop", E.nary("amax", xs))
    return add(make("log", E.sum_nodes(make("exp", sub(x, m)) for x in xs)), m)


def _softmax(x, *, axis):
    flat, rest, outer, shape = _groups(x, axis)
    out = np.empty(flat.shape, object)
    for idx in np.ndindex(outer):
        xs = list(flat[idx])
        m = make("stop", E.nary("amax", xs))
        es = [make("exp", sub(v, m)) for v in xs]
        total = E.sum_nodes(es)
        for t, e in enumerate(es):
            out[idx + (t,)] = div(e, total)
    moved_shape = tuple(shape[i] for i in rest) + tuple(shape[i] for i in axis)
    out = out.reshape(moved_shape)
    return np.transpose(out, np.argsort(rest + list(axis)))


def _matmul(a, b):
    A, B = obj_array(a), obj_array(b)
    va, vb = A.ndim == 1, B.ndim == 1
    A = A[None, :] if va else A
    B = B[:, None] if vb else B
    batch = tuple(np.broadcast_shapes(A.shape[:-2], B.shape[:-2]))
    A = np.broadcast_to(A, batch + A.shape[-2:])
    B = np.broadcast_to(B, batch + B.shape[-2:])
    (m, k), n = A.shape[-2:], B.shape[-1]
    out = np.empty(batch + (m, n), object)
    for b_idx in np.ndindex(batch):
        for i in range(m):
            for j in range(n):
                # the explicit sum of products a_ik b_kj: this is where the swell becomes visible
                out[b_idx + (i, j)] = E.sum_nodes(mul(A[b_idx + (i, t)], B[b_idx + (t, j)]) for t in range(k))
    if vb:
        out = out[..., 0]
    if va:
        out = out[..., 0] if vb else out[..., 0, :]
    return out


def _index(index):
    return tuple(np.asarray(i) if hasattr(i, "shape") else i for i in index)


def _getitem(x, *, index):
    return obj_array(obj_array(x)[_index(index)])


def _index_add(x, y, *, index):
    out = obj_array(x).copy()
    positions = np.arange(out.size).reshape(out.shape)[_index(index)]
    updates = np.broadcast_to(obj_array(y), np.shape(positions))
    flat = out.reshape(-1)
    for pos, update in zip(np.ravel(positions), updates.reshape(-1)):
        flat[pos] = add(flat[pos], update)  # repeated indices accumulate, as .at[].add
    return flat.reshape(out.shape)


#: primitive name -> rule(*operands, **params) returning an object array of nodes
RULES = {name: _unary_rule(name) for name in _UNARY}
RULES.update({name: _binary_rule(name) for name in _BINARY})
RULES.update(
    where=_where,
    sum=_reduction(E.sum_nodes),
    prod=_reduction(E.prod_nodes),
    max=_reduction(lambda xs: E.nary("amax", xs)),
    min=_reduction(lambda xs: E.nary("amin", xs)),
    logsumexp=_reduction(_logsumexp_nodes),
    softmax=_softmax,
    matmul=_matmul,
    transpose=lambda x, *, axes: np.transpose(obj_array(x), axes),
    reshape=lambda x, *, shape: obj_array(x).reshape(shape),
    broadcast_to=lambda x, *, shape: np.broadcast_to(obj_array(x), shape).copy(),
    stack=lambda arrays, *, axis: np.stack([obj_array(a) for a in arrays], axis=axis),
    concatenate=lambda arrays, *, axis: np.concatenate([obj_array(a) for a in arrays], axis=axis),
    getitem=_getitem,
    index_add=_index_add,
)
# ---- elementwise primitives declared with their derivative, and the rest of the newer primitives
_DECLARED = [name for name, p in PRIMITIVES.items() if p.derivative is not None]
_REAL_PARTS = {  # expressions are real: real and conj are the identity, imag is 0
    "real": lambda x: obj_array(x).copy(),
    "conj": lambda x: obj_array(x).copy(),
    "imag": lambda x: E.elementwise(lambda a: const(0.0), x),
}


def _cumsum(x, *, axis):
    a = np.moveaxis(obj_array(x), axis, -1)
    out = np.empty(a.shape, object)
    for idx in np.ndindex(a.shape[:-1]):
        total = None
        for k, item in enumerate(a[idx]):
            total = item if total is None else add(total, item)
            out[idx + (k,)] = total
    return np.moveaxis(out, -1, axis)


def _einsum(arrays, *, subscripts):
    # NumPy's einsum on object arrays: sums of products of nodes (0 + ... when a sum is empty)
    return obj_array(np.einsum(subscripts, *(obj_array(a) for a in arrays), optimize=False))


def _declared_rule(name):
    if PRIMITIVES[name].kind == "unary":
        return _unary_rule(name)
    return lambda x, y: E.elementwise(lambda a, b: make(name, a, b), x, y)


RULES.update({name: _declared_rule(name) for name in _DECLARED})
RULES.update(_REAL_PARTS)
RULES.update(
    cumsum=_cumsum,
    einsum=_einsum,
    stop_gradient=lambda x: E.elementwise(lambda a: make("stop", a), x),
    astype=lambda x, *, dtype: obj_array(x).copy(),
)

#: primitives the engine refuses, with the reason (none: every primitive has a rule)
UNSUPPORTED: dict[str, str] = {}

# (SymbolicTrace, which carries RULES, registers the engine's table when it is defined)
