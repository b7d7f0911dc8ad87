"""The non-differentiable helpers: comparisons, ``sign``, rounding, ``argmax``, ...

Each runs ``jax.numpy`` on the concrete values and has derivative 0, as in JAX
(they are piecewise constant). Comparisons and the piecewise-constant
functions (``sign``, ``floor``, ``ceil``, ``round``, ``trunc``) are the exception:
an engine that has no values and keeps them as expressions (symbolic: its trace
has ``compare`` and ``step``) gets them as expressions.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

from .. import _core
from ._normalise import NONDIFFERENTIABLE, _nondiff


def _expressible(name, jax_fn, hook: str, arity: int):
    """On concrete values as JAX does, except on an engine that has no values and keeps the result as an
    expression (symbolic: its trace has the method ``hook``): a comparison (``compare``: a condition for
    ``where``, symbolic's piecewise nodes) or a piecewise-constant function (``step``: derivative 0)."""
    on_values = _nondiff(name, jax_fn)

    @functools.wraps(jax_fn)
    def wrapper(*args, **kwargs):
        trace = _core.top_trace(args)
        plain = len(args) == arity and set(kwargs) <= {"decimals"} and not kwargs.get("decimals")
        if plain and trace is not None and hasattr(trace, hook):
            return getattr(trace, hook)(name, *args)
        return on_values(*args, **kwargs)  # round(x, 2) too: its value is needed

    wrapper.__name__ = name
    wrapper.__doc__ = on_values.__doc__
    NONDIFFERENTIABLE[name] = wrapper
    return wrapper


def _comparison(name, jax_fn):
    return _expressible(name, jax_fn, "compare", 2)


def _step(name, jax_fn):
    return _expressible(name, jax_fn, "step", 1)


less = _comparison("less", jnp.less)
less_equal = _comparison("less_equal", jnp.less_equal)
greater = _comparison("greater", jnp.greater)
greater_equal = _comparison("greater_equal", jnp.greater_equal)
equal = _comparison("equal", jnp.equal)
not_equal = _comparison("not_equal", jnp.not_equal)
logical_and = _nondiff("logical_and", jnp.logical_and)
logical_or = _nondiff("logical_or", jnp.logical_or)
logical_not = _nondiff("logical_not", jnp.logical_not)
sign = _step("sign", jnp.sign)
floor = _step("floor", jnp.floor)
ceil = _step("ceil", jnp.ceil)
round = _step("round", jnp.round)
isfinite = _nondiff("isfinite", jnp.isfinite)
isnan = _nondiff("isnan", jnp.isnan)
isinf = _nondiff("isinf", jnp.isinf)
trunc = _step("trunc", jnp.trunc)
_floor_divide_values = _nondiff("floor_divide", jnp.floor_divide)


@functools.wraps(jnp.floor_divide)
def floor_divide(x1, x2):
    trace = _core.top_trace((x1, x2))
    if trace is not None and hasattr(trace, "step"):  # no values (symbolic): floor(x1 / x2) as an expression
        return trace.step("floor", x1 / x2)
    return _floor_divide_values(x1, x2)


floor_divide.__name__ = "floor_divide"
NONDIFFERENTIABLE["floor_divide"] = floor_divide
argsort = _nondiff("argsort", jnp.argsort)
argmax = _nondiff("argmax", jnp.argmax)
argmin = _nondiff("argmin", jnp.argmin)
any = _nondiff("any", jnp.any)
all = _nondiff("all", jnp.all)
