"""Array-level symbolic expressions: nodes that are whole arrays with shapes (matrix calculus).

Scalar expansion (:mod:`.nodes`) writes ``W @ x`` as a sum of products per element;
here it is one node ``W @ x`` of shape ``(m,)``. A function written with
``diffcompare.numpy`` is traced on array variables (:class:`ArrayTrace`), its
gradient is built by reverse accumulation on the shared graph with one VJP rule
per operation (:data:`VJPS`), so the derivative is an array expression whose
size does not grow with n (the approach of Laue, Mitterreiter and Giesen,
"Computing Higher Order Derivatives of Matrix and Tensor Expressions", NeurIPS
2018). A Hessian is the reverse derivative of the gradient along a cotangent
``u`` (a Hessian-vector product, linear in ``u``), with ``u`` then replaced by the
identity (:func:`batch_identity`) and ``M @ I`` simplified to ``M``: the Hessian
of xᵀAx is ``A + Aᵀ`` (O(n²)), not n Hessian-vector products (O(n³)).

Operations without an array rule (``prod``, advanced indexing, ``stack``, ...)
raise :class:`UnsupportedOperationError`; the method interface then falls back to
scalar expansion (``expand="auto"``) or refuses (``expand="array"``). Constant
arrays are inputs of the compiled program, so a changed global array reuses the
compiled derivative with its new values.
"""

from __future__ import annotations

import itertools
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from .._core import EngineValue, Trace
from ..errors import ConcretizationError, UnsupportedOperationError
from ..primitives import PRIMITIVES
from .convert import _JNP_OPS
from .graph import topological, use_counts
from .text import LATEX, latex_name
from .trace import concretization_message

_serial = itertools.count()
_TABLE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
#: elementwise kinds of one operand (the unary primitives) and of two (the binary ones and comparisons)
UNARY = tuple(name for name, p in PRIMITIVES.items() if p.kind == "unary")
BINARY = tuple(name for name, p in PRIMITIVES.items() if p.kind == "binary") + ("gt", "ge", "eq")


