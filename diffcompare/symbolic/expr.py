"""Expression graphs, as one namespace: scalar nodes (:mod:`.nodes`) and arrays of them
(:mod:`.arrays`). The rule table and older code import ``expr as E``; the trace that
uses both lives above them in :mod:`.trace`.
"""

from __future__ import annotations

from .arrays import SymArray, elementwise, flat_nodes, obj_array, variables
from .graph import topological
from .nodes import (
    COMPARISONS,
    STEPS,
    Node,
    add,
    as_node,
    const,
    div,
    make,
    mul,
    nary,
    neg,
    order_key,
    power,
    prod_nodes,
    select,
    sub,
    substitute,
    sum_nodes,
    unary,
    var,
)

__all__ = [
    "COMPARISONS", "STEPS", "Node", "SymArray", "add", "as_node", "const", "div", "elementwise", "flat_nodes", "make",
    "mul", "nary", "neg", "obj_array", "order_key", "power", "prod_nodes", "select", "sub", "substitute", "sum_nodes",
    "topological", "unary", "var", "variables",
]
