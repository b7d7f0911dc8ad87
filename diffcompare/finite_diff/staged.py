"""Batched evaluations of f, compiled once per program and never stale.

Finite differences evaluate f at many perturbed points. Eager ``jax.vmap`` dispatches every
operation of f one at a time; a program compiled once and kept per function is fast but goes
stale when f reads a global, closure or attribute that changed. Both can be had:

1. on every call, f is traced afresh to a jaxpr at one point (``jax.make_jaxpr``), which reads
   every global, closure, attribute and nested value as it is *now*;
2. the compiled program is looked up by the jaxpr's *structure* (primitives, parameters,
   shapes, dtypes, literals, wiring), with the trace's constants (the arrays f read) passed in
   as inputs; so a changed value is a new input, and a changed program a new key.

``stop_gradient`` is honoured as JAX honours it: what passes through it is evaluated at the
unperturbed point, so the perturbation does not reach past it (``x * stop_gradient(x)`` has
derivative x, not 2x). The compiled program carries two environments: the perturbed rows
(batched) and the base point (not batched, so computed once).
"""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jex_core

from ..errors import UnsupportedOperationError

_CACHE_MAX = 64
_CACHE: collections.OrderedDict = collections.OrderedDict()

# primitives whose sub-programs are evaluated inline with both environments
_INLINE = {"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint", "custom_jvp_call", "custom_vjp_call",
           "custom_vjp_call_jaxpr"}
# their parameter holding the sub-program
_SUBPROGRAM = ("jaxpr", "call_jaxpr", "fun_jaxpr")
# parameters that are rules for derivatives: not used when evaluating values, left out of the key
_RULE_PARAMS = {"jvp_jaxpr_fun", "jvp_jaxpr_thunk", "fwd_jaxpr_thunk", "bwd", "out_trees", "jvp", "fwd",
                "symbolic_zeros"}


def _aval(v) -> tuple:
    aval = v.aval
    return (getattr(aval, "shape", ()), str(getattr(aval, "dtype", aval)), getattr(aval, "weak_type", False))


def _value_key(value, pins: list):
    """A hashable stand-in for a parameter value or literal (arrays by their bytes)."""
    if isinstance(value, (jex_core.ClosedJaxpr,)):
        return ("closed", structure(value.jaxpr, pins), tuple(_value_key(c, pins) for c in value.consts))
    if isinstance(value, jex_core.Jaxpr):
        return ("jaxpr", structure(value, pins))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_value_key(v, pins) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _value_key(v, pins)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))))
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        array = np.asarray(value)
        return ("array", array.shape, array.dtype.str, array.tobytes())
    try:
        hash(value)
    except TypeError:
        pins.append(value)
        return ("id", id(value))
    if callable(value) and not isinstance(value, type):
        pins.append(value)  # a callback's identity: kept alive, so the id is never reused
        return ("callable", id(value))
    return value


def structure(jaxpr, pins: list, lift_literals: bool = False) -> tuple:
    """The jaxpr's program without its constants' values: equal structures compute the same
    function of (constants, inputs). With ``lift_literals`` the scalar literals of the top level
    are keyed by shape and dtype only (they are passed in as inputs: a new coefficient in a
    closure is a new input, not a new program)."""
    ids: dict = {}

    def var(v):
        if isinstance(v, jex_core.Literal):
            return ("lit", _aval(v)) if lift_literals else ("lit", _value_key(v.val, pins), _aval(v))
        return ids.setdefault(v, len(ids))

    parts = [tuple(_aval(v) for v in jaxpr.constvars), tuple(_aval(v) for v in jaxpr.invars)]
    for v in (*jaxpr.constvars, *jaxpr.invars):
        var(v)
    for eqn in jaxpr.eqns:
        params = tuple((k, _value_key(p, pins)) for k, p in sorted(eqn.params.items()) if k not in _RULE_PARAMS)
        parts.append((eqn.primitive.name, params, tuple(var(v) for v in eqn.invars),
                      tuple((var(v), _aval(v)) for v in eqn.outvars)))
    parts.append(tuple(var(v) for v in jaxpr.outvars))
    return tuple(parts)


def literals(jaxpr) -> list:
    """The top level's literals, in the order :func:`evaluate` reads them."""
    return [v.val for eqn in jaxpr.eqns for v in eqn.invars if isinstance(v, jex_core.Literal)] + \
        [v.val for v in jaxpr.outvars if isinstance(v, jex_core.Literal)]


def _subprograms(eqn) -> list:
    found = jax.tree_util.tree_leaves(eqn.params, is_leaf=lambda p: isinstance(p, (jex_core.ClosedJaxpr,
                                                                                 jex_core.Jaxpr)))
    return [getattr(sub, "jaxpr", sub) for sub in found if isinstance(getattr(sub, "jaxpr", sub), jex_core.Jaxpr)]


def _has_stop_gradient(jaxpr) -> bool:
    return any(eqn.primitive.name == "stop_gradient" or any(map(_has_stop_gradient, _subprograms(eqn)))
               for eqn in jaxpr.eqns)


def _bind(eqn, values):
    with eqn.ctx.manager:
        out = eqn.primitive.bind(*values, **eqn.primitive.get_bind_params(eqn.params))
    return out if eqn.primitive.multiple_results else [out]


