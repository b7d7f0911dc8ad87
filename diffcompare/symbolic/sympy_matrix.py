"""A cross-check of the array level against SymPy's matrix calculus (``MatrixSymbol`` derivatives).

The array-level expression of a function (:mod:`.array`) is written as a SymPy matrix
expression: an input of shape ``(m, n)`` is a ``MatrixSymbol`` m x n, a vector ``(n,)`` a
column n x 1, a scalar result a 1 x 1 matrix, ``sum`` a product with ``OneMatrix``, elementwise
products ``HadamardProduct``, elementwise functions ``applyfunc``. SymPy then differentiates it
with ``MatrixExpr.diff`` (once for a gradient, twice for a Hessian), and both derivatives are
evaluated at the same numbers. SymPy's matrix calculus covers only part of what the array
level does: :func:`cross_check` says what it cannot do (an operation with no matrix form, a
derivative it does not produce, or a result it cannot evaluate) instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOperationError
from . import array as AL
from .convert import _sympy_functions
from .graph import topological
from .trace import arg_names


class NoMatrixForm(UnsupportedOperationError):
    """An array operation SymPy's matrix expressions cannot write."""

    def __init__(self, what: str):
        super().__init__(what, "SymPy matrix expressions", "SymPy has no matrix form for it")
        self.what = what


@dataclass
class SympyMatrixCheck:
    """One cross-check: SymPy's derivative expression and value against the array level's."""

    kind: str  # "grad" or "hessian"
    ours: str  # the array level's derivative, printed
    sympy: str  # SymPy's derivative (or "" where it has none)
    status: str  # "ok", or what SymPy cannot do
    max_abs_difference: float  # between SymPy's and our values (nan where SymPy has none)


def _shape2(shape) -> tuple[int, int]:
    """The matrix shape of an array: vectors are columns, scalars 1 x 1."""
    if len(shape) > 2:
        raise NoMatrixForm(f"an array of {len(shape)} dimensions")
    return {0: (1, 1), 1: (shape[0], 1), 2: tuple(shape)}[len(shape)] if shape else (1, 1)