class ANode:
    """One array expression. ``op``: ``"var"`` (``value`` is the name), ``"const"`` (``value`` the
    array), ``"eye"``, an elementwise kind, ``"select"``, ``"sum"``, ``"max"``, ``"min"``,
    ``"broadcast_to"``, ``"reshape"``, ``"transpose"``, ``"matmul"`` (stacks of matrices too),
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


def _is(n: ANode, number: float) -> bool:
    """Whether ``n`` is the scalar ``number`` (possibly reshaped or broadcast)."""
    while n.op in ("reshape", "broadcast_to"):
        n = n.args[0]
    return n.op == "const" and n.shape == () and float(n.value) == number


def eye(n: int) -> ANode:
    return node("eye", (), (n, n), (n,))


# ---------------------------------------------------------------- builders (with the structural identities)


def as_anode(x) -> ANode:
    if isinstance(x, ANode):
        return x
    if isinstance(x, AArray):
        return x.node
    if isinstance(x, EngineValue):
        raise UnsupportedOperationError("mixing engines", "symbolic", "another engine's value inside an array trace")
    if np.iscomplexobj(x):
        raise UnsupportedOperationError("complex constant", "symbolic", "expressions are real; use real numbers")
    return const(x)


def _scalar(n: ANode):
    """The number ``n`` stands for, if it is a (reshaped or broadcast) scalar constant, else None."""
    while n.op in ("reshape", "broadcast_to"):
        n = n.args[0]
    return float(n.value) if n.op == "const" and n.shape == () else None


_FOLD = {"add": float.__add__, "subtract": float.__sub__, "multiply": float.__mul__}


def binary(op: str, a, b) -> ANode:
    a, b = as_anode(a), as_anode(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    ca, cb = _scalar(a), _scalar(b)
    if op in _FOLD and ca is not None and cb is not None:  # constant folding of scalars
        return broadcast_to(const(_FOLD[op](ca, cb)), shape)
    if op == "multiply" and (ca is not None or cb is not None):
        c, other = (ca, b) if ca is not None else (cb, a)
        if other.op == "multiply" and _scalar(other.args[0]) is not None:  # c (d z) is (c d) z
            return binary("multiply", const(c * _scalar(other.args[0])), broadcast_to(other.args[1], shape))
        if ca is None:
            a, b = b, a  # the scalar factor first: 2 * x
    if op in ("add", "subtract") and _is(b, 0.0) and a.shape == shape:
        return a
    if op == "add" and b.op == "negative":  # a + (-b) is a - b
        return binary("subtract", a, b.args[0])
    if op == "add" and a.op == "negative":
        return binary("subtract", b, a.args[0])
    if op == "add" and _is(a, 0.0) and b.shape == shape:
        return b
    if op == "multiply":
        if _is(a, 1.0) and b.shape == shape:
            return b
        if _is(b, 1.0) and a.shape == shape:
            return a
        if _is(a, 0.0) or _is(b, 0.0):
            return broadcast_to(const(0.0), shape)
        if _is(a, -1.0):
            return unary("negative", broadcast_to(b, shape))
        if _is(b, -1.0):
            return unary("negative", broadcast_to(a, shape))
        if a.op == "negative" or b.op == "negative":  # a ⊙ (-b) is -(a ⊙ b), which a sum then subtracts
            return unary("negative", binary("multiply", *(x.args[0] if x.op == "negative" else x for x in (a, b))))
    if op == "divide" and _is(b, 1.0) and a.shape == shape:
        return a
    if op == "power" and _is(b, 1.0) and a.shape == shape:
        return a
    return node(op, (a, b), shape)


def unary(op: str, a) -> ANode:
    a = as_anode(a)
    if op == "negative" and a.op == "negative":
        return a.args[0]
    if op == "negative" and _scalar(a) is not None:
        return broadcast_to(const(-_scalar(a)), a.shape)
    return node(op, (a,), a.shape)


def select(c, a, b) -> ANode:
    c, a, b = as_anode(c), as_anode(a), as_anode(b)
    shape = np.broadcast_shapes(c.shape, a.shape, b.shape)
    if c.op in ("gt", "ge", "eq") and _is(a, 1.0) and _is(b, 0.0) and c.shape == shape:
        return c  # a comparison is 1 where it holds, 0 elsewhere
    return node("select", (c, a, b), shape)


def add(a, b):
    return binary("add", a, b)


def mul(a, b):
    return binary("multiply", a, b)


def neg(a):
    return unary("negative", a)


def _reduced_shape(shape, axis, keepdims: bool) -> tuple:
    """The shape after reducing ``axis``: those axes kept as 1 (``keepdims``) or dropped."""
    if keepdims:
        return tuple(1 if i in axis else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axis)


def reduce_sum(a, axis, keepdims=False) -> ANode:
    a = as_anode(a)
    axis = tuple(sorted(axis))
    if not axis:
        return a
    return node("sum", (a,), _reduced_shape(a.shape, axis, keepdims), (axis, bool(keepdims)))


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


def _swap_last(a: ANode) -> ANode:
    return transpose(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))


def diagonal(m) -> ANode:
    """The diagonal of a square matrix (``jnp.diagonal``)."""
    m = as_anode(m)
    return node("diagonal", (m,), m.shape[:1])


def reduce_extreme(op: str, a, axis, keepdims=False) -> ANode:
    """``max`` or ``min`` over ``axis``."""
    a = as_anode(a)
    axis = tuple(sorted(axis))
    return node(op, (a,), _reduced_shape(a.shape, axis, keepdims), (axis, bool(keepdims)))


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
    if _is(s, 1.0):
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


# ---------------------------------------------------------------- VJP rules


def _elementwise_vjp(prim):
    """The VJP of an elementwise primitive: its declared derivative (``Primitive.derivative``, linear in
    the tangent) applied to the cotangent, on array expressions, for each operand that is not a constant."""
    derivatives = (prim.derivative,) if prim.kind == "unary" else prim.derivative

    def vjp(g, n):
        trace = _RuleTrace(prim.name)
        t, operands, ans = AArray(trace, g), [AArray(trace, a) for a in n.args], AArray(trace, n)
        return tuple(None if a.op in ("const", "eye") else as_anode(d(dnp, t, *operands, ans))
                     for a, d in zip(n.args, derivatives))

    return vjp


def _vjp_matmul(g, n):
    a, b = n.args
    if a.ndim == 1 and b.ndim == 1:
        return mul(g, b), mul(g, a)
    if a.ndim == 1:  # (q,) @ (q, r) -> (r,)
        return matmul(b, g), outer(a, g)
    if b.ndim == 1:  # (p, q) @ (q,) -> (p,)
        return outer(g, b), matmul(transpose(a), g)
    return matmul(g, transpose(b)), matmul(transpose(a), g)


def _vjp_batched_matmul(g, n):
    a, b = n.args
    return unbroadcast(matmul(g, _swap_last(b)), a.shape), unbroadcast(matmul(_swap_last(a), g), b.shape)


def _vjp_extreme(g, n):
    # ties share the cotangent equally, as JAX
    (a,), axis = n.args, n.params[0]
    kept = _reduced_shape(a.shape, axis, keepdims=True)
    mask = binary("eq", a, broadcast_to(reshape(n, kept), a.shape))
    share = binary("divide", mask, broadcast_to(reduce_sum(mask, axis, keepdims=True), a.shape))
    return (mul(broadcast_to(reshape(g, kept), a.shape), share),)


def _vjp_sum(g, n):
    (a,), (axis, keepdims) = n.args, n.params
    if not keepdims:
        g = reshape(g, _reduced_shape(a.shape, axis, keepdims=True))
    return (broadcast_to(g, a.shape),)


def _inverse(axes):
    return tuple(int(i) for i in np.argsort(axes))


#: node kind -> vjp(cotangent, node) giving one cotangent per operand (None where none)
VJPS = {
    # every elementwise primitive's VJP comes from its declaration in primitives.py
    **{name: _elementwise_vjp(p) for name, p in PRIMITIVES.items() if p.derivative is not None},
    "select": lambda g, n: (None, select(n.args[0], g, 0.0), select(n.args[0], 0.0, g)),
    "gt": lambda g, n: (None, None), "ge": lambda g, n: (None, None), "eq": lambda g, n: (None, None),
    "stop": lambda g, n: (None,),
    "sum": _vjp_sum,
    "broadcast_to": lambda g, n: (unbroadcast(g, n.args[0].shape),),
    "reshape": lambda g, n: (reshape(g, n.args[0].shape),),
    "transpose": lambda g, n: (transpose(g, _inverse(n.params[0])),),
    "matmul": lambda g, n: (_vjp_batched_matmul if n.ndim > 2 else _vjp_matmul)(g, n),
    "outer": lambda g, n: (matmul(g, n.args[1]), matmul(transpose(g), n.args[0])),
    "diag": lambda g, n: (diagonal(g),),
    "diagonal": lambda g, n: (diag(g),),
    "max": _vjp_extreme,
    "min": _vjp_extreme,
    "getitem": lambda g, n: (scatter(g, n.params[0], n.args[0].shape),),
    "scatter": lambda g, n: (getitem(g, n.params[0]),),
}


def reverse(output: ANode, wrt, seed=None, adjoints: dict | None = None) -> list:
    """Cotangents of ``wrt`` (variable nodes) for Σ seed · output, by reverse accumulation
    (``adjoints``, when given, receives serial -> cotangent for every node reached)."""
    adjoint = {output.serial: const(1.0) if seed is None else as_anode(seed)}
    order = topological([output])
    uses = use_counts(order)
    for n in reversed(order):
        bar = adjoint.get(n.serial)
        if bar is None or not n.args:
            continue
        args, contributions = n.args, None
        if n.op == "log1p" and n.args[0].op == "exp" and uses[n.args[0].serial] == 1:
            # log(1 + exp(z))' is sigmoid(z), in one step: the derivative reads σ and never overflows
            args = n.args[0].args
            contributions = (mul(bar, unary("sigmoid", args[0])),)
        for arg, contribution in zip(args, contributions or VJPS[n.op](bar, n)):
            if contribution is None or arg.op in ("const", "eye"):
                continue
            contribution = unbroadcast(contribution, arg.shape) if n.op in BINARY or n.op == "select" else contribution
            adjoint[arg.serial] = add(adjoint[arg.serial], contribution) if arg.serial in adjoint else contribution
    if adjoints is not None:
        adjoints.update(adjoint)
    return [broadcast_to(adjoint[v.serial], v.shape) if v.serial in adjoint else const(np.zeros(v.shape))
            for v in wrt]


# ---------------------------------------------------------------- batching a linear expression over the identity


def batch_identity(outputs, u: ANode):
    """``outputs`` (linear in the 1-d variable ``u``) with ``u`` replaced by the identity: each
    output gains a trailing axis, column j being the output at ``u = e_j`` (a Jacobian)."""
    k = u.shape[0]
    new: dict[int, ANode] = {}
    batched: set[int] = set()

    def lift(n):  # an unbatched operand, given a trailing axis of 1 to broadcast against the batch
        return reshape(new[n.serial], new[n.serial].shape + (1,))

    for n in topological(outputs):
        args = [new[a.serial] for a in n.args]
        hit = [a.serial in batched for a in n.args]
        if n is u:
            new[n.serial] = eye(k)
            batched.add(n.serial)
            continue
        if not any(hit):
            new[n.serial] = n if not n.args else _rebuild(n, args)
            continue
        batched.add(n.serial)
        if n.op in BINARY or n.op == "select":
            operands = [args[i] if hit[i] else lift(a) for i, a in enumerate(n.args)]
            new[n.serial] = _diag_product(n.op, operands) or (
                select(*operands) if n.op == "select" else binary(n.op, *operands))
        elif n.op in UNARY or n.op == "stop":
            new[n.serial] = unary(n.op, args[0])
        elif n.op == "sum":
            new[n.serial] = reduce_sum(args[0], n.params[0], n.params[1])
        elif n.op in ("broadcast_to", "reshape"):
            build = broadcast_to if n.op == "broadcast_to" else reshape
            new[n.serial] = build(args[0], n.params[0] + (k,))
        elif n.op == "transpose":
            new[n.serial] = transpose(args[0], n.params[0] + (len(n.params[0]),))
        elif n.op == "getitem":
            new[n.serial] = getitem(args[0], n.params[0] + (("slice", None, None, None),))
        elif n.op == "scatter":
            new[n.serial] = scatter(args[0], n.params[0] + (("slice", None, None, None),), n.shape + (k,))
        elif n.op == "matmul" and not all(hit) and n.args[0].ndim <= 2 and n.args[1].ndim <= 2:
            new[n.serial] = _batched_matmul(n, args, hit, k)
        elif n.op == "outer" and not all(hit):
            u_, v_ = args
            new[n.serial] = (mul(reshape(u_, u_.shape[:1] + (1, k)), reshape(v_, (1,) + v_.shape + (1,)))
                             if hit[0] else mul(reshape(u_, u_.shape + (1, 1)), reshape(v_, (1,) + v_.shape)))
        elif n.op == "diag":  # a batch of diagonal matrices: v[:, None, :] * I[:, :, None]
            size = n.shape[0]
            new[n.serial] = mul(reshape(args[0], (size, 1, k)), reshape(eye(size), (size, size, 1)))
        elif n.op == "diagonal":
            size = n.shape[0]
            new[n.serial] = reduce_sum(mul(args[0], reshape(eye(size), (size, size, 1))), (1,))
        else:
            raise UnsupportedOperationError(n.op, "symbolic (array level)",
                                            "its Hessian has no batched rule yet; use expand='scalar'")
    return [new[o.serial] for o in outputs]


def _rebuild(n, args):
    if n.op in BINARY:
        return binary(n.op, *args)
    if n.op == "select":
        return select(*args)
    if n.op in UNARY or n.op == "stop":
        return unary(n.op, args[0])
    builders = {"sum": lambda: reduce_sum(args[0], *n.params), "broadcast_to": lambda: broadcast_to(args[0], *n.params),
                "reshape": lambda: reshape(args[0], *n.params), "transpose": lambda: transpose(args[0], *n.params),
                "matmul": lambda: matmul(*args), "outer": lambda: outer(*args), "diag": lambda: diag(*args),
                "diagonal": lambda: diagonal(*args), "getitem": lambda: getitem(args[0], *n.params),
                "scatter": lambda: scatter(args[0], *n.params),
                "max": lambda: reduce_extreme("max", args[0], *n.params),
                "min": lambda: reduce_extreme("min", args[0], *n.params)}
    return builders[n.op]()


def _diag_product(op, operands):
    """``s[:, None] * I`` is ``diag(s)`` (and the identity times a scalar stays cheap)."""
    if op != "multiply":
        return None
    a, b = operands
    for s, m in ((a, b), (b, a)):
        if m.op == "eye" and s.op == "reshape" and s.args[0].ndim == 1 and s.shape == (m.shape[0], 1):
            return diag(s.args[0])
    return None


def _batched_matmul(n, args, hit, k):
    a, b = args
    if hit[1]:  # a @ B with B's batch axis last
        if a.ndim == 2 and n.args[1].ndim == 1:
            return matmul(a, b)  # (p, q) @ (q, k)
        if a.ndim == 1 and n.args[1].ndim == 1:
            return matmul(a, b)  # (q,) @ (q, k) -> (k,)
        if a.ndim == 1:  # (q,) @ (q, r, k) -> (r, k)
            return reshape(matmul(a, reshape(b, (b.shape[0], b.shape[1] * k))), (b.shape[1], k))
        return reshape(matmul(a, reshape(b, (b.shape[0], b.shape[1] * k))), (a.shape[0], b.shape[1], k))
    # A @ b with A's batch axis last
    if n.args[0].ndim == 1:
        return matmul(transpose(b), a) if b.ndim == 2 else matmul(b, a)  # (q, k) -> (r, k) or (k,)
    moved = transpose(a, (0, 2, 1))  # (p, k, q)
    if b.ndim == 1:  # (p, q, k) with (q,) -> (p, k)
        return reshape(matmul(reshape(moved, (a.shape[0] * k, a.shape[1])), b), (a.shape[0], k))
    out = reshape(matmul(reshape(moved, (a.shape[0] * k, a.shape[1])), b), (a.shape[0], k, b.shape[1]))
    return transpose(out, (0, 2, 1))


# ---------------------------------------------------------------- simplifying for reading


def _reading_order(n: ANode) -> int:
    # a variable before its transpose before products of matrices before other expressions: A + Aᵀ,
    # W₂ᵀδ₂ ⊙ tanh′(W₁x); otherwise the order the rules wrote (σ ⊙ (1 − σ))
    return {"var": 0, "transpose": 1, "matmul": 2, "outer": 2, "const": 4}.get(n.op, 3)


def simplify(root: ANode) -> ANode:
    """The same expression with the operands of sums and products in reading order
    (``A + Aᵀ``), and products by the scalar 1 and additions of 0 dropped by the builders."""
    return simplify_all([root])[0][0]


def simplify_all(roots) -> tuple[list, dict]:
    """:func:`simplify` on several expressions at once: ``(simplified roots, serial -> simplified node)``
    for every node they reach (so a shared subexpression stays shared)."""
    new: dict[int, ANode] = {}
    for n in topological(list(roots)):
        args = [new[a.serial] for a in n.args]
        if n.op in ("add", "multiply") and args[0].shape == args[1].shape:
            args = sorted(args, key=_reading_order)
        new[n.serial] = n if not n.args else _rebuild(n, args)
    return [new[r.serial] for r in roots], new


# ---------------------------------------------------------------- printing


def _name(n: ANode, latex: bool) -> str:
    if n.op == "var":
        return n.value
    return "I" if n.op == "eye" else ("c" if n.shape else (str(float(n.value)).rstrip("0").rstrip(".") or "0"))


_TEXT_INFIX = {"add": (" + ", 1), "subtract": (" - ", 1), "multiply": (" ⊙ ", 2), "divide": (" / ", 2),
               "matmul": (" ", 2)}
_LATEX_INFIX = {"add": (" + ", 1), "subtract": (" - ", 1), "multiply": (r" \odot ", 2), "divide": (r" \oslash ", 2),
                "matmul": (" ", 2)}


def _diag_scaling(n: ANode):
    """``(s, M)`` when ``n`` is ``s[:, None] * M`` (a 1-d ``s`` scaling the rows of a matrix ``M``),
    which reads ``diag(s) M``; else None."""
    if n.op != "multiply" or n.ndim != 2:
        return None
    for col, m in (n.args, reversed(n.args)):
        if (col.op == "reshape" and col.args[0].ndim == 1 and col.shape == (n.shape[0], 1)
                and m.shape == n.shape):
            return col.args[0], m
    return None


def _derivative_of(n: ANode):
    """The ``z`` of ``1 - tanh(z) ⊙ tanh(z)``, which reads ``tanh′(z)``; else None."""
    if n.op == "subtract" and _is(n.args[0], 1.0) and n.args[1].op == "multiply":
        t, t2 = n.args[1].args
        if t is t2 and t.op == "tanh":
            return t.args[0]
    return None


def _is_product(n: ANode) -> bool:
    # a matrix product reads the same however it is grouped: Xᵀ diag(s) X needs no parentheses
    return n.op == "matmul" or _diag_scaling(n) is not None


def _render(roots, latex: bool, names: dict | None = None) -> list[str]:
    names = names or {}
    shown: dict[int, tuple[str, int]] = {}

    def wrap(item, need):
        text, prec = item
        return text if prec >= need else (rf"\left({text}\right)" if latex else f"({text})")

    for n in topological(roots):
        if n.serial in names:
            shown[n.serial] = (names[n.serial], 9)
            continue
        args = [shown[a.serial] for a in n.args]
        op = n.op
        scaling, inner = _diag_scaling(n), _derivative_of(n)
        if op in ("var", "const", "eye"):
            text = _name(n, latex)
            out = ((latex_name(text) if latex and op == "var" else text), 9 if not text.startswith("-") else 0)
        elif scaling is not None:
            s_, m = (shown[x.serial] for x in scaling)
            body = rf"\operatorname{{diag}}\left({s_[0]}\right)" if latex else f"diag({s_[0]})"
            out = (body + " " + wrap(m, 2 if _is_product(scaling[1]) else 3), 2)
        elif inner is not None:
            z = shown[inner.serial][0]
            out = (rf"\tanh'\left({z}\right)" if latex else f"tanh′({z})", 9)
        elif op in _TEXT_INFIX and len(args) == 2:
            symbol, prec = (_LATEX_INFIX if latex else _TEXT_INFIX)[op]
            right = prec if op == "matmul" and _is_product(n.args[1]) else prec + 1
            out = (wrap(args[0], prec) + symbol + wrap(args[1], right), prec)
        elif op == "power":
            out = (wrap(args[0], 9) + (f"^{{{args[1][0]}}}" if latex else f"**{wrap(args[1], 9)}"), 5)
        elif op == "negative":
            out = ("-" + wrap(args[0], 3), 2)
        elif op == "transpose" and n.ndim == 2:
            out = (wrap(args[0], 9) + (r"^\top" if latex else "ᵀ"), 8)
        elif op == "outer":
            out = (wrap(args[0], 9) + " " + wrap(args[1], 9) + (r"^\top" if latex else "ᵀ"), 3)
        elif op == "diag":
            body = args[0][0]
            out = ((rf"\operatorname{{diag}}\left({body}\right)" if latex else f"diag({body})"), 9)
        elif op in ("reshape", "broadcast_to") and _scalar(n) is not None:
            out = args[0]  # a scalar's reshaping is invisible
        elif op == "getitem":
            out = (wrap(args[0], 9) + f"[{_index_text(n.params[0])}]", 9)
        elif op == "scatter":  # zeros with g at the index
            out = (f"scatter({args[0][0]}, [{_index_text(n.params[0])}], {n.shape})", 9)
        elif op in ("max", "min") and latex:
            out = (rf"\{op}_{{" + ",".join(map(str, n.params[0])) + r"} " + wrap(args[0], 9), 4)
        elif op in ("reshape", "broadcast_to", "sum", "max", "min") and not latex:
            out = (f"{op}({args[0][0]}, {n.params[0]})", 9)
        elif op == "sum":
            out = (r"\sum_{" + ",".join(map(str, n.params[0])) + r"} " + wrap(args[0], 9), 4)
        elif op in ("reshape", "broadcast_to"):
            out = args[0]  # shape bookkeeping is invisible in formulas
        elif op in ("gt", "ge", "eq"):
            symbol = {"gt": ">", "ge": r"\geq" if latex else ">=", "eq": "="}[op]
            out = ((rf"\left[{args[0][0]} {symbol} {args[1][0]}\right]" if latex
                    else f"[{args[0][0]} {symbol} {args[1][0]}]"), 9)
        elif op == "select" and latex:
            c, a, b = (x[0] for x in args)
            out = (rf"\begin{{cases}} {a} & {c} \\ {b} & \text{{otherwise}} \end{{cases}}", 9)
        elif latex:
            head = LATEX.get(op, rf"\operatorname{{{op}}}")
            body = ", ".join(a for a, _ in args)
            out = (head % body if "%s" in head else rf"{head}\left({body}\right)", 9)
        else:
            out = (f"{'where' if op == 'select' else op}({', '.join(a for a, _ in args)})", 9)
        shown[n.serial] = out
    return [shown[r.serial][0] for r in roots]


def _index_text(key) -> str:
    def one(item):
        if item is None:
            return "None"
        if isinstance(item, tuple):
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            return f"{start}:{stop}" + (f":{step}" if step else "")
        return str(item)

    while key and key[-1] == ("slice", None, None, None):  # trailing full slices go without saying
        key = key[:-1]
    return ", ".join(map(one, key)) or "..."


def to_text(n: ANode, names: dict | None = None) -> str:
    """A formula with matrix notation: ``A + Aᵀ``, ``u xᵀ``, ``Xᵀ diag(s) X`` (``names``: serial ->
    the name a subexpression is printed as)."""
    return _render([n], False, names)[0]


def to_latex(n: ANode, names: dict | None = None) -> str:
    return _render([n], True, names)[0]


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def shared_names(roots, errors=()) -> dict:
    """serial -> name for the subexpressions worth naming when ``roots`` are printed together:
    ``errors`` (``(k, node)`` pairs: the backpropagated error of layer k) used by two formulas or twice
    are δₖ, a sigmoid used twice is σ (σ₁, σ₂, ... when several)."""
    order = topological(list(roots))
    uses = use_counts(order, roots)
    reach = {r.serial: {n.serial for n in topological([r])} for r in roots}
    names = {}
    for k, e in errors:
        if e.args and (uses.get(e.serial, 0) >= 2 or sum(e.serial in seen for seen in reach.values()) >= 2):
            names[e.serial] = f"δ{str(k).translate(_SUBSCRIPTS)}"
    sigmoids = [n for n in order if n.op == "sigmoid" and uses[n.serial] >= 2 and n.serial not in names]
    for i, n in enumerate(sigmoids, 1):
        names[n.serial] = "σ" if len(sigmoids) == 1 else f"σ{str(i).translate(_SUBSCRIPTS)}"
    return names


def equations(labelled, names: dict, latex: bool = False) -> list[str]:
    """``name = formula`` lines: first each named subexpression (in the order they are computed),
    then each ``(label, node)`` of ``labelled``, all printed with ``names``."""
    roots = [node for _, node in labelled]
    names = {k: _latex_symbol(v) if latex else v for k, v in names.items()}
    lines = []
    for n in topological(roots):
        if n.serial in names:
            body = _render([n], latex, {k: v for k, v in names.items() if k != n.serial})[0]
            lines.append(f"{names[n.serial]} = {body}")
    for label, text in zip((label for label, _ in labelled), _render(roots, latex, names)):
        lines.append(f"{label} = {text}")
    return lines


def _latex_symbol(name: str) -> str:
    base = {"δ": r"\delta", "σ": r"\sigma"}[name[0]]
    digits = name[1:].translate({ord(c): str(i) for i, c in enumerate("₀₁₂₃₄₅₆₇₈₉")})
    return f"{base}_{{{digits}}}" if digits else base


# ---------------------------------------------------------------- compiling


def constants(outputs) -> list[ANode]:
    """The constant arrays (not scalars) ``outputs`` use, in a fixed order: the program's extra inputs."""
    return [n for n in topological(outputs) if n.op == "const" and n.shape]


