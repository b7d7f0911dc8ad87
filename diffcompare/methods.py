"""``METHODS``: every differentiation method by name, in the course's order.

Experiments, the checker and notebooks loop over this instead of naming
methods. Each offers ``grad``, ``value_and_grad``, ``jvp``, ``vjp``,
``jacobian`` and ``hessian`` (each with JAX's ``has_aux``: ``f`` returns
``(output, aux)`` and the aux comes back as plain arrays) and has ``NAME``,
``TITLE`` and ``TOLERANCE`` (relative error allowed against JAX).
"""

from __future__ import annotations

from types import ModuleType

from . import finite_diff, forward, jax_ref, reverse, symbolic

#: name -> method module, in the order finite_diff, symbolic, forward, reverse, jax
METHODS: dict[str, ModuleType] = {
    "finite_diff": finite_diff,
    "symbolic": symbolic,
    "forward": forward,
    "reverse": reverse,
    "jax": jax_ref,
}


def available_methods() -> list[str]:
    """The names of the methods (all five are always there)."""
    return list(METHODS)
