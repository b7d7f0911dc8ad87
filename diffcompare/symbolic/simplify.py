"""Simplification that never changes a value, and common-subexpression elimination.

:func:`simplify` rewrites the graph bottom-up (each shared node once):

* constant folding: an operation on constants becomes a constant;
* identities: x·1, x+0, double negation, x/x (only where x ≠ 0 is known: a
  nonzero constant, exp, cosh, sigmoid, and products and powers of those),
  x**0, x**1, where(c, a, a); x·0 and x − x become 0·x, never 0, since they are
  NaN where x is inf or nan (as in JAX, whose zeros are values, not symbols);
* like terms: a sum is collected into Σ cᵢ·tᵢ + c (3x − x becomes 2·x);
* powers: a product is collected into c·Π tᵢ**eᵢ (x·x becomes x**2), merging
  integer exponents only, and cancelling to x**0 only where x ≠ 0 is known.

Terms and factors are put in one order, so ``x*y`` and ``y*x`` become one node.
Values change only by rounding (sums are reassociated); NaN and inf propagate as
they do in the unsimplified expression (SymPy, by contrast, makes ``x·0`` zero).

Hash-consing already makes every identical subexpression one node, so the
graph is always in CSE form; :func:`cse` writes it out the way ``sympy.cse`` does:
one assignment per subexpression used more than once, then the outputs.
"""

from __future__ import annotations

import numpy as np

from . import expr as E
from .convert import NUMPY_OPS
from .expr import Node, const, flat_nodes, topological
from .graph import use_counts

_SUMS = ("add", "subtract", "negative")
_PRODUCTS = ("multiply", "divide")


def _fold(n: Node, args) -> Node:
    with np.errstate(all="ignore"):
        return const(float(NUMPY_OPS[n.op](*(np.float64(a.value) for a in args))))


def _int_power(n: Node) -> bool:
    return n.op == "power" and n.args[1].is_const and n.args[1].value == int(n.args[1].value)


class _NonZero:
    """Whether a node is known to be nonzero at every input where it is finite (memoized, no recursion)."""

    def __init__(self):
        self.known: dict[int, bool] = {}

    def __call__(self, node: Node) -> bool:
        stack = [node]
        while stack:
            n = stack[-1]
            if n.serial in self.known:
                stack.pop()
                continue
            parts = n.args if n.op in _PRODUCTS else n.args[:1] if n.op in ("negative", "power") else ()
            pending = [a for a in parts if a.serial not in self.known]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if n.op == "const":
                self.known[n.serial] = n.value != 0.0
            elif n.op in ("exp", "cosh", "sigmoid"):
                self.known[n.serial] = True
            else:
                self.known[n.serial] = bool(parts) and all(self.known[a.serial] for a in parts)
        return self.known[node.serial]


