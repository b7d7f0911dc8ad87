"""Sparse Jacobians by colouring (Curtis, Powell & Reid 1974).

Two columns of J that share no row can ride in one tangent: J(e_a + e_b)
holds column a in the rows of a and column b in the rows of b. So

1. **detect** the sparsity pattern: by default from the reverse engine's
   tape, propagating which inputs every entry of every recorded value depends
   on, primitive by primitive (exact, conservative at ``max``/``min``; no
   derivative computed); or ``detect="probe"``: the nonzeros of dense
   forward-mode Jacobians at ``x`` and at a random point near it (any
   function, costs 2n tangents once, misses an entry only where a derivative
   happens to vanish at both);
2. **colour** the column intersection graph greedily (columns adjacent when
   they share a row: a distance-1 colouring of it, distance-2 in the
   bipartite graph), or the rows for reverse mode;
3. **compress**: one JVP per colour with the sum of that colour's unit
   vectors as tangent (forward), one VJP per row colour (reverse), or one
   central difference quotient per colour (finite differences, the CPR method);
4. **decompress**: entry (i, j) is row i of the compressed column of j's colour;
5. **check** that the pattern holds at this x: one more pass with a random
   dense seed r must give what the decompressed Jacobian gives (J r, or rᵀJ).

The pattern is found at one x and reused at every call, but the Jacobian's
structure may differ elsewhere: a Python ``if`` on values takes another branch,
``f`` reads state that changed, a probed derivative that vanished becomes
nonzero, a given ``pattern_matrix`` is wrong. Then two columns of one colour
share a row and decompression would silently mix them. Step 5 makes that an
error instead (:class:`~diffcompare.errors.SparsityPatternError`; under
``jax.jit``, where nothing can be raised, every entry of the result is NaN).
It costs one pass more than the p colours. A missing entry changes J r by
J_ij (r_j' - r_j) or J_ij r_j, so it is found unless it is below the check's
tolerance (about 1e-7 of its row's size in float64, 3e-3 in float32).

A tridiagonal Jacobian needs 3 colours whatever n is: 3 JVPs (and the check's one) instead of n.

    >>> sj = sparse_jacobian(f, x)          # pattern and colouring, once
    >>> sj.n_colours, jax.jit(sj)(x).todense()
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.experimental import sparse as jsparse

from .. import forward as fwd
from .. import numpy as dnp
from .. import reverse as rev
from .._core import concrete
from ..errors import InvalidOptionError, ShapeMismatchError, SparsityPatternError, UnsupportedOperationError
from ..primitives import PRIMITIVES
from ..reverse.tape import ReverseTrace, toposort

MODES = ("forward", "reverse", "finite_diff")
LAYOUTS = ("rows", "coo")
DETECT = ("graph", "probe")
_ELEMENTWISE = {"unary", "binary", "select"}
_REDUCE = {"sum", "prod", "max", "min", "logsumexp"}


# ---------------------------------------------------------------- detection


def _ids(shape) -> np.ndarray:
    return np.arange(math.prod(shape)).reshape(shape)


def _gather(dep, index) -> sp.csr_matrix:
    """The rows of ``dep`` picked by an array of entry ids (a structural op applied to the ids)."""
    return dep[np.asarray(index).ravel()]


def _reduction_matrix(shape, axis) -> sp.csr_matrix:
    """R (out entries × in entries): R[o, i] = 1 where input entry i is reduced into output entry o."""
    axes = tuple(range(len(shape))) if axis is None else tuple(a % len(shape) for a in np.atleast_1d(axis))
    kept = tuple(1 if a in axes else s for a, s in enumerate(shape))
    out = np.broadcast_to(_ids(kept), shape).ravel()
    return sp.csr_matrix((np.ones(out.size, bool), (out, np.arange(out.size))), shape=(math.prod(kept), out.size))


def _matmul(a_shape, b_shape, dep_a, dep_b, a_val, b_val):
    if len(a_shape) > 2 or len(b_shape) > 2:
        raise UnsupportedOperationError("matmul", "sparsity detection", "batched matmul: use detect='probe'")
    a2 = (1,) + a_shape if len(a_shape) == 1 else a_shape
    b2 = b_shape + (1,) if len(b_shape) == 1 else b_shape
    (m, k), p = a2, b2[1]
    total = None
    if dep_a is not None:  # out(i, j) depends on a(i, l) where b(l, j) can be nonzero
        pb = sp.csr_matrix(np.ones((k, p), bool) if b_val is None else (np.reshape(b_val, b2) != 0))
        total = sp.kron(sp.identity(m, bool, "csr"), pb.T, "csr") @ dep_a
    if dep_b is not None:  # out(i, j) depends on b(l, j) where a(i, l) can be nonzero
        pa = sp.csr_matrix(np.ones((m, k), bool) if a_val is None else (np.reshape(a_val, a2) != 0))
        term = sp.kron(pa, sp.identity(p, bool, "csr"), "csr") @ dep_b
        total = term if total is None else total + term
    return total


def _propagate(node, deps, trace, n) -> sp.csr_matrix:
    """Which inputs each entry of ``node`` depends on, from its operands' (a boolean CSR, entries × n)."""
    prim, params = node.op, node.params
    shape = tuple(node.shape)
    size = math.prod(shape)
    ops = node.parents
    dep = [deps.get(id(p)) if trace.owns(p) else None for p in ops]
    shapes = [tuple(jnp.shape(trace.lower(p))) for p in ops]
    if node.pullback is not None:
        raise UnsupportedOperationError(node.op, "sparsity detection", "a custom VJP node: use detect='probe'")
    kind = _kind(prim)
    if kind in _ELEMENTWISE:
        if prim == "where":
            dep, shapes = dep[1:], shapes[1:]  # the condition carries no derivative
        total = sp.csr_matrix((size, n), dtype=bool)
        for d, s in zip(dep, shapes):
            if d is not None:
                total = total + _gather(d, np.broadcast_to(_ids(s), shape))
        return total
    if prim in _REDUCE or prim == "softmax":
        r = _reduction_matrix(shapes[0], params.get("axis", -1 if prim == "softmax" else None))
        out = r @ dep[0]
        return (r.T @ out).tocsr() if prim == "softmax" else out
    if prim == "matmul":
        values = [None if trace.owns(p) else np.asarray(concrete(p)) for p in ops]
        return _matmul(shapes[0], shapes[1], dep[0], dep[1], values[0], values[1])
    if prim in ("getitem", "reshape", "transpose", "broadcast_to"):
        ids = _ids(shapes[0])
        moved = {"getitem": lambda: ids[params["index"]], "reshape": lambda: np.reshape(ids, params["shape"]),
                 "transpose": lambda: np.transpose(ids, params.get("axes")),
                 "broadcast_to": lambda: np.broadcast_to(ids, params["shape"])}[prim]()
        return _gather(dep[0], moved)
    if prim in ("stack", "concatenate"):
        offsets = np.cumsum([0] + [math.prod(s) for s in shapes])
        parts = [_ids(s) + o for s, o in zip(shapes, offsets)]
        joined = (np.stack if prim == "stack" else np.concatenate)(parts, axis=params.get("axis", 0))
        rows = [d if d is not None else sp.csr_matrix((math.prod(s), n), dtype=bool) for d, s in zip(dep, shapes)]
        return _gather(sp.vstack(rows, format="csr"), joined)
    if prim == "index_add":
        x_dep, y_dep = dep
        out = x_dep if x_dep is not None else sp.csr_matrix((size, n), dtype=bool)
        if y_dep is not None:
            target = np.broadcast_to(_ids(shape)[params["index"]], shapes[1]).ravel()
            scatter = sp.csr_matrix((np.ones(target.size, bool), (target, np.arange(target.size))),
                                    shape=(size, target.size))
            out = out + scatter @ y_dep
        return out
    raise UnsupportedOperationError(prim, "sparsity detection", "no dependency rule: use detect='probe'")


