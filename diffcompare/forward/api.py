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

Every function has JAX's calling conventions (``argnums``, keyword arguments
passed through to ``f``, pytrees, the nested Jacobian layout). The n unit
tangents are pushed in chunks of ``chunk_size`` (default: as many as fit in
about 64 MiB of tangents), so a gradient of 10⁵ inputs runs in bounded memory,
slowly, as forward mode must. One input (n = 1) takes one plain pass: no ``vmap``.

The Jacobian is laid out with ``diffcompare.numpy`` operations, so these
functions nest: ``hessian`` is ``jacobian`` of ``jacobian`` (forward over
forward), and they can be applied to another engine's values.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _api, staging
from .. import numpy as dnp
from .._core import EngineValue, any_engine_value
from ..errors import InvalidOptionError, ShapeMismatchError
from .dual import LISTENERS, Dual, ForwardTrace, counted_if_kept
from .rules import RULES

MODES = ("vector", "batched", "passes")
#: tangent bytes one chunk of unit tangents may take by default
CHUNK_BYTES = 64 * 2**20


def _check_mode(mode, fname):
    if mode not in MODES:
        raise InvalidOptionError(
            f"{fname}: mode must be 'vector' (jax.vmap over the n unit tangents), 'batched' (one pass whose "
            f"tangents have a leading axis of n) or 'passes' (n passes), got {mode!r}"
        )


def _check_chunk_size(chunk_size, fname):
    if chunk_size is not None and (not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1):
        raise InvalidOptionError(f"{fname}: chunk_size must be a positive int or None (automatic), got {chunk_size!r}")


def _as_primal(leaf):
    return leaf if isinstance(leaf, (EngineValue, jax.Array)) else jnp.asarray(leaf)


def _push(fun, diff, tangents, batch=(), recorder=None, directions=None):
    """One forward pass: ``fun(diff)`` with every leaf of ``diff`` a dual number.

    ``tangents`` has the structure of ``diff`` and leaves of shape
    ``batch + primal.shape``. Returns ``(out, out_tangent)``: two pytrees of
    ``fun``'s output structure.
    """
    trace = ForwardTrace(batch, recorder, directions)
    primals, tree = jax.tree_util.tree_flatten(diff)  # one flatten each way (a dual is a leaf)
    duals = [Dual(trace, _as_primal(p), t) for p, t in zip(primals, tree.flatten_up_to(tangents))]
    if recorder is not None:
        recorder.inputs(duals)
    outs, out_tree = jax.tree_util.tree_flatten(fun(tree.unflatten(duals)))
    pairs = [trace.split(v) for v in outs]
    return (out_tree.unflatten([_as_primal(p) for p, _ in pairs]),
            out_tree.unflatten([trace.zeros(p) if t is None else t for p, t in pairs]))


def forward_pass(f: Callable, primals: tuple, tangents: tuple, recorder=None):
    """``(f(*primals), J · tangents)``: one forward pass, tangents already checked (see :func:`jvp`)."""
    return _push(lambda p: f(*p), tuple(primals), tuple(tangents), recorder=recorder)


