"""matrix_calculus: symbolic derivatives of matrix expressions, at array level, against JAX.

The symbolic engine differentiates array expressions as arrays (matrix
calculus, as matrixcalculus.org does): the Hessian of xᵀAx is the expression
A + Aᵀ, whose size does not depend on n, and whose compiled cost is O(n²);
``jax.hessian`` builds the same matrix from n Hessian-vector products. For
xᵀAx, least squares ½‖Ax − b‖², logistic regression and the gradient of an
MLP's ℓ2 loss with respect to its first layer, as n grows: the time of the
compiled symbolic Hessian (or gradient) against ``jax.jit(jax.hessian)`` (or
``jax.jit(jax.grad)``), their largest difference, the derivative expression's
size at array level (flat in n) and under scalar expansion (growing with n,
measured while it stays small), SymPy's scalar ``hessian`` where it
finishes quickly, and SymPy's own matrix calculus (``MatrixSymbol`` derivatives,
:mod:`diffcompare.symbolic.sympy_matrix`) on the same expression at small n: its
values where it has the derivative, what it cannot do where it has not.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from .. import symbolic as S
from ..symbolic import array as AL
from ..symbolic import sympy_matrix
from ..timing import best_times
from . import plotting
from ._common import attempt

NAME = "matrix_calculus"
TITLE = "Matrix calculus: array-level symbolic Hessians and gradients against JAX"
SUMMARY = ("compiled array-level symbolic Hessians/gradients vs jax.jit(jax.hessian/grad) as n grows; "
           "derivative size flat at array level, growing under scalar expansion")
#: scalar expansion and SymPy only while they stay small
SCALAR_LIMIT = 30
SYMPY_LIMIT = 10


def quadratic_form(x, A):
    return x @ (A @ x)


def least_squares(x, A, b):
    r = A @ x - b
    return 0.5 * dnp.sum(r * r)


def logistic_regression(w, X, y):
    z = X @ w  # labels 0 and 1
    return dnp.sum(dnp.log1p(dnp.exp(z)) - y * z)


def mlp_loss(W1, W2, x, y):
    r = W2 @ dnp.tanh(W1 @ x) - y
    return 0.5 * dnp.sum(r * r)


#: problem -> (function, "hessian" or "grad", builder of its arguments at size n)
def _args(problem, n, rng):
    def normal(*shape):
        return jnp.asarray(rng.normal(size=shape) / math.sqrt(shape[-1]))

    if problem == "quadratic_form":
        return normal(n), normal(n, n)
    if problem == "least_squares":
        return normal(n), normal(2 * n, n), normal(2 * n)
    if problem == "logistic_regression":
        return normal(n), normal(2 * n, n), jnp.asarray(rng.choice([0.0, 1.0], size=2 * n))
    return normal(n, n), normal(10, n), normal(n), normal(10)


PROBLEMS = {
    "quadratic_form": (quadratic_form, "hessian"),
    "least_squares": (least_squares, "hessian"),
    "logistic_regression": (logistic_regression, "hessian"),
    "mlp_loss": (mlp_loss, "grad"),
}


def points(cfg):
    sizes = cfg.pick((5, 20), (10, 30, 100, 300, 1000), (10, 30, 100, 300, 1000, 2000))
    return [{"problem": p, "n": n} for p in PROBLEMS for n in sizes]


def _sympy_seconds(fun, args) -> float:
    """SymPy's scalar Hessian of ``fun`` in its first argument (the others as numbers)."""
    import sympy as sp

    n = int(np.size(args[0]))
    xs = sp.symbols(f"x0:{n}", real=True)
    rest = [np.asarray(a) for a in args[1:]]
    expr = fun(sp.Matrix(xs) if np.ndim(args[0]) == 1 else sp.Matrix(n, 1, xs), *rest)
    start = time.perf_counter()
    sp.hessian(sp.sympify(expr), xs)
    return time.perf_counter() - start


