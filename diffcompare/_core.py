"""Dispatch from ``diffcompare.numpy`` to the engines.

An engine's own values (dual numbers, tape nodes, symbolic expressions, ...)
subclass :class:`EngineValue` and belong to a :class:`Trace`: one run of one
engine (one ``jvp``, one recorded tape). Traces are numbered in the order they
start. When a primitive is applied, the operand whose trace started last (the
innermost transformation) handles it; values of older traces and plain arrays
are constants to it. So engines nest (forward over forward, forward over
reverse) without confusing their perturbations: this is JAX's design, as in
autodidax.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import jax.numpy as jnp

from . import _foreign
from .errors import UnsupportedOperationError
from .primitives import ArrayImpl, Primitive, register_engine  # noqa: F401 - ArrayImpl re-exported

_trace_counter = itertools.count(1)


class Trace:
    """One run of an engine. Subclasses set ``engine``, ``rules`` and ``unsupported``.

    ``rules`` maps primitive names to rules; ``process`` applies the rule for
    a primitive to operands of which at least one belongs to this trace. A
    library engine that sets ``rules`` registers its table with
    :func:`diffcompare.primitives.register_engine` when it is defined, so the
    coverage table knows every engine (others ask with ``register=True``).
    """

    engine = "engine"
    rules: dict = {}
    unsupported: dict[str, str] = {}

    def __init_subclass__(cls, register: bool | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if register is None:  # the library's engines with their own table (a toy engine in a test or notebook
            # is left out unless it asks with ``class MyTrace(Trace, register=True)``)
            register = "rules" in cls.__dict__ and cls.__module__.startswith(__package__ + ".")
        if register:
            register_engine(cls.engine, cls.rules, cls.unsupported)

    def __init__(self):
        self.level = next(_trace_counter)

    def rule_for(self, prim: Primitive):
        """This engine's rule for ``prim``; refuses, naming the primitive and the reason, if there is none."""
        rule = self.rules.get(prim.name)
        if rule is None:
            reason = self.unsupported.get(prim.name, f"it has no rule in the {self.engine} engine's table")
            raise UnsupportedOperationError(prim.name, self.engine, reason)
        return rule

    def process(self, prim: Primitive, operands: tuple, params: dict) -> Any:
        return self.rule_for(prim)(self, *operands, **params)

    def concrete(self, value: EngineValue) -> Any:
        """The value this engine's value stands for (used by comparisons, ``bool``)."""
        raise NotImplementedError

    def owns(self, value: Any) -> bool:
        return isinstance(value, EngineValue) and value._trace is self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} level={self.level}>"


def top_trace(operands) -> Trace | None:
    """The trace of the innermost engine among ``operands`` (lists and tuples are searched), or None."""
    top = None
    for value in operands:
        if isinstance(value, EngineValue):
            trace = value._trace
        elif isinstance(value, (list, tuple)):
            trace = top_trace(value)
        else:
            continue
        if trace is not None and (top is None or trace.level > top.level):
            top = trace
    return top


def bind(prim: Primitive, *operands, **params):
    """Apply ``prim``: on JAX arrays with JAX, otherwise with the innermost engine."""
    trace = top_trace(operands)
    if trace is None:
        if prim.variadic:
            return prim.impl(list(operands[0]), **params)
        return prim.impl(*operands, **params)
    return trace.process(prim, operands, params)


def concrete(value):
    """Strip every engine layer from ``value`` and return the array it stands for.

    Symbolic expressions have no concrete value and raise ``ConcretizationError``;
    the complex step refuses with ``NotComplexSafeError``.
    """
    while isinstance(value, EngineValue):
        value = value._trace.concrete(value)
    return value


def is_engine_value(value) -> bool:
    return isinstance(value, EngineValue)


def any_engine_value(*trees) -> bool:
    """True if an engine value occurs anywhere in ``trees`` (lists and tuples are searched)."""
    return top_trace(trees) is not None