class _Writer:
    """ANode -> SymPy matrix expression; constant arrays become symbols ``C0, C1, ...`` with values."""

    def __init__(self, sp):
        self.sp, self.functions = sp, _sympy_functions(sp)
        self.symbols: dict = {}  # SymPy symbol -> the variable's name (var) or the array (const) it stands for
        self.constants = 0

    def leaf(self, n):
        sp = self.sp
        if n.op == "const" and not n.shape:
            return sp.Float(float(n.value)) if float(n.value) != int(float(n.value)) else sp.Integer(int(n.value))
        if n.op == "eye":
            return sp.Identity(n.shape[0])
        if n.op == "var":
            symbol = sp.MatrixSymbol(n.value, *_shape2(n.shape))
            self.symbols[symbol] = n.value
        else:
            symbol = sp.MatrixSymbol(f"C{self.constants}", *_shape2(n.shape))
            self.symbols[symbol] = np.asarray(n.value, dtype=np.float64)
            self.constants += 1
        return symbol

    def full(self, e, n_from, shape):
        """``e`` as a matrix of ``shape`` (a number times ``OneMatrix``, or broadcast)."""
        if not isinstance(e, self.sp.MatrixExpr):
            return e * self.sp.OneMatrix(*_shape2(shape))
        return self.broadcast(e, n_from, shape)

    def binary(self, op, n, a):
        sp = self.sp
        (x, y), (p, q) = a, n.args
        if not isinstance(x, sp.MatrixExpr) and not isinstance(y, sp.MatrixExpr):
            return self.functions[op](x, y)
        if op == "power":
            if isinstance(y, sp.MatrixExpr):
                raise NoMatrixForm("a power with an array exponent")
            return sp.HadamardPower(self.broadcast(x, p.shape, n.shape), y)
        if op == "multiply" and not isinstance(x, sp.MatrixExpr):
            return x * self.broadcast(y, q.shape, n.shape)
        if op in ("multiply", "divide") and not isinstance(y, sp.MatrixExpr):
            return self.functions[op](self.broadcast(x, p.shape, n.shape), y)
        x, y = self.full(x, p.shape, n.shape), self.full(y, q.shape, n.shape)
        if op in ("add", "subtract"):
            return self.functions[op](x, y)
        return sp.HadamardProduct(x, y if op == "multiply" else sp.HadamardPower(y, -1))

    def broadcast(self, e, n_from, shape):
        """``e`` (of ANode shape ``n_from``) broadcast to ``shape``."""
        sp = self.sp
        if tuple(n_from) == tuple(shape):
            return e
        rows, cols = _shape2(shape)
        if not n_from or n_from == (1,) or n_from == (1, 1):
            if isinstance(e, sp.MatrixExpr):
                raise NoMatrixForm("a computed scalar broadcast to an array")
            return e * sp.OneMatrix(rows, cols)
        if len(n_from) == 1 and len(shape) == 2 and n_from[0] == cols:  # a row repeated
            return sp.OneMatrix(rows, 1) * e.T
        if len(n_from) == 2 and n_from == (rows, 1):
            return e * sp.OneMatrix(1, cols)
        if len(n_from) == 2 and n_from == (1, cols):
            return sp.OneMatrix(rows, 1) * e
        raise NoMatrixForm(f"broadcasting {n_from} to {shape}")

    def node(self, n, a):
        sp = self.sp
        op = n.op
        if op in ("add", "subtract", "multiply", "divide", "power"):
            return self.binary(op, n, a)
        if op in self.functions and len(n.args) == 1:
            fn = self.functions[op]
            return a[0].applyfunc(fn) if isinstance(a[0], sp.MatrixExpr) else fn(a[0])
        if op == "sum":
            axes, _ = n.params
            rows, cols = _shape2(n.args[0].shape)
            if len(axes) == n.args[0].ndim:
                return self.total(a[0], rows, cols)
            if n.args[0].ndim == 2 and axes == (1,):
                return a[0] * sp.OneMatrix(cols, 1)
            if n.args[0].ndim == 2 and axes == (0,):
                return a[0].T * sp.OneMatrix(rows, 1)
            raise NoMatrixForm(f"a sum over axes {axes}")
        if op == "matmul":
            (x, y), (p, q) = a, n.args
            if p.ndim == 1 and q.ndim == 1:
                return x.T * y
            if p.ndim == 1:
                return y.T * x
            return x * y
        if op == "transpose" and n.ndim == 2:
            return a[0].T
        if op in ("reshape", "broadcast_to"):
            if _shape2(n.shape) == _shape2(n.args[0].shape):
                return a[0]
            if op == "broadcast_to" or not isinstance(a[0], sp.MatrixExpr):  # a number reshaped is broadcast
                return self.broadcast(a[0], n.args[0].shape, n.shape)
            if _shape2(n.shape) == _shape2(n.args[0].shape)[::-1]:
                return a[0].T  # a column as a row or back
            raise NoMatrixForm(f"a reshape from {n.args[0].shape} to {n.shape}")
        if op == "outer":
            return a[0] * a[1].T
        if op == "diag":
            return sp.DiagMatrix(a[0])
        raise NoMatrixForm(f"the operation '{op}'")

    def total(self, e, rows, cols):
        """The sum of all entries: ``uᵀ v`` for a product of columns, ``tr(Aᵀ B)`` of matrices
        (the forms SymPy differentiates best; sums and scalar multiples term by term), else a
        product with ``OneMatrix``."""
        sp = self.sp
        if isinstance(e, sp.MatAdd):
            return sp.MatAdd(*(self.total(term, rows, cols) for term in e.args))
        if isinstance(e, sp.MatMul) and len(e.args) == 2 and e.args[0].is_number:
            return e.args[0] * self.total(e.args[1], rows, cols)
        if isinstance(e, sp.HadamardPower) and e.exp == 2:
            e = sp.HadamardProduct(e.base, e.base)
        if isinstance(e, sp.HadamardProduct) and len(e.args) == 2:
            u, v = e.args
            return u.T * v if cols == 1 else sp.Trace(u.T * v)
        ones = sp.OneMatrix(1, rows) * e
        return ones if cols == 1 else ones * sp.OneMatrix(cols, 1)

    def write(self, root):
        values: dict = {}
        for n in topological([root]):
            values[n.serial] = self.leaf(n) if not n.args else self.node(n, [values[a.serial] for a in n.args])
        return values[root.serial]


def _evaluate(sp, expression, env: dict, shape) -> np.ndarray:
    """The value of a SymPy matrix (or array) expression at ``env`` (symbol -> array), as ``shape``.
    Evaluated with NumPy node by node (a contraction of a tensor product as one ``einsum``):
    substituting numbers into SymPy's array derivatives builds tensor products entry by entry."""
    value = np.asarray(_numeric(sp, expression, env), dtype=np.float64)
    if value.size != int(np.prod(shape)):
        raise NoMatrixForm(f"a derivative of {value.shape} entries where {shape} was expected")
    return value.reshape(shape)


