"""Helpers for an assignment's tests: the same test runs as a public check in the student's
notebook (``grader.check("task1_1")``) and as a hidden test in the grader.

In the grader, a test's arguments are stand-ins for the notebook's functions: a call runs
the function in the student's process and brings back plain data, and every reference,
random number and comparison stays in the grader (see :mod:`diffcompare.course.grade`).
In the notebook they are the functions themselves.

* :func:`hand_written` forbids ready-made derivatives while the student's function runs;
* :func:`expect_close` fails with the call, its inputs, expected against got and the first
  wrong entry, in full;
* :func:`ship` passes a function (a reference implementation, a test function) to the
  student's code by its source, built afresh where it runs;
* :func:`using` runs a function with the reference implementations of earlier tasks in place of
  the student's own;
* :func:`count_forward_passes` also counts the forward-mode passes the call made;
* :func:`random_inputs` is the random generator of a hidden test: seeded afresh from the
  operating system's entropy on every grading run, so no submission can know its inputs.

A failed :func:`expect_close` is a :class:`Mismatch`: the grader shows a public test's in full
and a hidden test's without the expected value (the input that failed and what was got).
"""

from __future__ import annotations

import secrets
import sys

import numpy as np

from ._wire import Opaque, Shipped
from .shortcuts import ALL_DERIVATIVES, Shortcut, forbidden_functions, guard


class ShortcutUsed(AssertionError):
    """The student's function used a ready-made derivative the task forbids."""

    def __init__(self, function: str, used: str):
        super().__init__(f"`{function}` uses {used}, which this task asks you to write yourself")
        self.function, self.used = function, used


class StudentError(AssertionError):
    """The student's function raised."""


def _remote(fn):
    return getattr(fn, "_remote_call", None) is not None


class _Local:
    """A notebook function with ready-made derivatives forbidden while it runs (public checks)."""

    def __init__(self, fn, allow):
        self.fn, self.allow = fn, tuple(allow)
        self.__name__ = getattr(fn, "__name__", "function")

    def __call__(self, *args, **kwargs):
        codes = forbidden_functions(ALL_DERIVATIVES, self.allow)
        try:
            with guard(codes) as reached:
                value = self.fn(*args, **kwargs)
        except Shortcut as err:
            raise ShortcutUsed(self.__name__, err.name) from None
        if reached:
            raise ShortcutUsed(self.__name__, reached[0])
        return value


class Mismatch(AssertionError):
    """``got`` did not match ``expected``; :meth:`describe` words it for a public or a hidden test."""

    def __init__(self, call, found, got, expected, inputs, rtol, atol, hint):
        self.call, self.found, self.got, self.expected = call, found, got, expected
        self.inputs, self.rtol, self.atol, self.hint = dict(inputs or {}), rtol, atol, hint
        super().__init__(self.describe(hidden=False))

    def describe(self, hidden: bool) -> str:
        """In full (a public test), or without the expected value (a hidden test: its inputs are drawn afresh
        on every grading run, and what it expects is not for the student's code to learn)."""
        full, secret = self.found
        found = secret if hidden else full
        lines = [f"{self.call} returned a wrong value.", found]
        lines += [f"  {name} = {_show(value)}" for name, value in self.inputs.items()]
        if not hidden:
            lines.append(f"  expected: {_show(self.expected)}")
        lines.append(f"  got:      {_show(self.got)}")
        lines.append(f"  (tolerance rtol={self.rtol:g}, atol={self.atol:g})")
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


def random_inputs() -> np.random.Generator:
    """A generator for a hidden test's inputs, seeded from the operating system on every call."""
    return np.random.default_rng(secrets.randbits(128))


def hand_written(fn, *, allow=()):
    """``fn`` with every ready-made derivative (JAX's, diffcompare's engines, ``diffcompare.check``) forbidden.

    ``allow`` names what the task may use (e.g. ``["diffcompare.forward.jvp"]``).
    """
    if _remote(fn):
        return fn.forbidding(ALL_DERIVATIVES, allow)
    return _Local(fn, allow)


