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

from .. import _api
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


def layout(graph: Graph, sweeps: int = 4) -> tuple[dict[int, tuple[float, float]], dict]:
    """Layered (Sugiyama-style) positions: one column per depth, edges routed between boxes.

    An edge that spans several columns gets a waypoint in every column it
    crosses; waypoints take a slot like a box, so no edge runs through a box.
    Each column is ordered by the mean height of its neighbours (a few
    sweeps left to right and back), which keeps crossings few.

    Returns:
        ``(pos, routes)``: node index -> (column, row) and edge -> list of
        waypoints ``(column, row)`` from parent to child (excluding the ends).
    """
    depth = graph.depth()
    layers: dict[int, list] = {}
    for n in graph.nodes:
        layers.setdefault(depth[n.index], []).append(("node", n.index))
    chains = {}
    for a, b in graph.edges():
        chain = []
        for d in range(depth[a] + 1, depth[b]):
            slot = ("via", a, b, d)
            layers[d].append(slot)
            chain.append(slot)
        chains[(a, b)] = [("node", a)] + chain + [("node", b)]
    neighbours: dict = {}
    for chain in chains.values():
        for u, v in zip(chain, chain[1:]):
            neighbours.setdefault(v, []).append(u)
            neighbours.setdefault(u, []).append(v)
    row = {slot: float(i) for d in layers for i, slot in enumerate(layers[d])}
    for sweep in range(sweeps):
        order = sorted(layers) if sweep % 2 == 0 else sorted(layers, reverse=True)
        for d in order:
            layers[d].sort(key=lambda s: (np.mean([row[u] for u in neighbours.get(s, [])] or [row[s]]), row[s]))
            for i, s in enumerate(layers[d]):
                row[s] = i - (len(layers[d]) - 1) / 2
    pos = {slot[1]: (float(d), row[slot]) for d in layers for slot in layers[d] if slot[0] == "node"}
    routes = {edge: [(float(s[3]), row[s]) for s in chain[1:-1]] for edge, chain in chains.items()}
    return pos, routes


def draw(graph_or_f, *args, argnums=0, ax=None, max_nodes: int = 80, title: str | None = None,
         partials: bool = True, width: float = 9.0):
    """Draw a recorded :class:`Graph` (or record ``f(*args)`` first) with matplotlib.

    Arguments:
        partials: write each edge's local partial derivative on it (scalar graphs).
        width: the figure's width in inches at most (a notebook's width is about 9).

    Returns:
        The matplotlib ``Figure``. Graphs above ``max_nodes`` nodes are refused
        with a message (use ``Graph.table()`` or a smaller input instead).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    graph = graph_or_f if isinstance(graph_or_f, Graph) else record(graph_or_f, *args, argnums=argnums)
    if len(graph.nodes) > max_nodes:
        raise ValueError(f"draw: the graph has {len(graph.nodes)} nodes (max_nodes={max_nodes}); "
                         "print graph.table() instead or record a smaller function")
    pos, routes = layout(graph)
    n_cols = 1 + int(max(x for x, _ in pos.values()))
    rows = [y for _, y in pos.values()] + [y for r in routes.values() for _, y in r]
    height_rows = max(rows) - min(rows) + 1
    dx, dy, bw, bh = 3.0, 1.7, 2.0, 1.25  # column and row pitch, box width and height (data units)
    fig_w = min(width, 1.9 * n_cols + 0.5)
    fig_h = min(1.4 * width, max(2.5, fig_w * (height_rows * dy) / (n_cols * dx) + 0.8))
    if ax is None:
        fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    else:
        fig = ax.figure
    font = max(5.5, min(8.0, 8.0 * fig_w / (1.9 * n_cols + 0.5) * 1.4))
    xy = {i: (x * dx, y * dy) for i, (x, y) in pos.items()}
    labels = local_partials(graph) if partials else {}
    for (a, b), via in routes.items():
        (x0, y0), (x1, y1) = xy[a], xy[b]
        pts = [(x0 + bw / 2, y0)] + [(x * dx, y * dy) for x, y in via] + [(x1 - bw / 2, y1)]
        xs, ys = zip(*pts)
        ax.plot(xs[:-1], ys[:-1], color="0.45", lw=1)
        ax.annotate("", xy=pts[-1], xytext=pts[-2], arrowprops=dict(arrowstyle="->", color="0.45", lw=1))
        if (a, b) in labels:
            (ux, uy), (vx, vy) = pts[-2], pts[-1]
            ax.text(0.55 * ux + 0.45 * vx, 0.55 * uy + 0.45 * vy, f"{labels[(a, b)]:.3g}", fontsize=font - 1,
                    color="#a03000", ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.85))
    outputs = {o.index for o in graph.outputs}
    for n in graph.nodes:
        x, y = xy[n.index]
        colour = "#d8e8f8" if n.op == "input" else ("#f8e0c8" if n.index in outputs else "#eeeeee")
        ax.add_patch(FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh, boxstyle="round,pad=0.05",
                                    facecolor=colour, edgecolor="0.3", zorder=3))
        shape = "scalar" if n.shape == () else "×".join(map(str, n.shape))
        text = (f"#{n.index} {_label(n, graph.trace)}\n{shape}\nv = {_fmt(n.value, 2)}\n"
                f"ā = {_fmt(graph.adjoints.get(n.index), 2)}")
        ax.text(x, y, text, ha="center", va="center", fontsize=font, family="monospace", zorder=4)
    xs = [p[0] for p in xy.values()]
    ys = [p[1] for p in xy.values()] + [y * dy for r in routes.values() for _, y in r]
    ax.set_xlim(min(xs) - bw / 2 - 0.2, max(xs) + bw / 2 + 0.2)
    ax.set_ylim(min(ys) - bh / 2 - 0.2, max(ys) + bh / 2 + 0.2)
    ax.set_axis_off()
    default = "recorded graph: value v, adjoint ā" + (", local partial on each edge" if labels else "")
    ax.set_title(title or default, fontsize=10)
    fig.tight_layout()
    return fig