def _numeric(sp, e, env: dict):
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    from sympy.tensor.array.expressions import (
        ArrayAdd,
        ArrayContraction,
        ArrayDiagonal,
        ArrayElementwiseApplyFunc,
        ArrayTensorProduct,
        PermuteDims,
    )

    def go(x):
        return _numeric(sp, x, env)

    if e in env:
        return np.reshape(env[e], e.shape)
    if e.is_number:
        return float(e)
    if isinstance(e, sp.Identity):
        return np.eye(e.shape[0])
    if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix)):
        return np.full(e.shape, 1.0 if isinstance(e, sp.OneMatrix) else 0.0)
    if isinstance(e, (sp.MatAdd, ArrayAdd, sp.Add)):
        return sum(go(a) for a in e.args)
    if isinstance(e, sp.MatMul):
        factors = [go(a) for a in e.args]
        out = factors[0]
        for f in factors[1:]:
            out = out * f if np.ndim(out) == 0 or np.ndim(f) == 0 else out @ f
        return out
    if isinstance(e, (sp.Mul, sp.HadamardProduct)):
        return np.prod(np.broadcast_arrays(*[go(a) for a in e.args]), axis=0)
    if isinstance(e, sp.Transpose):
        return go(e.arg).T
    if isinstance(e, sp.HadamardPower):
        return go(e.base) ** go(e.exp)
    if isinstance(e, (ElementwiseApplyFunction, ArrayElementwiseApplyFunc)):
        fn = sp.lambdify(e.function.variables, e.function.expr, "numpy")
        inner = np.asarray(go(e.expr), dtype=np.float64)
        return np.vectorize(fn, otypes=[np.float64])(inner)
    if isinstance(e, sp.DiagMatrix):
        return np.diagflat(go(e.args[0]))
    if isinstance(e, sp.Trace):
        return np.trace(go(e.arg))
    if isinstance(e, PermuteDims):
        return np.transpose(go(e.expr), e.permutation.array_form)
    if isinstance(e, ArrayDiagonal):  # the diagonal axes move to the end, in order
        return _einsum([e.expr], e.diagonal_indices, go, diagonal=True)
    if isinstance(e, ArrayContraction):
        factors = list(e.expr.args) if isinstance(e.expr, ArrayTensorProduct) else [e.expr]
        return _einsum(factors, e.contraction_indices, go, diagonal=False)
    if isinstance(e, ArrayTensorProduct):
        return _einsum(list(e.args), (), go, diagonal=False)
    raise NoMatrixForm(f"evaluating SymPy's {type(e).__name__}")


def _einsum(factors, groups, go, diagonal: bool):
    """One ``einsum`` over the axes of ``factors`` laid end to end: the axes of each group share a
    letter, summed (a contraction) or kept once at the end (a diagonal)."""
    values = [np.asarray(go(f), dtype=np.float64) for f in factors]
    letter = list(range(sum(v.ndim for v in values)))
    for group in groups:
        for axis in group[1:]:
            letter[axis] = letter[group[0]]
    grouped = {axis for group in groups for axis in group}
    kept = [letter[a] for a in range(len(letter)) if a not in grouped]
    if diagonal:
        kept += [letter[group[0]] for group in groups]
    operands, start = [], 0
    for v in values:
        operands += [v, letter[start:start + v.ndim]]
        start += v.ndim
    return np.einsum(*operands, kept, optimize=True)


def cross_check(f, *args, kind: str = "grad", argnums: int = 0) -> SympyMatrixCheck:
    """SymPy's matrix derivative of ``f`` (gradient by argument ``argnums``, or its Hessian)
    against the array level's, at ``args`` (SymPy differentiates once for any size; its
    derivative is evaluated with NumPy)."""
    import sympy as sp

    out, variables = AL.trace(f, arg_names(f, len(args)), args)
    by_name = {v.value: a for v, a in zip(variables, args)}
    wrt = variables[argnums]
    ours_expr = AL.expressions(out, [wrt], kind)[1 if kind == "grad" else 0]
    ours = AL.to_text(AL.simplify(ours_expr))
    our_value = np.asarray(AL.evaluate(ours_expr, **by_name), dtype=np.float64)
    shape = our_value.shape
    writer = _Writer(sp)
    try:
        expression = writer.write(out)
        env = {s: (by_name[v] if isinstance(v, str) else v) for s, v in writer.symbols.items()}
        x = sp.MatrixSymbol(wrt.value, *_shape2(wrt.shape))  # the same symbol as f's, or absent from it
        derivative = expression.diff(x) if x in expression.free_symbols else sp.ZeroMatrix(*_shape2(shape))
        if kind == "hessian":
            if not hasattr(derivative, "diff"):
                raise NoMatrixForm(f"a second derivative: its first derivative is an array expression "
                                   f"({type(derivative).__name__}), which SymPy cannot differentiate again")
            derivative = derivative.diff(x)
        value = _evaluate(sp, derivative, env, shape)
    except (NoMatrixForm, AttributeError, NotImplementedError, RecursionError, TypeError, ValueError) as error:
        return SympyMatrixCheck(kind, ours, "", f"SymPy cannot: {_reason(error)}", float("nan"))
    return SympyMatrixCheck(kind, ours, str(derivative), "ok", float(np.max(np.abs(value - our_value))))


def _reason(error: Exception) -> str:
    if isinstance(error, NoMatrixForm):
        return error.what
    if isinstance(error, (NotImplementedError, RecursionError)):  # raised by SymPy's array_derive
        return f"no derivative rule for this expression in SymPy's matrix calculus ({type(error).__name__})"
    return f"{type(error).__name__}: {error}"
