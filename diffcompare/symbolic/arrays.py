"""Arrays of expressions: a :class:`SymArray` is an engine value (``diffcompare.numpy``
dispatches to it) holding a NumPy object array of :class:`~.nodes.Node`. Array
operations act element by element, so a matrix product becomes explicit sums
of products: the swell stays visible.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._core import EngineValue, Trace, check_alive
from ..errors import ShapeMismatchError, UnsupportedOperationError
from .graph import topological
from .nodes import Node, as_node, const
from .text import short

# ---------------------------------------------------------------- arrays of nodes


def obj_array(x) -> np.ndarray:
    """An object array of nodes from a node, an array of nodes or numbers, or a SymArray."""
    if isinstance(x, SymArray):
        check_alive(x)  # an expression of a finished trace (leaked out of f) is no expression of this one
        return x.nodes
    if isinstance(x, Node):
        out = np.empty((), object)
        out[()] = x
        return out
    if isinstance(x, EngineValue):
        check_alive(x)
        raise UnsupportedOperationError(
            "mixing engines", "symbolic", f"a {type(x).__name__} from another engine cannot be a constant "
            "of a symbolic expression; trace the function symbolically on its own"
        )
    if isinstance(x, np.ndarray) and x.dtype == object:
        out = np.empty(x.shape, object)
        for idx, item in np.ndenumerate(x):
            out[idx] = as_node(item)
        return out
    values = np.asarray(x)
    if np.iscomplexobj(values):
        raise UnsupportedOperationError("complex constant", "symbolic", "expressions are real; use real numbers")
    out = np.empty(values.shape, object)
    for idx, item in np.ndenumerate(values):
        out[idx] = const(item)
    return out


def elementwise(fn, *arrays) -> np.ndarray:
    """``fn`` applied to the elements of broadcast object arrays."""
    arrays = [obj_array(a) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    arrays = [np.broadcast_to(a, shape) for a in arrays]
    out = np.empty(shape, object)
    for idx in np.ndindex(shape):
        out[idx] = fn(*(a[idx] for a in arrays))
    return out


class SymArray(EngineValue):
    """An array of scalar expressions (a NumPy object array of :class:`Node`)."""

    __slots__ = ("nodes", "_dtype")

    def __init__(self, trace: Trace, nodes, dtype=None):
        self._trace = trace
        self.nodes = obj_array(nodes)
        self._dtype = jnp.result_type(float) if dtype is None else dtype

    @property
    def shape(self):
        return tuple(self.nodes.shape)

    @property
    def dtype(self):
        return self._dtype

    @property
    def expression(self) -> Node:
        """The expression of a scalar (0-d) array, to print, draw, differentiate or convert."""
        if self.nodes.shape != ():
            raise ShapeMismatchError(f"SymArray.expression: this array has shape {self.shape}; index it first "
                                     "(a[i].expression) or use .nodes for the whole object array")
        return self.nodes[()]

    def __repr__(self) -> str:
        texts = short(list(self.nodes.reshape(-1)))
        if self.nodes.shape == ():
            return f"SymArray({texts[0]})"
        return f"SymArray(shape={self.shape}, {np.array(texts, object).reshape(self.shape)!r})"

    def _repr_latex_(self) -> str:
        texts = short(list(self.nodes.reshape(-1)), latex=True)
        if self.nodes.shape == ():
            return f"${texts[0]}$"
        columns = self.nodes.size // self.nodes.shape[0] if self.nodes.shape[0] else 0
        rows = [texts[i:i + columns] for i in range(0, len(texts), max(columns, 1))]
        body = r" \\ ".join(" & ".join(row) for row in rows)
        return rf"$\begin{{pmatrix}} {body} \end{{pmatrix}}$"


def flat_nodes(tree) -> list[Node]:
    """All nodes of a node, an object array of nodes, a SymArray, or a list/tuple of those."""
    if isinstance(tree, Node):
        return [tree]
    if isinstance(tree, np.ndarray):
        return list(tree.reshape(-1))
    if isinstance(tree, SymArray):
        return list(tree.nodes.reshape(-1))
    out = []
    for item in tree:
        out.extend(flat_nodes(item))
    return out


def variables(outputs) -> list[Node]:
    """The variables ``outputs`` depend on, in the order first met."""
    return [n for n in topological(flat_nodes(outputs)) if n.op == "var"]
