"""Differentiating array expressions: reverse accumulation on the shared graph with one VJP rule per
node kind (:data:`.rules.VJPS`), and :func:`batch_identity`, which turns a Hessian-vector product
(linear in its vector) into the Hessian by putting the identity in the vector's place (``M @ I`` is ``M``):
the Hessian of xᵀAx is ``A + Aᵀ``, O(n²), not n Hessian-vector products, O(n³).
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedOperationError
from ..graph import topological, use_counts
from .nodes import (
    BINARY,
    NO_DERIVATIVE,
    UNARY,
    ANode,
    add,
    as_anode,
    binary,
    broadcast_to,
    const,
    diag,
    eye,
    getitem,
    matmul,
    mul,
    rebuild,
    reduce_sum,
    reshape,
    scatter,
    select,
    transpose,
    unary,
    unbroadcast,
)
from .rules import VJPS


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
            new[n.serial] = n if not n.args else rebuild(n, args)
            continue
        batched.add(n.serial)
        if n.op in BINARY or n.op == "select":
            operands = [args[i] if hit[i] else lift(a) for i, a in enumerate(n.args)]
            new[n.serial] = _diag_product(n.op, operands) or (
                select(*operands) if n.op == "select" else binary(n.op, *operands))
        elif n.op in UNARY or n.op in NO_DERIVATIVE:
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
    # an output that does not reach u is 0 (it is linear in u): its columns are all that 0
    return [new[o.serial] if o.serial in batched else
            broadcast_to(reshape(new[o.serial], o.shape + (1,)), o.shape + (k,)) for o in outputs]


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
