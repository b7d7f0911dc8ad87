"""Array expressions: hash-consed nodes that are whole arrays with shapes (``W @ x`` is one node of shape
``(m,)``), their builders, which apply the structural identities (``x * 1`` is ``x``, ``(Aᵀ)ᵀ`` is ``A``,
``M @ I`` is ``M``), and :class:`AArray`, the engine value standing for one expression.
"""

from __future__ import annotations

import itertools
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from ..._core import EngineValue, check_alive
from ...errors import UnsupportedOperationError
from ...primitives import PRIMITIVES
from ..nodes import STEPS
from .text import is_number, scalar_value, to_text

_serial = itertools.count()
_TABLE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
#: elementwise kinds of one operand (the unary primitives) and of two (the binary ones and comparisons)
UNARY = tuple(name for name, p in PRIMITIVES.items() if p.kind == "unary")
BINARY = tuple(name for name, p in PRIMITIVES.items() if p.kind == "binary") + ("gt", "ge", "eq")
#: elementwise kinds of one operand with derivative 0: stop_gradient's, and the piecewise-constant steps
NO_DERIVATIVE = ("stop",) + STEPS


class ANode:
    """One array expression. ``op``: ``"var"`` (``value`` is the name), ``"const"`` (``value`` the
    array), ``"eye"``, an elementwise kind (:data:`NO_DERIVATIVE` among them), ``"select"``, ``"sum"``,
    ``"max"``, ``"min"``, ``"broadcast_to"``, ``"reshape"``, ``"transpose"``, ``"matmul"`` (stacks of matrices too),
    ``"outer"``, ``"diag"`` (vector to diagonal matrix), ``"diagonal"`` (its transpose),
    ``"getitem"`` (a basic index, see :func:`basic_index`) or ``"scatter"`` (its transpose: zeros
    with the operand added at the index); ``params`` the static parameters (axes, shapes, index)."""

    __slots__ = ("op", "args", "shape", "params", "value", "serial", "__weakref__")

    def __init__(self, op, args, shape, params=(), value=None):
        self.op, self.args, self.shape, self.params, self.value = op, args, tuple(shape), params, value
        self.serial = next(_serial)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"ANode({to_text(self)})"


def node(op: str, args, shape, params=()) -> ANode:
    """The node ``op(*args)`` (one node per operation on the same operands)."""
    key = (op, tuple(a.serial for a in args), params)
    hit = _TABLE.get(key)
    if hit is None:
        hit = _TABLE[key] = ANode(op, tuple(args), shape, params)
    return hit


def var(name: str, shape) -> ANode:
    return _leaf("var", name, shape)


def _leaf(op, value, shape):
    key = (op, value if op != "const" else id(value), tuple(shape))
    hit = _TABLE.get(key)
    if hit is None:
        hit = _TABLE[key] = ANode(op, (), shape, value=value)
    return hit


_CONSTS: dict = {}


def const(value) -> ANode:
    """A constant array (scalars: one node per value)."""
    array = np.asarray(value, dtype=np.float64) if not isinstance(value, (np.ndarray, jax.Array)) else value
    if np.ndim(array) == 0:
        number = float(array) + 0.0
        key = ("scalar", repr(number))
        if key not in _CONSTS:
            _CONSTS[key] = ANode("const", (), (), value=np.float64(number))
        return _CONSTS[key]
    return _leaf("const", array, np.shape(array))


def eye(n: int) -> ANode:
    return node("eye", (), (n, n), (n,))


# ---------------------------------------------------------------- builders (with the structural identities)


def as_anode(x) -> ANode:
    if isinstance(x, ANode):
        return x
    if isinstance(x, AArray):
        check_alive(x)  # an expression of a finished trace (leaked out of f) is no expression of this one
        return x.node
    if isinstance(x, EngineValue):
        check_alive(x)
        raise UnsupportedOperationError("mixing engines", "symbolic", "another engine's value inside an array trace")
    if np.iscomplexobj(x):
        raise UnsupportedOperationError("complex constant", "symbolic", "expressions are real; use real numbers")
    return const(x)


_FOLD = {"add": float.__add__, "subtract": float.__sub__, "multiply": float.__mul__}