def _kind(name):
    return PRIMITIVES[name].kind if name in PRIMITIVES else None


def pattern(f: Callable, x, detect: str = "graph") -> sp.csr_matrix:
    """The sparsity pattern of the Jacobian of ``f`` at ``x`` (a boolean ``scipy.sparse`` matrix, m × n).

    Arguments:
        f: written with ``diffcompare.numpy``; ``x``: one array (flattened: column j is ``x.ravel()[j]``).
        detect: "graph" (propagate dependencies along the reverse engine's recorded tape; exact
            structure at ``x``, no derivatives computed) or "probe" (nonzeros of dense forward-mode
            Jacobians at ``x`` and at a random point near it: any function, 2n tangents once).
    Returns:
        The pattern at ``x``: a function with a Python ``if`` on values may have another one elsewhere
        (:class:`SparseJacobian` checks that it holds wherever it is called).
    """
    if detect not in DETECT:
        raise InvalidOptionError(f"accumulate.pattern: detect must be one of {DETECT}, got {detect!r}")
    x = jnp.asarray(x)
    n = x.size
    if detect == "probe":
        near = x + jnp.asarray(np.random.default_rng(0).uniform(0.1, 0.2, x.shape), x.dtype)
        # at x itself, so the pattern holds where it is detected whichever branch x is on, and near it, so a
        # derivative that happens to vanish at x (2x at 0) is not missed once x moves
        nonzero = [np.asarray(fwd.jacobian(f)(point)).reshape(-1, n) != 0 for point in (x, near)]
        return sp.csr_matrix(nonzero[0] | nonzero[1])
    trace = ReverseTrace()
    root = trace.input(x)
    out = f(root)
    if not trace.owns(out):
        return sp.csr_matrix((int(np.size(out)), n), dtype=bool)
    deps = {id(root): sp.identity(n, bool, "csr")}
    for node in toposort([out], trace):
        if id(node) not in deps:
            deps[id(node)] = _propagate(node, deps, trace, n).tocsr()
    result = deps[id(out)]
    result.eliminate_zeros()
    return result