def using(fn, **references):
    """``fn`` running with the given functions in place of the notebook's own (the reference implementations
    of earlier tasks), so a mistake in an earlier task costs only that task's points."""
    if _remote(fn):
        return fn.using(references)
    return _Using(fn, references)


class _Using:
    def __init__(self, fn, references):
        self.fn, self.references = fn, references
        self.__name__ = getattr(fn, "__name__", "function")

    def __call__(self, *args, **kwargs):
        namespace = getattr(self.fn, "__globals__", None)
        if namespace is None and isinstance(self.fn, _Local):
            namespace = getattr(self.fn.fn, "__globals__", None)
        if namespace is None:
            return self.fn(*args, **kwargs)
        saved = {k: namespace[k] for k in self.references if k in namespace}
        namespace.update(self.references)
        try:
            return self.fn(*args, **kwargs)
        finally:
            for k in self.references:
                namespace.pop(k, None)
            namespace.update(saved)


def ship(source: str, name: str) -> Shipped:
    """The function ``name`` defined by ``source`` (with its own imports), usable here and in the student's code."""
    return Shipped(source, name)


def count_forward_passes(fn, *args):
    """``(fn(*args), number of forward-mode passes it made through the functions among args)``.

    In the grader the shipped functions among ``args`` are evaluated by the grader itself, one request per
    call, so the count is the grader's own (nothing the student's process says about itself is believed); a
    vector-mode pass carrying several tangents at once counts as one. In the notebook, forward mode's counter.
    """
    if _remote(fn):
        return fn.counting_forward_passes(*args)
    from diffcompare import forward

    with forward.counting() as counts:
        value = fn(*args)
    return value, counts.passes


def _show(value) -> str:
    if isinstance(value, Opaque):
        return repr(value)
    if isinstance(value, tuple | list):
        inner = ", ".join(_show(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        arr = np.asarray(value)
        if arr.ndim == 0:
            return repr(arr.item())
        return np.array2string(arr, threshold=sys.maxsize, max_line_width=120, precision=17, separator=", ")
    return repr(value)


def _first_difference(got, expected, rtol, atol, path=""):
    """``None`` if ``got`` matches ``expected``, else a sentence naming the first wrong entry: ``(in full,
    without the expected value)`` for a wrong number; one sentence for a wrong structure (no values in it)."""
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            kind = f"{len(got)} values" if isinstance(got, tuple | list) else f"a single {type(got).__name__}"
            return f"at {path or 'the top'}: expected {len(expected)} values, got {kind}"
        for i, (g, e) in enumerate(zip(got, expected)):
            found = _first_difference(g, e, rtol, atol, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(got, Opaque) or got is None or isinstance(got, tuple | list | str):
        return f"at {path or 'the value'}: expected a number or an array, got {_show(got)}"
    e, g = np.asarray(expected, dtype=float), np.asarray(got)
    if g.dtype.kind not in "biuf":
        return f"at {path or 'the value'}: expected numbers, got dtype {g.dtype}"
    if g.shape != e.shape:
        return f"at {path or 'the value'}: expected shape {e.shape}, got shape {g.shape}"
    bad = ~np.isclose(g.astype(float), e, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"{path}[{', '.join(map(str, index))}]" if index else (path or "the value")
    gi, ei = g[index].item(), e[index].item()
    count = f"{int(bad.sum())} of {bad.size} entries wrong there"
    return (f"first wrong entry {where}: expected {ei!r}, got {gi!r} (difference {gi - ei:.3g}; {count})",
            f"first wrong entry {where}: got {gi!r} ({count})")


def expect_close(got, expected, *, call: str, inputs: dict | None = None, rtol=1e-10, atol=1e-12, hint=""):
    """Fail, saying everything a student needs to find the mistake, unless ``got`` matches ``expected``.

    ``call`` is what was called (``"dual_mul((x, xd), (y, yd))"``), ``inputs`` the values of its names.
    """
    found = _first_difference(got, expected, rtol, atol)
    if found is not None:
        found = (found, found) if isinstance(found, str) else found
        raise Mismatch(call, found, got, expected, inputs, rtol, atol, hint)


def expect(condition: bool, message: str):
    """``assert`` that keeps its message when Python runs with -O."""
    if not condition:
        raise AssertionError(message)