def binary(op: str, a, b) -> ANode:
    a, b = as_anode(a), as_anode(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    ca, cb = scalar_value(a), scalar_value(b)
    if op in _FOLD and ca is not None and cb is not None:  # constant folding of scalars
        return broadcast_to(const(_FOLD[op](ca, cb)), shape)
    if op == "multiply" and (ca is not None or cb is not None):
        c, other = (ca, b) if ca is not None else (cb, a)
        if other.op == "multiply" and scalar_value(other.args[0]) is not None:  # c (d z) is (c d) z
            return binary("multiply", const(c * scalar_value(other.args[0])), broadcast_to(other.args[1], shape))
        if ca is None:
            a, b = b, a  # the scalar factor first: 2 * x
    if op in ("add", "subtract") and is_number(b, 0.0) and a.shape == shape:
        return a
    if op == "add" and b.op == "negative":  # a + (-b) is a - b
        return binary("subtract", a, b.args[0])
    if op == "add" and a.op == "negative":
        return binary("subtract", b, a.args[0])
    if op == "add" and is_number(a, 0.0) and b.shape == shape:
        return b
    if op == "multiply":
        if is_number(a, 1.0) and b.shape == shape:
            return b
        if is_number(b, 1.0) and a.shape == shape:
            return a
        # 0 ⊙ x stays: it is NaN where x is inf or nan, as in JAX
        if is_number(a, -1.0):
            return unary("negative", broadcast_to(b, shape))
        if is_number(b, -1.0):
            return unary("negative", broadcast_to(a, shape))
        if a.op == "negative" or b.op == "negative":  # a ⊙ (-b) is -(a ⊙ b), which a sum then subtracts
            return unary("negative", binary("multiply", *(x.args[0] if x.op == "negative" else x for x in (a, b))))
    if op == "divide" and is_number(b, 1.0) and a.shape == shape:
        return a
    if op == "power" and is_number(b, 1.0) and a.shape == shape:
        return a
    return node(op, (a, b), shape)


def unary(op: str, a) -> ANode:
    a = as_anode(a)
    if op == "negative" and a.op == "negative":
        return a.args[0]
    if op == "negative" and scalar_value(a) is not None:
        return broadcast_to(const(-scalar_value(a)), a.shape)
    return node(op, (a,), a.shape)


def select(c, a, b) -> ANode:
    c, a, b = as_anode(c), as_anode(a), as_anode(b)
    shape = np.broadcast_shapes(c.shape, a.shape, b.shape)
    if c.op in ("gt", "ge", "eq") and is_number(a, 1.0) and is_number(b, 0.0) and c.shape == shape:
        return c  # a comparison is 1 where it holds, 0 elsewhere
    return node("select", (c, a, b), shape)


def add(a, b):
    return binary("add", a, b)


def mul(a, b):
    return binary("multiply", a, b)


def neg(a):
    return unary("negative", a)


def reduced_shape(shape, axis, keepdims: bool) -> tuple:
    """The shape after reducing ``axis``: those axes kept as 1 (``keepdims``) or dropped."""
    if keepdims:
        return tuple(1 if i in axis else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axis)


def reduce_sum(a, axis, keepdims=False) -> ANode:
    a = as_anode(a)
    axis = tuple(sorted(axis))
    if not axis:
        return a
    return node("sum", (a,), reduced_shape(a.shape, axis, keepdims), (axis, bool(keepdims)))


def broadcast_to(a, shape) -> ANode:
    a = as_anode(a)
    shape = tuple(shape)
    return a if a.shape == shape else node("broadcast_to", (a,), shape, (shape,))


def reshape(a, shape) -> ANode:
    a = as_anode(a)
    shape = tuple(shape)
    if a.shape == shape:
        return a
    if a.op == "reshape":
        return reshape(a.args[0], shape)
    return node("reshape", (a,), shape, (shape,))


def transpose(a, axes=None) -> ANode:
    a = as_anode(a)
    axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(axes)
    if axes == tuple(range(a.ndim)):
        return a
    if a.op == "eye":
        return a
    if a.op == "transpose":  # transposing twice composes the permutations
        inner = a.params[0]
        return transpose(a.args[0], tuple(inner[i] for i in axes))
    return node("transpose", (a,), tuple(a.shape[i] for i in axes), (axes,))


def matmul(a, b) -> ANode:
    a, b = as_anode(a), as_anode(b)
    if a.ndim > 2 or b.ndim > 2:  # a stack of matrix products, batch axes broadcast
        if a.ndim < 2 or b.ndim < 2:
            raise UnsupportedOperationError("matmul", "symbolic (array level)",
                                            "a 1-d operand with a stack of matrices is scalar-expanded")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return node("matmul", (a, b), batch + (a.shape[-2], b.shape[-1]))
    if b.op == "eye":
        return a
    if a.op == "eye":
        return b
    return node("matmul", (a, b), a.shape[:-1] + b.shape[1:])  # NumPy's rule for 1-d and 2-d operands


def swap_last(a: ANode) -> ANode:
    return transpose(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))


