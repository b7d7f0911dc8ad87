"""Benchmark: finite-difference gradients of Rosenbrock against numdifftools, SciPy and jax.grad.

    diffcompare bench finite-diff [--sizes 10,100,1000] [--repeat 5]

Prints, for each n, the time and relative error of every contender side by
side, and each one's speed relative to ``numdifftools.Gradient`` (the usual
Richardson-extrapolation library). numdifftools comes with the ``bench``
extra; without it that row says so.
"""

from __future__ import annotations

import jax
import numpy as np
import scipy.optimize
from rich.console import Console
from rich.table import Table

from .. import _output as output
from .. import enable_x64, finite_diff
from ..problems import PROBLEMS
from ..timing import best_time


def _numpy_rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _contenders(fun, x, console) -> dict:
    x_np = np.asarray(x)
    contenders = {
        "finite_diff central": lambda: finite_diff.grad(fun)(x),
        "finite_diff central4": lambda: finite_diff.grad(fun, scheme="central4")(x),
        "finite_diff complex": lambda: finite_diff.grad(fun, scheme="complex")(x),
        "finite_diff richardson": lambda: finite_diff.grad(fun, scheme="richardson")(x),
        "scipy approx_fprime": lambda: scipy.optimize.approx_fprime(x_np, _numpy_rosenbrock),
        "jax.grad (eager)": lambda: jax.grad(fun)(x),
    }
    try:
        import numdifftools

        gradient = numdifftools.Gradient(_numpy_rosenbrock)
        contenders["numdifftools.Gradient"] = lambda: gradient(x_np)
    except ImportError:
        console.print("numdifftools is not installed (pip install 'diffcompare[bench]'): its row is left out")
    return contenders


def run(sizes=(10, 100, 1000), repeat: int = 5, console: Console | None = None) -> list[dict]:
    """Measure every contender at every size; returns the rows (also printed)."""
    enable_x64()
    console = console or output.console()
    problem = PROBLEMS["rosenbrock"]
    rows = []
    for n in sizes:
        inst = problem.make(size=n, seed=0)
        (x,) = inst.args
        exact = np.asarray(inst.derivative(x))
        contenders = _contenders(inst.fun, x, console)
        measured = {}
        for name, fn in contenders.items():
            seconds = best_time(fn, rounds=repeat if "numdifftools" not in name else max(1, repeat // 2))
            value = np.asarray(fn())
            error = float(np.max(np.abs(value - exact)) / np.max(np.abs(exact)))
            measured[name] = (seconds, error)
        reference = measured.get("numdifftools.Gradient", (None,))[0]
        for name, (seconds, error) in measured.items():
            rows.append({"n": n, "method": name, "ms": 1e3 * seconds, "rel_error": error,
                         "speedup_vs_numdifftools": None if reference is None else reference / seconds})
    _print(rows, console)
    return rows


def _print(rows, console):
    table = Table(title="Rosenbrock gradient: time, error, speed-up over numdifftools.Gradient "
                        f"(float64, {jax.devices()[0].platform})")
    for column in ("n", "method", "time (ms)", "rel. error", "× faster than numdifftools"):
        table.add_column(column, justify="right" if column != "method" else "left")
    for row in rows:
        speedup = row["speedup_vs_numdifftools"]
        table.add_row(str(row["n"]), row["method"], f"{row['ms']:.2f}", f"{row['rel_error']:.1e}",
                      "—" if speedup is None else f"{speedup:.1f}×")
    console.print(table)

