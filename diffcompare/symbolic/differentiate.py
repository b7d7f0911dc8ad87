"""Two ways to differentiate an expression, side by side.

:func:`naive` is symbolic differentiation as the textbooks do it: a recursive
walk of the expression *as a tree*, the chain and product rules applied at
every node, every path expanded and nothing remembered between paths. Its
work and the tree size of its result grow with the number of paths, which can
be exponential in the size of the graph: that is expression swell.

:func:`reverse` walks the *shared* graph once, in reverse topological order,
and accumulates adjoints (x̄ = Σ over the uses of x of ū · ∂u/∂x): reverse-mode
automatic differentiation done with expressions. Every node is visited once, so
the derivative graph is a small multiple of the function's graph (the cheap
gradient principle). :func:`forward` is the same on tangents.

All three use the one table of local partial derivatives, :data:`.rules.DERIVATIVES`.
"""

from __future__ import annotations

from ..errors import DiffCompareError
from .expr import Node, add, const, flat_nodes, mul, topological
from .rules import partials


class SwellLimitError(DiffCompareError, RuntimeError):
    """Naive tree differentiation was stopped: the tree has too many paths."""


def reverse(outputs, wrt, seeds=None) -> list[Node]:
    """Gradient of Σᵢ seedᵢ · outputᵢ with respect to each of ``wrt`` by reverse accumulation.

    Arguments:
        outputs: nodes (or arrays of nodes).
        wrt: the variable nodes to differentiate by.
        seeds: one node per output (default 1 each): the cotangent. Symbolic
            seeds give a vector-Jacobian product as an expression.
    Returns:
        One derivative node per entry of ``wrt`` (the constant 0 where none).
    """
    outputs = flat_nodes(outputs)
    seeds = [const(1.0)] * len(outputs) if seeds is None else flat_nodes(seeds)
    adjoint: dict[int, Node] = {}
    for out, seed in zip(outputs, seeds):
        adjoint[out.serial] = add(adjoint[out.serial], seed) if out.serial in adjoint else seed
    for node in reversed(topological(outputs)):
        bar = adjoint.get(node.serial)
        if bar is None or node.is_leaf:
            continue
        for arg, local in zip(node.args, partials(node)):
            if local is None or arg.is_const:
                continue
            contribution = mul(bar, local)
            adjoint[arg.serial] = add(adjoint[arg.serial], contribution) if arg.serial in adjoint else contribution
    return [adjoint.get(v.serial, const(0.0)) for v in flat_nodes(wrt)]


def forward(outputs, wrt, tangents) -> list[Node]:
    """Directional derivative of each output along ``tangents`` (one per ``wrt``) by forward accumulation."""
    outputs = flat_nodes(outputs)
    tangent: dict[int, Node] = {v.serial: t for v, t in zip(flat_nodes(wrt), flat_nodes(tangents))}
    for node in topological(outputs):
        if node.is_leaf:
            continue
        dot = None
        for arg, local in zip(node.args, partials(node)):
            t = tangent.get(arg.serial)
            if local is None or t is None or (t.is_const and t.value == 0.0):
                continue
            term = mul(local, t)
            dot = term if dot is None else add(dot, term)
        if dot is not None:
            tangent[node.serial] = dot
    return [tangent.get(o.serial, const(0.0)) for o in outputs]


def naive(output: Node, variable: Node, limit: int = 2_000_000) -> Node:
    """d output / d variable by recursion over the expression tree (no sharing, no memory).

    ``limit`` caps the number of tree nodes visited; past it
    :class:`SwellLimitError` is raised instead of running for hours.
    """
    visits = [0]

    def d(node: Node) -> Node:
        visits[0] += 1
        if visits[0] > limit:
            raise SwellLimitError(
                f"naive differentiation visited more than {limit} tree nodes: the expression has too many "
                "paths; use reverse() (shared graph) instead"
            )
        if node.op == "var":
            return const(1.0 if node is variable else 0.0)
        if node.is_leaf:
            return const(0.0)
        total = const(0.0)
        for arg, local in zip(node.args, partials(node)):
            if local is not None:
                total = add(total, mul(local, d(arg)))
        return total

    return d(output)


def naive_visits(output: Node) -> int:
    """How many tree nodes :func:`naive` visits for one variable (the tree size, leaves included)."""
    count: dict[int, int] = {}
    for node in topological([output]):
        count[node.serial] = 1 + sum(
            count[a.serial] for a, local in zip(node.args, partials(node) if not node.is_leaf else ())
            if local is not None
        )
    return count[output.serial]


def gradient(output: Node, wrt, method: str = "reverse") -> list[Node]:
    """The gradient of one scalar node: ``method`` ``"reverse"`` (shared graph) or ``"naive"`` (tree)."""
    if method == "reverse":
        return reverse([output], wrt)
    if method == "naive":
        return [naive(output, v) for v in flat_nodes(wrt)]
    from ..errors import InvalidOptionError

    raise InvalidOptionError(f"gradient: method must be 'reverse' or 'naive', got {method!r}")


def jacobian(outputs, wrt) -> list[list[Node]]:
    """Rows of derivative nodes, one row per output: reverse sweeps when there are fewer
    outputs than inputs, forward sweeps otherwise."""
    outputs, wrt = flat_nodes(outputs), flat_nodes(wrt)
    if len(outputs) <= len(wrt):
        return [reverse([o], wrt) for o in outputs]
    columns = [forward(outputs, wrt, [const(1.0 if u is v else 0.0) for u in wrt]) for v in wrt]
    return [[columns[j][i] for j in range(len(wrt))] for i in range(len(outputs))]


def diff(expression, variable, method: str = "reverse"):
    """d expression / d variable, for notebooks: ``diff(x * sin(x), x)``.

    Arguments:
        expression: a node or a :class:`~.expr.SymArray` (each element is differentiated).
        variable: a variable node or a scalar ``SymArray`` of one (as from ``symbols``).
        method: ``"reverse"`` (shared graph) or ``"naive"`` (tree walk).
    Returns:
        The same kind of value as ``expression``.
    """
    import numpy as np

    from .expr import SymArray, obj_array

    var_node = variable.nodes[()] if isinstance(variable, SymArray) else variable
    nodes = obj_array(expression)
    out = np.empty(nodes.shape, object)
    for idx in np.ndindex(nodes.shape):
        out[idx] = gradient(nodes[idx], [var_node], method)[0]
    if isinstance(expression, SymArray):
        return SymArray(expression._trace, out, expression.dtype)
    return out[()] if out.shape == () else out
