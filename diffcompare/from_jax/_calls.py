"""Call-like and control-flow primitives: nested jaxprs, custom derivatives, cond, while and scan.

* ``jit`` (``pjit``), ``closed_call``, ``checkpoint``: the inner jaxpr is evaluated in place.
* ``custom_jvp_call``: ``jax.nn.relu`` maps to ``dnp.relu``; any other keeps
  its own rule where the engine can use one (so ``softplus`` gets JAX's
  derivative even where JAX's rule rounds, as at logaddexp(1e16, 1e16)): forward mode applies the JVP rule (its
  jaxpr, evaluated with ``dnp``), reverse mode records one tape node whose
  pullback is the VJP of that rule's linear part.
* ``custom_vjp_call``: reverse mode records one node whose pullback is the
  user's ``bwd``; forward mode refuses, as JAX does.
* Symbolic differentiation cannot apply a rule and refuses both, except for
  JAX's own functions with a primitive of ours (``relu``; ``logaddexp``, and
  so ``softplus``, as ``dnp.logsumexp``); the complex step, a black box,
  evaluates the primal function.
* ``cond``, ``while``, ``scan`` (``fori_loop`` is one of the last two): run in
  Python with the concrete predicate, as the engines run Python control flow.
  Symbolic tracing follows them when the predicate does not depend on the
  input (a ``fori_loop`` with fixed bounds, a ``scan``), and refuses with
  ``ConcretizationError`` otherwise.
"""

from __future__ import annotations

import os
import types

import jax
import jax.numpy as jnp

from .. import numpy as dnp
from .._core import EngineValue, concrete, top_trace
from ..errors import ConcretizationError, UnsupportedOperationError
from ..forward.custom import apply_jvp_rule
from ..forward.dual import ForwardTrace
from ..reverse import api as reverse_api
from ..reverse.tape import Node, ReverseTrace
from ._source import Tracer, user_line

RULES: dict = {}


def _no_evaluator(jaxpr, consts, args):
    raise RuntimeError("from_jax: the interpreter has not handed its evaluator to the table (import from_jax)")


#: ``eval_jaxpr(jaxpr, consts, args)``: how a nested jaxpr is evaluated with ``dnp``. The interpreter, which looks
#: these rules up, hands itself in (:func:`evaluate_with`), so the table does not import its interpreter.
_eval_jaxpr = _no_evaluator


def evaluate_with(eval_jaxpr) -> None:
    """Set the evaluator the higher-order rules use (called once by :mod:`.interpreter`)."""
    global _eval_jaxpr
    _eval_jaxpr = eval_jaxpr


def eval_jaxpr(jaxpr, consts, args) -> list:
    return _eval_jaxpr(jaxpr, consts, args)


def eval_closed(closed, args) -> list:
    """The outputs of a ``ClosedJaxpr`` at ``args``."""
    return _eval_jaxpr(closed.jaxpr, closed.consts, args)


# derived jaxprs (a custom rule traced once), keyed by the equation's id; the equation is kept alive with them
_DERIVED: dict[tuple, tuple] = {}
_DERIVED_MAX = 4096


def _derived(eqn, kind: str, build):
    key = (id(eqn), kind)
    hit = _DERIVED.get(key)
    if hit is None or hit[0] is not eqn:
        if len(_DERIVED) >= _DERIVED_MAX:
            _DERIVED.clear()
        hit = _DERIVED[key] = (eqn, build())
    return hit[1]


def _engine(values) -> bool:
    return any(isinstance(v, EngineValue) for v in values)


# ---------------------------------------------------------------- nested jaxprs


def _call(param: str):
    def rule(eqn, *args):
        inner = eqn.params[param]
        return eval_closed(inner, args) if hasattr(inner, "consts") else eval_jaxpr(inner, (), args)

    return rule