# ---------------------------------------------------------------- colouring


def colour_columns(pattern_matrix, order: str = "natural") -> np.ndarray:
    """A greedy distance-1 colouring of the column intersection graph: columns sharing a row differ.

    Arguments:
        pattern_matrix: m × n, nonzero where J can be nonzero (``scipy.sparse`` or dense).
        order: "natural" (columns 0, 1, …) or "largest_first" (most neighbours first).
    Returns:
        ``colours``: an int array of length n, colours 0..p-1.
    """
    csc = sp.csc_matrix(pattern_matrix, dtype=bool)
    csr = csc.tocsr()
    n = csc.shape[1]
    if order not in ("natural", "largest_first"):
        raise InvalidOptionError("accumulate.colour_columns: order must be 'natural' or 'largest_first', "
                                 f"got {order!r}")
    visit = range(n)
    if order == "largest_first":
        degree = np.asarray((csr.T @ csr).astype(bool).sum(axis=1)).ravel()
        visit = np.argsort(-degree, kind="stable")
    colours = np.full(n, -1, dtype=np.int64)
    for j in visit:
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        neighbours = np.concatenate([csr.indices[csr.indptr[r] : csr.indptr[r + 1]] for r in rows]) if len(rows) \
            else np.zeros(0, np.int64)
        taken = set(colours[neighbours].tolist())
        colours[j] = next(c for c in range(n + 1) if c not in taken)
    return colours


def colour_rows(pattern_matrix, order: str = "natural") -> np.ndarray:
    """Rows coloured so that rows sharing a column differ (for reverse mode: one VJP per colour)."""
    return colour_columns(sp.csr_matrix(pattern_matrix).T, order)


def is_valid_colouring(pattern_matrix, colours, rows: bool = False) -> bool:
    """No two columns (rows) of one colour share a row (column)."""
    m = sp.csr_matrix(pattern_matrix, dtype=bool)
    m = m.T.tocsr() if rows else m
    seeds = sp.csr_matrix((np.ones(len(colours)), (np.arange(len(colours)), colours)))
    return bool((m.astype(np.int64) @ seeds).max() <= 1) if m.nnz else True