def _leaves_info(tree):
    """(leaves, treedef, offsets, sizes) of the differentiated input."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    sizes = [dnp.size(leaf) for leaf in leaves]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    return leaves, treedef, offsets, sizes


def _basis(tree, start, count):
    """Unit tangents ``start .. start + count - 1`` at once: leaf j gets shape ``(count,) + leaf.shape``."""
    leaves, treedef, offsets, sizes = _leaves_info(tree)
    rows = jnp.eye(count, sum(sizes), k=start, dtype=_dtype(leaves[0]))  # row i is e_(start + i)
    parts = [
        jnp.reshape(rows[:, o : o + s].astype(_dtype(leaf)), (count,) + dnp.shape(leaf))
        for leaf, o, s in zip(leaves, offsets, sizes)
    ]
    return jax.tree_util.tree_unflatten(treedef, parts)


def _unit(tree, i):
    """The i-th unit tangent (one pass of ``mode="passes"``), built on the host: cheap at small n."""
    leaves, treedef, offsets, sizes = _leaves_info(tree)
    parts = []
    for leaf, o, s in zip(leaves, offsets, sizes):
        e = np.zeros(s, np.dtype(_dtype(leaf)))
        if o <= i < o + s:
            e[i - o] = 1
        parts.append(jnp.asarray(e.reshape(dnp.shape(leaf))))
    return jax.tree_util.tree_unflatten(treedef, parts)


def _dtype(x):
    return x.dtype if isinstance(x, EngineValue) else jnp.result_type(x)


def _available_bytes() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**34


def default_chunk_size(n: int, itemsize: int = 8) -> int:
    """How many of the n unit tangents one pass carries by default: all of them while their
    n × n basis fits in :data:`CHUNK_BYTES` (and an eighth of the free memory), fewer beyond."""
    budget = min(CHUNK_BYTES, _available_bytes() // 8)
    return max(1, min(n, budget // max(1, n * itemsize)))


def _columns(call: _api.Call, mode: str, chunk_size: int | None = None):
    """(out, T): ``T`` has ``out``'s structure, leaves of shape ``out_leaf.shape + (n,)``:
    the Jacobian's columns, one per input coordinate, along the last axis."""
    diff = jax.tree_util.tree_map(_as_primal, call.diff)
    leaves = jax.tree_util.tree_leaves(diff)
    n = sum(dnp.size(leaf) for leaf in leaves)
    if n == 0:  # nothing to push: an empty Jacobian, as JAX gives
        out = call.fun(diff)
        return out, jax.tree_util.tree_map(lambda o: jnp.zeros(dnp.shape(o) + (0,), _dtype(o)), out)
    if mode == "passes" or n == 1:  # one unit tangent per pass (for n = 1 also the cheapest way: no vmap)
        passes = [_push(call.fun, diff, _unit(diff, i)) for i in range(n)]
        stacked = jax.tree_util.tree_map(lambda *cols: dnp.stack(list(cols), axis=-1), *[t for _, t in passes])
        return passes[0][0], stacked
    chunk = chunk_size or default_chunk_size(n, jnp.dtype(_dtype(leaves[0])).itemsize)
    pieces = [_chunk(call, diff, mode, start, min(chunk, n - start)) for start in range(0, n, chunk)]
    if len(pieces) == 1:
        return pieces[0]
    columns = jax.tree_util.tree_map(lambda *cs: dnp.concatenate(list(cs), axis=-1), *[c for _, c in pieces])
    return pieces[0][0], columns


def _chunk(call: _api.Call, diff, mode: str, start: int, count: int):
    """Jacobian columns ``start .. start + count - 1`` by one pass carrying ``count`` tangents."""
    basis = _basis(diff, start, count)
    if mode == "vector" and not any_engine_value(jax.tree_util.tree_leaves((call.args, call.kwargs))):

        def one_pass(t):
            out, tangent = _push(call.fun, diff, t, directions=count)
            if any_engine_value(jax.tree_util.tree_leaves((out, tangent))):
                raise _NotPlain  # f closes over another engine's values: jax.vmap cannot carry them
            return out, tangent

        try:
            with counted_if_kept():  # an attempt that falls back does not count as a pass
                return jax.vmap(one_pass, out_axes=(None, -1))(basis)
        except _NotPlain:
            pass
    out, columns = _push(call.fun, diff, basis, (count,))
    return out, jax.tree_util.tree_map(_batch_last, columns)


class _NotPlain(Exception):
    pass


def _batch_last(t):
    r = dnp.ndim(t)
    return t if r < 2 else dnp.transpose(t, tuple(range(1, r)) + (0,))


def _layout(columns, out, diff):
    """Jacobian blocks in ``jax.jacobian``'s nested layout (out structure of in structure)."""
    leaves = jax.tree_util.tree_leaves(columns)
    n = dnp.shape(leaves[0])[-1] if leaves else 0
    rows = [dnp.reshape(t, (-1, n)) if n else jnp.zeros((dnp.size(t), 0)) for t in leaves]
    flat = rows[0] if len(rows) == 1 else dnp.concatenate(rows, axis=0) if rows else jnp.zeros((0, n))
    return _api.layout_jacobian(flat, out, diff)


# ---------------------------------------------------------------- the method interface