def _jit(eqn, *args):
    standin = JIT_STANDINS.get(eqn.params.get("name"))
    if standin is not None and _from_jax_itself(eqn.params["jaxpr"].jaxpr) and top_trace(args).engine == "symbolic":
        return standin(eqn.params["jaxpr"].jaxpr, *args)
    return eval_closed(eqn.params["jaxpr"], args)


def _log_softmax(jaxpr, x):
    # JAX's log_softmax shifts by stop_gradient(max), which symbolic tracing cannot evaluate; x − logsumexp(x)
    # is the same function, with the axes JAX reduced over
    (axes,) = [e.params["axes"] for e in jaxpr.eqns if e.primitive.name == "reduce_max"][:1]
    return [x - dnp.logsumexp(x, axis=tuple(int(a) for a in axes), keepdims=True)]


#: jit-ed helpers of JAX itself that symbolic tracing evaluates as our primitives: name -> rule(inner jaxpr, *args)
JIT_STANDINS = {"log_softmax": _log_softmax}


def _from_jax_itself(jaxpr) -> bool:
    source = getattr(jaxpr.debug_info, "func_src_info", None) or ""
    return f"{os.sep}jax{os.sep}" in source


RULES["jit"] = RULES["pjit"] = _jit
RULES["checkpoint"] = RULES["remat"] = RULES["remat2"] = _call("jaxpr")  # jax.checkpoint: recomputing is the
# engine's business (reverse.checkpoint); evaluated in place, the derivative is the same


def _debug(eqn, *args):
    # jax.debug.print / callback: shown with the concrete values (as JAX shows primals); nothing to differentiate
    try:
        values = [concrete(a) for a in args]
    except ConcretizationError:  # symbolic tracing has no numbers to show
        return []
    return eqn.primitive.bind(*values, **eqn.params)


RULES["debug_print"] = RULES["debug_callback"] = _debug
RULES["closed_call"] = RULES["core_call"] = _call("call_jaxpr")


# ---------------------------------------------------------------- custom derivatives


def _logaddexp(a, b):
    # log(e^a + e^b) as a logsumexp over a new axis: the stable primitive, smooth at a == b
    shape = jnp.broadcast_shapes(dnp.shape(a), dnp.shape(b))
    return [dnp.logsumexp(dnp.stack([dnp.broadcast_to(a, shape), dnp.broadcast_to(b, shape)]), axis=0)]


#: custom_jvp functions of JAX that are one primitive of ours, with JAX's derivative: name -> rule
KNOWN_CUSTOM_JVP = {
    "relu": lambda x: [dnp.relu(x)],
}
#: stand-ins for engines that cannot apply a JVP rule (symbolic): the same function, smooth where JAX's is
STANDINS = {
    "logaddexp": _logaddexp,
}


def _debug_info(eqn):
    return eqn.params["call_jaxpr"].jaxpr.debug_info


def custom_name(eqn) -> str:
    """The name of the function a custom_jvp/custom_vjp call wraps (``relu``, ``logaddexp``, ...)."""
    source = getattr(_debug_info(eqn), "func_src_info", None) or ""
    return source.split(" at ")[0] or "custom"


def _known_rule(eqn, table):
    """Our primitive for a custom_jvp function of JAX itself (a user's function of the same name is left alone)."""
    if not _from_jax_itself(eqn.params["call_jaxpr"].jaxpr) or eqn.params["num_consts"]:
        return None
    return table.get(custom_name(eqn))


def _zeros_like(v):
    return jnp.zeros(dnp.shape(v), dnp.dtype_of(v))


def _pullbacks(trace, args, outs, name, linear_map, nconsts):
    """One tape node per output; node i's pullback is the VJP of ``linear_map`` (of the primal
    inputs' tangents or cotangents) at the cotangent g in slot i."""
    def pullback_for(i):
        def pullback(g):
            zeros = [_zeros_like(v) for v in args[nconsts:]]
            _, vjp_fn = reverse_api.vjp(lambda *ts: linear_map(list(ts)), *zeros)
            cts = [_zeros_like(o) for o in outs]
            cts[i] = g
            return (None,) * nconsts + tuple(vjp_fn(cts))

        return pullback

    return [Node(trace, out, args, name, pullback=pullback_for(i)) for i, out in enumerate(outs)]


