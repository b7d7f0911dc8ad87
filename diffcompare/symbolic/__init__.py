"""Symbolic differentiation: expression graphs, rules, simplification, and expression swell made measurable.

Layers, from the bottom up (each imports only the ones above it in this list):

* :mod:`.graph` walks any expression graph in topological order, never recursively;
  :mod:`.text` prints scalar expressions (text and LaTeX);
* :mod:`.nodes`: hash-consed scalar expressions; :mod:`.arrays`: arrays of them as
  engine values (``SymArray``); :mod:`.expr` is both as one namespace;
* :mod:`.rules`: each primitive on arrays of nodes, and each node kind's partial
  derivatives (the unary entries derived from :data:`diffcompare.primitives.PRIMITIVES`);
* :mod:`.trace`: ``SymbolicTrace``, which uses the base ``Trace.process`` lookup of those rules;
* :mod:`.differentiate` (naive tree differentiation, reverse and forward accumulation on the
  shared graph), :mod:`.simplify`, :mod:`.measure`, :mod:`.convert` (SymPy, NumPy evaluation
  tables), :mod:`.program` (vectorised compilation to ``jax.numpy``), :mod:`.parser`;
* :mod:`.array`: the array level (matrix calculus), a sub-package mirroring the layers above
  (nodes, rules, differentiate, simplify, text, compile, trace), whose elementwise VJPs come from the
  same declarations; :mod:`.cache`: the one cache of compiled derivatives for both levels;
* :mod:`.api`: the method interface (``grad``, ``jvp``, ``vjp``, ``jacobian``, ``hessian``);
  :mod:`.bench`: the ``matrix_calculus`` measurement.

To add an elementwise primitive: its SymPy entry in ``convert._sympy_functions`` and its LaTeX in
``text.LATEX``. Its partials (scalar nodes), its array-level VJP, its compiled and evaluated forms and
its parser entry all come from its declaration in :mod:`diffcompare.primitives`.
``tests/test_symbolic.py`` names whatever is missing.

    >>> from diffcompare import symbolic as S
    >>> e = S.parse("exp(x)/x**2")
    >>> S.to_string(S.simplify(S.reverse([e], [S.var("x")])[0]))
    'exp(x)/x**2 - 2*exp(x)/x**3'
"""

from __future__ import annotations

from . import array, convert, parser, text  # noqa: F401 - tables the coverage test reads
from .api import Traced, cache_info, clear_cache, grad, hessian, jacobian, jvp, sizes, trace, value_and_grad, vjp
from .convert import evaluate, from_sympy, to_latex, to_string, to_sympy
from .differentiate import SwellLimitError, diff, forward, gradient, naive, naive_visits, reverse
from .expr import Node, SymArray, const, make, var
from .measure import Size, graph_size, measure, tree_size
from .parser import ParseError, parse
from .program import compile_jax
from .rules import DERIVATIVES, RULES, UNSUPPORTED
from .simplify import cse, cse_string, simplify
from .text import ExpressionTooLargeError
from .trace import SymbolicTrace

NAME = "symbolic"
TITLE = "symbolic differentiation"
#: relative error allowed against JAX, by dtype (the derivative is exact; only rounding differs)
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}


def symbols(names: str) -> tuple:
    """Variables by name: ``x, y = symbols("x y")`` (scalar symbolic values usable with ``dnp``)."""
    trace_ = SymbolicTrace("symbols")
    return tuple(SymArray(trace_, var(n)) for n in names.replace(",", " ").split())


__all__ = [
    "DERIVATIVES", "NAME", "RULES", "TITLE", "TOLERANCE", "UNSUPPORTED",
    "ExpressionTooLargeError", "Node", "ParseError", "Size", "SwellLimitError", "SymArray", "SymbolicTrace", "Traced",
    "cache_info", "clear_cache", "compile_jax", "const", "cse", "cse_string", "diff", "evaluate", "forward",
    "from_sympy",
    "grad", "gradient", "graph_size", "hessian", "jacobian", "jvp", "make", "measure", "naive",
    "naive_visits", "parse", "reverse", "simplify", "sizes", "symbols", "to_latex", "to_string", "to_sympy",
    "trace", "tree_size", "value_and_grad", "var", "vjp",
]