@_api.scoped("forward.jvp")
def jvp(f: Callable, primals, tangents, *, has_aux: bool = False, batched: bool = False, staged: bool = True):
    """``(f(*primals), J · tangents)`` in one forward pass.

    Arguments:
        f: a function written with ``diffcompare.numpy``.
        primals: tuple of the arguments (arrays or pytrees).
        tangents: tuple of the same structure. With ``batched=True`` each
            tangent leaf has an extra leading axis of length k, and one pass
            gives k JVPs (vector mode); the output tangents then have that axis too.
        has_aux: ``f`` returns ``(output, aux)``; only the output is differentiated and the aux
            comes back as plain arrays, as ``jax.jvp(..., has_aux=True)``.
        staged: as for :func:`value_and_grad`.
    Returns:
        ``(out, tangent_out)``, each with ``f``'s output structure; ``(out, tangent_out, aux)``
        with ``has_aux``.
    Example:
        >>> jvp(dnp.sin, (0.0,), (2.0,))
        (Array(0., ...), Array(2., ...))
        >>> jvp(lambda x: (x ** 2, x > 0), (3.0,), (1.0,), has_aux=True)
        (Array(9., ...), Array(6., ...), Array(True))
    """
    _api.check_jvp_arguments(primals, tangents, "forward.jvp", batched=batched)
    primals, tangents = tuple(primals), tuple(tangents)
    batch = _check_batched(primals, tangents) if batched else ()
    tangents = jax.tree_util.tree_map(
        lambda p, t: t if isinstance(t, EngineValue) else jnp.asarray(t, dtype=_dtype(_as_primal(p))), primals, tangents
    )
    fun = lambda p: f(*p)  # noqa: E731
    result = staging.FALLBACK
    if staged and not LISTENERS:
        result = staging.stage(_jvp_body, fun, primals, "forward", RULES, (batch, has_aux), extra=tangents)
    if result is staging.FALLBACK:
        result = _jvp_body(fun, primals, tangents, batch, has_aux)
    (out, tangent_out), aux = result
    tangent_out = _api.float0_tangents(out, tangent_out)
    return (out, tangent_out, aux) if has_aux else (out, tangent_out)


def _jvp_body(fun, primals, tangents, batch, has_aux):
    """One forward pass of ``fun`` with these tangents (in a staged program ``fun`` is the replay):
    ``((out, tangent_out), aux)``."""
    return _api.with_aux(lambda g: _push(g, primals, tangents, batch), fun, "forward.jvp", has_aux)


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


def jacobian(f: Callable, argnums=0, *, has_aux: bool = False, mode: str = "vector",
             chunk_size: int | None = None, staged: bool = True, holomorphic: bool = False) -> Callable:
    """The full Jacobian, column by column (``jax.jacfwd``).

    Arguments:
        f: a function written with ``diffcompare.numpy``; any pytree output.
        argnums: which positional argument(s) to differentiate (int or tuple).
        has_aux: ``f`` returns ``(output, aux)``; the callable then returns ``(jacobian, aux)``,
            the aux as plain arrays (``jax.jacfwd(..., has_aux=True)``).
        mode: ``"vector"`` (the one-tangent pass vectorised by ``jax.vmap``,
            as ``jax.jacfwd``), ``"batched"`` (one pass, tangents with a
            leading axis of n) or ``"passes"`` (n passes, one unit tangent each).
        chunk_size: how many unit tangents one pass carries (``"vector"`` and
            ``"batched"``); None chooses from n and the free memory
            (:func:`default_chunk_size`). Results do not depend on it.
        staged: as for :func:`value_and_grad`.
    Returns:
        A callable returning the Jacobian in ``jax.jacobian``'s layout: for an
        output leaf of shape ``so`` and an input leaf of shape ``si``, a block
        of shape ``so + si``.
    Example:
        >>> jacobian(lambda x: x * x)(jnp.arange(3.0))   # diag(0, 2, 4)
    """
    _api.refuse_holomorphic(holomorphic, "forward.jacobian")
    _check_mode(mode, "forward.jacobian")
    _check_chunk_size(chunk_size, "forward.jacobian")

    @_api.differentiating(f, argnums, "forward.jacobian")
    def wrapped(call):
        result = staging.FALLBACK
        if staged and not LISTENERS:
            result = staging.stage(_jacobian_body, call.fun, call.diff, "forward", RULES, (mode, chunk_size, has_aux))
        if result is staging.FALLBACK:
            result = _jacobian_body(call.fun, call.diff, None, mode, chunk_size, has_aux)
        return result if has_aux else result[0]

    return wrapped


