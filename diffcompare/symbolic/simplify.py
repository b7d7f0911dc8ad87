"""Simplification that never changes a value, and common-subexpression elimination.

:func:`simplify` rewrites the graph bottom-up (each shared node once):

* constant folding: an operation on constants becomes a constant;
* identities: x·1, x+0, x·0, x−x, double negation, x/x (only where x ≠ 0 is
  known: a nonzero constant, exp, cosh, sigmoid, and products and powers of those),
  x**0, x**1, where(c, a, a);
* like terms: a sum is collected into Σ cᵢ·tᵢ + c (3x − x becomes 2·x);
* powers: a product is collected into c·Π tᵢ**eᵢ (x·x becomes x**2), merging
  integer exponents only, and cancelling to x**0 only where x ≠ 0 is known.

Terms and factors are put in one order, so ``x*y`` and ``y*x`` become one node.
Values change only by rounding (sums are reassociated). One caveat, shared with
SymPy and JAX's symbolic zeros: ``x·0`` and ``x − x`` become 0 even where x would be
inf or nan.

Hash-consing already makes every identical subexpression one node, so the
graph is always in CSE form; :func:`cse` writes it out the way ``sympy.cse`` does:
one assignment per subexpression used more than once, then the outputs.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import expr as E
from .convert import _NP_OPS
from .expr import Node, const, flat_nodes, topological


def _fold(n: Node, args) -> Node:
    with np.errstate(all="ignore"):
        return const(float(_NP_OPS[n.op](*(np.float64(a.value) for a in args))))


def _nonzero(n: Node) -> bool:
    """Whether ``n`` is known to be nonzero at every input where it is finite."""
    if n.op == "const":
        return n.value != 0.0
    if n.op in ("exp", "cosh", "sigmoid"):
        return True
    if n.op in ("multiply", "divide"):
        return all(_nonzero(a) for a in n.args)
    if n.op in ("negative", "power"):
        return _nonzero(n.args[0])
    return False


class _Simplifier:
    def __init__(self):
        self.memo: dict[int, Node] = {}
        self.linear: dict[int, tuple[dict, float]] = {}
        self.factors: dict[int, tuple[float, dict]] = {}
        self.shared: set[int] = set()  # rewritten nodes standing for a node used more than once

    def run(self, roots):
        order = topological(roots)
        uses = Counter(a.serial for n in order for a in n.args)
        for n in order:
            if n.serial not in self.memo:
                self.memo[n.serial] = self.rewrite(n, [self.memo[a.serial] for a in n.args])
                if uses[n.serial] > 1:
                    self.shared.add(self.memo[n.serial].serial)
        return [self.memo[r.serial] for r in roots]

    def atom(self, n: Node, top: bool) -> bool:
        # a shared subexpression stays one node: flattening it into its users would copy it
        return not top and n.serial in self.shared

    # ---- sums: {term: coefficient} + constant
    def terms(self, n: Node, top: bool = False) -> tuple[dict, float]:
        if self.atom(n, top):
            return {n: 1.0}, 0.0
        if n.serial in self.linear:
            return self.linear[n.serial]
        if n.op == "const":
            out = ({}, n.value)
        elif n.op in ("add", "subtract"):
            (ta, ca), (tb, cb) = self.terms(n.args[0]), self.terms(n.args[1])
            sign = 1.0 if n.op == "add" else -1.0
            merged = dict(ta)
            for t, c in tb.items():
                merged[t] = merged.get(t, 0.0) + sign * c
            out = (merged, ca + sign * cb)
        elif n.op == "negative":
            t, c = self.terms(n.args[0])
            out = ({k: -v for k, v in t.items()}, -c)
        elif n.op == "multiply" and n.args[0].is_const:
            out = ({n.args[1]: n.args[0].value}, 0.0)
        else:
            out = ({n: 1.0}, 0.0)
        self.linear[n.serial] = out
        return out

    def build_sum(self, terms: dict, constant: float) -> Node:
        plus, minus = [], []
        for t in sorted(terms, key=E.order_key):
            c = terms[t]
            if c == 0.0:
                continue
            (plus if c > 0 else minus).append(E.mul(abs(c), t))
        if constant > 0 or (constant and not plus):
            (plus if constant > 0 else minus).append(const(abs(constant)))
        elif constant < 0:
            minus.append(const(-constant))
        if not plus:
            return E.neg(E.sum_nodes(minus)) if minus else const(0.0)
        out = E.sum_nodes(plus)
        for m in minus:
            out = E.sub(out, m)
        return out

    # ---- products: coefficient * prod base**exponent
    def product(self, n: Node, top: bool = False) -> tuple[float, dict]:
        if self.atom(n, top):
            return 1.0, {n: [1.0]}
        if n.serial in self.factors:
            return self.factors[n.serial]
        if n.op == "const":
            out = (n.value, {})
        elif n.op == "divide" and self.product(n.args[1])[0] == 0.0:
            out = (1.0, {n: [1.0]})  # x / 0 stays as it is (inf or nan)
        elif n.op in ("multiply", "divide"):
            (ca, fa), (cb, fb) = self.product(n.args[0]), self.product(n.args[1])
            sign = 1.0 if n.op == "multiply" else -1.0
            merged = {k: list(v) for k, v in fa.items()}
            for base, exps in fb.items():
                merged.setdefault(base, []).extend(sign * e for e in exps)
            out = (ca * cb if sign > 0 else ca / cb, {k: self.merge(k, v) for k, v in merged.items()})
        elif n.op == "negative":
            c, f = self.product(n.args[0])
            out = (-c, f)
        elif n.op == "power" and n.args[1].is_const and n.args[1].value == int(n.args[1].value):
            out = (1.0, {n.args[0]: [n.args[1].value]})
        else:
            out = (1.0, {n: [1.0]})
        self.factors[n.serial] = out
        return out

    @staticmethod
    def merge(base: Node, exps: list) -> list:
        # integer exponents add up; a total of 0 cancels only where base != 0 is known (x/x = 1)
        total = sum(exps)
        if total != 0.0 or _nonzero(base):
            return [total]
        # keep x**a / x**a: at x = 0 it is nan, and so was the original
        return [sum(e for e in exps if e > 0), sum(e for e in exps if e < 0)]

    def build_product(self, coefficient: float, factors: dict) -> Node:
        if coefficient == 0.0:
            return const(0.0)
        num, den = [], []
        for base in sorted(factors, key=E.order_key):
            for e in factors[base]:
                if e > 0:
                    num.append(E.power(base, e))
                elif e < 0:
                    den.append(E.power(base, -e))
        top = E.prod_nodes(num) if num else None
        if top is None:
            out = E.div(coefficient, E.prod_nodes(den)) if den else const(coefficient)
            return out
        if abs(coefficient) != 1.0:
            top = E.mul(abs(coefficient), top)
        out = E.div(top, E.prod_nodes(den)) if den else top
        return E.neg(out) if coefficient < 0 else out

    def rewrite(self, n: Node, args: list) -> Node:
        if n.is_leaf:
            return n
        op = n.op
        if all(a.is_const for a in args):
            return _fold(n, args)
        if op in ("add", "subtract", "negative"):
            if op == "negative" and args[0].op == "negative":
                return args[0].args[0]
            node = E.make(op, *args) if op != "negative" else E.neg(args[0])
            return self.build_sum(*self.terms(node, top=True))
        if op in ("multiply", "divide"):
            return self.build_product(*self.product(E.make(op, *args), top=True))
        if op == "power":
            base, exponent = args
            if exponent.is_const and exponent.value == 0.0:
                return const(1.0)
            if exponent.is_const and exponent.value == 1.0:
                return base
            if exponent.is_const and exponent.value == int(exponent.value):
                return self.build_product(*self.product(E.make("power", base, exponent), top=True))
            return E.make("power", base, exponent)
        if op == "select":
            cond, a, b = args
            return E.select(cond, a, b)
        if op == "stop" and args[0].is_const:
            return args[0]
        return E.make(op, *args)


def simplify(outputs):
    """The simplified expression(s): a node for a node, a list for a list, an object array for an array."""
    if isinstance(outputs, Node):
        return _Simplifier().run([outputs])[0]
    if isinstance(outputs, np.ndarray):
        flat = _Simplifier().run(list(outputs.reshape(-1)))
        out = np.empty(outputs.shape, object)
        for i, n in enumerate(flat):
            out.reshape(-1)[i] = n
        return out
    return _Simplifier().run(flat_nodes(outputs))


def cse(outputs, prefix: str = "t"):
    """The shared graph as straight-line code, as ``sympy.cse`` gives it.

    Returns:
        ``(assignments, reduced)``: ``assignments`` is a list of
        ``(variable, expression)`` for every operation used more than once,
        in an order where each uses only earlier ones; ``reduced`` the outputs
        in terms of those variables.
    """
    roots = flat_nodes(outputs)
    order = topological(roots)
    uses: Counter = Counter(r.serial for r in roots)
    for n in order:
        for a in n.args:
            uses[a.serial] += 1
    rename: dict[int, Node] = {}
    root_ids = {r.serial for r in roots}
    assignments = []
    for n in order:
        if n.is_leaf:
            rename[n.serial] = n
            continue
        body = E.make(n.op, *(rename[a.serial] for a in n.args))
        if uses[n.serial] > 1 and n.serial not in root_ids:
            name = E.var(f"{prefix}{len(assignments)}")
            assignments.append((name, body))
            rename[n.serial] = name
        else:
            rename[n.serial] = body
    return assignments, [rename[r.serial] for r in roots]


def cse_string(outputs, prefix: str = "t") -> str:
    """The CSE form as lines of text: ``t0 = x*y``, ..., then ``out0 = ...``."""
    from .convert import to_string

    assignments, reduced = cse(outputs, prefix)
    lines = [f"{v.value} = {to_string(b)}" for v, b in assignments]
    lines += [f"out{i} = {to_string(r)}" for i, r in enumerate(reduced)]
    return "\n".join(lines)
