"""Sentences rendered from the numbers beside them, so that words and numbers cannot disagree.

A notebook that quotes a measured figure, factor or direction writes the sentence
with this module instead of typing the number once::

    from diffcompare.prose import say, num, times, compare
    say(f"Reverse mode took {times(t_rev, t_f)} the time of f at n = {n}.")
    say(f"At n = {n}, forward mode was {compare(t_fwd, t_rev)} reverse mode.")

``say`` displays Markdown in a notebook and prints plain text elsewhere; the
helpers format numbers the same way everywhere (significant digits, ×, "faster
than" or "slower than" chosen from the data).
"""

from __future__ import annotations

import math


def num(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits: 0.000123 -> '1.23e-04', 1234.5 -> '1.23e+03' past 1e4."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return str(x)
    if 1e-3 <= abs(x) < 1e4:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
        return f"{x:.{decimals}f}"
    return f"{x:.{digits - 1}e}"


def times(a: float, b: float, digits: int = 2) -> str:
    """The ratio a / b written as a factor: '3.4×'."""
    return f"{num(a / b, digits)}×"


def compare(a: float, b: float, faster: str = "faster than", slower: str = "slower than",
            same: str = "as fast as", tolerance: float = 0.05, digits: int = 2) -> str:
    """Words for time ``a`` against time ``b``, chosen by the data: '2.1× faster than'.

    Within ``tolerance`` (relative) the two are called the same.
    """
    if abs(a - b) <= tolerance * max(abs(a), abs(b)):
        return same
    if a < b:
        return f"{times(b, a, digits)} {faster}"
    return f"{times(a, b, digits)} {slower}"


def more_or_fewer(a: float, b: float, noun: str = "", more: str = "more", fewer: str = "fewer",
                  digits: int = 2) -> str:
    """'9.6× fewer multiply-adds' when a < b, '1.3× more ...' when a > b, 'as many ...' when equal."""
    tail = f" {noun}" if noun else ""
    if a == b:
        return f"as many{tail}"
    if a < b:
        return f"{times(b, a, digits)} {fewer}{tail}"
    return f"{times(a, b, digits)} {more}{tail}"


def say(text: str) -> None:
    """Show ``text`` as Markdown in a notebook, as plain text anywhere else."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # IPython is not a core dependency
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(text))


HOLDS = "✔"
FAILS = "✘ does not hold here"


def claim(holds: bool, statement: str, found: str = "", why: str = "") -> None:
    """Print a checked statement instead of a bare ``assert``: what was claimed, what was found, and why.

    A notebook that checks a claim on its own output calls ``claim(ok, "the default step's error is
    close to the best", found=f"ratio {r:.1f}")``. When it holds, it prints '✔ statement (found)';
    when it does not, it prints '✘ does not hold here: statement', the values found and ``why`` the
    claim was expected, and the notebook runs on (the tests look for the '✘' line). Returns nothing, so
    that a notebook cell ending in a claim shows only the sentence.

    Example:
        >>> claim(2 < 3, "2 is less than 3", found="2 and 3")
        ✔ 2 is less than 3 (found: 2 and 3)
    """
    holds = bool(holds)
    if holds:
        print(f"{HOLDS} {statement}" + (f" (found: {found})" if found else ""))
    else:
        lines = [f"{FAILS}: {statement}"]
        if found:
            lines.append(f"  found: {found}")
        if why:
            lines.append(f"  expected because: {why}")
        print("\n".join(lines))


def check(statement: str, holds: bool, found: str) -> bool:
    """:func:`claim` with the statement first, returning ``holds`` (notebook 05's form)::

        check("reverse mode needs fewer operations than forward mode", ops_rev < ops_fwd,
              f"{ops_rev:,} against {ops_fwd:,}")
    """
    claim(holds, statement, found=found)
    return bool(holds)