# ---------------------------------------------------------------- compress, decompress


@dataclasses.dataclass(eq=False)  # hashed by identity: jax.jit(sj) works
class SparseJacobian:
    """A callable computing the sparse Jacobian of ``f`` with one pass per colour.

    Attributes:
        f: the function; mode: "forward", "reverse" or "finite_diff";
        pattern: the m × n pattern; colours: one per column (per row in reverse mode);
        in_shape: the shape of the argument. ``n_colours`` is the number of passes.
        layout: of the result: "rows" (the default in forward mode and for finite differences) or "coo"
            (the default, and the only layout, in reverse mode).
    Calling it on ``x`` returns a ``jax.experimental.sparse.BCOO`` (``.todense()``, :func:`to_scipy`); ``jax.jit``
    compiles it. Every call checks, with one extra pass, that the pattern holds at that ``x`` (see the module
    docstring): :class:`~diffcompare.errors.SparsityPatternError` if it does not, a NaN result under ``jax.jit``.
    Its entries are the compressed matrix's slots: every nonzero of the pattern once, plus explicit
    zeros for empty slots (``.sum_duplicates()`` drops nothing; ``pattern.nnz`` is the structural count). In the
    "rows" layout the rows are the BCOO's batch dimension: row i holds its p slots (the p passes' outputs at i,
    data m × p) and only their columns are stored (indices m × p × 1), half the index bytes of "coo"
    (nse × 2, row and column per entry), which is the layout ``sparsejac`` and ``asdex`` return.
    """

    f: Callable
    mode: str
    pattern: sp.csr_matrix
    colours: np.ndarray
    in_shape: tuple
    step: float | None = None
    layout: str | None = None

    def __post_init__(self):
        if self.layout is None:
            self.layout = "coo" if self.mode == "reverse" else "rows"
        if self.layout not in LAYOUTS or (self.layout == "rows" and self.mode == "reverse"):
            raise InvalidOptionError(f"SparseJacobian: layout must be one of {LAYOUTS} ('rows' only for forward mode "
                                     f"and finite differences), got {self.layout!r} in mode {self.mode!r}")
        coo = self.pattern.tocoo()
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        k, p = len(self.colours), self.n_colours  # k: columns (rows in reverse mode) coloured
        self._seeds = np.zeros((p, k))
        self._seeds[self.colours, np.arange(k)] = 1.0
        # Decompression without a gather: slot (c, i) of the p passes' outputs holds entry (i, j) for the one column
        # j of colour c in row i (a valid colouring has at most one), so those outputs themselves, with the empty
        # slots zeroed, are the data of the sparse result. (Reverse mode: slot (c, j) of the p rows w_cᵀJ.)
        m, n = self.shape
        slot = np.full((p, n if self.mode == "reverse" else m), -1, np.int64)
        if self.mode == "reverse":
            slot[self.colours[rows], cols] = rows
            index = np.stack([np.maximum(slot, 0).ravel(), np.broadcast_to(np.arange(n), (p, n)).ravel()], axis=1)
        else:
            slot[self.colours[cols], rows] = cols
            index = np.maximum(slot, 0).T[..., None] if self.layout == "rows" else np.stack(
                [np.broadcast_to(np.arange(m), (p, m)).ravel(), np.maximum(slot, 0).ravel()], axis=1)
        self._mask = slot >= 0
        self._indices = index.astype(np.int32)  # BCOO's index type: half the bytes
        self._full = bool(self._mask.all())
        # the check's dense seed r, and the weight r_j of each slot's entry in J r (r_i in rᵀJ, reverse mode)
        self._check_seed = np.random.default_rng(0).uniform(0.5, 1.5, k)
        self._check_weights = np.where(self._mask, self._check_seed[np.maximum(slot, 0)], 0.0)

    @property
    def n_colours(self) -> int:
        return int(self.colours.max()) + 1 if len(self.colours) else 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.pattern.shape

    def compressed(self, x):
        """The compressed Jacobian: (m × p) columns J·s_c (forward, finite_diff) or (p × n) rows w_cᵀJ (reverse)."""
        passes = self._passes(x, check=False)
        return passes if self.mode == "reverse" else passes.T

    def _passes(self, x, check: bool):
        """One output per colour, stacked: (p × m) JVPs or difference quotients, (p × n) VJPs; with ``check``,
        one more row: the pass along the check's seed r (J r, or rᵀJ in reverse mode)."""
        x = jnp.asarray(x)
        if x.shape != self.in_shape:
            raise ShapeMismatchError(f"SparseJacobian: built for inputs of shape {self.in_shape}, got {x.shape}")
        seeds = jnp.asarray(np.vstack([self._seeds, self._check_seed]) if check else self._seeds, x.dtype)
        if self.mode == "reverse":  # a barrier: XLA would constant-fold the seeds through the VJP's scatters (seconds
            seeds = jax.lax.optimization_barrier(seeds)  # to compile at n = 10⁵); folded JVP seeds run ~10% faster
        flat = lambda x_flat: dnp.reshape(self.f(dnp.reshape(x_flat, self.in_shape)), (-1,))  # noqa: E731
        if self.mode == "forward":
            return fwd.jvp(flat, (x.ravel(),), (seeds,), batched=True)[1]
        if self.mode == "reverse":
            _, pull = rev.vjp(flat, x.ravel())
            return jax.vmap(lambda w: pull(w)[0])(seeds)
        h = self._step(x)
        shifted = lambda s: (flat(x.ravel() + h * s) - flat(x.ravel() - h * s)) / (2 * h)  # noqa: E731 - CPR
        try:
            return jax.vmap(shifted)(seeds)
        except (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError):
            if isinstance(x, jax.core.Tracer):
                raise
            return jnp.stack([shifted(s) for s in seeds])  # f branches on values: one seed at a time

    def _step(self, x):
        return self.step if self.step is not None else jnp.finfo(x.dtype).eps ** (1 / 3) * jnp.maximum(
            1.0, jnp.max(jnp.abs(x)))

    def __call__(self, x):
        passes = self._passes(x, check=True)
        B, product = passes[:-1], passes[-1]
        data = B if self._full else jnp.where(self._mask, B, 0.0)  # empty slots: explicit zeros
        data = self._checked(data, product, jnp.asarray(x))
        data = data.T if self.layout == "rows" else data.ravel()
        return jsparse.BCOO((data, jnp.asarray(self._indices)), shape=self.shape)

    def _checked(self, data, product, x):
        """``data`` if the decompressed Jacobian gives the check pass's ``product`` (J r, or rᵀJ); else a
        :class:`SparsityPatternError` (NaN data under a JAX transformation, where nothing can be raised)."""
        terms = data * jnp.asarray(self._check_weights, data.dtype)
        eps = jnp.finfo(data.dtype).eps
        size = _colour_sum(jnp.abs(terms)) + jnp.abs(product)
        # rounding (the two sides are computed differently), and for finite differences their own error
        tolerance = 8 * eps**0.5 * size
        if self.mode == "finite_diff":
            h = self._step(x)
            value = jnp.abs(dnp.reshape(self.f(x), (-1,)))  # its rounding, divided by the step
            tolerance = jnp.maximum(tolerance, 100 * h**2 * size) + 16 * eps * value / h
        bad = jnp.abs(_colour_sum(terms) - product) > tolerance  # NaN compares False: it shows by itself
        if isinstance(bad, jax.core.Tracer):
            return data + jnp.where(jnp.any(bad), jnp.nan, 0.0)  # (a scalar: cheaper than a where on data)
        if bool(jnp.any(bad)):
            raise self._pattern_error(np.flatnonzero(np.asarray(bad)))
        return data

    def _pattern_error(self, where) -> SparsityPatternError:
        lines = "rows" if self.mode != "reverse" else "columns"
        shown = ", ".join(map(str, where[:5])) + (", ..." if len(where) > 5 else "")
        return SparsityPatternError(
            f"SparseJacobian: the sparsity pattern does not hold at this x: the Jacobian has nonzeros outside it in "
            f"{lines} {shown}, so the {self.mode} passes would mix entries of one colour and the result would be "
            "wrong. The pattern was found at another point (a Python `if` on values takes another branch here, f "
            "reads state that changed, or detect='probe' saw a derivative vanish) or pattern_matrix is wrong. Detect "
            "the pattern at this x (sparse_jacobian(f, x)); use detect='graph' rather than 'probe' (it reads the "
            "structure, not values that may vanish); pass a pattern_matrix that holds at every x (the union of the "
            "branches' patterns); or write f without value branches (dnp.where instead of if)"
        )


