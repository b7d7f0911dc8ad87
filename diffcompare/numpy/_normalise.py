"""How ``diffcompare.numpy`` normalises what it is given before an engine sees it.

Shapes of engine values, arrays and numbers; ``axis``, ``shape`` and index
arguments turned into the tuples :mod:`diffcompare.primitives` promises the
engines; broadcasting checked once, naming the operation; einsum subscripts
spelled out. Also the two decorators that sort the function language into its
kinds: :func:`composite` (JAX's own function on plain inputs, a body written
with primitives on engine values) and :func:`_nondiff` (JAX on concrete values,
derivative 0), with the registries ``dnp.supported()`` reads.
"""

from __future__ import annotations

import builtins
import functools
import math

import jax
import jax.numpy as jnp
import numpy as _np

from .. import _core
from .._core import ArrayImpl as _ArrayImpl
from .._core import concrete
from ..errors import InvalidOptionError, ShapeMismatchError


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


#: name -> composite function of ``dnp`` (:func:`composite` registers each, in every part of the package).
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


def _axis_list(axes, rank, op):
    return [_one_axis(a, rank, op) for a in ((axes,) if isinstance(axes, (int, _np.integer)) else axes)]


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

_shape = shape


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


def dtype_of(x):
    """The dtype of an engine value, an array or a Python number."""
    return x.dtype if isinstance(x, _core.EngineValue) else jnp.result_type(x)

_dtype = dtype_of


def is_symbolic_condition(condition) -> bool:
    """Whether ``condition`` is an engine's expression kept as a condition (symbolic's piecewise nodes)."""
    return isinstance(condition, _core.EngineValue) and hasattr(condition._trace, "compare")
