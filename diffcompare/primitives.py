"""The one list of primitives: every operation an engine must have a rule for.

``diffcompare.numpy`` offers these primitives plus composites built from them
(``mean`` is ``sum`` divided by a count, ``dot`` is ``matmul``, ...), and
non-differentiable helpers (comparisons, ``sign``) that act on concrete values.
Each engine keeps one table from primitive name to rule and registers it here,
so coverage is a fact: :func:`coverage` says which engine covers which
primitive, and which it declares unsupported and why.

An elementwise primitive may instead be declared with its derivative, written
once with ``diffcompare.numpy`` (``Primitive.derivative``): forward's JVP,
reverse's VJP and symbolic's partials are derived from it, so adding one such
primitive means one line here, one line in ``diffcompare.numpy``, and its
SymPy/NumPy/parser names in the symbolic tables (the coverage tests list what
is missing). ``not_analytic`` says why the complex step must refuse it.

Parameters are normalised by ``diffcompare.numpy`` before an engine sees them:
``axis`` is a tuple of non-negative ints, ``shape`` and ``axes`` are tuples of
ints, ``index`` is a tuple of basic or advanced index entries. The ``impl`` of
a primitive computes it on JAX arrays (and is what ``dnp`` runs for them).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp as _jax_logsumexp

try:  # the class of a concrete JAX array (not a tracer): fast paths test ``type(x) is ArrayImpl``
    from jax._src.array import ArrayImpl
except ImportError:  # pragma: no cover - a JAX that moved it: the fast paths are simply never taken
    class ArrayImpl:
        pass


@dataclasses.dataclass(frozen=True)
class Primitive:
    """One operation of the function language.

    Attributes:
        name: the ``dnp`` name, e.g. ``"exp"``.
        kind: ``"unary"`` and ``"binary"`` (elementwise, broadcasting),
            ``"reduction"``, ``"linalg"``, ``"structural"`` (shape and indexing)
            or ``"select"`` (``where``).
        impl: computes the primitive on JAX arrays with normalised parameters.
        params: names of the keyword parameters the primitive takes.
        variadic: its operand is one sequence of arrays (``stack``, ``concatenate``).
        kink: the point where it is not differentiable, and JAX's convention there.
        derivative: an elementwise primitive's derivative, written once with
            ``diffcompare.numpy`` (passed in as ``np``) as JAX writes a JVP rule:
            ``derivative(np, t, x, ans)`` is the output's tangent when x has tangent
            ``t`` (linear in ``t``: ``t * np.cos(x)`` for ``sin``), ``ans`` the
            output; a binary primitive has a pair of ``(np, t, x, y, ans)`` functions,
            one per operand. Forward's JVP applies it to the tangent, reverse's VJP
            to the cotangent (an elementwise Jacobian is its own transpose), and
            symbolic's partials are it at ``t = 1``, on scalar nodes and on arrays.
        not_analytic: why the complex step must refuse it ("" when it is analytic).
    """

    name: str
    kind: str
    impl: Callable = dataclasses.field(repr=False)
    params: tuple[str, ...] = ()
    variadic: bool = False
    kink: str = ""
    derivative: Callable | tuple | None = dataclasses.field(default=None, repr=False)
    not_analytic: str = ""

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


def _replace_inf(np, x):
    # JAX's logaddexp JVP: +inf read as 0, so exp(x - ans) is 1 (not nan) when both are inf
    return np.where(np.equal(x, np.inf), 0.0, x)


#: sinc'(x) = Σ_{n≥1} c_n x^(2n-1) near 0, c_n = (-1)^n π^(2n) 2n / (2n+1)! (its Maclaurin series, to x⁹)
_SINC_SERIES = [(-1) ** n * math.pi ** (2 * n) * 2 * n / math.factorial(2 * n + 1) for n in range(1, 6)]


def _sinc_derivative(np, t, x, ans):
    # (cos(pi x) - sinc(x)) / x, and at x = 0 the Maclaurin series of sinc' (0 there, as JAX): differentiated
    # again it gives sinc''(0) = -π²/3 and the higher derivatives at 0 that JAX's Maclaurin rule gives
    at_zero = np.equal(x, 0)
    safe_x = np.where(at_zero, 1.0, x)
    series = 0.0
    for c in reversed(_SINC_SERIES):
        series = series * (x * x) + c
    return t * np.where(at_zero, x * series + 0.0, (np.cos(math.pi * safe_x) - np.sinc(safe_x)) / safe_x)


def _power_dx(np, t, x, y, ans):
    # JAX: y · x^(y-1); for an integer exponent 0 where y == 0 (x**0 is flat at x = 0, while x**0.0 gives
    # 0 · inf = nan there, as in JAX). A Python int exponent (x ** 2) needs no mask: it is known now
    if type(y) is int:
        return t * 0.0 if y == 0 else t * (y * np.power(x, y - 1))
    if not jnp.issubdtype(np.dtype_of(y), jnp.integer):
        return t * (y * np.power(x, y - 1))
    y_is_zero = np.equal(y, 0)
    return t * np.where(y_is_zero, 0.0, np.where(y_is_zero, 1, y) * np.power(x, y - 1))


def _power_dy(np, t, x, y, ans):
    # JAX: log(x) · x^y, with log(1) = 0 used where x == 0 (so d/dy 0**y is 0, not nan)
    return t * (np.log(np.where(np.equal(x, 0), 1.0, x)) * ans)


def _share(np, x, y, wins):
    # maximum's and minimum's weight for one operand: 1 where it wins, 0.5 at a tie (JAX), else 0
    return np.where(np.equal(x, y), 0.5, np.where(wins, 1.0, 0.0))


def _einsum(operands, *, subscripts):
    return jnp.einsum(subscripts, *operands)


def _cumsum(x, *, axis):
    return jnp.cumsum(x, axis=axis)


def einsum_free_letters(subscripts: str, count: int) -> str:
    """``count`` letters that ``subscripts`` does not use (for the axes a rule adds to an einsum)."""
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in subscripts]
    if len(free) < count:
        raise ValueError(f"einsum: no {count} free letters left in {subscripts!r}")
    return "".join(free[:count])


_NO_COMPLEX = "jax.numpy has no complex version of it"
_NOT_ANALYTIC = "not complex-analytic (the imaginary part of the perturbation would be lost)"


def _index_add(x, index, y):
    # promote first so a complex or float update is never truncated by x's dtype
    dtype = jnp.result_type(x, y)
    return jnp.asarray(x, dtype).at[index].add(y)


# Eager dispatch. Called on a concrete array, some jax.numpy functions take JAX's slow path for one primitive
# (~11 µs: lax.transpose, lax.reshape, ...) where a jitted function takes its C++ fast path (~4 µs). The
# engines call these on every node, so they go through ``jax.jit``: one primitive in, the same program
# (bitwise the same result) out. Tracers (under jit, vmap, grad) call the function itself, as before.


def _fast_eager(fn, static: tuple[str, ...]):
    """``fn(x, **params)``, through ``jax.jit`` (``params`` static) when ``x`` is a concrete JAX array."""
    jitted = jax.jit(fn, static_argnames=static)

    def impl(x, **params):
        return jitted(x, **params) if type(x) is ArrayImpl else fn(x, **params)

    impl.__name__ = impl.__qualname__ = getattr(fn, "__name__", "impl")
    impl.__wrapped__ = fn
    return impl


_integer_pow = jax.jit(jax.lax.integer_pow, static_argnums=1)


def _power(x, y):
    """``jnp.power``. On a concrete float array and a Python int it is ``lax.integer_pow`` (jnp.power's own
    first case), dispatched fast as above."""
    if type(y) is int and type(x) is ArrayImpl and jnp.issubdtype(x.dtype, jnp.inexact):
        return x if y == 1 else _integer_pow(x, y)  # integer_pow(x, 1) is x itself (its loop multiplies nothing)
    return jnp.power(x, y)


_ALL = [
    # elementwise, one operand: ``derivative(np, t, x, ans)`` is the output's tangent for x's tangent t
    Primitive("negative", "unary", jnp.negative, derivative=lambda np, t, x, ans: -t),
    Primitive("exp", "unary", jnp.exp, derivative=lambda np, t, x, ans: t * ans),
    Primitive("log", "unary", jnp.log, derivative=lambda np, t, x, ans: t / x),
    Primitive("log1p", "unary", jnp.log1p, derivative=lambda np, t, x, ans: t / (1.0 + x)),
    Primitive("expm1", "unary", jnp.expm1, derivative=lambda np, t, x, ans: t * (ans + 1.0)),
    Primitive("sqrt", "unary", jnp.sqrt, derivative=lambda np, t, x, ans: t * (0.5 / ans), kink="sqrt'(0) = inf"),
    Primitive("sin", "unary", jnp.sin, derivative=lambda np, t, x, ans: t * np.cos(x)),
    Primitive("cos", "unary", jnp.cos, derivative=lambda np, t, x, ans: -(t * np.sin(x))),
    Primitive("tan", "unary", jnp.tan, derivative=lambda np, t, x, ans: t * (1.0 + ans * ans)),
    Primitive("tanh", "unary", jnp.tanh, derivative=lambda np, t, x, ans: t * (1.0 - ans * ans)),
    Primitive("sinh", "unary", jnp.sinh, derivative=lambda np, t, x, ans: t * np.cosh(x)),
    Primitive("cosh", "unary", jnp.cosh, derivative=lambda np, t, x, ans: t * np.sinh(x)),
    Primitive("arctan", "unary", jnp.arctan, derivative=lambda np, t, x, ans: t / (1.0 + x * x)),
    Primitive("sigmoid", "unary", jax.nn.sigmoid, derivative=lambda np, t, x, ans: t * (ans * (1.0 - ans))),
    Primitive("abs", "unary", jnp.abs, kink="abs'(0) = 1",
              derivative=lambda np, t, x, ans: np.where(np.greater_equal(x, 0), t, -t)),
    Primitive("relu", "unary", jax.nn.relu, kink="relu'(0) = 0",
              derivative=lambda np, t, x, ans: np.where(np.greater(x, 0), t, 0.0)),
    # (JAX's JVP rules)
    Primitive("arcsin", "unary", jnp.arcsin, derivative=lambda np, t, x, ans: t * np.rsqrt(1.0 - x * x)),
    Primitive("arccos", "unary", jnp.arccos, derivative=lambda np, t, x, ans: t * -np.rsqrt(1.0 - x * x)),
    Primitive("arcsinh", "unary", jnp.arcsinh, derivative=lambda np, t, x, ans: t * np.rsqrt(x * x + 1.0)),
    Primitive("arccosh", "unary", jnp.arccosh, derivative=lambda np, t, x, ans: t * np.rsqrt(x * x - 1.0)),
    Primitive("arctanh", "unary", jnp.arctanh,
              derivative=lambda np, t, x, ans: t * (1.0 / ((1.0 + x) * (1.0 - x)))),
    Primitive("rsqrt", "unary", jax.lax.rsqrt, derivative=lambda np, t, x, ans: t * (-0.5 * ans / x),
              kink="rsqrt'(0) = -inf"),
    Primitive("cbrt", "unary", jnp.cbrt, derivative=lambda np, t, x, ans: t * (1.0 / (3.0 * ans * ans)),
              kink="cbrt'(0) = inf", not_analytic=_NO_COMPLEX),
    Primitive("exp2", "unary", jnp.exp2, derivative=lambda np, t, x, ans: t * (math.log(2.0) * ans)),
    Primitive("erf", "unary", jax.scipy.special.erf, not_analytic=_NO_COMPLEX,
              derivative=lambda np, t, x, ans: t * ((2.0 / math.sqrt(math.pi)) * np.exp(-x * x))),
    Primitive("erfc", "unary", jax.scipy.special.erfc, not_analytic=_NO_COMPLEX,
              derivative=lambda np, t, x, ans: t * ((-2.0 / math.sqrt(math.pi)) * np.exp(-x * x))),
    Primitive("erfinv", "unary", jax.scipy.special.erfinv, not_analytic=_NO_COMPLEX,
              derivative=lambda np, t, x, ans: t * ((math.sqrt(math.pi) / 2.0) * np.exp(ans * ans))),
    Primitive("sinc", "unary", jnp.sinc, derivative=_sinc_derivative, kink="sinc'(0) = 0 (JAX's Maclaurin rule)"),
    # real, imag, conj of real values (the engines differentiate real functions): identity, 0, identity
    Primitive("real", "unary", jnp.real, derivative=lambda np, t, x, ans: t * 1.0, not_analytic=_NOT_ANALYTIC),
    Primitive("imag", "unary", jnp.imag, derivative=lambda np, t, x, ans: t * 0.0, not_analytic=_NOT_ANALYTIC),
    Primitive("conj", "unary", jnp.conj, derivative=lambda np, t, x, ans: t * 1.0, not_analytic=_NOT_ANALYTIC),
    # its value is x, its derivative 0, and its result is stopped for every outer engine too: not an
    # elementwise derivative but a rule of its own in each engine
    Primitive("stop_gradient", "unary", jax.lax.stop_gradient),
    # elementwise, two operands (NumPy broadcasting): a pair (for x's tangent t, for y's tangent t)
    Primitive("add", "binary", jnp.add, derivative=(lambda np, t, x, y, ans: t, lambda np, t, x, y, ans: t)),
    Primitive("subtract", "binary", jnp.subtract,
              derivative=(lambda np, t, x, y, ans: t, lambda np, t, x, y, ans: -t)),
    Primitive("multiply", "binary", jnp.multiply,
              derivative=(lambda np, t, x, y, ans: t * y, lambda np, t, x, y, ans: t * x)),
    Primitive("divide", "binary", jnp.divide,
              derivative=(lambda np, t, x, y, ans: t / y, lambda np, t, x, y, ans: -t * (ans / y))),
    Primitive("power", "binary", _power, derivative=(_power_dx, _power_dy),
              kink="d/dx x**p at 0: 0 for p >= 1, inf for 0 < p < 1"),
    Primitive("maximum", "binary", jnp.maximum, kink="ties split: d/dx maximum(x, y) = 0.5 at x == y",
              derivative=(lambda np, t, x, y, ans: t * _share(np, x, y, np.greater(x, y)),
                          lambda np, t, x, y, ans: t * _share(np, x, y, np.greater(y, x)))),
    Primitive("minimum", "binary", jnp.minimum, kink="ties split: d/dx minimum(x, y) = 0.5 at x == y",
              derivative=(lambda np, t, x, y, ans: t * _share(np, x, y, np.greater(y, x)),
                          lambda np, t, x, y, ans: t * _share(np, x, y, np.greater(x, y)))),
    Primitive("arctan2", "binary", jnp.arctan2, not_analytic=_NO_COMPLEX, derivative=(
        lambda np, t, y, x, ans: t * (x / (x * x + y * y)),
        lambda np, t, y, x, ans: t * (-y / (x * x + y * y)),
    )),
    # own rules where a composite would overflow: d/dx = exp(x - ans), with +inf read as 0 (JAX)
    Primitive("logaddexp", "binary", jnp.logaddexp, not_analytic=_NO_COMPLEX, derivative=(
        lambda np, t, x, y, ans: t * np.exp(_replace_inf(np, x) - _replace_inf(np, ans)),
        lambda np, t, x, y, ans: t * np.exp(_replace_inf(np, y) - _replace_inf(np, ans)),
    )),
    Primitive("logaddexp2", "binary", jnp.logaddexp2, not_analytic=_NO_COMPLEX, derivative=(
        lambda np, t, x, y, ans: t * np.exp2(_replace_inf(np, x) - _replace_inf(np, ans)),
        lambda np, t, x, y, ans: t * np.exp2(_replace_inf(np, y) - _replace_inf(np, ans)),
    )),
    # where(cond, x, y): cond is concrete and never differentiated
    Primitive("where", "select", jnp.where, kink="the unselected branch gets 0"),
    # reductions
    Primitive("sum", "reduction", _fast_eager(jnp.sum, ("axis", "keepdims")), params=("axis", "keepdims")),
    Primitive("prod", "reduction", jnp.prod, params=("axis", "keepdims")),
    Primitive("max", "reduction", jnp.max, params=("axis", "keepdims"), kink="ties share equally"),
    Primitive("min", "reduction", jnp.min, params=("axis", "keepdims"), kink="ties share equally"),
    Primitive("logsumexp", "reduction", _jax_logsumexp, params=("axis", "keepdims")),
    Primitive("softmax", "reduction", jax.nn.softmax, params=("axis",)),
    # a scan: its own rule is a cumsum too (reversed for the VJP), O(n) where a composite is O(n²)
    Primitive("cumsum", "reduction", _cumsum, params=("axis",)),
    # linear algebra
    Primitive("matmul", "linalg", jnp.matmul),
    # subscripts are explicit ("ij,jk->ik", no ellipsis); every rule is itself an einsum
    Primitive("einsum", "linalg", _einsum, params=("subscripts",), variadic=True),
    # shape and indexing
    Primitive("transpose", "structural", _fast_eager(jnp.transpose, ("axes",)), params=("axes",)),
    Primitive("reshape", "structural", _fast_eager(jnp.reshape, ("shape",)), params=("shape",)),
    Primitive("broadcast_to", "structural", _fast_eager(jnp.broadcast_to, ("shape",)), params=("shape",)),
    Primitive("stack", "structural", jnp.stack, params=("axis",), variadic=True),
    Primitive("concatenate", "structural", jnp.concatenate, params=("axis",), variadic=True),
    # a cast between floating dtypes (casts to integers act on concrete values: derivative 0)
    Primitive("astype", "structural", lambda x, *, dtype: jnp.asarray(x).astype(dtype), params=("dtype",),
              not_analytic="a cast would drop or reinterpret the imaginary part of the perturbation"),
    Primitive("getitem", "structural", lambda x, *, index: x[index], params=("index",)),
    Primitive("index_add", "structural", lambda x, y, *, index: _index_add(x, index, y), params=("index",)),
]

#: name -> Primitive, in the order above.
PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _ALL}

# engine name -> (rules: {primitive name: rule}, unsupported: {primitive name: reason})
_ENGINES: dict[str, tuple[dict, dict]] = {}


def register_engine(engine: str, rules: dict, unsupported: dict[str, str] | None = None) -> None:
    """Declare an engine's rule table, so :func:`coverage` can report it.

    Arguments:
        engine: the engine's name (``"forward"``, ``"complex-step"``, ...).
        rules: the engine's table, keyed by primitive name.
        unsupported: primitive name -> the reason the engine refuses it.
    Raises ``KeyError`` when a key is not a primitive: a typo in a rule table
    must not pass silently.
    """
    unsupported = dict(unsupported or {})
    unknown = (set(rules) | set(unsupported)) - set(PRIMITIVES)
    if unknown:
        raise KeyError(f"engine '{engine}' has rules for unknown primitives: {sorted(unknown)}")
    _ENGINES[engine] = (rules, unsupported)


def coverage() -> dict[str, dict[str, str]]:
    """Which engine covers which primitive.

    Returns:
        ``{primitive: {engine: "rule" | "unsupported: <reason>" | "missing"}}``.
    """
    table = {}
    for name in PRIMITIVES:
        row = {}
        for engine, (rules, unsupported) in _ENGINES.items():
            if name in rules:
                row[engine] = "rule"
            elif name in unsupported:
                row[engine] = f"unsupported: {unsupported[name]}"
            else:
                row[engine] = "missing"
        table[name] = row
    return table


# The reference computes every primitive with JAX itself.
register_engine("jax", {name: p.impl for name, p in PRIMITIVES.items()})
