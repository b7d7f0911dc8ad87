"""Expression graphs: hash-consed scalar nodes, and arrays of them as engine values.

A :class:`Node` is one scalar expression: a constant, a named variable, or an
operation applied to other nodes. Nodes are *hash-consed*: building the same
operation on the same arguments twice returns the same object, so an identical
subexpression is one node and the expression is a graph (a DAG), never a tree
with copies. Measuring the same graph as if nothing were shared gives the tree
size of the textbooks (see :mod:`diffcompare.symbolic.measure`).

A :class:`SymArray` is an engine value (``diffcompare.numpy`` dispatches to it):
a NumPy object array of nodes. Array operations act element by element, so a
matrix product becomes explicit sums of products: the swell stays visible.

The arithmetic helpers (:func:`add`, :func:`mul`, ...) drop the structural
zeros and ones (``x + 0``, ``x * 1``, ``x * 0``, ``x - 0``, ``x / 1``, ``-(0)``)
and nothing else; constant folding and the other identities are
:mod:`diffcompare.symbolic.simplify`'s job.
"""

from __future__ import annotations

import hashlib
import itertools
import linecache
import math
import os
import sys
import weakref

import jax.numpy as jnp
import numpy as np

from .._core import EngineValue, Trace
from ..errors import ConcretizationError, UnsupportedOperationError

# ---------------------------------------------------------------- nodes

#: node kinds that compare and return 1.0 or 0.0; evaluated, never differentiated
COMPARISONS = ("gt", "ge", "eq")
_serial = itertools.count()
_TABLE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class Node:
    """One scalar expression; build nodes with :func:`make`, :func:`const`, :func:`var`.

    Attributes:
        op: the kind: ``"const"``, ``"var"``, a primitive name (``"exp"``,
            ``"add"``, ...) or one of the node-only kinds ``"amax"``/``"amin"``
            (n-ary maximum/minimum), ``"stop"`` (value without derivative),
            ``"gt"``/``"ge"``/``"eq"`` (comparisons, 1.0 or 0.0) and
            ``"select"`` (``select(c, a, b)`` is ``a`` where ``c`` is 1).
        args: the operand nodes.
        value: the number of a constant, the name of a variable, else None.
    """

    __slots__ = ("op", "args", "value", "serial", "key", "__weakref__")

    def __init__(self, op: str, args: tuple, value):
        self.op, self.args, self.value = op, args, value
        self.serial = next(_serial)
        # a digest of the structure alone: a canonical order for operands that does not
        # depend on which nodes happened to be built first in this process
        digest = hashlib.blake2b(f"{op}|{value!r}".encode(), digest_size=8)
        for a in args:
            digest.update(a.key)
        self.key = digest.digest()

    @property
    def is_const(self) -> bool:
        return self.op == "const"

    @property
    def is_leaf(self) -> bool:
        return self.op in ("const", "var")

    def __repr__(self) -> str:
        from .convert import to_string

        return f"Node({to_string(self)})"

    def __str__(self) -> str:
        from .convert import to_string

        return to_string(self)

    def _repr_latex_(self) -> str:
        from .convert import to_latex

        return f"${to_latex(self)}$"

    # Python operators build nodes (``__eq__`` stays identity: that is what hash-consing gives)
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __truediv__(self, other):
        return div(self, other)

    def __rtruediv__(self, other):
        return div(other, self)

    def __pow__(self, other):
        return power(self, other)

    def __neg__(self):
        return neg(self)


def order_key(node: Node) -> tuple:
    """A canonical, readable order for operands: constants, then variables by name,
    then compound expressions by their structure (never by creation order)."""
    if node.op == "const":
        return (0, "", node.key)
    if node.op == "var":
        return (1, str(node.value), node.key)
    return (2, "", node.key)


def _const_key(value: float) -> str:
    return "nan" if math.isnan(value) else repr(value)


