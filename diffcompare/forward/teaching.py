"""What the notebooks show about forward mode.

* The 2×2 matrix form of a dual number, ``(a, ȧ) ↦ [[a, ȧ], [0, a]]``: sums
  and products of these matrices are the sum and product rules
  (:func:`matrix_rules` checks them, plus the quotient through the matrix
  inverse and ``exp`` through the matrix exponential).
* :func:`sweep`: the forward sweep as a table, one row per operation with its
  (primal, tangent).
* :func:`counting`: how many passes, tangent directions and primitive
  evaluations a computation took (a gradient of f: Rⁿ → R costs n passes).
"""

from __future__ import annotations

import contextlib
import dataclasses

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from .. import _api
from .._core import EngineValue, concrete
from . import api
from .dual import LISTENERS, Dual

# ---------------------------------------------------------------- the 2×2 matrix form


def dual_matrix(a, a_dot=None):
    """The matrix ``[[a, ȧ], [0, a]]`` of the dual number ``(a, ȧ)`` (scalars).

    Arguments:
        a: the primal, or a scalar :class:`Dual` (then ``a_dot`` is its tangent).
        a_dot: the tangent.
    Example:
        >>> dual_matrix(3.0, 1.0)
        Array([[3., 1.], [0., 3.]], ...)
    """
    if isinstance(a, Dual):
        a, a_dot = a.primal, a.tangent
    a, a_dot = jnp.asarray(concrete(a)), jnp.asarray(concrete(a_dot))
    return jnp.array([[a, a_dot], [jnp.zeros_like(a), a]])


def from_matrix(m):
    """``(a, ȧ)`` read back from ``[[a, ȧ], [0, a]]``."""
    return m[0, 0], m[0, 1]


@dataclasses.dataclass(frozen=True)
class MatrixRule:
    """One calculus rule seen through 2×2 matrices.

    Attributes:
        name: "sum", "product", "quotient" or "exp".
        matrix: the matrix computed with matrix arithmetic.
        by_rule: (value, derivative) by the calculus rule.
        agrees: whether the matrix's (a, ȧ) equals ``by_rule``.
    """

    name: str
    formula: str
    matrix: jax.Array
    by_rule: tuple
    agrees: bool


def matrix_rules(x, x_dot, y, y_dot) -> list[MatrixRule]:
    """Sum, product, quotient and exp of dual numbers as 2×2 matrix operations.

    ``X + Y`` gives ``(x + y, ẋ + ẏ)``; ``X @ Y`` gives ``(xy, ẋy + xẏ)``;
    ``X @ Y⁻¹`` gives ``(x/y, (ẋy − xẏ)/y²)``; ``expm(X)`` gives ``(eˣ, ẋeˣ)``.
    """
    X, Y = dual_matrix(x, x_dot), dual_matrix(y, y_dot)
    x, x_dot, y, y_dot = (jnp.asarray(v) for v in (x, x_dot, y, y_dot))
    cases = [
        ("sum", "X + Y", X + Y, (x + y, x_dot + y_dot)),
        ("product", "X @ Y", X @ Y, (x * y, x_dot * y + x * y_dot)),
        ("quotient", "X @ inv(Y)", X @ jnp.linalg.inv(Y), (x / y, (x_dot * y - x * y_dot) / y**2)),
        ("exp", "expm(X)", jax.scipy.linalg.expm(X), (jnp.exp(x), x_dot * jnp.exp(x))),
    ]
    rules = []
    for name, formula, m, expected in cases:
        agrees = bool(jnp.allclose(jnp.stack(from_matrix(m)), jnp.stack(expected), rtol=1e-12, atol=1e-12))
        rules.append(MatrixRule(name, formula, m, expected, agrees))
    return rules


# ---------------------------------------------------------------- the sweep table


@dataclasses.dataclass
class SweepRow:
    step: int
    op: str
    inputs: tuple[str, ...]
    output: str
    primal: np.ndarray
    tangent: np.ndarray


