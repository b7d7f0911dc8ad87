"""Walking an expression graph without recursion: every walk of the engine (printing,
simplifying, differentiating, converting, compiling) visits nodes in the order given
here, so a chain thousands of operations deep is as easy as a shallow one.

A node is anything with ``args`` (its operands) and ``serial`` (a unique number).
The walk itself, :func:`topological`, knows nothing of expressions and lives in
:mod:`diffcompare._dag`, where the drawing of graphs finds it too.
"""

from __future__ import annotations

from .._dag import topological  # noqa: F401 - the walk every part of the engine imports from here


def use_counts(order, roots=()) -> dict[int, int]:
    """serial -> how many times the node is an operand in ``order`` (plus once per root)."""
    uses: dict[int, int] = {}
    for n in order:
        for a in n.args:
            uses[a.serial] = uses.get(a.serial, 0) + 1
    for r in roots:
        uses[r.serial] = uses.get(r.serial, 0) + 1
    return uses


#: the sign of each operand of the node kinds that add up
SIGNS = {"add": (1.0, 1.0), "subtract": (1.0, -1.0), "negative": (-1.0,)}


def signed_sums(order, uses, root_ids) -> tuple[dict, set]:
    """serial -> [(term, sign)] for each sum kept, and the serials of the sums folded into their user."""
    terms: dict[int, list] = {}
    absorbed: set[int] = set()
    for n in order:
        if n.op not in SIGNS:
            continue
        parts = []
        for a, sign in zip(n.args, SIGNS[n.op]):
            if a.serial in terms and uses[a.serial] == 1 and a.serial not in root_ids:
                inner = terms.pop(a.serial)
                absorbed.add(a.serial)
                parts.append(inner if sign > 0 else [(m, -s) for m, s in inner])
            else:
                parts.append([(a, sign)])
        parts.sort(key=len, reverse=True)
        for extra in parts[1:]:
            parts[0].extend(extra)  # the shorter into the longer: a chain costs O(n)
        terms[n.serial] = parts[0]
    return terms, absorbed
