"""The method interface of reverse mode, with JAX's calling conventions.

``vjp`` is the engine's one entry point: record ``f`` on a fresh tape, return
its output and a function that sweeps any cotangent back. Everything else is
built from it:

* ``grad`` / ``value_and_grad``: ``vjp`` with cotangent 1 (one forward pass,
  one sweep);
* ``jacobian``: one forward pass, one sweep per output entry (``jax.jacrev``);
* ``hessian``: ``jacobian`` of ``grad``, reverse over reverse: the inner sweep
  runs on the outer tape's nodes, so it is recorded and swept in turn;
* ``jvp``: the double-VJP trick. ``vjp_fn`` is linear in the cotangent ``u``;
  recording ``u -> vjp_fn(u)`` on a second tape and sweeping that tape with the
  tangent ``v`` gives ``(Jᵀ)ᵀ v = J v``. Cost: one forward pass and two
  backward sweeps (about 3-4 forward passes' work), against one pass for the
  forward engine: forward mode is the right tool for a JVP.

``hvp`` (forward over reverse) needs the forward engine too: it lives in
:mod:`diffcompare.mixed`, which also offers it as ``diffcompare.reverse.hvp``.

All of them run under ``jax.jit``: the tape is built at trace time from
tracers, and XLA compiles the whole backward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _api, staging
from .. import numpy as dnp
from .._core import EngineValue, any_engine_value
from ..errors import InvalidOptionError
from .rules import RULES
from .tape import Node, ReverseTrace, backward

_is_node = lambda v: isinstance(v, Node)  # noqa: E731
_is_engine = lambda v: isinstance(v, EngineValue)  # noqa: E731


def _record(f, primals):
    """Run ``f`` on input nodes of a new tape: (trace, input nodes per primal, output)."""
    trace = ReverseTrace()
    inputs = jax.tree_util.tree_map(trace.input, tuple(primals))
    out = f(*inputs)
    return trace, inputs, out


def _strip(trace, out):
    """The output with this tape's layer removed (plain arrays or outer values)."""

    def one(v):
        if trace.owns(v):
            return v.value
        return v if isinstance(v, EngineValue) else jnp.asarray(v)

    return jax.tree_util.tree_map(one, out, is_leaf=_is_node)


def _sweep(trace, inputs, out_leaves, cts):
    """The inputs' adjoints (zeros for an input the output does not depend on), one sweep."""
    leaves = backward(trace, out_leaves, cts)

    def adjoint(node):
        g = leaves.get(id(node))
        return dnp.zeros_like(node.value) if g is None else g

    return jax.tree_util.tree_map(adjoint, inputs, is_leaf=_is_node)


def _pullback(trace, inputs, out, fname):
    out_leaves = jax.tree_util.tree_leaves(out, is_leaf=_is_node)
    out_plain = _strip(trace, out)

    def vjp_fn(cotangent):
        _api.check_cotangent(out_plain, cotangent, fname)
        cts = [_api.as_cotangent(c, o) for c, o in zip(jax.tree_util.tree_leaves(cotangent),
                                                       jax.tree_util.tree_leaves(out_plain))]
        return _sweep(trace, inputs, out_leaves, cts)

    return out_plain, vjp_fn


