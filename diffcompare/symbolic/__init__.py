"""Symbolic differentiation: expression graphs, rules, simplification, and expression swell made measurable.

A function written with ``diffcompare.numpy`` is traced on symbolic inputs
(one variable per array element) into a hash-consed expression graph
(:mod:`.expr`); the one rule table (:mod:`.rules`) gives each node's local
derivatives; :mod:`.differentiate` differentiates it two ways, naively as a
tree (the swell of the textbooks) and by reverse accumulation on the shared
graph (the cheap gradient); :mod:`.simplify` simplifies without changing
values and writes the graph out in CSE form; :mod:`.measure` counts tree and
graph sizes; :mod:`.convert` prints, converts to and from SymPy and compiles
to ``jax.numpy``; :mod:`.parser` reads formulas safely; :mod:`.api` is the
method interface (``grad``, ``jvp``, ``vjp``, ``jacobian``, ``hessian``).

    >>> from diffcompare import symbolic as S
    >>> e = S.parse("exp(x)/x**2")
    >>> S.to_string(S.simplify(S.reverse([e], [S.var("x")])[0]))
    'exp(x)/x**2 - 2*exp(x)/x**3'
"""

from __future__ import annotations

from . import convert, parser, text  # noqa: F401 - tables the coverage test reads
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
