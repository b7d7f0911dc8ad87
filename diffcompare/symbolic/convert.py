"""Expressions out and in: strings, LaTeX, SymPy, and compiled ``jax.numpy`` functions.

* :func:`to_string` / :func:`to_latex`: readable forms with the fewest
  parentheses (comparisons print as Iverson brackets ``[x > 0]``, 1 or 0).
* :func:`to_sympy` / :func:`from_sympy`: conversion both ways.
* :func:`evaluate`: the value of nodes at numbers, with NumPy (float64).
* :func:`compile_jax`: a ``jax.numpy`` function of the input arrays, for
  ``jax.jit`` (one straight-line program over the shared graph, so a shared
  subexpression is computed once).
"""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import UnsupportedOperationError
from ..primitives import PRIMITIVES
from . import expr as E
from .expr import Node, topological

# ---------------------------------------------------------------- strings and LaTeX

_INFIX = {"add": (" + ", 1), "subtract": (" - ", 1), "multiply": ("*", 2), "divide": ("/", 2)}
_COMPARE = {"gt": ">", "ge": ">=", "eq": "=="}
_NAMES = {"amax": "max", "amin": "min", "maximum": "max", "minimum": "min"}


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _printer(latex: bool):
    memo: dict[int, tuple[str, int]] = {}

    def wrap(text: str, prec: int, need: int) -> str:
        if prec >= need:
            return text
        return rf"\left({text}\right)" if latex else f"({text})"

    def fn(name: str, args: list[str]) -> str:
        if not latex:
            return f"{name}({', '.join(args)})"
        special = {"sqrt": r"\sqrt{%s}", "abs": r"\left|%s\right|", "stop": r"\operatorname{sg}\left(%s\right)"}
        if name in special and len(args) == 1:
            return special[name] % args[0]
        known = {"exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "max", "min"}
        head = rf"\{name}" if name in known else (r"\sigma" if name == "sigmoid" else rf"\operatorname{{{name}}}")
        return rf"{head}\left({', '.join(args)}\right)"

    def show(node: Node) -> tuple[str, int]:
        if node.serial in memo:
            return memo[node.serial]
        op, args = node.op, node.args
        if op == "const":
            text = _number(node.value)
            if latex and "e" in text and "inf" not in text and "nan" not in text:
                mant, exp = text.split("e")
                text = rf"{mant} \cdot 10^{{{int(exp)}}}"
            out = (text, 5 if node.value >= 0 else 2)
        elif op == "var":
            out = (_latex_name(node.value) if latex else node.value, 5)
        elif op in _INFIX:
            (a, pa), (b, pb) = show(args[0]), show(args[1])
            symbol, prec = _INFIX[op]
            if latex and op == "divide":
                out = (rf"\frac{{{a}}}{{{b}}}", 4)  # a power of a fraction needs parentheses
            else:
                if latex and op == "multiply":
                    symbol = r" \cdot "
                out = (wrap(a, pa, prec) + symbol + wrap(b, pb, prec + 1), prec)
        elif op == "negative":
            a, pa = show(args[0])
            out = ("-" + wrap(a, pa, 3), 2)
        elif op == "power":
            (a, pa), (b, pb) = show(args[0]), show(args[1])
            if latex:
                out = (wrap(a, pa, 5) + f"^{{{b}}}", 4)
            else:
                out = (wrap(a, pa, 5) + "**" + wrap(b, pb, 4), 4)
        elif op in _COMPARE:
            (a, _), (b, _) = show(args[0]), show(args[1])
            symbol = {"ge": r" \geq ", "gt": " > ", "eq": " = "}[op] if latex else f" {_COMPARE[op]} "
            out = (rf"\left[{a}{symbol}{b}\right]" if latex else f"[{a}{symbol}{b}]", 5)
        elif op == "select":
            out = (fn("where", [show(a)[0] for a in args]), 5)
        else:
            out = (fn(_NAMES.get(op, op), [show(a)[0] for a in args]), 5)
        memo[node.serial] = out
        return out

    return show


def _latex_name(name: str) -> str:
    match = re.fullmatch(r"([A-Za-z_][A-Za-z_0-9]*)((?:\[[^\]]*\])*)", name)
    if not match:
        return rf"\mathrm{{{name}}}"
    base, index = match.groups()
    greek = {"alpha", "beta", "gamma", "delta", "theta", "lambda", "mu", "sigma", "tau", "phi", "omega"}
    base = rf"\{base}" if base in greek else (base if len(base) == 1 else rf"\mathrm{{{base}}}")
    base = base.replace("_", r"\_") if base.startswith(r"\mathrm") else base
    if index:
        inner = index.replace("][", ",").strip("[]").replace("'", "").replace("_", r"\_")
        return f"{base}_{{{inner}}}"
    return base


def to_string(node) -> str:
    """A readable one-line form, e.g. ``exp(x)/x**2``. Shared subexpressions are written out in full."""
    return _printer(False)(E.as_node(node))[0]


def to_latex(node) -> str:
    """LaTeX for the expression (without the surrounding ``$``)."""
    return _printer(True)(E.as_node(node))[0]


# ---------------------------------------------------------------- SymPy


def to_sympy(node):
    """The same expression as a SymPy expression (``stop`` becomes its argument)."""
    import sympy as sp

    functions = {
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
    }
    relations = {"gt": sp.StrictGreaterThan, "ge": sp.GreaterThan, "eq": sp.Eq}
    memo: dict[int, object] = {}
    rel_memo: dict[int, object] = {}
    for n in topological([E.as_node(node)]):
        if n.op == "const":
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
    return memo[E.as_node(node).serial]


def from_sympy(expression) -> Node:
    """A node from a SymPy expression (symbols become variables of the same name)."""
    import sympy as sp

    unary = {sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.tanh: "tanh",
             sp.sinh: "sinh", sp.cosh: "cosh", sp.atan: "arctan", sp.Abs: "abs",
             sp.asin: "arcsin", sp.acos: "arccos", sp.asinh: "arcsinh", sp.acosh: "arccosh", sp.atanh: "arctanh",
             sp.erf: "erf", sp.erfc: "erfc", sp.erfinv: "erfinv"}
    memo: dict = {}

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
        else:
            raise UnsupportedOperationError(type(e).__name__, "symbolic", "from_sympy knows elementary functions only")
        memo[e] = out
        return out

    return conv(sp.sympify(expression))


# ---------------------------------------------------------------- evaluation and compilation


def _ops(xp, stop):
    def gate(c):
        return xp.where(c, 1.0, 0.0)

    return {
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
        **_declared_ops(xp),
    }


def _declared_ops(xp):
    """NumPy's or JAX's version of each elementwise primitive declared with its derivative."""
    if xp is jnp:
        return {name: p.impl for name, p in PRIMITIVES.items() if p.derivative is not None}
    import scipy.special

    numpy_versions = {"rsqrt": lambda a: 1.0 / np.sqrt(a), "erf": scipy.special.erf,
                      "erfc": scipy.special.erfc, "erfinv": scipy.special.erfinv}
    return {name: numpy_versions.get(name) or getattr(np, name)
            for name, p in PRIMITIVES.items() if p.derivative is not None}


_NP_OPS = _ops(np, lambda a: a)
_JNP_OPS = _ops(jnp, jax.lax.stop_gradient)


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
                vals[n.serial] = _NP_OPS[n.op](*(vals[a.serial] for a in n.args))
    return [vals[n.serial] for n in nodes]


def _power(base, exponent_node, exponent):
    # small integer exponents as repeated products (JAX's integer_pow), as x**2 in Python
    if exponent_node.is_const and exponent_node.value == int(exponent_node.value) and abs(exponent_node.value) <= 8:
        return jnp.power(base, int(exponent_node.value))
    return jnp.power(base, exponent)


def compile_jax(outputs, inputs):
    """A ``jax.numpy`` function of the input arrays returning the output arrays.

    Arguments:
        outputs: a list of object arrays of nodes (each becomes one output array).
        inputs: a list of object arrays of variable nodes (each is one argument).
    Returns:
        ``fn(*arrays) -> list of arrays`` with the outputs' shapes, ready for ``jax.jit``.
    """
    outputs = [E.obj_array(o) for o in outputs]
    inputs = [E.obj_array(i) for i in inputs]
    order = topological(E.flat_nodes(outputs))
    slot = {n.serial: i for i, n in enumerate(order)}
    feeds = [[(slot[v.serial], k) for k, v in enumerate(arr.reshape(-1)) if v.serial in slot] for arr in inputs]
    fed = {s for feed in feeds for s, _ in feed}
    program = []
    for i, n in enumerate(order):
        if n.op == "var" and i not in fed:
            raise UnsupportedOperationError("free variable", "symbolic", f"variable '{n.value}' is not an input")
        if n.op != "var":
            program.append((i, n))
    out_slots = [([slot[n.serial] for n in o.reshape(-1)], o.shape) for o in outputs]

    def run(*arrays):
        dtype = jnp.result_type(*arrays) if arrays else jnp.result_type(float)
        vals = [None] * len(order)
        for arr, feed in zip(arrays, feeds):
            flat = jnp.ravel(arr)
            for s, k in feed:
                vals[s] = flat[k]
        for i, n in program:
            if n.op == "const":
                vals[i] = jnp.asarray(n.value, dtype)
            elif n.op == "power":
                vals[i] = _power(vals[slot[n.args[0].serial]], n.args[1], vals[slot[n.args[1].serial]])
            else:
                vals[i] = _JNP_OPS[n.op](*(vals[slot[a.serial]] for a in n.args))
        results = []
        for slots, shape in out_slots:
            if not slots:
                results.append(jnp.zeros(shape, dtype))
            else:
                results.append(jnp.reshape(jnp.stack([jnp.asarray(vals[s], dtype) for s in slots]), shape))
        return results

    return run
