"""Walking a DAG without recursion, operands before the nodes that use them.

A node is anything with ``args`` (its operands) and ``serial`` (a unique
number): symbolic expression nodes (:mod:`diffcompare.symbolic.graph` walks with
this) and whatever :mod:`diffcompare.drawing` draws. A chain thousands of
operations deep is as easy to walk as a shallow one.
"""

from __future__ import annotations


def topological(outputs) -> list:
    """Every node ``outputs`` reach, each once, operands before the nodes using them."""
    order, seen = [], set()
    for root in outputs:
        if root.serial in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node.serial in seen:
                continue
            seen.add(node.serial)
            stack.append((node, True))
            for a in reversed(node.args):
                if a.serial not in seen:
                    stack.append((a, False))
    return order
