"""``diffcompare.numpy``: the one function language every method understands.

Write a function once with ``import diffcompare.numpy as dnp`` and Python
operators; it then runs

* on floats, NumPy and JAX arrays and JAX tracers: there ``dnp`` simply is
  ``jax.numpy``, so ``jax.grad``, ``jax.jit`` and ``jax.vmap`` work on it;
* on each engine's own values (dual numbers, tape nodes, expressions): ``dnp``
  hands the operation to the engine, which applies its rule.

The differentiable operations are the primitives of
:mod:`diffcompare.primitives` plus composites written here from them (a
comment on each says how). Comparisons and the other non-differentiable helpers
act on concrete values and have derivative 0, as in JAX.
"""

from __future__ import annotations

import builtins
import functools
import math
import types

import jax
import jax.numpy as jnp
import numpy as _np

from . import _core
from ._core import bind, concrete
from .errors import InvalidOptionError, ShapeMismatchError, UnsupportedOperationError
from .primitives import PRIMITIVES as _P

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
float32 = jnp.float32
float64 = jnp.float64
complex64 = jnp.complex64
complex128 = jnp.complex128


# ---------------------------------------------------------------- helpers


def shape(x) -> tuple[int, ...]:
    """The shape of an engine value, an array, or a Python number."""
    if isinstance(x, _core.EngineValue):
        return tuple(x.shape)
    return tuple(jnp.shape(x))


def ndim(x) -> int:
    return len(shape(x))


def size(x) -> int:
    return math.prod(shape(x))


def _axes(axis, rank: int, op: str) -> tuple[int, ...]:
    """Normalise ``axis`` (None, int or sequence) to a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(rank))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        if not isinstance(a, (int, _np.integer)) or isinstance(a, bool):
            raise InvalidOptionError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -rank <= a < rank:
            raise InvalidOptionError(f"{op}: axis {a} is out of range for a {rank}-d array")
        out.append(int(a) % rank)
    if len(set(out)) != len(out):
        raise InvalidOptionError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _one_axis(axis, rank: int, op: str) -> int:
    if not isinstance(axis, (int, _np.integer)) or isinstance(axis, bool):
        raise InvalidOptionError(f"{op}: axis must be an int, got {axis!r}")
    if not -rank <= axis < rank:
        raise InvalidOptionError(f"{op}: axis {axis} is out of range for a {rank}-d array")
    return int(axis) % rank


def _broadcast(op: str, *operands) -> tuple[int, ...]:
    shapes = [shape(x) for x in operands]
    try:
        return tuple(_np.broadcast_shapes(*shapes))
    except ValueError:
        shown = " and ".join(str(s) for s in shapes)
        raise ShapeMismatchError(
            f"{op}: shapes {shown} do not broadcast together; "
            "reshape or index one operand so trailing dimensions agree or are 1"
        ) from None


def composite(jax_fn, name: str | None = None):
    """Mark a function as a composite: JAX's own ``jax_fn`` on plain inputs,
    the body (written with primitives) on engine values."""

    def decorate(body):
        @functools.wraps(body)
        def wrapper(*args, **kwargs):
            if _core.any_engine_value(args, tuple(kwargs.values())):
                return body(*args, **kwargs)
            return jax_fn(*args, **kwargs)

        COMPOSITES[name or body.__name__] = wrapper
        return wrapper

    return decorate


#: name -> composite function defined in this module.
COMPOSITES: dict[str, object] = {}
#: name -> non-differentiable helper (acts on concrete values).
NONDIFFERENTIABLE: dict[str, object] = {}


def _nondiff(name, jax_fn):
    @functools.wraps(jax_fn)
    def wrapper(*args, **kwargs):
        args = jax.tree_util.tree_map(concrete, args)
        kwargs = jax.tree_util.tree_map(concrete, kwargs)
        return jax_fn(*args, **kwargs)

    wrapper.__name__ = name
    wrapper.__doc__ = f"``jax.numpy.{name}`` on concrete values; its derivative is 0, as in JAX."
    NONDIFFERENTIABLE[name] = wrapper
    return wrapper


# ---------------------------------------------------------------- elementwise primitives


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


def _binary(name, doc):
    prim = _P[name]

    def fn(x, y):
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


def where(condition, x, y):
    """Select ``x`` where ``condition`` holds, else ``y``. The condition is concrete."""
    condition = concrete(condition)
    _broadcast("where", condition, x, y)
    return bind(_P["where"], condition, x, y)


# ---------------------------------------------------------------- reductions


def _reduction(name, doc):
    prim = _P[name]

    def fn(x, axis=None, keepdims=False):
        return bind(prim, x, axis=_axes(axis, ndim(x), name), keepdims=builtins.bool(keepdims))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


sum = _reduction("sum", "sum over ``axis`` (all axes when None)")
prod = _reduction("prod", "product over ``axis``")
max = _reduction("max", "maximum over ``axis``; tied maxima share the derivative equally (JAX)")
min = _reduction("min", "minimum over ``axis``; tied minima share the derivative equally (JAX)")
amax, amin = max, min
logsumexp = _reduction("logsumexp", "log(sum(exp(x))) over ``axis``, computed stably")


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed stably."""
    return bind(_P["softmax"], x, axis=_axes(axis, ndim(x), "softmax"))


