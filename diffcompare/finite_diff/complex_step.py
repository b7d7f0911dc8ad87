"""The complex step's guard: complex inputs that refuse non-analytic operations.

The complex step reads f'(x) from Im f(x + ih) / h. That is right only if every
operation of ``f`` is complex-analytic: ``abs``, ``max``, comparisons and
branches are not (``abs`` of a complex number is its modulus, and the
imaginary part is lost). So the perturbed inputs are wrapped in
:class:`ComplexStepValue`, a tiny engine whose table holds the analytic
primitives only; anything else raises ``NotComplexSafeError`` naming the
operation, instead of returning a wrong number.
"""

from __future__ import annotations

import linecache
import re
import traceback

import jax
import jax.numpy as jnp

from .. import _core
from .._core import ArrayValue, Trace, concrete
from ..errors import ForeignFunctionError, NotComplexSafeError, UnsupportedOperationError
from ..primitives import PRIMITIVES, register_engine

# jax.numpy's function names where they differ from diffcompare.numpy's
_ALIASES = {"absolute": "abs", "amax": "max", "amin": "min"}
_NOT_ANALYTIC = {
    "abs": "the modulus of a complex number drops its imaginary part",
    "relu": "a comparison with 0 is not analytic",
    "maximum": "a comparison is not analytic",
    "minimum": "a comparison is not analytic",
    "max": "a comparison is not analytic",
    "min": "a comparison is not analytic",
}
_NOT_ANALYTIC.update({name: p.not_analytic for name, p in PRIMITIVES.items() if p.not_analytic})


def _lower(value):
    return value.value if isinstance(value, ComplexStepValue) else value


def _shifted(x, axis):
    # shift by the real part's maximum: a constant, so the identity stays analytic
    return jax.lax.stop_gradient(jnp.max(jnp.real(x), axis=axis, keepdims=True))


def _logsumexp(x, *, axis, keepdims):
    c = _shifted(x, axis)
    out = jnp.log(jnp.sum(jnp.exp(x - c), axis=axis, keepdims=True)) + c
    return out if keepdims else jnp.squeeze(out, axis=axis)


def _softmax(x, *, axis):
    z = jnp.exp(x - _shifted(x, axis))
    return z / jnp.sum(z, axis=axis, keepdims=True)


_IMPL = {name: p.impl for name, p in PRIMITIVES.items() if name not in _NOT_ANALYTIC}
_IMPL.update(logsumexp=_logsumexp, softmax=_softmax, stop_gradient=jnp.real)  # no perturbation past stop_gradient


class ComplexStepTrace(Trace):
    engine = "complex-step"
    unsupported = _NOT_ANALYTIC

    def process(self, prim, operands, params):
        if prim.name in _NOT_ANALYTIC:
            raise NotComplexSafeError(prim.name)
        lowered = jax.tree_util.tree_map(_lower, operands, is_leaf=lambda v: isinstance(v, ComplexStepValue))
        if _core.top_trace(lowered) is not None:  # older engines' values inside: let them handle it
            return ComplexStepValue(self, _core.bind(prim, *lowered, **params))
        if prim.variadic:
            return ComplexStepValue(self, _IMPL[prim.name](list(lowered[0]), **params))
        return ComplexStepValue(self, _IMPL[prim.name](*lowered, **params))

    def concrete(self, value):
        raise NotComplexSafeError("comparison or bool()/float() on a perturbed value")


class ComplexStepValue(ArrayValue):
    """A complex array on its way through ``f`` under the complex step."""

    __slots__ = ()


_LIBRARY_CALL = re.compile(r"\b(jax\.numpy|jnp|numpy|np|onp)\.(\w+)\s*\(")


def _refusal(err: Exception) -> UnsupportedOperationError:
    """The error for a jax.numpy or NumPy function that met a perturbed value: JAX's own
    message names no function, so name the line of ``f`` that called it."""
    frames = [(frame, line) for frame, line in traceback.walk_tb(err.__traceback__)
              if not frame.f_globals.get("__name__", "").startswith(("jax", "numpy", "diffcompare."))]
    calls, where = [], "a jax.numpy or NumPy function"
    if frames:
        frame, line = frames[-1]
        source = linecache.getline(frame.f_code.co_filename, line).strip()
        calls = [(module, _ALIASES.get(n, n)) for module, n in _LIBRARY_CALL.findall(source)]
        where = f"`{source}` ({frame.f_code.co_filename}:{line})"
    names = [n for _, n in calls]
    unsafe = [f"{module}.{n}" for module, n in calls if n in _NOT_ANALYTIC]
    if unsafe:
        return NotComplexSafeError(f"{unsafe[0]} in {where}")
    return UnsupportedOperationError(
        f"jax.numpy/NumPy call in {where}", "complex-step",
        "the complex step follows diffcompare.numpy only; write the function with diffcompare.numpy "
        f"(import diffcompare.numpy as dnp; {', '.join(f'dnp.{n}' for n in names) or 'dnp.sin, dnp.sum, ...'})",
    )


def evaluate(f, args, selection, diff):
    """Run ``f`` with the perturbed (complex) arguments ``diff`` wrapped, so that
    a non-analytic operation raises; return the output as plain arrays."""
    trace = ComplexStepTrace()
    wrapped = jax.tree_util.tree_map(lambda leaf: ComplexStepValue(trace, leaf), diff)
    try:
        out = f(*selection.rebuild(args, wrapped))
    except ForeignFunctionError as err:  # jax.numpy or NumPy met a perturbed value: non-analytic ones first
        refusal = _refusal(err)
        if isinstance(refusal, NotComplexSafeError):
            raise refusal from None
        raise
    except (TypeError, ValueError) as err:  # jax.numpy or NumPy met a ComplexStepValue: name the function
        if "ComplexStepValue" not in str(err):
            raise
        raise _refusal(err) from None
    return jax.tree_util.tree_map(
        lambda v: v.value if isinstance(v, ComplexStepValue) else jnp.asarray(concrete(v)),
        out,
        is_leaf=lambda v: isinstance(v, ComplexStepValue),
    )


register_engine("complex-step", {name: "jax.numpy on complex values" for name in _IMPL}, _NOT_ANALYTIC)
