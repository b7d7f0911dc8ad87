"""What every method shares: argnums, pytrees, input checks, Jacobian layout.

A method implements its idea on flat vectors; these helpers give it JAX's
calling conventions (``argnums``, pytree inputs and outputs, the nested layout
of ``jax.jacobian``) and the library's errors for bad input.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from . import numpy as dnp
from .errors import (
    InvalidInputError,
    InvalidOptionError,
    NonScalarOutputError,
    PrecisionWarning,
    ShapeMismatchError,
)


def normalize_argnums(argnums, nargs: int, fname: str) -> tuple[tuple[int, ...], bool]:
    """``argnums`` as a tuple of indices, and whether the caller gave a tuple."""
    is_tuple = isinstance(argnums, (tuple, list))
    items = tuple(argnums) if is_tuple else (argnums,)
    if is_tuple and not items:
        raise InvalidOptionError(f"{fname}: argnums is empty; name at least one argument to differentiate")
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise InvalidOptionError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise InvalidOptionError(
                f"{fname}: argnums={argnums!r} but the function was called with {nargs} positional "
                f"argument(s); pass an index below {nargs}"
            )
        out.append(int(a) % nargs)
    return tuple(out), is_tuple


@dataclasses.dataclass(frozen=True)
class Selection:
    """The arguments being differentiated, and how to put them back."""

    argnums: tuple[int, ...]
    is_tuple: bool

    def pick(self, args: Sequence) -> Any:
        if self.is_tuple:
            return tuple(args[i] for i in self.argnums)
        return args[self.argnums[0]]

    def rebuild(self, args: Sequence, diff) -> tuple:
        args = list(args)
        parts = diff if self.is_tuple else (diff,)
        for i, value in zip(self.argnums, parts):
            args[i] = value
        return tuple(args)


def select(args: Sequence, argnums, fname: str) -> Selection:
    nums, is_tuple = normalize_argnums(argnums, len(args), fname)
    return Selection(nums, is_tuple)


def _leaf_dtype(leaf):
    if isinstance(leaf, bool):
        return np.dtype(bool)
    if isinstance(leaf, int):
        return np.dtype(np.int64)
    if isinstance(leaf, float):
        return np.dtype(np.float64)
    if isinstance(leaf, complex):
        return np.dtype(np.complex128)
    dtype = getattr(leaf, "dtype", None)
    return None if dtype is None else np.dtype(dtype)


def check_differentiable(tree, fname: str, what: str = "input", allow_complex: bool = True) -> None:
    """Refuse leaves that cannot be differentiated, and warn about lost float64."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        raise InvalidInputError(f"{fname}: the {what} to differentiate has no arrays in it")
    wants_x64 = False
    for leaf in leaves:
        dtype = _leaf_dtype(leaf)
        if dtype is None:
            raise InvalidInputError(
                f"{fname}: the {what} holds a {type(leaf).__name__}, which is not a number or an array; "
                "pass floats, arrays, or dicts/lists/tuples of them"
            )
        if not np.issubdtype(dtype, np.inexact):
            raise InvalidInputError(
                f"{fname}: the {what} has dtype {dtype}; derivatives need floating-point inputs: "
                "write 1.0 instead of 1, or convert with dnp.asarray(x, dtype=float)"
            )
        if np.issubdtype(dtype, np.complexfloating) and not allow_complex:
            raise InvalidInputError(f"{fname}: the {what} is complex; this method differentiates real inputs")
        if dtype in (np.float64, np.complex128):
            wants_x64 = True
    if wants_x64 and not jax.config.jax_enable_x64:
        warnings.warn(
            f"{fname}: float64 inputs, but JAX computes in float32, so accuracy is float32's; "
            "call diffcompare.enable_x64() first",
            PrecisionWarning,
            stacklevel=3,
        )


def check_scalar_output(out, fname: str) -> None:
    """``grad`` needs one real scalar out, as in JAX."""
    leaves = jax.tree_util.tree_leaves(out)
    if len(leaves) != 1 or jnp.shape(leaves[0]) != ():
        shapes = [tuple(jnp.shape(leaf)) for leaf in leaves]
        raise NonScalarOutputError(
            f"{fname}: the function must return one scalar, but returned shape(s) {shapes}; "
            "reduce it (dnp.sum, dnp.mean) or use jacobian / vjp for vector outputs"
        )


