"""The one table from JAX primitives to ``diffcompare.numpy``: ``TABLE[name] = rule``.

A rule is ``rule(eqn, *operands)``: the jaxpr equation (its ``params``, its
output avals) and its operands, at least one of which is an engine value. It
returns the output (a list for primitives with several). Rules are written with
``dnp``, so each engine applies its own rules to our primitives; composites
say in one comment how they are built, and are exact (to rounding) unless the
comment says otherwise. Non-differentiable primitives (comparisons, ``sign``,
``argmax``, ``stop_gradient``, ...) run JAX's own primitive on the concrete
values and have derivative 0, as in JAX. Indexing and convolution live in
:mod:`._indexing`, call-like and control-flow primitives in :mod:`._calls`.

``supported()`` lists what the table maps; a primitive outside it that meets an
engine value raises :class:`~._source.UnsupportedJaxPrimitiveError`. Some
entries take ``dnp``'s function when it exists (``erf``, ``cumsum``, ...), so
the table grows with the function language.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .. import numpy as dnp
from .._core import concrete
from ..errors import UnsupportedOperationError
from . import _calls, _indexing
from ._source import Tracer, UnsupportedJaxPrimitiveError, user_line

TABLE: dict = {}


def _out_shape(eqn, i: int = 0) -> tuple[int, ...]:
    return tuple(eqn.outvars[i].aval.shape)


def _fit(eqn, out):
    """Broadcast an elementwise result to the equation's output shape (JAX broadcasts scalars explicitly)."""
    shape = _out_shape(eqn)
    return out if dnp.shape(out) == shape else dnp.broadcast_to(out, shape)


def _elementwise(fn):
    return lambda eqn, *xs: _fit(eqn, fn(*xs))


def _register_elementwise(mapping: dict) -> None:
    for name, fn in mapping.items():
        TABLE[name] = _elementwise(fn)


_LN2 = math.log(2.0)

_register_elementwise({
    "add": dnp.add,
    "add_any": dnp.add,
    "sub": dnp.subtract,
    "mul": dnp.multiply,
    "div": dnp.divide,
    "neg": dnp.negative,
    "exp": dnp.exp,
    "exp2": lambda x: dnp.exp(x * _LN2),  # 2**x = e**(x ln 2)
    "log": dnp.log,
    "log1p": dnp.log1p,
    "expm1": dnp.expm1,
    "sin": dnp.sin,
    "cos": dnp.cos,
    "tan": dnp.tan,
    "tanh": dnp.tanh,
    "sinh": dnp.sinh,
    "cosh": dnp.cosh,
    "atan": dnp.arctan,
    "logistic": dnp.sigmoid,
    "sqrt": dnp.sqrt,
    "rsqrt": lambda x: 1.0 / dnp.sqrt(x),  # 1 / sqrt(x)
    "cbrt": lambda x: dnp.sign(x) * dnp.abs(x) ** (1.0 / 3.0),  # sign(x) |x|^(1/3)
    "square": lambda x: x * x,
    "abs": dnp.abs,
    "max": dnp.maximum,
    "min": dnp.minimum,
    "pow": dnp.power,
    "asin": dnp.arcsin,
    "acos": dnp.arccos,
    "asinh": dnp.arcsinh,
    "acosh": dnp.arccosh,
    "atanh": dnp.arctanh,
    "stop_gradient": dnp.stop_gradient,
    "copy": lambda x: x,
    "copy_p": lambda x: x,
    "reduce_precision": lambda x: x,
})

TABLE["integer_pow"] = lambda eqn, x: dnp.power(x, int(eqn.params["y"]))


