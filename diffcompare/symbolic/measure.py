"""How big an expression is: as a tree, as a shared graph, by kind of operation, in depth.

Sizes count operations (every node that is not a constant or a variable), the
way ``sympy.count_ops`` does for binary operations. The *tree size* counts a
shared subexpression once per use, as if nothing were shared (what a printed
formula, or naive tree differentiation, pays for); the *graph size* counts it
once (what hash-consing, CSE and reverse accumulation pay for).
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from .expr import flat_nodes, topological


@dataclasses.dataclass(frozen=True)
class Size:
    """The measurements of one expression (or several sharing one graph).

    Attributes:
        tree: operations counted with multiplicity (nothing shared).
        graph: distinct operations (everything shared).
        depth: the longest chain of operations from an output to a leaf.
        ops: distinct operations by kind (``{"multiply": 12, ...}``).
        tree_ops: operations by kind counted with multiplicity.
    """

    tree: int
    graph: int
    depth: int
    ops: dict
    tree_ops: dict

    def row(self) -> dict:
        return {"tree": self.tree, "graph": self.graph, "depth": self.depth}


def measure(outputs) -> Size:
    """Tree size, graph size, depth and counts by kind of ``outputs`` (nodes or arrays of nodes)."""
    roots = flat_nodes(outputs)
    order = topological(roots)
    tree: dict[int, int] = {}
    depth: dict[int, int] = {}
    kinds: dict[int, Counter] = {}
    graph_ops: Counter = Counter()
    for n in order:
        if n.is_leaf:
            tree[n.serial], depth[n.serial], kinds[n.serial] = 0, 0, Counter()
            continue
        graph_ops[n.op] += 1
        tree[n.serial] = 1 + sum(tree[a.serial] for a in n.args)
        depth[n.serial] = 1 + max(depth[a.serial] for a in n.args)
        # tree counts by kind only while they stay small enough to add up quickly
        if tree[n.serial] < 10**7:
            k = Counter({n.op: 1})
            for a in n.args:
                k.update(kinds[a.serial])
            kinds[n.serial] = k
        else:
            kinds[n.serial] = None
    tree_ops: Counter | None = Counter()
    for r in roots:
        if kinds[r.serial] is None:
            tree_ops = None
            break
        tree_ops.update(kinds[r.serial])
    return Size(
        tree=sum(tree[r.serial] for r in roots),
        graph=sum(graph_ops.values()),
        depth=max((depth[r.serial] for r in roots), default=0),
        ops=dict(graph_ops),
        tree_ops=dict(tree_ops) if tree_ops is not None else {},
    )


def tree_size(outputs) -> int:
    return measure(outputs).tree


def graph_size(outputs) -> int:
    return measure(outputs).graph
