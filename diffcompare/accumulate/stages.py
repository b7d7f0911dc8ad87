"""The layer structure of a plain function, found on its recorded tape.

:func:`~diffcompare.accumulate.chain_jacobian` brackets a chain f_L ∘ … ∘ f_1.
A user's function is rarely written as a list of layers, but its recorded
tape often is one: record ``f`` once on the reverse engine's tape, sort the
nodes (parents first), and call a node a **cut** when no edge jumps over it,
i.e. every node before it is one of its ancestors and every node after it a
descendant. A cut's value is then a single intermediate array that everything
downstream depends on alone, so the nodes between two consecutive cuts form a
stage, a function of the first cut's value. (Whether a node is a cut does not
depend on which topological order is used: a path from an earlier node to the
output cannot jump over it, so it passes through it.)

A stage that keeps its width and costs at most one multiply-add per entry,
node and tangent (elementwise ops, a bias) joins the stage before it, so that
``tanh(W @ x + b)`` is one layer, as a person would write it. Each stage is
replayed from the tape with ``diffcompare.numpy`` (so any engine can run it),
on flattened 1-d values; its cost per tangent (multiply-adds, a matmul
counting m·k·p per operand that depends on the input, any other op its
largest operand) feeds the planner.

    >>> chain = find_chain(f, x)
    >>> chain.dims, chain.text()        # (100, 1000, 10, 1000, 100), 'f1: matmul add tanh | ...'
    >>> chain_jacobian(f)(x)            # planned on the found chain, like jax.jacfwd(f)(x)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from .._core import bind
from ..errors import ShapeMismatchError, UnsupportedOperationError
from ..primitives import PRIMITIVES
from ..reverse.tape import Node, ReverseTrace, toposort


@dataclasses.dataclass(frozen=True)
class Chain:
    """A function split into consecutive stages at single intermediate arrays.

    Attributes:
        layers: one function per stage, mapping a 1-d array (the flattened cut before it) to a 1-d array.
        dims: n_0..n_L, the sizes of the input, the cuts and the output.
        costs: multiply-adds of one tangent through each stage (for :func:`plan_chain`'s ``layer_costs``).
        ops: the primitives each stage replays, in order.
        in_shape, out_shape: the shapes of the function's argument and result.
    """

    layers: tuple
    dims: tuple
    costs: tuple
    ops: tuple
    in_shape: tuple
    out_shape: tuple

    def text(self) -> str:
        """One entry per stage: ``f1: matmul add tanh [100→1000] | f2: ...``."""
        return " | ".join(f"f{k}: {' '.join(ops)} [{a}→{b}]"
                          for k, (ops, a, b) in enumerate(zip(self.ops, self.dims, self.dims[1:]), 1))


def _size(shape) -> int:
    return math.prod(shape)


def _node_cost(node: Node, trace: ReverseTrace) -> int:
    """Multiply-adds of one tangent through ``node``: m·k·p per recorded operand of a matmul, else its largest size."""
    owned = [p for p in node.parents if trace.owns(p)]
    if node.op == "matmul":
        a_shape = dnp.shape(trace.lower(node.parents[0]))
        return _size(node.shape) * (a_shape[-1] if a_shape else 1) * len(owned)
    return max([_size(node.shape)] + [_size(p.shape) for p in owned])


def _cuts(order: list[Node], trace: ReverseTrace) -> list[int]:
    """Positions in ``order`` that no edge jumps over (the first and the last always)."""
    where = {id(node): i for i, node in enumerate(order)}
    jumped = np.zeros(len(order) + 1, np.int64)  # +1 where an edge starts jumping, -1 where it lands
    for b, node in enumerate(order):
        for parent in node.parents:
            if trace.owns(parent):
                jumped[where[id(parent)] + 1] += 1
                jumped[b] -= 1
    covered = np.cumsum(jumped)[: len(order)]
    return [i for i in range(len(order)) if covered[i] == 0]


def _replay(trace: ReverseTrace, start: Node, nodes: list[Node]) -> Callable:
    """The stage as a function of ``start``'s flattened value: ``nodes`` applied again with ``diffcompare.numpy``."""

    def stage(v):
        env = {id(start): dnp.reshape(v, start.shape)}
        for node in nodes:
            args = [env[id(p)] if trace.owns(p) else p for p in node.parents]
            prim = PRIMITIVES[node.op]
            env[id(node)] = bind(prim, args, **node.params) if prim.variadic else bind(prim, *args, **node.params)
        return dnp.reshape(env[id(nodes[-1])], (-1,))

    return stage


def find_chain(f: Callable, x, merge: bool = True) -> Chain:
    """Record ``f`` at ``x`` on the reverse engine's tape and split it into stages at its cuts.

    Arguments:
        f: a function of one array written with ``diffcompare.numpy``, returning one array.
        x: the point (the split depends only on the recorded structure, which may follow ``x`` through
            Python control flow).
        merge: join a stage that keeps its width and costs at most its width per node and tangent
            (elementwise ops) to the stage before it; False keeps every cut.
    Returns:
        A :class:`Chain`; ``chain_jacobian(chain.layers, layer_costs=chain.costs)`` brackets it.
    Example:
        >>> find_chain(lambda x: dnp.tanh(W2 @ dnp.tanh(W1 @ x)), x).dims
        (100, 1000, 10)
    """
    x = jnp.asarray(x)
    trace = ReverseTrace()
    root = trace.input(x)
    out = f(root)
    if isinstance(out, (tuple, list, dict)):
        raise ShapeMismatchError("accumulate.find_chain: f must return one array, got a "
                                 f"{type(out).__name__}; return the outputs concatenated")
    if not trace.owns(out):  # f does not depend on x: one stage that returns the constant
        constant = jnp.reshape(jnp.asarray(out, x.dtype), (-1,))
        return Chain((lambda v: constant,), (x.size, constant.size), (1,), (("constant",),), x.shape, jnp.shape(out))
    order = toposort([out], trace)
    for node in order:
        if node.pullback is not None:
            raise UnsupportedOperationError(node.op, "accumulate.find_chain",
                                            "a custom VJP node cannot be replayed; pass the layers as a list")
    cuts = _cuts(order, trace)
    stages = [(order[a], order[a + 1 : b + 1]) for a, b in zip(cuts, cuts[1:])]
    costs = [sum(_node_cost(node, trace) for node in nodes) for _, nodes in stages]
    if merge:
        kept_stages, kept_costs = [], []
        for (start, nodes), cost in zip(stages, costs):
            width = _size(start.shape)
            if kept_stages and _size(nodes[-1].shape) == width and cost <= width * len(nodes):
                kept_stages[-1] = (kept_stages[-1][0], kept_stages[-1][1] + nodes)
                kept_costs[-1] += cost
            else:
                kept_stages.append((start, nodes))
                kept_costs.append(cost)
        stages, costs = kept_stages, kept_costs
    if not stages:  # f is the identity
        stages, costs = [(root, [])], [1]
    layers = tuple(_replay(trace, start, nodes) if nodes else (lambda v: v) for start, nodes in stages)
    dims = (_size(root.shape),) + tuple(_size(nodes[-1].shape) if nodes else _size(start.shape)
                                        for start, nodes in stages)
    ops = tuple(tuple(node.op for node in nodes) or ("identity",) for _, nodes in stages)
    return Chain(layers, dims, tuple(max(1, c) for c in costs), ops, tuple(root.shape), tuple(out.shape))
