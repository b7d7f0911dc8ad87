"""Evaluating f at many perturbed points, batched.

All perturbed points of one derivative go to ``f`` as one batched call. At concrete
points that call is compiled (:mod:`.staged`): ``f`` is traced afresh at every call, so
a global, closure or attribute that changed since is read as it is now, and the
compiled program is reused whenever the trace has the same structure, with the arrays
``f`` read passed in as inputs. Inside an outer ``jax.jit``/``jax.vmap`` the rows go
through ``jax.vmap``; value-dependent Python control flow, which no trace can follow,
through a Python loop. ``diffcompare bench finite-diff-cache`` measures
what never serving a stale result costs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..errors import DiffCompareError
from . import complex_step, staged

_MAX_ROWS_ELEMENTS = 1 << 20  # about 8 MB of float64 perturbed inputs per batched call
_MAX_PERTURBED_ELEMENTS = 1 << 21  # made inside the compiled call: about 32 MB of float64 there


def _complex_dtype(leaf):
    return jnp.result_type(jnp.result_type(leaf), jnp.complex64)  # complex128 for float64


class Evaluator:
    """Evaluates f at many perturbed points of the differentiated arguments."""

    def __init__(self, f, args, selection, vectorize: bool, traced: bool = False):
        self.f, self.args, self.selection, self.vectorize = f, tuple(args), selection, vectorize
        diff = selection.pick(args)
        self.leaves, self.treedef = jax.tree_util.tree_flatten(diff)
        x, self.unravel = ravel_pytree(diff)
        # bookkeeping (steps, differences, the Richardson tableau) in NumPy when x is concrete:
        # eager jax.numpy would compile every small operation anew for every new shape
        # (``traced``: f's output is traced, e.g. it closes over a value that jax.jit traces)
        try:
            self.x, self.xp = (x, jnp) if traced else (np.asarray(x), np)
        except jax.errors.JAXTypeError:  # traced, e.g. the inner Jacobian of a Hessian under vmap
            self.x, self.xp = x, jnp
        self.f_scale = 1.0  # max(1, |f(x)|): the size of f's round-off, set once f(x) is known
        self.mixed = self._mixed_dtypes()

    def _mixed_dtypes(self):
        """``(dtype of each flat coordinate, rounding of a flat point to those dtypes)`` when the leaves'
        dtypes differ (the flat x is in the widest), else None."""
        dtypes = {jnp.result_type(leaf) for leaf in self.leaves}
        if len(dtypes) < 2 or self.xp is not np:
            return None
        per_coordinate = [jnp.result_type(leaf) for leaf in self.leaves for _ in range(int(np.size(leaf)))]

        def round_to_leaves(v):
            return np.asarray(ravel_pytree(self.unravel(jnp.asarray(v)))[0])

        return per_coordinate, round_to_leaves

    def _row_function(self, complex_step_: bool):
        """x ↦ f at the flat point x, flattened (the imaginary part, for the complex step)."""
        template = self.leaves
        if complex_step_:
            template = [jnp.zeros(jnp.shape(leaf), _complex_dtype(leaf)) for leaf in template]
        unravel = ravel_pytree(jax.tree_util.tree_unflatten(self.treedef, template))[1]

        def row(x):
            diff = unravel(x)
            if complex_step_:
                out = complex_step.evaluate(self.f, self.args, self.selection, diff)
                return jnp.imag(ravel_pytree(out)[0])
            return ravel_pytree(self.f(*self.selection.rebuild(self.args, diff)))[0]

        return row

    def _points(self, idx, steps, direction):
        """The points x + steps[r] * (e_idx[r] or direction), one per row."""
        xp, x = self.xp, self.x
        if direction is None:
            onehot = xp.arange(x.size)[None, :] == idx[:, None]
            return x[None, :] + steps[:, None] * onehot
        return x[None, :] + steps[:, None] * direction[None, :]

    def __call__(self, idx, steps, direction=None):
        """f at x + steps[r]·e_idx[r] (or ·direction) for each r, flattened: (rows, m).

        Complex steps mean the complex step: the imaginary part of f is returned.
        """
        row = self._row_function(bool(np.iscomplexobj(steps)))
        chunk = max(1, _MAX_ROWS_ELEMENTS // max(1, self.x.size))
        if self.vectorize and self.xp is np and not np.iscomplexobj(steps):
            try:  # concrete x: compiled calls with the points made inside them (never on the host)
                inside = max(1, _MAX_PERTURBED_ELEMENTS // max(1, self.x.size))
                return self._stack([staged.evaluate_perturbed(row, self.x, idx, steps, direction, inside)])
            except DiffCompareError:
                raise
            except Exception:  # value-dependent control flow: the loop below can follow it
                pass
        chunks = [self._points(idx[s : s + chunk], steps[s : s + chunk], direction)
                  for s in range(0, idx.shape[0], chunk)]
        if self.vectorize:
            try:
                if np.iscomplexobj(steps):
                    return self._stack([jax.vmap(row)(xs) for xs in chunks])
                concrete = self.xp is np
                return self._stack([staged.evaluate_rows(row, self.x, xs, compile=concrete) for xs in chunks])
            except DiffCompareError:
                raise
            except Exception:  # value-dependent control flow: jax.vmap cannot follow it, the loop can
                pass
        # the loop runs f exactly as the user would: its error is the real one
        return self._stack([jnp.stack([row(p) for p in xs]) for xs in chunks])

    def _stack(self, parts):
        ys = parts[0] if len(parts) == 1 else jnp.concatenate(parts)
        return np.asarray(ys) if self.xp is np else ys