def compile_jax(outputs, inputs):
    """``fn(*input_arrays, *constant_arrays) -> list of arrays`` computing ``outputs`` with ``jax.numpy``."""
    consts = constants(outputs)
    order = topological(outputs)
    feeds = {n.serial: i for i, n in enumerate(list(inputs) + consts)}

    def run(*arrays):
        dtype = jnp.result_type(*arrays[:len(inputs)]) if inputs else jnp.result_type(float)
        vals = {}
        for n in order:
            if n.serial in feeds:
                vals[n.serial] = jnp.asarray(arrays[feeds[n.serial]], dtype)
                continue
            a = [vals[x.serial] for x in n.args]
            if n.op == "const":
                vals[n.serial] = jnp.asarray(n.value, dtype)
            elif n.op == "var":
                raise UnsupportedOperationError("free variable", "symbolic", f"variable '{n.value}' is not an input")
            elif n.op == "eye":
                vals[n.serial] = jnp.eye(n.shape[0], dtype=dtype)
            elif n.op == "sum":
                vals[n.serial] = jnp.sum(a[0], axis=n.params[0], keepdims=n.params[1])
            elif n.op == "broadcast_to":
                vals[n.serial] = jnp.broadcast_to(a[0], n.shape)
            elif n.op == "reshape":
                vals[n.serial] = jnp.reshape(a[0], n.shape)
            elif n.op == "transpose":
                vals[n.serial] = _transpose(a[0], n.params[0])
            elif n.op == "matmul":
                vals[n.serial] = jnp.matmul(*a)
            elif n.op == "outer":
                vals[n.serial] = jnp.outer(*a)
            elif n.op == "diag":
                vals[n.serial] = jnp.diag(a[0])
            elif n.op == "diagonal":
                vals[n.serial] = jnp.diagonal(a[0])
            elif n.op in ("max", "min"):
                vals[n.serial] = (jnp.max if n.op == "max" else jnp.min)(a[0], axis=n.params[0], keepdims=n.params[1])
            elif n.op == "getitem":
                vals[n.serial] = a[0][python_index(n.params[0])]
            elif n.op == "scatter":
                vals[n.serial] = jnp.zeros(n.shape, dtype).at[python_index(n.params[0])].add(a[0])
            elif n.op == "power" and n.args[1].op == "const" and n.args[1].shape == () \
                    and float(n.args[1].value) == int(n.args[1].value) and abs(float(n.args[1].value)) <= 8:
                vals[n.serial] = jax.lax.integer_pow(a[0], int(n.args[1].value))
            else:
                vals[n.serial] = _JNP_OPS[n.op](*a)
        return [jnp.broadcast_to(vals[o.serial], o.shape).astype(dtype) for o in outputs]

    return run, consts