@_api.scoped("reverse.vjp")
def vjp(f: Callable, *primals, has_aux: bool = False):
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one cotangent per primal, as ``jax.vjp``.

    Arguments:
        f: a function written with ``diffcompare.numpy``; any output pytree.
        primals: its arguments (arrays, floats or pytrees of them).
        has_aux: ``f`` returns ``(output, aux)``; only the output is recorded for the sweep.
    Returns:
        The output (plain arrays) and ``vjp_fn``, which sweeps the recorded
        tape once per call; calling it again gives the same answer. With ``has_aux``:
        ``(out, vjp_fn, aux)``, the aux as plain arrays (as ``jax.vjp``).
    Example:
        >>> out, pull = vjp(dnp.sin, 1.0)
        >>> pull(1.0)
        (Array(0.5403..., ...),)
        >>> out, pull, aux = vjp(lambda x: (x ** 2, x + 1), 3.0, has_aux=True)   # aux: Array(4.)
    """
    return _vjp(f, primals, has_aux, "reverse.vjp")


def _vjp(f, primals, has_aux, name):
    """:func:`vjp` in the caller's scope (``reverse.jvp``'s recordings are named after it)."""
    _api.check_differentiable(primals, name)
    (trace, inputs, out), aux = _api.with_aux(lambda g: _record(g, primals), f, name, has_aux)
    out, vjp_fn = _pullback(trace, inputs, out, name)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _value_and_grad_body(fun, diff, extra, name, has_aux):
    """``((fun(diff), gradient), aux)``: one recording, one sweep (run op by op, or staged as one program)."""
    (trace, inputs, out), aux = _api.with_aux(lambda g: _record(g, (diff,)), fun, name, has_aux)
    out_plain = _strip(trace, out)
    _api.check_scalar_output(out_plain, name)
    # the cotangent 1 needs none of vjp_fn's checks: one sweep straight away
    out_leaves = jax.tree_util.tree_leaves(out, is_leaf=_is_node)
    (gradient,) = _sweep(trace, inputs, out_leaves, [_api.one_like(out_plain)])
    return (out_plain, gradient), aux


def value_and_grad(f: Callable, argnums=0, *, has_aux: bool = False, staged: bool = True,
                   holomorphic: bool = False) -> Callable:
    """A function returning ``(f(*args), gradient)``: one forward pass, one sweep.

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple).
        has_aux: ``f`` returns ``(output, aux)``: only the output is differentiated, and the
            callable returns ``((value, aux), gradient)``, the aux as plain arrays (as JAX).
        staged: on concrete inputs, record ``f`` abstractly on every call and run this engine's
            recording and sweep as one compiled program, cached by the recording's structure
            (:mod:`diffcompare.staging`; the same answer, never stale). ``False`` runs every
            primitive op by op, as the tape printouts show it. ``f`` that needs a concrete value
            (an ``if`` on a value) runs op by op either way.
        holomorphic: ``jax.grad``'s option for complex functions: ``True`` is refused, as are complex inputs
            (every method but the JAX reference differentiates real functions of real inputs).
    Returns:
        A callable with ``f``'s signature; the gradient has the structure of
        the differentiated argument(s) (a tuple when ``argnums`` is a tuple).
    Example:
        >>> value_and_grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        (Array(5., ...), Array([0., 2., 4.], ...))
        >>> value_and_grad(lambda x: (x ** 2, {"x": x}), has_aux=True)(3.0)
        ((Array(9., ...), {'x': Array(3., ...)}), Array(6., ...))
    """
    _api.refuse_holomorphic(holomorphic, "reverse.value_and_grad")

    return _value_and_grad(f, argnums, has_aux, staged, "reverse.value_and_grad")


def _value_and_grad(f, argnums, has_aux, staged, name):
    @_api.differentiating(f, argnums, name)
    def wrapped(call):
        result = staging.FALLBACK
        if staged:
            result = staging.stage(_value_and_grad_body, call.fun, call.diff, "reverse", RULES,
                                   (call.name, has_aux))
        if result is staging.FALLBACK:
            result = _value_and_grad_body(call.fun, call.diff, None, call.name, has_aux)
        (out, gradient), aux = result
        return _api.value_and_grad_result(out, gradient, aux, call.diff, has_aux)

    return wrapped


def grad(f: Callable, argnums=0, *, has_aux: bool = False, staged: bool = True, holomorphic: bool = False) -> Callable:
    """The gradient of scalar-valued ``f`` (see :func:`value_and_grad`, also for ``staged``).

    Arguments:
        has_aux: ``f`` returns ``(output, aux)``; the callable returns ``(gradient, aux)``.
    Example:
        >>> grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    _api.refuse_holomorphic(holomorphic, "reverse.grad")
    vg = _value_and_grad(f, argnums, has_aux, staged, "reverse.grad")  # errors name what the user called
    return _api.gradient_of(f, vg, "reverse.grad", has_aux)


@_api.scoped("reverse.jvp")
def jvp(f: Callable, primals, tangents, *, has_aux: bool = False):
    """``(f(*primals), J @ tangents)`` by the double-VJP trick (see the module docstring for its cost).

    Arguments:
        primals: tuple of the arguments; tangents: tuple of the same structure.
        has_aux: ``f`` returns ``(output, aux)``; the result is then ``(out, tangent_out, aux)``.
    """
    _api.check_jvp_arguments(primals, tangents, "reverse.jvp")
    primals = tuple(primals)
    tangents = jax.tree_util.tree_map(
        lambda p, t: t if isinstance(t, EngineValue) else jnp.asarray(t, dtype=dnp.dtype_of(p)),
        primals,
        tuple(tangents),
        is_leaf=_is_engine,
    )
    out, vjp_fn, *aux = _vjp(f, primals, has_aux, "reverse.jvp")
    real = jnp.result_type(*[dnp.dtype_of(p) for p in jax.tree_util.tree_leaves(primals, is_leaf=_is_engine)])

    def varies(o):  # a bool or integer output cannot vary: its tangent is float0, as JAX's
        return jnp.issubdtype(dnp.dtype_of(o), jnp.inexact)

    zero = jax.tree_util.tree_map(lambda o: dnp.zeros_like(o) if varies(o) else jnp.zeros(dnp.shape(o), real),
                                  out, is_leaf=_is_engine)
    # u -> vjp_fn(u) is linear; its own VJP applied to the tangents is J v
    _, vjp_of_vjp = _vjp(vjp_fn, (zero,), False, "reverse.jvp")
    (tangent_out,) = vjp_of_vjp(tangents)
    tangent_out = _api.float0_tangents(out, tangent_out)
    return (out, tangent_out, *aux)