def _custom_jvp_call(eqn, *args):
    p = eqn.params
    nconsts, call = p["num_consts"], p["call_jaxpr"]
    name = custom_name(eqn)
    known = _known_rule(eqn, KNOWN_CUSTOM_JVP)
    if known is not None:
        return known(*args)
    consts, primals = list(args[:nconsts]), list(args[nconsts:])
    if p["symbolic_zeros"] or _engine(consts):
        return eval_closed(call, args)  # the rule does not see the consts' derivatives: differentiate the primal
    jaxpr, jconsts, out_zeros = _derived(eqn, "jvp", lambda: p["jvp_jaxpr_fun"].call_wrapped(*([False] * len(primals))))
    n_out = len(out_zeros)

    def jvp_rule(ps, ts):
        out = eval_jaxpr(jaxpr, jconsts, list(ps) + list(ts))
        nonzero = iter(out[n_out:])
        return out[:n_out], [_zeros_like(o) if z else next(nonzero) for o, z in zip(out[:n_out], out_zeros)]

    trace = top_trace(args)
    if getattr(trace, "staging", False):  # a staged recording cannot apply the rule: the call runs op by op
        trace.fail("custom_jvp")
    if isinstance(trace, ForwardTrace):
        return list(apply_jvp_rule(trace, types.SimpleNamespace(jvp=jvp_rule), tuple(primals)))
    if isinstance(trace, ReverseTrace):
        values = [trace.lower(v) for v in primals]
        outs = eval_closed(call, consts + values)
        return _pullbacks(trace, args, outs, f"custom_jvp({name})", lambda ts: jvp_rule(values, ts)[1], nconsts)
    standin = _known_rule(eqn, STANDINS)
    if standin is not None:
        return standin(*args)
    _refuse_without_rule(trace, eqn, "custom_jvp", "JVP")
    return eval_closed(call, args)


def _refuse_without_rule(trace, eqn, kind: str, rule: str) -> None:
    """Symbolic differentiation cannot apply a user's rule: differentiating the primal instead could differ
    from JAX (at a kink, or where the rule is not the primal's derivative), so it refuses."""
    if trace.engine == "forward" or trace.engine.startswith("symbolic"):  # the array level too
        raise UnsupportedOperationError(
            f"{kind} function '{custom_name(eqn)}'", trace.engine,
            f"it has a custom {rule} rule (at {user_line(eqn) or 'the JAX function'}) that this engine cannot "
            "apply, and its primal's derivative may differ from JAX's there; use "
            + ("reverse mode (it applies the rule)" if kind == "custom_vjp"
               else "forward or reverse mode (they apply the rule)"))


def _custom_vjp_call(eqn, *args):
    p = eqn.params
    nconsts, call = p["num_consts"], p["call_jaxpr"]
    consts, primals = list(args[:nconsts]), list(args[nconsts:])
    trace = top_trace(args)
    if getattr(trace, "staging", False):  # a staged recording cannot apply the rule: the call runs op by op
        trace.fail("custom_vjp")
    if not isinstance(trace, ReverseTrace):  # JAX refuses forward mode here too; the complex step sees the primal
        _refuse_without_rule(trace, eqn, "custom_vjp", "VJP")
        return eval_closed(call, args)
    if _engine(consts) or p["symbolic_zeros"]:
        return eval_closed(call, args)  # the rule does not see the consts' derivatives: differentiate the primal
    fwd_jaxpr, fwd_consts = _derived(eqn, "fwd", lambda: p["fwd_jaxpr_thunk"].call_wrapped(*([True] * len(primals))))
    values = [trace.lower(v) for v in primals]
    res_and_out = eval_jaxpr(fwd_jaxpr, fwd_consts, values)
    _, res_tree, forwarded = p["out_trees"]()
    n_res = res_tree.num_leaves - sum(f is not None for f in forwarded)
    fresh = iter(res_and_out[:n_res])
    res = [next(fresh) if f is None else values[f] for f in forwarded]
    outs = res_and_out[n_res:]
    bwd = _derived(eqn, "bwd", lambda: _trace_bwd(p["bwd"], res, outs))
    name = f"custom_vjp({custom_name(eqn)})"

    def pullback_for(i):
        def pullback(g):
            cts = [_zeros_like(o) for o in outs]
            cts[i] = g
            return (None,) * nconsts + tuple(eval_closed(bwd, list(res) + cts))

        return pullback

    return [Node(trace, out, args, name, pullback=pullback_for(i)) for i, out in enumerate(outs)]


