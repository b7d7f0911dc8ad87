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

from .. import _core
from .._core import ArrayImpl as _ArrayImpl
from .._core import bind, concrete
from ..errors import InvalidOptionError, ShapeMismatchError, UnsupportedOperationError
from ..primitives import PRIMITIVES as _P
from ..primitives import _jax_logsumexp

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
    if type(x) is _ArrayImpl:  # the common case first: a concrete JAX array knows its shape (a tuple)
        return x.shape
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
    """The shape ``op``'s operands broadcast to; refuses shapes that do not broadcast, naming ``op``."""
    shapes = [shape(x) for x in operands]
    widest = builtins.max(shapes, key=len)
    if builtins.all(s == widest or not s for s in shapes):  # equal shapes and scalars: nothing to work out
        return widest
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


# ---------------------------------------------------------------- reductions


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
        a, axis = ravel(a), 0
    if dtype is not None:
        a = astype(a, dtype)
    return bind(_P["cumsum"], a, axis=_one_axis(axis, ndim(a), "cumsum"))


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


def _letters(count: int, skip: str = "") -> str:
    return "".join(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in skip)[:count]


def _explicit_subscripts(subscripts: str, shapes) -> tuple[str, list]:
    """``subscripts`` with the output spelled out and ``...`` replaced by letters (NumPy's rules).

    Returns the explicit subscripts and, per operand, the shape it must be
    broadcast to (its ``...`` axes broadcast against the other operands').
    """
    if not isinstance(subscripts, str):
        raise InvalidOptionError("einsum: pass the subscripts as a string, e.g. einsum('ij,jk->ik', a, b)")
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ShapeMismatchError(f"einsum: {subscripts!r} names {len(terms)} operands, got {len(shapes)}")
    lead = [len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)]
    n_ell = builtins.max([n for n, t in zip(lead, terms) if "..." in t], default=0)
    ell = _letters(n_ell, subscripts)
    ell_shapes = [s[t.index("..."):t.index("...") + n] if "..." in t else () for t, s, n in zip(terms, shapes, lead)]
    try:
        ell_shape = tuple(_np.broadcast_shapes(*ell_shapes)) if ell_shapes else ()
    except ValueError:
        raise ShapeMismatchError(f"einsum: the '...' axes {ell_shapes} do not broadcast") from None
    explicit, targets = [], []
    for t, s, n in zip(terms, shapes, lead):
        if "..." in t:
            i = t.index("...")
            t = t.replace("...", ell[n_ell - n:])
            s = s[:i] + ell_shape[n_ell - n:] + s[i + n:]
        if len(t) != len(s):
            raise ShapeMismatchError(f"einsum: term {t!r} has {len(t)} letters for an operand of shape {s}")
        explicit.append(t)
        targets.append(s)
    if arrow:
        output = output.replace("...", ell)
    else:  # implicit mode: the broadcast axes, then the letters used once, in alphabetical order
        counts = "".join(explicit)
        output = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    return ",".join(explicit) + "->" + output, targets


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


def _axis_list(axes, rank, op):
    return [_one_axis(a, rank, op) for a in ((axes,) if isinstance(axes, (int, _np.integer)) else axes)]


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


def reshape(x, shape, order="C"):  # noqa: F811 - NumPy's name; the module-level shape() is reached as _shape
    """Give ``x`` a new shape with the same number of elements (one -1 is inferred)."""
    if order != "C":
        raise UnsupportedOperationError("reshape", "diffcompare.numpy", f"order={order!r}: only 'C' (row-major)")
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


@composite(jnp.ravel)
def ravel(x, order="C"):
    """Flatten to 1-d."""
    return reshape(x, (-1,), order)


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
    """Insert axes of length 1 at ``axis`` (an int or a tuple, positions in the result)."""
    rank = ndim(x) + (1 if isinstance(axis, (int, _np.integer)) else len(axis))
    new = _axes(axis, rank, "expand_dims")
    rest = iter(_shape(x))
    return reshape(x, tuple(1 if i in new else next(rest) for i in range(rank)))


