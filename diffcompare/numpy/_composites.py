"""Arithmetic, statistics and linear-algebra composites, built from the primitives.

``mean`` is ``sum`` over a count, ``dot`` is ``matmul`` (or an einsum past 2-d),
``norm`` is ``sqrt(sum(x * x))``, ... : a docstring or comment on each says how.
On plain arrays each runs JAX's own function (:func:`~._normalise.composite`).
"""

from __future__ import annotations

import builtins
import math
import types

import jax
import jax.numpy as jnp
import numpy as _np

from .. import _core
from .._core import concrete
from ..errors import ShapeMismatchError, UnsupportedOperationError
from ._bound import (
    abs,
    arctan2,
    broadcast_to,
    concatenate,
    einsum,
    imag,
    log,
    logsumexp,
    matmul,
    max,
    maximum,
    min,
    minimum,
    multiply,
    real,
    reshape,
    sqrt,
    stack,
    sum,
    where,
)
from ._nondifferentiable import equal, floor, greater, less, not_equal
from ._normalise import _axes, _axis_list, _dtype, _letters, _one_axis, _shape, composite, ndim
from ._shapes import _along, diagonal, moveaxis, pad, ravel


@composite(jnp.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Average over ``axis``: the sum divided by the number of entries reduced."""
    if where is not None:
        mask = jnp.broadcast_to(concrete(where), _shape(a))
        return sum(a, axis, dtype, out, keepdims, where=mask) / jnp.sum(mask, axis=axis, keepdims=keepdims)
    count = math.prod(_shape(a)[i] for i in _axes(axis, ndim(a), "mean"))
    return sum(a, axis, dtype, out, keepdims) / count


@composite(jnp.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Variance over ``axis``: the squared deviations' sum over (count - ddof) (``correction`` is ddof)."""
    if where is not None:
        raise UnsupportedOperationError("var", "diffcompare.numpy", "where= on engine values")
    ddof = ddof if correction is None else correction
    centred = a - mean(a, axis=axis, dtype=dtype, keepdims=True)
    count = math.prod(_shape(a)[i] for i in _axes(axis, ndim(a), "var"))
    return sum(centred * centred, axis=axis, out=out, keepdims=keepdims) / (count - ddof)


@composite(jnp.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Standard deviation over ``axis``: sqrt(var) with the same arguments."""
    return sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, correction=correction))


@composite(jnp.square)
def square(x):
    """x * x."""
    return x * x


@composite(jnp.reciprocal)
def reciprocal(x):
    """1 / x."""
    return 1.0 / x


@composite(jnp.log2)
def log2(x):
    """log(x) / log(2)."""
    return log(x) / math.log(2.0)


@composite(jnp.log10)
def log10(x):
    """log(x) / log(10)."""
    return log(x) / math.log(10.0)


@composite(jnp.clip)
def clip(x, min=None, max=None):  # noqa: A002 - NumPy's argument names
    """Limit values to [min, max]: minimum(maximum(x, min), max), as JAX does."""
    if min is not None:
        x = maximum(x, min)
    if max is not None:
        x = minimum(x, max)
    return x


@composite(jax.nn.log_softmax)
def log_softmax(x, axis=-1):
    """x - logsumexp(x): log-probabilities, computed stably."""
    return x - logsumexp(x, axis=axis, keepdims=True)


@composite(jnp.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along a diagonal: over the first two axes by default, leaving the others (as NumPy)."""
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype, out=out)


@composite(jnp.select)
def select(condlist, choicelist, default=0):
    """The choice of the first condition that holds, else ``default``: a chain of ``where``."""
    if len(condlist) != len(choicelist):
        raise ShapeMismatchError("select: condlist and choicelist must have the same length")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(cond, choice, out)
    return out


@composite(jnp.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers (derivative 0 there, 1 elsewhere)."""
    # the masks are comparisons, which act on concrete values (an engine without values keeps them as
    # conditions): x != x only at NaN
    big = jnp.finfo(_dtype(x)).max
    masks = not_equal(x, x), equal(x, jnp.inf), equal(x, -jnp.inf)
    x = where(masks[0], nan, x)
    x = where(masks[1], big if posinf is None else posinf, x)
    return where(masks[2], -big if neginf is None else neginf, x)


@composite(jnp.fabs)
def fabs(x):
    """|x| for real x: ``abs`` (derivative 1 at 0, as JAX)."""
    return abs(x)


def _scale(name, jax_fn, factor, doc):
    @composite(jax_fn, name=name)
    def fn(x):
        return x * factor

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn

deg2rad = _scale("deg2rad", jnp.deg2rad, math.pi / 180.0, "Degrees to radians: x * pi / 180.")
radians = _scale("radians", jnp.radians, math.pi / 180.0, "Degrees to radians: x * pi / 180.")
rad2deg = _scale("rad2deg", jnp.rad2deg, 180.0 / math.pi, "Radians to degrees: x * 180 / pi.")
degrees = _scale("degrees", jnp.degrees, 180.0 / math.pi, "Radians to degrees: x * 180 / pi.")


@composite(jnp.fmax)
def fmax(x1, x2):
    """Elementwise maximum that ignores NaN: JAX's where(x1 > x2 or isnan(x2), x1, x2), so a tie
    gives the derivative to x2 and a NaN operand gets none (the masks are comparisons, see nan_to_num)."""
    return where(not_equal(x2, x2), x1, where(greater(x1, x2), x1, x2))


@composite(jnp.fmin)
def fmin(x1, x2):
    """Elementwise minimum that ignores NaN: JAX's where(x1 < x2 or isnan(x2), x1, x2)."""
    return where(not_equal(x2, x2), x1, where(less(x1, x2), x1, x2))


@composite(jnp.remainder)
def remainder(x1, x2):
    """x1 - floor(x1 / x2) * x2, with the sign of x2: d/dx1 = 1, d/dx2 = -floor(x1 / x2) (JAX).

    Written as JAX's exact value plus its linear part around the concrete inputs,
    so the value is bit-for-bit ``jnp.remainder`` and the kinks are where the
    quotient jumps. An engine without values (symbolic) gets x1 - floor(x1 / x2) * x2 itself.
    """
    trace = _core.top_trace((x1, x2))
    if trace is not None and hasattr(trace, "step"):  # no values (symbolic): floor as an expression
        return x1 - floor(x1 / x2) * x2
    c1, c2 = concrete(x1), concrete(x2)
    r = jnp.remainder(c1, c2)
    quotient = jnp.round((c1 - r) / c2)
    return r + (x1 - c1) - quotient * (x2 - c2)

mod = composite(jnp.mod, name="mod")(remainder.__wrapped__)


@composite(jnp.diff)
def diff(a, n=1, axis=-1, prepend=None, append=None):
    """``n``-th differences along ``axis``: a[1:] - a[:-1], repeated."""
    axis = _one_axis(axis, ndim(a), "diff")
    edge = list(_shape(a))
    edge[axis] = 1
    parts = [a]
    if prepend is not None:
        parts.insert(0, prepend if ndim(prepend) else broadcast_to(prepend, tuple(edge)))
    if append is not None:
        parts.append(append if ndim(append) else broadcast_to(append, tuple(edge)))
    a = concatenate(parts, axis=axis) if len(parts) > 1 else a
    for _ in range(n):
        a = _along(a, axis, slice(1, None)) - _along(a, axis, slice(None, -1))
    return a


@composite(jnp.angle)
def angle(z, deg=False):
    """The argument of z: arctan2(imag(z), real(z)) (0 or pi for real z, derivative 0)."""
    out = arctan2(imag(z), real(z))
    return out * (180.0 / math.pi) if deg else out


@composite(jnp.tensordot)
def tensordot(a, b, axes=2):
    """Contract the last ``axes`` axes of ``a`` with the first of ``b`` (or the listed pairs): an einsum."""
    ra, rb = ndim(a), ndim(b)
    if isinstance(axes, (int, _np.integer)):
        ax_a, ax_b = list(range(ra - axes, ra)), list(range(axes))
    else:
        ax_a, ax_b = _axis_list(axes[0], ra, "tensordot"), _axis_list(axes[1], rb, "tensordot")
    if len(ax_a) != len(ax_b):
        raise ShapeMismatchError(f"tensordot: axes {axes!r} pair {len(ax_a)} axes of a with {len(ax_b)} of b")
    la, lb = _letters(ra), list(_letters(ra + rb)[ra:])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    lb = "".join(lb)
    out = "".join(c for i, c in enumerate(la) if i not in ax_a) + "".join(c for j, c in enumerate(lb) if j not in ax_b)
    return einsum(f"{la},{lb}->{out}", a, b)


@composite(jnp.dot)
def dot(a, b):
    """NumPy's dot: ``*`` for scalars, ``matmul`` up to 2-d, else the last axis of ``a`` with the
    second-to-last of ``b`` (its last when 1-d)."""
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    if ndim(a) <= 2 and ndim(b) <= 2:
        return matmul(a, b)
    return tensordot(a, b, ([-1], [builtins.max(ndim(b) - 2, 0)]))


@composite(jnp.vdot)
def vdot(a, b):
    """Sum of the elementwise product of two flattened arrays (real inputs)."""
    return sum(ravel(a) * ravel(b))


@composite(jnp.inner)
def inner(a, b):
    """Inner product over the last axes of ``a`` and ``b`` (``*`` for scalars)."""
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    return tensordot(a, b, ([-1], [-1]))


@composite(jnp.kron)
def kron(a, b):
    """Kronecker product: every entry of ``a`` times the whole of ``b``, as one broadcast product."""
    rank = builtins.max(ndim(a), ndim(b))
    sa = (1,) * (rank - ndim(a)) + _shape(a)
    sb = (1,) * (rank - ndim(b)) + _shape(b)
    wide_a = reshape(a, tuple(d for da in sa for d in (da, 1)))
    wide_b = reshape(b, tuple(d for db in sb for d in (1, db)))
    return reshape(wide_a * wide_b, tuple(da * db for da, db in zip(sa, sb)))


@composite(jnp.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or the z-component for 2-vectors) along the given axes."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    n, m = _shape(a)[-1], _shape(b)[-1]
    if n not in (2, 3) or m not in (2, 3):
        raise ShapeMismatchError(f"cross: vectors must have 2 or 3 components, got {n} and {m}")
    if n == m == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a = a if n == 3 else pad(a, [(0, 0)] * (ndim(a) - 1) + [(0, 1)])
    b = b if m == 3 else pad(b, [(0, 0)] * (ndim(b) - 1) + [(0, 1)])
    c = stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
               a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
               a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)
    return moveaxis(c, -1, axisc)


@composite(jnp.outer)
def outer(a, b):
    """Outer product of two flattened arrays: a column times a row."""
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


class _Linalg(types.SimpleNamespace):
    pass


@composite(jnp.linalg.norm, name="linalg.norm")
def _norm(x, ord=None, axis=None, keepdims=False):
    """Vector p-norms (ord None/2, 1, inf, -inf, any p > 0) and the Frobenius norm of matrices.

    The 2-norm is sqrt(sum(x*x)): its gradient at 0 is nan, as in JAX.
    """
    matrix = (axis is None and ndim(x) == 2) or (isinstance(axis, (tuple, list)) and len(axis) == 2)
    if matrix and ord not in (None, "fro"):
        raise UnsupportedOperationError("linalg.norm", "diffcompare.numpy", f"matrix ord={ord!r}: only 'fro'")
    if ord in (None, 2, "fro"):
        return sqrt(sum(x * x, axis=axis, keepdims=keepdims))
    if ord in (jnp.inf, -jnp.inf):
        return (max if ord > 0 else min)(abs(x), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, (int, float)) and ord > 0:
        return sum(abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
    raise UnsupportedOperationError("linalg.norm", "diffcompare.numpy", f"ord={ord!r}")

_norm.__name__ = "norm"
linalg = _Linalg(norm=_norm)
