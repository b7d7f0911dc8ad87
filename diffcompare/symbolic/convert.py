"""Expressions out and in: strings, LaTeX, SymPy, and compiled ``jax.numpy`` functions.

* :func:`to_string` / :func:`to_latex`: readable forms with the fewest
  parentheses (comparisons print as Iverson brackets ``[x > 0]``, 1 or 0).
* :func:`to_sympy` / :func:`from_sympy`: conversion both ways.
* :func:`evaluate`: the value of nodes at numbers, with NumPy (float64).
* the tables of how each node kind is computed with NumPy and with JAX
  (:mod:`.program` compiles a graph with the JAX table).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import UnsupportedOperationError
from ..primitives import PRIMITIVES
from . import expr as E
from .expr import Node, topological
from .graph import signed_sums, use_counts
from .text import render

# ---------------------------------------------------------------- strings and LaTeX


def to_string(node) -> str:
    """A readable one-line form, e.g. ``exp(x)/x**2``. Shared subexpressions are written out in full."""
    return render([E.as_node(node)])[0]


def to_latex(node) -> str:
    """LaTeX for the expression (without the surrounding ``$``)."""
    return render([E.as_node(node)], latex=True)[0]


# ---------------------------------------------------------------- SymPy


def _sympy_functions(sp) -> dict:
    """node kind -> the SymPy function building it (SymPy is imported only when used)."""
    return {
        "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
        "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh, "arctan": sp.atan, "abs": sp.Abs,
        "log1p": lambda a: sp.log(1 + a), "expm1": lambda a: sp.exp(a) - 1,
        "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "relu": lambda a: sp.Max(a, 0),
        "negative": lambda a: -a, "add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
        "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b, "power": lambda a, b: a**b,
        "maximum": sp.Max, "minimum": sp.Min, "amax": sp.Max, "amin": sp.Min, "stop": lambda a: a,
        # elementwise primitives declared with their derivative
        "arcsin": sp.asin, "arccos": sp.acos, "arcsinh": sp.asinh, "arccosh": sp.acosh, "arctanh": sp.atanh,
        "rsqrt": lambda a: 1 / sp.sqrt(a), "cbrt": lambda a: sp.real_root(a, 3), "exp2": lambda a: 2**a,
        "erf": sp.erf, "erfc": sp.erfc, "erfinv": sp.erfinv, "sinc": lambda a: sp.sinc(sp.pi * a),
        "real": sp.re, "imag": sp.im, "conj": sp.conjugate, "arctan2": sp.atan2,
        "logaddexp": lambda a, b: sp.log(sp.exp(a) + sp.exp(b)), "logaddexp2": lambda a, b: sp.log(2**a + 2**b, 2),
        # the piecewise-constant steps (SymPy has no round half to even: an undefined function keeps its name)
        "sign": sp.sign, "floor": sp.floor, "ceil": sp.ceiling, "round": sp.Function("round"),
        "trunc": lambda a: sp.sign(a) * sp.floor(sp.Abs(a)),
    }


def sympy_kinds() -> set[str]:
    """The node kinds :func:`to_sympy` converts."""
    import sympy as sp

    return set(_sympy_functions(sp)) | {"const", "var", "gt", "ge", "eq", "select"}


def to_sympy(node):
    """The same expression as a SymPy expression (``stop`` becomes its argument)."""
    import sympy as sp

    functions = _sympy_functions(sp)
    relations = {"gt": sp.StrictGreaterThan, "ge": sp.GreaterThan, "eq": sp.Eq}
    memo: dict[int, object] = {}
    rel_memo: dict[int, object] = {}
    root = E.as_node(node)
    order = topological([root])
    # a chain of additions is one sympy.Add of all its terms (building it pairwise is quadratic)
    sums, absorbed = signed_sums(order, use_counts(order, [root]), {root.serial})
    for n in order:
        if n.serial in absorbed:
            continue
        if n.serial in sums:
            memo[n.serial] = sp.Add(*(memo[t.serial] if sign > 0 else -memo[t.serial] for t, sign in sums[n.serial]))
        elif n.op == "const":
            value = n.value
            memo[n.serial] = sp.Integer(int(value)) if math.isfinite(value) and value == int(value) else sp.Float(value)
        elif n.op == "var":
            memo[n.serial] = sp.Symbol(n.value, real=True)
        elif n.op in relations:
            rel_memo[n.serial] = relations[n.op](*(memo[a.serial] for a in n.args))
            memo[n.serial] = sp.Piecewise((1, rel_memo[n.serial]), (0, True))
        elif n.op == "select":
            cond, a, b = n.args
            rel = rel_memo.get(cond.serial, sp.Ne(memo[cond.serial], 0))
            memo[n.serial] = sp.Piecewise((memo[a.serial], rel), (memo[b.serial], True))
        else:
            memo[n.serial] = functions[n.op](*(memo[a.serial] for a in n.args))
    return memo[root.serial]


def from_sympy(expression) -> Node:
    """A node from a SymPy expression (symbols become variables of the same name)."""
    import sympy as sp

    # the inverse of the table's plain SymPy functions of one argument (exp, sin, Abs, ...)
    unary = {fn: kind for kind, fn in _sympy_functions(sp).items()
             if isinstance(fn, type) and issubclass(fn, sp.Function) and fn not in (sp.Max, sp.Min)}
    memo: dict = {}

    def relation(c):
        """A SymPy relation as a node that is 1 where it holds (gt, ge, eq; < and <= swap operands)."""
        kinds = {sp.StrictGreaterThan: ("gt", False), sp.GreaterThan: ("ge", False),
                 sp.StrictLessThan: ("gt", True), sp.LessThan: ("ge", True), sp.Eq: ("eq", False)}
        if type(c) not in kinds:
            raise UnsupportedOperationError(type(c).__name__, "symbolic", "from_sympy knows <, <=, >, >= and ==")
        kind, swap = kinds[type(c)]
        a, b = (c.rhs, c.lhs) if swap else (c.lhs, c.rhs)
        return E.make(kind, conv(a), conv(b))

    def conv(e):
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            out = E.var(e.name)
        elif e.is_Number or e in (sp.pi, sp.E) or e.is_NumberSymbol:
            out = E.const(float(e))
        elif e.is_Add:
            out = E.sum_nodes(conv(a) for a in e.args)
        elif e.is_Mul:
            num = [a for a in e.args if not (a.is_Pow and a.exp.is_Number and a.exp < 0)]
            den = [a.base ** (-a.exp) for a in e.args if a.is_Pow and a.exp.is_Number and a.exp < 0]
            top = E.prod_nodes(conv(a) for a in num)
            out = E.div(top, E.prod_nodes(conv(a) for a in den)) if den else top
        elif e.is_Pow:
            if e.exp == sp.Rational(1, 2):
                out = E.make("sqrt", conv(e.base))
            elif e.exp.is_Number and e.exp < 0:
                out = E.div(1.0, conv(e.base ** (-e.exp)))
            else:
                out = E.power(conv(e.base), conv(e.exp))
        elif e.func in unary:
            out = E.make(unary[e.func], conv(e.args[0]))
        elif e.func in (sp.Max, sp.Min):
            out = E.nary("amax" if e.func is sp.Max else "amin", [conv(a) for a in e.args])
        elif isinstance(e, sp.Piecewise):  # (a, c1), (b, c2), ..., (z, True): nested selects
            *cases, (last, _) = e.args
            out = conv(last)
            for value, condition in reversed(cases):
                out = E.select(relation(condition), conv(value), out)
        else:
            raise UnsupportedOperationError(type(e).__name__, "symbolic", "from_sympy knows elementary functions only")
        memo[e] = out
        return out

    return conv(sp.sympify(expression))


# ---------------------------------------------------------------- evaluation and compilation


def _ops(xp, stop):
    def gate(c):
        return xp.where(c, 1.0, 0.0)

    return {**_elementwise_ops(xp), **{
        "negative": xp.negative, "exp": xp.exp, "log": xp.log, "log1p": xp.log1p, "expm1": xp.expm1,
        "sqrt": xp.sqrt, "sin": xp.sin, "cos": xp.cos, "tan": xp.tan, "tanh": xp.tanh, "sinh": xp.sinh,
        "cosh": xp.cosh, "arctan": xp.arctan, "abs": xp.abs,
        "sigmoid": (jax.nn.sigmoid if xp is jnp else lambda a: 1.0 / (1.0 + np.exp(-a))),
        "relu": lambda a: xp.maximum(a, 0.0),
        "add": xp.add, "subtract": xp.subtract, "multiply": xp.multiply, "divide": xp.divide,
        "power": xp.power, "maximum": xp.maximum, "minimum": xp.minimum,
        "amax": lambda *a: xp.max(xp.stack(a), axis=0), "amin": lambda *a: xp.min(xp.stack(a), axis=0),
        "stop": stop,
        "gt": lambda a, b: gate(a > b), "ge": lambda a, b: gate(a >= b), "eq": lambda a, b: gate(a == b),
        "select": lambda c, a, b: xp.where(c != 0, a, b),
        **{kind: getattr(xp, kind) for kind in E.STEPS},
    }}


def _elementwise_ops(xp):
    """NumPy's or JAX's version of every other elementwise primitive: JAX's is the primitive's own ``impl``;
    NumPy's is the NumPy function of the same name where there is one, else the ``impl`` (a newly declared
    primitive needs no entry here)."""
    names = [name for name, p in PRIMITIVES.items() if p.kind in ("unary", "binary") and name != "stop_gradient"]
    if xp is jnp:
        return {name: PRIMITIVES[name].impl for name in names}
    import scipy.special

    numpy_versions = {"rsqrt": lambda a: 1.0 / np.sqrt(a), "erf": scipy.special.erf,
                      "erfc": scipy.special.erfc, "erfinv": scipy.special.erfinv}

    def via_impl(impl):
        return lambda *a: np.asarray(impl(*a))

    return {name: numpy_versions.get(name) or getattr(np, name, None) or via_impl(PRIMITIVES[name].impl)
            for name in names}


#: node kind -> how NumPy computes it (:func:`evaluate`); and how ``jax.numpy`` does (both levels compile with it)
NUMPY_OPS = _ops(np, lambda a: a)
JAX_OPS = _ops(jnp, jax.lax.stop_gradient)


def evaluate(outputs, env: dict):
    """Values of nodes with NumPy: ``env`` maps variable names to numbers (or arrays, evaluated elementwise).

    Returns one value per node of ``outputs`` (a list of nodes).
    """
    nodes = E.flat_nodes(outputs)
    vals: dict[int, object] = {}
    with np.errstate(all="ignore"):
        for n in topological(nodes):
            if n.op == "const":
                vals[n.serial] = np.float64(n.value)
            elif n.op == "var":
                vals[n.serial] = np.asarray(env[n.value], dtype=np.float64)
            else:
                vals[n.serial] = NUMPY_OPS[n.op](*(vals[a.serial] for a in n.args))
    return [vals[n.serial] for n in nodes]
