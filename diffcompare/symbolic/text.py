"""Expressions as text: one-line strings (``exp(x)/x**2``) and LaTeX, with the fewest parentheses.

Comparisons print as Iverson brackets ``[x > 0]`` (1 or 0). A node kind prints as
``name(args)`` in text; LaTeX needs an entry in :data:`LATEX` for every function
kind (the coverage test checks that every elementwise primitive has one). Printing
walks the graph in topological order, never recursively.
"""

from __future__ import annotations

import math
import re

from ..errors import DiffCompareError
from .graph import topological


class ExpressionTooLargeError(DiffCompareError, ValueError):
    """Writing the expression out in full (every shared subexpression once per use) would be too long."""

#: binary operators: kind -> (text symbol, precedence)
INFIX = {"add": (" + ", 1), "subtract": (" - ", 1), "multiply": ("*", 2), "divide": ("/", 2)}
#: kinds printed as operators rather than functions
OPERATORS = frozenset(INFIX) | {"negative", "power"}
COMPARE = {"gt": (">", r" > "), "ge": (">=", r" \geq "), "eq": ("==", " = ")}
#: kind -> the function name printed in text, where it differs from the kind
TEXT_NAMES = {"amax": "max", "amin": "min", "maximum": "max", "minimum": "min", "select": "where"}
#: kind -> LaTeX: a head applied as ``head\left(args\right)``, or a template with one ``%s`` per argument
LATEX = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "tanh": r"\tanh",
    "sinh": r"\sinh", "cosh": r"\cosh", "arctan": r"\operatorname{arctan}", "log1p": r"\operatorname{log1p}",
    "expm1": r"\operatorname{expm1}", "sigmoid": r"\sigma", "relu": r"\operatorname{relu}",
    "sqrt": r"\sqrt{%s}", "abs": r"\left|%s\right|", "stop": r"\operatorname{sg}\left(%s\right)",
    "maximum": r"\max", "minimum": r"\min", "amax": r"\max", "amin": r"\min", "select": r"\operatorname{where}",
    "arcsin": r"\arcsin", "arccos": r"\arccos", "arctan2": r"\operatorname{arctan2}",
    "arcsinh": r"\operatorname{arsinh}", "arccosh": r"\operatorname{arcosh}", "arctanh": r"\operatorname{artanh}",
    "rsqrt": r"\frac{1}{\sqrt{%s}}", "cbrt": r"\sqrt[3]{%s}", "exp2": r"2^{%s}",
    "erf": r"\operatorname{erf}", "erfc": r"\operatorname{erfc}", "erfinv": r"\operatorname{erf}^{-1}",
    "sinc": r"\operatorname{sinc}", "real": r"\operatorname{Re}", "imag": r"\operatorname{Im}",
    "conj": r"\overline{%s}", "stop_gradient": r"\operatorname{sg}\left(%s\right)",
    "logaddexp": r"\operatorname{logaddexp}", "logaddexp2": r"\operatorname{logaddexp2}",
    "floor": r"\left\lfloor %s \right\rfloor", "ceil": r"\left\lceil %s \right\rceil", "sign": r"\operatorname{sgn}",
}
_GREEK = {"alpha", "beta", "gamma", "delta", "theta", "lambda", "mu", "sigma", "tau", "phi", "omega"}


def number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def latex_name(name: str) -> str:
    """``W[0,1]`` as ``W_{0,1}``, ``W2`` as ``W_{2}``, ``alpha`` as ``\\alpha``, longer names upright."""
    match = re.fullmatch(r"([A-Za-z_][A-Za-z_0-9]*)((?:\[[^\]]*\])*)", name)
    if not match:
        return rf"\mathrm{{{name}}}"
    base, index = match.groups()
    numbered = re.fullmatch(r"([A-Za-z])([0-9]+)", base)
    if numbered and not index:  # W2 as W_{2}, as the course writes layers
        return f"{numbered.group(1)}_{{{numbered.group(2)}}}"
    base = rf"\{base}" if base in _GREEK else (base if len(base) == 1 else rf"\mathrm{{{base}}}")
    base = base.replace("_", r"\_") if base.startswith(r"\mathrm") else base
    if index:
        inner = index.replace("][", ",").strip("[]").replace("'", "").replace("_", r"\_")
        return f"{base}_{{{inner}}}"
    return base


def _wrap(text: str, prec: int, need: int, latex: bool) -> str:
    if prec >= need:
        return text
    return rf"\left({text}\right)" if latex else f"({text})"


