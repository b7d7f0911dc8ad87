"""The non-differentiable helpers: comparisons, ``sign``, rounding, ``argmax``, ...

Each runs ``jax.numpy`` on the concrete values and has derivative 0, as in JAX
(they are piecewise constant). Comparisons are the one exception: an engine
that keeps conditions as expressions (symbolic's piecewise nodes; its trace
has ``compare``) gets them as expressions.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

from .. import _core
from ._normalise import NONDIFFERENTIABLE, _nondiff


def _comparison(name, jax_fn):
    """A comparison: on concrete values as JAX does, except on an engine that keeps conditions
    as expressions (symbolic's piecewise nodes: its trace has ``compare``)."""
    on_values = _nondiff(name, jax_fn)

    @functools.wraps(jax_fn)
    def compare(x1, x2):
        trace = _core.top_trace((x1, x2))
        if trace is not None and hasattr(trace, "compare"):
            return trace.compare(name, x1, x2)
        return on_values(x1, x2)

    compare.__name__ = name
    compare.__doc__ = on_values.__doc__
    NONDIFFERENTIABLE[name] = compare
    return compare

less = _comparison("less", jnp.less)
less_equal = _comparison("less_equal", jnp.less_equal)
greater = _comparison("greater", jnp.greater)
greater_equal = _comparison("greater_equal", jnp.greater_equal)
equal = _comparison("equal", jnp.equal)
not_equal = _comparison("not_equal", jnp.not_equal)
logical_and = _nondiff("logical_and", jnp.logical_and)
logical_or = _nondiff("logical_or", jnp.logical_or)
logical_not = _nondiff("logical_not", jnp.logical_not)
sign = _nondiff("sign", jnp.sign)
floor = _nondiff("floor", jnp.floor)
ceil = _nondiff("ceil", jnp.ceil)
round = _nondiff("round", jnp.round)
isfinite = _nondiff("isfinite", jnp.isfinite)
isnan = _nondiff("isnan", jnp.isnan)
isinf = _nondiff("isinf", jnp.isinf)
trunc = _nondiff("trunc", jnp.trunc)
floor_divide = _nondiff("floor_divide", jnp.floor_divide)
argsort = _nondiff("argsort", jnp.argsort)
argmax = _nondiff("argmax", jnp.argmax)
argmin = _nondiff("argmin", jnp.argmin)
any = _nondiff("any", jnp.any)
all = _nondiff("all", jnp.all)
