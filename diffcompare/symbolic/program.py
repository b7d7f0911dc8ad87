"""Expressions compiled to one ``jax.numpy`` program that computes many scalar nodes at once.

A scalar-expanded graph has a node per array element (``sum(x**2)`` at n = 20 000 is
60 000 nodes); one JAX operation per node would cost a dispatch each. Instead the
nodes are put in levels (a node's level is one more than its operands'), nodes of
the same level and kind are computed by one vectorised operation on a flat buffer of
values (gather the operands, apply, scatter the results), and a chain of additions
and subtractions whose intermediate sums are used nowhere else is one signed sum
(``segment_sum``), so a sum of n terms is one step, not n. The program has as many
steps as (level, kind) pairs, whatever the number of nodes; a shared subexpression
is computed once.
"""

from __future__ import annotations

from collections import defaultdict

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import UnsupportedOperationError
from . import expr as E
from .convert import JAX_OPS
from .graph import signed_sums, topological, use_counts

_NARY = {"amax": jax.ops.segment_max, "amin": jax.ops.segment_min}


def _padded(n: int) -> int:
    """The next power of two: eager JAX compiles a kernel per shape, and padded shapes repeat."""
    return 1 << max(n - 1, 0).bit_length()


def _pad(index: np.ndarray, length: int, fill: int) -> np.ndarray:
    return np.concatenate([index, np.full(length - index.size, fill, np.int64)])


def _step_kind(n):
    if n.op == "power" and n.args[1].is_const and n.args[1].value == int(n.args[1].value) \
            and abs(n.args[1].value) <= 8:
        return ("ipow", int(n.args[1].value))  # small integer powers as products, as x**2 in Python
    return (n.op, None)


def compile_jax(outputs, inputs):
    """A ``jax.numpy`` function of the input arrays returning the output arrays.

    Arguments:
        outputs: a list of object arrays of nodes (each becomes one output array).
        inputs: a list of object arrays of variable nodes (each is one argument).
    Returns:
        ``fn(*arrays) -> list of arrays`` with the outputs' shapes, ready for ``jax.jit``;
        ``fn.steps`` is the number of vectorised steps.
    """
    outputs = [E.obj_array(o) for o in outputs]
    inputs = [E.obj_array(i) for i in inputs]
    roots = E.flat_nodes(outputs)
    order = topological(roots)
    root_ids = {r.serial for r in roots}
    terms, absorbed = signed_sums(order, use_counts(order, roots), root_ids)
    slot: dict[int, int] = {}
    level: dict[int, int] = {}
    consts: list[tuple[int, float]] = []
    groups: dict[tuple, list] = defaultdict(list)
    for n in order:
        if n.serial in absorbed:
            continue
        slot[n.serial] = len(slot)
        if n.is_leaf:
            level[n.serial] = 0
            if n.is_const:
                consts.append((slot[n.serial], n.value))
            continue
        deps = [m for m, _ in terms[n.serial]] if n.serial in terms else n.args
        level[n.serial] = 1 + max(level[d.serial] for d in deps)
        kind = ("sum", None) if n.serial in terms else _step_kind(n)
        groups[(level[n.serial],) + kind].append(n)
    feeds = []
    for arr in inputs:
        pairs = [(slot[v.serial], k) for k, v in enumerate(arr.reshape(-1)) if v.serial in slot]
        feeds.append((np.array([s for s, _ in pairs], np.int64), np.array([k for _, k in pairs], np.int64)))
    fed = {int(s) for slots, _ in feeds for s in slots}
    for n in order:
        if n.op == "var" and slot.get(n.serial) not in fed:
            raise UnsupportedOperationError("free variable", "symbolic", f"variable '{n.value}' is not an input")
    size = _padded(len(slot) + 2)  # padding reads the zero slot (size - 2) and writes the spare one (size - 1)
    steps = [_step(kind, param, nodes, slot, terms, size - 2) for (_, kind, param), nodes in sorted(
        groups.items(), key=lambda item: item[0][0])]
    const_slots = np.array([s for s, _ in consts], np.int64)
    const_values = np.array([v for _, v in consts], np.float64)
    out_slots = [(np.array([slot[n.serial] for n in o.reshape(-1)], np.int64), o.shape) for o in outputs]

    def run(*arrays):
        dtype = jnp.result_type(*arrays) if arrays else jnp.result_type(float)
        buf = jnp.zeros(size, dtype)
        if const_slots.size:
            buf = buf.at[const_slots].set(jnp.asarray(const_values, dtype))
        for arr, (slots, index) in zip(arrays, feeds):
            if slots.size:
                buf = buf.at[slots].set(jnp.ravel(jnp.asarray(arr, dtype))[index])
        for apply, out in steps:
            buf = buf.at[out].set(apply(buf))
        return [jnp.reshape(buf[s], shape) if s.size else jnp.zeros(shape, dtype) for s, shape in out_slots]

    run.steps = len(steps)
    run.nodes = len(slot)
    return run


