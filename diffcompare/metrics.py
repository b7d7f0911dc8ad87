"""How far a derivative is from the reference: errors on pytrees of arrays.

Both functions flatten the value and the reference (any pytree: an array, a
tuple of gradients, the nested dicts of ``jax.jacobian``) and compare them
leaf by leaf; a different structure or a different leaf shape is an error, not
a number (:class:`~diffcompare.errors.ShapeMismatchError`).

Conventions for values that are not finite (entry by entry, value ``a`` and
reference ``b``):

* nan where the reference is nan is agreement (error 0). JAX's conventions
  make some derivatives nan on purpose (the gradient of ``norm`` at 0), and a
  method that follows the convention agrees with JAX.
* inf where the reference is the same inf is agreement (error 0): ``sqrt'(0)``
  is +inf in JAX and should be +inf in every method.
* Any other disagreement involving nan or inf (nan against a number, +inf
  against -inf or against a number) is an infinite error, so it can never
  pass a tolerance.

The relative error is norm-wise, ``max|a - b| / max|b|``, not the largest
elementwise ``|a - b| / |b|``: a gradient often has entries that are exactly 0
in the reference (a ReLU that is off, a parameter the loss does not touch), and
an elementwise ratio there is 0/0 or explodes on the smallest round-off,
although the gradient as a whole is as accurate as it can be.
"""

from __future__ import annotations

import jax
import numpy as np

from .errors import ShapeMismatchError

#: the smallest denominator of a relative error: a reference that is exactly 0
#: makes the relative error ``max|a - b| / TINY``, so only an exact 0 agrees with it
TINY = float(np.finfo(np.float64).tiny)


def _as_float(leaf) -> np.ndarray:
    """A leaf as float64 (complex128 if complex) NumPy array, so differences do not overflow."""
    x = np.asarray(leaf)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def leaf_pairs(a, b, what: str = "value") -> list[tuple[np.ndarray, np.ndarray]]:
    """The leaves of ``a`` and ``b`` side by side, after checking structure and shapes.

    Arguments:
        a: a pytree of arrays (the value being checked).
        b: a pytree of arrays (the reference).
        what: how the error message names ``a``.
    Returns:
        A list of ``(a_leaf, b_leaf)`` NumPy arrays (float64 or complex128).
    Raises:
        ShapeMismatchError: the structures or a leaf's shapes differ.
    Example:
        >>> leaf_pairs({"w": 1.0}, {"w": 2.0})
        [(array(1.), array(2.))]
    """
    a_leaves, a_tree = jax.tree_util.tree_flatten(a)
    b_paths, b_tree = jax.tree_util.tree_flatten_with_path(b)
    if a_tree != b_tree:
        raise ShapeMismatchError(
            f"the {what} has structure {a_tree} but the reference has {b_tree}; "
            "return the same containers (dict keys, tuple/list lengths) as the reference"
        )
    pairs = []
    for x, (path, y) in zip(a_leaves, b_paths):
        x, y = _as_float(x), _as_float(y)
        if x.shape != y.shape:
            where = jax.tree_util.keystr(path) or "(the array itself)"
            raise ShapeMismatchError(
                f"the {what} has shape {x.shape} at {where} but the reference has shape {y.shape}"
            )
        pairs.append((x, y))
    return pairs


def _entry_errors(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|x - y| entry by entry, with the nan/inf conventions of this module."""
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(x - y)
        err = np.where(x == y, 0.0, err)  # equal infinities agree
        err = np.where(np.isnan(x) & np.isnan(y), 0.0, err)  # nan where the reference is nan agrees
    return np.where(np.isnan(err), np.inf, err)  # any other nan: one side nan, or inf against inf of the other sign


def max_abs_error(a, b) -> float:
    """The largest absolute difference between ``a`` and the reference ``b``.

    Arguments:
        a: a pytree of arrays (or numbers): the value being checked.
        b: the reference, a pytree of the same structure and shapes.
    Returns:
        ``max |a - b|`` over every entry of every leaf, as a Python float; 0.0
        when there are no entries. nan against nan and inf against the same
        inf count as agreement; any other disagreement involving nan or inf
        is ``inf`` (see the module docstring).
    Raises:
        ShapeMismatchError: the structures or a leaf's shapes differ.
    Example:
        >>> max_abs_error({"w": jnp.array([1.0, 2.0])}, {"w": jnp.array([1.0, 2.5])})
        0.5
    """
    worst = 0.0
    for x, y in leaf_pairs(a, b):
        if x.size:
            worst = max(worst, float(np.max(_entry_errors(x, y))))
    return worst


def max_magnitude(b) -> float:
    """The largest finite ``|b|`` over every entry of every leaf (0.0 if none)."""
    biggest = 0.0
    for leaf in jax.tree_util.tree_leaves(b):
        y = np.abs(_as_float(leaf))
        y = y[np.isfinite(y)]
        if y.size:
            biggest = max(biggest, float(np.max(y)))
    return biggest


def relative_error(a, b, *, scale: float | None = None) -> float:
    """The norm-wise relative error of ``a`` against the reference ``b``.

    ``max|a - b| / max(max|b|, TINY)``: the largest error measured against
    the largest entry of the reference, not entry by entry (an entry that is 0
    in the reference would make an elementwise ratio explode; see the module
    docstring). Infinite and nan entries of ``b`` do not count in ``max|b|``.

    Arguments:
        a: a pytree of arrays (or numbers): the value being checked.
        b: the reference, a pytree of the same structure and shapes.
        scale: the denominator to use instead of ``max|b|`` (for a dot product
            that may cancel to nearly 0, the size of the terms summed).
    Returns:
        A Python float: 0.0 when ``a`` agrees with ``b`` exactly, ``inf`` when
        they disagree about a nan or an inf.
    Raises:
        ShapeMismatchError: the structures or a leaf's shapes differ.
    Example:
        >>> relative_error(jnp.array([0.0, 100.0]), jnp.array([1e-6, 100.0]))  # not 1.0
        1e-08
    """
    err = max_abs_error(a, b)
    if err == 0.0 or not np.isfinite(err):
        return err
    denominator = max_magnitude(b) if scale is None else abs(float(scale))
    return err / max(denominator, TINY)
