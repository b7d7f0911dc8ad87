"""Walking an expression graph without recursion: every walk of the engine (printing,
simplifying, differentiating, converting, compiling) visits nodes in the order given
here, so a chain thousands of operations deep is as easy as a shallow one.

A node is anything with ``args`` (its operands) and ``serial`` (a unique number).
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


def use_counts(order, roots=()) -> dict[int, int]:
    """serial -> how many times the node is an operand in ``order`` (plus once per root)."""
    uses: dict[int, int] = {}
    for n in order:
        for a in n.args:
            uses[a.serial] = uses.get(a.serial, 0) + 1
    for r in roots:
        uses[r.serial] = uses.get(r.serial, 0) + 1
    return uses
