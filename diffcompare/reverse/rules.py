"""The reverse engine's one table of VJP rules, keyed by primitive name.

``RULES[name]`` is a tuple with one function per operand (autograd's
``defvjp``): ``fn(g, ans, *args, **params)`` returns the cotangent of that
operand, given the output's cotangent ``g``, the output ``ans`` and the
operands' values ``args``. ``None`` marks an operand that is never
differentiated (``where``'s condition). Variadic primitives (``stack``,
``concatenate``) have one function that also takes ``argnum``.

An elementwise primitive's VJP is its declared derivative (``Primitive.derivative`` in
:mod:`diffcompare.primitives`) applied to the cotangent; the rules written here are the ones that
cannot be said elementwise.

Every rule is written with ``diffcompare.numpy``: on JAX arrays that is
``jax.numpy`` (so under ``jax.jit`` XLA sees the program ``jax.grad`` would
give it), and on another engine's values (an outer tape, a dual number) the
rule itself is recorded or differentiated: grad of grad and forward over
reverse need no extra code.

Broadcasting is undone in one place, :func:`unbroadcast`. Masks at kinks
(``relu``, ``abs``, ``maximum``, ``max``, ...) are computed on concrete values
and follow JAX's conventions; they are constants to every engine.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from .. import numpy as dnp
from .._core import concrete
from ..primitives import PRIMITIVES, einsum_free_letters


def unbroadcast(g, shape):
    """Sum the cotangent ``g`` down to ``shape``: the VJP of broadcasting.

    Leading axes that broadcasting added are summed away; axes where ``shape``
    has 1 and ``g`` does not are summed with ``keepdims``. The one helper every
    rule that may broadcast calls.
    """
    shape = tuple(shape)
    gshape = dnp.shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    kept = tuple(lead + i for i, d in enumerate(shape) if d == 1 and gshape[lead + i] != 1)
    if lead > 0 and not kept:  # only leading axes to sum away (a bias): the sum has ``shape`` already
        return dnp.sum(g, axis=tuple(range(lead)))
    axes = tuple(range(lead)) + kept
    if axes:
        g = dnp.sum(g, axis=axes, keepdims=True)
    return dnp.reshape(g, shape)


def _mask(cond, like):
    """A concrete 0/1 array of ``like``'s dtype: a constant to every engine."""
    return jnp.asarray(cond, dtype=dnp.dtype_of(like))


def _keep(g, x_shape, axis, keepdims):
    """A reduction's cotangent with the reduced axes put back (length 1)."""
    if keepdims:
        return g
    kept = tuple(1 if i in axis else d for i, d in enumerate(x_shape))
    return dnp.reshape(g, kept)


def _expand(g, x_shape, axis, keepdims):
    if not keepdims and axis == tuple(range(len(axis))):  # reduced leading axes come back by broadcasting alone
        return dnp.broadcast_to(g, x_shape)
    return dnp.broadcast_to(_keep(g, x_shape, axis, keepdims), x_shape)


def _reduce_extremum(g, ans, x, *, axis, keepdims):
    """max/min reductions: tied entries share the cotangent equally (JAX)."""
    x_shape = dnp.shape(x)
    kept = tuple(1 if i in axis else d for i, d in enumerate(x_shape))
    location = _mask(jnp.equal(concrete(x), jnp.reshape(concrete(ans), kept)), g)  # a concrete mask: a constant
    counts = jnp.sum(location, axis=axis, keepdims=True)
    # a NaN maximum (no entry equals it) makes the whole group's derivative NaN, as in JAX; written out,
    # since XLA folds 0/0 here to 0 inside a compiled (staged) program
    weight = jnp.where(counts > 0, location / jnp.maximum(counts, 1), jnp.nan)
    return _expand(g, x_shape, axis, keepdims) * weight


#: up to this many entries per product, prod's VJP forms the exclusive products exactly (O(n²) work)
EXACT_PROD_MAX = 256


