"""Vertex elimination on the linearised computational graph (Griewank & Walther, ch. 9-10).

Record a small function of scalars on the reverse engine's tape; every edge
u → v gets its local partial derivative c_vu = ∂v/∂u, from the same VJP rules
the backward sweep uses (the rule applied to cotangent 1 on scalars). The
Jacobian entry ∂y/∂x is the sum over all paths x → y of the products of the
edge labels. Eliminating an intermediate vertex j folds every path through it
into direct edges: for each predecessor i and successor k,

    c_ki ← c_ki + c_kj · c_ji        (one multiplication per pair)

so eliminating j costs |P(j)|·|S(j)| multiplications (its *Markowitz degree*).
When only inputs and outputs are left, the edges are the Jacobian. Forward
mode eliminates in the order of evaluation, reverse mode in the opposite
order; the **Markowitz** rule greedily eliminates the vertex of smallest
current degree, and on Griewank's lighthouse it beats both.

Convention: an output that is also used further on (the lighthouse's y1 feeds
y2) gets a copy vertex ``y`` with a unit edge; products with that structural
1 are not counted as multiplications. Every other product is counted, also by
a partial that happens to be ±1 (the graph does not know values are ±1).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from .._core import concrete
from ..errors import InvalidOptionError, ShapeMismatchError
from ..reverse.tape import ReverseTrace, _pull, toposort

ORDERS = ("forward", "reverse", "markowitz")


@dataclasses.dataclass
class LinearGraph:
    """A linearised computational graph of scalars.

    Attributes:
        labels: vertex -> its name (``x0``, ``v3 = tan``, ``y1``); vertices are numbered in evaluation order.
        inputs, outputs: the independent and dependent vertices, in argument / output order.
        edges: (u, v) -> c_vu, the local partial ∂v/∂u.
        unit: the edges that are structural copies (label 1, multiplications by them are free).
    """

    labels: dict[int, str]
    inputs: list[int]
    outputs: list[int]
    edges: dict[tuple[int, int], float]
    unit: set = dataclasses.field(default_factory=set)

    def intermediates(self) -> list[int]:
        ends = set(self.inputs) | set(self.outputs)
        return [v for v in sorted(self.labels) if v not in ends]

    def preds(self, v) -> list[int]:
        return sorted(u for (u, w) in self.edges if w == v)

    def succs(self, v) -> list[int]:
        return sorted(w for (u, w) in self.edges if u == v)

    def markowitz(self, v) -> int:
        return len(self.preds(v)) * len(self.succs(v))

    def jacobian(self) -> np.ndarray:
        """The Jacobian read off the edges input → output (after every intermediate is eliminated)."""
        left = [v for v in self.intermediates() if self.preds(v) or self.succs(v)]
        if left:
            raise ShapeMismatchError(f"LinearGraph.jacobian: vertices {left} are not eliminated yet")
        J = np.zeros((len(self.outputs), len(self.inputs)))
        for a, y in enumerate(self.outputs):
            for b, x in enumerate(self.inputs):
                J[a, b] = self.edges.get((x, y), 1.0 if x == y else 0.0)
        return J

    def copy(self) -> LinearGraph:
        return LinearGraph(dict(self.labels), list(self.inputs), list(self.outputs), dict(self.edges), set(self.unit))


def linearize(f, *args, names=None, output_names=None) -> LinearGraph:
    """Record ``f(*args)`` (scalar arguments, scalar outputs) on the reverse engine's tape; label its edges.

    Arguments:
        f: a function of scalars written with ``diffcompare.numpy``; returns a scalar or a tuple of scalars.
        args: the scalar inputs.
        names: labels for the inputs (default ``x0``, ``x1``, …), e.g. ``("ν", "γ", "ω", "t")``.
        output_names: labels for the outputs (default ``y0``, ``y1``, …), e.g. ``("y1", "y2")``.
    Returns:
        The :class:`LinearGraph`: one vertex per input and per recorded operation.
    Example:
        >>> g = linearize(lighthouse, 1.0, 2.0, 0.3, 1.5)
        >>> eliminate(g, "markowitz").multiplications
    """
    if not args or any(jnp.shape(a) != () for a in args):
        raise ShapeMismatchError(f"accumulate.linearize: give scalar arguments (a scalar graph), got shapes "
                                 f"{[jnp.shape(a) for a in args]}")
    trace = ReverseTrace()
    inputs = [trace.input(jnp.asarray(a, dtype=jnp.result_type(float))) for a in args]
    out = f(*inputs)
    outs = jax.tree_util.tree_leaves(out, is_leaf=lambda v: trace.owns(v))
    if any(not trace.owns(o) or o.shape != () for o in outs):
        raise ShapeMismatchError("accumulate.linearize: every output must be a scalar computed from the inputs")
    order = {id(n): n for n in toposort(outs, trace)}
    nodes = sorted(set(order.values()) | set(inputs), key=lambda n: n.index)
    number = {id(n): k for k, n in enumerate(nodes)}
    labels, edges = {}, {}
    for n in nodes:
        v = number[id(n)]
        if n.op == "input":
            k = inputs.index(n)
            labels[v] = str(names[k]) if names is not None else f"x{k}"
            continue
        labels[v] = f"v{v - len(inputs) + 1} {n.op}"  # v1, v2, … as in the textbook
        partials = _pull(n, jnp.ones((), n.dtype), trace)  # the VJP of cotangent 1 is the local partial
        for parent, c in zip(n.parents, partials):
            if c is not None:
                key = (number[id(parent)], v)
                edges[key] = edges.get(key, 0.0) + float(concrete(c))
    graph = LinearGraph(labels, [number[id(n)] for n in inputs], [], edges)
    out_name = (lambda a: str(output_names[a])) if output_names is not None else (lambda a: f"y{a}")
    for a, o in enumerate(outs):  # outputs used further on (or repeated, or inputs) get a copy vertex
        v = number[id(o)]
        if graph.succs(v) or v in graph.outputs or v in graph.inputs:
            w = len(graph.labels)
            graph.labels[w] = out_name(a)
            graph.edges[v, w] = 1.0
            graph.unit.add((v, w))
            v = w
        else:
            graph.labels[v] = f"{out_name(a)} = {graph.labels[v]}"
        graph.outputs.append(v)
    return graph


@dataclasses.dataclass
class Elimination:
    """The result of eliminating every intermediate vertex.

    Attributes:
        order: the vertices in the order eliminated; cost: the multiplications each took.
        multiplications: their total; snapshots: the graph before each step and after the last.
    """

    rule: str
    order: list[int]
    cost: list[int]
    snapshots: list[LinearGraph]

    @property
    def multiplications(self) -> int:
        return sum(self.cost)

    @property
    def graph(self) -> LinearGraph:
        return self.snapshots[-1]

    def jacobian(self) -> np.ndarray:
        return self.graph.jacobian()

    def table(self) -> str:
        lines = [f"{self.rule}: {self.multiplications} multiplications"]
        for v, c in zip(self.order, self.cost):
            lines.append(f"  eliminate {self.snapshots[0].labels[v]:<16} {c} multiplications")
        return "\n".join(lines)


def eliminate_vertex(graph: LinearGraph, j: int) -> int:
    """Fold every path through ``j`` into direct edges (in place); the multiplications it took."""
    preds, succs = graph.preds(j), graph.succs(j)
    count = 0
    for i in preds:
        for k in succs:
            free = (j, k) in graph.unit or (i, j) in graph.unit
            count += 0 if free else 1
            graph.edges[i, k] = graph.edges.get((i, k), 0.0) + graph.edges[j, k] * graph.edges[i, j]
            graph.unit.discard((i, k))
    for i in preds:
        del graph.edges[i, j]
    for k in succs:
        del graph.edges[j, k]
    return count


def eliminate(graph: LinearGraph, order="markowitz") -> Elimination:
    """Eliminate every intermediate vertex of ``graph`` (left as it is) in ``order``.

    Arguments:
        order: "forward" (evaluation order), "reverse" (the opposite), "markowitz" (smallest
            |P|·|S| first, ties by evaluation order) or an explicit list of the intermediate vertices.
    Returns:
        An :class:`Elimination`: ``.multiplications``, ``.jacobian()``, ``.table()``, ``.snapshots``.
    """
    g = graph.copy()
    todo = g.intermediates()
    if isinstance(order, str):
        if order not in ORDERS:
            raise InvalidOptionError(f"accumulate.eliminate: order must be one of {ORDERS} or a list of vertices, "
                                     f"got {order!r}")
        rule = order
    else:
        rule, order = "custom", list(order)
        if sorted(order) != todo:
            raise InvalidOptionError(f"accumulate.eliminate: the order must list each intermediate vertex {todo} "
                                     f"once, got {order}")
    done, cost, snapshots = [], [], [g.copy()]
    while todo:
        if rule == "forward":
            j = todo[0]
        elif rule == "reverse":
            j = todo[-1]
        elif rule == "markowitz":
            j = min(todo, key=lambda v: (g.markowitz(v), v))
        else:
            j = order[len(done)]
        cost.append(eliminate_vertex(g, j))
        todo.remove(j)
        done.append(j)
        snapshots.append(g.copy())
    return Elimination(rule, done, cost, snapshots)


def lighthouse(nu, gamma, omega, t):
    """Griewank & Walther's lighthouse: where the beam of a lighthouse at distance ν from a quay wall
    with slope γ hits the wall, the beam turning at angular speed ω, at time t.

    y1 = ν tan(ωt) / (γ − tan(ωt)),  y2 = γ y1.
    """
    v2 = dnp.tan(omega * t)
    y1 = nu * v2 / (gamma - v2)
    return y1, y1 * gamma


# ---------------------------------------------------------------- drawing


def _positions(graph: LinearGraph) -> dict[int, tuple[float, float]]:
    depth = {}
    for v in sorted(graph.labels):
        ps = [u for (u, w) in graph.edges if w == v]
        depth[v] = 1 + max((depth[u] for u in ps), default=-1)
    columns: dict[int, list[int]] = {}
    for v, d in depth.items():
        columns.setdefault(d, []).append(v)
    return {v: (float(d), (len(col) - 1) / 2 - i) for d, col in columns.items() for i, v in enumerate(col)}


def draw(elimination: Elimination, cols: int = 3, values: bool = True):
    """The elimination step by step: one panel per step, the vertex about to go in red, new edges in orange.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    snaps = elimination.snapshots
    pos = _positions(snaps[0])
    rows = -(-len(snaps) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.8 * rows), squeeze=False)
    renderer = fig.canvas.get_renderer()
    edge_labels = []
    for s, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if s >= len(snaps):
            continue
        g, before = snaps[s], snaps[max(s - 1, 0)]
        gone = elimination.order[s] if s < len(elimination.order) else None
        for (u, v), c in g.edges.items():
            new = s > 0 and (u, v) not in before.edges or (s > 0 and before.edges.get((u, v)) != c)
            (x0, y0), (x1, y1) = pos[u], pos[v]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(
                arrowstyle="-|>", color="#ff7f0e" if new else "0.45", lw=1.6 if new else 1, shrinkA=9, shrinkB=9))
            if values:
                edge_labels.append((ax, (x0, y0), (x1, y1), ax.text(0, 0, f"{c:.3g}", fontsize=7, color="0.25",
                                                                     ha="center", va="center", zorder=5,
                                                                     bbox=dict(fc="white", ec="none", pad=0.5))))
        for v in g.labels:
            if v in g.inputs or v in g.outputs or g.preds(v) or g.succs(v):
                colour = "#d62728" if v == gone else ("#d8e8f8" if v in g.inputs else
                                                       "#f8e0c8" if v in g.outputs else "#eeeeee")
                x, y = pos[v]
                ax.scatter([x], [y], s=420, color=colour, edgecolor="0.3", zorder=3)
                ax.text(x, y, g.labels[v].split(" ")[0], ha="center", va="center", fontsize=7, zorder=4,
                        color="white" if v == gone else "black")
        spent = sum(elimination.cost[:s])
        title = (f"step {s + 1}: eliminate {g.labels[gone].split(' ')[0]} ({elimination.cost[s]} mult.)"
                 if gone is not None else f"done: the Jacobian, {spent} multiplications")
        ax.set_title(title, fontsize=9)
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
        ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    fig.suptitle(f"vertex elimination, {elimination.rule} order: {elimination.multiplications} multiplications",
                 fontsize=11)
    fig.tight_layout()
    _place_edge_labels(fig, renderer, edge_labels)
    return fig


def _place_edge_labels(fig, renderer, edge_labels):
    """Slide each edge's label along its edge to the first spot where it overlaps no label or vertex."""
    taken = {}
    for ax in fig.axes:  # the vertex names (and their discs) are fixed
        taken[ax] = [t.get_window_extent(renderer).expanded(1.6, 1.9) for t in ax.texts if t.get_zorder() == 4]
    for ax, (x0, y0), (x1, y1), text in edge_labels:
        best, best_overlap = None, None
        for t in (0.45, 0.3, 0.6, 0.2, 0.7, 0.38, 0.52, 0.25, 0.65):
            text.set_position(((1 - t) * x0 + t * x1, (1 - t) * y0 + t * y1))
            box = text.get_window_extent(renderer)
            overlap = sum(max(0, min(box.x1, b.x1) - max(box.x0, b.x0)) * max(0, min(box.y1, b.y1) - max(box.y0, b.y0))
                          for b in taken[ax])
            if best_overlap is None or overlap < best_overlap:
                best, best_overlap = t, overlap
            if overlap == 0:
                break
        text.set_position(((1 - best) * x0 + best * x1, (1 - best) * y0 + best * y1))
        taken[ax].append(text.get_window_extent(renderer))
