"""The primitives of :mod:`diffcompare.primitives` bound to the innermost engine.

Each function normalises its arguments (:mod:`._normalise`) and calls
:func:`~diffcompare._core.bind`: on JAX arrays the primitive's ``impl`` runs,
on an engine's values the engine applies its rule. ``sum``/``prod``/``max``/
``min``, ``logsumexp`` and ``softmax`` take JAX's keyword arguments and turn
``dtype``, ``initial`` and ``where`` into primitives around the reduction.
"""

from __future__ import annotations

import builtins

import jax
import jax.numpy as jnp
import numpy as _np

from .. import _core
from .._core import bind, concrete
from ..errors import InvalidOptionError, ShapeMismatchError, UnsupportedOperationError
from ..primitives import PRIMITIVES as _P
from ..primitives import _jax_logsumexp
from ._normalise import (
    _axes,
    _broadcast,
    _check_index,
    _check_same_shapes,
    _explicit_subscripts,
    _index,
    _one_axis,
    _resolve_shape,
    _shape,
    is_symbolic_condition,
    ndim,
    shape,
    size,
)


def _unary(name, doc):
    prim = _P[name]

    def fn(x):
        return bind(prim, x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn

negative = _unary("negative", "-x")
exp = _unary("exp", "e to the power x")
log = _unary("log", "natural logarithm")
log1p = _unary("log1p", "log(1 + x), accurate for small x")
expm1 = _unary("expm1", "exp(x) - 1, accurate for small x")
sqrt = _unary("sqrt", "square root; derivative inf at 0 (JAX)")
sin = _unary("sin", "sine")
cos = _unary("cos", "cosine")
tan = _unary("tan", "tangent")
tanh = _unary("tanh", "hyperbolic tangent")
sinh = _unary("sinh", "hyperbolic sine")
cosh = _unary("cosh", "hyperbolic cosine")
arctan = _unary("arctan", "inverse tangent")
sigmoid = _unary("sigmoid", "logistic sigmoid 1 / (1 + exp(-x))")
logistic = sigmoid
abs = _unary("abs", "absolute value; derivative 1 at 0 (JAX)")
absolute = abs
relu = _unary("relu", "max(x, 0); derivative 0 at 0 (JAX)")
arcsin = _unary("arcsin", "inverse sine")
arccos = _unary("arccos", "inverse cosine")
arcsinh = _unary("arcsinh", "inverse hyperbolic sine")
arccosh = _unary("arccosh", "inverse hyperbolic cosine")
arctanh = _unary("arctanh", "inverse hyperbolic tangent")
rsqrt = _unary("rsqrt", "1 / sqrt(x) (``jax.lax.rsqrt``)")
cbrt = _unary("cbrt", "cube root; derivative inf at 0 (JAX)")
exp2 = _unary("exp2", "2 to the power x")
erf = _unary("erf", "the error function (``jax.scipy.special.erf``)")
erfc = _unary("erfc", "1 - erf(x), accurate for large x")
erfinv = _unary("erfinv", "the inverse error function")
sinc = _unary("sinc", "sin(pi x) / (pi x), 1 at 0; derivative 0 at 0 (JAX)")
real = _unary("real", "the real part")
imag = _unary("imag", "the imaginary part (0 for real values)")
conj = _unary("conj", "the complex conjugate (x itself for real values)")
conjugate = conj
stop_gradient = _unary("stop_gradient", "x, with derivative 0 (``jax.lax.stop_gradient``)")
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh


def _binary(name, doc):
    prim = _P[name]

    def fn(x, y):
        sx, sy = shape(x), shape(y)
        if sx != sy and sx and sy:  # equal shapes and scalars broadcast: no need to ask NumPy
            _broadcast(name, x, y)
        return bind(prim, x, y)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn

add = _binary("add", "x + y, broadcasting")
subtract = _binary("subtract", "x - y, broadcasting")
multiply = _binary("multiply", "x * y, broadcasting")
divide = _binary("divide", "x / y, broadcasting")
true_divide = divide
power = _binary("power", "x ** y, broadcasting")
maximum = _binary("maximum", "elementwise maximum; ties split the derivative 0.5/0.5 (JAX)")
minimum = _binary("minimum", "elementwise minimum; ties split the derivative 0.5/0.5 (JAX)")
arctan2 = _binary("arctan2", "the angle of the point (x2, x1): arctan2(y, x)")
atan2 = arctan2
logaddexp = _binary("logaddexp", "log(exp(x) + exp(y)), without overflow")
logaddexp2 = _binary("logaddexp2", "log2(2**x + 2**y), without overflow")
pow = power  # noqa: A001 - the array API's name


def where(condition, x=None, y=None, /):
    """Select ``x`` where ``condition`` holds, else ``y``. The condition is concrete, except on the
    symbolic engine, which keeps an input-dependent condition as a piecewise node."""
    if not is_symbolic_condition(condition):
        condition = concrete(condition)
    if x is None and y is None:  # where(condition): the indices of the true entries
        return jnp.where(condition)
    _broadcast("where", condition, x, y)
    return bind(_P["where"], condition, x, y)

_where = where  # reachable where a parameter is called "where"
_NEUTRAL = {"sum": 0.0, "prod": 1.0}


def _reduction(name, jax_fn, doc):
    """sum/prod/max/min with JAX's signature; ``dtype``, ``initial`` and ``where`` become primitives
    around the reduction (a cast, a masked input, one more binary operation)."""
    prim = _P[name]
    combine = {"sum": add, "prod": multiply, "max": maximum, "min": minimum}[name]

    def fn(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        axes = _axes(axis, ndim(a), name)
        if out is not None:
            raise InvalidOptionError(f"{name}: out= is not supported (JAX arrays are immutable); use the result")
        if not _core.any_engine_value(a, initial):
            if dtype is None and initial is None and where is None:  # the primitive's impl: fast eager dispatch
                return prim.impl(a, axis=axes, keepdims=keepdims)
            kwargs = {} if name in ("max", "min") else {"dtype": dtype}
            return jax_fn(a, axis=axes, keepdims=keepdims, initial=initial, where=where, **kwargs)
        if dtype is not None:
            a = astype(a, dtype)
        if where is not None:
            if initial is None and name in ("max", "min"):
                raise InvalidOptionError(f"{name}: where= needs initial= (an empty selection has no {name})")
            a = _where_mask(where, a, _NEUTRAL.get(name, initial))
        result = bind(prim, a, axis=axes, keepdims=builtins.bool(keepdims))
        return result if initial is None else combine(result, initial)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _where_mask(where, x, fill):
    # entries outside the concrete mask ``where`` replaced by ``fill`` (they get derivative 0)
    return bind(_P["where"], jnp.broadcast_to(concrete(where), _shape(x)), x, fill)

sum = _reduction("sum", jnp.sum, "sum over ``axis`` (all axes when None)")
prod = _reduction("prod", jnp.prod, "product over ``axis``")
max = _reduction("max", jnp.max, "maximum over ``axis``; tied maxima share the derivative equally (JAX)")
min = _reduction("min", jnp.min, "minimum over ``axis``; tied minima share the derivative equally (JAX)")
amax, amin = max, min


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) over ``axis``, computed stably (``jax.scipy.special.logsumexp``)."""
    axes = _axes(axis, ndim(a), "logsumexp")
    if not _core.any_engine_value(a, b):
        return _jax_logsumexp(a, axis=axes, b=b, keepdims=keepdims, return_sign=return_sign, where=where)
    if return_sign:
        raise UnsupportedOperationError("logsumexp", "diffcompare.numpy", "return_sign=True on engine values")
    if b is not None:  # sum(b exp(a)) = sum(exp(a + log b))
        a = a + log(b)
    if where is not None:
        a = _where_mask(where, a, -jnp.inf)
    return bind(_P["logsumexp"], a, axis=axes, keepdims=builtins.bool(keepdims))


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) along ``axis``, computed stably."""
    if where is not None:
        if not _core.any_engine_value(x):
            return jax.nn.softmax(x, axis=axis, where=where)
        masked = bind(_P["softmax"], _where_mask(where, x, -jnp.inf), axis=_axes(axis, ndim(x), "softmax"))
        return _where(where, masked, 0.0)
    return bind(_P["softmax"], x, axis=_axes(axis, ndim(x), "softmax"))


def cumsum(a, axis=None, dtype=None, out=None):
    """Running sum along ``axis`` (of the flattened array when None)."""
    if out is not None:
        raise InvalidOptionError("cumsum: out= is not supported (JAX arrays are immutable); use the result")
    if not _core.any_engine_value(a):
        return jnp.cumsum(a, axis=axis, dtype=dtype)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0  # ravel
    if dtype is not None:
        a = astype(a, dtype)
    return bind(_P["cumsum"], a, axis=_one_axis(axis, ndim(a), "cumsum"))


def matmul(a, b):
    """Matrix product with NumPy's rules (1-d operands promoted, batch dims broadcast)."""
    sa, sb = shape(a), shape(b)
    if not sa or not sb:
        raise ShapeMismatchError("matmul: operands must be at least 1-d; use * for scalars")
    inner_a = sa[-1]
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if inner_a != inner_b:
        raise ShapeMismatchError(
            f"matmul: shapes {sa} and {sb} do not align ({inner_a} != {inner_b}); "
            "transpose one operand or check the layer sizes"
        )
    if len(sa) > 2 or len(sb) > 2:
        _broadcast("matmul (batch dimensions)", _np.empty(sa[:-2]), _np.empty(sb[:-2]))
    return bind(_P["matmul"], a, b)


def einsum(subscripts, *operands, optimize="auto", precision=None, preferred_element_type=None, **kwargs):
    """Einstein summation, as ``jax.numpy.einsum`` (a primitive: its rules are einsums too)."""
    if not _core.any_engine_value(operands):
        return jnp.einsum(subscripts, *operands, optimize=optimize, precision=precision,
                          preferred_element_type=preferred_element_type, **kwargs)
    spec, targets = _explicit_subscripts(subscripts, [shape(o) for o in operands])
    sizes: dict[str, int] = {}
    for term, target in zip(spec.split("->")[0].split(","), targets):
        for letter, d in zip(term, target):
            if sizes.setdefault(letter, d) != d:
                raise ShapeMismatchError(f"einsum: index '{letter}' has sizes {sizes[letter]} and {d} in {spec!r}")
    operands = [o if shape(o) == t else broadcast_to(o, t) for o, t in zip(operands, targets)]
    return bind(_P["einsum"], operands, subscripts=spec)


def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    rank = ndim(x)
    if axes is None:
        axes = tuple(reversed(range(rank)))
    else:
        axes = tuple(_one_axis(a, rank, "transpose") for a in axes)
        if sorted(axes) != list(range(rank)):
            raise InvalidOptionError(f"transpose: axes {axes} are not a permutation of {rank} axes")
    return bind(_P["transpose"], x, axes=axes)


def reshape(x, shape, order="C"):  # noqa: F811 - NumPy's name; the module-level shape() is reached as _shape
    """Give ``x`` a new shape with the same number of elements (one -1 is inferred)."""
    if order != "C":
        raise UnsupportedOperationError("reshape", "diffcompare.numpy", f"order={order!r}: only 'C' (row-major)")
    return bind(_P["reshape"], x, shape=_resolve_shape(shape, size(x), "reshape"))


def broadcast_to(x, shape):  # noqa: F811
    """Broadcast ``x`` to ``shape`` with NumPy's rules."""
    shape = tuple(int(d) for d in ((shape,) if isinstance(shape, int) else shape))
    try:
        if _np.broadcast_shapes(_shape(x), shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeMismatchError(f"broadcast_to: cannot broadcast {_shape(x)} to {shape}") from None
    return bind(_P["broadcast_to"], x, shape=shape)


def stack(arrays, axis=0):
    """Join arrays of one shape along a new axis."""
    arrays = list(arrays)
    _check_same_shapes("stack", arrays)
    return bind(_P["stack"], arrays, axis=_one_axis(axis, ndim(arrays[0]) + 1, "stack"))


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (of the flattened arrays when ``axis`` is None)."""
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [reshape(a, (-1,)) for a in arrays], 0
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    if arrays and ndim(arrays[0]) == 0:
        raise ShapeMismatchError("concatenate: zero-dimensional arrays cannot be concatenated; use stack")
    axis = _one_axis(axis, ndim(arrays[0]), "concatenate") if arrays else 0
    _check_same_shapes("concatenate", arrays, skip_axis=axis)
    return bind(_P["concatenate"], arrays, axis=axis)


def getitem(x, index):
    """``x[index]``: ints, slices, None, Ellipsis, integer and boolean arrays."""
    index = _index(index)
    _check_index("getitem", _shape(x), index)
    return bind(_P["getitem"], x, index=index)


def index_add(x, index, y):
    """A copy of ``x`` with ``y`` added at ``index`` (JAX's ``x.at[index].add(y)``)."""
    index = _index(index)
    _check_index("index_add", _shape(x), index)
    return bind(_P["index_add"], x, y, index=index)


def astype(x, dtype, /, *, copy=False, device=None):
    """``x`` cast to ``dtype``: a primitive for floating dtypes; an integer or boolean cast
    has derivative 0 (it acts on the concrete value, as JAX)."""
    if not _core.any_engine_value(x):
        return jnp.astype(x, dtype, copy=copy, device=device)
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.inexact):
        return jnp.asarray(concrete(x)).astype(dtype)
    return bind(_P["astype"], x, dtype=dtype)
