"""User-defined primitives: one function with hand-written derivative rules, for every engine.

The course's "user-defined functions with hand-written derivatives": decorate a
function written with ``diffcompare.numpy`` and give it a JVP rule
(``jax.custom_jvp``'s signature), a VJP rule (``jax.custom_vjp``'s ``fwd`` /
``bwd`` pair), or both::

    @forward.custom_jvp                                  # or reverse.custom_vjp: the same object
    def softplus(x):
        return dnp.log1p(dnp.exp(x))

    @softplus.defjvp
    def softplus_jvp(primals, tangents):                 # -> (out, tangent_out)
        (x,), (t,) = primals, tangents
        return softplus(x), t * dnp.sigmoid(x)

    softplus.defvjp(lambda x: (softplus(x), x),          # fwd: (out, residuals)
                    lambda x, g: (g * dnp.sigmoid(x),))  # bwd: one cotangent per argument (None for 0)

Each engine uses the rule of its own kind: forward mode the JVP rule, reverse
mode the VJP rule, JAX ``jax.custom_jvp`` (``jax.custom_vjp`` when only a VJP
rule is given). Where an engine's kind of rule is missing, it is derived by
transposing the other one (both are linear in the tangent / cotangent; the
reverse engine does the transposing, handed in by :mod:`diffcompare.mixed`, which
sits above both engines), and if that fails the error says which rule to give.
Engines without the ``process_user_primitive`` hook (symbolic, the complex step)
differentiate the body.

Operands are positional arrays. Outputs may be arrays or tuples of arrays for
forward mode and JAX; the reverse engine records one array.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from . import numpy as dnp
from ._core import top_trace
from .errors import DiffCompareError, InvalidOptionError, UnsupportedOperationError

#: name -> every user-defined primitive created in this session
USER_PRIMITIVES: dict[str, UserPrimitive] = {}


class UserPrimitive:
    """A function that every engine treats as one primitive with user-given derivative rules.

    Attributes:
        name: the name shown in sweep tables, graphs and errors.
        fun: the implementation (values, and engines without a hook).
        jvp_rule: ``rule(primals, tangents) -> (out, tangent_out)`` or None.
        fwd, bwd: ``fwd(*primals) -> (out, residuals)``, ``bwd(residuals, g) -> tuple``, or None.
    """

    def __init__(self, fun: Callable, name: str | None = None):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = name or getattr(fun, "__name__", "user_primitive")
        self.jvp_rule: Callable | None = None
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self._jax: Callable = fun
        USER_PRIMITIVES[self.name] = self

    def defjvp(self, rule: Callable) -> Callable:
        """Set the JVP rule (usable as a decorator; returns the rule)."""
        self.jvp_rule = rule
        self._jax = jax.custom_jvp(self.fun)
        self._jax.defjvp(rule)
        return rule

    def defvjp(self, fwd: Callable, bwd: Callable) -> UserPrimitive:
        """Set the VJP rule as ``jax.custom_vjp`` does (returns the primitive)."""
        self.fwd, self.bwd = fwd, bwd
        if self.jvp_rule is None:  # JAX takes one kind of rule; a JVP rule also gives it the VJP
            self._jax = jax.custom_vjp(self.fun)
            self._jax.defvjp(fwd, lambda res, g: tuple(bwd(res, g)))
        return self

    def __call__(self, *args):
        if self.jvp_rule is None and self.fwd is None:
            raise InvalidOptionError(
                f"user primitive '{self.name}' has no derivative rule yet: give one with @{self.name}.defjvp "
                f"or {self.name}.defvjp(fwd, bwd) before calling it"
            )
        trace = top_trace(args)
        if trace is None:
            return self._jax(*args)
        handler = getattr(trace, "process_user_primitive", None)
        return self.fun(*args) if handler is None else handler(self, args)

    # ------------------------------------------------------------ what the engines call

    def jvp(self, primals: tuple, tangents: tuple, engine: str = "forward"):
        """``(out, tangent_out)``: the JVP rule, or the VJP rule transposed."""
        if self.jvp_rule is not None:
            return self.jvp_rule(primals, tangents)
        out, residuals = self.fwd(*primals)

        def pull(g):  # linear in g: its transpose maps tangents to the output's tangent
            return _zeros_for_none(self.bwd(residuals, g), primals)

        return out, self._transpose(pull, (dnp.zeros_like(out),), tuple(tangents), engine, "VJP", "JVP")[0]

    def vjp(self, primals: tuple, engine: str = "reverse"):
        """``(out, pullback)``: the VJP rule, or the JVP rule transposed."""
        if self.fwd is not None:
            out, residuals = self.fwd(*primals)
            return out, lambda g: tuple(self.bwd(residuals, g))
        out = self.jvp_rule(primals, tuple(dnp.zeros_like(p) for p in primals))[0]
        zeros = tuple(dnp.zeros_like(p) for p in primals)

        def push(*tangents):  # linear in the tangents: its transpose is the pullback
            return self.jvp_rule(primals, tangents)[1]

        return out, lambda g: self._transpose(push, zeros, g, engine, "JVP", "VJP")

    def _transpose(self, linear, example: tuple, vector, engine: str, have: str, need: str):
        try:
            return _transpose_linear(linear, example, vector)
        except DiffCompareError as err:
            give = f"@{self.name}.defjvp" if need == "JVP" else f"{self.name}.defvjp(fwd, bwd)"
            raise UnsupportedOperationError(
                self.name, engine, f"it has only a {have} rule, and transposing it into the {need} this engine "
                f"needs failed ({err}); give the {need} rule with {give}"
            ) from err

    def __repr__(self) -> str:
        return f"UserPrimitive({self.name})"


def _no_transposer(linear, example, vector):
    raise UnsupportedOperationError("transposing a linear rule", "custom",
                                    "no engine that transposes is loaded; import diffcompare (diffcompare.mixed)")


#: ``transpose(linear, example, vector)``: the transpose of a linear function applied to ``vector``. It takes
#: the reverse engine, which sits above this module: :mod:`diffcompare.mixed` hands it in (:func:`transpose_with`).
_transpose_linear = _no_transposer


def transpose_with(transpose: Callable) -> None:
    """Set how a rule is transposed (called once by :mod:`diffcompare.mixed`, the layer above both engines)."""
    global _transpose_linear
    _transpose_linear = transpose


def _zeros_for_none(cotangents, primals) -> tuple:
    return tuple(dnp.zeros_like(p) if c is None else c for c, p in zip(cotangents, primals))


def custom_jvp(fun: Callable | None = None, *, name: str | None = None):
    """Make ``fun`` a user-defined primitive; give its rule with ``@fun.defjvp`` (``fun.defvjp`` too).

    Arguments:
        fun: the function (positional array arguments).
        name: its name in tables and errors (default: ``fun.__name__``).
    Returns:
        A :class:`UserPrimitive`, callable like ``fun``.
    """
    if fun is None:
        return lambda f: UserPrimitive(f, name)
    return UserPrimitive(fun, name)


#: ``jax.custom_vjp``'s name for the same object: give its rule with ``fun.defvjp(fwd, bwd)``.
custom_vjp = custom_jvp


def defjvp(fun: Callable, rule: Callable, name: str | None = None) -> UserPrimitive:
    """Register ``fun`` with its JVP ``rule`` in one call; returns the primitive."""
    prim = UserPrimitive(fun, name)
    prim.defjvp(rule)
    return prim