def measure(point, cfg):
    problem, n = point["problem"], point["n"]
    fun, kind = PROBLEMS[problem]
    args = _args(problem, n, np.random.default_rng(cfg.seed))
    ours = (S.hessian if kind == "hessian" else S.grad)(fun)
    theirs = jax.jit((jax.hessian if kind == "hessian" else jax.grad)(fun))
    expression = (AL.hessian_expression if kind == "hessian" else AL.gradient_expression)(fun, *args)
    times = best_times({"symbolic": lambda: ours(*args), "jax": lambda: theirs(*args)}, rounds=cfg.pick(2, 5, 7),
                       back_to_back=True)  # each call in a loop of itself, not after the other method
    diff = float(jnp.max(jnp.abs(ours(*args) - theirs(*args))))
    row = {"kind": kind, "t_symbolic_s": times["symbolic"], "t_jax_s": times["jax"],
           "speedup": times["jax"] / times["symbolic"], "max_abs_diff": diff,
           "array_ops": AL.size([expression]), "scalar_ops": math.nan, "t_sympy_s": math.nan,
           "sympy_matrix": "", "sympy_matrix_diff": math.nan, "status": "ok", "message": ""}
    if n <= SCALAR_LIMIT:
        sizes, status, _ = attempt(lambda: S.sizes(fun, *args, argnums=0))
        if status == "ok":
            row["scalar_ops"] = sizes["reverse"].graph
    if n <= SYMPY_LIMIT:  # SymPy's own matrix calculus (MatrixSymbol) on the same expression
        check = sympy_matrix.cross_check(fun, *args, kind=kind)
        row["sympy_matrix"], row["sympy_matrix_diff"] = check.status, check.max_abs_difference
    if n <= SYMPY_LIMIT and problem != "mlp_loss":
        seconds, status, _ = attempt(lambda: _sympy_seconds(fun, args))
        row["t_sympy_s"] = seconds if status == "ok" else math.nan
    return [row]


def plot(rows, cfg, outdir):
    with plotting.style():
        fig, (ax1, ax2) = plotting.plt.subplots(1, 2, figsize=(12, 4.8))
        for problem in PROBLEMS:
            sel = sorted((r for r in rows if r["problem"] == problem and r["status"] == "ok"), key=lambda r: r["n"])
            if not sel:
                continue
            line = ax1.loglog([r["n"] for r in sel], [r["speedup"] for r in sel], "o-", label=problem)[0]
            ax2.loglog([r["n"] for r in sel], [r["array_ops"] for r in sel], "o-", color=line.get_color(),
                       label=f"{problem}: array level")
            scalar = [(r["n"], r["scalar_ops"]) for r in sel if np.isfinite(r["scalar_ops"])]
            if scalar:
                ax2.loglog(*zip(*scalar), "s--", color=line.get_color(), label=f"{problem}: scalar expansion")
        ax1.axhline(1, color="k", lw=0.8)
        ax1.set(xlabel="n", ylabel="time(JAX) / time(symbolic), both compiled",
                title="Symbolic vs JAX\n(above 1: symbolic faster)")
        ax1.legend(fontsize=8)
        ax2.set(xlabel="n", ylabel="operations in the derivative expression",
                title="Derivative size\nflat at array level, growing under scalar expansion")
        ax2.legend(fontsize=7.5)
        return plotting.save(fig, outdir, "matrix_calculus")


def headline(rows, cfg):
    out = []
    for problem in PROBLEMS:
        sel = sorted((r for r in rows if r["problem"] == problem and r["status"] == "ok"), key=lambda r: r["n"])
        if sel:
            last = sel[-1]
            out.append(f"{problem} {last['kind']} at n = {last['n']}: symbolic {1e3 * last['t_symbolic_s']:.2f} ms vs "
                       f"jax.jit(JAX) {1e3 * last['t_jax_s']:.2f} ms ({last['speedup']:.1f}x), max |diff| "
                       f"{last['max_abs_diff']:.1e}; expression {last['array_ops']} ops at every n")
        checked = [r for r in sel if r.get("sympy_matrix")]
        if checked:
            first = checked[0]
            verdict = (f"agrees (max |diff| {first['sympy_matrix_diff']:.1e})" if first["sympy_matrix"] == "ok"
                       else first["sympy_matrix"])
            out.append(f"{problem} {first['kind']}, SymPy MatrixSymbol calculus at n = {first['n']}: {verdict}")
    return out