@composite(jnp.swapaxes)
def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    axes = list(range(ndim(x)))
    a, b = _one_axis(axis1, len(axes), "swapaxes"), _one_axis(axis2, len(axes), "swapaxes")
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, tuple(axes))


@composite(jnp.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along a diagonal: over the first two axes by default, leaving the others (as NumPy)."""
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype, out=out)


def _along(x, axis: int, index):
    """``x`` indexed by ``index`` (a slice or an integer array) along ``axis``."""
    return getitem(x, (slice(None),) * axis + (index,))


@composite(jnp.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal of the two axes, as the last axis (integer-array indexing)."""
    rank = ndim(a)
    i, j = _one_axis(axis1, rank, "diagonal"), _one_axis(axis2, rank, "diagonal")
    if i == j:
        raise InvalidOptionError(f"diagonal: axis1 and axis2 must differ, got {axis1} and {axis2}")
    rest = [k for k in range(rank) if k not in (i, j)]
    moved = transpose(a, tuple(rest) + (i, j))
    n1, n2 = _shape(a)[i], _shape(a)[j]
    rows0, cols0 = builtins.max(-offset, 0), builtins.max(offset, 0)
    m = builtins.max(0, builtins.min(n1 - rows0, n2 - cols0))
    return getitem(moved, (Ellipsis, jnp.arange(m) + rows0, jnp.arange(m) + cols0))


@composite(jnp.diag)
def diag(v, k=0):
    """The ``k``-th diagonal of a matrix, or a matrix with ``v`` on its ``k``-th diagonal."""
    if ndim(v) == 2:
        return diagonal(v, k)
    if ndim(v) != 1:
        raise ShapeMismatchError(f"diag: input must be 1-d or 2-d, got shape {_shape(v)}")
    n = _shape(v)[0] + builtins.abs(k)
    rows, cols = jnp.arange(_shape(v)[0]) + builtins.max(-k, 0), jnp.arange(_shape(v)[0]) + builtins.max(k, 0)
    return index_add(jnp.zeros((n, n), _dtype(v)), (rows, cols), v)


def _triangle(op, jax_fn, lower):
    @composite(jax_fn, name=op)
    def fn(m, k=0):
        if ndim(m) < 2:
            raise ShapeMismatchError(f"{op}: input must be at least 2-d, got shape {_shape(m)}")
        n1, n2 = _shape(m)[-2:]
        keep = jnp.tri(n1, n2, k, dtype=bool)
        return where(keep if lower else ~jnp.tri(n1, n2, k - 1, dtype=bool), m, 0.0)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = f"Entries {'on and below' if lower else 'on and above'} the ``k``-th diagonal, zeros elsewhere."
    return fn


tril = _triangle("tril", jnp.tril, lower=True)
triu = _triangle("triu", jnp.triu, lower=False)


@composite(jnp.take_along_axis)
def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """Entries picked by ``indices`` along ``axis``: a gather, so it differentiates as a selection."""
    indices = jnp.asarray(concrete(indices))
    if axis is None:
        arr, axis = ravel(arr), 0
    rank = ndim(arr)
    axis = _one_axis(axis, rank, "take_along_axis")
    if indices.ndim != rank:
        raise ShapeMismatchError(f"take_along_axis: indices of rank {indices.ndim} for an array of rank {rank}")
    n = _shape(arr)[axis]
    out_shape = [indices.shape[d] if d == axis else _np.broadcast_shapes((_shape(arr)[d],), (indices.shape[d],))[0]
                 for d in range(rank)]
    index = []
    for d in range(rank):
        if d == axis:
            index.append(jnp.broadcast_to(jnp.where(indices < 0, indices + n, indices), out_shape))
        else:
            positions = jnp.arange(out_shape[d]) if _shape(arr)[d] != 1 else jnp.zeros(out_shape[d], int)
            index.append(jnp.reshape(positions, [-1 if e == d else 1 for e in range(rank)]))
    return getitem(arr, tuple(index))


@composite(jnp.take)
def take(a, indices, axis=None, mode=None, fill_value=None, unique_indices=False, indices_are_sorted=False):
    """Entries at ``indices`` along ``axis`` (of the flattened array when None)."""
    indices = jnp.asarray(concrete(indices))
    if axis is None:
        a, axis = ravel(a), 0
    axis = _one_axis(axis, ndim(a), "take")
    n = _shape(a)[axis]
    if indices.size and (int(jnp.max(indices)) >= n or int(jnp.min(indices)) < -n):
        raise ShapeMismatchError(f"take: an index is out of range for axis {axis} of length {n}")
    return _along(a, axis, jnp.where(indices < 0, indices + n, indices))


@composite(jnp.sort)
def sort(a, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    """Sorted along ``axis``: a permutation taken from the concrete values, so the derivative
    moves with the entries (ties keep their order, as JAX's stable sort)."""
    if axis is None:
        a, axis = ravel(a), 0
    order_ = jnp.argsort(concrete(a), axis=axis, stable=stable, descending=descending)
    return take_along_axis(a, order_, axis)


@composite(jnp.partition)
def partition(a, kth, axis=-1):
    """The ``kth`` smallest entry in place, smaller ones before it, larger after (JAX's order:
    the first kth + 1 ascending, the rest descending): a permutation, as ``sort``."""
    axis = _one_axis(axis, ndim(a), "partition")
    moved = jnp.swapaxes(jnp.asarray(concrete(a)), axis, -1)
    n = moved.shape[-1]
    kth = _one_axis(kth, n, "partition")
    bottom = jax.lax.top_k(-moved, kth + 1)[1]
    top = jax.lax.top_k(moved, n - kth - 1)[1]
    return take_along_axis(a, jnp.swapaxes(jnp.concatenate([bottom, top], axis=-1), axis, -1), axis)


@composite(jnp.flip)
def flip(m, axis=None):
    """Reverse the order of entries along ``axis`` (all axes when None)."""
    axes = _axes(axis, ndim(m), "flip")
    return getitem(m, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(ndim(m))))


@composite(jnp.fliplr)
def fliplr(m):
    """flip(m, axis=1)."""
    return flip(m, 1)


@composite(jnp.flipud)
def flipud(m):
    """flip(m, axis=0)."""
    return flip(m, 0)


@composite(jnp.moveaxis)
def moveaxis(a, source, destination):
    """Move axes to new positions, the others keep their order (a transpose)."""
    rank = ndim(a)
    src, dst = _axis_list(source, rank, "moveaxis"), _axis_list(destination, rank, "moveaxis")
    if len(src) != len(dst):
        raise InvalidOptionError("moveaxis: source and destination must name the same number of axes")
    order_ = [i for i in range(rank) if i not in src]
    for d, s_ in sorted(zip(dst, src)):
        order_.insert(d, s_)
    return transpose(a, tuple(order_))


@composite(jnp.rollaxis)
def rollaxis(a, axis, start=0):
    """Move ``axis`` to the position ``start`` (NumPy's older moveaxis)."""
    rank = ndim(a)
    axis = _one_axis(axis, rank, "rollaxis")
    start = start + rank if start < 0 else start
    if not 0 <= start <= rank:
        raise InvalidOptionError(f"rollaxis: start {start} is out of range for a {rank}-d array")
    start = start - 1 if axis < start else start
    order_ = [i for i in range(rank) if i != axis]
    order_.insert(start, axis)
    return transpose(a, tuple(order_))


@composite(jnp.roll)
def roll(a, shift, axis=None):
    """Shift entries along ``axis`` cyclically (of the flattened array when None): a gather."""
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    shifts = (shift,) if isinstance(shift, (int, _np.integer)) else tuple(shift)
    axes = (axis,) if isinstance(axis, (int, _np.integer)) else tuple(axis)
    shifts, axes = _np.broadcast_arrays(_np.asarray(shifts), _np.asarray(axes))
    for s_, ax in zip(shifts.ravel(), axes.ravel()):
        ax = _one_axis(int(ax), ndim(a), "roll")
        n = _shape(a)[ax]
        if n:
            a = _along(a, ax, (jnp.arange(n) - int(s_)) % n)
    return a


@composite(jnp.rot90)
def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (flips and a transpose, as NumPy)."""
    a0, a1 = (_one_axis(a, ndim(m), "rot90") for a in axes)
    if a0 == a1:
        raise InvalidOptionError(f"rot90: axes must differ, got {axes}")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(ndim(m)))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return transpose(flip(m, a1), tuple(perm)) if k == 1 else flip(transpose(m, tuple(perm)), a1)


@composite(jnp.repeat)
def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Repeat each entry ``repeats`` times along ``axis`` (flattened when None): a gather."""
    if axis is None:
        a, axis = ravel(a), 0
    axis = _one_axis(axis, ndim(a), "repeat")
    index = jnp.repeat(jnp.arange(_shape(a)[axis]), concrete(repeats), total_repeat_length=total_repeat_length)
    return _along(a, axis, index)


@composite(jnp.tile)
def tile(A, reps):  # noqa: N803 - NumPy's argument name
    """``A`` repeated ``reps`` times along each axis (a broadcast and a reshape)."""
    reps = (reps,) if isinstance(reps, (int, _np.integer)) else tuple(reps)
    rank = builtins.max(ndim(A), len(reps))
    s = (1,) * (rank - ndim(A)) + _shape(A)
    reps = (1,) * (rank - len(reps)) + reps
    spread = reshape(A, tuple(d for n in s for d in (1, n)))
    wide = broadcast_to(spread, tuple(d for r, n in zip(reps, s) for d in (r, n)))
    return reshape(wide, tuple(r * n for r, n in zip(reps, s)))


def _pad_index(n: int, before: int, after: int, mode: str):
    """Source positions of the padded axis for the modes that copy entries."""
    i = jnp.arange(-before, n + after)
    if mode == "edge":
        return jnp.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    if mode == "reflect":
        period = builtins.max(2 * n - 2, 1)
        i = i % period
        return jnp.where(i >= n, period - i, i)
    i = i % (2 * n)  # symmetric
    return jnp.where(i >= n, 2 * n - 1 - i, i)


@composite(jnp.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """Pad every axis: with a constant (``constant_values``), or by copying entries
    (``edge``, ``wrap``, ``reflect``, ``symmetric``)."""
    rank = ndim(array)
    widths = _np.broadcast_to(_np.asarray(pad_width, dtype=int).reshape(-1, 2) if _np.ndim(pad_width) else
                              _np.asarray([[pad_width, pad_width]]), (rank, 2))
    if mode == "constant":
        value = kwargs.pop("constant_values", 0)
        if kwargs or _np.ndim(value):
            raise UnsupportedOperationError("pad", "diffcompare.numpy", "scalar constant_values only")
        out_shape = tuple(int(d + b + e) for d, (b, e) in zip(_shape(array), widths))
        inside = tuple(slice(int(b), int(b) + d) for d, (b, _) in zip(_shape(array), widths))
        base = jnp.full(out_shape, concrete(value), _dtype(array)).at[inside].set(0)
        return index_add(base, inside, array)
    if mode not in ("edge", "wrap", "reflect", "symmetric") or kwargs:
        raise UnsupportedOperationError("pad", "diffcompare.numpy", f"mode={mode!r} with {kwargs or 'defaults'}; "
                                        "constant, edge, wrap, reflect and symmetric are supported")
    for ax, (b, e) in enumerate(widths):
        if b or e:
            array = _along(array, ax, _pad_index(_shape(array)[ax], int(b), int(e), mode))
    return array


@composite(jnp.atleast_1d)
def atleast_1d(*arys):
    """Each input with at least one axis (a list for several)."""
    out = [a if ndim(a) >= 1 else reshape(a, (1,)) for a in arys]
    return out[0] if len(out) == 1 else out


@composite(jnp.atleast_2d)
def atleast_2d(*arys):
    """Each input with at least two axes: a vector becomes a row (a list for several)."""
    out = [a if ndim(a) >= 2 else reshape(a, (1,) * (2 - ndim(a)) + _shape(a)) for a in arys]
    return out[0] if len(out) == 1 else out


@composite(jnp.atleast_3d)
def atleast_3d(*arys):
    """Each input with at least three axes: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    def lift(a):
        s = _shape(a)
        return a if len(s) >= 3 else reshape(a, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)])

    out = [lift(a) for a in arys]
    return out[0] if len(out) == 1 else out


@composite(jnp.vstack)
def vstack(tup, *, dtype=None):
    """Join along the first axis, vectors as rows."""
    return concatenate([atleast_2d(t) for t in tup], axis=0)


@composite(jnp.hstack)
def hstack(tup, *, dtype=None):
    """Join along the second axis (the first for vectors)."""
    arrays = [atleast_1d(t) for t in tup]
    return concatenate(arrays, axis=0 if ndim(arrays[0]) == 1 else 1)


@composite(jnp.append)
def append(arr, values, axis=None):
    """``values`` joined after ``arr`` along ``axis`` (both flattened when None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis=axis)


@composite(jnp.split)
def split(ary, indices_or_sections, axis=0):
    """Cut along ``axis`` into equal sections or at the given indices: a list of slices."""
    axis = _one_axis(axis, ndim(ary), "split")
    n = _shape(ary)[axis]
    if isinstance(indices_or_sections, (int, _np.integer)):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ShapeMismatchError(f"split: axis {axis} of length {n} does not split into "
                                     f"{indices_or_sections} equal sections")
        cuts = list(range(0, n, n // indices_or_sections))[1:]
    else:
        cuts = [int(c) for c in concrete(indices_or_sections)]
    bounds = [0] + cuts + [n]
    return [_along(ary, axis, slice(lo, builtins.max(lo, hi))) for lo, hi in zip(bounds, bounds[1:])]


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
    xc = concrete(x)
    big = jnp.finfo(_dtype(x)).max
    x = where(jnp.isnan(xc), nan, x)
    x = where(jnp.isposinf(xc), big if posinf is None else posinf, x)
    return where(jnp.isneginf(xc), -big if neginf is None else neginf, x)


def astype(x, dtype, /, *, copy=False, device=None):
    """``x`` cast to ``dtype``: a primitive for floating dtypes; an integer or boolean cast
    has derivative 0 (it acts on the concrete value, as JAX)."""
    if not _core.any_engine_value(x):
        return jnp.astype(x, dtype, copy=copy, device=device)
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.inexact):
        return jnp.asarray(concrete(x)).astype(dtype)
    return bind(_P["astype"], x, dtype=dtype)


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
    gives the derivative to x2 and a NaN operand gets none."""
    c1, c2 = concrete(x1), concrete(x2)
    return where(jnp.greater(c1, c2) | jnp.isnan(c2), x1, x2)


@composite(jnp.fmin)
def fmin(x1, x2):
    """Elementwise minimum that ignores NaN: JAX's where(x1 < x2 or isnan(x2), x1, x2)."""
    c1, c2 = concrete(x1), concrete(x2)
    return where(jnp.less(c1, c2) | jnp.isnan(c2), x1, x2)


@composite(jnp.remainder)
def remainder(x1, x2):
    """x1 - floor(x1 / x2) * x2, with the sign of x2: d/dx1 = 1, d/dx2 = -floor(x1 / x2) (JAX).

    Written as JAX's exact value plus its linear part around the concrete inputs,
    so the value is bit-for-bit ``jnp.remainder`` and the kinks are where the
    quotient jumps.
    """
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
    else:
        raise UnsupportedOperationError("linspace", "diffcompare.numpy", "num=0 with engine-value endpoints")
    out = out if dtype is None else astype(out, dtype)
    return (out, step) if retstep else out


@composite(jnp.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """base ** linspace(start, stop): the exponents may be engine values."""
    out = power(base, linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else astype(out, dtype)


def _index_update(op):
    def ref(x, index, y):
        return getattr(jnp.asarray(x).at[index], op)(y)

    return ref


@composite(_index_update("set"), name="index_set")
def index_set(x, index, y):
    """A copy of ``x`` with ``y`` at ``index`` (JAX's ``x.at[index].set(y)``): the old entries are
    masked out and ``y`` added in, so each gets its own derivative."""
    index = _index(index)
    _check_index("index_set", _shape(x), index)
    hits = jnp.zeros(_shape(x), int).at[index].add(1)
    if builtins.bool(jnp.any(hits > 1)):
        raise UnsupportedOperationError("index_set", "diffcompare.numpy",
                                        "an index repeats; JAX leaves which update wins unspecified")
    return index_add(where(hits > 0, 0.0, x), index, y)


@composite(_index_update("multiply"), name="index_multiply")
def index_multiply(x, index, y):
    """``x.at[index].multiply(y)``: x times ones with ``y`` set at ``index``."""
    return x * index_set(jnp.ones(_shape(x), _dtype(x)), index, y)


@composite(_index_update("min"), name="index_min")
def index_min(x, index, y):
    """``x.at[index].min(y)``: the smaller of the entry and ``y`` at ``index``."""
    return index_set(x, index, minimum(getitem(x, index), y))


@composite(_index_update("max"), name="index_max")
def index_max(x, index, y):
    """``x.at[index].max(y)``: the larger of the entry and ``y`` at ``index``."""
    return index_set(x, index, maximum(getitem(x, index), y))


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
    return full(_shape(x), fill_value, dtype or _dtype(x))


def full(shape, fill_value, dtype=None):  # noqa: F811 - NumPy's name; the module's shape() is _shape
    """An array of ``shape`` filled with ``fill_value``, which may be an engine value (broadcast)."""
    if not _core.any_engine_value(fill_value):
        return jnp.full(shape, fill_value, dtype)
    shape = (shape,) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    filled = broadcast_to(fill_value, shape)
    return filled if dtype is None else astype(filled, dtype)


def dtype_of(x):
    """The dtype of an engine value, an array or a Python number."""
    return x.dtype if isinstance(x, _core.EngineValue) else jnp.result_type(x)


_dtype = dtype_of


zeros, ones, eye, arange, tri = jnp.zeros, jnp.ones, jnp.eye, jnp.arange, jnp.tri

# ---------------------------------------------------------------- non-differentiable helpers

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


def is_symbolic_condition(condition) -> bool:
    """Whether ``condition`` is an engine's expression kept as a condition (symbolic's piecewise nodes)."""
    return isinstance(condition, _core.EngineValue) and hasattr(condition._trace, "compare")


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


#: arrays made from shapes and numbers (constants to every engine)
CREATION = ["zeros", "ones", "full", "eye", "arange", "tri", "zeros_like", "ones_like", "full_like", "asarray",
            "array"]


def supported() -> dict[str, list[str]]:
    """What ``dnp`` offers, by kind: primitives, composites, non-differentiable helpers, creation."""
    return {
        "primitives": list(_P),
        "composites": sorted(COMPOSITES),
        "nondifferentiable": sorted(NONDIFFERENTIABLE),
        "creation": list(CREATION),
    }