# ---------------------------------------------------------------- linear algebra


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


@composite(jnp.dot)
def dot(a, b):
    """Dot product: ``*`` for scalars, ``matmul`` for 1-d and 2-d operands."""
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    if ndim(a) <= 2 and ndim(b) <= 2:
        return matmul(a, b)
    raise UnsupportedOperationError("dot", "diffcompare.numpy", "operands above 2-d: use matmul instead")


@composite(jnp.vdot)
def vdot(a, b):
    """Sum of the elementwise product of two flattened arrays (real inputs)."""
    return sum(ravel(a) * ravel(b))


@composite(jnp.inner)
def inner(a, b):
    """Inner product over the last axis (1-d operands)."""
    if ndim(a) > 1 or ndim(b) > 1:
        raise UnsupportedOperationError("inner", "diffcompare.numpy", "only 1-d operands on engine values")
    return sum(a * b) if ndim(a) and ndim(b) else multiply(a, b)


@composite(jnp.outer)
def outer(a, b):
    """Outer product of two flattened arrays: a column times a row."""
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


class _Linalg(types.SimpleNamespace):
    pass


@composite(jnp.linalg.norm, name="linalg.norm")
def _norm(x, ord=None, axis=None, keepdims=False):
    # the 2-norm (Frobenius for matrices) as sqrt(sum(x*x)): grad at 0 is nan, as in JAX
    if ord not in (None, 2, "fro") or (ord == 2 and ndim(x) > 1 and axis is None):
        raise UnsupportedOperationError("linalg.norm", "diffcompare.numpy", f"ord={ord!r}: only the 2-norm")
    return sqrt(sum(x * x, axis=axis, keepdims=keepdims))


_norm.__name__ = "norm"
linalg = _Linalg(norm=_norm)


# ---------------------------------------------------------------- shape and indexing


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


def _resolve_shape(new_shape, total: int, op: str) -> tuple[int, ...]:
    if isinstance(new_shape, (int, _np.integer)):
        new_shape = (new_shape,)
    new_shape = [int(d) for d in new_shape]
    if new_shape.count(-1) > 1:
        raise InvalidOptionError(f"{op}: at most one dimension may be -1, got {tuple(new_shape)}")
    if -1 in new_shape:
        known = math.prod(d for d in new_shape if d != -1)
        if known == 0 or total % known:
            raise ShapeMismatchError(f"{op}: cannot reshape {total} elements into {tuple(new_shape)}")
        new_shape[new_shape.index(-1)] = total // known
    if math.prod(new_shape) != total:
        raise ShapeMismatchError(f"{op}: cannot reshape {total} elements into {tuple(new_shape)}")
    return tuple(new_shape)


def reshape(x, shape):  # noqa: F811 - NumPy's name; the module-level shape() is reached as _shape
    """Give ``x`` a new shape with the same number of elements (one -1 is inferred)."""
    return bind(_P["reshape"], x, shape=_resolve_shape(shape, size(x), "reshape"))


_shape = shape


