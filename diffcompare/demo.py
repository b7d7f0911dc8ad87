"""The demo: every available method on one course example, in one table.

``diffcompare demo`` differentiates exp(x)/x² at x = 1.5 (course 003) with
every method (each finite-difference scheme separately) and shows the value,
the error against the closed form, the time, and what the method costs in
passes over the function.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.table import Table

from . import enable_x64, finite_diff
from .methods import METHODS
from .problems import get
from .timing import best_time

#: timed calls per method (the best is shown): sub-millisecond calls on a shared machine need a few dozen
ROUNDS = 20


def rows(problem: str = "exp_over_square", seed: int | None = None, dtype: str = "float64") -> list[dict]:
    """Differentiate ``problem`` with every method; one dict per method (and per FD scheme)."""
    if dtype == "float64":
        enable_x64()
    inst = get(problem).make(seed=seed, dtype=dtype)
    argnums = inst.argnums if len(inst.argnums) > 1 else 0
    exact = inst.derivative(*inst.args) if inst.derivative else METHODS["jax"].grad(inst.fun, argnums)(*inst.args)
    exact_flat = np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(exact)])
    contenders = []
    for name, module in METHODS.items():
        if name == "finite_diff":
            for scheme in finite_diff.SCHEMES:
                contenders.append((f"finite_diff ({scheme})", module, {"scheme": scheme}))
        else:
            contenders.append((name, module, {}))
    out = []
    for label, module, options in contenders:
        grad = module.grad(inst.fun, argnums, **options)
        try:
            value = grad(*inst.args)
        except Exception as err:  # a method that cannot do this problem says why in the table
            out.append({"method": label, "error": str(err)})
            continue
        flat = np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(value)])
        abs_err = float(np.max(np.abs(flat - exact_flat)))
        out.append({
            "method": label,
            "derivative": flat.tolist(),
            "abs_error": abs_err,
            "rel_error": abs_err / max(float(np.max(np.abs(exact_flat))), np.finfo(float).tiny),
            "ms": 1e3 * best_time(grad, rounds=ROUNDS, args=inst.args),
        })
    return out


def show(problem: str = "exp_over_square", seed: int | None = None, dtype: str = "float64",
         console: Console | None = None) -> list[dict]:
    """Print the demo table; returns its rows."""
    console = console or Console(width=110)
    inst = get(problem).make(seed=seed, dtype=dtype)
    results = rows(problem, seed, dtype)
    point = ", ".join(f"{float(a):g}" if jnp.ndim(a) == 0 else f"array{tuple(jnp.shape(a))}" for a in inst.args)
    table = Table(title=f"d/dx {inst.problem.title} at x = {point}  ({dtype}, {jax.devices()[0].platform})")
    for column in ("method", "derivative", "abs. error", "rel. error", "time (ms)"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in results:
        if "error" in row:
            table.add_row(row["method"], "—", "—", "—", "—", style="dim")
            console.print(f"[dim]{row['method']}: {row['error']}[/dim]")
            continue
        shown = row["derivative"][0] if len(row["derivative"]) == 1 else f"{len(row['derivative'])} values"
        table.add_row(row["method"], f"{shown:.15g}" if isinstance(shown, float) else shown,
                      f"{row['abs_error']:.1e}", f"{row['rel_error']:.1e}", f"{row['ms']:.2f}")
    console.print(table)
    console.print(f"Errors are against the closed-form derivative; times are the best of {ROUNDS} calls after a "
                  "warm-up.")
    return results
