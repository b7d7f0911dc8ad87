"""The one list of primitives: every operation an engine must have a rule for.

``diffcompare.numpy`` offers these primitives plus composites built from them
(``mean`` is ``sum`` divided by a count, ``dot`` is ``matmul``, ...), and
non-differentiable helpers (comparisons, ``sign``) that act on concrete values.
Each engine keeps one table from primitive name to rule and registers it here,
so coverage is a fact: :func:`coverage` says which engine covers which
primitive, and which it declares unsupported and why.

Parameters are normalised by ``diffcompare.numpy`` before an engine sees them:
``axis`` is a tuple of non-negative ints, ``shape`` and ``axes`` are tuples of
ints, ``index`` is a tuple of basic or advanced index entries. The ``impl`` of
a primitive computes it on JAX arrays (and is what ``dnp`` runs for them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp as _jax_logsumexp


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
    """

    name: str
    kind: str
    impl: Callable = dataclasses.field(repr=False)
    params: tuple[str, ...] = ()
    variadic: bool = False
    kink: str = ""

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


def _index_add(x, index, y):
    # promote first so a complex or float update is never truncated by x's dtype
    dtype = jnp.result_type(x, y)
    return jnp.asarray(x, dtype).at[index].add(y)


_ALL = [
    # elementwise, one operand
    Primitive("negative", "unary", jnp.negative),
    Primitive("exp", "unary", jnp.exp),
    Primitive("log", "unary", jnp.log),
    Primitive("log1p", "unary", jnp.log1p),
    Primitive("expm1", "unary", jnp.expm1),
    Primitive("sqrt", "unary", jnp.sqrt, kink="sqrt'(0) = inf"),
    Primitive("sin", "unary", jnp.sin),
    Primitive("cos", "unary", jnp.cos),
    Primitive("tan", "unary", jnp.tan),
    Primitive("tanh", "unary", jnp.tanh),
    Primitive("sinh", "unary", jnp.sinh),
    Primitive("cosh", "unary", jnp.cosh),
    Primitive("arctan", "unary", jnp.arctan),
    Primitive("sigmoid", "unary", jax.nn.sigmoid),
    Primitive("abs", "unary", jnp.abs, kink="abs'(0) = 1"),
    Primitive("relu", "unary", jax.nn.relu, kink="relu'(0) = 0"),
    # elementwise, two operands (NumPy broadcasting)
    Primitive("add", "binary", jnp.add),
    Primitive("subtract", "binary", jnp.subtract),
    Primitive("multiply", "binary", jnp.multiply),
    Primitive("divide", "binary", jnp.divide),
    Primitive("power", "binary", jnp.power, kink="d/dx x**p at 0: 0 for p >= 1, inf for 0 < p < 1"),
    Primitive("maximum", "binary", jnp.maximum, kink="ties split: d/dx maximum(x, y) = 0.5 at x == y"),
    Primitive("minimum", "binary", jnp.minimum, kink="ties split: d/dx minimum(x, y) = 0.5 at x == y"),
    # where(cond, x, y): cond is concrete and never differentiated
    Primitive("where", "select", jnp.where, kink="the unselected branch gets 0"),
    # reductions
    Primitive("sum", "reduction", jnp.sum, params=("axis", "keepdims")),
    Primitive("prod", "reduction", jnp.prod, params=("axis", "keepdims")),
    Primitive("max", "reduction", jnp.max, params=("axis", "keepdims"), kink="ties share equally"),
    Primitive("min", "reduction", jnp.min, params=("axis", "keepdims"), kink="ties share equally"),
    Primitive("logsumexp", "reduction", _jax_logsumexp, params=("axis", "keepdims")),
    Primitive("softmax", "reduction", jax.nn.softmax, params=("axis",)),
    # linear algebra
    Primitive("matmul", "linalg", jnp.matmul),
    # shape and indexing
    Primitive("transpose", "structural", jnp.transpose, params=("axes",)),
    Primitive("reshape", "structural", jnp.reshape, params=("shape",)),
    Primitive("broadcast_to", "structural", jnp.broadcast_to, params=("shape",)),
    Primitive("stack", "structural", jnp.stack, params=("axis",), variadic=True),
    Primitive("concatenate", "structural", jnp.concatenate, params=("axis",), variadic=True),
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