def _atan2(eqn, y, x):
    # θ = 2 arctan(y / (r + x)) where x ≥ 0, 2 arctan((r − x) / y) where x < 0 (r = hypot(x, y)): no
    # cancellation either side; both have the derivative (x dy − y dx) / r²
    r = dnp.sqrt(x * x + y * y)
    right = jnp.asarray(concrete(x) >= 0)
    safe_y = dnp.where(right, 1.0, y)
    return _fit(eqn, dnp.where(right, 2.0 * dnp.arctan(y / (r + x)), 2.0 * dnp.arctan((r - x) / safe_y)))


TABLE["atan2"] = _atan2


def _from_dnp(jax_name: str, dnp_name: str):
    """A primitive that ``dnp`` may offer (another part of the project adds it): looked up when used."""

    def rule(eqn, *xs):
        fn = getattr(dnp, dnp_name, None)
        if fn is None:
            raise UnsupportedJaxPrimitiveError(jax_name, user_line(eqn), f"diffcompare.numpy has no {dnp_name}")
        return _fit(eqn, fn(*xs))

    return rule


for _jax_name, _dnp_name in {"erf": "erf", "erfc": "erfc", "erf_inv": "erfinv", "lgamma": "gammaln",
                             "digamma": "digamma"}.items():
    TABLE[_jax_name] = _from_dnp(_jax_name, _dnp_name)


# ---------------------------------------------------------------- non-differentiable: JAX on concrete values


def _nondifferentiable(eqn, *xs):
    # comparisons, sign, rounding, argmax, stop_gradient: derivative 0 (as in JAX), so the concrete values suffice
    values = [concrete(x) for x in xs]
    return eqn.primitive.bind(*values, **eqn.params)


for _name in ("and", "or", "not", "xor", "sign", "floor", "ceil", "round",
              "is_finite", "argmax", "argmin", "reduce_and", "reduce_or", "nextafter",
              "population_count", "clz", "shift_left", "shift_right_logical", "shift_right_arithmetic",
              "random_bits", "random_seed", "random_wrap", "random_unwrap", "iota", "eq_to", "le_to", "lt_to"):
    TABLE[_name] = _nondifferentiable


def _comparison(dnp_fn):
    # dnp's comparisons: on concrete values (derivative 0, as in JAX), except that the symbolic engine
    # keeps an input-dependent condition as an expression (a piecewise node once select_n uses it)
    def compare(eqn, x, y):
        return dnp_fn(x, y)

    return compare


for _name, _fn in (("eq", dnp.equal), ("ne", dnp.not_equal), ("lt", dnp.less), ("le", dnp.less_equal),
                   ("gt", dnp.greater), ("ge", dnp.greater_equal)):
    TABLE[_name] = _comparison(_fn)


def _rem(eqn, x, y):
    # fmod(x, y) = x − y·trunc(x / y); the quotient is piecewise constant (derivative 0, as in JAX)
    q = jnp.trunc(jnp.asarray(concrete(x)) / jnp.asarray(concrete(y)))
    return _fit(eqn, x - y * q)


TABLE["rem"] = _rem


def _select_n(eqn, which, *cases):
    # the case index is concrete (or, on the symbolic engine, a condition kept as an expression);
    # a scalar index picks a case outright, an array one selects elementwise
    if getattr(getattr(which, "_trace", None), "staging", False) and not which.ndim:
        which._trace.fail("a scalar select")  # op by op picks one case outright: the other gets no cotangent
    if dnp.is_symbolic_condition(which) and len(cases) == 2:
        return _fit(eqn, dnp.where(which, cases[1], cases[0]))
    which = jnp.asarray(concrete(which))
    if not isinstance(which, Tracer) and which.ndim == 0:
        return _fit(eqn, cases[int(which)])
    out = cases[0]
    for i, case in enumerate(cases[1:], start=1):
        out = dnp.where(which == i if which.dtype != jnp.bool_ else which, case, out)
    return _fit(eqn, out)


TABLE["select_n"] = _select_n


