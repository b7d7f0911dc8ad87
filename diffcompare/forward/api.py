"""Forward mode's method interface: ``jvp``, ``grad``, ``jacobian``, ``hessian``, ``vjp``.

One forward pass pushes one tangent (one Jacobian column) through ``f``; a
full gradient of f: Rⁿ → R therefore costs n passes. Three ways to push the
n unit tangents (the ``mode`` option):

* ``"passes"``: n separate passes, one unit tangent each (the textbook picture);
* ``"batched"``: one pass whose tangents carry all n directions along a
  leading axis, handled by every rule (vector mode, visible in the duals);
* ``"vector"`` (the default): the one-tangent pass vectorised over the n
  directions by ``jax.vmap``, exactly as ``jax.jacfwd`` does, so XLA lays the
  computation out as it does for ``jax.jacfwd``. Where the inputs are another
  engine's values (nesting), ``jax.vmap`` cannot see through them and it falls
  back to ``"batched"``.

Every function has JAX's calling conventions (``argnums``, pytrees, the
nested Jacobian layout).

The Jacobian is laid out with ``diffcompare.numpy`` operations, so these
functions nest: ``hessian`` is ``jacobian`` of ``jacobian`` (forward over
forward), and they can be applied to another engine's values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from .. import _api
from .. import numpy as dnp
from .._core import EngineValue, any_engine_value
from ..errors import InvalidOptionError, ShapeMismatchError
from .dual import _ACTIVE_COUNTERS, Dual, ForwardTrace

MODES = ("vector", "batched", "passes")


def _check_mode(mode, fname):
    if mode not in MODES:
        raise InvalidOptionError(
            f"{fname}: mode must be 'vector' (jax.vmap over the n unit tangents), 'batched' (one pass whose "
            f"tangents have a leading axis of n) or 'passes' (n passes), got {mode!r}"
        )


def _as_primal(leaf):
    return leaf if isinstance(leaf, EngineValue) else jnp.asarray(leaf)


def _push(f, args, sel, tangents, batch=(), recorder=None, directions=None):
    """One forward pass: run ``f`` with the selected arguments as duals.

    ``tangents`` has the structure of ``sel.pick(args)`` and leaves of shape
    ``batch + primal.shape``. Returns ``(out, out_tangent)``: two pytrees of
    ``f``'s output structure.
    """
    trace = ForwardTrace(batch, recorder, directions)
    diff = jax.tree_util.tree_map(_as_primal, sel.pick(args))
    duals = jax.tree_util.tree_map(lambda p, t: Dual(trace, p, t), diff, tangents)
    if recorder is not None:
        recorder.inputs(jax.tree_util.tree_leaves(duals))
    out = f(*sel.rebuild(args, duals))

    def primal(v):
        return _as_primal(trace.split(v)[0])

    def tangent(v):
        p, t = trace.split(v)
        return trace.zeros(p) if t is None else t

    return jax.tree_util.tree_map(primal, out), jax.tree_util.tree_map(tangent, out)


def _leaves_info(tree):
    """(leaves, treedef, offsets, sizes) of the differentiated input."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    sizes = [math.prod(dnp.shape(leaf)) for leaf in leaves]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    return leaves, treedef, offsets, sizes


def _basis(tree):
    """All n unit tangents at once: leaf j gets shape ``(n,) + leaf.shape`` (rows of the identity)."""
    leaves, treedef, offsets, sizes = _leaves_info(tree)
    n = sum(sizes)
    eye = jnp.eye(n, dtype=_dtype(leaves[0]))
    parts = [
        jnp.reshape(eye[:, o : o + s].astype(_dtype(leaf)), (n,) + dnp.shape(leaf))
        for leaf, o, s in zip(leaves, offsets, sizes)
    ]
    return jax.tree_util.tree_unflatten(treedef, parts), n


def _unit(tree, i):
    """The i-th unit tangent (one pass of ``mode="passes"``)."""
    leaves, treedef, offsets, sizes = _leaves_info(tree)
    parts = []
    for leaf, o, s in zip(leaves, offsets, sizes):
        e = jnp.zeros(s, _dtype(leaf))
        if o <= i < o + s:
            e = e.at[i - o].set(1)
        parts.append(jnp.reshape(e, dnp.shape(leaf)))
    return jax.tree_util.tree_unflatten(treedef, parts)


def _dtype(x):
    return x.dtype if isinstance(x, EngineValue) else jnp.result_type(x)


