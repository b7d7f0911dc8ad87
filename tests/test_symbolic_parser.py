"""The formula parser: precedence, errors with positions, round trips, and fuzzing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import symbolic as S
from diffcompare.errors import DiffCompareError


def _value(text, **env):
    return float(S.evaluate([S.parse(text)], env)[0])


def test_a_parsed_formula_is_the_traced_function():
    # hash-consing: the same expression, however it was built, is the same node
    traced = S.trace(lambda x: dnp.exp(x) / x**2, 1.5).out_nodes[0][()]
    assert S.parse("exp(x)/x**2") is traced
    assert S.parse("exp(x) / x^2") is traced


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 - 2 - 3", -4.0),
        ("8 / 4 / 2", 1.0),
        ("2 ** 3 ** 2", 512.0),
        ("-2 ** 2", -4.0),
        ("(-2) ** 2", 4.0),
        ("2 * -3", -6.0),
        ("1 + 2 * 3 ^ 2", 19.0),
        ("--3", 3.0),
        ("+4", 4.0),
        ("max(1, 5, 3) - min(2, -1)", 6.0),
        ("maximum(2, 1e1) * .5", 5.0),
        ("ln(e) + atan(0) + cos(pi)", 0.0),
        ("sqrt(abs(-16)) + relu(-2) + sigmoid(0)", 4.5),
    ],
)
def test_precedence_and_functions(text, expected):
    assert _value(text) == pytest.approx(expected)


def test_variables_and_allowed_names():
    assert _value("x*y + exp(x)", x=1.0, y=2.0) == pytest.approx(2 + math.e)
    assert S.parse("x + y", variables=["x", "y"]) is S.parse("x+y")
    with pytest.raises(S.ParseError) as info:
        S.parse("x + z", variables=["x", "y"])
    assert info.value.position == 4 and "variables" in info.value.expected


@pytest.mark.parametrize(
    "text, position, expected",
    [
        ("exp(x", 5, "','"),
        ("x +", 3, "a number"),
        ("2 ** * 3", 5, "a number"),
        ("foo(x)", 0, "a known function"),
        ("max(x)", 5, "at least 2 arguments"),
        ("sin(x, y)", 8, "1 argument"),
        ("x $ y", 2, "a number, a name, an operator"),
        ("", 0, "a formula"),
        ("(x))", 3, "an operator or the end"),
        ("2 x", 2, "an operator or the end"),
        ("exp + 1", 4, "'(' after the function name"),
        ("x²", 1, "a number, a name, an operator"),
    ],
)
def test_malformed_formulas_say_where_and_what_was_expected(text, position, expected):
    with pytest.raises(S.ParseError) as info:
        S.parse(text)
    err = info.value
    assert isinstance(err, DiffCompareError) and isinstance(err, ValueError)
    assert err.position == position, str(err)
    assert expected in err.expected, str(err)
    assert "^" in str(err)


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(S.ParseError, match="nested"):
        S.parse("(" * 5000 + "x" + ")" * 5000)
    assert S.parse("(" * 50 + "x" + ")" * 50) is S.var("x")


def test_parse_never_calls_eval(monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("eval was called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    with pytest.raises(S.ParseError):
        S.parse("__import__('os').system('true')")
    assert _value("exp(x)/x**2", x=1.5) == pytest.approx(math.exp(1.5) / 2.25)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_any_text_parses_or_raises_parse_error(text):
    try:
        node = S.parse(text)
    except S.ParseError as err:
        assert 0 <= err.position <= len(text)
        return
    assert isinstance(node, S.Node)


_TOKENS = st.sampled_from(["x", "y", "1", "2.5", "1e-3", "+", "-", "*", "/", "**", "^", "(", ")", ",",
                           "exp", "sin", "max", "pi", " "])


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=25).map("".join))
def test_fuzz_token_soup_parses_or_raises_parse_error(text):
    try:
        S.parse(text)
    except S.ParseError as err:
        assert 0 <= err.position <= len(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["x", "y", "2", "0.5"]), min_size=1, max_size=6),
       st.lists(st.sampled_from(["+", "-", "*", "/", "**"]), min_size=5, max_size=5),
       st.lists(st.sampled_from(["", "-", "exp", "sin", "tanh"]), min_size=6, max_size=6))
def test_printed_expressions_parse_back_to_the_same_values(leaves, ops, wraps):
    text = leaves[0]
    for leaf, op, wrap in zip(leaves[1:], ops, wraps):
        text = f"{wrap}({text} {op} {leaf})"
    e = S.parse(text)
    again = S.parse(S.to_string(e))
    env = {"x": 0.7, "y": 1.3}
    a, b = (float(S.evaluate([n], env)[0]) for n in (e, again))
    assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12)