def _clamp(eqn, lo, x, hi):
    # JAX's derivative: to x strictly inside (lo, hi), to lo where lo > x, to hi where hi < x, 0 at the ties
    x_, lo_, hi_ = (jnp.asarray(concrete(v)) for v in (x, lo, hi))
    value = jax.lax.clamp(lo_, x_, hi_)
    out = dnp.where((x_ > lo_) & (x_ < hi_), x, dnp.where(lo_ > x_, lo, dnp.where(hi_ < x_, hi, value)))
    return _fit(eqn, out)


TABLE["clamp"] = _clamp


# ---------------------------------------------------------------- dtype


def _convert_element_type(eqn, x):
    new = jnp.dtype(eqn.params["new_dtype"])
    old = jnp.dtype(dnp.dtype_of(x))
    if not jnp.issubdtype(new, jnp.inexact):
        return _nondifferentiable(eqn, x)  # to an integer or bool: piecewise constant, derivative 0
    if new == old or jnp.issubdtype(old, jnp.complexfloating):  # a weak-type change; or the complex step's values
        return x
    if new.itemsize > old.itemsize:
        return x * jnp.ones((), new)  # widening: multiplying by a 1 of the wider type promotes exactly
    raise UnsupportedOperationError(
        "convert_element_type", "from_jax",
        f"narrowing {old} to {new} on a differentiated value: diffcompare.numpy has no cast; "
        "compute in one precision (enable float64 with diffcompare.enable_x64(), or pass float32 inputs)",
    )


TABLE["convert_element_type"] = _convert_element_type


# ---------------------------------------------------------------- reductions


def _reduction(fn):
    return lambda eqn, x: fn(x, axis=tuple(int(a) for a in eqn.params["axes"]))


TABLE["reduce_sum"] = _reduction(dnp.sum)
TABLE["reduce_max"] = _reduction(dnp.max)
TABLE["reduce_min"] = _reduction(dnp.min)
TABLE["reduce_prod"] = _reduction(dnp.prod)


def _cumsum(eqn, x):
    native = getattr(dnp, "cumsum", None)
    axis, reverse = int(eqn.params["axis"]), bool(eqn.params["reverse"])
    if native is not None and not reverse:
        return native(x, axis=axis)
    # cumsum along an axis = a matrix product with a triangle of ones (upper: forward, lower: reverse)
    n = dnp.shape(x)[axis]
    dtype = dnp.dtype_of(x)
    tri = jnp.tril(jnp.ones((n, n), dtype)) if reverse else jnp.triu(jnp.ones((n, n), dtype))
    moved = dnp.swapaxes(x, axis, -1) if axis != dnp.ndim(x) - 1 else x
    out = dnp.matmul(moved, tri)
    return dnp.swapaxes(out, axis, -1) if axis != dnp.ndim(x) - 1 else out


def _cumulative(combine):
    def rule(eqn, x):
        # one step per element along the axis (y_i = combine(y_{i-1}, x_i)), then stacked
        axis, reverse = int(eqn.params["axis"]), bool(eqn.params["reverse"])
        moved = dnp.swapaxes(x, 0, axis) if axis else x
        order = range(dnp.shape(moved)[0])
        out, acc = [], None
        for i in (reversed(order) if reverse else order):
            item = dnp.getitem(moved, i)
            acc = item if acc is None else combine(acc, item)
            out.append(acc)
        stacked = dnp.stack(out[::-1] if reverse else out)
        return dnp.swapaxes(stacked, 0, axis) if axis else stacked

    return rule


TABLE["cumsum"] = _cumsum
TABLE["cumprod"] = _cumulative(dnp.multiply)
TABLE["cummax"] = _cumulative(dnp.maximum)
TABLE["cummin"] = _cumulative(dnp.minimum)
TABLE["cumlogsumexp"] = _cumulative(lambda a, b: dnp.logsumexp(dnp.stack([a, b]), axis=0))


# ---------------------------------------------------------------- linear algebra


