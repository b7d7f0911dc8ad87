"""Indexing, padding and convolution primitives of JAX, written with ``dnp.getitem`` and ``dnp.index_add``.

Every gather-like primitive becomes one advanced ``getitem``: integer
coordinate arrays (computed with ``jax.numpy`` from the concrete or traced
indices) say, for each output element, which operand element it reads.
Scatter-add becomes ``index_add`` with the same coordinates; a scatter that
*sets* is a ``where`` between the operand and the added updates. Convolution
is im2col: the patches by one ``getitem``, then one matrix product.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.lax import GatherScatterMode

from .. import numpy as dnp
from .._core import EngineValue, concrete
from ..errors import UnsupportedOperationError
from ._source import Tracer

RULES: dict = {}


def _ints(x):
    """Concrete integer indices as a JAX array (traced ones stay traced)."""
    return jnp.asarray(concrete(x))


def _static_int(x):
    """``x`` as a Python int when it is concrete, else None (a traced index under ``jax.jit``)."""
    value = concrete(x)
    if isinstance(value, Tracer):
        return None
    return int(value)


def _all_true(mask) -> bool:
    """Whether a concrete mask is all True (a traced one may not be)."""
    return not isinstance(mask, Tracer) and bool(jnp.all(mask))


def _along(values, axis: int, rank: int):
    """A 1-d array reshaped to lie along ``axis`` of a ``rank``-d index grid."""
    shape = [1] * rank
    shape[axis] = -1
    return jnp.reshape(values, shape)


# ---------------------------------------------------------------- slices


def _slice(eqn, x):
    p = eqn.params
    strides = p["strides"] or (1,) * len(p["start_indices"])
    return dnp.getitem(x, tuple(slice(int(a), int(b), int(s))
                                for a, b, s in zip(p["start_indices"], p["limit_indices"], strides)))


def _window_index(starts, sizes, shape):
    """The index of a window of ``sizes`` at ``starts`` (clamped into ``shape``, as JAX does):
    slices when the starts are concrete, an open grid of coordinates when they are traced."""
    static = [_static_int(s) for s in starts]
    if all(s is not None for s in static):
        clamped = [min(max(s, 0), dim - size) for s, dim, size in zip(static, shape, sizes)]
        return tuple(slice(s, s + size) for s, size in zip(clamped, sizes))
    rank = len(shape)
    return tuple(
        _along(jnp.clip(_ints(s), 0, dim - size) + jnp.arange(size), axis, rank)
        for axis, (s, dim, size) in enumerate(zip(starts, shape, sizes))
    )


def _dynamic_slice(eqn, x, *starts):
    sizes = tuple(int(s) for s in eqn.params["slice_sizes"])
    return dnp.getitem(x, _window_index(starts, sizes, dnp.shape(x)))


def _set(operand, index, update, out_shape, dtype):
    """``operand.at[index].set(update)``: the operand where nothing is written, the added update elsewhere."""
    written = jnp.zeros(out_shape, bool).at[index].set(True)
    placed = dnp.index_add(jnp.zeros(out_shape, dtype), index, update)
    return dnp.where(written, placed, operand)


def _dynamic_update_slice(eqn, x, update, *starts):
    index = _window_index(starts, dnp.shape(update), dnp.shape(x))
    return _set(x, index, update, dnp.shape(x), eqn.outvars[0].aval.dtype)


def _split(eqn, x):
    axis, out, start = int(eqn.params["axis"]), [], 0
    for size in eqn.params["sizes"]:
        index = [slice(None)] * dnp.ndim(x)
        index[axis] = slice(start, start + int(size))
        out.append(dnp.getitem(x, tuple(index)))
        start += int(size)
    return out


def _pad(eqn, x, value):
    # element i of each axis goes to lo + i (interior + 1); positions outside the result are dropped
    config = eqn.params["padding_config"]
    out_shape = tuple(eqn.outvars[0].aval.shape)
    keep, place = [], []
    for (lo, _hi, interior), dim, out_dim in zip(config, dnp.shape(x), out_shape):
        step = interior + 1
        valid = [i for i in range(dim) if 0 <= lo + i * step < out_dim]
        if not valid:
            return dnp.broadcast_to(value, out_shape)
        keep.append(slice(valid[0], valid[-1] + 1))
        place.append(slice(lo + valid[0] * step, lo + valid[-1] * step + 1, step))
    cropped = dnp.getitem(x, tuple(keep))
    return _set(dnp.broadcast_to(value, out_shape), tuple(place), cropped, out_shape, eqn.outvars[0].aval.dtype)


# ---------------------------------------------------------------- gather and scatter


def _starts(indices, start_map, op_shape, window_sizes, mode):
    """Per operand axis, the window start of each index row (clamped), and a mask of rows in bounds."""
    idx = _ints(indices)
    starts = {}
    valid = jnp.ones(idx.shape[:-1], bool)
    for k, d in enumerate(start_map):
        s = idx[..., k]
        limit = op_shape[d] - window_sizes[d]
        valid = valid & (s >= 0) & (s <= limit)
        starts[d] = jnp.clip(s, 0, limit)
    if mode not in (GatherScatterMode.FILL_OR_DROP, GatherScatterMode.CLIP,
                    GatherScatterMode.PROMISE_IN_BOUNDS, GatherScatterMode.ONE_HOT):
        raise UnsupportedOperationError("gather/scatter", "from_jax", f"index mode {mode}")
    return starts, valid, idx.shape[:-1]


def _coordinates(op_shape, starts, batch_shape, window_dims, window_sizes, batching):
    """One integer array per operand axis, of shape ``batch_shape + window shape`` (broadcastable)."""
    nb, nw = len(batch_shape), len(window_dims)
    rank = nb + nw
    coords = []
    for d in range(len(op_shape)):
        if d in batching:  # operand batching axis d follows batch axis batching[d] of the indices (the index
            # vector is the indices' last axis, so their other axes are the batch axes, in order)
            c = _along(jnp.arange(batch_shape[batching[d]]), batching[d], rank)
        else:
            c = jnp.reshape(starts.get(d, jnp.zeros(batch_shape, int)), batch_shape + (1,) * nw)
        if d in window_dims:
            c = c + _along(jnp.arange(window_sizes[d]), nb + window_dims.index(d), rank)
        coords.append(c)
    return tuple(coords)


def _gather(eqn, operand, indices):
    p = eqn.params
    dn, sizes, mode = p["dimension_numbers"], tuple(int(s) for s in p["slice_sizes"]), p["mode"]
    op_shape = dnp.shape(operand)
    batching = dict(zip(dn.operand_batching_dims, dn.start_indices_batching_dims))
    starts, valid, batch_shape = _starts(indices, dn.start_index_map, op_shape, sizes, mode)
    window_dims = [d for d in range(len(op_shape)) if d not in dn.collapsed_slice_dims and d not in batching]
    coords = _coordinates(op_shape, starts, batch_shape, window_dims, sizes, batching)
    out = dnp.getitem(operand, coords)  # batch axes, then window axes
    nb = len(batch_shape)
    if mode == GatherScatterMode.FILL_OR_DROP and not _all_true(valid):
        fill = p["fill_value"]
        fill = jnp.nan if fill is None and jnp.issubdtype(eqn.outvars[0].aval.dtype, jnp.inexact) else (fill or 0)
        out = dnp.where(jnp.reshape(valid, batch_shape + (1,) * len(window_dims)), out, fill)
    rank = nb + len(window_dims)
    batch_iter, window_iter = iter(range(nb)), iter(range(nb, rank))
    perm = tuple(next(window_iter) if i in dn.offset_dims else next(batch_iter) for i in range(rank))
    return dnp.transpose(out, perm) if perm != tuple(range(rank)) else out


def _scatter_parts(eqn, operand, indices, updates):
    """(coordinates, updates laid out as batch + window axes, valid-row mask) of a scatter."""
    dn, mode = eqn.params["dimension_numbers"], eqn.params["mode"]
    op_shape, up_shape = dnp.shape(operand), dnp.shape(updates)
    batching = dict(zip(dn.operand_batching_dims, dn.scatter_indices_batching_dims))
    window_dims = [d for d in range(len(op_shape)) if d not in dn.inserted_window_dims and d not in batching]
    sizes = [1] * len(op_shape)
    for d, u in zip(window_dims, dn.update_window_dims):
        sizes[d] = up_shape[u]
    starts, valid, batch_shape = _starts(indices, dn.scatter_dims_to_operand_dims, op_shape, sizes, mode)
    coords = _coordinates(op_shape, starts, batch_shape, window_dims, sizes, batching)
    scatter_axes = tuple(i for i in range(len(up_shape)) if i not in dn.update_window_dims)
    perm = scatter_axes + tuple(dn.update_window_dims)
    updates = dnp.transpose(updates, perm) if perm != tuple(range(len(up_shape))) else updates
    if mode == GatherScatterMode.FILL_OR_DROP and not _all_true(valid):  # (CLIP clamps, as in JAX)
        updates = dnp.where(jnp.reshape(valid, batch_shape + (1,) * len(window_dims)), updates, 0.0)
    return coords, updates


def _scatter_add(eqn, operand, indices, updates):
    coords, updates = _scatter_parts(eqn, operand, indices, updates)
    return dnp.index_add(operand, coords, updates)


def _scatter(eqn, operand, indices, updates):
    coords, updates = _scatter_parts(eqn, operand, indices, updates)
    shape = tuple(eqn.outvars[0].aval.shape)
    counts = jnp.zeros(shape, jnp.int32).at[coords].add(1)
    if not isinstance(counts, Tracer) and bool(jnp.any(counts > 1)):
        raise UnsupportedOperationError(
            "scatter", "from_jax", "x.at[idx].set(v) with repeated indices (which write wins is undefined); "
            "make the indices unique or use .at[idx].add")
    return _set(operand, coords, updates, shape, eqn.outvars[0].aval.dtype)


def _take_along(x, idx, axis: int):
    """``take_along_axis(x, idx, axis)`` as one advanced getitem (``idx`` concrete, shaped like ``x``)."""
    rank = dnp.ndim(x)
    grid = [_along(jnp.arange(n), a, rank) for a, n in enumerate(jnp.shape(idx))]
    grid[axis] = idx
    return dnp.getitem(x, tuple(grid))


def _sort(eqn, *operands):
    # the permutation is computed on concrete values (sorting is piecewise a permutation), then applied
    p = eqn.params
    axis, keys = int(p["dimension"]), int(p["num_keys"])
    values = [jnp.asarray(concrete(o)) for o in operands[:keys]]
    iota = jax.lax.broadcasted_iota(jnp.int32, values[0].shape, axis)
    perm = jax.lax.sort((*values, iota), dimension=axis, is_stable=bool(p["is_stable"]), num_keys=keys)[-1]
    return [_take_along(o, perm, axis) if isinstance(o, EngineValue) else jnp.take_along_axis(o, perm, axis)
            for o in operands]


def _top_k(eqn, x):
    _, idx = eqn.primitive.bind(jnp.asarray(concrete(x)), **eqn.params)
    return [_take_along(x, idx, dnp.ndim(x) - 1), idx]


def _tile(eqn, x):
    # tile = broadcast along a new axis before each axis, then merge the pairs
    reps = tuple(int(r) for r in eqn.params["reps"])
    shape = (1,) * (len(reps) - dnp.ndim(x)) + dnp.shape(x)
    x = dnp.reshape(x, tuple(d for n in shape for d in (1, n)))
    x = dnp.broadcast_to(x, tuple(d for r, n in zip(reps, shape) for d in (r, n)))
    return dnp.reshape(x, tuple(eqn.outvars[0].aval.shape))


# ---------------------------------------------------------------- convolution


def _conv(eqn, lhs, rhs):
    p = eqn.params
    if p["batch_group_count"] != 1:
        raise UnsupportedOperationError("conv_general_dilated", "from_jax", "batch_group_count > 1")
    lhs_spec, rhs_spec, out_spec = p["dimension_numbers"]
    x = dnp.transpose(lhs, tuple(lhs_spec)) if tuple(lhs_spec) != tuple(range(len(lhs_spec))) else lhs
    w = dnp.transpose(rhs, tuple(rhs_spec)) if tuple(rhs_spec) != tuple(range(len(rhs_spec))) else rhs
    nsp = len(lhs_spec) - 2
    # padding and input dilation are one pad (the dilation is interior padding)
    config = [(0, 0, 0), (0, 0, 0)] + [(lo, hi, d - 1) for (lo, hi), d in zip(p["padding"], p["lhs_dilation"])]
    if any(lo < 0 or hi < 0 for lo, hi, _ in config):
        raise UnsupportedOperationError("conv_general_dilated", "from_jax", "negative padding")
    if any(c != (0, 0, 0) for c in config):
        x = _pad_array(x, config, eqn.outvars[0].aval.dtype)
    n, c = dnp.shape(x)[:2]
    kernel = dnp.shape(w)[2:]
    out_sp = tuple(eqn.outvars[0].aval.shape[d] for d in out_spec[2:])
    # patches[n, c, o0, k0, o1, k1, ...] = x[n, c, o0 s0 + k0 r0, ...]: one advanced index per spatial axis
    grids = tuple(
        jnp.reshape(jnp.arange(o)[:, None] * s + jnp.arange(k)[None, :] * r,
                    (1,) * (2 * i) + (o, k) + (1,) * (2 * (nsp - i - 1)))
        for i, (o, k, s, r) in enumerate(zip(out_sp, kernel, p["window_strides"], p["rhs_dilation"]))
    )
    patches = dnp.getitem(x, (slice(None), slice(None)) + grids)
    order = (0,) + tuple(2 + 2 * i for i in range(nsp)) + (1,) + tuple(3 + 2 * i for i in range(nsp))
    patches = dnp.transpose(patches, order)  # (n, o..., c, k...)
    groups = int(p["feature_group_count"])
    rows = n * math.prod(out_sp)
    cols = (c // groups) * math.prod(kernel)
    o = dnp.shape(w)[0]
    outs = []
    for g in range(groups):
        pg = patches if groups == 1 else dnp.getitem(
            patches, (slice(None),) * (1 + nsp) + (slice(g * (c // groups), (g + 1) * (c // groups)),))
        wg = w if groups == 1 else dnp.getitem(w, (slice(g * (o // groups), (g + 1) * (o // groups)),))
        outs.append(dnp.matmul(dnp.reshape(pg, (rows, cols)), dnp.transpose(dnp.reshape(wg, (o // groups, cols)))))
    out = outs[0] if groups == 1 else dnp.concatenate(outs, axis=1)
    out = dnp.reshape(out, (n,) + out_sp + (o,))
    canonical = (0, nsp + 1) + tuple(range(1, nsp + 1))  # (n, o, spatial...)
    out = dnp.transpose(out, canonical)
    perm = tuple(out_spec.index(j) for j in range(len(out_spec)))
    return dnp.transpose(out, perm) if perm != tuple(range(len(perm))) else out


def _pad_array(x, config, dtype):
    dims = list(zip(config, dnp.shape(x)))
    shape = tuple(lo + hi + d + (d - 1) * interior if d else lo + hi for (lo, hi, interior), d in dims)
    place = tuple(slice(lo, lo + (d - 1) * (interior + 1) + 1, interior + 1) for (lo, _hi, interior), d in dims)
    return dnp.index_add(jnp.zeros(shape, dtype), place, x)


RULES.update({
    "slice": _slice,
    "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice,
    "split": _split,
    "pad": _pad,
    "gather": _gather,
    "scatter-add": _scatter_add,
    "scatter_add": _scatter_add,
    "scatter": _scatter,
    "conv_general_dilated": _conv,
    "sort": _sort,
    "top_k": _top_k,
    "tile": _tile,
})
