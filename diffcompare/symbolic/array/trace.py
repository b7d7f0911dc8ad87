"""Tracing a function written with ``diffcompare.numpy`` on array variables: each primitive one node."""

from __future__ import annotations

import jax
import numpy as np

from ...errors import ConcretizationError, UnsupportedOperationError
from ..trace import concretization_message
from .nodes import AArray, as_anode, var
from .rules import ExpressionTrace


class ArrayTrace(ExpressionTrace):
    """Tracing a user's function on array variables: each primitive becomes one array node. A comparison
    of expressions is an input-dependent condition: ``expand="auto"`` falls back to the scalar path,
    which expresses it as piecewise nodes; ``expand="array"`` refuses as for any value-dependent code."""

    def compare(self, name, x, y):
        raise ConcretizationError(concretization_message(self.function_name))


def trace(f, names, args):
    """(output node, variable nodes) of ``f`` traced on array variables named ``names`` shaped like ``args``."""
    tr = ArrayTrace(f"'{getattr(f, '__name__', type(f).__name__)}'")
    variables = [var(name, np.shape(a)) for name, a in zip(names, args)]
    out = f(*(AArray(tr, v) for v in variables))
    if not isinstance(out, (AArray, int, float, np.ndarray, np.generic, jax.Array)) or isinstance(out, bool):
        raise UnsupportedOperationError(f"a {type(out).__name__} output", "symbolic (array level)",
                                        "an output that is not one array is scalar-expanded")
    return as_anode(out), variables