def _dot_general(eqn, lhs, rhs):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lc, rc, lb, rb = (tuple(int(d) for d in dims) for dims in (lc, rc, lb, rb))
    ls, rs = dnp.shape(lhs), dnp.shape(rhs)
    if not lb and len(lc) == 1 and len(ls) <= 2 and len(rs) <= 2 and lc[0] == len(ls) - 1 and rc == (0,):
        return _fit(eqn, dnp.matmul(lhs, rhs))  # the plain matrix (or vector) product
    # general case: (batch, free, contracted) @ (batch, contracted, free) as one batched matmul, then reshape
    lf = tuple(d for d in range(len(ls)) if d not in lc and d not in lb)
    rf = tuple(d for d in range(len(rs)) if d not in rc and d not in rb)
    batch = tuple(ls[d] for d in lb)
    m, k, n = (math.prod(ls[d] for d in lf), math.prod(ls[d] for d in lc), math.prod(rs[d] for d in rf))
    a = _arrange(lhs, lb + lf + lc, batch + (m, k))
    b = _arrange(rhs, rb + rc + rf, batch + (k, n))
    out = dnp.matmul(a, b)
    return _arrange(out, tuple(range(len(batch) + 2)), _out_shape(eqn))


def _arrange(x, perm, shape):
    """Transpose ``x`` by ``perm`` and reshape it to ``shape``, skipping the steps that do nothing."""
    if tuple(perm) != tuple(range(len(perm))):
        x = dnp.transpose(x, tuple(perm))
    if dnp.shape(x) != tuple(shape):
        x = dnp.reshape(x, tuple(shape))
    return x


TABLE["dot_general"] = _dot_general


# ---------------------------------------------------------------- shapes


def _broadcast_in_dim(eqn, x):
    shape = tuple(eqn.params["shape"])
    kept = [1] * len(shape)
    for i, d in enumerate(eqn.params["broadcast_dimensions"]):
        kept[d] = dnp.shape(x)[i]
    if tuple(kept) != dnp.shape(x):
        x = dnp.reshape(x, tuple(kept))
    return x if tuple(kept) == shape else dnp.broadcast_to(x, shape)


def _reshape(eqn, x):
    dims = eqn.params.get("dimensions")
    if dims is not None:
        x = dnp.transpose(x, tuple(dims))
    return dnp.reshape(x, _out_shape(eqn))


TABLE["broadcast_in_dim"] = _broadcast_in_dim
TABLE["reshape"] = _reshape
TABLE["squeeze"] = lambda eqn, x: dnp.reshape(x, _out_shape(eqn))
TABLE["expand_dims"] = TABLE["squeeze"]
TABLE["transpose"] = lambda eqn, x: dnp.transpose(x, tuple(int(d) for d in eqn.params["permutation"]))
TABLE["stack"] = lambda eqn, *xs: dnp.stack(list(xs), axis=int(eqn.params["axis"]))
TABLE["concatenate"] = lambda eqn, *xs: dnp.concatenate(list(xs), axis=int(eqn.params["dimension"]))
TABLE["rev"] = lambda eqn, x: dnp.getitem(
    x, tuple(slice(None, None, -1) if d in eqn.params["dimensions"] else slice(None) for d in range(dnp.ndim(x))))
TABLE["sharding_constraint"] = lambda eqn, x: x
TABLE["optimization_barrier"] = lambda eqn, *xs: list(xs)
TABLE["device_put"] = lambda eqn, *xs: list(xs)

TABLE.update(_indexing.RULES)
TABLE.update(_calls.RULES)


# ---------------------------------------------------------------- what the table says


def supported() -> list[str]:
    """The JAX primitives ``from_jax`` maps to ``diffcompare.numpy``, sorted."""
    return sorted(TABLE)


def is_nondifferentiable(name: str) -> bool:
    """Whether the table runs ``name`` on concrete values (derivative 0, as in JAX)."""
    return TABLE.get(name) is _nondifferentiable
