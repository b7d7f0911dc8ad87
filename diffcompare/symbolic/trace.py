"""The symbolic trace: a function written with ``diffcompare.numpy`` run on arrays of
expressions. Each primitive goes through the base :meth:`Trace.process` lookup of
:data:`.rules.RULES` and :data:`.rules.UNSUPPORTED`; a value-dependent decision
(``if x > 0``, ``float(x)``) raises :class:`ConcretizationError` saying where and what to do.
"""

from __future__ import annotations

import inspect
import linecache
import os
import sys
import types
from collections.abc import Mapping

import jax.numpy as jnp

from .._core import Trace
from ..errors import ConcretizationError
from .arrays import SymArray, elementwise
from .nodes import make
from .rules import RULES, UNSUPPORTED, compare, install_declared_partials


class _TraceRules(Mapping):
    """:data:`.rules.RULES` as the base trace calls rules, ``rule(trace, *operands)``: the table's
    rules map arrays of nodes to arrays of nodes, and the trace wraps the result."""

    def __getitem__(self, name):
        rule = RULES[name]

        def apply(trace, *operands, **params):
            return SymArray(trace, rule(*operands, **params), _result_dtype(operands))

        return apply

    def __iter__(self):
        return iter(RULES)

    def __len__(self):
        return len(RULES)


class SymbolicTrace(Trace):
    """One symbolic tracing of one function; its values have no numbers."""

    engine = "symbolic"
    rules = _TraceRules()
    unsupported = UNSUPPORTED

    def __init__(self, function_name: str = "the function"):
        super().__init__()
        self.function_name = function_name

    def concrete(self, value):
        raise ConcretizationError(concretization_message(self.function_name))

    def compare(self, name, x, y):
        """A comparison kept as an expression (for ``dnp.where``): nodes that are 1 or 0."""
        return SymArray(self, compare(name, x, y), jnp.dtype(bool))

    def step(self, name, x):
        """A piecewise-constant function (``dnp.floor``, ``dnp.sign``, ...) kept as nodes with derivative 0."""
        return SymArray(self, elementwise(lambda a: make(name, a), x), _result_dtype((x,)))


install_declared_partials(SymbolicTrace)


def _result_dtype(operands):
    dtypes = []
    for op in operands:
        if isinstance(op, (list, tuple)):
            dtypes.extend(o.dtype for o in op if isinstance(o, SymArray))
        elif isinstance(op, SymArray):
            dtypes.append(op.dtype)
    return jnp.result_type(*dtypes) if dtypes else jnp.result_type(float)


# ---------------------------------------------------------------- concretization errors

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_USER_PARTS = (os.path.join(_PACKAGE, "problems"),)


def _library_frame(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_USER_PARTS):
        return False  # the zoo's functions are user code
    return path.startswith(_PACKAGE + os.sep) or f"{os.sep}jax{os.sep}" in path


def user_frame():
    """(function name, file, line, source) of the first frame outside the library."""
    frame = sys._getframe(1)
    while frame is not None and _library_frame(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return code.co_name, code.co_filename, frame.f_lineno, source


def concretization_message(function_name: str) -> str:
    where = user_frame()
    if where is None:
        place = f"in {function_name}"
    else:
        name, filename, line, source = where
        place = f"in function '{name}' at {os.path.basename(filename)}:{line}" + (f" (`{source}`)" if source else "")
    return (
        f"symbolic tracing of {function_name} needs a concrete value {place}: a comparison, bool(), float() "
        "or a value-dependent index on a symbolic expression cannot be decided, because the expression "
        "stands for every input at once. Write the branch without Python control flow (dnp.where with a "
        "condition that does not depend on the input, dnp.maximum, dnp.abs, ...) or differentiate this "
        "function with the forward or reverse method, which follow the branch taken at the given input."
    )


_NAMES: dict = {}


def arg_names(f, count: int) -> list[str]:
    """The names of the first ``count`` positional parameters of ``f`` (``arg<i>`` where unknown)."""
    if type(f) is not types.FunctionType or hasattr(f, "__wrapped__") or hasattr(f, "__signature__"):
        return _arg_names(f, count)
    key = (f.__code__, count)  # a plain function's positional names are its code's
    if key not in _NAMES:
        if len(_NAMES) > 1024:
            _NAMES.clear()
        _NAMES[key] = _arg_names(f, count)
    return list(_NAMES[key])


def _arg_names(f, count: int) -> list[str]:
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params[:count]]
    return names + [f"arg{i}" for i in range(len(names), count)]
