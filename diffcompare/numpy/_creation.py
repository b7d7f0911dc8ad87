"""Arrays made from shapes and numbers: constants to every engine, except where a fill value
or an endpoint is an engine value (``full``, ``linspace``, ``asarray`` of a list of values)."""

from __future__ import annotations

import builtins

import jax.numpy as jnp
import numpy as _np

from .. import _core
from ..errors import InvalidOptionError
from ._bound import astype, broadcast_to, concatenate, power, reshape, stack
from ._normalise import _broadcast, _dtype, _one_axis, _shape, composite


@composite(jnp.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """``num`` evenly spaced values from ``start`` to ``stop``; the endpoints may be engine values
    (JAX's formula start * (1 - t) + stop * t, so the endpoints are exact)."""
    if num < 0:
        raise InvalidOptionError(f"linspace: num must be non-negative, got {num}")
    bounds = _broadcast("linspace", start, stop)
    start, stop = broadcast_to(start, bounds), broadcast_to(stop, bounds)
    axis = _one_axis(axis, len(bounds) + 1, "linspace")
    lifted = bounds[:axis] + (1,) + bounds[axis:]
    div = num - 1 if endpoint else num
    real_dtype = jnp.result_type(_dtype(start), _dtype(stop), float)
    if num > 1:
        t = jnp.reshape(jnp.arange(div, dtype=real_dtype) / jnp.asarray(div, real_dtype),
                        tuple(div if i == axis else 1 for i in range(len(lifted))))
        out = reshape(start, lifted) * (1 - t) + reshape(stop, lifted) * t
        if endpoint:
            out = concatenate([out, reshape(stop, lifted)], axis=axis)
        step = (stop - start) / div
    elif num == 1:
        out, step = reshape(start, lifted), (jnp.nan if endpoint else stop - start)
    else:  # num = 0: an empty constant, as JAX's (its derivative is empty: nothing flows to the endpoints)
        out = jnp.empty(lifted[:axis] + (0,) + lifted[axis + 1:], real_dtype)
        step = jnp.full((), jnp.nan, real_dtype)
    out = out if dtype is None else astype(out, dtype)
    return (out, step) if retstep else out


@composite(jnp.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """base ** linspace(start, stop): the exponents may be engine values."""
    out = power(base, linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else astype(out, dtype)


def _has_engine_leaf(obj) -> bool:
    if isinstance(obj, (list, tuple)):
        return builtins.any(_has_engine_leaf(o) for o in obj)
    return isinstance(obj, _core.EngineValue)


def asarray(obj, dtype=None):
    """An array from ``obj``; nested lists holding engine values are stacked."""
    if isinstance(obj, _core.EngineValue):
        return obj
    if isinstance(obj, (list, tuple)) and _has_engine_leaf(obj):
        return stack([asarray(o) for o in obj])
    return jnp.asarray(obj, dtype=dtype)

array = asarray


def zeros_like(x, dtype=None):
    return jnp.zeros(_shape(x), dtype or _dtype(x))


def ones_like(x, dtype=None):
    return jnp.ones(_shape(x), dtype or _dtype(x))


def full_like(x, fill_value, dtype=None):
    return full(_shape(x), fill_value, dtype or _dtype(x))


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value``, which may be an engine value (broadcast)."""
    if not _core.any_engine_value(fill_value):
        return jnp.full(shape, fill_value, dtype)
    shape = (shape,) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    filled = broadcast_to(fill_value, shape)
    return filled if dtype is None else astype(filled, dtype)

zeros, ones, eye, arange, tri = jnp.zeros, jnp.ones, jnp.eye, jnp.arange, jnp.tri


#: arrays made from shapes and numbers (constants to every engine)
CREATION = ["zeros", "ones", "full", "eye", "arange", "tri", "zeros_like", "ones_like", "full_like", "asarray",
            "array"]
