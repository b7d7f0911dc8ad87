"""A safe parser for formulas typed by a user: ``parse("exp(x)/x**2")``.

A tokenizer and a Pratt (precedence-climbing) parser; nothing is ever passed
to ``eval``. Grammar, loosest first: ``+ -``, then ``* /``, then unary ``- +``,
then ``**`` (or ``^``, right-associative, so ``-x**2`` is ``-(x**2)`` and
``2**3**2`` is ``2**9``), then numbers, names, ``f(args)`` and parentheses.
Names are variables, except the constants ``pi`` and ``e`` and the functions in
:data:`FUNCTIONS`. Malformed input raises :class:`ParseError`, which says where
(a 0-based position and a caret under the text) and what was expected.
"""

from __future__ import annotations

import math
import re

from ..errors import DiffCompareError
from ..primitives import PRIMITIVES
from . import expr as E
from .expr import Node


class ParseError(DiffCompareError, ValueError):
    """A formula could not be parsed.

    Attributes:
        text: the formula; position: 0-based index of the offending character;
        expected: what the parser expected there.
    """

    def __init__(self, text: str, position: int, expected: str, found: str | None = None):
        self.text, self.position, self.expected = text, position, expected
        found = found if found is not None else (repr(text[position]) if position < len(text) else "end of input")
        shown = text if len(text) <= 200 else text[:200] + "..."
        caret = " " * min(position, len(shown)) + "^"
        super().__init__(f"cannot parse formula at position {position}: expected {expected}, found {found}\n"
                         f"  {shown}\n  {caret}")


def _unary(op):
    return lambda x: E.make(op, x)


#: function name -> (number of arguments (None: two or more), builder)
FUNCTIONS = {
    # every elementwise function of one argument in the primitive list, by its dnp name
    **{name: (1, _unary(name)) for name, p in PRIMITIVES.items() if p.kind == "unary" and name != "negative"},
    "ln": (1, _unary("log")),
    "atan": (1, _unary("arctan")),
    "maximum": (2, lambda a, b: E.make("maximum", a, b)),
    "minimum": (2, lambda a, b: E.make("minimum", a, b)),
    "max": (None, lambda *a: E.nary("amax", a)),
    "min": (None, lambda *a: E.nary("amin", a)),
    # elementwise primitives declared with their derivative
    **{name: (1, _unary(name)) for name in
       ("arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "rsqrt", "cbrt", "exp2", "erf", "erfc", "erfinv",
        "sinc")},
    **{name: (2, lambda a, b, name=name: E.make(name, a, b)) for name in ("arctan2", "logaddexp", "logaddexp2")},
    "asin": (1, _unary("arcsin")),
    "acos": (1, _unary("arccos")),
    "atan2": (2, lambda a, b: E.make("arctan2", a, b)),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_DEPTH = 200

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>\*\*|[-+*/^(),]))",
    re.ASCII,
)
_BINARY = {"+": (10, E.add), "-": (10, E.sub), "*": (20, E.mul), "/": (20, E.div)}
_POWER = 40
_UNARY = 30


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) for each token, ending with ("end", "", len(text))."""
    tokens, pos = [], 0
    while True:
        while pos < len(text) and text[pos] in " \t\n\r":
            pos += 1
        if pos >= len(text):
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ParseError(text, pos, "a number, a name, an operator (+ - * / ** ^) or a parenthesis")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, variables):
        self.text, self.tokens, self.i = text, tokenize(text), 0
        self.variables = None if variables is None else set(variables)
        self.depth = 0

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, expected: str, token=None):
        kind, text, pos = token or self.peek()
        raise ParseError(self.text, pos, expected, "end of input" if kind == "end" else repr(text))

    def expect(self, op: str):
        token = self.peek()
        if token[0] != "op" or token[1] != op:
            self.fail(f"'{op}'")
        return self.take()

    def expression(self, min_power: int = 0) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"a formula nested at most {MAX_DEPTH} levels deep")
        left = self.prefix()
        while True:
            kind, op, _ = self.peek()
            if kind != "op":
                break
            if op in ("**", "^"):
                if _POWER < min_power:
                    break
                self.take()
                left = E.power(left, self.expression(_POWER))  # right-associative
            elif op in _BINARY and _BINARY[op][0] > min_power:
                self.take()
                power, build = _BINARY[op]
                left = build(left, self.expression(power))
            else:
                break
        self.depth -= 1
        return left

    def prefix(self) -> Node:
        kind, text, pos = token = self.take()
        if kind == "number":
            return E.const(float(text))
        if kind == "op" and text in ("-", "+"):
            operand = self.expression(_UNARY)
            return E.neg(operand) if text == "-" else operand
        if kind == "op" and text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if kind == "name":
            nxt = self.peek()
            if nxt[0] == "op" and nxt[1] == "(":
                return self.call(text, pos)
            if text in FUNCTIONS:
                self.fail(f"'(' after the function name '{text}'")
            if text in CONSTANTS:
                return E.const(CONSTANTS[text])
            if self.variables is not None and text not in self.variables:
                raise ParseError(self.text, pos, f"one of the variables {sorted(self.variables)}", repr(text))
            return E.var(text)
        self.fail("a number, a name, '(' or a unary minus", token)

    def call(self, name: str, pos: int) -> Node:
        if name not in FUNCTIONS:
            raise ParseError(self.text, pos, f"a known function ({', '.join(sorted(FUNCTIONS))})", repr(name))
        arity, build = FUNCTIONS[name]
        self.expect("(")
        args = [self.expression()]
        while self.peek()[0] == "op" and self.peek()[1] == ",":
            self.take()
            args.append(self.expression())
        if self.peek()[0] != "op" or self.peek()[1] != ")":
            self.fail("',' or ')'")
        close = self.take()
        if (arity is None and len(args) < 2) or (arity is not None and len(args) != arity):
            want = "at least 2 arguments" if arity is None else f"{arity} argument{'s' if arity != 1 else ''}"
            raise ParseError(self.text, close[2], f"{want} to {name}()", f"{len(args)}")
        return build(*args)


def parse(text: str, variables=None) -> Node:
    """The expression for a formula, e.g. ``parse("exp(x)/x**2")``.

    Arguments:
        text: the formula (Python-like syntax; ``^`` is a power, as ``**``).
        variables: the names allowed as variables (default: any name).
    Returns:
        A :class:`~diffcompare.symbolic.expr.Node`.
    Raises:
        ParseError: with the position and what was expected.
    """
    if not isinstance(text, str):
        raise ParseError(str(text), 0, "a string")
    parser = _Parser(text, variables)
    if parser.peek()[0] == "end":
        parser.fail("a formula")
    node = parser.expression()
    if parser.peek()[0] != "end":
        parser.fail("an operator or the end of the formula")
    return node
