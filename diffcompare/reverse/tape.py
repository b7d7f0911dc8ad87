"""The heart of reverse mode: a tape of nodes, one topological sort, one sweep.

Forward pass: the inputs are wrapped in :class:`Node` values of a fresh
:class:`ReverseTrace`. Every primitive applied to a node (``dnp`` dispatches
it here) computes its value and records a new node holding the value, the
operands and the parameters: a dynamic graph, so Python loops and branches
simply run.

Backward pass (:func:`backward`): sort the nodes reachable from the outputs
once (parents before children), seed the outputs' adjoints with the
cotangents, and sweep once in reverse order: each node's adjoint, already the
sum over its children, is pulled back through its VJP rule
(:mod:`diffcompare.reverse.rules`) and *added* to its parents' adjoints.
Adjoints live in a dictionary of the sweep, never on the nodes, so sweeping
the same tape again (one sweep per Jacobian row) gives the same answer.

Rules compute with ``diffcompare.numpy`` on the nodes' values. When those
values belong to an outer engine (an outer tape, dual numbers) the sweep is
itself recorded or differentiated: that is reverse over reverse (Hessians)
and forward over reverse (Hessian-vector products), with no extra code.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from .. import numpy as dnp
from .._core import ArrayImpl, EngineValue, Trace, bind, refuse_complex_value
from ..errors import UnsupportedOperationError
from ..primitives import PRIMITIVES
from .rules import RULES, UNSUPPORTED


class Node(EngineValue):
    """A value recorded on a tape.

    Attributes:
        value: the array it stands for (or an outer engine's value).
        parents: the operands, in order: nodes of the same tape or constants.
        op: the primitive's name (``"input"`` for a leaf, or a custom name).
        params: the primitive's parameters.
        pullback: for custom nodes (``custom_vjp``, ``checkpoint``):
            ``pullback(g)`` -> one cotangent per parent; None for table rules.
    """

    __slots__ = ("value", "parents", "op", "params", "pullback", "index")

    def __init__(self, trace, value, parents=(), op="input", params=None, pullback=None):
        self._trace = trace
        self.value = value
        self.parents = tuple(parents)
        self.op = op
        self.params = params or {}
        self.pullback = pullback
        self.index = len(trace.tape)
        trace.tape.append(self)

    @property
    def shape(self):
        return dnp.shape(self.value)

    @property
    def dtype(self):
        return dnp.dtype_of(self.value)

    def __repr__(self):
        return f"Node(#{self.index} {self.op}, shape={self.shape})"


class ReverseTrace(Trace):
    """One recording: the tape of every node made while it runs."""

    engine = "reverse"
    rules = RULES
    unsupported = UNSUPPORTED

    def __init__(self):
        super().__init__()
        self.tape: list[Node] = []
        self.adjoints: dict[int, object] = {}  # the last sweep's adjoints, by node index (for drawing)

    def input(self, value) -> Node:
        """A leaf node for an input being differentiated."""
        if not isinstance(value, (EngineValue, ArrayImpl)):  # (jnp.asarray returns a JAX array as it is)
            value = jnp.asarray(value)
        return Node(self, value)

    def lower(self, x):
        """The value one layer down: a node's value, a constant as it is."""
        return x.value if self.owns(x) else x

    def process(self, prim, operands, params):
        self.rule_for(prim)  # refuses an operation without a VJP rule before computing anything
        args = tuple(operands[0]) if prim.variadic else operands
        values = [self.lower(x) for x in args]
        out = bind(prim, values, **params) if prim.variadic else bind(prim, *values, **params)
        refuse_complex_value(self.engine, prim.name, out)
        return Node(self, out, args, prim.name, params)

    def process_user_primitive(self, prim, args):
        """A user-defined primitive (:mod:`diffcompare.custom`) is one node whose pullback is its VJP."""
        out, pullback = prim.vjp(tuple(self.lower(a) for a in args), self.engine)
        if isinstance(out, (tuple, list)):
            raise UnsupportedOperationError(
                prim.name, self.engine, "a user primitive on the tape returns one array; split it into one "
                "primitive per output"
            )
        refuse_complex_value(self.engine, prim.name, out)
        return Node(self, out, args, prim.name, pullback=pullback)

    def concrete(self, value):
        return value.value


def toposort(roots, trace) -> list[Node]:
    """The nodes of ``trace`` reachable from ``roots``, parents before children.

    Iterative depth-first search (no recursion limit on deep graphs); each
    node is visited once however many children use it.
    """
    order, seen = [], set()
    stack = [(r, False) for r in roots if trace.owns(r)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if trace.owns(p) and id(p) not in seen)
    return order


def _pull(node: Node, g, trace) -> tuple:
    """One cotangent per parent (None for constants): the node's VJP applied to ``g``."""
    if node.pullback is not None:
        return tuple(node.pullback(g))
    fns = RULES[node.op]
    values = [trace.lower(p) for p in node.parents]
    variadic = PRIMITIVES[node.op].variadic
    out = []
    for i, parent in enumerate(node.parents):
        if not trace.owns(parent):
            out.append(None)  # a constant: no adjoint needed, no work done
        elif variadic:
            out.append(fns[0](g, node.value, *values, argnum=i, **node.params))
        else:
            out.append(fns[i](g, node.value, *values, **node.params))
    return tuple(out)


def backward(trace: ReverseTrace, outputs, cotangents, keep: bool = False) -> dict[int, object]:
    """Sweep adjoints from ``outputs`` (seeded with ``cotangents``) back to the inputs.

    Returns the adjoints of the leaf nodes, keyed by ``id(node)``. With
    ``keep=True`` every node's adjoint is kept in ``trace.adjoints`` (by node
    index) for drawing the graph; otherwise inner adjoints are dropped as soon
    as they have been pulled back.
    """
    adjoint: dict[int, object] = {}
    for node, ct in zip(outputs, cotangents):
        if trace.owns(node):
            adjoint[id(node)] = adjoint[id(node)] + ct if id(node) in adjoint else ct
    order = toposort(outputs, trace)
    leaves = {}
    for node in reversed(order):
        g = adjoint.get(id(node)) if (keep or not node.parents) else adjoint.pop(id(node), None)
        if g is None:
            continue
        if keep:
            trace.adjoints[node.index] = g
        if not node.parents and node.pullback is None and node.op == "input":
            leaves[id(node)] = g
            continue
        for parent, ct in zip(node.parents, _pull(node, g, trace)):
            if ct is None or not trace.owns(parent):
                continue
            key = id(parent)
            adjoint[key] = adjoint[key] + ct if key in adjoint else ct  # fan-out: adjoints add up
    return leaves


def nbytes(value) -> int:
    """Bytes an array (or an outer engine's value) occupies."""
    shape = dnp.shape(value)
    return math.prod(shape) * jnp.dtype(dnp.dtype_of(value)).itemsize
