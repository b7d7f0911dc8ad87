"""User-defined primitives: a function with a hand-written derivative, registered once.

The course's "user-defined functions with hand-written derivatives": decorate
a function written with ``diffcompare.numpy`` (or ``jax.numpy``) and give it a
JVP rule with JAX's signature ``rule(primals, tangents) -> (out, tangent_out)``::

    @forward.custom_jvp
    def softplus(x):
        return dnp.log1p(dnp.exp(x))

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t * dnp.sigmoid(x)

Then ``softplus`` is

* a plain function on floats and arrays (``jax.custom_jvp`` underneath, so
  ``jax.jvp``, ``jax.grad`` and ``jax.jit`` use the rule too);
* a primitive of forward mode: the engine applies the rule instead of
  differentiating the body (in vector mode, once per tangent column, or with
  ``jax.vmap`` when the values are plain arrays);
* open to other engines: an engine's trace that defines
  ``process_user_primitive(prim, args)`` handles it (the reverse engine can
  use ``prim.vjp_rule``, set with :meth:`UserPrimitive.defvjp`); an engine
  without that hook differentiates the body, as it would any ``dnp`` code.

Operands are arrays (positional arguments); outputs may be arrays or tuples of arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from .. import numpy as dnp
from .._core import any_engine_value, top_trace

#: name -> every user-defined primitive created in this session
USER_PRIMITIVES: dict[str, UserPrimitive] = {}


class UserPrimitive:
    """A function that engines treat as one primitive with user-given derivative rules.

    Attributes:
        name: the name shown in sweep tables and errors.
        fun: the implementation (used for values, and by engines without a hook).
        jvp_rule: ``rule(primals, tangents) -> (out, tangent_out)`` or None.
        vjp_rule: ``rule(primals, out, cotangent) -> tuple of cotangents`` or None
            (for the reverse engine; forward mode does not use it).
    """

    def __init__(self, fun: Callable, name: str | None = None):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = name or getattr(fun, "__name__", "user_primitive")
        self.jvp_rule: Callable | None = None
        self.vjp_rule: Callable | None = None
        self._jax: Callable = fun
        USER_PRIMITIVES[self.name] = self

    def defjvp(self, rule: Callable) -> Callable:
        """Set the JVP rule (usable as a decorator); JAX gets it through ``jax.custom_jvp``."""
        self.jvp_rule = rule
        with_rule = jax.custom_jvp(self.fun)
        with_rule.defjvp(rule)
        self._jax = with_rule
        return rule

    def defvjp(self, rule: Callable) -> Callable:
        """Set the VJP rule ``rule(primals, out, cotangent) -> tuple`` for reverse-mode engines."""
        self.vjp_rule = rule
        return rule

    def __call__(self, *args):
        trace = top_trace(args)
        if trace is None:
            return self._jax(*args)
        handler = getattr(trace, "process_user_primitive", None)
        if handler is None:
            return self.fun(*args)
        return handler(self, args)

    def __repr__(self) -> str:
        return f"UserPrimitive({self.name})"


def custom_jvp(fun: Callable | None = None, *, name: str | None = None):
    """Make ``fun`` a user-defined primitive; give its rule with ``@fun.defjvp``.

    Arguments:
        fun: the function (positional array arguments).
        name: its name in tables and errors (default: ``fun.__name__``).
    Returns:
        A :class:`UserPrimitive`, callable like ``fun``.
    """
    if fun is None:
        return lambda f: UserPrimitive(f, name)
    return UserPrimitive(fun, name)


def defjvp(fun: Callable, rule: Callable, name: str | None = None) -> UserPrimitive:
    """Register ``fun`` with its JVP ``rule`` in one call; returns the primitive."""
    prim = UserPrimitive(fun, name)
    prim.defjvp(rule)
    return prim


def apply_jvp_rule(trace, prim: UserPrimitive, args):
    """Forward mode's handling of a user primitive: the user's rule on (primals, tangents)."""
    pairs = [trace.split(a) for a in args]
    primals = tuple(p for p, _ in pairs)
    tangents = tuple(trace.zeros(p) if t is None else t for p, t in pairs)
    if not trace.batch:
        out, tangent_out = prim.jvp_rule(primals, tangents)
    elif not any_engine_value(primals, tangents):
        # the rule is linear in the tangents: vmap it over the batch axis
        out, tangent_out = jax.vmap(lambda *ts: prim.jvp_rule(primals, ts), out_axes=(None, 0))(*tangents)
    else:
        columns = [prim.jvp_rule(primals, tuple(t[i] for t in tangents)) for i in range(trace.batch[0])]
        out = columns[0][0]
        tangent_out = jax.tree_util.tree_map(lambda *ts: dnp.stack(list(ts)), *[c[1] for c in columns])
    return jax.tree_util.tree_map(trace.dual, out, tangent_out)