def _columns(f, args, sel, mode):
    """(out, T): ``T`` has ``out``'s structure, leaves of shape ``out_leaf.shape + (n,)``:
    the Jacobian's columns, one per input coordinate, along the last axis."""
    diff = jax.tree_util.tree_map(_as_primal, sel.pick(args))
    n = sum(_leaves_info(diff)[3])
    if mode == "vector" and not any_engine_value(jax.tree_util.tree_leaves(args)):
        basis, n = _basis(diff)
        saved = [dataclasses.astuple(c) for c in _ACTIVE_COUNTERS]

        def one_pass(t):
            out, tangent = _push(f, args, sel, t, directions=n)
            if any_engine_value(jax.tree_util.tree_leaves((out, tangent))):
                raise _NotPlain  # f closes over another engine's values: jax.vmap cannot carry them
            return out, tangent

        try:
            return jax.vmap(one_pass, out_axes=(None, -1))(basis)
        except _NotPlain:
            for counter, values in zip(_ACTIVE_COUNTERS, saved):  # that attempt does not count
                counter.passes, counter.directions, counter.primitives = values
    if mode in ("vector", "batched"):
        basis, n = _basis(diff)
        out, columns = _push(f, args, sel, basis, (n,))
        return out, jax.tree_util.tree_map(_batch_last, columns)
    columns = [_push(f, args, sel, _unit(diff, i)) for i in range(n)]
    if n == 0:
        out = f(*args)
        return out, jax.tree_util.tree_map(lambda o: jnp.zeros(dnp.shape(o) + (0,)), out)
    stacked = jax.tree_util.tree_map(lambda *cols: dnp.stack(list(cols), axis=-1), *[t for _, t in columns])
    return columns[0][0], stacked


class _NotPlain(Exception):
    pass


def _batch_last(t):
    r = dnp.ndim(t)
    return t if r < 2 else dnp.transpose(t, tuple(range(1, r)) + (0,))


def _layout(columns, out, diff):
    """Jacobian blocks in ``jax.jacobian``'s nested layout (out structure of in structure)."""
    in_leaves, in_tree, offsets, sizes = _leaves_info(diff)

    def blocks_for(t):
        so = dnp.shape(t)[:-1]
        row = [dnp.reshape(t[..., o : o + s], so + dnp.shape(leaf)) for leaf, o, s in zip(in_leaves, offsets, sizes)]
        return jax.tree_util.tree_unflatten(in_tree, row)

    return jax.tree_util.tree_map(blocks_for, columns)


# ---------------------------------------------------------------- the method interface


def jvp(f: Callable, primals, tangents, *, batched: bool = False):
    """``(f(*primals), J · tangents)`` in one forward pass.

    Arguments:
        f: a function written with ``diffcompare.numpy``.
        primals: tuple of the arguments (arrays or pytrees).
        tangents: tuple of the same structure. With ``batched=True`` each
            tangent leaf has an extra leading axis of length k, and one pass
            gives k JVPs (vector mode); the output tangents then have that axis too.
    Returns:
        ``(out, tangent_out)``, each with ``f``'s output structure.
    Example:
        >>> jvp(dnp.sin, (0.0,), (2.0,))
        (Array(0., ...), Array(2., ...))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ShapeMismatchError("forward.jvp: primals and tangents must be tuples, e.g. jvp(f, (x,), (v,))")
    primals, tangents = tuple(primals), tuple(tangents)
    _api.check_differentiable(primals, "forward.jvp", allow_complex=False)
    batch = _check_batched(primals, tangents) if batched else ()
    if not batched:
        _api.check_tangents(primals, tangents, "forward.jvp")
    tangents = jax.tree_util.tree_map(
        lambda p, t: t if isinstance(t, EngineValue) else jnp.asarray(t, dtype=_dtype(_as_primal(p))), primals, tangents
    )
    sel = _api.select(primals, tuple(range(len(primals))), "forward.jvp")
    return _push(f, primals, sel, tangents, batch)


def _check_batched(primals, tangents):
    p_leaves, p_tree = jax.tree_util.tree_flatten(primals)
    t_leaves, t_tree = jax.tree_util.tree_flatten(tangents)
    if p_tree != t_tree:
        raise ShapeMismatchError(f"forward.jvp: tangents have structure {t_tree} but primals have {p_tree}")
    ks = {dnp.shape(t)[:1] for t in t_leaves}
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        if dnp.shape(t)[1:] != dnp.shape(p) or len(ks) != 1:
            raise ShapeMismatchError(
                f"forward.jvp(batched=True): tangent {i} has shape {dnp.shape(t)}; every tangent must have "
                f"shape (k,) + its primal's shape {dnp.shape(p)}, with the same k for all"
            )
    return ks.pop()


def jacobian(f: Callable, argnums=0, *, mode: str = "vector") -> Callable:
    """The full Jacobian, column by column (``jax.jacfwd``).

    Arguments:
        f: a function written with ``diffcompare.numpy``; any pytree output.
        argnums: which positional argument(s) to differentiate (int or tuple).
        mode: ``"vector"`` (the one-tangent pass vectorised by ``jax.vmap``,
            as ``jax.jacfwd``), ``"batched"`` (one pass, tangents with a
            leading axis of n) or ``"passes"`` (n passes, one unit tangent each).
    Returns:
        A callable returning the Jacobian in ``jax.jacobian``'s layout: for an
        output leaf of shape ``so`` and an input leaf of shape ``si``, a block
        of shape ``so + si``.
    Example:
        >>> jacobian(lambda x: x * x)(jnp.arange(3.0))   # diag(0, 2, 4)
    """
    _check_mode(mode, "forward.jacobian")

    @_api.wraps(f, "forward.jacobian")
    def wrapped(*args):
        sel = _api.select(args, argnums, "forward.jacobian")
        _api.check_differentiable(sel.pick(args), "forward.jacobian", allow_complex=False)
        out, columns = _columns(f, args, sel, mode)
        return _layout(columns, out, sel.pick(args))

    return wrapped


jacfwd = jacobian


def value_and_grad(f: Callable, argnums=0, *, mode: str = "vector") -> Callable:
    """A function returning ``(f(*args), gradient)`` for scalar-valued ``f``.

    Forward mode needs one Jacobian column per input coordinate: n passes
    (``mode="passes"``) or one pass with n tangents (``mode="vector"`` or
    ``"batched"``, see :func:`jacobian`).

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple).
        mode: ``"vector"`` (default), ``"batched"`` or ``"passes"``.
    Returns:
        A callable returning ``(value, gradient)``; the gradient has the
        structure of the differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: x ** 2)(3.0)
        (Array(9., ...), Array(6., ...))
    """
    _check_mode(mode, "forward.grad")

    @_api.wraps(f, "forward.value_and_grad")
    def wrapped(*args):
        sel = _api.select(args, argnums, "forward.grad")
        _api.check_differentiable(sel.pick(args), "forward.grad", allow_complex=False)
        out, columns = _columns(f, args, sel, mode)
        _api.check_scalar_output(out, "forward.grad")
        return out, _layout(columns, out, sel.pick(args))

    return wrapped


def grad(f: Callable, argnums=0, *, mode: str = "vector") -> Callable:
    """The gradient of scalar-valued ``f`` (see :func:`value_and_grad`).

    Example:
        >>> grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    return _api.gradient_of(f, value_and_grad(f, argnums, mode=mode), "forward.grad")