def make(op: str, *args) -> Node:
    """The node ``op(*args)``: the existing one if it was built before (hash-consing)."""
    args = tuple(as_node(a) for a in args)
    key = (op, tuple(a.serial for a in args), None)
    node = _TABLE.get(key)
    if node is None:
        node = Node(op, args, None)
        _TABLE[key] = node
    return node


def const(value) -> Node:
    """The constant node for a real number (one node per value)."""
    value = float(value) + 0.0  # -0.0 becomes 0.0: one zero
    key = ("const", (), _const_key(value))
    node = _TABLE.get(key)
    if node is None:
        node = Node("const", (), value)
        _TABLE[key] = node
    return node


def var(name: str) -> Node:
    """The variable called ``name`` (one node per name)."""
    key = ("var", (), str(name))
    node = _TABLE.get(key)
    if node is None:
        node = Node("var", (), str(name))
        _TABLE[key] = node
    return node


def as_node(x) -> Node:
    if isinstance(x, Node):
        return x
    if isinstance(x, (bool, np.bool_)):
        return const(float(x))
    if isinstance(x, (int, float, np.integer, np.floating)):
        return const(x)
    if isinstance(x, (complex, np.complexfloating)):
        raise UnsupportedOperationError("complex constant", "symbolic", "expressions are real; use real numbers")
    raise TypeError(f"cannot make a symbolic constant from {type(x).__name__}")


def _is(node: Node, number: float) -> bool:
    return node.op == "const" and node.value == number


# ---------------------------------------------------------------- arithmetic helpers