def _transpose(a, axes):
    """``jnp.transpose``; a large matrix is transposed in tiles (XLA on CPU transposes a fused
    1000 x 1000 matrix element by element across cache lines, several times slower)."""
    if a.ndim == 2 and axes == (1, 0):
        p, q = a.shape
        tile = next((t for t in (40, 32, 20, 16, 25, 10) if p % t == 0 and q % t == 0 and p * q >= 4096), None)
        if tile:
            return a.reshape(p // tile, tile, q // tile, tile).transpose(2, 3, 0, 1).reshape(q, p)
    return jnp.transpose(a, axes)


def structure(outputs, inputs) -> tuple[tuple, list]:
    """``(key, constant arrays)``: everything the expressions compute, as a hashable tuple whose
    equality means the same computation on the same inputs, with the constant arrays counted by
    shape and position only; and those constant arrays in that order (the values to pass in)."""
    position = {v.serial: ("in", i) for i, v in enumerate(inputs)}
    consts: list[ANode] = []
    key = []
    for n in topological(list(outputs)):
        if n.serial in position:
            key.append(("var", n.shape, position[n.serial]))
            continue
        if n.op == "const" and n.shape:
            position[n.serial] = ("const", len(consts))
            consts.append(n)
            key.append(("const", n.shape))
            continue
        position[n.serial] = len(key)
        if n.op == "const":
            key.append(("c", float(n.value)))
        else:
            key.append((n.op, n.shape, n.params, n.value if n.op == "var" else None,
                        tuple(position[a.serial] for a in n.args)))
    key.append(tuple(position.get(o.serial) for o in outputs))
    return tuple(key), consts


# ---------------------------------------------------------------- tracing


class ArrayTrace(Trace):
    """Tracing on array variables: each primitive becomes one array node."""

    engine = "symbolic (array level)"

    def __init__(self, function_name: str = "the function"):
        super().__init__()
        self.function_name = function_name

    def process(self, prim, operands, params):
        rule = ARRAY_RULES.get(prim.name)
        if rule is None:
            raise UnsupportedOperationError(prim.name, self.engine, "it is scalar-expanded instead")
        return AArray(self, rule(*operands, **params))

    def concrete(self, value):
        raise ConcretizationError(concretization_message(self.function_name))

    def compare(self, name, x, y):
        # an input-dependent condition: expand="auto" falls back to the scalar path, which expresses it
        # as piecewise nodes; expand="array" refuses as for any value-dependent code
        raise ConcretizationError(concretization_message(self.function_name))


#: comparison -> (node kind, operands swapped); not_equal is 1 - eq
_COMPARISONS = {"greater": ("gt", False), "less": ("gt", True), "greater_equal": ("ge", False),
                "less_equal": ("ge", True), "equal": ("eq", False), "not_equal": ("eq", False)}


class _RuleTrace(ArrayTrace):
    """A declared derivative evaluated on array expressions: its comparisons are nodes (1 or 0)."""

    def compare(self, name, x, y):
        kind, swap = _COMPARISONS[name]
        a, b = (y, x) if swap else (x, y)
        hit = binary(kind, a, b)
        return AArray(self, binary("subtract", 1.0, hit) if name == "not_equal" else hit)


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


def _rule_binary(op):
    return lambda a, b: binary(op, a, b)


def _rule_where(c, a, b):
    if isinstance(c, AArray):  # a comparison of expressions (in a declared derivative): 1 or 0
        return select(c, a, b)
    return select(const(np.asarray(c, dtype=np.float64)), a, b)


def _arange_pair(index, n):
    """Whether ``index`` is ``(arange(n), arange(n))``, the index ``dnp.diag`` and ``dnp.diagonal`` use."""
    return (len(index) == 2 and all(isinstance(i, (np.ndarray, jax.Array)) and np.shape(i) == (n,) for i in index)
            and all(np.array_equal(np.asarray(i), np.arange(n)) for i in index))


def _rule_getitem(x, *, index):
    x = as_anode(x)
    key = basic_index(index, x.shape)
    if key is not None:
        return getitem(x, key)
    if x.ndim == 2 and x.shape[0] == x.shape[1] and _arange_pair(tuple(i for i in index if i is not Ellipsis),
                                                                   x.shape[0]):
        return diagonal(x)  # the diagonal of a square matrix
    raise UnsupportedOperationError("getitem", "symbolic (array level)",
                                    "an advanced (array) index is scalar-expanded; slices and integers stay arrays")


def _rule_index_add(x, y, *, index):
    x, y = as_anode(x), as_anode(y)
    if (x.op == "const" and x.ndim == 2 and y.ndim == 1 and x.shape == y.shape * 2
            and not np.any(np.asarray(x.value)) and _arange_pair(index, y.shape[0])):
        return diag(y)  # zeros with y on the diagonal: dnp.diag(y)
    raise UnsupportedOperationError("index_add", "symbolic (array level)", "it is scalar-expanded instead")


ARRAY_RULES = {
    # every elementwise primitive: one node (its VJP comes from the declaration)
    **{name: (lambda op: lambda a: unary(op, a))(name) for name, p in PRIMITIVES.items()
       if p.kind == "unary" and p.derivative is not None},
    **{name: _rule_binary(name) for name, p in PRIMITIVES.items() if p.kind == "binary"},
    "where": _rule_where,
    "sum": lambda x, *, axis, keepdims: reduce_sum(x, axis, keepdims),
    "max": lambda x, *, axis, keepdims: reduce_extreme("max", x, axis, keepdims),
    "min": lambda x, *, axis, keepdims: reduce_extreme("min", x, axis, keepdims),
    "getitem": _rule_getitem,
    "index_add": _rule_index_add,
    "matmul": matmul,
    "transpose": lambda x, *, axes: transpose(x, axes),
    "reshape": lambda x, *, shape: reshape(x, shape),
    "broadcast_to": lambda x, *, shape: broadcast_to(x, shape),
}


def trace(f, names, args):
    """(output node, variable nodes) of ``f`` traced on array variables named ``names`` shaped like ``args``."""
    tr = ArrayTrace(f"'{getattr(f, '__name__', type(f).__name__)}'")
    variables = [var(name, np.shape(a)) for name, a in zip(names, args)]
    out = f(*(AArray(tr, v) for v in variables))
    if not isinstance(out, (AArray, int, float, np.ndarray, np.generic, jax.Array)) or isinstance(out, bool):
        raise UnsupportedOperationError(f"a {type(out).__name__} output", "symbolic (array level)",
                                        "an output that is not one array is scalar-expanded")
    return as_anode(out), variables


def size(outputs) -> int:
    """Operations in the expression graph (leaves not counted)."""
    return sum(1 for n in topological(list(outputs)) if n.args)


