"""Benchmark of symbolic differentiation against SymPy: expression swell, side by side.

    diffcompare bench symbolic                 # logistic map k = 1..10 and the course examples
    diffcompare bench symbolic --kmax 8      # a shorter sweep

For the logistic map l_{k+1} = 4 l_k (1 − l_k), l₀ = x, and for the course's
examples, it prints in one table per family:

* the function's operations (its shared graph);
* naive tree differentiation: nodes visited and the derivative's tree size;
* reverse accumulation on the shared graph: the derivative's graph size
  (primal operations included), its tree size, and both after simplification;
* time to trace + differentiate, and to compile (``jax.jit``, first call included);
* SymPy: ``diff`` time, the derivative's ``count_ops`` as a tree, after ``cse``,
  ``cse`` time, and ``lambdify`` time (NumPy, with ``cse=True``);
* the ratios SymPy/ours for operations after CSE and for differentiation time.

Times are the best of a few runs on whatever device JAX uses; the machine's load
shows in them, the operation counts are exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import sympy as sp

from .. import enable_x64
from .. import symbolic as S
from ..problems import PROBLEMS
from ..timing import best_time

COURSE = ("exp_over_square", "exp_sin_xy", "sqrt_cos")


def _logistic(k):
    def logistic(x):
        for _ in range(k):
            x = 4 * x * (1 - x)
        return x

    return logistic


def _sympy_ops(exprs) -> int:
    return sum(int(sp.count_ops(e)) for e in exprs)


def measure_one(fun, args, repeat: int = 3) -> dict:
    """Our sizes and times, and SymPy's, for the gradient of ``fun`` at ``args``."""
    def ours():
        traced = S.trace(fun, *args)
        wrt = traced.wrt(range(len(args)))
        return traced, wrt, S.reverse(traced.out_nodes, wrt)

    t_diff = best_time(ours, rounds=repeat, warmup=0)
    traced, wrt, grads = ours()
    f = traced.out_nodes[0][()]
    variables = [v for arr in wrt for v in arr.reshape(-1)]
    naive_visits = len(variables) * S.naive_visits(f)
    naive_tree = sum(S.measure(S.naive(f, v)).tree for v in variables) if naive_visits < 2_000_000 else None
    size = S.measure(grads)
    simplified = S.measure(S.simplify(grads))

    def compile_ours():
        S.clear_cache()
        return jax.block_until_ready(S.grad(fun, tuple(range(len(args))), jit=True, expand="scalar")(*args))

    t_compile = best_time(compile_ours, rounds=repeat, warmup=0)

    f_sym = S.to_sympy(f)
    symbols = [sp.Symbol(v.value, real=True) for v in variables]
    def sympy_diff():
        return [sp.diff(f_sym, s) for s in symbols]

    t_sdiff = best_time(sympy_diff, rounds=repeat, warmup=0)
    derivs = sympy_diff()
    t_cse = best_time(lambda: sp.cse(derivs), rounds=repeat, warmup=0)
    reps, reduced = sp.cse(derivs)
    t_lambdify = best_time(lambda: sp.lambdify(symbols, derivs, modules="numpy", cse=True), rounds=repeat, warmup=0)
    sympy_cse_ops = _sympy_ops([r[1] for r in reps]) + _sympy_ops(reduced)
    return {
        "f ops": S.measure(f).graph,
        "naive visits": naive_visits,
        "naive tree": naive_tree,
        "rev graph": size.graph,
        "rev tree": size.tree,
        "simplified graph": simplified.graph,
        "simplified tree": simplified.tree,
        "ours diff ms": 1e3 * t_diff,
        "ours compile ms": 1e3 * t_compile,
        "sympy diff ms": 1e3 * t_sdiff,
        "sympy tree": _sympy_ops(derivs),
        "sympy cse": sympy_cse_ops,
        "sympy cse ms": 1e3 * t_cse,
        "lambdify ms": 1e3 * t_lambdify,
        "cse ops sympy/ours": sympy_cse_ops / max(size.graph, 1),
        "diff time sympy/ours": t_sdiff / max(t_diff, 1e-12),
    }


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}"


def _print(title: str, rows: list[tuple[str, dict]]) -> None:
    columns = list(rows[0][1])
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        table.add_column("")
        for c in columns:
            table.add_column(c, justify="right")
        for label, row in rows:
            table.add_row(label, *(_fmt(row[c]) for c in columns))
        Console(width=260).print(table)
    except ImportError:  # plain text
        print(title)
        print("\t".join([""] + columns))
        for label, row in rows:
            print("\t".join([label] + [_fmt(row[c]) for c in columns]))


def main(kmax: int = 10, repeat: int = 3) -> None:
    """Measure and print both tables (``diffcompare bench symbolic``)."""
    enable_x64()
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), sympy {sp.__version__}, "
          f"jax {jax.__version__}; operations counted as sympy.count_ops counts them")
    rows = [(f"k={k}", measure_one(_logistic(k), (0.3,), repeat)) for k in range(1, kmax + 1)]
    _print("logistic map l_{k+1} = 4 l_k (1 - l_k): dl/dx", rows)
    course = []
    for name in COURSE:
        inst = PROBLEMS[name].make()
        course.append((name, measure_one(inst.fun, tuple(jnp.asarray(a) for a in inst.args), repeat)))
    _print("course examples: the full gradient", course)