def add(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if b.op == "negative":  # a + (-c) is a - c
        return make("subtract", a, b.args[0])
    if a.op == "negative":  # (-c) + b is b - c
        return make("subtract", b, a.args[0])
    return make("add", a, b)


def sub(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return neg(b)
    return make("subtract", a, b)


def mul(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(a, 0.0) or _is(b, 0.0):
        return const(0.0)
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if _is(a, -1.0):
        return neg(b)
    if _is(b, -1.0):
        return neg(a)
    if a.op == "negative" or b.op == "negative":  # signs move out, so a sum can subtract instead
        product = mul(a.args[0] if a.op == "negative" else a, b.args[0] if b.op == "negative" else b)
        return product if a.op == b.op else neg(product)
    if b.op == "divide" and _is(b.args[0], 1.0):  # a * (1/y) is a / y
        return div(a, b.args[1])
    if a.op == "divide" and _is(a.args[0], 1.0):
        return div(b, a.args[1])
    return make("multiply", a, b)


def div(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(b, 1.0):
        return a
    return make("divide", a, b)


def neg(a) -> Node:
    a = as_node(a)
    if a.op == "const":
        return const(-a.value)
    if a.op == "negative":
        return a.args[0]
    return make("negative", a)


def power(a, b) -> Node:
    a, b = as_node(a), as_node(b)
    if _is(b, 1.0):
        return a
    return make("power", a, b)


def unary(op: str):
    """The builder of a one-argument node kind (``unary("exp")(x)``)."""
    return lambda a: make(op, a)


def select(cond: Node, a, b) -> Node:
    """``a`` where the comparison ``cond`` is 1, else ``b`` (the condition is not differentiated)."""
    a, b = as_node(a), as_node(b)
    if a is b:
        return a
    if _is(a, 1.0) and _is(b, 0.0):
        return cond
    return make("select", cond, a, b)


def sum_nodes(nodes) -> Node:
    """x0 + x1 + ... as a left fold (a chain of binary additions)."""
    nodes = list(nodes)
    if not nodes:
        return const(0.0)
    out = nodes[0]
    for n in nodes[1:]:
        out = add(out, n)
    return as_node(out)


def prod_nodes(nodes) -> Node:
    nodes = list(nodes)
    if not nodes:
        return const(1.0)
    out = nodes[0]
    for n in nodes[1:]:
        out = mul(out, n)
    return as_node(out)


def nary(op: str, nodes) -> Node:
    """amax/amin of several nodes (one node for one argument is the argument)."""
    nodes = [as_node(n) for n in nodes]
    return nodes[0] if len(nodes) == 1 else make(op, *nodes)


# ---------------------------------------------------------------- graphs


def topological(outputs) -> list[Node]:
    """Every node ``outputs`` reach, each once, operands before the nodes using them."""
    order, seen = [], set()
    for root in outputs:
        if root.serial in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node.serial in seen:
                continue
            seen.add(node.serial)
            stack.append((node, True))
            for a in reversed(node.args):
                if a.serial not in seen:
                    stack.append((a, False))
    return order


def flat_nodes(tree) -> list[Node]:
    """All nodes of a node, an object array of nodes, or a list/tuple of those."""
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


# ---------------------------------------------------------------- arrays of nodes


def obj_array(x) -> np.ndarray:
    """An object array of nodes from a node, an array of nodes or numbers, or a SymArray."""
    if isinstance(x, SymArray):
        return x.nodes
    if isinstance(x, Node):
        out = np.empty((), object)
        out[()] = x
        return out
    if isinstance(x, EngineValue):
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


class SymbolicTrace(Trace):
    """One symbolic tracing of one function; its values have no numbers."""

    engine = "symbolic"

    def __init__(self, function_name: str = "the function"):
        super().__init__()
        self.function_name = function_name

    def process(self, prim, operands, params):
        from .rules import RULES, UNSUPPORTED

        rule = RULES.get(prim.name)
        if rule is None:
            reason = UNSUPPORTED.get(prim.name, "it has no rule in this engine's table")
            raise UnsupportedOperationError(prim.name, self.engine, reason)
        out = rule(*operands, **params)
        return SymArray(self, out, _result_dtype(operands))

    def concrete(self, value):
        raise ConcretizationError(_concretization_message(self.function_name))


def _result_dtype(operands):
    dtypes = []
    for op in operands:
        if isinstance(op, (list, tuple)):
            dtypes.extend(o.dtype for o in op if isinstance(o, SymArray))
        elif isinstance(op, SymArray):
            dtypes.append(op.dtype)
    return jnp.result_type(*dtypes) if dtypes else jnp.result_type(float)


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

    def __repr__(self) -> str:
        from .convert import to_string

        if self.nodes.shape == ():
            return f"SymArray({to_string(self.nodes[()])})"
        return f"SymArray(shape={self.shape}, {np.vectorize(to_string, otypes=[object])(self.nodes)!r})"

    def _repr_latex_(self) -> str:
        from .convert import to_latex

        if self.nodes.shape == ():
            return f"${to_latex(self.nodes[()])}$"
        rows = self.nodes.reshape(self.nodes.shape[0], -1) if self.nodes.ndim else self.nodes.reshape(1, 1)
        body = r" \\ ".join(" & ".join(to_latex(n) for n in row) for row in rows)
        return rf"$\begin{{pmatrix}} {body} \end{{pmatrix}}$"


# ---------------------------------------------------------------- concretization errors

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_USER_PARTS = (os.path.join(_PACKAGE, "problems"),)


def _library_frame(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_USER_PARTS):
        return False  # the zoo's functions are user code
    return path.startswith(_PACKAGE + os.sep) or f"{os.sep}jax{os.sep}" in path


def user_frame():
    """(function name, file, line, source) of the first frame outside the library."""
    frame = sys._getframe(1)
    while frame is not None and _library_frame(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return code.co_name, code.co_filename, frame.f_lineno, source


def _concretization_message(function_name: str) -> str:
    where = user_frame()
    if where is None:
        place = f"in {function_name}"
    else:
        name, filename, line, source = where
        place = f"in function '{name}' at {os.path.basename(filename)}:{line}" + (f" (`{source}`)" if source else "")
    return (
        f"symbolic tracing of {function_name} needs a concrete value {place}: a comparison, bool(), float() "
        "or a value-dependent index on a symbolic expression cannot be decided, because the expression "
        "stands for every input at once. Write the branch without Python control flow (dnp.where with a "
        "condition that does not depend on the input, dnp.maximum, dnp.abs, ...) or differentiate this "
        "function with the forward or reverse method, which follow the branch taken at the given input."
    )