def _function(op: str, args: list[str], latex: bool) -> str:
    if not latex:
        return f"{TEXT_NAMES.get(op, op)}({', '.join(args)})"
    head = LATEX.get(op, rf"\operatorname{{{op}}}")
    if "%s" in head:
        return head % tuple(args)
    return rf"{head}\left({', '.join(args)}\right)"


def _constant(value: float, latex: bool) -> tuple[str, int]:
    text = number(value)
    if latex and "e" in text and "inf" not in text and "nan" not in text:
        mant, exp = text.split("e")
        text = rf"{mant} \cdot 10^{{{int(exp)}}}"
    return text, 5 if value >= 0 else 2


def _show(node, shown: dict, latex: bool) -> tuple[str, int]:
    """(text, precedence) of one node from its operands' texts in ``shown``."""
    op = node.op
    args = [shown[a.serial] for a in node.args]
    if op == "const":
        return _constant(node.value, latex)
    if op == "var":
        return (latex_name(node.value) if latex else node.value), 5
    if op in INFIX:
        (a, pa), (b, pb) = args
        symbol, prec = INFIX[op]
        if latex and op == "divide":
            return rf"\frac{{{a}}}{{{b}}}", 4  # a power of a fraction needs parentheses
        if latex and op == "multiply":
            symbol = r" \cdot "
        return _wrap(a, pa, prec, latex) + symbol + _wrap(b, pb, prec + 1, latex), prec
    if op == "negative":
        return "-" + _wrap(args[0][0], args[0][1], 3, latex), 2
    if op == "power":
        (a, pa), (b, pb) = args
        if latex:
            return _wrap(a, pa, 5, latex) + f"^{{{b}}}", 4
        return _wrap(a, pa, 5, latex) + "**" + _wrap(b, pb, 4, latex), 4
    if op == "select" and latex:  # a piecewise node: cases, as a textbook writes it
        (c, _), (a, _), (b, _) = args
        condition = c[len(r"\left["):-len(r"\right]")] if c.startswith(r"\left[") else c
        return rf"\begin{{cases}} {a} & \text{{if }} {condition} \\ {b} & \text{{otherwise}} \end{{cases}}", 5
    if op in COMPARE:
        symbol = COMPARE[op][1] if latex else f" {COMPARE[op][0]} "
        body = f"{args[0][0]}{symbol}{args[1][0]}"
        return (rf"\left[{body}\right]" if latex else f"[{body}]"), 5
    return _function(op, [a for a, _ in args], latex), 5


#: the most operations :func:`render` writes out (a graph of n nodes can be a tree of 2**n)
MAX_PRINTED_OPS = 200_000


def tree_ops(order) -> dict[int, int]:
    """serial -> operations of the node written out as a tree (nothing shared)."""
    size: dict[int, int] = {}
    for n in order:
        size[n.serial] = (0 if not n.args and n.op in ("const", "var") else 1) + sum(size[a.serial] for a in n.args)
    return size


def render(roots, latex: bool = False, max_ops: int | None = None) -> list[str]:
    """The text (or LaTeX) of each root; shared subexpressions are written out in full.

    Raises :class:`ExpressionTooLargeError` when that would exceed ``max_ops`` operations
    (default :data:`MAX_PRINTED_OPS`): the CSE form (``cse_string``) writes each shared node once.
    """
    order = topological(roots)
    limit = MAX_PRINTED_OPS if max_ops is None else max_ops
    size = tree_ops(order)
    total = sum(size[r.serial] for r in roots)
    if total > limit:
        raise ExpressionTooLargeError(
            f"the expression has {_count(total)} operations written out in full (more than {limit}), though only "
            f"{sum(1 for n in order if n.args)} distinct ones: print it with cse_string(), which writes each "
            "shared subexpression once, or simplify() it first"
        )
    shown: dict[int, tuple[str, int]] = {}
    for node in order:
        shown[node.serial] = _show(node, shown, latex)
    return [shown[r.serial][0] for r in roots]


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"about 10**{len(str(n)) - 1}"


def summary(roots) -> str:
    """A short description for ``repr`` of an expression too large to write out."""
    order = topological(roots)
    size = tree_ops(order)
    return (f"<{_count(sum(size[r.serial] for r in roots))} operations as a tree, "
            f"{sum(1 for n in order if n.args)} as a graph; see cse_string()>")


def short(roots, latex: bool = False) -> list[str]:
    """:func:`render`, or the :func:`summary` where that is too long (for ``repr``, which must not fail)."""
    try:
        return render(roots, latex)
    except ExpressionTooLargeError:
        return [summary(roots)] * len(roots)
