"""The core: traces, ``bind``, concrete values, and the engines' abstract value.

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

import functools
import itertools
import threading
from typing import Any

import jax
import jax.numpy as jnp

from .errors import LeakedValueError, UnsupportedOperationError
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
    done = None  # (set per trace in __init__; here for a subclass that does not call it)

    def __init_subclass__(cls, register: bool | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if register is None:  # the library's engines with their own table (a toy engine in a test or notebook
            # is left out unless it asks with ``class MyTrace(Trace, register=True)``)
            register = "rules" in cls.__dict__ and cls.__module__.startswith(__package__ + ".")
        if register:
            register_engine(cls.engine, cls.rules, cls.unsupported)

    def __init__(self):
        self.level = next(_trace_counter)
        #: None while the derivative that made this trace runs; then its :class:`Scope` (which says
        #: "reverse.grad of 'f'"): a value of a finished trace that is used again has leaked
        self.done = None
        scopes = _RUNNING.scopes
        if scopes:
            scopes[-1].traces.append(self)

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
    """The trace of the innermost engine among ``operands`` (lists and tuples are searched), or None.

    A value of a finished derivative (one that leaked out of ``f``) is refused here, so no operation
    can mix it into a new computation (:class:`~diffcompare.errors.LeakedValueError`).
    """
    top = None
    for value in operands:
        if isinstance(value, EngineValue):
            trace = value._trace
            if trace.done is not None:
                raise LeakedValueError(trace.done)
        elif isinstance(value, (list, tuple)):
            trace = top_trace(value)
        else:
            continue
        if trace is not None and (top is None or trace.level > top.level):
            top = trace
    return top


class Scope:
    """One call of a derivative (``reverse.grad of 'f'``): the traces made while it runs are marked
    finished when it returns, so a value that escaped ``f`` is refused wherever it is used later,
    as JAX refuses a leaked tracer. Used as ``with Scope(name, f): ...``; cheap (a list push/pop)."""

    __slots__ = ("method", "f", "traces")

    def __init__(self, method: str, f=None):
        self.method, self.f = method, f  # the name is spelt out only for a message
        self.traces: list[Trace] | tuple = []

    def __str__(self) -> str:
        return self.method if self.f is None else f"{self.method} of {function_name(self.f)!r}"

    def __enter__(self):
        _RUNNING.scopes.append(self)
        return self

    def __exit__(self, *exc):
        _RUNNING.scopes.pop()
        for trace in self.traces:
            trace.done = self
        self.traces = ()  # no cycle scope -> trace -> scope: a finished tape is freed at once, not by the GC
        return False

    @staticmethod
    def check_result(result):
        """Refuse a result that holds a finished derivative's value (``f`` returned a leaked value, or
        one of this call's own values escaped); the result is returned as it is otherwise."""
        if type(result) is tuple:
            for part in result:
                if type(part) is not ArrayImpl:
                    break
            else:
                return result  # (value, gradient) of arrays: nothing to look through
        if type(result) is not ArrayImpl:
            top_trace(jax.tree_util.tree_leaves(result))
        return result


class _Running(threading.local):
    """The derivatives running now in this thread, innermost last (another thread's traces are not theirs)."""

    def __init__(self):
        self.scopes: list[Scope] = []


_RUNNING = _Running()


def function_name(f) -> str:
    """The name a message uses for ``f`` (through ``functools.partial`` and callable objects)."""
    while isinstance(f, functools.partial):
        f = f.func
    return getattr(f, "__name__", type(f).__name__)


def check_alive(value, used: str = "used") -> None:
    """Refuse ``value`` if its derivative has finished (it leaked out of ``f``): ``used`` says how."""
    done = value._trace.done
    if done is not None:
        raise LeakedValueError(done, used)


def new_level() -> int:
    """A level above every trace made so far: traces made later are newer (inner) than it."""
    return next(_trace_counter)


def bind(prim: Primitive, *operands, **params):
    """Apply ``prim``: on JAX arrays with JAX, otherwise with the innermost engine."""
    trace = top_trace(operands)
    if trace is None:
        if prim.variadic:
            return prim.impl(list(operands[0]), **params)
        return prim.impl(*operands, **params)
    return trace.process(prim, operands, params)


def refuse_complex_value(engine: str, operation: str, value) -> None:
    """Refuse a complex value made from a value being differentiated (by ``1j * x``, a complex constant
    array, a cast): the forward and reverse engines' rules are written for real values, and JAX's
    conventions through ``real``, ``imag``, ``conj`` and ``abs`` would come out wrong, not refused."""
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "kind", None) == "c":
        raise UnsupportedOperationError(
            operation, engine,
            f"it made a complex value ({dtype}) from a value being differentiated; the {engine} engine "
            "differentiates real functions through real values only (its rules for real, imag, conj and abs "
            "assume real arguments): write the real and imaginary parts as separate real arrays, or use "
            "diffcompare.finite_diff, which evaluates f as a black box")


def concrete(value):
    """Strip every engine layer from ``value`` and return the array it stands for.

    Symbolic expressions have no concrete value and raise ``ConcretizationError``;
    the complex step refuses with ``NotComplexSafeError``.
    """
    while isinstance(value, EngineValue):
        trace = value._trace
        if trace.done is not None:
            raise LeakedValueError(trace.done)
        value = trace.concrete(value)
    return value


def is_engine_value(value) -> bool:
    return isinstance(value, EngineValue)


def any_engine_value(*trees) -> bool:
    """True if an engine value occurs anywhere in ``trees`` (lists and tuples are searched)."""
    return top_trace(trees) is not None


class EngineValue:
    """Base of every engine's values: abstract, with no arithmetic of its own.

    Subclasses set ``_trace`` and provide ``shape`` and ``dtype``. ``bool()``
    and ``int()`` use the concrete value, as JAX does outside jit, so
    value-dependent ``if``, ``while`` and loop counts work (derivative 0, like
    JAX: they are piecewise constant). Python's operators, the NumPy-style
    methods, ``.at[]`` and the refusals of ``float()``, NumPy and ``jax.numpy``
    are installed by the function language, :mod:`diffcompare.numpy._methods`
    (as autograd's ``numpy_boxes`` gives ``ArrayBox`` its operators).
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

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

    def __bool__(self):
        return bool(concrete(self))

    def __int__(self):
        # piecewise constant: its derivative is 0 where it exists, so nothing is lost (JAX allows it too,
        # e.g. for a loop count taken from a value)
        return int(concrete(self))


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
