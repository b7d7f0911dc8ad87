"""Finite differences: perturb the inputs, take difference quotients.

The first method, and the one every textbook starts from. A gradient of
f: Rⁿ → R costs n + 1 evaluations (forward or backward difference), 2n
(central), 4n (4th-order central), n (complex step) or 2n per level
(Richardson). Each scheme trades truncation error against round-off, so the
default step is chosen from the dtype's precision and the scheme's order
(``schemes``). The complex step has no cancellation, so its step can be tiny
and it is exact to rounding: but only for complex-analytic functions, and it
refuses the others (``complex_step``). Richardson extrapolates central
differences at halving steps (``richardson``).

The package, bottom to top:

* ``schemes``: the stencils, default steps, evaluation counts and tolerances;
* ``complex_step``: the guard that refuses non-analytic operations;
* ``evaluation``: f at many perturbed points, batched;
* ``richardson`` and ``differences``: the difference quotients;
* ``api``: ``grad``, ``value_and_grad``, ``jacobian``, ``jvp``, ``vjp``,
  ``hessian`` with JAX's conventions.
"""

from __future__ import annotations

from .api import grad, hessian, jacobian, jvp, value_and_grad, vjp
from .schemes import (
    RICHARDSON_LEVELS,
    RICHARDSON_MAX_LEVELS,
    SCHEME_TOLERANCE,
    SCHEMES,
    Scheme,
    default_step,
    evaluations,
    order,
    tolerance,
)

NAME = "finite_diff"
TITLE = "finite differences"
#: relative error allowed against JAX for the default (central) scheme, by dtype
TOLERANCE = SCHEME_TOLERANCE["central"]

__all__ = [
    "NAME",
    "RICHARDSON_LEVELS",
    "RICHARDSON_MAX_LEVELS",
    "SCHEMES",
    "SCHEME_TOLERANCE",
    "TITLE",
    "TOLERANCE",
    "Scheme",
    "default_step",
    "evaluations",
    "grad",
    "hessian",
    "jacobian",
    "jvp",
    "order",
    "tolerance",
    "value_and_grad",
    "vjp",
]
