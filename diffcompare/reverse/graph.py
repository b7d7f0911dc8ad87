"""Show the recorded graph: operations, shapes, values and, after the sweep, adjoints.

Drawn with matplotlib alone (no graphviz binary needed): nodes are placed in
columns by their depth (the longest path from an input), edges run from
operands to results, and each box says ``#index op``, the shape, the value
and the adjoint ``ā`` the backward sweep left there. In a notebook the
returned figure displays itself.

    >>> g = record(f, 1.5)        # forward pass + one sweep with cotangent 1
    >>> fig = draw(g)             # or draw(f, 1.5)
    >>> print(g.table())          # the same as text
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import _api, drawing
from .._core import concrete
from .tape import Node, ReverseTrace, _pull, backward, toposort


@dataclasses.dataclass
class Graph:
    """A recorded tape with the adjoints of one sweep.

    Attributes:
        trace: the tape; nodes: the nodes reachable from the outputs, parents first;
        outputs: the output nodes; adjoints: node index -> adjoint after the sweep.
    """

    trace: ReverseTrace
    nodes: list
    outputs: list
    adjoints: dict

    def depth(self) -> dict[int, int]:
        """Node index -> longest path from an input (inputs have depth 0)."""
        depth = {}
        for n in self.nodes:
            parents = [p for p in n.parents if self.trace.owns(p)]
            depth[n.index] = 1 + max((depth[p.index] for p in parents), default=-1)
        return depth

    def edges(self) -> list[tuple[int, int]]:
        return [(p.index, n.index) for n in self.nodes for p in n.parents if self.trace.owns(p)]

    def table(self) -> str:
        """One line per node: index, operation, operands, shape, value, adjoint."""
        lines = [f"{'#':>3}  {'op':<14} {'operands':<12} {'shape':<10} {'value':<22} adjoint"]
        for n in self.nodes:
            ops = ",".join(f"#{p.index}" if self.trace.owns(p) else "c" for p in n.parents)
            lines.append(
                f"{n.index:>3}  {n.op:<14} {ops:<12} {str(n.shape):<10} {_fmt(n.value):<22} "
                f"{_fmt(self.adjoints.get(n.index))}"
            )
        return "\n".join(lines)


def _fmt(value, width: int = 3) -> str:
    if value is None:
        return "-"
    v = np.asarray(concrete(value))
    if v.size == 1:
        return f"{v.reshape(()).item():.4g}"
    if v.size <= width:
        return "[" + " ".join(f"{x:.3g}" for x in v.ravel()) + "]"
    return "[" + " ".join(f"{x:.3g}" for x in v.ravel()[:width]) + " …]"


def _label(node: Node, trace) -> str:
    """``op`` with its constant scalar operands shown, e.g. ``power(·, 2)``."""
    consts = [p for p in node.parents if not trace.owns(p)]
    if not consts or any(np.size(concrete(c)) != 1 for c in consts):
        return node.op
    args = ", ".join("·" if trace.owns(p) else _fmt(p) for p in node.parents)
    return f"{node.op}({args})"


def record(f, *args, argnums=0, cotangent=None) -> Graph:
    """Run ``f`` on a tape and sweep once (cotangent 1 for a scalar output), keeping every adjoint.

    Arguments:
        f: a function written with ``diffcompare.numpy``.
        args: its arguments; argnums: the ones recorded as inputs.
        cotangent: the output's cotangent (default: ones of the output's shape).
    """
    sel = _api.select(args, argnums, "reverse.graph.record")
    trace = ReverseTrace()
    inputs = jax.tree_util.tree_map(trace.input, sel.pick(args))
    out = f(*sel.rebuild(args, inputs))
    outs = [o for o in jax.tree_util.tree_leaves(out, is_leaf=lambda v: isinstance(v, Node)) if trace.owns(o)]
    if cotangent is None:
        cts = [jnp.ones(o.shape, o.dtype) for o in outs]
    else:
        cts = [jnp.asarray(c) for c in jax.tree_util.tree_leaves(cotangent)]
    backward(trace, outs, cts, keep=True)
    nodes = sorted(toposort(outs, trace), key=lambda n: n.index)  # creation order is topological
    return Graph(trace, nodes, outs, dict(trace.adjoints))


def local_partials(graph: Graph) -> dict[tuple[int, int], float]:
    """(parent index, child index) -> the local partial derivative ∂child/∂parent on that edge.

    Defined for scalar nodes (the graphs drawn in notebooks): each node's VJP
    applied to the cotangent 1 gives one local partial per parent (course
    text 004, step 2). Edges between non-scalar nodes are left out.
    """
    partials = {}
    for n in graph.nodes:
        if not n.parents or n.shape != ():
            continue
        cts = _pull(n, jnp.ones((), n.dtype), graph.trace)
        for parent, ct in zip(n.parents, cts):
            if ct is not None and graph.trace.owns(parent) and np.size(concrete(ct)) == 1:
                partials[(parent.index, n.index)] = float(np.asarray(concrete(ct)).reshape(()))
    return partials


def layout(graph: Graph, sweeps: int = 4):
    """Layered positions for the graph's nodes (see :func:`diffcompare.drawing.layered_layout`)."""
    return drawing.layered_layout([n.index for n in graph.nodes], graph.edges(), sweeps=sweeps)


def draw(graph_or_f, *args, argnums=0, ax=None, max_nodes: int = 80, title: str | None = None,
         partials: bool = True, width: float = 9.0):
    """Draw a recorded :class:`Graph` (or record ``f(*args)`` first) with matplotlib.

    Each box says ``#index op``, the shape, the value ``v`` and the adjoint
    ``ā`` of the sweep; each edge its local partial derivative (scalar graphs).

    Arguments:
        partials: write each edge's local partial derivative on it.
        width: the figure's width in inches at most (a notebook's width is about 9).

    Returns:
        The matplotlib ``Figure``. Graphs above ``max_nodes`` nodes are refused
        with a message (use ``Graph.table()`` or a smaller input instead).
    """
    graph = graph_or_f if isinstance(graph_or_f, Graph) else record(graph_or_f, *args, argnums=argnums)
    if len(graph.nodes) > max_nodes:
        raise ValueError(f"draw: the graph has {len(graph.nodes)} nodes (max_nodes={max_nodes}); "
                         "print graph.table() instead or record a smaller function")
    outputs = {o.index for o in graph.outputs}
    boxes = []
    for n in graph.nodes:
        colour = "#d8e8f8" if n.op == "input" else ("#f8e0c8" if n.index in outputs else "#eeeeee")
        shape = "scalar" if n.shape == () else "×".join(map(str, n.shape))
        text = (f"#{n.index} {_label(n, graph.trace)}\n{shape}\nv = {_fmt(n.value, 2)}\n"
                f"ā = {_fmt(graph.adjoints.get(n.index), 2)}")
        boxes.append((n.index, text, colour))
    labels = {edge: f"{value:.3g}" for edge, value in local_partials(graph).items()} if partials else {}
    default = "recorded graph: value v, adjoint ā" + (", local partial on each edge" if labels else "")
    return drawing.draw_dag(boxes, graph.edges(), labels, ax=ax, title=title or default, width=width)