def _jacobian_body(fun, diff, extra, mode, chunk_size, has_aux):
    """``(jacobian, aux)`` (see :func:`_value_and_grad_body`)."""
    return _api.with_aux(lambda g: _jacobian_of(_api.Call(g, (diff,), {}, _WHOLE, "forward.jacobian"), mode,
                                                chunk_size), fun, "forward.jacobian", has_aux)


def _jacobian_of(call, mode, chunk_size):
    out, columns = _columns(call, mode, chunk_size)
    return _layout(columns, out, call.diff)


jacfwd = jacobian


def value_and_grad(f: Callable, argnums=0, *, has_aux: bool = False, mode: str = "vector",
                   chunk_size: int | None = None, staged: bool = True, holomorphic: bool = False) -> Callable:
    """A function returning ``(f(*args), gradient)`` for scalar-valued ``f``.

    Forward mode needs one Jacobian column per input coordinate: n passes
    (``mode="passes"``) or one pass with n tangents (``mode="vector"`` or
    ``"batched"``, see :func:`jacobian`).

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple).
        has_aux: ``f`` returns ``(output, aux)``: only the output is differentiated, and the
            callable returns ``((value, aux), gradient)``, the aux as plain arrays (as JAX).
        mode: ``"vector"`` (default), ``"batched"`` or ``"passes"``.
        chunk_size: unit tangents per pass (see :func:`jacobian`).
        staged: on concrete inputs, record ``f`` abstractly on every call and run this engine's
            passes as one compiled program, cached by the recording's structure
            (:mod:`diffcompare.staging`; the same answer, never stale). ``False`` runs every
            primitive op by op. ``f`` that needs a concrete value runs op by op either way.
        holomorphic: ``jax.grad``'s option for complex functions: ``True`` is refused, as are complex inputs
            (every method but the JAX reference differentiates real functions of real inputs).
    Returns:
        A callable returning ``(value, gradient)`` (``((value, aux), gradient)`` with ``has_aux``);
        the gradient has the structure of the differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: x ** 2)(3.0)
        (Array(9., ...), Array(6., ...))
        >>> value_and_grad(lambda x: (x ** 2, {"x": x}), has_aux=True)(3.0)
        ((Array(9., ...), {'x': Array(3., ...)}), Array(6., ...))
    """
    _api.refuse_holomorphic(holomorphic, "forward.value_and_grad")
    _check_mode(mode, "forward.grad")
    _check_chunk_size(chunk_size, "forward.grad")

    @_api.differentiating(f, argnums, "forward.grad")
    def wrapped(call):
        result = staging.FALLBACK
        if staged and not LISTENERS:  # the teaching counters count primitives op by op
            result = staging.stage(_value_and_grad_body, call.fun, call.diff, "forward", RULES,
                                   (mode, chunk_size, has_aux))
        if result is staging.FALLBACK:
            result = _value_and_grad_body(call.fun, call.diff, None, mode, chunk_size, has_aux)
        (out, gradient), aux = result
        return _api.value_and_grad_result(out, gradient, aux, call.diff, has_aux)

    return wrapped


def _value_and_grad_body(fun, diff, extra, mode, chunk_size, has_aux):
    """``((value, gradient), aux)`` by forward passes: run op by op, or as a staged program's body, where
    ``fun`` is the replay of ``f``'s recording and ``diff`` the arrays."""
    return _api.with_aux(lambda g: _value_and_grad_of(_api.Call(g, (diff,), {}, _WHOLE, "forward.grad"), mode,
                                                      chunk_size), fun, "forward.grad", has_aux)


def _value_and_grad_of(call, mode, chunk_size):
    """``(f(...), gradient)`` by forward passes (run op by op, or staged as one program)."""
    leaves, treedef = jax.tree_util.tree_flatten(call.diff)
    if len(leaves) == 1 and dnp.size(leaves[0]) == 1:  # one input: one plain pass, its tangent is the gradient
        primal = _as_primal(leaves[0])
        out, tangent = _push(call.fun, treedef.unflatten([primal]), treedef.unflatten([_api.one_like(primal)]))
        _api.check_scalar_output(out, "forward.grad")
        (t,) = jax.tree_util.tree_leaves(tangent)
        if dnp.shape(t) != dnp.shape(primal):
            t = dnp.reshape(t, dnp.shape(primal))
        return out, treedef.unflatten([t])
    out, columns = _columns(call, mode, chunk_size)
    _api.check_scalar_output(out, "forward.grad")
    return out, _layout(columns, out, call.diff)