class EngineValue:
    """Base of every engine's values: Python operators call ``diffcompare.numpy``.

    Subclasses set ``_trace`` and provide ``shape`` and ``dtype``. Comparisons,
    ``bool()`` and ``int()`` use the concrete value, as JAX does outside jit, so
    value-dependent ``if``, ``while`` and loop counts work (derivative 0, like
    JAX: they are piecewise constant). ``float()``, ``complex()``,
    ``.item()``, ``math.*`` and NumPy / ``jax.numpy`` functions would drop the
    derivative silently: they refuse (``_foreign``).
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    # shape and dtype
    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def dtype(self):
        raise NotImplementedError

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        size = 1
        for d in self.shape:
            size *= d
        return size

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d value")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # arithmetic
    def __add__(self, other):
        return _dnp().add(self, other)

    def __radd__(self, other):
        return _dnp().add(other, self)

    def __sub__(self, other):
        return _dnp().subtract(self, other)

    def __rsub__(self, other):
        return _dnp().subtract(other, self)

    def __mul__(self, other):
        return _dnp().multiply(self, other)

    def __rmul__(self, other):
        return _dnp().multiply(other, self)

    def __truediv__(self, other):
        return _dnp().divide(self, other)

    def __rtruediv__(self, other):
        return _dnp().divide(other, self)

    def __pow__(self, other):
        return _dnp().power(self, other)

    def __rpow__(self, other):
        return _dnp().power(other, self)

    def __matmul__(self, other):
        return _dnp().matmul(self, other)

    def __rmatmul__(self, other):
        return _dnp().matmul(other, self)

    def __neg__(self):
        return _dnp().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _dnp().abs(self)

    def __getitem__(self, index):
        return _dnp().getitem(self, index)

    # comparisons act on concrete values, as in JAX outside jit
    def __lt__(self, other):
        return _dnp().less(self, other)

    def __le__(self, other):
        return _dnp().less_equal(self, other)

    def __gt__(self, other):
        return _dnp().greater(self, other)

    def __ge__(self, other):
        return _dnp().greater_equal(self, other)

    def __eq__(self, other):
        return _dnp().equal(self, other)

    def __ne__(self, other):
        return _dnp().not_equal(self, other)

    __hash__ = object.__hash__  # engines keep values in id-keyed tables

    # Turning an engine value into a plain array or number would silently drop its derivative: refuse.
    def __array__(self, dtype=None, copy=None):
        raise UnsupportedOperationError(
            "conversion to a NumPy/JAX array",
            self._trace.engine,
            "the derivative would be lost; write the function with diffcompare.numpy (dnp) instead of "
            "numpy or jax.numpy, and use dnp.index_add(x, i, y) for x.at[i].add(y) on a plain array",
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs and ufunc.__name__ in _OPERATORS:
            # numpy_array <op> value: NumPy hands Python's operators to us
            return getattr(_dnp(), _OPERATORS[ufunc.__name__])(*inputs)
        called = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        raise _foreign.foreign(self._trace.engine, called)

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in ("shape", "ndim", "size"):
            return getattr(_dnp(), func.__name__)(*args, **kwargs)
        raise _foreign.foreign(self._trace.engine, f"numpy.{func.__name__}")

    @property
    def __jax_array__(self):
        if sys._getframe(1).f_code.co_name.startswith("_operator_"):
            raise AttributeError("__jax_array__")  # jax_array <op> value: let Python call our operator
        what = _foreign.jax_function_called()
        if what.startswith("jax_array.at"):
            self.__array__()  # refuses, pointing to dnp.index_add
        raise _foreign.foreign(self._trace.engine, what)

    def __bool__(self):
        return bool(concrete(self))

    def __float__(self):
        raise _foreign.dropped(self, "float()")

    def __int__(self):
        # piecewise constant: its derivative is 0 where it exists, so nothing is lost (JAX allows it too,
        # e.g. for a loop count taken from a value)
        return int(concrete(self))

    def __complex__(self):
        raise _foreign.dropped(self, "complex()")

    def item(self):
        raise _foreign.dropped(self, ".item()")

    # NumPy-style methods
    @property
    def T(self):
        return _dnp().transpose(self)

    @property
    def at(self):
        return _IndexUpdate(self)

    def sum(self, axis=None, keepdims=False):
        return _dnp().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _dnp().mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return _dnp().prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _dnp().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _dnp().min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _dnp().reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return _dnp().transpose(self, axes or None)

    def ravel(self):
        return _dnp().ravel(self)

    def flatten(self):
        return _dnp().ravel(self)

    def squeeze(self, axis=None):
        return _dnp().squeeze(self, axis=axis)

    def dot(self, other):
        return _dnp().dot(self, other)

    def astype(self, dtype):
        return _dnp().astype(self, dtype)


class ArrayValue(EngineValue):
    """An engine value that wraps one JAX array, ``value`` (for small engines
    that compute with JAX and only watch or guard what happens)."""

    __slots__ = ("value",)

    def __init__(self, trace: Trace, value):
        self._trace = trace
        self.value = value

    @property
    def shape(self):
        return tuple(jnp.shape(self.value))

    @property
    def dtype(self):
        return jnp.result_type(self.value)

    def __repr__(self):
        return f"{type(self).__name__}({self.value!r})"


class _IndexUpdate:
    """``x.at[index].add(y)`` on engine values, as on JAX arrays."""

    def __init__(self, value):
        self._value = value

    def __getitem__(self, index):
        return _IndexUpdateRef(self._value, index)


class _IndexUpdateRef:
    def __init__(self, value, index):
        self._value, self._index = value, index

    def add(self, update):
        return _dnp().index_add(self._value, self._index, update)

    def set(self, update):
        return _dnp().index_set(self._value, self._index, update)

    def multiply(self, update):
        return _dnp().index_multiply(self._value, self._index, update)

    def min(self, update):
        return _dnp().index_min(self._value, self._index, update)

    def max(self, update):
        return _dnp().index_max(self._value, self._index, update)


# the NumPy ufuncs that Python's operators call when a NumPy array is the left operand
_OPERATORS = {name: name for name in ("add", "subtract", "multiply", "divide", "power", "matmul", "less",
                                      "less_equal", "greater", "greater_equal", "equal", "not_equal")}
_OPERATORS["true_divide"] = "divide"


def _dnp():
    # late import (diffcompare.numpy imports this module), looked up once: operators call it on every use
    global _dnp_module
    if _dnp_module is None:
        from . import numpy as dnp

        _dnp_module = dnp
    return _dnp_module


_dnp_module = None