def evaluate(jaxpr, consts, lits, perturbed, base=None):
    """Evaluate ``jaxpr`` at the perturbed inputs. With ``base``, every ``stop_gradient`` takes its
    value from the base inputs (both environments are evaluated). ``lits``: the values of the
    top level's literals (:func:`literals`), or None to use the jaxpr's own.
    Returns the perturbed outputs and the base outputs (None without ``base``)."""
    envs = [{}] if base is None else [{}, {}]
    lits = iter(lits) if lits is not None else None

    def read(env, v):
        return v.val if isinstance(v, jex_core.Literal) else env[v]

    for env, args in zip(envs, (perturbed, base)):
        env.update(zip(jaxpr.constvars, consts))
        env.update(zip(jaxpr.invars, args))
    for eqn in [*jaxpr.eqns, None]:
        invars = eqn.invars if eqn is not None else jaxpr.outvars
        if lits is not None:  # the lifted literals, read in the order literals() lists them
            values = {i: next(lits) for i, v in enumerate(invars) if isinstance(v, jex_core.Literal)}
        else:
            values = {}
        ins = [[values[i] if i in values else read(env, v) for i, v in enumerate(invars)] for env in envs]
        if eqn is None:
            return ins[0], (ins[1] if base is not None else None)
        name, subs = eqn.primitive.name, _subprograms(eqn)
        if base is None or not any(map(_has_stop_gradient, subs)) and name != "stop_gradient":
            outs = [_bind(eqn, i) for i in ins]
        elif name == "stop_gradient":
            outs = [_bind(eqn, ins[1])] * 2
        elif name in _INLINE and len(subs) == 1:
            sub = next(eqn.params[k] for k in _SUBPROGRAM if k in eqn.params)
            outs = evaluate(subs[0], list(getattr(sub, "consts", ())), None, ins[0], ins[1])
        else:
            raise UnsupportedOperationError(
                f"stop_gradient inside {name}", "finite differences",
                "finite differences hold a stop_gradient at the unperturbed point only outside "
                f"{name}; differentiate with forward or reverse mode, or move the stop_gradient out of it")
        for env, out in zip(envs, outs):
            env.update(zip(eqn.outvars, out))


def _batched(jaxpr):
    """Rows of perturbed points in, rows out: ``(consts, lits, points, x0) -> f at each row``."""
    split = _has_stop_gradient(jaxpr)

    def row(consts, lits, p, x0):
        return evaluate(jaxpr, consts, lits, [p], [x0] if split else None)[0][0]

    return jax.vmap(row, in_axes=(None, None, 0, None))


def perturbed(x0, idx, steps, direction):
    """The points x0 + steps[r] * (e_idx[r] or direction), one per row: built inside the compiled
    program, so the (rows, n) matrix never crosses from the host."""
    if direction is None:
        onehot = jnp.arange(x0.size)[None, :] == idx[:, None]
        return x0[None, :] + steps[:, None] * onehot
    return x0[None, :] + steps[:, None] * direction[None, :]


def _batched_perturbed(jaxpr):
    batched = _batched(jaxpr)

    def run(consts, lits, x0, idx, steps, direction):
        return batched(consts, lits, perturbed(x0, idx, steps, direction), x0)

    return run


def evaluate_perturbed(row, x0, idx, steps, direction=None, chunk: int | None = None):
    """``row`` at x0 + steps[r]·(e_idx[r] or direction) for each r, ``chunk`` rows per compiled call
    (see :func:`evaluate_rows`; the points are made inside the program). ``row`` is traced once."""
    closed = jax.make_jaxpr(row)(jax.ShapeDtypeStruct(np.shape(x0), x0.dtype))
    run = _compiled(closed, ("perturbed",), _batched_perturbed)
    lits, rows = literals(closed.jaxpr), idx.shape[0]
    chunk = chunk or max(1, rows)
    parts = [run(closed.consts, lits, x0, idx[s : s + chunk], steps[s : s + chunk], direction)
             for s in range(0, rows, chunk)]
    return parts[0] if len(parts) == 1 else jnp.concatenate(parts)


def _compiled(closed, kind, build):
    """The compiled program for this trace's structure (built by ``build(jaxpr)`` on a miss)."""
    pins: list = []  # objects whose identity is in the key: kept alive with the entry
    key = (kind, structure(closed.jaxpr, pins, lift_literals=True),
           tuple((np.shape(c), str(getattr(c, "dtype", type(c)))) for c in closed.consts))
    entry = _CACHE.get(key)
    if entry is None:
        entry = _CACHE[key] = (jax.jit(build(closed.jaxpr)), pins)
        if len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return entry[0]


def evaluate_rows(row, x0, points, compile: bool = True):
    """``row`` at each row of ``points``, with ``stop_gradient`` held at the unperturbed point ``x0``.

    ``row`` is traced at ``x0`` on every call (never stale). With ``compile``, the rows run as
    one compiled call, reused for every trace of the same structure; without (inside an outer
    ``jax.jit`` or ``jax.vmap``, whose tracers ``x0`` and ``points`` are) they run through
    ``jax.vmap`` in the outer trace.
    """
    closed = jax.make_jaxpr(row)(jax.ShapeDtypeStruct(np.shape(x0), x0.dtype))
    lits = literals(closed.jaxpr)
    if not compile:
        return _batched(closed.jaxpr)(closed.consts, lits, points, x0)
    return _compiled(closed, ("points",), _batched)(closed.consts, lits, points, x0)