class _Simplifier:
    """One pass in topological order. A sum (product) whose only use is another sum (product) is
    never built: its linear form {term: coefficient} + constant (its factors c * prod base**[exponents])
    is handed to its user, which adds to it in place, so a chain of n additions costs O(n)."""

    def __init__(self):
        self.memo: dict[int, Node] = {}
        self.forms: dict[int, tuple] = {}  # absorbed nodes: their linear form or factors, owned by the user
        self.nonzero = _NonZero()

    def run(self, roots):
        order = topological(roots)
        uses = use_counts(order)
        root_ids = {r.serial for r in roots}
        self.shared = {serial for serial, count in uses.items() if count > 1}
        absorbed = set()
        for n in order:
            for a in n.args:
                single = uses[a.serial] == 1 and a.serial not in root_ids
                if single and ((n.op in _SUMS and a.op in _SUMS)
                               or (n.op in _PRODUCTS and (a.op in _PRODUCTS or _int_power(a)))):
                    absorbed.add(a.serial)
        for n in order:
            if n.is_leaf:
                self.memo[n.serial] = n
            elif n.op in _SUMS:
                form = self.sum_form(n)
                if n.serial in absorbed:
                    self.forms[n.serial] = form
                else:
                    self.memo[n.serial] = self.build_sum(*form)
            elif n.op in _PRODUCTS or _int_power(n):
                form = self.product_form(n)
                if isinstance(form, Node):
                    self.memo[n.serial] = form
                elif n.serial in absorbed:
                    self.forms[n.serial] = form
                else:
                    self.memo[n.serial] = self.build_product(*form)
            else:
                self.memo[n.serial] = self.rewrite(n, [self.memo[a.serial] for a in n.args])
        return [self.memo[r.serial] for r in roots]

    # ---- sums: ({term: coefficient}, constant)
    def linear(self, a: Node) -> tuple[dict, float]:
        if a.serial in self.forms:
            return self.forms.pop(a.serial)  # owned from now on: added to in place
        m = self.memo[a.serial]
        if m.op == "const":
            return {}, m.value
        if a.serial not in self.shared and m.op == "multiply" and m.args[0].is_const:
            return {m.args[1]: m.args[0].value}, 0.0
        return {m: 1.0}, 0.0

    def sum_form(self, n: Node) -> tuple[dict, float]:
        signs = (-1.0,) if n.op == "negative" else (1.0, 1.0 if n.op == "add" else -1.0)
        forms = [self.linear(a) for a in n.args]
        for i, sign in enumerate(signs):
            if sign < 0:
                terms, c = forms[i]
                forms[i] = ({t: -v for t, v in terms.items()}, -c)
        if len(forms) == 1:
            return forms[0]
        (ta, ca), (tb, cb) = sorted(forms, key=lambda f: -len(f[0]))  # add the shorter into the longer
        for t, v in tb.items():
            ta[t] = ta.get(t, 0.0) + v
        return ta, ca + cb

    def build_sum(self, terms: dict, constant: float) -> Node:
        plus, minus = [], []
        for t in sorted(terms, key=E.order_key):
            c = terms[t]
            if c == 0.0:  # x − x: 0·x, NaN where x is inf or nan
                plus.append(E.mul(0.0, t))
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

    # ---- products: (coefficient, {base: [exponents]})
    def factors(self, a: Node) -> tuple[float, dict]:
        if a.serial in self.forms:
            return self.forms.pop(a.serial)
        m = self.memo[a.serial]
        if m.op == "const":
            return m.value, {}
        if a.serial not in self.shared and m.op == "negative":
            return -1.0, {m.args[0]: [1.0]}
        return 1.0, {m: [1.0]}

    def product_form(self, n: Node):
        """The factors of ``n``, or a node where it must stay as it is (a division by zero)."""
        if n.op == "power":  # an integer power of a base kept whole, as written
            base, e = self.memo[n.args[0].serial], n.args[1].value
            if base.is_const:
                return _fold(n, (base, n.args[1]))
            return (1.0, {}) if e == 0.0 else (1.0, {base: [e]})
        (ca, fa), (cb, fb) = self.factors(n.args[0]), self.factors(n.args[1])
        if n.op == "divide":
            if cb == 0.0:  # x / 0 stays as it is (inf or nan)
                top, bottom = self.build_product(ca, fa), self.build_product(cb, fb)
                return _fold(n, (top, bottom)) if top.is_const and bottom.is_const else E.make("divide", top, bottom)
            cb, fb = 1.0 / cb, {b: [-x for x in exps] for b, exps in fb.items()}
        if len(fa) < len(fb):
            fa, fb = fb, fa
        for base, exps in fb.items():
            fa.setdefault(base, []).extend(exps)
        return ca * cb, fa

    def merge(self, base: Node, exps: list) -> list:
        # integer exponents add up; a total of 0 cancels only where base != 0 is known (x/x = 1)
        total = sum(exps)
        if total != 0.0 or self.nonzero(base):
            return [total]
        # keep x**a / x**a: at x = 0 it is nan, and so was the original
        return [sum(e for e in exps if e > 0), sum(e for e in exps if e < 0)]

    def build_product(self, coefficient: float, factors: dict) -> Node:
        if coefficient == 0.0:  # 0·x: NaN where x is inf or nan, so the factors stay
            return E.mul(0.0, self.build_product(1.0, factors)) if factors else const(0.0)
        num, den = [], []
        for base in sorted(factors, key=E.order_key):
            for e in self.merge(base, factors[base]):
                if e > 0:
                    num.append(E.power(base, e))
                elif e < 0:
                    den.append(E.power(base, -e))
        top = E.prod_nodes(num) if num else None
        if top is None:
            return E.div(coefficient, E.prod_nodes(den)) if den else const(coefficient)
        if abs(coefficient) != 1.0:
            top = E.mul(abs(coefficient), top)
        out = E.div(top, E.prod_nodes(den)) if den else top
        return E.neg(out) if coefficient < 0 else out

    def rewrite(self, n: Node, args: list) -> Node:
        op = n.op
        if all(a.is_const for a in args):
            return _fold(n, args)
        if op == "power":
            base, exponent = args
            if exponent.is_const and exponent.value == 0.0:
                return const(1.0)
            if exponent.is_const and exponent.value == 1.0:
                return base
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
    uses = use_counts(order, roots)
    rename: dict[int, Node] = {}
    root_ids = {r.serial for r in roots}
    assignments = []
    for n in order:
        if n.is_leaf:
            rename[n.serial] = n
            continue
        body = E.make(n.op, *(rename[a.serial] for a in n.args))
        if uses.get(n.serial, 0) > 1 and n.serial not in root_ids:
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