def _step(kind, param, nodes, slot, terms, zero: int):
    """(apply(buffer) -> the values of ``nodes``, their slots) for one group of same-kind nodes,
    padded to a power of two (the padding reads the ``zero`` slot and writes the one after it)."""
    segmented = kind == "sum" or kind in _NARY
    count = _padded(len(nodes) + segmented)  # a segmented step keeps one segment for its padding
    out = _pad(np.array([slot[n.serial] for n in nodes], np.int64), count, zero + 1)
    if segmented:
        parts = [terms[n.serial] for n in nodes] if kind == "sum" else [[(a, 1.0) for a in n.args] for n in nodes]
        length = _padded(sum(len(p) for p in parts))
        index = _pad(np.array([slot[m.serial] for p in parts for m, _ in p], np.int64), length, zero)
        signs = np.zeros(length)
        signs[:sum(len(p) for p in parts)] = [s for p in parts for _, s in p]
        segments = _pad(np.repeat(np.arange(len(nodes)), [len(p) for p in parts]), length, count - 1)
        if kind == "sum":
            return (lambda buf: jax.ops.segment_sum(buf[index] * signs.astype(buf.dtype), segments, count,
                                                    indices_are_sorted=True)), out
        reduce = _NARY[kind]
        return (lambda buf: reduce(buf[index], segments, count, indices_are_sorted=True)), out
    arity = 1 if kind == "ipow" else len(nodes[0].args)
    index = [_pad(np.array([slot[n.args[i].serial] for n in nodes], np.int64), count, zero) for i in range(arity)]
    if kind == "ipow":
        return (lambda buf: jax.lax.integer_pow(buf[index[0]], param)), out
    fn = JAX_OPS[kind]
    return (lambda buf: fn(*(buf[i] for i in index))), out


def straight_line(outputs, inputs):
    """The same function as :func:`compile_jax`, one JAX operation per node on scalars: for running
    a narrow graph eagerly (its scalar kernels are compiled once per process, while each new shape
    of a vectorised step costs a compilation)."""
    outputs = [E.obj_array(o) for o in outputs]
    inputs = [E.obj_array(i) for i in inputs]
    order = topological(E.flat_nodes(outputs))
    slot = {n.serial: i for i, n in enumerate(order)}
    feeds = [[(slot[v.serial], k) for k, v in enumerate(arr.reshape(-1)) if v.serial in slot] for arr in inputs]
    program = [(i, n) for i, n in enumerate(order) if n.op != "var"]
    out_slots = [([slot[n.serial] for n in o.reshape(-1)], o.shape) for o in outputs]

    def run(*arrays):
        dtype = jnp.result_type(*arrays) if arrays else jnp.result_type(float)
        vals = [None] * len(order)
        for arr, feed in zip(arrays, feeds):
            flat = jnp.ravel(arr)
            for s, k in feed:
                vals[s] = flat[k]
        for i, n in program:
            kind, param = _step_kind(n)
            if kind == "const":
                vals[i] = jnp.asarray(n.value, dtype)
            elif kind == "ipow":
                vals[i] = jax.lax.integer_pow(vals[slot[n.args[0].serial]], param)
            else:
                vals[i] = JAX_OPS[kind](*(vals[slot[a.serial]] for a in n.args))
        return [jnp.reshape(jnp.stack([jnp.asarray(vals[s], dtype) for s in slots]), shape) if slots
                else jnp.zeros(shape, dtype) for slots, shape in out_slots]

    return run
