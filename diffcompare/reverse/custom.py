"""User-defined primitives: a function and its hand-written VJP.

The course's answer for a function the framework does not know (or knows
badly: a numerically delicate formula, an iterative solver) is to give its
derivative by hand. :class:`custom_vjp` follows ``jax.custom_vjp``'s
interface, so one definition serves both engines:

    @custom_vjp
    def log1pexp(x):
        return dnp.log1p(dnp.exp(x))

    log1pexp.defvjp(lambda x: (log1pexp(x), x),              # fwd: output, residuals
                    lambda x, g: (g * dnp.sigmoid(x),))      # bwd: one cotangent per argument

On the reverse engine's tape the call is one node whose pullback is ``bwd``;
on JAX arrays and tracers it is ``jax.custom_vjp`` (so ``jax.grad`` uses the
same rule); on other engines (dual numbers, ...) ``fn`` is differentiated
through, as if there were no custom rule. Write ``bwd`` with
``diffcompare.numpy`` so it works everywhere (and can itself be differentiated).
"""

from __future__ import annotations

import functools

import jax

from .._core import any_engine_value, top_trace
from ..errors import InvalidOptionError
from .tape import Node, ReverseTrace


class custom_vjp:  # noqa: N801 - JAX's name
    """A function of positional array arguments, returning one array, with its own VJP.

    Arguments:
        fun: the primal function.
    Use ``defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)``,
    ``bwd(residuals, g) -> tuple`` with one cotangent per argument (None for 0).
    """

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = self.bwd = None
        self._jax = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd
        self._jax = jax.custom_vjp(self.fun)
        self._jax.defvjp(fwd, lambda res, g: tuple(bwd(res, g)))
        return self

    def __call__(self, *args):
        if self.fwd is None:
            raise InvalidOptionError(f"custom_vjp {self.__name__}: call defvjp(fwd, bwd) before using it")
        trace = top_trace(args)
        if isinstance(trace, ReverseTrace):
            values = [trace.lower(a) for a in args]
            out, residuals = self.fwd(*values)
            return Node(trace, out, args, f"custom_vjp({self.__name__})",
                        pullback=lambda g: tuple(self.bwd(residuals, g)))
        if any_engine_value(args):
            return self.fun(*args)  # another engine differentiates the primal itself
        return self._jax(*args)
