"""Symbolic differentiation at array level (matrix calculus), beside the scalar side of :mod:`..symbolic`.

``W @ x`` is one node of shape ``(m,)`` here, where scalar expansion writes a sum of products per
element; the gradient is built by reverse accumulation with one VJP rule per operation, so the
derivative is an array expression whose size does not grow with n (Laue, Mitterreiter and Giesen,
"Computing Higher Order Derivatives of Matrix and Tensor Expressions", NeurIPS 2018). Operations
without an array rule (``prod``, advanced indexing, ``stack``, ...) raise
:class:`~diffcompare.errors.UnsupportedOperationError`; the method interface then falls back to scalar
expansion (``expand="auto"``) or refuses (``expand="array"``).

Layers, from the bottom up, mirroring the scalar side:

* :mod:`.text` prints array expressions (``A + Aᵀ``, ``u xᵀ``, ``Xᵀ diag(s) X``; text and LaTeX);
* :mod:`.nodes`: hash-consed array nodes, their builders (structural identities), ``AArray``;
* :mod:`.simplify` (reading order) and :mod:`.rules`: each primitive's node, each node kind's VJP
  (an elementwise primitive's from its declaration in :mod:`diffcompare.primitives`);
* :mod:`.differentiate`: reverse accumulation, and the Hessian by batching over the identity;
* :mod:`.compile`: one ``jax.numpy`` program and the structure key it is cached by;
* :mod:`.trace`: ``ArrayTrace``; :mod:`.api`: the derivative programs and printed formulas.

This namespace holds what the rest of the library, the notebooks and the tests use
(``from diffcompare.symbolic import array as AL``); the builders live in :mod:`.nodes`.
"""

from __future__ import annotations

from ..graph import topological
from .api import (
    EXPAND,
    check_expand,
    evaluate,
    expressions,
    gradient_expression,
    gradient_formulas,
    hessian_expression,
    hessian_formulas,
    hvp_expression,
    program,
    vjp_expression,
)
from .compile import compile_jax, constants, size, structure
from .differentiate import batch_identity, reverse
from .nodes import BINARY, UNARY, AArray, ANode, add, const, eye, mul, reduce_sum, reshape, transpose, var
from .rules import ARRAY_RULES, VJPS, ExpressionTrace
from .simplify import simplify, simplify_all
from .text import equations, shared_names, to_latex, to_text
from .trace import ArrayTrace, trace

__all__ = [
    "ARRAY_RULES", "BINARY", "EXPAND", "UNARY", "VJPS", "AArray", "ANode", "ArrayTrace", "ExpressionTrace", "add",
    "batch_identity", "check_expand", "compile_jax", "const", "constants", "equations", "evaluate", "expressions",
    "eye", "gradient_expression", "gradient_formulas", "hessian_expression", "hessian_formulas", "hvp_expression",
    "mul", "program", "reduce_sum", "reshape", "reverse", "shared_names", "simplify", "simplify_all", "size",
    "structure", "to_latex", "to_text", "topological", "trace", "transpose", "var", "vjp_expression",
]