#: ``fun``'s one argument is the whole differentiated pytree
_WHOLE = _api.Selection((0,), False)


def grad(f: Callable, argnums=0, *, has_aux: bool = False, mode: str = "vector", chunk_size: int | None = None,
         staged: bool = True, holomorphic: bool = False) -> Callable:
    """The gradient of scalar-valued ``f`` (see :func:`value_and_grad`, also for ``staged``).

    Arguments:
        has_aux: ``f`` returns ``(output, aux)``; the callable returns ``(gradient, aux)``.
        argnums, mode, chunk_size, staged: as for :func:`value_and_grad`.
    Example:
        >>> grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    _api.refuse_holomorphic(holomorphic, "forward.grad")
    vg = value_and_grad(f, argnums, has_aux=has_aux, mode=mode, chunk_size=chunk_size, staged=staged)
    return _api.gradient_of(f, vg, "forward.grad", has_aux)


def hessian(f: Callable, argnums=0, *, has_aux: bool = False, mode: str = "vector",
            chunk_size: int | None = None, holomorphic: bool = False) -> Callable:
    """The Hessian, forward over forward: the Jacobian of the forward-mode Jacobian.

    The inner pass's duals hold the outer pass's duals; the traces' levels keep
    the two perturbations apart. Layout as ``jax.hessian``; with ``has_aux`` (``f`` returns
    ``(output, aux)``) the callable returns ``(hessian, aux)``.
    """
    _api.refuse_holomorphic(holomorphic, "forward.hessian")
    _check_mode(mode, "forward.hessian")
    inner = jacobian(f, argnums, has_aux=has_aux, mode=mode, chunk_size=chunk_size)
    outer = jacobian(inner, argnums, has_aux=has_aux, mode=mode, chunk_size=chunk_size)

    @_api.wraps(f, "forward.hessian")
    def wrapped(*args, **kwargs):
        return outer(*args, **kwargs)

    return wrapped


@_api.scoped("forward.vjp")
def vjp(f: Callable, *primals, has_aux: bool = False, mode: str = "vector"):
    """``(f(*primals), vjp_fn)`` through the full Jacobian: the expensive way.

    Forward mode has no backward sweep, so a vector-Jacobian product costs the
    whole Jacobian first (n tangents, where reverse mode needs one backward
    pass); ``vjp_fn(cotangent)`` then contracts it with the cotangent.

    Arguments:
        has_aux: ``f`` returns ``(output, aux)``; only the output is differentiated.
    Returns:
        ``(out, vjp_fn)`` (``(out, vjp_fn, aux)`` with ``has_aux``, the aux as plain arrays);
        ``vjp_fn(cotangent)`` returns a tuple with one cotangent per primal, as ``jax.vjp``.
    """
    _check_mode(mode, "forward.vjp")
    call = _api.prepare(f, primals, {}, tuple(range(len(primals))), "forward.vjp")
    (out, columns), aux = _api.with_aux(
        lambda g: _columns(dataclasses.replace(call, f=g), mode), f, "forward.vjp", has_aux)
    diff = jax.tree_util.tree_map(_as_primal, call.diff)

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "forward.vjp")
        leaves, treedef, offsets, sizes = _leaves_info(diff)
        cotangent = _api.float0_as_zeros(cotangent, _dtype(leaves[0]))
        n = sum(sizes)
        flat = jnp.zeros(n, _dtype(leaves[0]))
        for t, c in zip(jax.tree_util.tree_leaves(columns), jax.tree_util.tree_leaves(cotangent)):
            m = dnp.size(c)
            flat = flat + dnp.matmul(dnp.reshape(c, (m,)), dnp.reshape(t, (m, n)))
        parts = [
            dnp.reshape(flat[o : o + s], dnp.shape(leaf)).astype(_dtype(leaf))
            if not isinstance(flat, EngineValue)
            else dnp.reshape(flat[o : o + s], dnp.shape(leaf))
            for leaf, o, s in zip(leaves, offsets, sizes)
        ]
        return tuple(jax.tree_util.tree_unflatten(treedef, parts))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)