def hessian(f: Callable, argnums=0, *, mode: str = "vector") -> Callable:
    """The Hessian, forward over forward: the Jacobian of the forward-mode Jacobian.

    The inner pass's duals hold the outer pass's duals; the traces' levels keep
    the two perturbations apart. Layout as ``jax.hessian``.
    """
    _check_mode(mode, "forward.hessian")
    inner = jacobian(f, argnums, mode=mode)
    outer = jacobian(inner, argnums, mode=mode)

    @_api.wraps(f, "forward.hessian")
    def wrapped(*args):
        return outer(*args)

    return wrapped


def vjp(f: Callable, *primals, mode: str = "vector"):
    """``(f(*primals), vjp_fn)`` through the full Jacobian: the expensive way.

    Forward mode has no backward sweep, so a vector-Jacobian product costs the
    whole Jacobian first (n tangents, where reverse mode needs one backward
    pass); ``vjp_fn(cotangent)`` then contracts it with the cotangent.

    Returns:
        ``(out, vjp_fn)``; ``vjp_fn(cotangent)`` returns a tuple with one
        cotangent per primal, as ``jax.vjp``.
    """
    _check_mode(mode, "forward.vjp")
    _api.check_differentiable(primals, "forward.vjp", allow_complex=False)
    sel = _api.select(primals, tuple(range(len(primals))), "forward.vjp")
    out, columns = _columns(f, primals, sel, mode)
    diff = jax.tree_util.tree_map(_as_primal, sel.pick(primals))

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "forward.vjp")
        flat = None
        for t, c in zip(jax.tree_util.tree_leaves(columns), jax.tree_util.tree_leaves(cotangent)):
            n = dnp.shape(t)[-1]
            term = dnp.matmul(dnp.reshape(c, (-1,)), dnp.reshape(t, (-1, n)))
            flat = term if flat is None else flat + term
        leaves, treedef, offsets, sizes = _leaves_info(diff)
        if flat is None:
            flat = jnp.zeros(sum(sizes))
        parts = [
            dnp.reshape(flat[o : o + s], dnp.shape(leaf)).astype(_dtype(leaf))
            if not isinstance(flat, EngineValue)
            else dnp.reshape(flat[o : o + s], dnp.shape(leaf))
            for leaf, o, s in zip(leaves, offsets, sizes)
        ]
        return tuple(jax.tree_util.tree_unflatten(treedef, parts))

    return out, vjp_fn
