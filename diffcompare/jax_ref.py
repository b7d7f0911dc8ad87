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

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from . import _api
from .errors import InvalidOptionError

NAME = "jax"
TITLE = "JAX (reference)"
#: relative error allowed against the reference, by dtype (the reference itself: 0)
TOLERANCE = {"float64": 0.0, "float32": 0.0}


def _pairs(f: Callable, has_aux: bool, name: str) -> Callable:
    """``f`` as JAX's ``has_aux`` wants it: anything but an ``(output, aux)`` pair is refused in the
    library's words (the same error every method gives)."""
    if not has_aux:
        return f

    @functools.wraps(f)
    def pair(*args, **kwargs):
        return tuple(_api.output_and_aux(f(*args, **kwargs), name))

    return pair


def value_and_grad(f: Callable, argnums=0, *, has_aux: bool = False, holomorphic: bool = False) -> Callable:
    """``jax.value_and_grad``: a function returning ``(f(*args), gradient)``.

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple).
        has_aux: ``f`` returns ``(output, aux)``; the callable returns ``((value, aux), gradient)``.
        holomorphic: as ``jax.grad``'s (complex inputs and output).
    Returns:
        A callable with ``f``'s signature returning ``(value, gradient)``; the
        gradient has the structure of the differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: x ** 2)(3.0)
        (Array(9., ...), Array(6., ...))
    """

    return _value_and_grad(f, argnums, has_aux, "jax.value_and_grad", holomorphic)


def _value_and_grad(f, argnums, has_aux, name, holomorphic=False):
    @_api.differentiating(f, argnums, name, allow_complex=True)
    def wrapped(call):
        if holomorphic:
            with _api.plain_arrays_only(call.name, call.args, call.kwargs):
                result = jax.value_and_grad(_pairs(f, has_aux, call.name), call.sel.jax_argnums, has_aux=has_aux,
                                            holomorphic=True)(*call.args, **call.kwargs)
            if has_aux:
                (out, aux), gradient = result
                return (out, _api.plain_aux(aux)), gradient
            return result
        # jax.grad is jax.vjp with cotangent 1; calling vjp lets us check the output first
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            out, pullback, *aux = jax.vjp(_pairs(call.fun, has_aux, call.name), call.diff, has_aux=has_aux)
        _api.check_scalar_output(out, call.name)
        (gradient,) = pullback(jnp.ones_like(out))
        return ((out, _api.plain_aux(aux[0])), gradient) if has_aux else (out, gradient)

    return wrapped


def grad(f: Callable, argnums=0, *, has_aux: bool = False, holomorphic: bool = False) -> Callable:
    """``jax.grad``: a function returning the gradient of scalar-valued ``f`` (``(gradient, aux)``
    with ``has_aux``).

    Example:
        >>> grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    return _api.gradient_of(f, _value_and_grad(f, argnums, has_aux, "jax.grad", holomorphic), "jax.grad", has_aux)


@_api.scoped("jax.jvp")
def jvp(f: Callable, primals, tangents, *, has_aux: bool = False):
    """``jax.jvp``: ``(f(*primals), J @ tangents)`` in one forward pass (``(out, tangent_out, aux)`` with
    ``has_aux``).

    Arguments:
        primals: tuple of the arguments; tangents: tuple of the same structure.
    """
    _api.check_jvp_arguments(primals, tangents, "jax.jvp", allow_complex=True)
    with _api.plain_arrays_only("jax.jvp", primals, tangents):
        tangents = jax.tree_util.tree_map(
            lambda p, t: jnp.asarray(t, dtype=jnp.result_type(p)), tuple(primals), tuple(tangents)
        )
        result = jax.jvp(_pairs(f, has_aux, "jax.jvp"), tuple(primals), tangents, has_aux=has_aux)
    return (*result[:2], _api.plain_aux(result[2])) if has_aux else result


@_api.scoped("jax.vjp")
def vjp(f: Callable, *primals, has_aux: bool = False):
    """``jax.vjp``: ``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one
    cotangent per primal, as a tuple. With ``has_aux``: ``(out, vjp_fn, aux)``."""
    _api.check_differentiable(primals, "jax.vjp", allow_complex=True)
    with _api.plain_arrays_only("jax.vjp", primals):
        out, pullback, *aux = jax.vjp(_pairs(f, has_aux, "jax.vjp"), *primals, has_aux=has_aux)

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "jax.vjp")
        return pullback(cotangent)

    return (out, vjp_fn, _api.plain_aux(aux[0])) if has_aux else (out, vjp_fn)


def jacobian(f: Callable, argnums=0, *, has_aux: bool = False, mode: str = "rev",
             holomorphic: bool = False) -> Callable:
    """The full Jacobian: ``jax.jacrev`` (``mode="rev"``, as ``jax.jacobian``) or ``jax.jacfwd``;
    ``(jacobian, aux)`` with ``has_aux``."""
    if mode not in ("rev", "fwd"):
        raise InvalidOptionError(f"jax.jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    transform = jax.jacrev if mode == "rev" else jax.jacfwd

    @_api.differentiating(f, argnums, f"jax.jac{mode}", allow_complex=True)
    def wrapped(call):
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            fun = _pairs(f, has_aux, call.name)
            result = transform(fun, argnums=call.sel.jax_argnums, has_aux=has_aux,
                               holomorphic=holomorphic)(*call.args, **call.kwargs)
        return (result[0], _api.plain_aux(result[1])) if has_aux else result

    return wrapped


def hessian(f: Callable, argnums=0, *, has_aux: bool = False, holomorphic: bool = False) -> Callable:
    """``jax.hessian`` (forward over reverse) of scalar-valued ``f``; ``(hessian, aux)`` with ``has_aux``."""

    @_api.differentiating(f, argnums, "jax.hessian", allow_complex=True)
    def wrapped(call):
        with _api.plain_arrays_only(call.name, call.args, call.kwargs):
            fun = _pairs(f, has_aux, call.name)
            result = jax.hessian(fun, argnums=call.sel.jax_argnums, has_aux=has_aux,
                                 holomorphic=holomorphic)(*call.args, **call.kwargs)
        return (result[0], _api.plain_aux(result[1])) if has_aux else result

    return wrapped