def _prod(g, ans, x, *, axis, keepdims):
    """prod: the product of the *other* entries, exact also with zeros (as JAX).

    Up to :data:`EXACT_PROD_MAX` entries: row i of an n×n matrix holds x with
    entry i replaced by 1, and its product is the exclusive product: written
    with dnp, so second derivatives at zeros are right too. Longer products use
    the zero count z and P, the product of the non-zero entries: P / x when
    z = 0, P at the zero when z = 1, else 0 (first derivatives exact).
    """
    x_shape = dnp.shape(x)
    n = math.prod(x_shape[a] for a in axis)
    if math.prod(x_shape) == 0:  # nothing to differentiate: the (empty) cotangent, x's shape
        return _expand(g, x_shape, axis, keepdims)
    if n <= EXACT_PROD_MAX:
        perm = tuple(i for i in range(len(x_shape)) if i not in axis) + tuple(axis)
        rows = dnp.reshape(dnp.transpose(x, perm), (-1, 1, n))
        others = dnp.prod(dnp.where(jnp.eye(n, dtype=bool), 1.0, rows), axis=-1)
        others = dnp.reshape(others, tuple(x_shape[i] for i in perm))
        others = dnp.transpose(others, tuple(sorted(range(len(perm)), key=lambda i: perm[i])))
    else:
        is_zero = jnp.equal(concrete(x), 0)
        zeros = jnp.sum(is_zero, axis=axis, keepdims=True)
        safe_x = dnp.where(is_zero, 1.0, x)
        p = dnp.prod(safe_x, axis=axis, keepdims=True)
        others = dnp.where(jnp.equal(zeros, 0), p / safe_x, dnp.where(is_zero & jnp.equal(zeros, 1), p, 0.0))
    return _expand(g, x_shape, axis, keepdims) * others


def _logsumexp(g, ans, x, *, axis, keepdims):
    # d logsumexp = softmax(x), shifted by the maximum: exp(x - logsumexp(x)) is 1 at x = [1e16, 1e16]
    return _expand(g, dnp.shape(x), axis, keepdims) * dnp.softmax(x, axis)


def _cumsum(g, ans, x, *, axis):
    # the transpose of a running sum is a running sum from the end
    return dnp.flip(dnp.cumsum(dnp.flip(g, axis), axis), axis)


def _einsum(g, ans, *xs, subscripts, argnum):
    """The cotangent of operand ``argnum``: an einsum of ``g`` with the other operands.

    Letters only that operand has (summed over in the forward pass) come back by
    broadcasting; a letter repeated in it (a diagonal, ``"ii->"``) comes back on
    the diagonal through an identity matrix, a constant of the einsum.
    """
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    mine, others = terms[argnum], [t for j, t in enumerate(terms) if j != argnum]
    sizes = dict(zip(mine, dnp.shape(xs[argnum])))
    unique = "".join(dict.fromkeys(mine))
    kept = "".join(c for c in unique if c in set(output).union(*others))
    spec = ",".join([output] + others) + "->" + kept
    ct = dnp.einsum(spec, g, *(x for j, x in enumerate(xs) if j != argnum))
    if kept != unique:  # letters nobody else had: broadcast
        ct = dnp.reshape(ct, tuple(sizes[c] if c in kept else 1 for c in unique))
        ct = dnp.broadcast_to(ct, tuple(sizes[c] for c in unique))
    if unique != mine:  # repeated letters: onto the diagonal, one identity per repeat
        fresh = iter(einsum_free_letters(subscripts, len(mine) - len(unique)))
        seen, renamed, eyes = set(), "", []
        for c in mine:
            if c in seen:
                renamed += (new := next(fresh))
                eyes.append(c + new)
            else:
                seen.add(c)
                renamed += c
        spec = ",".join([unique] + eyes) + "->" + renamed
        ct = dnp.einsum(spec, ct, *(jnp.eye(sizes[e[0]], dtype=dnp.dtype_of(g)) for e in eyes))
    return ct


def _softmax(g, ans, x, *, axis):
    # (diag(p) - p pᵀ) g = p * (g - <p, g>)
    return ans * (g - dnp.sum(g * ans, axis=axis, keepdims=True))


def _matmul_lhs(g, ans, a, b):
    sa, sb = dnp.shape(a), dnp.shape(b)
    if len(sa) == 1 and len(sb) == 1:
        return g * b
    if len(sa) == 2 and len(sb) == 2:  # the linear layer: u xᵀ
        return dnp.matmul(g, dnp.transpose(b))
    if len(sa) == 1 and len(sb) == 2:  # x @ W: W g, with no transposed copy of W
        return dnp.matmul(b, g)
    a2, b2, g2 = _promote(a, b, g)
    return dnp.reshape(unbroadcast(dnp.matmul(g2, dnp.swapaxes(b2, -1, -2)), dnp.shape(a2)), sa)


