"""Evaluating f at many perturbed points, batched.

All perturbed points of one derivative go to ``f`` as one batched call
(``jax.jit(jax.vmap(f))``) when ``f`` can be traced, else ``jax.vmap``
eagerly, else a Python loop (value-dependent branches need concrete values).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .. import _api
from ..errors import DiffCompareError
from . import complex_step


@dataclasses.dataclass(frozen=True)
class _Spec:
    """The static part of a batched evaluation: hashable, so jit caches per function."""

    f: Callable
    selection: _api.Selection
    treedef: Any
    avals: tuple  # ((shape, dtype name), ...) of the differentiated leaves
    complex_step: bool

    def unravel(self):
        dtypes = [jnp.result_type(d, jnp.complex64) if self.complex_step else d for _, d in self.avals]
        leaves = [jnp.zeros(s, d) for (s, _), d in zip(self.avals, dtypes)]
        return ravel_pytree(jax.tree_util.tree_unflatten(self.treedef, leaves))[1]

    def row_function(self, args):
        unravel = self.unravel()

        def row(x):
            diff = unravel(x)
            if self.complex_step:
                out = complex_step.evaluate(self.f, args, self.selection, diff)
                return jnp.imag(ravel_pytree(out)[0])
            return ravel_pytree(self.f(*self.selection.rebuild(args, diff)))[0]

        return row


def _perturbed(x, idx, steps, direction):
    """The points x + steps[r] * (e_idx[r] or direction), one per row."""
    if direction is None:
        onehot = jnp.arange(x.size)[None, :] == idx[:, None]
        return x[None, :] + steps[:, None] * onehot
    return x[None, :] + steps[:, None] * direction[None, :]


def _rows(spec: _Spec, x, idx, steps, direction, args, vectorized: bool = True):
    row = spec.row_function(args)
    xs = _perturbed(x, idx, steps, direction)
    if vectorized:
        return jax.vmap(row)(xs)
    return jnp.stack([row(p) for p in xs])


# building the perturbed points inside jit lets XLA fuse them into f's evaluation
_rows_jit = jax.jit(_rows, static_argnums=(0, 6))
_MODES = {
    "jit": _rows_jit,
    "vmap": _rows,
    "loop": lambda spec, x, idx, steps, direction, args: _rows(spec, x, idx, steps, direction, args, False),
}
# how far down the jit -> vmap -> loop ladder a function had to go last time
_FIRST_MODE: dict[_Spec, str] = {}
_MAX_ROWS_ELEMENTS = 1 << 20  # about 8 MB of float64 perturbed inputs per call


def _jittable(args) -> bool:
    # Python ints and other objects among the fixed arguments may steer control flow: keep them concrete
    return all(
        isinstance(leaf, (jax.Array, np.ndarray, float, complex)) for leaf in jax.tree_util.tree_leaves(args)
    )


class Evaluator:
    """Evaluates f at many perturbed points of the differentiated arguments."""

    def __init__(self, f, args, selection, vectorize: bool):
        self.f, self.args, self.selection, self.vectorize = f, tuple(args), selection, vectorize
        diff = selection.pick(args)
        leaves, self.treedef = jax.tree_util.tree_flatten(diff)
        self.avals = tuple((tuple(jnp.shape(leaf)), jnp.result_type(leaf).name) for leaf in leaves)
        x, self.unravel = ravel_pytree(diff)
        # bookkeeping (steps, differences, the Richardson tableau) in NumPy when x is concrete:
        # eager jax.numpy would compile every small operation anew for every new shape
        try:
            self.x, self.xp = np.asarray(x), np
        except jax.errors.JAXTypeError:  # traced, e.g. the inner gradient of a Hessian under jit
            self.x, self.xp = x, jnp
        self.f_scale = 1.0  # max(1, |f(x)|): the size of f's round-off, set once f(x) is known

    def __call__(self, idx, steps, direction=None):
        """f at x + steps[r]·e_idx[r] (or ·direction) for each r, flattened: (rows, m).

        Complex steps mean the complex step: the imaginary part of f is returned.
        """
        complex_step = np.iscomplexobj(steps)
        spec = _Spec(self.f, self.selection, self.treedef, self.avals, bool(complex_step))
        modes = ["jit", "vmap", "loop"] if self.vectorize else ["loop"]
        if not _jittable(self.args):
            modes = [m for m in modes if m != "jit"]
        first = _FIRST_MODE.get(spec)
        if first in modes:
            modes = modes[modes.index(first):]
        chunk = max(1, _MAX_ROWS_ELEMENTS // max(1, self.x.size))
        for i, mode in enumerate(modes):
            try:
                parts = [
                    _MODES[mode](spec, self.x, idx[s : s + chunk], steps[s : s + chunk], direction, self.args)
                    for s in range(0, idx.shape[0], chunk)
                ]
                if len(_FIRST_MODE) > 1024:
                    _FIRST_MODE.clear()
                _FIRST_MODE[spec] = mode
                ys = parts[0] if len(parts) == 1 else jnp.concatenate(parts)
                return np.asarray(ys) if self.xp is np else ys
            except DiffCompareError:
                raise
            except Exception:
                if i == len(modes) - 1:
                    raise  # the loop runs f exactly as the user would: its error is the real one
