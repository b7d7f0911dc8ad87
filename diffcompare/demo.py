"""The demo: every available method on one course example, in one table.

``diffcompare demo`` differentiates exp(x)/x² at x = 1.5 (course 003) with
every method (each finite-difference scheme separately) and shows the value,
the error against the closed form, the time, and what the method costs in
passes over the function.

A column says how each method runs, since that, more than the method, sets
the time of a call this small: forward and reverse mode run eagerly (Python
per operation), finite differences evaluate ``f`` eagerly in one batched
``jax.vmap`` call, and symbolic differentiation traces ``f`` and runs its
derivative as a program compiled with ``jax.jit`` (cached by the trace's
structure). JAX is shown twice, because both are fair answers to "how fast is
JAX": ``jax.grad`` called eagerly (dominated by JAX's per-operation dispatch)
and ``jax.jit(jax.grad)`` (compiled once before timing: what JAX costs in a
real program).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.table import Table

from . import _output as output
from . import enable_x64, finite_diff
from .methods import METHODS
from .problems import get
from .timing import best_time

#: timed calls per method (the best is shown): sub-millisecond calls on a shared machine need a few dozen
ROUNDS = 20
#: the reference's two rows: eager (like our engines) and compiled
JAX_EAGER, JAX_JIT = "jax.grad (eager)", "jax.jit(jax.grad)"
#: how each row's call runs (what sets the time of a call this small)
RUNS = {"finite_diff": "eager, f batched (jax.vmap)", "symbolic": "traces f, compiled derivative",
        "forward": "eager", "reverse": "eager", JAX_EAGER: "eager", JAX_JIT: "compiled (jax.jit)"}
#: printed under the table
NOTE = ("'eager': one Python call per operation, as you call it in a notebook (our forward and reverse mode, "
        f"and '{JAX_EAGER}'); 'compiled': a program built by jax.jit, compiled before timing. Compare eager with "
        f"eager: '{JAX_JIT}' is what JAX costs inside a jitted program, not what a hand-written engine beats.")


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
                contenders.append((f"finite_diff ({scheme})", module.grad(inst.fun, argnums, scheme=scheme)))
        elif name == "jax":
            contenders.append((JAX_EAGER, module.grad(inst.fun, argnums)))
            contenders.append((JAX_JIT, jax.jit(module.grad(inst.fun, argnums))))
        else:
            contenders.append((name, module.grad(inst.fun, argnums)))
    out = []
    for label, grad in contenders:
        try:
            value = grad(*inst.args)
        except Exception as err:  # a method that cannot do this problem says why in the table
            out.append({"method": label, "runs": RUNS.get(label.split(" (")[0], ""), "error": str(err)})
            continue
        flat = np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(value)])
        abs_err = float(np.max(np.abs(flat - exact_flat)))
        out.append({
            "method": label,
            "runs": RUNS[label.split(" (")[0] if label.startswith("finite_diff") else label],
            "derivative": flat.tolist(),
            "abs_error": abs_err,
            "rel_error": abs_err / max(float(np.max(np.abs(exact_flat))), np.finfo(float).tiny),
            "ms": 1e3 * best_time(grad, rounds=ROUNDS, args=inst.args),
        })
    return out


def show(problem: str = "exp_over_square", seed: int | None = None, dtype: str = "float64",
         console: Console | None = None) -> list[dict]:
    """Print the demo table; returns its rows."""
    console = console or output.console()
    inst = get(problem).make(seed=seed, dtype=dtype)
    results = rows(problem, seed, dtype)
    point = ", ".join(f"{float(a):g}" if jnp.ndim(a) == 0 else f"array{tuple(jnp.shape(a))}" for a in inst.args)
    table = Table(title=f"d/dx {inst.problem.title} at x = {point}  ({dtype}, {jax.devices()[0].platform})")
    for column in ("method", "runs", "derivative", "abs. error", "rel. error", "time (ms)"):
        table.add_column(column, justify="left" if column in ("method", "runs") else "right", no_wrap=True)
    for row in results:
        if "error" in row:
            table.add_row(row["method"], row["runs"], "—", "—", "—", "—", style="dim")
            console.print(f"[dim]{row['method']}: {row['error']}[/dim]")
            continue
        shown = row["derivative"][0] if len(row["derivative"]) == 1 else f"{len(row['derivative'])} values"
        table.add_row(row["method"], row["runs"], f"{shown:.15g}" if isinstance(shown, float) else shown,
                      f"{row['abs_error']:.1e}", f"{row['rel_error']:.1e}", f"{row['ms']:.2f}")
    console.print(table)
    console.print(f"Errors are against the closed-form derivative; times are the best of {ROUNDS} calls after a "
                  "warm-up (which also compiles the jitted row).")
    console.print(NOTE)
    return results
