"""``from_jax(f)``: a plain JAX function, traced to a jaxpr and evaluated with ``diffcompare.numpy``."""

from __future__ import annotations

import collections
import functools
import types

import jax
import jax.numpy as jnp
import numpy as np

from .._core import EngineValue
from ..errors import ConcretizationError
from .interpreter import eval_closed

_TRACE_ERRORS = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerBoolConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerArrayConversionError,
)


def _is_dynamic(leaf) -> bool:
    """Arrays, floats and engine values are traced; ints, bools, strings and other objects are static."""
    if isinstance(leaf, (EngineValue, jax.Array, np.ndarray, np.generic)):
        return True
    return isinstance(leaf, (float, complex)) and not isinstance(leaf, bool)


def _spec(leaf) -> jax.ShapeDtypeStruct:
    if isinstance(leaf, EngineValue):
        return jax.ShapeDtypeStruct(tuple(leaf.shape), leaf.dtype)
    if isinstance(leaf, (float, complex)):
        return jax.ShapeDtypeStruct((), jnp.result_type(leaf), weak_type=True)
    return jax.ShapeDtypeStruct(jnp.shape(leaf), jnp.result_type(leaf))


def _aval_key(leaf) -> tuple:
    """(shape, dtype, weak) of a traced leaf: the cache key's part (cheaper than a ShapeDtypeStruct)."""
    if isinstance(leaf, (float, complex)):
        return ((), type(leaf).__name__, True)
    array = getattr(leaf, "value", leaf)  # a tape node's array: its shape and dtype are plain attributes
    if not isinstance(array, (jax.Array, np.ndarray, np.generic)):
        array = leaf
    return (array.shape, array.dtype, False)


def _static_key(leaf):
    try:
        hash(leaf)
        return (type(leaf).__name__, leaf)
    except TypeError:
        return ("id", id(leaf))


class Traced(collections.namedtuple("Traced", "jaxpr out_tree")):
    """One traced program: the ``ClosedJaxpr`` and the output structure.
    (``jaxpr`` None: JAX could not trace the function, and ``out_tree`` is the error saying why.)"""


