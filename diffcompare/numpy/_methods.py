"""The value methods: what Python's operators, ``.T``, ``.sum()``, ``.at[]`` and NumPy do to an engine value.

:class:`~diffcompare._core.EngineValue` carries no arithmetic of its own (as
autograd's ``Box``); the function language gives it its operators when it is
imported, as autograd's ``numpy_boxes`` gives ``ArrayBox`` ``__add__ = anp.add``
and JAX installs ``jax.Array``'s methods from ``array_methods``. An operator is
the ``dnp`` function itself (``x + y`` is ``dnp.add(x, y)``), so every engine
value, nested or not, dispatches through :func:`~diffcompare._core.bind`.

Comparisons act on concrete values, as in JAX outside jit. Turning an engine
value into a plain number or array (``float()``, ``.item()``, ``numpy.f``,
``jax.numpy.f``) would drop its derivative silently: those refuse, and
:mod:`diffcompare._foreign` writes the message.
"""

from __future__ import annotations

import sys

from .. import _foreign
from .._core import EngineValue, check_alive
from ..errors import UnsupportedOperationError
from ._bound import (
    abs,
    add,
    astype,
    divide,
    getitem,
    index_add,
    matmul,
    max,
    min,
    multiply,
    negative,
    power,
    prod,
    reshape,
    subtract,
    sum,
    transpose,
)
from ._composites import dot, mean, remainder
from ._nondifferentiable import equal, floor_divide, greater, greater_equal, less, less_equal, not_equal
from ._normalise import ndim, shape, size
from ._shapes import index_max, index_min, index_multiply, index_set, ravel, squeeze


class ValueMethods:
    """The methods :func:`install` copies onto ``EngineValue`` (this class is never instantiated)."""

    # arithmetic: the dnp functions themselves, with the operands in Python's order
    __add__ = add
    __sub__ = subtract
    __mul__ = multiply
    __truediv__ = divide
    __pow__ = power
    __mod__ = remainder  # JAX's ``%`` is jnp.remainder (the sign of the divisor), as NumPy's
    __floordiv__ = floor_divide
    __matmul__ = matmul
    __neg__ = negative
    __abs__ = abs
    __getitem__ = getitem

    def __radd__(self, other):
        return add(other, self)

    def __rsub__(self, other):
        return subtract(other, self)

    def __rmul__(self, other):
        return multiply(other, self)

    def __rtruediv__(self, other):
        return divide(other, self)

    def __rpow__(self, other):
        return power(other, self)

    def __rmod__(self, other):
        return remainder(other, self)

    def __rfloordiv__(self, other):
        return floor_divide(other, self)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __rmod__(self, other):
        return remainder(other, self)

    def __rfloordiv__(self, other):
        return floor_divide(other, self)

    def __divmod__(self, other):
        return _divmod(self, other)

    def __rdivmod__(self, other):
        return _divmod(other, self)

    def __pos__(self):
        return self

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # comparisons act on concrete values, as in JAX outside jit (symbolic keeps them as conditions)
    __lt__ = less
    __le__ = less_equal
    __gt__ = greater
    __ge__ = greater_equal
    __eq__ = equal
    __ne__ = not_equal
    __hash__ = object.__hash__  # engines keep values in id-keyed tables

    # Turning an engine value into a plain array or number would silently drop its derivative: refuse.
    def __array__(self, dtype=None, copy=None):
        check_alive(self, "converted to a NumPy/JAX array")
        raise UnsupportedOperationError(
            "conversion to a NumPy/JAX array",
            self._trace.engine,
            "the derivative would be lost; write the function with diffcompare.numpy (dnp) instead of "
            "numpy or jax.numpy, and use dnp.index_add(x, i, y) for x.at[i].add(y) on a plain array",
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        check_alive(self, f"passed to numpy.{ufunc.__name__}")
        if method == "__call__" and not kwargs and ufunc.__name__ in _OPERATORS:
            # numpy_array <op> value: NumPy hands Python's operators to us
            return _OPERATORS[ufunc.__name__](*inputs)
        called = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        raise _foreign.foreign(self._trace.engine, called)

    def __array_function__(self, func, types, args, kwargs):
        check_alive(self, f"passed to numpy.{func.__name__}")
        if func.__name__ in _SHAPE_FUNCTIONS:
            return _SHAPE_FUNCTIONS[func.__name__](*args, **kwargs)
        raise _foreign.foreign(self._trace.engine, f"numpy.{func.__name__}")

    @property
    def __jax_array__(self):
        if sys._getframe(1).f_code.co_name.startswith("_operator_"):
            raise AttributeError("__jax_array__")  # jax_array <op> value: let Python call our operator
        check_alive(self, "passed to a jax.numpy function")
        what = _foreign.jax_function_called()
        if what.startswith("jax_array.at"):
            self.__array__()  # refuses, pointing to dnp.index_add
        raise _foreign.foreign(self._trace.engine, what)

    def __float__(self):
        check_alive(self, "converted with float()")
        raise _foreign.dropped(self, "float()")

    def __complex__(self):
        check_alive(self, "converted with complex()")
        raise _foreign.dropped(self, "complex()")

    def item(self):
        check_alive(self, "converted with .item()")
        raise _foreign.dropped(self, ".item()")

    # NumPy-style methods
    @property
    def T(self):
        return transpose(self)

    @property
    def at(self):
        return _IndexUpdate(self)

    def sum(self, axis=None, keepdims=False):
        return sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return transpose(self, axes or None)

    def ravel(self):
        return ravel(self)

    def flatten(self):
        return ravel(self)

    def squeeze(self, axis=None):
        return squeeze(self, axis=axis)

    def dot(self, other):
        return dot(self, other)

    def astype(self, dtype):
        return astype(self, dtype)


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
        return index_add(self._value, self._index, update)

    def set(self, update):
        return index_set(self._value, self._index, update)

    def multiply(self, update):
        return index_multiply(self._value, self._index, update)

    def min(self, update):
        return index_min(self._value, self._index, update)

    def max(self, update):
        return index_max(self._value, self._index, update)


def _divmod(x1, x2):
    # jnp.divmod: (floor_divide, remainder); the quotient is piecewise constant (derivative 0)
    return floor_divide(x1, x2), remainder(x1, x2)


#: the NumPy ufuncs that Python's operators call when a NumPy array is the left operand
_OPERATORS = {"add": add, "subtract": subtract, "multiply": multiply, "divide": divide, "true_divide": divide,
              "power": power, "remainder": remainder, "floor_divide": floor_divide, "divmod": _divmod,
              "matmul": matmul, "less": less, "less_equal": less_equal, "greater": greater,
              "greater_equal": greater_equal, "equal": equal, "not_equal": not_equal}
#: the NumPy functions that only read a value's shape
_SHAPE_FUNCTIONS = {"shape": shape, "ndim": ndim, "size": size}


def install(cls: type = EngineValue) -> None:
    """Give ``cls`` (the engines' common base) the operators and methods above."""
    for name, member in vars(ValueMethods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__firstlineno__",
                        "__static_attributes__"):
            setattr(cls, name, member)
