"""The errors diffcompare raises on purpose.

Every message names the operation or argument at fault and says what to do
instead. Each class also derives from the built-in exception a Python user
would expect (``ValueError`` for a bad value, ``TypeError`` for a bad type), so
``except ValueError`` keeps working.
"""

from __future__ import annotations


class DiffCompareError(Exception):
    """Base of every error the library raises on purpose."""


class UnsupportedOperationError(DiffCompareError, NotImplementedError):
    """An engine has no rule for an operation.

    Arguments:
        operation: the primitive's name, e.g. ``"abs"``.
        engine: the engine that refused it, e.g. ``"forward"``.
        reason: why, and what to do instead.
    """

    def __init__(self, operation: str, engine: str, reason: str = ""):
        self.operation = operation
        self.engine = engine
        message = f"operation '{operation}' is not supported by the {engine} engine"
        if reason:
            message += f": {reason}"
        super().__init__(message)


class NotComplexSafeError(UnsupportedOperationError):
    """The complex-step scheme met an operation that is not complex-analytic."""

    def __init__(self, operation: str):
        super().__init__(
            operation,
            "complex-step",
            "it is not complex-analytic, so the complex step would return a wrong "
            "derivative; use scheme='central' or 'richardson' for this function",
        )


class ConcretizationError(DiffCompareError, TypeError):
    """Control flow needs a concrete value that the engine does not have."""


class DroppedDerivativeError(ConcretizationError):
    """``float()``, ``complex()``, ``.item()`` or ``math.*`` on a value being differentiated:
    the plain number would silently lose the derivative (JAX refuses these too)."""


class ForeignFunctionError(UnsupportedOperationError):
    """A NumPy or ``jax.numpy`` function was called on a value being differentiated; the message
    names it and says whether ``diffcompare.numpy`` has it."""


class NestingError(DiffCompareError, TypeError):
    """One method was applied over another in a way that cannot work (e.g. any method over the
    JAX reference); the message says which methods nest."""


class LeakedValueError(DiffCompareError, RuntimeError):
    """A value of a derivative that has finished was used: it escaped ``f`` (kept in a list, a
    global or an attribute) while ``f`` was being differentiated, and its derivative is gone.
    The message names the finished derivative and says what to return instead (JAX raises
    ``UnexpectedTracerError`` here). A ``RuntimeError``, not a ``TypeError``: the value is of the right
    type but used at the wrong time (and ``jax.numpy`` would bury a ``TypeError`` under its own)."""

    def __init__(self, origin, used: str = "used"):
        origin = str(origin)  # the finished derivative: a name, or the scope that says it
        self.origin = origin
        super().__init__(
            f"a value of {origin} was {used} after that derivative had finished: it escaped the function "
            "(kept in a list, a global, an attribute or a closure) while the function was being differentiated, "
            "so it carries a derivative that no longer exists. Return it from the function instead (with "
            "has_aux=True, as (output, aux), for a value you only want to look at), or keep a plain array "
            "(compute it from the plain input, or with jax.lax.stop_gradient under JAX). "
            "JAX raises UnexpectedTracerError here."
        )


class ShapeMismatchError(DiffCompareError, ValueError):
    """Two things that must have the same shape or structure do not."""


class SparsityPatternError(DiffCompareError, ValueError):
    """A sparse Jacobian's pattern does not hold at the point where it is evaluated: the function's
    structure differs there (a Python ``if`` on values, state that changed), or the pattern was wrong."""


class NonScalarOutputError(DiffCompareError, TypeError):
    """``grad`` was given a function whose output is not a scalar."""


class InvalidOptionError(DiffCompareError, ValueError):
    """A keyword option has a value the method does not accept."""


class InvalidInputError(DiffCompareError, TypeError):
    """An input cannot be differentiated (an integer array, a string, ...)."""


class InvalidOutputError(InvalidInputError):
    """What ``f`` returned cannot be used: ``has_aux=True`` without an ``(output, aux)`` pair, a
    bool or integer output where a derivative needs a floating-point one. (A subclass of
    :class:`InvalidInputError`, which such errors were before.)"""


class PrecisionWarning(UserWarning):
    """float64 accuracy was asked for while JAX computes in float32."""


#: the working precisions a user chooses by name (the CLI, experiments, the checker, benchmarks): one home
DTYPES = ("float64", "float32")


def dtype_name(dtype, what: str = "dtype") -> str:
    """The name of a working precision, ``"float64"`` or ``"float32"``; anything else (a NumPy or JAX
    dtype of those two is fine) is refused with an :class:`InvalidOptionError` that names ``what``.

    Example:
        >>> dtype_name(numpy.float32)
        'float32'
    """
    import numpy as np

    try:
        name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        name = None
    if name not in DTYPES:
        raise InvalidOptionError(f"{what}: unknown dtype {dtype!r}; choose float64 or float32")
    return name


def unknown_name(kind: str, name: str, choices) -> InvalidOptionError:
    """The error for a name that is not among ``choices``: "did you mean" the closest ones, then all of them.

    Example:
        >>> str(unknown_name("experiment", "fd_stpe", ["fd_step", "swell"]))
        "unknown experiment 'fd_stpe'; did you mean fd_step? (choose one of fd_step, swell)"
    """
    import difflib

    choices = list(choices)
    close = difflib.get_close_matches(name.replace("-", "_"), [c.replace("-", "_") for c in choices], n=3, cutoff=0.6)
    shown = [c for c in choices if c.replace("-", "_") in close]
    hint = f"did you mean {' or '.join(shown)}? " if shown else ""
    return InvalidOptionError(f"unknown {kind} {name!r}; {hint}(choose one of {', '.join(choices)})")
