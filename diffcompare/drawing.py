"""Drawing a DAG the way a student reads it: one column per depth, edges between the boxes.

Used for the reverse engine's recorded tape (:mod:`diffcompare.reverse.graph`)
and for symbolic expression graphs (:func:`draw_expression`). Drawn with
matplotlib alone (no graphviz binary needed).

The layout is layered (Sugiyama-style): a node's column is its longest
distance from an input; an edge that spans several columns gets a waypoint in
each column it crosses, and waypoints take a slot like a box, so no edge runs
through a box; each column is ordered by the mean height of its neighbours.
"""

from __future__ import annotations

import numpy as np

from ._dag import topological


def layered_layout(nodes, edges, sweeps: int = 4):
    """Positions for a DAG given in topological order.

    Arguments:
        nodes: node ids, parents before children.
        edges: ``(parent, child)`` pairs of ids.

    Returns:
        ``(pos, routes)``: id -> (column, row), and edge -> list of waypoints
        ``(column, row)`` from parent to child (the ends excluded).
    """
    depth = {}
    parents: dict = {}
    for a, b in edges:
        parents.setdefault(b, []).append(a)
    for n in nodes:
        depth[n] = 1 + max((depth[p] for p in parents.get(n, [])), default=-1)
    layers: dict[int, list] = {}
    for n in nodes:
        layers.setdefault(depth[n], []).append(("node", n))
    chains = {}
    for a, b in edges:
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


def draw_dag(boxes, edges, edge_labels=None, ax=None, title: str = "", width: float = 9.0):
    """Draw boxes and arrows in the layered layout.

    Arguments:
        boxes: ``(id, text, colour)`` per node, parents before children.
        edges: ``(parent id, child id)`` pairs.
        edge_labels: edge -> text written on the edge (near the child).
        width: the figure's width in inches at most (a notebook's width is about 9).

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    edge_labels = edge_labels or {}
    pos, routes = layered_layout([b[0] for b in boxes], edges)
    n_cols = 1 + int(max(x for x, _ in pos.values()))
    rows = [y for _, y in pos.values()] + [y for r in routes.values() for _, y in r]
    height_rows = max(rows) - min(rows) + 1
    lines = max(text.count("\n") + 1 for _, text, _ in boxes)
    dx, dy, bw, bh = 3.0, 0.45 * lines + 0.5, 2.0, 0.33 * lines + 0.25  # pitch and box size (data units)
    natural = 1.9 * n_cols + 0.5
    fig_w = min(width, natural)
    fig_h = min(1.4 * width, max(2.0, fig_w * (height_rows * dy) / (n_cols * dx) + 0.8))
    if ax is None:
        fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    else:
        fig = ax.figure
    font = max(5.5, min(8.0, 8.0 * fig_w / natural * 1.4))
    xy = {i: (x * dx, y * dy) for i, (x, y) in pos.items()}
    for (a, b), via in routes.items():
        (x0, y0), (x1, y1) = xy[a], xy[b]
        pts = [(x0 + bw / 2, y0)] + [(x * dx, y * dy) for x, y in via] + [(x1 - bw / 2, y1)]
        xs, ys = zip(*pts)
        ax.plot(xs[:-1], ys[:-1], color="0.45", lw=1)
        ax.annotate("", xy=pts[-1], xytext=pts[-2], arrowprops=dict(arrowstyle="->", color="0.45", lw=1))
        if (a, b) in edge_labels:
            (ux, uy), (vx, vy) = pts[-2], pts[-1]
            ax.text(0.55 * ux + 0.45 * vx, 0.55 * uy + 0.45 * vy, edge_labels[(a, b)], fontsize=font - 1,
                    color="#a03000", ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.85))
    for i, text, colour in boxes:
        x, y = xy[i]
        ax.add_patch(FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh, boxstyle="round,pad=0.05",
                                    facecolor=colour, edgecolor="0.3", zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=font, family="monospace", zorder=4)
    xs = [p[0] for p in xy.values()]
    ys = [p[1] for p in xy.values()] + [y * dy for r in routes.values() for _, y in r]
    ax.set_xlim(min(xs) - bw / 2 - 0.2, max(xs) + bw / 2 + 0.2)
    ax.set_ylim(min(ys) - bh / 2 - 0.2, max(ys) + bh / 2 + 0.2)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def expression_nodes(roots) -> list:
    """The nodes reachable from ``roots`` (symbolic expression nodes), operands before users; each once."""
    return topological(list(roots))


def draw_expression(roots, title: str = "", width: float = 9.0, max_nodes: int = 60):
    """Draw a symbolic expression graph: one box per node, shared subexpressions drawn once.

    Works with any node type that has ``op``, ``args`` and ``value`` (the
    symbolic engine's nodes). Leaves are variables (blue) and constants (white).
    """
    nodes = expression_nodes(list(roots))
    if len(nodes) > max_nodes:
        raise ValueError(f"draw_expression: the graph has {len(nodes)} nodes (max_nodes={max_nodes}); "
                         "draw a smaller expression")
    names = {"add": "+", "sub": "−", "subtract": "−", "mul": "×", "multiply": "×", "div": "÷", "divide": "÷",
             "power": "^", "neg": "−·", "negative": "−·"}
    roots_ids = {id(r) for r in roots}
    boxes, edges = [], []
    for n in nodes:
        if n.op == "var":
            text, colour = str(n.value), "#d8e8f8"
        elif n.op == "const":
            text, colour = f"{n.value:.4g}" if isinstance(n.value, float) else str(n.value), "#ffffff"
        else:
            text, colour = names.get(n.op, n.op), "#f8e0c8" if id(n) in roots_ids else "#eeeeee"
        boxes.append((id(n), text, colour))
        edges.extend((id(a), id(n)) for a in dict.fromkeys(n.args))
    return draw_dag(boxes, edges, ax=None, title=title, width=width)
