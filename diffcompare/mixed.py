"""What needs two engines: the layer above forward and reverse mode.

Each engine is a sibling that knows only its own values and rules (autodidax
keeps ``jvp`` and ``transpose`` apart and builds ``vjp`` from them above).
What combines them lives here:

* :func:`hvp`: Hessian-vector products, forward over reverse (Pearlmutter):
  the forward engine's ``jvp`` of the reverse engine's ``grad``.
* the transposition of a user rule (:mod:`diffcompare.custom`): a primitive
  given only a VJP rule gets its JVP (and one given only a JVP rule its VJP) by
  transposing the linear rule with one reverse sweep. ``custom`` sits below the
  engines, so the transposer is handed to it from here (:func:`transpose_linear`).

Mixed-mode Jacobian accumulation (chains, vertex elimination, colouring) is the
same kind of thing at a larger scale: :mod:`diffcompare.accumulate`.

    >>> import diffcompare
    >>> diffcompare.hvp(f)(x, v)       # also reachable as diffcompare.reverse.hvp
"""

from __future__ import annotations

from collections.abc import Callable

from . import _api, custom, reverse
from .forward.api import jvp as forward_jvp
from .reverse.api import grad, vjp


def hvp(f: Callable, argnums=0, *, has_aux: bool = False, staged: bool = True) -> Callable:
    """Hessian-vector products ``hvp(f)(*args, v) = H v`` without forming ``H``.

    Forward over reverse (Pearlmutter): the forward engine's ``jvp`` of the
    reverse engine's ``grad``, one forward and one backward pass on dual numbers.

    Arguments:
        f: a scalar-valued function written with ``diffcompare.numpy``.
        argnums: the argument(s) differentiated, as in JAX.
        has_aux: ``f`` returns ``(output, aux)``; ``hvp(f, has_aux=True)(*args, v)`` returns
            ``(H v, aux)``, the aux as plain arrays (``jax.jvp`` of ``jax.grad``, both with ``has_aux``).
        staged: run the forward pass over the gradient as one compiled program (the default), or
            op by op (``False``: what the notebooks time, pass by pass).
    Returns:
        ``hvp(f)(*args, v)``: ``v`` has the structure of the differentiated argument(s).
    """
    @_api.wraps(f, "reverse.hvp")
    def wrapped(*args_and_v, **kwargs):
        *args, v = args_and_v
        call = _api.prepare(f, tuple(args), kwargs, argnums, "reverse.hvp")
        _api.refuse_complex(v, "reverse.hvp", "vector v")
        gradient = grad(call.fun, has_aux=has_aux, staged=staged)
        _, hv, *aux = forward_jvp(gradient, (call.diff,), (v,), has_aux=has_aux, staged=staged)
        return (hv, aux[0]) if has_aux else hv

    return wrapped


def transpose_linear(linear: Callable, example: tuple, vector):
    """The transpose of the linear function ``linear`` (at inputs shaped like ``example``) applied to
    ``vector``: one reverse sweep of ``linear``'s tape."""
    _, pull = vjp(linear, *example)
    return pull(vector)


custom.transpose_with(transpose_linear)
reverse.hvp = hvp  # forward over reverse, offered where users look for it (reverse mode's own API)