def broadcast_to(x, shape):  # noqa: F811
    """Broadcast ``x`` to ``shape`` with NumPy's rules."""
    shape = tuple(int(d) for d in ((shape,) if isinstance(shape, int) else shape))
    try:
        if _np.broadcast_shapes(_shape(x), shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeMismatchError(f"broadcast_to: cannot broadcast {_shape(x)} to {shape}") from None
    return bind(_P["broadcast_to"], x, shape=shape)


def _check_same_shapes(op: str, arrays, skip_axis=None):
    shapes = [_shape(a) for a in arrays]
    if not shapes:
        raise InvalidOptionError(f"{op}: needs at least one array")
    first = shapes[0]
    for s in shapes[1:]:
        same_rank = len(s) == len(first)
        if skip_axis is None:
            ok = s == first
        else:
            ok = same_rank and builtins.all(a == b for i, (a, b) in enumerate(zip(s, first)) if i != skip_axis)
        if not ok:
            raise ShapeMismatchError(f"{op}: arrays have shapes {shapes}; they must agree" + (
                "" if skip_axis is None else f" except along axis {skip_axis}"))


def stack(arrays, axis=0):
    """Join arrays of one shape along a new axis."""
    arrays = list(arrays)
    _check_same_shapes("stack", arrays)
    return bind(_P["stack"], arrays, axis=_one_axis(axis, ndim(arrays[0]) + 1, "stack"))


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis."""
    arrays = list(arrays)
    if arrays and ndim(arrays[0]) == 0:
        raise ShapeMismatchError("concatenate: zero-dimensional arrays cannot be concatenated; use stack")
    axis = _one_axis(axis, ndim(arrays[0]), "concatenate") if arrays else 0
    _check_same_shapes("concatenate", arrays, skip_axis=axis)
    return bind(_P["concatenate"], arrays, axis=axis)


def _index(index) -> tuple:
    """Normalise an index: a tuple whose array entries are concrete arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        item = concrete(item)
        if isinstance(item, list):
            item = jnp.asarray(item)
        out.append(item)
    return tuple(out)


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


def _check_index(op: str, array_shape, index):
    """Raise a clear error for an index that does not fit (checked on a free NumPy view)."""
    try:
        probe = tuple(_np.asarray(i) if isinstance(i, jax.Array) else i for i in index)
    except Exception:  # traced index arrays under jit: JAX checks them itself
        return
    try:
        _np.broadcast_to(_np.empty((), bool), array_shape)[probe]
    except IndexError as err:
        raise ShapeMismatchError(f"{op}: index {index!r} does not fit shape {array_shape}: {err}") from None


# ---------------------------------------------------------------- composites


@composite(jnp.mean)
def mean(x, axis=None, keepdims=False):
    """Average over ``axis``."""
    # sum divided by the number of elements reduced
    count = math.prod(_shape(x)[a] for a in _axes(axis, ndim(x), "mean"))
    return sum(x, axis=axis, keepdims=keepdims) / count


@composite(jnp.var)
def var(x, axis=None, keepdims=False):
    """Variance over ``axis`` (population variance, as NumPy's default)."""
    centred = x - mean(x, axis=axis, keepdims=True)
    return mean(centred * centred, axis=axis, keepdims=keepdims)


@composite(jnp.std)
def std(x, axis=None, keepdims=False):
    """Standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


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


@composite(jnp.ravel)
def ravel(x):
    """Flatten to 1-d."""
    return reshape(x, (-1,))


@composite(jnp.squeeze)
def squeeze(x, axis=None):
    """Drop axes of length 1."""
    s = _shape(x)
    drop = [i for i, d in enumerate(s) if d == 1] if axis is None else _axes(axis, len(s), "squeeze")
    if builtins.any(s[i] != 1 for i in drop):
        raise ShapeMismatchError(f"squeeze: axis {axis} of shape {s} does not have length 1")
    return reshape(x, tuple(d for i, d in enumerate(s) if i not in drop))


@composite(jnp.expand_dims)
def expand_dims(x, axis):
    """Insert an axis of length 1 at ``axis``."""
    s = list(_shape(x))
    s.insert(_one_axis(axis, len(s) + 1, "expand_dims"), 1)
    return reshape(x, tuple(s))


@composite(jnp.swapaxes)
def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    axes = list(range(ndim(x)))
    a, b = _one_axis(axis1, len(axes), "swapaxes"), _one_axis(axis2, len(axes), "swapaxes")
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, tuple(axes))


@composite(jnp.trace)
def trace(x):
    """Sum of the main diagonal of a matrix."""
    n = builtins.min(_shape(x)[:2])
    return sum(x[jnp.arange(n), jnp.arange(n)])


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


# ---------------------------------------------------------------- constants and creation


def zeros_like(x, dtype=None):
    return jnp.zeros(_shape(x), dtype or _dtype(x))


def ones_like(x, dtype=None):
    return jnp.ones(_shape(x), dtype or _dtype(x))


def full_like(x, fill_value, dtype=None):
    return jnp.full(_shape(x), fill_value, dtype or _dtype(x))


def dtype_of(x):
    """The dtype of an engine value, an array, or a Python number."""
    return x.dtype if isinstance(x, _core.EngineValue) else jnp.result_type(x)


_dtype = dtype_of


zeros, ones, full, eye, arange, linspace = jnp.zeros, jnp.ones, jnp.full, jnp.eye, jnp.arange, jnp.linspace

# ---------------------------------------------------------------- non-differentiable helpers

less = _nondiff("less", jnp.less)
less_equal = _nondiff("less_equal", jnp.less_equal)
greater = _nondiff("greater", jnp.greater)
greater_equal = _nondiff("greater_equal", jnp.greater_equal)
equal = _nondiff("equal", jnp.equal)
not_equal = _nondiff("not_equal", jnp.not_equal)
logical_and = _nondiff("logical_and", jnp.logical_and)
logical_or = _nondiff("logical_or", jnp.logical_or)
logical_not = _nondiff("logical_not", jnp.logical_not)
sign = _nondiff("sign", jnp.sign)
floor = _nondiff("floor", jnp.floor)
ceil = _nondiff("ceil", jnp.ceil)
round = _nondiff("round", jnp.round)
isfinite = _nondiff("isfinite", jnp.isfinite)
isnan = _nondiff("isnan", jnp.isnan)
argmax = _nondiff("argmax", jnp.argmax)
argmin = _nondiff("argmin", jnp.argmin)
any = _nondiff("any", jnp.any)
all = _nondiff("all", jnp.all)


def supported() -> dict[str, list[str]]:
    """What ``dnp`` offers, by kind: primitives, composites, non-differentiable helpers."""
    return {
        "primitives": list(_P),
        "composites": sorted(COMPOSITES),
        "nondifferentiable": sorted(NONDIFFERENTIABLE),
    }