def _colour_sum(rows):
    """The sum over the colours (the first axis), row by row: compiled for the CPU, adding a few rows is
    several times faster than reducing a short leading axis."""
    if not 0 < rows.shape[0] <= 64:
        return jnp.sum(rows, axis=0)
    total = rows[0]
    for c in range(1, rows.shape[0]):
        total = total + rows[c]
    return total


def sparse_jacobian(f: Callable, x, mode: str = "forward", *, pattern_matrix=None, detect: str = "graph",
                    order: str = "natural", step: float | None = None, layout: str | None = None) -> SparseJacobian:
    """Detect the pattern at ``x``, colour it, and return the callable computing J with one pass per colour.

    Arguments:
        f: a function of one array, written with ``diffcompare.numpy``.
        x: an example input (the pattern is detected there unless ``pattern_matrix`` is given).
        mode: "forward" (JVPs, column colouring), "reverse" (VJPs, row colouring) or
            "finite_diff" (central difference quotients, column colouring: the CPR method).
        pattern_matrix: a known m × n pattern (skips detection); detect: "graph" or "probe" (see :func:`pattern`).
        order: the greedy colouring's order; step: the finite-difference step (default ε^(1/3)·max(1, |x|)).
        layout: of the BCOO result, "rows" (row-batched; forward mode's and CPR's default) or "coo"
            (see :class:`SparseJacobian`).
    Returns:
        A :class:`SparseJacobian`; ``sj(x)`` is a BCOO matrix (m × n), ``sj.n_colours`` the passes (plus one that
        checks the pattern holds at that x: a :class:`~diffcompare.errors.SparsityPatternError` where it does not,
        e.g. where a Python ``if`` in ``f`` takes another branch than at the ``x`` given here).
    Example:
        >>> sj = sparse_jacobian(lambda u: u[2:] - 2 * u[1:-1] + u[:-2], jnp.ones(10))
        >>> sj.n_colours
        3
    """
    if mode not in MODES:
        raise InvalidOptionError(f"accumulate.sparse_jacobian: mode must be one of {MODES}, got {mode!r}")
    x = jnp.asarray(x)
    pat = sp.csr_matrix(pattern_matrix if pattern_matrix is not None else pattern(f, x, detect), dtype=bool)
    if pat.shape[1] != x.size:
        raise ShapeMismatchError(f"accumulate.sparse_jacobian: the pattern has {pat.shape[1]} columns but x has "
                                 f"{x.size} entries")
    colours = colour_rows(pat, order) if mode == "reverse" else colour_columns(pat, order)
    return SparseJacobian(f, mode, pat, colours, tuple(x.shape), step, layout)


def to_scipy(J) -> sp.csr_matrix:
    """A ``scipy.sparse`` copy of a BCOO in either layout (no compile, unlike ``J.todense()``), or of a dense array."""
    if not isinstance(J, jsparse.BCOO):
        return sp.csr_matrix(np.asarray(J))
    data, indices = np.asarray(J.data), np.asarray(J.indices)
    if J.n_batch == 1:  # "rows": the batch index is the row
        rows = np.broadcast_to(np.arange(J.shape[0])[:, None], data.shape).ravel()
        return sp.csr_matrix((data.ravel(), (rows, indices[..., 0].ravel())), shape=J.shape)
    return sp.csr_matrix((data, (indices[:, 0], indices[:, 1])), shape=J.shape)