def _matmul_rhs(g, ans, a, b):
    sa, sb = dnp.shape(a), dnp.shape(b)
    if len(sa) == 1 and len(sb) == 1:
        return g * a
    if len(sa) == 2 and len(sb) == 2:
        return dnp.matmul(dnp.transpose(a), g)
    if len(sa) == 2 and len(sb) == 1:  # W @ x: Wᵀ g computed as g W, with no transposed copy of W
        return dnp.matmul(g, a)
    a2, b2, g2 = _promote(a, b, g)
    return dnp.reshape(unbroadcast(dnp.matmul(dnp.swapaxes(a2, -1, -2), g2), dnp.shape(b2)), sb)


def _promote(a, b, g):
    """NumPy's matmul promotion of 1-d operands: a row for ``a``, a column for ``b``."""
    sa, sb, sg = dnp.shape(a), dnp.shape(b), dnp.shape(g)
    if len(sa) == 1:
        a = dnp.reshape(a, (1,) + sa)
        g = dnp.reshape(g, sg[:-1] + (1,) + sg[-1:]) if len(sb) > 1 else g
        sg = dnp.shape(g)
    if len(sb) == 1:
        b = dnp.reshape(b, sb + (1,))
        g = dnp.reshape(g, sg + (1,))
    return a, b, g


def _transpose(g, ans, x, *, axes):
    inverse = tuple(sorted(range(len(axes)), key=lambda i: axes[i]))
    return dnp.transpose(g, inverse)


def _stack(g, ans, *xs, axis, argnum):
    return dnp.getitem(g, (slice(None),) * axis + (argnum,))


def _concatenate(g, ans, *xs, axis, argnum):
    start = sum(dnp.shape(x)[axis] for x in xs[:argnum])
    stop = start + dnp.shape(xs[argnum])[axis]
    return dnp.getitem(g, (slice(None),) * axis + (slice(start, stop),))


def _getitem(g, ans, x, *, index):
    # scatter-add into zeros: repeated indices accumulate
    return dnp.index_add(jnp.zeros(dnp.shape(x), dnp.dtype_of(g)), index, g)


def _index_add_update(g, ans, x, y, *, index):
    return unbroadcast(dnp.getitem(g, index), dnp.shape(y))


def _where(i):
    def rule(g, ans, c, x, y):
        picked = dnp.where(c, g, 0.0) if i == 1 else dnp.where(c, 0.0, g)
        return unbroadcast(picked, dnp.shape(x if i == 1 else y))

    return rule


def _elementwise(prim):
    """The VJP of an elementwise primitive: its declared derivative (``Primitive.derivative``, linear in
    the tangent) applied to the cotangent, an elementwise Jacobian being its own transpose; then
    broadcasting undone."""
    if prim.kind == "unary":
        return (lambda g, ans, x: prim.derivative(dnp, g, x, ans),)
    return tuple(
        (lambda g, ans, x, y, d=d, i=i: unbroadcast(d(dnp, g, x, y, ans), dnp.shape((x, y)[i])))
        for i, d in enumerate(prim.derivative)
    )


RULES: dict[str, tuple] = {
    # every elementwise primitive's rule comes from its declaration in primitives.py
    **{name: _elementwise(p) for name, p in PRIMITIVES.items() if p.derivative is not None},
    # where(cond, x, y): the unselected branch gets 0; cond is never differentiated
    "where": (None, _where(1), _where(2)),
    # reductions
    "sum": (lambda g, ans, x, *, axis, keepdims: _expand(g, dnp.shape(x), axis, keepdims),),
    "prod": (_prod,),
    "max": (_reduce_extremum,),
    "min": (_reduce_extremum,),
    "logsumexp": (_logsumexp,),
    "softmax": (_softmax,),
    # linear algebra
    "matmul": (_matmul_lhs, _matmul_rhs),
    # shape and indexing
    "transpose": (_transpose,),
    "reshape": (lambda g, ans, x, *, shape: dnp.reshape(g, dnp.shape(x)),),
    "broadcast_to": (lambda g, ans, x, *, shape: unbroadcast(g, dnp.shape(x)),),
    "stack": (_stack,),
    "concatenate": (_concatenate,),
    "getitem": (_getitem,),
    "index_add": (lambda g, ans, x, y, *, index: unbroadcast(g, dnp.shape(x)), _index_add_update),
    "cumsum": (_cumsum,),
    "einsum": (_einsum,),
    "stop_gradient": (lambda g, ans, x: None,),  # no cotangent: the input is a constant past this point
    "astype": (lambda g, ans, x, *, dtype: dnp.astype(g, dnp.dtype_of(x)),),
}

#: primitives the engine refuses, with the reason (none: every primitive has a rule)
UNSUPPORTED: dict[str, str] = {}
