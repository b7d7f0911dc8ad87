"""Evaluate a jaxpr with ``diffcompare.numpy``: the heart of :func:`~diffcompare.from_jax.from_jax`.

A jaxpr is JAX's static program: a list of equations ``outs = primitive[params] ins``.
:func:`eval_jaxpr` walks it once, in order (autodidax's ``eval_jaxpr``), and
for each equation

* binds the JAX primitive itself when no operand is an engine value: integer
  index arithmetic, constants and plain arrays run exactly as JAX runs them;
* otherwise looks the primitive up in :data:`~diffcompare.from_jax.table.TABLE`
  and applies the rule, which is written with ``dnp``, so the innermost engine
  (dual numbers, a tape, symbolic expressions, ...) sees our own primitives.

A primitive with no rule that meets an engine value is refused by name and by
the line of user code it came from; nothing is silently treated as a constant.

The table's higher-order rules (nested jaxprs, control flow, custom rules)
evaluate jaxprs themselves: this module hands them :func:`eval_jaxpr` when it is
imported, so the table never imports its interpreter.
"""

from __future__ import annotations

from jax.extend.core import Literal

from .._core import EngineValue
from ..errors import DiffCompareError
from . import _calls
from ._source import UnsupportedJaxPrimitiveError, user_line
from .table import TABLE


def _read(env, var):
    return var.val if isinstance(var, Literal) else env[var]


def eval_jaxpr(jaxpr, consts, args) -> list:
    """The outputs of the open ``jaxpr`` at ``consts`` and ``args`` (arrays or engine values)."""
    env = {}
    for var, value in zip(jaxpr.constvars, consts):
        env[var] = value
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        invals = [_read(env, v) for v in eqn.invars]
        prim = eqn.primitive
        if any(isinstance(v, EngineValue) for v in invals):
            rule = TABLE.get(prim.name)
            if rule is None:
                raise UnsupportedJaxPrimitiveError(prim.name, user_line(eqn))
            try:
                outs = rule(eqn, *invals)
            except DiffCompareError as err:
                _note_once(err, eqn)
                raise
        else:
            outs = prim.bind(*invals, **prim.get_bind_params(eqn.params))
        if not prim.multiple_results:
            outs = (outs,)
        for var, value in zip(eqn.outvars, outs):
            env[var] = value  # a dropped output (`_`) is a var no equation reads
    return [_read(env, v) for v in jaxpr.outvars]


def eval_closed(closed, args) -> list:
    """The outputs of a ``ClosedJaxpr`` at ``args``."""
    return eval_jaxpr(closed.jaxpr, closed.consts, args)


def _note_once(err: BaseException, eqn) -> None:
    """Name the JAX primitive and the user's line in an error raised inside a rule (the innermost only)."""
    if getattr(err, "_from_jax_noted", False):
        return
    where = user_line(eqn)
    note = f"(from_jax: JAX primitive '{eqn.primitive.name}'" + (f" at {where})" if where else ")")
    if err.args and isinstance(err.args[0], str):
        err.args = (f"{err.args[0]}\n{note}",) + err.args[1:]
    else:
        err.add_note(note)
    err._from_jax_noted = True


_calls.evaluate_with(eval_jaxpr)  # the table's higher-order rules (jit, cond, scan, custom rules) evaluate with it