def _flat(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    if any_engine_value(leaves):
        return dnp.concatenate([dnp.reshape(leaf, (-1,)) for leaf in leaves])
    return jnp.concatenate([jnp.ravel(jnp.asarray(leaf)) for leaf in leaves])


def jacobian(f: Callable, argnums=0, *, has_aux: bool = False, mode: str = "rev", vectorize: bool = True,
             staged: bool = True, holomorphic: bool = False) -> Callable:
    """The full Jacobian, laid out as ``jax.jacobian``: one forward pass, one sweep per output entry.

    Arguments:
        f: any function of arrays or pytrees; argnums: as for ``grad``.
        has_aux: ``f`` returns ``(output, aux)``; the callable returns ``(jacobian, aux)``.
        mode: ``"rev"`` only (the forward engine offers ``"fwd"``).
        vectorize: run the m sweeps (one per output entry, cotangent e_i) as
            one batched sweep with ``jax.vmap``, as ``jax.jacrev`` does: the
            same arithmetic, one Python pass. ``False``, or a tape holding
            another engine's values (nested derivatives), sweeps row by row.
        staged: as for :func:`value_and_grad`.
    """
    _api.refuse_holomorphic(holomorphic, "reverse.jacobian")
    if mode != "rev":
        raise InvalidOptionError(f"reverse.jacobian: mode must be 'rev', got {mode!r}; use diffcompare.forward")

    @_api.differentiating(f, argnums, "reverse.jacobian")
    def wrapped(call):
        result = staging.FALLBACK
        if staged:
            result = staging.stage(_jacobian_body, call.fun, call.diff, "reverse", RULES,
                                   (call.name, vectorize, has_aux))
        if result is staging.FALLBACK:
            result = _jacobian_body(call.fun, call.diff, None, call.name, vectorize, has_aux)
        return result if has_aux else result[0]

    return wrapped


jacrev = jacobian


def _jacobian_body(fun, diff, extra, name, vectorize, has_aux):
    """``(jacobian, aux)`` of ``fun`` at ``diff``: one recording, one sweep per output entry."""
    (trace, inputs, out), aux = _api.with_aux(lambda g: _record(g, (diff,)), fun, name, has_aux)
    return _jacobian_of(trace, inputs, out, diff, name, vectorize), aux


def _jacobian_of(trace, inputs, out, diff, name, vectorize):
    """The Jacobian from a recording (batched sweeps or row by row)."""
    out_plain, pull = _pullback(trace, inputs, out, name)
    out_leaves, out_tree = jax.tree_util.tree_flatten(out_plain)
    n = sum(dnp.size(leaf) for leaf in jax.tree_util.tree_leaves(diff))
    m = sum(dnp.size(o) for o in out_leaves)
    if not m or not n:  # an empty Jacobian, as JAX gives
        dtype = jnp.result_type(*[dnp.dtype_of(v) for v in jax.tree_util.tree_leaves(diff)])
        return _api.layout_jacobian(jnp.zeros((m, n), dtype), out_plain, diff)
    nested = any_engine_value(out_leaves, [node.value for node in trace.tape])
    if vectorize and not nested:
        dtype = jnp.result_type(*out_leaves)
        basis = jnp.eye(m, dtype=dtype)  # row i is the cotangent e_i, cut into the output's leaves
        cuts = np.cumsum([0] + [dnp.size(o) for o in out_leaves])
        cts = [basis[:, cuts[k] : cuts[k + 1]].reshape((m,) + dnp.shape(o)).astype(dnp.dtype_of(o))
               for k, o in enumerate(out_leaves)]
        jac = jax.vmap(lambda *c: _flat(pull(jax.tree_util.tree_unflatten(out_tree, list(c)))[0]))(*cts)
        return _api.layout_jacobian(jac, out_plain, diff)
    rows = []
    for k, o in enumerate(out_leaves):  # one sweep per output entry: a row of the Jacobian
        for i in range(dnp.size(o)):
            cts = [jnp.zeros(dnp.shape(leaf), dnp.dtype_of(leaf)) for leaf in out_leaves]
            cts[k] = cts[k].reshape(-1).at[i].set(1).reshape(dnp.shape(o))
            (row,) = pull(jax.tree_util.tree_unflatten(out_tree, cts))
            rows.append(_flat(row))
    return _api.layout_jacobian(dnp.stack(rows), out_plain, diff)


def hessian(f: Callable, argnums=0, *, has_aux: bool = False, holomorphic: bool = False) -> Callable:
    """The Hessian, reverse over reverse: ``jacobian(jacobian(f))`` (``jacobian(grad(f))`` for scalar ``f``).

    The inner sweep's rules run on the outer tape's nodes, so the backward
    pass is itself recorded; the outer tape is then swept once per entry of
    the gradient. Layout as ``jax.hessian``: for a vector-valued ``f``, m × n × n.
    With ``has_aux`` (``f`` returns ``(output, aux)``) the callable returns ``(hessian, aux)``.
    """
    _api.refuse_holomorphic(holomorphic, "reverse.hessian")

    @_api.differentiating(f, argnums, "reverse.hessian")
    def wrapped(call):
        nums = call.sel.jax_argnums
        inner = jacobian(f, nums, has_aux=has_aux)
        return jacobian(inner, nums, has_aux=has_aux)(*call.args, **call.kwargs)

    return wrapped
