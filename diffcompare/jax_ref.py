"""The reference: the method interface on JAX itself.

Every other method is checked against these functions. They call
``jax.vjp``, ``jax.jvp``, ``jax.jacrev``/``jax.jacfwd`` and ``jax.hessian``
directly; the only additions are the library's argument checks and errors,
so that a bad call reads the same whichever method it was made to. JAX runs
on arrays and its own tracers only: the reference nests inside the engines
(a method applied over ``jax_ref`` is refused with a
:class:`~diffcompare.errors.NestingError`), never over their values.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from . import _api
from .errors import InvalidOptionError

NAME = "jax"
TITLE = "JAX (reference)"
#: relative error allowed against the reference, by dtype (the reference itself: 0)
TOLERANCE = {"float64": 0.0, "float32": 0.0}


def value_and_grad(f: Callable, argnums=0) -> Callable:
    """``jax.value_and_grad``: a function returning ``(f(*args), gradient)``.

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple).
    Returns:
        A callable with ``f``'s signature returning ``(value, gradient)``; the
        gradient has the structure of the differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: x ** 2)(3.0)
        (Array(9., ...), Array(6., ...))
    """

    @_api.differentiating(f, argnums, "jax.value_and_grad")
    def wrapped(call):
        # jax.grad is jax.vjp with cotangent 1; calling vjp lets us check the output first
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            out, pullback = jax.vjp(call.fun, call.diff)
        _api.check_scalar_output(out, call.name)
        (gradient,) = pullback(jnp.ones_like(out))
        return out, gradient

    return wrapped


def grad(f: Callable, argnums=0) -> Callable:
    """``jax.grad``: a function returning the gradient of scalar-valued ``f``.

    Example:
        >>> grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    return _api.gradient_of(f, value_and_grad(f, argnums), "jax.grad")


def jvp(f: Callable, primals, tangents):
    """``jax.jvp``: ``(f(*primals), J @ tangents)`` in one forward pass.

    Arguments:
        primals: tuple of the arguments; tangents: tuple of the same structure.
    """
    _api.check_jvp_arguments(primals, tangents, "jax.jvp")
    with _api.plain_arrays_only("jax.jvp", primals, tangents):
        tangents = jax.tree_util.tree_map(
            lambda p, t: jnp.asarray(t, dtype=jnp.result_type(p)), tuple(primals), tuple(tangents)
        )
        return jax.jvp(f, tuple(primals), tangents)


def vjp(f: Callable, *primals):
    """``jax.vjp``: ``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one
    cotangent per primal, as a tuple."""
    _api.check_differentiable(primals, "jax.vjp")
    with _api.plain_arrays_only("jax.vjp", primals):
        out, pullback = jax.vjp(f, *primals)

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "jax.vjp")
        return pullback(cotangent)

    return out, vjp_fn


def jacobian(f: Callable, argnums=0, *, mode: str = "rev") -> Callable:
    """The full Jacobian: ``jax.jacrev`` (``mode="rev"``, as ``jax.jacobian``) or ``jax.jacfwd``."""
    if mode not in ("rev", "fwd"):
        raise InvalidOptionError(f"jax.jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    transform = jax.jacrev if mode == "rev" else jax.jacfwd

    @_api.differentiating(f, argnums, f"jax.jac{mode}")
    def wrapped(call):
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            return transform(f, argnums=call.sel.jax_argnums)(*call.args, **call.kwargs)

    return wrapped


def hessian(f: Callable, argnums=0) -> Callable:
    """``jax.hessian`` (forward over reverse) of scalar-valued ``f``."""

    @_api.differentiating(f, argnums, "jax.hessian")
    def wrapped(call):
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            return jax.hessian(f, argnums=call.sel.jax_argnums)(*call.args, **call.kwargs)

    return wrapped
