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
table. An elementwise primitive's partials are its declared derivative
(``Primitive.derivative``) at tangent 1; the table writes by hand only the kinds
that are no primitive (n-ary maxima, comparisons, ``select``, ``stop``, the piecewise-constant steps). At kinks
they give what JAX gives: relu'(0) = 0, abs'(0) = 1, ties of maximum/minimum
split 0.5/0.5, tied maxima of a reduction share equally, sqrt'(0) = inf.
Comparisons and ``select``'s condition are never differentiated.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy as dnp
from ..primitives import PRIMITIVES
from . import expr as E
from .expr import Node, add, const, div, make, mul, neg, obj_array, power, select, sub

# ---------------------------------------------------------------- derivatives of scalar nodes


def _max_partials(node: Node):
    # tied maxima share equally: [x_i == m] / #ties (JAX's rule for reductions)
    hits = [make("eq", a, node) for a in node.args]
    count = E.sum_nodes(hits)
    return tuple(div(h, count) for h in hits)


#: node kind -> function(node) giving one partial derivative per operand (None: zero)
DERIVATIVES = {
    "const": lambda n: (),
    "var": lambda n: (),
    "amax": _max_partials,
    "amin": _max_partials,
    "stop": lambda n: (None,),
    **{kind: (lambda n: (None,)) for kind in E.STEPS},
    "gt": lambda n: (None, None),
    "ge": lambda n: (None, None),
    "eq": lambda n: (None, None),
    "select": lambda n: (None, n.args[0], sub(1.0, n.args[0])),
}


# ---- every elementwise primitive: its partials are its declared derivative (Primitive.derivative, written
# with dnp) at tangent 1. Evaluating dnp on expressions needs the trace, which sits one layer up: trace.py
# installs these entries. The declaration is evaluated once per primitive, on placeholder variables, into a
# template of a few builder steps; a node's partials are the template with its operands put in.

#: the builders that simplify (the template's steps use them, so x * 1 is x as in a hand-written rule)
_BUILDERS = {"add": add, "subtract": sub, "multiply": mul, "divide": div, "negative": neg, "power": power,
             "select": select}
#: steps folded when every operand is a constant (``y - 1`` for a constant exponent, as the array level does)
_FOLD = {"add": float.__add__, "subtract": float.__sub__, "multiply": float.__mul__, "negative": float.__neg__}


def install_declared_partials(trace_cls) -> None:
    """Fill ``DERIVATIVES`` for every elementwise primitive from its declaration, using ``trace_cls``."""
    for name, prim in PRIMITIVES.items():
        if prim.derivative is not None:
            DERIVATIVES[name] = _Declared(prim, trace_cls)


class _Declared:
    """The partials of one elementwise primitive, from its declared derivative (see above)."""

    def __init__(self, prim, trace_cls):
        self.prim, self.trace_cls, self.steps = prim, trace_cls, None

    def _template(self):
        """``(steps, roots)``: each step ``(builder, operand refs, foldable)``, a ref being an index into the
        values (the node's operands, the node, then the steps' results) or a constant node; each root a
        ref, or None where the partial is 0."""
        prim = self.prim
        trace = self.trace_cls(prim.name)
        arity = 1 if prim.kind == "unary" else 2
        slots = [E.var(f"⟨{i}⟩") for i in range(arity + 1)]  # the operands, then the node itself
        operands = [E.SymArray(trace, v) for v in slots]
        derivatives = (prim.derivative,) if prim.kind == "unary" else prim.derivative
        roots = [E.as_node(obj_array(d(dnp, 1.0, *operands))[()]) for d in derivatives]
        index = {v.serial: i for i, v in enumerate(slots)}
        steps = []
        for n in E.topological(roots):
            if n.serial not in index and n.args:
                index[n.serial] = len(slots) + len(steps)
                build = _BUILDERS.get(n.op) or (lambda *a, op=n.op: make(op, *a))
                steps.append((build, tuple(index.get(a.serial, a) for a in n.args), _FOLD.get(n.op)))
        return steps, [None if r.is_const and r.value == 0.0 else index.get(r.serial, r) for r in roots]

    def __call__(self, node: Node) -> tuple:
        if self.steps is None:
            self.steps, self.roots = self._template()
        values = [*node.args, node]
        for build, refs, fold in self.steps:
            operands = [values[r] if type(r) is int else r for r in refs]
            if fold is not None and all(o.is_const for o in operands):
                values.append(const(fold(*(o.value for o in operands))))
            else:
                values.append(build(*operands))
        out = tuple(values[r] if type(r) is int else r for r in self.roots)
        return tuple(None if p is not None and p.is_const and p.value == 0.0 else p for p in out) if self.steps else out


def partials(node: Node) -> tuple:
    """The local partial derivatives of ``node``, one per operand (None where zero)."""
    return DERIVATIVES[node.op](node)


# ---------------------------------------------------------------- primitives on arrays of nodes

def _elementwise_rule(name):
    """An elementwise primitive acts node by node (through the simplifying builder where there is one)."""
    if name in _BUILDERS:
        build = _BUILDERS[name]
    else:
        build = E.unary(name) if PRIMITIVES[name].kind == "unary" else (lambda a, b: make(name, a, b))
    return lambda *xs: E.elementwise(build, *xs)


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
RULES = {name: _elementwise_rule(name) for name, p in PRIMITIVES.items() if p.kind in ("unary", "binary")}
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
# ---- the newer primitives
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
