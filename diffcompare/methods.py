"""``METHODS``: every differentiation method by name, in the course's order.

Experiments, the checker and notebooks loop over this instead of naming
methods. A method joins when its module lands; each offers ``grad``,
``value_and_grad``, ``jvp``, ``vjp``, ``jacobian`` and ``hessian`` and has
``NAME``, ``TITLE`` and ``TOLERANCE`` (relative error allowed against JAX).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: the method names in order, and the module each will live in
ORDER = {
    "finite_diff": "diffcompare.finite_diff",
    "symbolic": "diffcompare.symbolic",
    "forward": "diffcompare.forward",
    "reverse": "diffcompare.reverse",
    "jax": "diffcompare.jax_ref",
}


def _load() -> dict[str, ModuleType]:
    methods = {}
    for name, module in ORDER.items():
        try:
            methods[name] = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:  # the module exists but something it imports is missing: say so
                raise
    return methods


#: name -> method module, in the order finite_diff, symbolic, forward, reverse, jax
METHODS: dict[str, ModuleType] = _load()


def available_methods() -> list[str]:
    """The names of the methods this installation has."""
    return list(METHODS)
