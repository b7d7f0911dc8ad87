"""Finite differences' method interface: ``grad``, ``value_and_grad``,
``jacobian``, ``jvp``, ``vjp``, ``hessian`` with JAX's calling conventions."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _api
from .._core import top_trace
from ..errors import UnsupportedOperationError
from .differences import jacobian_flat, jvp_flat
from .evaluation import Evaluator
from .schemes import RICHARDSON_LEVELS, check_options, order


def _outer_engine(tree) -> str | None:
    """The method differentiating through ``tree``, if any: an engine's value, or JAX's JVP
    tracers (jax.grad, jax.jvp; jax.jit's and jax.vmap's tracers are fine)."""
    leaves = jax.tree_util.tree_leaves(tree)
    trace = top_trace(leaves)
    if trace is not None:
        return trace.engine
    if any(isinstance(leaf, jax.core.Tracer) and type(leaf).__module__.endswith("interpreters.ad") for leaf in leaves):
        return "JAX (jax.grad, jax.jvp, ...)"
    return None


def _refuse_nesting(tree, fname: str) -> None:
    engine = _outer_engine(tree)
    if engine is not None:
        raise UnsupportedOperationError(
            f"finite differences ({fname})",
            engine,
            "finite differences evaluate f at perturbed points as plain numbers, so no method can differentiate "
            "through them; differentiate f itself with that method (its hessian for second derivatives), or "
            "stay with finite differences: finite_diff.hessian(f), finite_diff.jacobian(finite_diff.grad(f))",
        )


def _prepare(f, args, kwargs, argnums, fname, scheme, step, levels, vectorize, has_aux=False):
    """The method-wrapper preamble: options checked, arguments selected and checked, f(*args) evaluated.

    Returns ``(scheme, evaluate, out, aux)``. As JAX does, ``f`` sees the differentiated
    arguments as arrays (never a Python float that ``x / x`` at 0 would divide by)
    and gets the keyword arguments ``kwargs`` unchanged. With ``has_aux`` ``f`` returns
    ``(output, aux)``: the aux of this evaluation at the point comes back (None without),
    and the perturbed evaluations keep only the output.
    """
    scheme_ = check_options(scheme, step, levels, fname)
    selection = _api.select(args, argnums, fname)
    _refuse_nesting((args, kwargs), fname)
    _api.check_differentiable(selection.pick(args), fname)
    args = selection.rebuild(args, jax.tree_util.tree_map(jnp.asarray, selection.pick(args)))
    f = functools.partial(f, **kwargs) if kwargs else f
    out, aux = f(*args), None
    if has_aux:
        out, aux = _api.output_and_aux(out, fname)
        aux = _api.plain_aux(aux)  # numbers as arrays (f ran on plain arrays: no layer to strip)
        f = _output_of(f, fname)
    _refuse_nesting((out, aux), fname)
    return scheme_, Evaluator(f, args, selection, vectorize, traced=_is_traced(out)), out, aux


def _output_of(f, fname):
    """``f`` without its aux (for the perturbed evaluations)."""

    @functools.wraps(f)
    def output(*args):
        return _api.output_and_aux(f(*args), fname)[0]

    return output


def _is_traced(tree) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


def value_and_grad(
    f: Callable, argnums=0, *, has_aux: bool = False, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
    holomorphic: bool = False,
) -> Callable:
    """A function returning ``(f(*args), gradient)`` by finite differences.

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple), as in JAX.
        has_aux: ``f`` returns ``(output, aux)``: only the output is differenced, and the callable
            returns ``((value, aux), gradient)``, the aux of ``f`` at the point as plain arrays.
        scheme: ``"forward"``, ``"backward"``, ``"central"`` (default),
            ``"central4"``, ``"complex"`` or ``"richardson"``; see :data:`SCHEMES`.
        step: the absolute step h for every coordinate; by default
            ``default_step(scheme, dtype) * max(1, |x_i|)``.
        levels: Richardson's number of step halvings.
        vectorize: evaluate all perturbed points in one batched call (default),
            or one at a time (to watch or count evaluations).
        holomorphic: ``jax.grad``'s option for complex functions: ``True`` is refused, as are complex inputs
            (every method but the JAX reference differentiates real functions of real inputs).
    Returns:
        A callable with ``f``'s signature; the gradient has the structure of the
        differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: dnp.exp(x) / x**2)(1.5)
        (Array(1.99..., ...), Array(-0.66..., ...))
    """
    _api.refuse_holomorphic(holomorphic, "finite_diff.value_and_grad")

    @_api.transformation(f, "finite_diff.value_and_grad")
    def wrapped(*args, **kwargs):
        fname = "finite_diff.grad"
        scheme_, evaluate, value, aux = _prepare(f, args, kwargs, argnums, fname, scheme, step, levels, vectorize,
                                                 has_aux)
        _api.check_scalar_output(value, fname)
        gradient = jacobian_flat(evaluate, scheme_, step, levels, value, fname)[0]
        # each leaf in its own dtype, as JAX returns it (float32 parameters stay float32 beside float64 data)
        value, gradient = jnp.asarray(value), evaluate.unravel(jnp.asarray(gradient, evaluate.x.dtype))
        return ((value, aux), gradient) if has_aux else (value, gradient)

    return wrapped


def grad(
    f: Callable, argnums=0, *, has_aux: bool = False, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
    holomorphic: bool = False,
) -> Callable:
    """A function returning the gradient of scalar-valued ``f`` by finite differences.

    Arguments:
        f, argnums, scheme, step, levels, vectorize: as :func:`value_and_grad`
            (``scheme="central"``; ``step=None`` chooses h from the dtype and the scheme's order).
        has_aux: ``f`` returns ``(output, aux)``; the callable returns ``(gradient, aux)``.
    Returns:
        A callable with ``f``'s signature returning the gradient.

    Example:
        >>> grad(lambda x: dnp.sum(x ** 2), scheme="central4")(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    _api.refuse_holomorphic(holomorphic, "finite_diff.grad")
    vg = value_and_grad(f, argnums, has_aux=has_aux, scheme=scheme, step=step, levels=levels, vectorize=vectorize)
    return _api.gradient_of(f, vg, "finite_diff.grad", has_aux)


def jacobian(
    f: Callable, argnums=0, *, has_aux: bool = False, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True, _accuracy: float | None = None,
    holomorphic: bool = False,
) -> Callable:
    """A function returning the full Jacobian, one column per input coordinate,
    laid out as ``jax.jacobian`` lays it out. Options as :func:`value_and_grad`;
    with ``has_aux`` (``f`` returns ``(output, aux)``) it returns ``(jacobian, aux)``."""
    _api.refuse_holomorphic(holomorphic, "finite_diff.jacobian")

    @_api.transformation(f, "finite_diff.jacobian")
    def wrapped(*args, **kwargs):
        fname = "finite_diff.jacobian"
        scheme_, evaluate, out, aux = _prepare(f, args, kwargs, argnums, fname, scheme, step, levels, vectorize,
                                               has_aux)
        jac = jnp.asarray(jacobian_flat(evaluate, scheme_, step, levels, out, fname, _accuracy))
        jac = _api.layout_jacobian(jac, out, evaluate.selection.pick(args))
        return (jac, aux) if has_aux else jac

    return wrapped


@_api.scoped("finite_diff.jvp")
def jvp(
    f: Callable, primals, tangents, *, has_aux: bool = False, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
):
    """``(f(*primals), J·tangents)`` from one directional difference.

    The step is taken along the tangent: the largest coordinate moves by
    ``step`` (default: ``default_step(scheme) * max(1, max|x|)``). With ``has_aux``
    (``f`` returns ``(output, aux)``): ``(out, tangent_out, aux)``.
    """
    _api.check_tangents(primals, tangents, "finite_diff.jvp")
    primals = tuple(primals)
    argnums = tuple(range(len(primals)))
    scheme_, evaluate, out, aux = _prepare(f, primals, {}, argnums, "finite_diff.jvp", scheme, step, levels,
                                           vectorize, has_aux)
    v, _ = ravel_pytree(tuple(tangents))
    tangent_flat = jvp_flat(evaluate, v, scheme_, step, levels, out, "finite_diff.jvp")
    out_flat, unravel_out = ravel_pytree(out)
    if tangent_flat is None:
        tangent_flat = jnp.zeros_like(out_flat)
    tangent_out = _api.float0_tangents(out, unravel_out(jnp.asarray(tangent_flat, out_flat.dtype)))
    return (out, tangent_out, aux) if has_aux else (out, tangent_out)


@_api.scoped("finite_diff.vjp")
def vjp(
    f: Callable, *primals, has_aux: bool = False, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
):
    """``(f(*primals), vjp_fn)`` through the full Jacobian.

    Finite differences can only push perturbations forward, so a VJP costs the
    whole Jacobian (n columns) and then one matrix-vector product: the
    expensive way, shown for comparison with reverse mode. With ``has_aux``
    (``f`` returns ``(output, aux)``): ``(out, vjp_fn, aux)``.
    """
    argnums = tuple(range(len(primals)))
    scheme_, evaluate, out, aux = _prepare(f, primals, {}, argnums, "finite_diff.vjp", scheme, step, levels,
                                           vectorize, has_aux)
    jac = jnp.asarray(jacobian_flat(evaluate, scheme_, step, levels, out, "finite_diff.vjp"))

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "finite_diff.vjp")
        ct, _ = ravel_pytree(_api.float0_as_zeros(cotangent, jac.dtype))
        product = jnp.asarray(ct, jac.dtype) @ jac
        # a complex output's cotangent: the inputs are real, and JAX's vjp keeps the real part too
        return evaluate.unravel(jnp.asarray(jnp.real(product), evaluate.x.dtype))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def hessian(
    f: Callable, argnums=0, *, has_aux: bool = False, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
    holomorphic: bool = False,
) -> Callable:
    """The Hessian as finite differences of the finite-difference Jacobian.

    For a vector-valued ``f`` (out shape ``m``) it has shape ``m + in + in``,
    as ``jax.hessian``'s. Each level of differencing loses precision: the inner
    derivative is only about ε^(p/(p+1)) accurate, so the outer step is chosen
    for that accuracy (``step`` sets the inner one). The complex step's
    derivative is exact to rounding, and is differenced by central differences
    outside. With ``has_aux`` (``f`` returns ``(output, aux)``): ``(hessian, aux)``.
    """
    _api.refuse_holomorphic(holomorphic, "finite_diff.hessian")
    check_options(scheme, step, levels, "finite_diff.hessian")
    inner = jacobian(f, argnums, has_aux=has_aux, scheme=scheme, step=step, levels=levels, vectorize=vectorize)
    outer = "central" if scheme == "complex" else scheme

    @_api.wraps(f, "finite_diff.hessian")
    def wrapped(*args, **kwargs):
        fname = "finite_diff.hessian"
        _, evaluate, _, _ = _prepare(f, args, kwargs, argnums, fname, scheme, step, levels, vectorize, has_aux)
        eps = float(jnp.finfo(evaluate.x.dtype).eps)
        p = order(scheme, levels)
        accuracy = eps if scheme == "complex" else eps ** (p / (p + 1))
        jac = jacobian(inner, argnums, has_aux=has_aux, scheme=outer, levels=levels, vectorize=vectorize,
                       _accuracy=accuracy)
        return jac(*args, **kwargs)

    return wrapped