class Sweep:
    """The forward sweep of one pass: every operation with its (primal, tangent).

    Attributes:
        rows: the :class:`SweepRow` s in the order they ran (inputs first).
        out, tangent_out: what ``jvp`` returns.
    """

    def __init__(self):
        self.rows: list[SweepRow] = []
        self._labels: dict[int, str] = {}
        self._keep: list = []  # keep labelled values alive so their ids stay unique
        self.out = self.tangent_out = None

    # recorder protocol used by ForwardTrace
    def inputs(self, duals):
        for i, d in enumerate(duals):
            name = f"x{i}" if len(duals) > 1 else "x"
            self._label(d, name)
            self.rows.append(SweepRow(len(self.rows), "input", (), name, _show(d.primal), _show(d.tangent)))

    def record(self, op, operands, params, out):
        flat = [v for o in operands for v in (o if isinstance(o, (list, tuple)) else (o,))]
        names = tuple(self._labels.get(id(v), _const_name(v)) for v in flat)
        for leaf in jax.tree_util.tree_leaves(out):
            name = f"v{sum(r.op != 'input' for r in self.rows) + 1}"
            self._label(leaf, name)
            self.rows.append(SweepRow(len(self.rows), op, names, name, _show(leaf.primal), _show(leaf.tangent)))

    def _label(self, value, name):
        self._labels[id(value)] = name
        self._keep.append(value)

    def as_dicts(self) -> list[dict]:
        """The rows as dicts (e.g. for ``pandas.DataFrame``)."""
        return [dataclasses.asdict(r) for r in self.rows]

    def table(self) -> str:
        """The sweep as a plain-text table."""
        header = ("step", "op", "inputs", "out", "primal", "tangent")
        lines = [(str(r.step), r.op, ", ".join(r.inputs), r.output, _fmt(r.primal), _fmt(r.tangent)) for r in self.rows]
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        rule = fmt.format(*("-" * w for w in widths))
        return "\n".join([fmt.format(*header), rule] + [fmt.format(*line).rstrip() for line in lines])

    def rich_table(self):
        """The sweep as a ``rich.table.Table``."""
        from rich.table import Table

        table = Table("step", "op", "inputs", "out", "primal", "tangent", title="forward sweep")
        for r in self.rows:
            table.add_row(str(r.step), r.op, ", ".join(r.inputs), r.output, _fmt(r.primal), _fmt(r.tangent))
        return table

    def __str__(self) -> str:
        return self.table()


def _show(v):
    return np.asarray(concrete(v))


def _const_name(v):
    if isinstance(v, EngineValue):
        return "outer"
    try:
        arr = np.asarray(v)
    except Exception:  # a traced value under jit
        return "traced"
    if arr.size == 1:
        return f"{arr.item():g}"
    return f"const{tuple(np.shape(v))}"


def _fmt(a) -> str:
    a = np.asarray(a)
    if a.size == 1:
        return f"{a.item():.6g}"
    return np.array2string(a, precision=4, threshold=6, edgeitems=2).replace("\n", "")


def sweep(f, primals, tangents) -> Sweep:
    """Run ``jvp(f, primals, tangents)`` and record every operation.

    Example:
        >>> print(sweep(lambda x: dnp.exp(x) / x**2, (1.5,), (1.0,)))
    """
    _api.check_tangents(primals, tangents, "forward.sweep")
    primals, tangents = tuple(primals), tuple(tangents)
    record = Sweep()
    tangents = jax.tree_util.tree_map(lambda p, t: jnp.asarray(t, jnp.result_type(p)), primals, tangents)
    record.out, record.tangent_out = api.forward_pass(f, primals, tangents, recorder=record)
    return record


# ---------------------------------------------------------------- counters


@dataclasses.dataclass
class Counts:
    """What forward mode did while counting.

    Attributes:
        passes: forward sweeps through ``f`` (a vector-mode sweep is one pass).
        directions: tangent directions pushed (k per vector-mode pass).
        primitives: primitive evaluations by the forward engine (each with its rule).
    """

    passes: int = 0
    directions: int = 0
    primitives: int = 0

    def count(self, passes: int, directions: int, primitives: int) -> None:
        """The forward engine's hook (``dual.LISTENERS``): add what it did."""
        self.passes += passes
        self.directions += directions
        self.primitives += primitives


@contextlib.contextmanager
def counting():
    """Count forward passes and primitive evaluations inside a ``with`` block.

    Example:
        >>> with counting() as c:
        ...     grad(f, mode="passes")(x)      # x has n entries
        >>> c.passes                           # n
    """
    counts = Counts()
    LISTENERS.append(counts)
    try:
        yield counts
    finally:
        LISTENERS.remove(counts)