class FromJax:
    """A JAX function that every method can differentiate (see :func:`from_jax`).

    Attributes:
        fun: the wrapped JAX function.
        jaxpr: the program traced at the latest call's shapes (``print`` it).
    """

    def __init__(self, fun):
        if isinstance(fun, FromJax):
            fun = fun.fun
        functools.update_wrapper(self, fun, updated=())
        if not hasattr(self, "__name__"):
            self.__name__ = type(fun).__name__
        self.fun = fun
        self._last_call = None

    # ------------------------------------------------------------ calling

    def __call__(self, *args, **kwargs):
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs))
        if not any(isinstance(leaf, EngineValue) for leaf in leaves):
            self._last_call = (leaves, treedef)
            return self.fun(*args, **kwargs)  # plain arrays and JAX tracers: JAX computes f itself
        traced = self._traced(leaves, treedef)
        self._last_call = (leaves, treedef)
        if traced.jaxpr is None:  # JAX could not trace it; it runs on engine values (diffcompare.numpy code)
            return self._direct(traced, args, kwargs)
        outs = eval_closed(traced.jaxpr, [leaf for leaf in leaves if _is_dynamic(leaf)])
        return jax.tree_util.tree_unflatten(traced.out_tree, outs)

    def _traced(self, leaves, treedef) -> Traced:
        """``fun`` traced afresh at this call: every global, closure cell, attribute and nested value it
        reads is read as it is now (a cache keyed on that state could never be complete)."""
        try:
            return self.trace_at(leaves, treedef)
        except ConcretizationError as err:
            return Traced(None, err)

    def trace_at(self, leaves, treedef) -> Traced:
        """Trace ``fun`` at the shapes and dtypes of the flattened arguments ``(args, kwargs)``."""
        dynamic = [i for i, leaf in enumerate(leaves) if _is_dynamic(leaf)]
        store = {}

        def flat(*values):
            full = list(leaves)
            for i, v in zip(dynamic, values):
                full[i] = v
            args, kwargs = jax.tree_util.tree_unflatten(treedef, full)
            out_leaves, store["out_tree"] = jax.tree_util.tree_flatten(self.fun(*args, **kwargs))
            return out_leaves

        try:
            closed = jax.make_jaxpr(flat)(*[_spec(leaves[i]) for i in dynamic])
        except _TRACE_ERRORS as err:
            raise ConcretizationError(
                f"from_jax could not trace {self.__name__}: it uses Python control flow or a conversion "
                "(if/while on a value, float(), int(), np.asarray) on an input-dependent value, which JAX "
                "cannot trace (jax.jit refuses it too). Write the branch with jax.lax.cond, jax.lax.while_loop "
                "or jnp.where, or write the function with diffcompare.numpy and give it to the method directly "
                f"(forward and reverse mode follow Python control flow). JAX said: {str(err).splitlines()[0]}"
            ) from err
        return Traced(closed, store["out_tree"])

    def _direct(self, failed: Traced, args, kwargs):
        """Python control flow on inputs, which JAX cannot trace: call ``fun`` on the engine values
        themselves, which works when it is written with ``diffcompare.numpy``; otherwise say why."""
        try:
            return self.fun(*args, **kwargs)
        except Exception as err:
            raise ConcretizationError(str(failed.out_tree)) from err

    # ------------------------------------------------------------ showing the program

    def make_jaxpr(self, *args, **kwargs):
        """The ``ClosedJaxpr`` of ``fun`` at the shapes and dtypes of ``args`` (print it)."""
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs))
        return self.trace_at(leaves, treedef).jaxpr

    @property
    def jaxpr(self):
        """The program traced at the latest call's shapes and dtypes (``print(f.jaxpr)``)."""
        if self._last_call is None:
            from ..errors import InvalidOptionError

            raise InvalidOptionError(
                f"from_jax({self.__name__}).jaxpr: call the function once first (or use .make_jaxpr(*args)), "
                "so that the shapes to trace at are known")
        traced = self._traced(*self._last_call)
        if traced.jaxpr is None:
            raise traced.out_tree
        return traced.jaxpr

    def __repr__(self) -> str:
        return f"from_jax({getattr(self.fun, '__name__', self.fun)!r})"

    def __get__(self, obj, objtype=None):  # usable as a method, like a function
        return self if obj is None else types.MethodType(self, obj)


def from_jax(fun) -> FromJax:
    """Make a plain JAX function differentiable by every method of :data:`diffcompare.METHODS`.

    ``from_jax(f)`` traces ``f`` with ``jax.make_jaxpr`` at its arguments' shapes
    and dtypes (pytrees in and out) and evaluates the jaxpr with
    ``diffcompare.numpy``, one equation at a time, through one table from JAX's
    primitives to ours (:mod:`diffcompare.from_jax.table`). So forward mode sees
    dual numbers, reverse mode records its tape and symbolic differentiation
    builds expressions, from code that only ever imported ``jax.numpy``. On plain
    arrays and JAX tracers (finite differences, the JAX reference, ``jax.jit``)
    it simply calls ``f``.

    ``f`` is traced afresh at every call, so every global, closure cell,
    attribute and nested value it reads is read as it is now: a result is never
    stale (a compiled derivative of it, e.g. symbolic's, is cached by the
    structure of the trace, with the values passed in).

    Arguments:
        fun: a function of arrays and pytrees of arrays written with JAX
            (``jax.numpy``, ``jax.nn``, ``jax.lax``, ``jax.jit``-ed helpers, equinox models, ...).
    Returns:
        A :class:`FromJax`, callable like ``fun``; ``.jaxpr`` shows the traced program.
    Raises:
        UnsupportedJaxPrimitiveError: a primitive the table does not map met a
            differentiated value (the message names it and the line of ``fun``).
        ConcretizationError: ``fun`` has Python control flow on traced values.
    Example:
        >>> import jax.numpy as jnp
        >>> from diffcompare import METHODS, from_jax
        >>> f = from_jax(lambda x: jnp.sum(jnp.tanh(x) ** 2))
        >>> METHODS["reverse"].grad(f)(jnp.arange(3.0))
    """
    return FromJax(fun)