def diagonal(m) -> ANode:
    """The diagonal of a square matrix (``jnp.diagonal``)."""
    m = as_anode(m)
    return node("diagonal", (m,), m.shape[:1])


def reduce_extreme(op: str, a, axis, keepdims=False) -> ANode:
    """``max`` or ``min`` over ``axis``."""
    a = as_anode(a)
    axis = tuple(sorted(axis))
    return node(op, (a,), reduced_shape(a.shape, axis, keepdims), (axis, bool(keepdims)))


def getitem(a, key: tuple) -> ANode:
    """``a[key]`` for a basic index in normal form (see :func:`basic_index`)."""
    a = as_anode(a)
    shape = np.broadcast_to(np.empty((), bool), a.shape)[python_index(key)].shape
    return node("getitem", (a,), shape, (key,))


def scatter(g, key: tuple, shape) -> ANode:
    """Zeros of ``shape`` with ``g`` added at ``a[key]``: the transpose of :func:`getitem`."""
    return node("scatter", (as_anode(g),), tuple(shape), (key, tuple(shape)))


def basic_index(index: tuple, shape) -> tuple:
    """A basic index (ints, slices, None, one Ellipsis) in a hashable normal form that names
    every axis: ints, ``("slice", start, stop, step)`` and None; None for an advanced index."""
    if sum(item is Ellipsis for item in index) > 1:
        return None
    used = sum(1 for item in index if item is not None and item is not Ellipsis)
    key = []
    for item in index:
        if item is Ellipsis:
            key.extend([("slice", None, None, None)] * (len(shape) - used))
        elif item is None:
            key.append(None)
        elif isinstance(item, slice):
            key.append(("slice", item.start, item.stop, item.step))
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            key.append(int(item))
        else:
            return None
    axes = sum(1 for item in key if item is not None)
    return tuple(key) + (("slice", None, None, None),) * (len(shape) - axes)


def python_index(key: tuple) -> tuple:
    return tuple(slice(*item[1:]) if isinstance(item, tuple) else item for item in key)


def outer(u, v) -> ANode:
    """u vᵀ for 1-d u, v."""
    u, v = as_anode(u), as_anode(v)
    return node("outer", (u, v), u.shape + v.shape)


def diag(s) -> ANode:
    s = as_anode(s)
    if is_number(s, 1.0):
        return eye(s.shape[0])
    return node("diag", (s,), s.shape + s.shape)


def unbroadcast(g: ANode, shape) -> ANode:
    """Sum ``g`` down to ``shape`` (undo NumPy broadcasting)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
    out = reduce_sum(g, axes, keepdims=True)
    return reshape(out, shape)


def rebuild(n, args) -> ANode:
    """``n``'s operation applied to new operands ``args`` (through the builders, so their identities apply)."""
    if n.op in BINARY:
        return binary(n.op, *args)
    if n.op == "select":
        return select(*args)
    if n.op in UNARY or n.op in NO_DERIVATIVE:
        return unary(n.op, args[0])
    builders = {"sum": lambda: reduce_sum(args[0], *n.params), "broadcast_to": lambda: broadcast_to(args[0], *n.params),
                "reshape": lambda: reshape(args[0], *n.params), "transpose": lambda: transpose(args[0], *n.params),
                "matmul": lambda: matmul(*args), "outer": lambda: outer(*args), "diag": lambda: diag(*args),
                "diagonal": lambda: diagonal(*args), "getitem": lambda: getitem(args[0], *n.params),
                "scatter": lambda: scatter(args[0], *n.params),
                "max": lambda: reduce_extreme("max", args[0], *n.params),
                "min": lambda: reduce_extreme("min", args[0], *n.params)}
    return builders[n.op]()


class AArray(EngineValue):
    """An engine value standing for one array expression."""

    __slots__ = ("node",)

    def __init__(self, trace, n: ANode):
        self._trace, self.node = trace, n

    @property
    def shape(self):
        return self.node.shape

    @property
    def dtype(self):
        return jnp.result_type(float)

    def __repr__(self):
        return f"AArray({to_text(self.node)})"
