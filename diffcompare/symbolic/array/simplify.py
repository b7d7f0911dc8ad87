"""Array expressions put in reading order (``A + Aᵀ``, ``W₂ᵀδ₂ ⊙ tanh′(W₁x)``) for printing; the builders
have already dropped products by 1 and additions of 0.
"""

from __future__ import annotations

from ..graph import topological
from .nodes import ANode, rebuild


def _reading_order(n: ANode) -> int:
    # a variable before its transpose before products of matrices before other expressions: A + Aᵀ,
    # W₂ᵀδ₂ ⊙ tanh′(W₁x); otherwise the order the rules wrote (σ ⊙ (1 − σ))
    return {"var": 0, "transpose": 1, "matmul": 2, "outer": 2, "const": 4}.get(n.op, 3)


def simplify(root: ANode) -> ANode:
    """The same expression with the operands of sums and products in reading order
    (``A + Aᵀ``), and products by the scalar 1 and additions of 0 dropped by the builders."""
    return simplify_all([root])[0][0]


def simplify_all(roots) -> tuple[list, dict]:
    """:func:`simplify` on several expressions at once: ``(simplified roots, serial -> simplified node)``
    for every node they reach (so a shared subexpression stays shared)."""
    new: dict[int, ANode] = {}
    for n in topological(list(roots)):
        args = [new[a.serial] for a in n.args]
        if n.op in ("add", "multiply") and args[0].shape == args[1].shape:
            args = sorted(args, key=_reading_order)
        new[n.serial] = n if not n.args else rebuild(n, args)
    return [new[r.serial] for r in roots], new
