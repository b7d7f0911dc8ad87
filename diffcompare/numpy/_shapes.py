"""Shape and indexing composites: each built from ``reshape``, ``transpose``, ``getitem``,
``index_add``, ``concatenate`` and ``where`` (a one-line comment or docstring says how).

On plain arrays each runs JAX's own function (:func:`~._normalise.composite`).
"""

from __future__ import annotations

import builtins

import jax
import jax.numpy as jnp
import numpy as _np

from .._core import concrete
from ..errors import InvalidOptionError, ShapeMismatchError, UnsupportedOperationError
from ._bound import broadcast_to, concatenate, getitem, index_add, maximum, minimum, reshape, transpose, where
from ._normalise import _axes, _axis_list, _check_index, _dtype, _index, _one_axis, _shape, composite, ndim


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
