"""Scalar expressions: hash-consed nodes and the arithmetic that builds them.

A :class:`Node` is one scalar expression: a constant, a named variable, or an
operation applied to other nodes. Nodes are *hash-consed*: building the same
operation on the same arguments twice returns the same object, so an identical
subexpression is one node and the expression is a graph (a DAG), never a tree
with copies. Measuring the same graph as if nothing were shared gives the tree
size of the textbooks (see :mod:`diffcompare.symbolic.measure`).

The arithmetic helpers (:func:`add`, :func:`mul`, ...) drop the structural
zeros and ones (``x + 0``, ``x * 1``, ``x * 0``, ``x - 0``, ``x / 1``, ``-(0)``)
and nothing else; constant folding and the other identities are
:mod:`diffcompare.symbolic.simplify`'s job.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import weakref

import numpy as np

from ..errors import UnsupportedOperationError
from .graph import topological
from .text import render, short

# ---------------------------------------------------------------- nodes

#: node kinds that compare and return 1.0 or 0.0; evaluated, never differentiated
COMPARISONS = ("gt", "ge", "eq")
#: piecewise-constant kinds (``dnp.sign``, ``dnp.floor``, ...): evaluated, derivative 0 (as in JAX)
STEPS = ("sign", "floor", "ceil", "round", "trunc")
_serial = itertools.count()
_TABLE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class Node:
    """One scalar expression; build nodes with :func:`make`, :func:`const`, :func:`var`.

    Attributes:
        op: the kind: ``"const"``, ``"var"``, a primitive name (``"exp"``,
            ``"add"``, ...) or one of the node-only kinds ``"amax"``/``"amin"``
            (n-ary maximum/minimum), ``"stop"`` (value without derivative), the
            piecewise-constant :data:`STEPS` (``"floor"``, ...; derivative 0),
            ``"gt"``/``"ge"``/``"eq"`` (comparisons, 1.0 or 0.0) and
            ``"select"`` (``select(c, a, b)`` is ``a`` where ``c`` is 1).
        args: the operand nodes.
        value: the number of a constant, the name of a variable, else None.
    """

    __slots__ = ("op", "args", "value", "serial", "key", "__weakref__")

    def __init__(self, op: str, args: tuple, value):
        self.op, self.args, self.value = op, args, value
        self.serial = next(_serial)
        # a digest of the structure alone: a canonical order for operands that does not
        # depend on which nodes happened to be built first in this process
        digest = hashlib.blake2b(f"{op}|{value!r}".encode(), digest_size=8)
        for a in args:
            digest.update(a.key)
        self.key = digest.digest()

    @property
    def is_const(self) -> bool:
        return self.op == "const"

    @property
    def is_leaf(self) -> bool:
        return self.op in ("const", "var")

    def __repr__(self) -> str:
        return f"Node({short([self])[0]})"

    def __str__(self) -> str:
        return render([self])[0]

    def _repr_latex_(self) -> str:
        return f"${short([self], latex=True)[0]}$"

    # Python operators build nodes (``__eq__`` stays identity: that is what hash-consing gives)
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __truediv__(self, other):
        return div(self, other)

    def __rtruediv__(self, other):
        return div(other, self)

    def __pow__(self, other):
        return power(self, other)

    def __neg__(self):
        return neg(self)


def order_key(node: Node) -> tuple:
    """A canonical, readable order for operands: constants, then variables by name,
    then compound expressions by their structure (never by creation order)."""
    if node.op == "const":
        return (0, "", node.key)
    if node.op == "var":
        return (1, str(node.value), node.key)
    return (2, "", node.key)


def _const_key(value: float) -> str:
    return "nan" if math.isnan(value) else repr(value)


def make(op: str, *args) -> Node:
    """The node ``op(*args)``: the existing one if it was built before (hash-consing)."""
    args = tuple(as_node(a) for a in args)
    key = (op, tuple(a.serial for a in args), None)
    node = _TABLE.get(key)
    if node is None:
        node = Node(op, args, None)
        _TABLE[key] = node
    return node


def const(value) -> Node:
    """The constant node for a real number (one node per value)."""
    value = float(value) + 0.0  # -0.0 becomes 0.0: one zero
    key = ("const", (), _const_key(value))
    node = _TABLE.get(key)
    if node is None:
        node = Node("const", (), value)
        _TABLE[key] = node
    return node


def var(name: str) -> Node:
    """The variable called ``name`` (one node per name)."""
    key = ("var", (), str(name))
    node = _TABLE.get(key)
    if node is None:
        node = Node("var", (), str(name))
        _TABLE[key] = node
    return node


def as_node(x) -> Node:
    if isinstance(x, Node):
        return x
    if isinstance(x, (bool, np.bool_)):
        return const(float(x))
    if isinstance(x, (int, float, np.integer, np.floating)):
        return const(x)
    if isinstance(x, (complex, np.complexfloating)):
        raise UnsupportedOperationError("complex constant", "symbolic", "expressions are real; use real numbers")
    raise TypeError(f"cannot make a symbolic constant from {type(x).__name__}")


def _is(node: Node, number: float) -> bool:
    return node.op == "const" and node.value == number


# ---------------------------------------------------------------- arithmetic helpers


def add(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if b.op == "negative":  # a + (-c) is a - c
        return make("subtract", a, b.args[0])
    if a.op == "negative":  # (-c) + b is b - c
        return make("subtract", b, a.args[0])
    return make("add", a, b)


def sub(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return neg(b)
    return make("subtract", a, b)


def mul(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(a, 0.0) or _is(b, 0.0):
        # 0·x is 0 only where x is finite: kept as a product (NaN at x = inf or nan, as in JAX)
        if a.op == "const" and b.op == "const":
            return const(a.value * b.value)
        return make("multiply", *((a, b) if _is(a, 0.0) else (b, a)))
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if _is(a, -1.0):
        return neg(b)
    if _is(b, -1.0):
        return neg(a)
    if a.op == "negative" or b.op == "negative":  # signs move out, so a sum can subtract instead
        product = mul(a.args[0] if a.op == "negative" else a, b.args[0] if b.op == "negative" else b)
        return product if a.op == b.op else neg(product)
    if b.op == "divide" and _is(b.args[0], 1.0):  # a * (1/y) is a / y
        return div(a, b.args[1])
    if a.op == "divide" and _is(a.args[0], 1.0):
        return div(b, a.args[1])
    return make("multiply", a, b)


def div(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(b, 1.0):
        return a
    return make("divide", a, b)


def neg(a) -> Node:
    a = as_node(a)
    if a.op == "const":
        return const(-a.value)
    if a.op == "negative":
        return a.args[0]
    return make("negative", a)


def power(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(b, 1.0):
        return a
    return make("power", a, b)


def unary(op: str):
    """The builder of a one-argument node kind (``unary("exp")(x)``)."""
    return lambda a: make(op, a)


def select(cond: Node, a, b) -> Node:
    """``a`` where the comparison ``cond`` is 1, else ``b`` (the condition is not differentiated)."""
    a, b = as_node(a), as_node(b)
    if a is b:
        return a
    if _is(a, 1.0) and _is(b, 0.0):
        return cond
    return make("select", cond, a, b)


def sum_nodes(nodes) -> Node:
    """x0 + x1 + ... as a left fold (a chain of binary additions)."""
    nodes = list(nodes)
    if not nodes:
        return const(0.0)
    out = nodes[0]
    for n in nodes[1:]:
        out = add(out, n)
    return as_node(out)


def prod_nodes(nodes) -> Node:
    nodes = list(nodes)
    if not nodes:
        return const(1.0)
    out = nodes[0]
    for n in nodes[1:]:
        out = mul(out, n)
    return as_node(out)


def nary(op: str, nodes) -> Node:
    """amax/amin of several nodes (one node for one argument is the argument)."""
    nodes = [as_node(n) for n in nodes]
    return nodes[0] if len(nodes) == 1 else make(op, *nodes)


def substitute(roots, mapping: dict) -> list[Node]:
    """``roots`` with each variable whose serial is in ``mapping`` replaced by ``mapping[serial]``
    (rebuilt bottom-up in topological order; unchanged subexpressions stay the same nodes)."""
    new: dict[int, Node] = {}
    for n in topological(roots):
        if n.op == "var":
            new[n.serial] = as_node(mapping.get(n.serial, n))
        elif n.is_const or all(new[a.serial] is a for a in n.args):
            new[n.serial] = n
        else:
            new[n.serial] = make(n.op, *(new[a.serial] for a in n.args))
    return [new[r.serial] for r in roots]
