"""Forward-mode automatic differentiation with dual numbers.

Every value carries its tangent: ``(a, ȧ)``. Each primitive of
``diffcompare.numpy`` maps input pairs to an output pair by its JVP rule (one
table, ``rules.py``), so one pass through ``f`` gives ``f(x)`` and one
Jacobian-vector product ``J·v``: one Jacobian column. A full gradient of
f: Rⁿ → R costs n passes, or one *vector-mode* pass whose tangents carry all n
directions along a leading axis.

    >>> import diffcompare.forward as fwd
    >>> fwd.jvp(lambda x: dnp.exp(x) / x**2, (1.5,), (1.0,))
    >>> fwd.grad(f, mode="passes")(x)          # n passes
    >>> fwd.hessian(f)(x)                      # forward over forward

Nested passes are tagged by their trace's level, so they never confuse their
perturbations; duals whose parts are another engine's values work too.
"""

from __future__ import annotations

from . import api
from .api import MODES, default_chunk_size, grad, hessian, jacfwd, jacobian, jvp, value_and_grad, vjp
from .custom import USER_PRIMITIVES, UserPrimitive, custom_jvp, defjvp
from .dual import Dual, ForwardTrace
from .rules import RULES, UNSUPPORTED
from .teaching import Counts, MatrixRule, Sweep, counting, dual_matrix, from_matrix, matrix_rules, sweep

NAME = "forward"
TITLE = "forward mode (dual numbers)"
#: relative error allowed against JAX, by dtype
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}

__all__ = [
    "MODES",
    "NAME",
    "RULES",
    "TITLE",
    "TOLERANCE",
    "UNSUPPORTED",
    "USER_PRIMITIVES",
    "Counts",
    "Dual",
    "ForwardTrace",
    "MatrixRule",
    "Sweep",
    "UserPrimitive",
    "api",
    "counting",
    "custom_jvp",
    "default_chunk_size",
    "defjvp",
    "dual_matrix",
    "from_matrix",
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jvp",
    "matrix_rules",
    "sweep",
    "value_and_grad",
    "vjp",
]