def check_tangents(primals, tangents, fname: str) -> None:
    """Tangents must match the primals' structure and shapes, as ``jax.jvp`` demands."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise InvalidInputError(f"{fname}: primals and tangents must be tuples, e.g. jvp(f, (x,), (v,))")
    p_leaves, p_tree = jax.tree_util.tree_flatten(tuple(primals))
    t_leaves, t_tree = jax.tree_util.tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ShapeMismatchError(
            f"{fname}: tangents have structure {t_tree} but primals have {p_tree}; give one tangent per primal"
        )
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        if jnp.shape(p) != jnp.shape(t):
            raise ShapeMismatchError(
                f"{fname}: tangent {i} has shape {tuple(jnp.shape(t))} but its primal has shape "
                f"{tuple(jnp.shape(p))}; a tangent must have its primal's shape"
            )


def check_cotangent(out, cotangent, fname: str) -> None:
    """A cotangent must match the output's structure and shapes, as ``jax.vjp`` demands."""
    o_leaves, o_tree = jax.tree_util.tree_flatten(out)
    c_leaves, c_tree = jax.tree_util.tree_flatten(cotangent)
    if o_tree != c_tree or any(jnp.shape(o) != jnp.shape(c) for o, c in zip(o_leaves, c_leaves)):
        raise ShapeMismatchError(
            f"{fname}: the cotangent must have the output's structure and shapes "
            f"{[tuple(jnp.shape(o)) for o in o_leaves]}, got {[tuple(jnp.shape(c)) for c in c_leaves]}"
        )


def flatten(tree):
    """(flat vector, unravel) for a pytree of arrays."""
    return ravel_pytree(tree)


def unflatten_jacobian(jac, out_example, in_example):
    """Lay a flat (m, n) Jacobian out as ``jax.jacobian`` does.

    Each output leaf becomes a copy of the input structure whose leaves have
    shape ``out_leaf.shape + in_leaf.shape``.
    """
    out_leaves, out_tree = jax.tree_util.tree_flatten(out_example)
    in_leaves, in_tree = jax.tree_util.tree_flatten(in_example)
    out_shapes = [tuple(np.shape(leaf)) for leaf in out_leaves]
    in_shapes = [tuple(np.shape(leaf)) for leaf in in_leaves]
    rows = np.cumsum([0] + [int(np.prod(s)) for s in out_shapes])
    cols = np.cumsum([0] + [int(np.prod(s)) for s in in_shapes])
    blocks = []
    for i, so in enumerate(out_shapes):
        row = [
            dnp.reshape(jac[rows[i] : rows[i + 1], cols[j] : cols[j + 1]], so + si)  # dnp: engine values too
            for j, si in enumerate(in_shapes)
        ]
        blocks.append(jax.tree_util.tree_unflatten(in_tree, row))
    return jax.tree_util.tree_unflatten(out_tree, blocks)


def wraps(f: Callable, kind: str):
    """functools.wraps that also says which transformation made the function."""

    def decorate(g):
        try:
            g.__name__ = f"{kind}({getattr(f, '__name__', 'f')})"
            g.__qualname__ = g.__name__
            g.__doc__ = f"The {kind} of {getattr(f, '__name__', 'f')}." + (
                f"\n\n{f.__doc__}" if getattr(f, "__doc__", None) else ""
            )
            g.__wrapped__ = f
        except (AttributeError, TypeError):
            pass
        return g

    return decorate


def gradient_of(f: Callable, value_and_grad_fn: Callable, kind: str) -> Callable:
    """``grad`` from a method's ``value_and_grad``: the same call, keeping only the gradient."""

    @wraps(f, kind)
    def wrapped(*args, **kwargs):  # keyword arguments go to f, as in jax.grad
        return value_and_grad_fn(*args, **kwargs)[1]

    return wrapped
