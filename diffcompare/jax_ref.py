"""The reference: the method interface on JAX itself.

Every other method is checked against these functions. They call
``jax.vjp``, ``jax.jvp``, ``jax.jacrev``/``jax.jacfwd`` and ``jax.hessian``
directly; the only additions are the library's argument checks and errors,
so that a bad call reads the same whichever method it was made to. Being JAX,
the reference alone takes complex inputs (JAX's conventions) and
``holomorphic=True``; the other methods refuse both. JAX runs
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


def value_and_grad(f: Callable, argnums=0, *, holomorphic: bool = False) -> Callable:
    """``jax.value_and_grad``: a function returning ``(f(*args), gradient)``.

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple).
        holomorphic: as ``jax.grad``'s (complex inputs and output).
    Returns:
        A callable with ``f``'s signature returning ``(value, gradient)``; the
        gradient has the structure of the differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: x ** 2)(3.0)
        (Array(9., ...), Array(6., ...))
    """

    @_api.differentiating(f, argnums, "jax.value_and_grad", allow_complex=True)
    def wrapped(call):
        if holomorphic:
            with _api.plain_arrays_only(call.name, call.args, call.kwargs):
                return jax.value_and_grad(f, call.sel.jax_argnums, holomorphic=True)(*call.args, **call.kwargs)
        # jax.grad is jax.vjp with cotangent 1; calling vjp lets us check the output first
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            out, pullback = jax.vjp(call.fun, call.diff)
        _api.check_scalar_output(out, call.name)
        (gradient,) = pullback(jnp.ones_like(out))
        return out, gradient

    return wrapped


def grad(f: Callable, argnums=0, *, holomorphic: bool = False) -> Callable:
    """``jax.grad``: a function returning the gradient of scalar-valued ``f``.

    Example:
        >>> grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    return _api.gradient_of(f, value_and_grad(f, argnums, holomorphic=holomorphic), "jax.grad")


def jvp(f: Callable, primals, tangents):
    """``jax.jvp``: ``(f(*primals), J @ tangents)`` in one forward pass.

    Arguments:
        primals: tuple of the arguments; tangents: tuple of the same structure.
    """
    _api.check_jvp_arguments(primals, tangents, "jax.jvp", allow_complex=True)
    with _api.plain_arrays_only("jax.jvp", primals, tangents):
        tangents = jax.tree_util.tree_map(
            lambda p, t: jnp.asarray(t, dtype=jnp.result_type(p)), tuple(primals), tuple(tangents)
        )
        return jax.jvp(f, tuple(primals), tangents)


def vjp(f: Callable, *primals):
    """``jax.vjp``: ``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one
    cotangent per primal, as a tuple."""
    _api.check_differentiable(primals, "jax.vjp", allow_complex=True)
    with _api.plain_arrays_only("jax.vjp", primals):
        out, pullback = jax.vjp(f, *primals)

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "jax.vjp")
        return pullback(cotangent)

    return out, vjp_fn


def jacobian(f: Callable, argnums=0, *, mode: str = "rev", holomorphic: bool = False) -> Callable:
    """The full Jacobian: ``jax.jacrev`` (``mode="rev"``, as ``jax.jacobian``) or ``jax.jacfwd``."""
    if mode not in ("rev", "fwd"):
        raise InvalidOptionError(f"jax.jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    transform = jax.jacrev if mode == "rev" else jax.jacfwd

    @_api.differentiating(f, argnums, f"jax.jac{mode}", allow_complex=True)
    def wrapped(call):
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            return transform(f, call.sel.jax_argnums, holomorphic=holomorphic)(*call.args, **call.kwargs)

    return wrapped


def hessian(f: Callable, argnums=0, *, holomorphic: bool = False) -> Callable:
    """``jax.hessian`` (forward over reverse) of scalar-valued ``f``."""

    @_api.differentiating(f, argnums, "jax.hessian", allow_complex=True)
    def wrapped(call):
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            return jax.hessian(f, call.sel.jax_argnums, holomorphic=holomorphic)(*call.args, **call.kwargs)

    return wrapped
