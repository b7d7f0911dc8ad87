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


class ShapeMismatchError(DiffCompareError, ValueError):
    """Two things that must have the same shape or structure do not."""


class NonScalarOutputError(DiffCompareError, TypeError):
    """``grad`` was given a function whose output is not a scalar."""


class InvalidOptionError(DiffCompareError, ValueError):
    """A keyword option has a value the method does not accept."""


class InvalidInputError(DiffCompareError, TypeError):
    """An input cannot be differentiated (an integer array, a string, ...)."""


class PrecisionWarning(UserWarning):
    """float64 accuracy was asked for while JAX computes in float32."""