def _trace_bwd(bwd, res, outs):
    """The user's ``bwd`` as a jaxpr (so that it runs on engine values too); symbolic zeros become zeros."""

    def run(*flat):
        cts = bwd.call_wrapped(*flat)
        return [jnp.zeros(c.aval.shape, c.aval.dtype) if type(c).__name__ == "Zero" else c for c in cts]

    specs = [jax.ShapeDtypeStruct(dnp.shape(v), dnp.dtype_of(v)) for v in list(res) + list(outs)]
    return jax.make_jaxpr(run)(*specs)


RULES["custom_jvp_call"] = _custom_jvp_call
RULES["custom_vjp_call"] = RULES["custom_vjp_call_jaxpr"] = _custom_vjp_call


# ---------------------------------------------------------------- control flow


def _decide(value, eqn, what: str):
    """The concrete value of a predicate or branch index, or a clear error saying why there is none."""
    try:
        value = concrete(value)
    except ConcretizationError as err:
        raise ConcretizationError(
            f"{what} at {user_line(eqn) or 'the JAX function'}: symbolic tracing cannot decide its "
            "predicate, which depends on the input; differentiate this function with finite_diff, forward or "
            "reverse (they follow the branch taken), or write the choice with jnp.where"
        ) from err
    if isinstance(value, Tracer):
        raise ConcretizationError(
            f"{what} at {user_line(eqn) or 'the JAX function'}: its predicate is traced (the method runs under "
            "jax.jit), so the branch or trip count cannot be chosen; call the method outside jax.jit"
        )
    return value


def _cond(eqn, index, *ops):
    branches = eqn.params["branches"]
    i = int(_decide(index, eqn, "lax.cond"))
    return eval_closed(branches[min(max(i, 0), len(branches) - 1)], ops)


def _while(eqn, *args):
    p = eqn.params
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    cond_consts, body_consts, carry = list(args[:nc]), list(args[nc:nc + nb]), list(args[nc + nb:])
    while bool(_decide(eval_closed(p["cond_jaxpr"], cond_consts + carry)[0], eqn, "lax.while_loop")):
        carry = eval_closed(p["body_jaxpr"], body_consts + carry)
    return carry


def _scan(eqn, *args):
    p = eqn.params
    nconsts, ncarry, length = p["num_consts"], p["num_carry"], int(p["length"])
    consts, carry, xs = list(args[:nconsts]), list(args[nconsts:nconsts + ncarry]), args[nconsts + ncarry:]
    steps = []
    for i in (reversed(range(length)) if p["reverse"] else range(length)):
        x_i = [dnp.getitem(x, i) if isinstance(x, EngineValue) else x[i] for x in xs]
        out = eval_closed(p["jaxpr"], consts + carry + x_i)
        carry = out[:ncarry]
        steps.append(out[ncarry:])
    if p["reverse"]:
        steps.reverse()
    ys = []
    for j, var in enumerate(eqn.outvars[ncarry:]):
        column = [step[j] for step in steps]
        if not column:
            ys.append(jnp.zeros(var.aval.shape, var.aval.dtype))
        else:
            ys.append(dnp.stack(column) if _engine(column) else jnp.stack(column))
    return carry + ys


RULES["cond"] = _cond
RULES["while"] = _while
RULES["scan"] = _scan
